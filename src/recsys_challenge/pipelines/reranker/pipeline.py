"""Wiring of the reranker: one union + features per window, trained on the reranker window only.

A Kedro namespace (``reranker``) like the generators: its own datasets are ``reranker.<name>``; the
generators' candidates, the feature tables, the static tables and the windows' truth are shared inputs.
"""

from kedro.pipeline import Node, Pipeline

from recsys_challenge.core import LATER_WINDOWS, WINDOWS
from recsys_challenge.pipelines.covisitation.features import hole_features

from .nodes import (
    add_features,
    add_labels,
    compare_models,
    rerank,
    reranker_mlflow_metrics,
    train_final,
    train_ranker,
    union_candidates,
)

NAMESPACE = "reranker"
PARAMS = "params:reranker"
STATIC = ("users@pandas", "items@pandas")
HOLES = "params:covisit"  # hole features use the co-visitation generator's window and scaling
HISTORY = {window: f"{w.history}@pandas" for window, w in WINDOWS.items()}
# the reranker learns from the rerank window's truth and is scored on the test window's
LABELS = f"{WINDOWS['rerank'].truth}@pandas"
TEST_TRUTH = f"{WINDOWS['test'].truth}@pandas"
MODEL = {"test": "model", "final": "model_final"}  # the submission's may also learn the test window


def _window(window: str, generators: tuple[str, ...]) -> list[Node]:
    inputs = {"per_generator_k": f"{PARAMS}.per_generator_k"}
    inputs.update({g: f"{g}.candidates_{window}" for g in generators})
    return [
        Node(union_candidates, inputs, f"union_{window}", name=f"union_{window}"),
        Node(
            hole_features,
            [f"union_{window}", HISTORY[window], f"targets_{window}", "items@pandas", HOLES],
            f"holes_{window}",
            name=f"holes_{window}",
        ),
        Node(
            add_features,
            [f"holes_{window}", *(f"features_{window}.{t}_features" for t in ("user", "item")), *STATIC],
            f"dataset_{window}",
            name=f"features_{window}",
        ),
    ]


def template(generators: tuple[str, ...]) -> Pipeline:
    """Union and features per window; labels, training, reranking, evaluation (names without namespace)."""
    nodes = [n for window in WINDOWS for n in _window(window, generators)]
    nodes += [
        Node(add_labels, ["dataset_rerank", LABELS], "train_set", name="labels"),
        Node(
            train_ranker,
            ["train_set", PARAMS],
            ["model", "feature_importance", "learning_curves"],
            name="train",
            tags=["training"],
        ),
        Node(add_labels, ["dataset_test", TEST_TRUTH], "test_set", name="labels_test"),
        Node(
            train_final,
            ["model", "train_set", "test_set", PARAMS],
            "model_final",
            name="train_final",
            tags=["training"],
        ),
        *[
            Node(
                rerank,
                [MODEL[window], f"dataset_{window}", PARAMS],
                f"candidates_{window}",
                name=f"rerank_{window}",
                tags=["inference"],
            )
            for window in LATER_WINDOWS
        ],
        Node(
            compare_models,
            {
                "truth": TEST_TRUTH,
                "reranked": "candidates_test",
                "union": "union_test",
                "settings": PARAMS,
                **{g: f"{g}.candidates_test" for g in generators},
            },
            "comparison",
            name="compare",
            tags=["evaluation"],
        ),
        Node(
            reranker_mlflow_metrics,
            ["comparison", "learning_curves"],
            "mlflow_metrics",
            name="log_metrics",
            tags=["evaluation"],
        ),
    ]
    return Pipeline(nodes)


def create_pipeline(generators: tuple[str, ...], **kwargs) -> Pipeline:
    """Reranker over the candidates of ``generators`` (the registry passes every generator it runs)."""
    shared = {
        *STATIC,
        *HISTORY.values(),
        *(f"targets_{window}" for window in WINDOWS),
        LABELS,
        TEST_TRUTH,
        *(f"{g}.candidates_{window}" for g in generators for window in WINDOWS),
        *(f"features_{window}.{table}_features" for window in WINDOWS for table in ("user", "item")),
    }
    return Pipeline(
        template(generators),
        namespace=NAMESPACE,
        inputs=shared,
        parameters={PARAMS, f"{PARAMS}.per_generator_k", HOLES},
        tags=["reranker"],
    )
