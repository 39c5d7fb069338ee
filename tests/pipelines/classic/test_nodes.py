"""Classic RePlay generators on Spark: K unseen candidates per user in the shared schema."""

from __future__ import annotations

import pytest

from recsys_challenge.pipelines.classic import MODELS, create_pipeline
from recsys_challenge.pipelines.classic.nodes import build_model, generate_candidates
from tests.conftest import make_events

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


def test_classic_namespaces_read_spark_folds():
    pipe = create_pipeline()
    assert {n.namespace for n in pipe.nodes} == set(MODELS)
    assert {"fold_gen_train@spark", "fold_test_history@spark", "interactions@spark"} <= pipe.inputs()
    assert all("spark" in n.tags for n in pipe.nodes if "candidates_" in n.name)
