"""Per-user time split into the folds of the two-stage validation scheme."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
