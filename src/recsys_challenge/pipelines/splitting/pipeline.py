"""Wiring of the splitting pipeline: each window's split cuts the history of the window after it."""

from kedro.pipeline import Node, Pipeline

from recsys_challenge.core import WINDOWS

from .nodes import split_holdout, summarise_folds


def _pandas(fold: str) -> str:
    return f"{fold}@pandas"


def create_pipeline(**kwargs) -> Pipeline:
    params = "params:splitting"
    final, test, rerank = WINDOWS["final"], WINDOWS["test"], WINDOWS["rerank"]
    return Pipeline(
        [
            Node(
                split_holdout,
                [_pandas(final.history), f"{params}.test", params],
                [_pandas(test.history), _pandas(test.truth)],
                name="split_test_window",
            ),
            Node(
                split_holdout,
                [_pandas(test.history), f"{params}.rerank", params],
                [_pandas(rerank.history), _pandas(rerank.truth)],
                name="split_rerank_window",
            ),
            Node(
                summarise_folds,
                [_pandas(f) for f in (final.history, rerank.history, rerank.truth, test.history, test.truth)],
                "split_summary",
                name="summarise_folds",
            ),
        ],
        tags=["splitting"],
    )
