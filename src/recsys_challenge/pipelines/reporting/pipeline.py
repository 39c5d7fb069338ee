"""Wiring of the reporting pipeline (reads what the model pipelines wrote)."""

from kedro.pipeline import Node, Pipeline

from recsys_challenge.pipelines.sequential import MODELS as SEQUENTIAL

from .nodes import (
    comparison_chart,
    comparison_png,
    comparison_table,
    feature_importance_chart,
    learning_curves_chart,
)


def create_pipeline(sequential: tuple[str, ...] = SEQUENTIAL, **kwargs) -> Pipeline:
    histories = {m: f"{m}.train_history" for m in sequential}
    return Pipeline(
        [
            Node(
                comparison_table, "reranker.comparison", "reporting.comparison_table", name="comparison_table"
            ),
            Node(
                comparison_chart,
                "reporting.comparison_table",
                "reporting.comparison_chart",
                name="comparison_chart",
            ),
            Node(
                comparison_png,
                "reporting.comparison_table",
                "reporting.comparison_png",
                name="comparison_png",
            ),
            Node(learning_curves_chart, histories, "reporting.learning_curves", name="learning_curves_chart"),
            Node(
                feature_importance_chart,
                "reranker.feature_importance",
                "reporting.feature_importance",
                name="feature_importance_chart",
            ),
        ],
        tags=["reporting"],
    )
