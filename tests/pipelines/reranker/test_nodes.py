"""Reranker: union schema, labels only from its own window, per-user groups, a model that learns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_challenge.pipelines.reranker.nodes import (
    _pool,
    add_features,
    add_labels,
    compare_models,
    rerank,
    train_ranker,
    union_candidates,
)

PARAMS = {
    "per_generator_k": 3,
    "candidates_k": 5,
    "ks_test": [1, 3],
    "eval_fraction": 0.25,
    "seed": 0,
    "catboost": {"loss_function": "YetiRank", "iterations": 60, "learning_rate": 0.1, "depth": 3,
                 "early_stopping_rounds": 30, "thread_count": 1, "allow_writing_files": False},
}  # fmt: skip


def ranked(rows: list[tuple[int, int, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "score"])
    frame["rank"] = frame.groupby("user_id")["score"].rank(ascending=False, method="first").astype(int)
    return frame


def test_union_keeps_each_generator_score_and_rank():
    a = ranked([(1, 10, 0.9), (1, 11, 0.5), (1, 12, 0.1), (1, 13, 0.05)])
    b = ranked([(1, 11, 3.0), (1, 14, 2.0)])
    union = union_candidates(3, a=a, b=b)
    assert set(union["item_id"]) == {10, 11, 12, 14}  # a's 4th item is beyond per_generator_k
    row = union.set_index("item_id").loc[11]
    assert (row["a_rank"], row["b_rank"], row["n_generators"], row["best_rank"]) == (2, 1, 2, 1)
    assert union.set_index("item_id").loc[14, "a_rank"] == 4  # absent = k + 1
    assert union[["user_id", "item_id"]].duplicated().sum() == 0


def test_labels_come_only_from_the_given_window():
    frame = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 11, 10]})
    rerank_gt = pd.DataFrame({"user_id": [1], "item_id": [11]})
    test_gt = pd.DataFrame({"user_id": [2], "item_id": [10]})
    labelled = add_labels(frame, rerank_gt)
    assert labelled["target"].tolist() == [0, 1, 0]
    positives = labelled[labelled.target == 1][["user_id", "item_id"]]
    assert positives.merge(test_gt).empty


def test_pool_groups_are_contiguous_per_user():
    frame = pd.DataFrame({"user_id": [2, 1, 2, 1], "item_id": [1, 2, 3, 4], "f": [0.1, 0.2, 0.3, 0.4],
                          "target": [0, 1, 1, 0]})  # fmt: skip
    pool = _pool(frame, ["f"])
    groups = np.asarray(pool.get_group_id_hash())
    assert len(groups) == 4
    changes = (groups[1:] != groups[:-1]).sum()
    assert changes == 1  # two users, each one block


def synthetic_window(rng: np.random.Generator, users: int = 80, items: int = 30):
    """A generator whose score is informative, and a 'popularity' feature that is even more so."""
    rows, truth = [], []
    for user in range(users):
        liked = int(rng.integers(items))
        truth.append((user, liked))
        for item in [*rng.choice(items, size=8, replace=False).tolist(), liked]:
            rows.append((user, item, float(rng.normal()) + (0.5 if item == liked else 0.0)))
    cands = ranked(list({(u, i): (u, i, s) for u, i, s in rows}.values()))
    return cands, pd.DataFrame(truth, columns=["user_id", "item_id"])


def test_ranker_learns_to_put_positives_first():
    rng = np.random.default_rng(0)
    cands, truth = synthetic_window(rng)
    union = union_candidates(10, gen=cands)
    union["signal"] = (
        union.merge(truth.assign(s=1.0), how="left", on=["user_id", "item_id"])["s"].fillna(0).to_numpy()
    )
    union["signal"] += rng.normal(scale=0.3, size=len(union))
    train = add_labels(union, truth)
    model, importance, curves = train_ranker(train, {**PARAMS, "per_generator_k": 10})
    assert importance.iloc[0]["feature"] == "signal"
    assert len(curves) > 0
    reranked = rerank(model, union, PARAMS)
    assert (reranked.groupby("user_id").size() <= PARAMS["candidates_k"]).all()
    table = compare_models(truth, reranked, union, {**PARAMS, "per_generator_k": 10}, gen=cands)
    rows = table.set_index("model")
    assert rows.loc["reranker", "ndcg_1"] > rows.loc["gen", "ndcg_1"]
    assert rows.loc["reranker", "candidate_recall"] == pytest.approx(1.0)


def test_affinity_features_use_the_users_own_demographics():
    union = pd.DataFrame({"user_id": [1, 2], "item_id": [5, 5]})
    user_features = pd.DataFrame(
        {"user_id": [1, 2], "u_pop_by_genre_0": [1.0, 0.0], "u_recent_genre_0": [0.5, 0.0]}
    )
    item_features = pd.DataFrame({"item_id": [5], "i_pop_by_gender_M": [0.8], "i_pop_by_gender_F": [0.2],
                                  "i_pop_by_age_18": [0.3], "i_pop_by_age_25": [0.7]})  # fmt: skip
    users = pd.DataFrame({"user_id": [1, 2], "gender": ["M", "F"], "age": [18, 25]})
    items = pd.DataFrame({"item_id": [5], "genre_0": [1]})
    frame = add_features(union, user_features, item_features, users, items).set_index("user_id")
    assert frame.loc[1, "i_pop_by_own_gender"] == pytest.approx(0.8)
    assert frame.loc[2, "i_pop_by_own_gender"] == pytest.approx(0.2)
    assert frame.loc[2, "i_pop_by_own_age"] == pytest.approx(0.7)
    assert frame.loc[1, "genre_match"] == pytest.approx(1.0) and frame.loc[2, "genre_match"] == 0.0
