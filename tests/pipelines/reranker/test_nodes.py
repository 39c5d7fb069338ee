"""Reranker: union schema, labels only from its own window, per-user groups, a model that learns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_challenge.core import WINDOWS
from recsys_challenge.pipelines.reranker import create_pipeline
from recsys_challenge.pipelines.reranker.nodes import (
    _pool,
    add_features,
    add_labels,
    catboost_params,
    compare_models,
    rerank,
    reranker_mlflow_metrics,
    sample_negatives,
    train_ranker,
    union_candidates,
)
from recsys_challenge.pipelines.reranker.settings import NegativeSampling, RerankerSettings
from tests.conftest import project_catalog

PARAMS = {
    "per_generator_k": 3,
    "candidates_k": 5,
    "ks_test": [1, 3],
    "eval_fraction": 0.25,
    "seed": 0,
    "catboost": {"loss_function": "YetiRank", "iterations": 60, "learning_rate": 0.1, "depth": 3,
                 "early_stopping_rounds": 30, "thread_count": 1, "allow_writing_files": False},
}  # fmt: skip


def settings(**changes) -> RerankerSettings:
    """``PARAMS`` with ``changes``, validated as Kedro validates the ``reranker`` block."""
    return RerankerSettings.model_validate({**PARAMS, **changes})


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


def test_union_needs_a_generator():
    with pytest.raises(ValueError, match="at least one generator"):
        union_candidates(3)


def test_labels_mark_exactly_the_pairs_of_the_given_truth():
    frame = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [10, 11, 10, 11], "f": [0.1, 0.2, 0.3, 0.4]})
    rerank_gt = pd.DataFrame({"user_id": [1, 1, 2, 3], "item_id": [11, 11, 12, 10]})  # a repeat, misses
    test_gt = pd.DataFrame({"user_id": [2], "item_id": [10]})
    labelled = add_labels(frame, rerank_gt)
    # one row per candidate (a repeated event adds none); only (user 1, item 11) is in the window
    pd.testing.assert_frame_equal(labelled.drop(columns="target"), frame)
    assert labelled["target"].tolist() == [0, 1, 0, 0]
    assert add_labels(frame, test_gt)["target"].tolist() == [0, 0, 1, 0]  # the truth passed decides


def test_only_the_rerank_windows_truth_reaches_the_model():
    pipe = create_pipeline(("gen_a", "gen_b"))
    truths = {f"{w.truth}@pandas" for w in WINDOWS.values() if w.truth}
    (labels,) = [n for n in pipe.nodes if "reranker.train_set" in n.outputs]
    assert set(labels.inputs) & truths == {"fold_rerank_gt@pandas"}
    # nothing upstream of the model (union, features, labels) reads another window's truth
    assert pipe.to_outputs("reranker.model").inputs() & truths == {"fold_rerank_gt@pandas"}
    (compare,) = [n for n in pipe.nodes if "reranker.comparison" in n.outputs]
    assert set(compare.inputs) & truths == {"fold_test_gt@pandas"}


def test_the_reranker_alone_reads_what_a_full_run_wrote_and_writes_what_later_stages_read(params):
    """``kedro run --pipeline reranker`` after a full run: every dataset it reads is made by the full
    run and kept on disk by the catalog, every parameter it reads exists, and what the submission and
    the reports read from it is written to disk too."""
    from kedro.io import MemoryDataset

    from recsys_challenge.pipeline_registry import register_pipelines

    pipelines = register_pipelines()
    reranker, full = pipelines["reranker"], pipelines["__default__"]
    catalog = project_catalog()

    def on_disk(name: str) -> bool:
        dataset = catalog.get(name)
        return dataset is not None and not isinstance(dataset, MemoryDataset)

    reads = {name for name in reranker.inputs() if not name.startswith("params:")}
    assert {"sasrec.candidates_rerank", "pop.candidates_final", "features_test.user_features"} <= reads
    assert sorted(reads - full.all_outputs()) == []  # nothing the full run does not make
    assert sorted(name for name in reads if not on_disk(name)) == []
    for name in reranker.inputs() - reads:  # params:reranker, params:reranker.per_generator_k, ...
        value = params
        for key in name.removeprefix("params:").split("."):
            assert key in value, name
            value = value[key]

    later = {name for node in full.nodes if node not in reranker.nodes for name in node.inputs}
    read_later = later & reranker.all_outputs()
    assert read_later == {"reranker.candidates_final", "reranker.comparison", "reranker.feature_importance"}
    assert all(on_disk(name) for name in read_later)


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
    model, importance, curves = train_ranker(train, settings(per_generator_k=10))
    assert importance.iloc[0]["feature"] == "signal"
    assert len(curves) > 0
    reranked = rerank(model, union, settings())
    assert (reranked.groupby("user_id").size() <= PARAMS["candidates_k"]).all()
    table = compare_models(truth, reranked, union, settings(per_generator_k=10), gen=cands)
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


class ColumnModel:
    """A stand-in ranker whose score is one feature column."""

    feature_names_ = ("f",)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return features["f"].to_numpy()


def test_rerank_keeps_the_best_k_per_user_by_score_ties_by_item():
    frame = pd.DataFrame({"user_id": [1] * 4 + [2] * 2, "item_id": [13, 12, 11, 10, 5, 6],
                          "f": [0.1, 0.9, 0.5, 0.5, 0.2, 0.3]})  # fmt: skip
    out = rerank(ColumnModel(), frame, settings(candidates_k=3))
    assert list(out.columns) == ["user_id", "item_id", "score", "rank"]
    assert out[["user_id", "item_id", "rank"]].values.tolist() == [
        [1, 12, 1], [1, 10, 2], [1, 11, 3], [2, 6, 1], [2, 5, 2],
    ]  # fmt: skip


def test_reranker_mlflow_metrics_are_its_comparison_row_and_catboost_curves():
    comparison = pd.DataFrame({"model": ["gen", "reranker"], "ndcg_10": [0.1, 0.2],
                               "candidate_recall": [0.4, np.nan], "gain_vs_best": [1.0, 2.0]})  # fmt: skip
    curves = pd.DataFrame({"iteration": [0, 1], "validation.NDCG:top=10": [0.3, 0.35]})
    logged = reranker_mlflow_metrics(comparison, curves)
    assert logged == {
        "test.ndcg_10": [{"step": 0, "value": 0.2}],
        "test.gain_vs_best": [{"step": 0, "value": 2.0}],  # a missing value is not logged
        "train.validation.NDCG_top_10": [{"step": 0, "value": 0.3}, {"step": 1, "value": 0.35}],
    }


def test_auto_loss_follows_the_number_of_positives_per_user():
    auto = settings(catboost={**PARAMS["catboost"], "loss_function": "auto"})
    one = pd.DataFrame({"user_id": [1, 1, 2, 2], "target": [1, 0, 0, 1]})
    several = pd.DataFrame({"user_id": [1, 1, 2, 2], "target": [1, 1, 0, 1]})
    assert catboost_params(one, auto)["loss_function"] == "QuerySoftMax"
    assert catboost_params(several, auto)["loss_function"] == "YetiRank"
    assert catboost_params(several, settings())["loss_function"] == "YetiRank"  # a name stays
    assert catboost_params(one, settings())["loss_function"] == "YetiRank"


def test_the_final_model_learns_both_windows_as_separate_groups(monkeypatch):
    from recsys_challenge.pipelines.reranker import nodes

    rerank_set = pd.DataFrame(
        {"user_id": [1, 1, 2, 2], "item_id": [10, 11, 10, 12], "f": 0.0, "target": [1, 0, 0, 1]}
    )
    test_set = pd.DataFrame({"user_id": [1, 1, 3], "item_id": [12, 13, 10], "f": 1.0, "target": [0, 1, 1]})
    seen = {}

    def fake_train(data, params):
        seen["data"] = data
        return "final", None, None

    monkeypatch.setattr(nodes, "train_ranker", fake_train)
    assert nodes.train_final("first", rerank_set, test_set, settings(final_with_test_labels=False)) == "first"
    assert "data" not in seen
    assert nodes.train_final("first", rerank_set, test_set, settings(final_with_test_labels=True)) == "final"
    data = seen["data"]
    assert len(data) == 7 and data["target"].sum() == 4
    # user 1 of the test window is another group than user 1 of the reranker window
    assert data.groupby("user_id").ngroups == 4
    assert list(data.columns) == list(rerank_set.columns)


def candidates_with_ranks() -> pd.DataFrame:
    """Two users with eight candidates each: user 1 likes items 3 and 7, user 2 item 0."""
    rows = []
    for user, liked in ((1, {3, 7}), (2, {0})):
        for item in range(8):
            rows.append((user, item, float(item + 1), float(8 - item % 3), int(item in liked)))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "best_rank", "n_generators", "target"])


def test_sampling_keeps_every_positive_the_hardest_negatives_and_random_others():
    frame = candidates_with_ranks()
    hardest_only = sample_negatives(frame, NegativeSampling(hard=2, random=0), np.random.default_rng(0))
    kept = sample_negatives(frame, NegativeSampling(hard=2, random=3), np.random.default_rng(0))
    assert list(kept.columns) == list(frame.columns)
    for user, liked, hardest in ((1, {3, 7}, {0, 1}), (2, {0}, {1, 2})):
        for sample, negatives in ((hardest_only, 2), (kept, 5)):
            own = sample[sample["user_id"] == user]
            assert set(own.loc[own["target"] == 1, "item_id"]) == liked
            drawn = set(own.loc[own["target"] == 0, "item_id"])
            assert len(drawn) == negatives and hardest <= drawn
    # the random part is a draw: another seed draws other items, the hardest stay
    draws = {
        tuple(
            sample_negatives(frame, NegativeSampling(hard=2, random=3), np.random.default_rng(s))["item_id"]
        )
        for s in range(6)
    }
    assert len(draws) > 1


def test_hardness_ties_go_to_the_candidate_more_generators_proposed():
    frame = pd.DataFrame({"user_id": 1, "item_id": [1, 2, 3], "best_rank": [1.0, 2.0, 2.0],
                          "n_generators": [1.0, 1.0, 3.0], "target": [1, 0, 0]})  # fmt: skip
    kept = sample_negatives(frame, NegativeSampling(hard=1, random=0), np.random.default_rng(0))
    assert list(kept["item_id"]) == [1, 3]


def test_without_sampling_every_candidate_trains_and_users_short_of_negatives_keep_theirs():
    frame = candidates_with_ranks()
    assert sample_negatives(frame, None, np.random.default_rng(0)) is frame
    assert sample_negatives(frame, NegativeSampling(hard=5, random=50), np.random.default_rng(0)).equals(
        frame
    )


def test_the_held_out_users_keep_every_candidate_when_training_rows_are_sampled(monkeypatch):
    from recsys_challenge.pipelines.reranker import nodes

    rng = np.random.default_rng(0)
    cands, truth = synthetic_window(rng, users=40)
    train = add_labels(union_candidates(10, gen=cands), truth)
    pools = []
    monkeypatch.setattr(nodes, "_pool", lambda frame, features: pools.append(frame) or _pool(frame, features))
    train_ranker(train, settings(per_generator_k=10, negatives={"hard": 1, "random": 1}))
    fitted, held_out = pools[1], pools[0]  # the eval pool is built first
    assert (fitted.groupby("user_id").size() == 1 + 2).all()  # each has 8 negatives
    assert (fitted.groupby("user_id")["target"].sum() == 1).all()
    expected = train[train["user_id"].isin(held_out["user_id"].unique())]
    assert len(held_out) == len(expected)
