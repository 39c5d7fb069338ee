"""One sequential-model template; each model is a namespace with its own ``params:<model>`` block."""

from kedro.pipeline import Node, Pipeline

from recsys_challenge.core import LATER_WINDOWS, PROTOCOL, WINDOWS, for_window
from recsys_challenge.evaluation import evaluate, mlflow_metrics
from recsys_challenge.pipelines.namespacing import per_model

from .exclusive import exclusive
from .nodes import fit_generator, recommend, refit_or_reuse

MODELS = ("sasrec", "bert4rec", "sasrec_long", "bert4rec_cloze")


def _pandas(fold: str) -> str:
    return f"{fold}@pandas"


HISTORY = {window: _pandas(w.history) for window, w in WINDOWS.items()}
TRUTH = {window: _pandas(w.truth) for window, w in WINDOWS.items() if w.truth}
TARGETS = {window: f"targets_{window}" for window in WINDOWS}
SHARED = {"items@pandas", PROTOCOL, *HISTORY.values(), *TRUTH.values(), *TARGETS.values()}


def template() -> Pipeline:
    """Fit on the rerank window's history (validated on its truth); candidates for every window. The nodes
    that train or run a network hold ``exclusive``'s lock: one at a time under any runner."""
    config = "params:config"
    nodes = [
        Node(
            exclusive(fit_generator),
            [HISTORY["rerank"], TRUTH["rerank"], "items@pandas", HISTORY["final"], PROTOCOL, config],
            ["model_gen", "train_history"],
            name="fit",
            tags=["training"],
        ),
        Node(
            exclusive(recommend),
            ["model_gen", HISTORY["rerank"], TARGETS["rerank"], PROTOCOL, config],
            "candidates_rerank",
            name="candidates_rerank",
            tags=["inference"],
        ),
    ]
    # later windows: the previous window's model, reused or refitted, scores their longer histories
    for previous, window in zip(("gen", *LATER_WINDOWS), LATER_WINDOWS, strict=False):
        nodes += [
            Node(
                exclusive(for_window(refit_or_reuse, window, f"refit_or_reuse_{window}")),
                [f"model_{previous}", HISTORY[window], PROTOCOL, config],
                f"model_{window}",
                name=f"refit_{window}",
                tags=["training"],
            ),
            Node(
                exclusive(recommend),
                [f"model_{window}", HISTORY[window], TARGETS[window], PROTOCOL, config],
                f"candidates_{window}",
                name=f"candidates_{window}",
                tags=["inference"],
            ),
        ]
    nodes += [
        Node(
            evaluate,
            ["candidates_test", TRUTH["test"], config],
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
    return Pipeline(nodes)


def create_pipeline(models: tuple[str, ...] = MODELS, **kwargs) -> Pipeline:
    """The template once per model namespace."""
    return per_model(template(), models, SHARED, tag="sequential")
