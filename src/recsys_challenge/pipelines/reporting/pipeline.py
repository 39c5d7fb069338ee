"""Wiring of the reporting pipeline (reads what the model pipelines wrote).

A Kedro namespace (``reporting``): its charts are ``reporting.<name>``; the reranker's comparison and
feature importance and the sequential models' training histories are shared inputs.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    comparison_chart,
    comparison_png,
    comparison_table,
    feature_importance_chart,
    learning_curves_chart,
)

NAMESPACE = "reporting"
COMPARISON, IMPORTANCE = "reranker.comparison", "reranker.feature_importance"


def template(histories: dict[str, str]) -> Pipeline:
    return Pipeline(
        [
            Node(comparison_table, COMPARISON, "comparison_table", name="comparison_table"),
            Node(comparison_chart, "comparison_table", "comparison_chart", name="comparison_chart"),
            Node(comparison_png, "comparison_table", "comparison_png", name="comparison_png"),
            Node(learning_curves_chart, histories, "learning_curves", name="learning_curves_chart"),
            Node(feature_importance_chart, IMPORTANCE, "feature_importance", name="feature_importance_chart"),
        ]
    )


def create_pipeline(sequential: tuple[str, ...], **kwargs) -> Pipeline:
    """Charts of the reranker's comparison and importance, and of the ``sequential`` models' curves."""
    histories = {m: f"{m}.train_history" for m in sequential}
    return Pipeline(
        template(histories),
        namespace=NAMESPACE,
        inputs={COMPARISON, IMPORTANCE, *histories.values()},
        tags=["reporting"],
    )
