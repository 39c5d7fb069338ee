"""One classic-generator template; each RePlay model is a namespace with its ``params:<model>`` block."""

from kedro.pipeline import Node, Pipeline

from recsys_challenge.evaluation import evaluate, mlflow_metrics
from recsys_challenge.pipelines.namespacing import per_model

from .nodes import attach_timings, generate_candidates

MODELS = ("pop", "itemknn", "als", "slim")
SHARED = {"fold_gen_train@spark", "fold_test_history@spark", "interactions@spark", "fold_test_gt@pandas"}


def template() -> Pipeline:
    """Fit per window (generator fold, pre-test history, everything) -> candidates, metrics."""
    config = "params:config"
    windows = {
        "rerank": "fold_gen_train@spark",
        "test": "fold_test_history@spark",
        "final": "interactions@spark",
    }
    nodes = [
        Node(
            generate_candidates,
            [fold, config],
            [f"candidates_{window}", f"timings_{window}"],
            name=f"candidates_{window}",
            tags=["training", "inference", "spark"],
        )
        for window, fold in windows.items()
    ]
    nodes += [
        Node(
            evaluate,
            ["candidates_test", "fold_test_gt@pandas", config],
            "test_metrics_raw",
            name="evaluate",
            tags=["evaluation"],
        ),
        Node(attach_timings, ["test_metrics_raw", "timings_test"], "test_metrics", name="attach_timings"),
        Node(mlflow_metrics, "test_metrics", "mlflow_metrics", name="log_metrics", tags=["evaluation"]),
    ]
    return Pipeline(nodes)


def create_pipeline(models: tuple[str, ...] = MODELS, **kwargs) -> Pipeline:
    """The template once per model namespace."""
    return per_model(template(), models, SHARED, tag="classic")
