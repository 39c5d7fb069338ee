"""User and item features for the reranker, each window computed only from the history it may see."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
