"""The shared helpers: ranking into the candidate schema, MLflow names and series, settings, and one node
function per prediction window that Kedro can still read."""

from __future__ import annotations

import inspect
import typing

import numpy as np
import pandas as pd
import pytest
from kedro.pipeline import Node, Pipeline
from pydantic import BaseModel

from recsys_challenge.core import (
    CANDIDATE_COLUMNS,
    for_window,
    genre_columns,
    mlflow_name,
    mlflow_series,
    ranked,
)
from tests.conftest import parameter_inputs, run_pipeline


def scores(rows: list[tuple[int, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user_id", "item_id", "score"]).assign(extra="dropped")


def test_ranked_sorts_by_score_within_user_and_breaks_ties_by_item():
    frame = scores(
        [(2, 7, 0.5), (1, 30, 0.2), (1, 12, 0.9), (2, 3, 0.5), (1, 11, 0.2), (2, 9, 0.8), (1, 20, 0.2)]
    )
    out = ranked(frame)
    assert list(out.columns) == CANDIDATE_COLUMNS
    assert out[["user_id", "item_id", "rank"]].values.tolist() == [
        [1, 12, 1], [1, 11, 2], [1, 20, 3], [1, 30, 4],  # 0.2 three times: items 11, 20, 30
        [2, 9, 1], [2, 3, 2], [2, 7, 3],
    ]  # fmt: skip
    assert out.index.tolist() == list(range(len(out)))
    assert (out["user_id"].dtype, out["item_id"].dtype, out["rank"].dtype) == ("int64", "int64", "int32")


def test_ranked_keeps_the_best_k_of_each_user_numbered_from_one():
    rng = np.random.default_rng(0)
    frame = scores([(u, i, float(rng.integers(3))) for u in range(4) for i in range(2 + u)])
    top = ranked(frame, k=3)
    for user, group in frame.groupby("user_id"):
        best = group.sort_values(["score", "item_id"], ascending=[False, True]).head(3)
        got = top[top["user_id"] == user]
        assert got["item_id"].tolist() == best["item_id"].tolist(), user
        assert got["rank"].tolist() == list(range(1, len(best) + 1))
    assert len(ranked(frame, k=None)) == len(frame)  # no k: every pair, ranked
    assert ranked(frame, k=1)["rank"].eq(1).all() and ranked(frame, k=1)["user_id"].is_unique


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("validation.NDCG:top=10", "validation.NDCG_top_10"),
        ("ndcg@10", "ndcg_10"),
        ("a;b@c:d=e", "a_b_c_d_e"),
        ("sasrec.test.recall_10", "sasrec.test.recall_10"),  # what MLflow accepts stays as it is
    ],
)
def test_mlflow_name_replaces_only_what_mlflow_rejects(name, expected):
    assert mlflow_name(name) == expected


def test_mlflow_series_skips_missing_values_and_needs_a_value_per_step():
    assert mlflow_series([0, 1, 2], [0.5, np.nan, 0.25]) == [
        {"step": 0, "value": 0.5},
        {"step": 2, "value": 0.25},
    ]
    with pytest.raises(ValueError):
        mlflow_series([0, 1], [0.5])


def test_genre_columns_are_the_genre_flags_in_file_order():
    items = pd.DataFrame(columns=["item_id", "genre_3", "title", "genre_0", "genres"])
    assert genre_columns(items) == ["genre_3", "genre_0"]
    assert genre_columns(["genre_1", "item_id"]) == ["genre_1"]


class Block(BaseModel):
    """A settings block as the pipelines type theirs."""

    name: str
    k: int


def predict(history: pd.DataFrame, config: Block, window: str) -> pd.DataFrame:
    """Predict for one window."""
    return history.assign(window=window, k=config.k, model=config.name)


def test_for_window_binds_the_window_and_reads_as_a_function_of_the_rest():
    bound = for_window(predict, "test", "predict_test")
    history = pd.DataFrame({"user_id": [1]})
    out = bound(history, Block(name="m", k=3))
    assert out[["window", "k", "model"]].values.tolist() == [["test", 3, "m"]]
    assert list(inspect.signature(bound).parameters) == ["history", "config"]
    assert typing.get_type_hints(bound) == {"history": pd.DataFrame, "config": Block, "return": pd.DataFrame}
    assert (bound.__name__, bound.__qualname__) == ("predict_test", "predict_test")
    assert bound.__doc__ == "``predict`` for the test window."
    # each binding keeps its own window
    assert (
        for_window(predict, "final", "predict_final")(history, Block(name="m", k=1))["window"][0] == "final"
    )


def test_a_window_node_gets_its_settings_validated_by_kedro_as_in_a_run():
    """Kedro builds the typed settings object from the YAML block only if it can read the node function's
    hints and signature: the node then receives a ``Block``, not a dict."""
    node = Node(for_window(predict, "rerank", "predict_rerank"), ["history", "params:block"], "out")
    assert node.name.startswith("predict_rerank")  # kedro-viz shows the window
    pipe = Pipeline([node])
    params = parameter_inputs(pipe, {"block": {"name": "m", "k": "4"}})
    assert params == {"params:block": Block(name="m", k=4)}  # "4" became an int: validated
    out = run_pipeline(pipe, {"history": pd.DataFrame({"user_id": [1, 2]}), **params})["out"]
    assert out["window"].eq("rerank").all() and out["k"].eq(4).all()
