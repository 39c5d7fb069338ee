"""One co-visitation template; each configuration is a namespace with its ``params:<model>`` block."""

from kedro.pipeline import Node, Pipeline

from recsys_challenge.core import WINDOWS
from recsys_challenge.evaluation import evaluate, mlflow_metrics
from recsys_challenge.pipelines.namespacing import per_model

from .nodes import score_targets

MODELS = ("covisit",)
HISTORY = {window: f"{w.history}@pandas" for window, w in WINDOWS.items()}
TARGETS = {window: f"targets_{window}" for window in WINDOWS}
SHARED = {"items@pandas", "fold_test_gt@pandas", *HISTORY.values(), *TARGETS.values()}


def template() -> Pipeline:
    """Counts on each window's history, scored at that window's targets -> candidates, test metrics."""
    config = "params:config"
    nodes = [
        Node(
            score_targets,
            [HISTORY[window], TARGETS[window], "items@pandas", config],
            f"candidates_{window}",
            name=f"candidates_{window}",
            tags=["training", "inference"],
        )
        for window in WINDOWS
    ]
    nodes += [
        Node(
            evaluate,
            ["candidates_test", "fold_test_gt@pandas", config],
            "test_metrics",
            name="evaluate",
            tags=["evaluation"],
        ),
        Node(mlflow_metrics, "test_metrics", "mlflow_metrics", name="log_metrics", tags=["evaluation"]),
    ]
    return Pipeline(nodes)


def create_pipeline(models: tuple[str, ...] = MODELS, **kwargs) -> Pipeline:
    """The template once per model namespace."""
    return per_model(template(), models, SHARED, tag="covisitation")
