"""One sequential-model template; each model is a namespace with its own ``params:<model>`` block."""

from kedro.pipeline import Node, Pipeline

from recsys_challenge.evaluation import evaluate, mlflow_metrics
from recsys_challenge.pipelines.namespacing import per_model

from .nodes import LATER_WINDOWS, fit_generator, recommend, window_refitter

MODELS = ("sasrec", "bert4rec", "sasrec_long")
SHARED = {
    "items@pandas",
    "interactions@pandas",
    "fold_gen_train@pandas",
    "fold_rerank_gt@pandas",
    "fold_test_history@pandas",
    "fold_test_gt@pandas",
}
# the history each later window scores (keys in nodes.LATER_WINDOWS order)
WINDOW_HISTORY = {"test": "fold_test_history@pandas", "final": "interactions@pandas"}


def template() -> Pipeline:
    """Fit on gen_train (validated on the rerank window); candidates for the rerank, test, final windows."""
    config = "params:config"
    return Pipeline(
        [
            Node(
                fit_generator,
                [
                    "fold_gen_train@pandas",
                    "fold_rerank_gt@pandas",
                    "items@pandas",
                    "interactions@pandas",
                    config,
                ],
                ["model_gen", "train_history"],
                name="fit",
                tags=["training"],
            ),
            Node(
                recommend,
                ["model_gen", "fold_gen_train@pandas", config],
                "candidates_rerank",
                name="candidates_rerank",
                tags=["inference"],
            ),
            # later windows: the previous window's model, reused or refitted, scores their longer histories
            *[
                node
                for previous, window in zip(("gen", *LATER_WINDOWS), LATER_WINDOWS, strict=False)
                for node in (
                    Node(
                        window_refitter(window),
                        [f"model_{previous}", WINDOW_HISTORY[window], config],
                        f"model_{window}",
                        name=f"refit_{window}",
                        tags=["training"],
                    ),
                    Node(
                        recommend,
                        [f"model_{window}", WINDOW_HISTORY[window], config],
                        f"candidates_{window}",
                        name=f"candidates_{window}",
                        tags=["inference"],
                    ),
                )
            ],
            Node(
                evaluate,
                ["candidates_test", "fold_test_gt@pandas", config],
                "test_metrics",
                name="evaluate",
                tags=["evaluation"],
            ),
            Node(
                mlflow_metrics,
                {"test_metrics": "test_metrics", "history": "train_history"},
                "mlflow_metrics",
                name="log_metrics",
                tags=["evaluation"],
            ),
        ]
    )


def create_pipeline(models: tuple[str, ...] = MODELS, **kwargs) -> Pipeline:
    """The template once per model namespace."""
    return per_model(template(), models, SHARED, tag="sequential")
