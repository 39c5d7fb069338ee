"""Wiring of the splitting pipeline: the protocol is decided once, then each window's split cuts the
history of the window after it."""

from kedro.pipeline import Node, Pipeline

from recsys_challenge.core import PROTOCOL, WINDOWS, for_window

from .gaps import raw_targets
from .nodes import decide_protocol, split_window, summarise_folds, window_targets


def _pandas(fold: str) -> str:
    return f"{fold}@pandas"


def create_pipeline(**kwargs) -> Pipeline:
    params = "params:splitting"
    final, test, rerank = WINDOWS["final"], WINDOWS["test"], WINDOWS["rerank"]
    return Pipeline(
        [
            # next_item or gaps, for every node after it (here and in the generators)
            Node(decide_protocol, [_pandas(final.history), params], PROTOCOL, name="decide_protocol"),
            Node(
                for_window(split_window, "test", "split_test_window"),
                [_pandas(final.history), PROTOCOL, params],
                [_pandas(test.history), _pandas(test.truth)],
                name="split_test_window",
            ),
            Node(
                for_window(split_window, "rerank", "split_rerank_window"),
                [_pandas(test.history), PROTOCOL, params],
                [_pandas(rerank.history), _pandas(rerank.truth)],
                name="split_rerank_window",
            ),
            # the positions each window's candidates answer: its hidden events (next-item), or every
            # unknown position of its history (gaps), as the final window answers the raw data's holes
            *[
                Node(
                    for_window(window_targets, name, f"{name}_window_targets"),
                    [_pandas(w.history), _pandas(w.truth), PROTOCOL, params],
                    f"targets_{name}",
                    name=f"targets_{name}",
                )
                for name, w in (("rerank", rerank), ("test", test))
            ],
            Node(
                raw_targets,
                [_pandas(final.history), f"{params}.tail_weight"],
                "targets_final",
                name="targets_final",
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
