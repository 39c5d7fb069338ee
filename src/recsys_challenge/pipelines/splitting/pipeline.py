"""Wiring of the splitting pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import split_holdout, summarise_folds


def create_pipeline(**kwargs) -> Pipeline:
    params = "params:splitting"
    return Pipeline(
        [
            Node(
                split_holdout,
                ["interactions", "params:splitting.test", params],
                ["fold_test_history", "fold_test_gt"],
                name="split_test_window",
            ),
            Node(
                split_holdout,
                ["fold_test_history", "params:splitting.rerank", params],
                ["fold_gen_train", "fold_rerank_gt"],
                name="split_rerank_window",
            ),
            Node(
                summarise_folds,
                ["interactions", "fold_gen_train", "fold_rerank_gt", "fold_test_history", "fold_test_gt"],
                "split_summary",
                name="summarise_folds",
            ),
        ],
        tags=["splitting"],
    )
