"""Wiring of the splitting pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import split_holdout, summarise_folds


def create_pipeline(**kwargs) -> Pipeline:
    params = "params:splitting"
    return Pipeline(
        [
            Node(
                split_holdout,
                ["interactions@pandas", "params:splitting.test", params],
                ["fold_test_history@pandas", "fold_test_gt@pandas"],
                name="split_test_window",
            ),
            Node(
                split_holdout,
                ["fold_test_history@pandas", "params:splitting.rerank", params],
                ["fold_gen_train@pandas", "fold_rerank_gt@pandas"],
                name="split_rerank_window",
            ),
            Node(
                summarise_folds,
                [
                    "interactions@pandas",
                    "fold_gen_train@pandas",
                    "fold_rerank_gt@pandas",
                    "fold_test_history@pandas",
                    "fold_test_gt@pandas",
                ],
                "split_summary",
                name="summarise_folds",
            ),
        ],
        tags=["splitting"],
    )
