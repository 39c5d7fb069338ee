"""Charts for people: model comparison, learning curves, reranker feature importance."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
