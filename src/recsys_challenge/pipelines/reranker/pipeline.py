"""Wiring of the reranker: one union + features per window, trained on the reranker window only."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    add_features,
    add_labels,
    compare_models,
    rerank,
    reranker_mlflow_metrics,
    train_ranker,
    union_candidates,
)

WINDOWS = ("rerank", "test", "final")


def _window(window: str, generators: tuple[str, ...]) -> list[Node]:
    inputs = {"per_generator_k": "params:reranker.per_generator_k"}
    inputs.update({g: f"{g}.candidates_{window}" for g in generators})
    return [
        Node(union_candidates, inputs, f"reranker.union_{window}", name=f"reranker.union_{window}"),
        Node(
            add_features,
            [
                f"reranker.union_{window}",
                f"features_{window}.user_features",
                f"features_{window}.item_features",
                "users@pandas",
                "items@pandas",
            ],
            f"reranker.dataset_{window}",
            name=f"reranker.features_{window}",
        ),
    ]


def create_pipeline(generators: tuple[str, ...] = ("sasrec", "pop"), **kwargs) -> Pipeline:
    """Reranker over the candidates of ``generators`` (the registry passes every generator it runs)."""
    params = "params:reranker"
    nodes = [n for window in WINDOWS for n in _window(window, generators)]
    nodes += [
        Node(
            add_labels,
            ["reranker.dataset_rerank", "fold_rerank_gt@pandas"],
            "reranker.train_set",
            name="reranker.labels",
        ),
        Node(
            train_ranker,
            ["reranker.train_set", params],
            ["reranker.model", "reranker.feature_importance", "reranker.learning_curves"],
            name="reranker.train",
            tags=["training"],
        ),
        *[
            Node(
                rerank,
                ["reranker.model", f"reranker.dataset_{window}", params],
                f"reranker.candidates_{window}",
                name=f"reranker.rerank_{window}",
                tags=["inference"],
            )
            for window in ("test", "final")
        ],
        Node(
            compare_models,
            {
                "truth": "fold_test_gt@pandas",
                "reranked": "reranker.candidates_test",
                "union": "reranker.union_test",
                "params": params,
                **{g: f"{g}.candidates_test" for g in generators},
            },
            "reranker.comparison",
            name="reranker.compare",
            tags=["evaluation"],
        ),
        Node(
            reranker_mlflow_metrics,
            ["reranker.comparison", "reranker.learning_curves"],
            "reranker.mlflow_metrics",
            name="reranker.log_metrics",
            tags=["evaluation"],
        ),
    ]
    return Pipeline(nodes, tags=["reranker"])
