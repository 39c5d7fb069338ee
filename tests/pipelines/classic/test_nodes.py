"""Classic RePlay generators on Spark: K unseen candidates per user in the shared schema."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_challenge.pipelines.classic import create_pipeline
from recsys_challenge.pipelines.classic.nodes import build_model, generate_candidates
from tests.conftest import make_events, run_pipeline, with_engines

pytestmark = pytest.mark.slow


@pytest.fixture
def tiny_log(spark):
    rows = [(u, i, 10 * u + i) for u in range(6) for i in range(u % 3, u % 3 + 5)]
    frame = make_events(rows)
    frame["order"] = frame.groupby("user_id").cumcount()
    return frame, spark.createDataFrame(frame)


@pytest.mark.parametrize("model", ["pop", "itemknn"])
def test_generator_gives_k_unseen_candidates_per_user(tiny_log, params, model):
    pandas_log, spark_log = tiny_log
    config = {**params[model], "candidates_k": 2}
    candidates, timings = generate_candidates(spark_log, config)
    assert list(candidates.columns) == ["user_id", "item_id", "score", "rank"]
    assert (candidates.groupby("user_id").size() <= 2).all()
    assert candidates["user_id"].nunique() >= 5
    seen = candidates.merge(pandas_log[["user_id", "item_id"]], on=["user_id", "item_id"])
    assert seen.empty
    # ranks 1..n follow the score within each user
    for _, user in candidates.sort_values(["user_id", "rank"]).groupby("user_id"):
        assert user["rank"].tolist() == list(range(1, len(user) + 1))
        assert user["score"].is_monotonic_decreasing
    assert set(timings) == {"fit_seconds", "predict_seconds"}


def test_pop_proposes_the_most_popular_unseen_items_in_order(tiny_log, params):
    pandas_log, spark_log = tiny_log
    candidates, _ = generate_candidates(spark_log, {**params["pop"], "candidates_k": 2})
    counts = pandas_log.groupby("item_id").size()
    for user, seen in pandas_log.groupby("user_id")["item_id"]:
        unseen = (
            counts.drop(index=seen)
            .reset_index(name="n")
            .sort_values(["n", "item_id"], ascending=[False, True])
        )
        got = candidates[candidates.user_id == user].sort_values("rank")["item_id"].tolist()
        assert got == unseen["item_id"].head(2).tolist(), user


def test_unknown_model_is_named_in_the_error(params):
    with pytest.raises(ValueError, match=r"replay\.models has no model 'NoSuchRec'"):
        build_model({**params["pop"], "model": "NoSuchRec"})


def window_folds() -> dict[str, pd.DataFrame]:
    """Folds where user 0's rerank-window event (item 100) and test-window event (item 101) are the two
    most popular items: each window's candidates show which fold its model was fitted on."""
    others = [
        (u, i, u)
        for i, users in {100: 5, 101: 4, 102: 3, 103: 2, 104: 1}.items()
        for u in range(1, users + 1)
    ]
    gen_train = make_events([(0, 0, 0), *others])
    rerank_event, test_event = make_events([(0, 100, 1)]), make_events([(0, 101, 2)])
    test_history = pd.concat([gen_train, rerank_event], ignore_index=True)
    interactions = pd.concat([test_history, test_event], ignore_index=True)
    folds = {"fold_gen_train": gen_train, "fold_test_history": test_history, "interactions": interactions}
    folds = {name: f.assign(order=f.groupby("user_id").cumcount()) for name, f in folds.items()}
    return {**folds, "fold_test_gt": test_event}


def test_each_window_is_fitted_on_its_own_fold_and_the_test_window_is_scored(spark, params):
    pipe = create_pipeline(("pop",))
    folds = window_folds()
    inputs = {**with_engines(pipe, folds, spark), "params:pop": {**params["pop"], "candidates_k": 2}}
    out = run_pipeline(pipe, inputs)
    user0 = {
        window: out[f"pop.candidates_{window}"].query("user_id == 0").sort_values("rank")["item_id"].tolist()
        for window in ("rerank", "test", "final")
    }
    # rerank: fitted without user 0's later events; test: with the rerank event; final: with both
    assert user0 == {"rerank": [100, 101], "test": [101, 102], "final": [102, 103]}
    metrics = out["pop.test_metrics"].iloc[0]
    assert metrics["ndcg_10"] == 1.0  # the test candidates against the test truth: item 101 first
    assert {"fit_seconds", "predict_seconds"} <= set(metrics.index)
    logged = out["pop.mlflow_metrics"]
    assert logged["test.ndcg_10"] == [{"step": 0, "value": 1.0}]
    assert logged["fit_seconds"][0]["value"] == metrics["fit_seconds"]
