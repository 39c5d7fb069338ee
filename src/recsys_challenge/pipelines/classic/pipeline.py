"""One classic-generator template; each RePlay model is a namespace with its ``params:<model>`` block."""

from kedro.pipeline import Node, Pipeline

from recsys_challenge.core import WINDOWS
from recsys_challenge.evaluation import evaluate, mlflow_metrics
from recsys_challenge.pipelines.namespacing import per_model

from .nodes import attach_timings, generate_candidates

MODELS = ("pop", "itemknn", "als", "slim")
# window -> the fold each model is fitted on (Spark), and the test window's truth (pandas)
HISTORY = {name: f"{window.history}@spark" for name, window in WINDOWS.items()}
TEST_TRUTH = f"{WINDOWS['test'].truth}@pandas"
SHARED = {*HISTORY.values(), TEST_TRUTH}


def template() -> Pipeline:
    """Fit per window (generator fold, pre-test history, everything) -> candidates, metrics."""
    config = "params:config"
    nodes = [
        Node(
            generate_candidates,
            [fold, config],
            [f"candidates_{window}", f"timings_{window}"],
            name=f"candidates_{window}",
            tags=["training", "inference", "spark"],
        )
        for window, fold in HISTORY.items()
    ]
    nodes += [
        Node(
            evaluate,
            ["candidates_test", TEST_TRUTH, config],
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
