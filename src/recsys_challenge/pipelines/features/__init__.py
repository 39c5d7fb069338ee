"""User and item features for the reranker, each window computed only from the history it may see."""

from .pipeline import WINDOWS, create_pipeline

__all__ = ["WINDOWS", "create_pipeline"]
