"""Raw files -> validated, deterministically ordered interactions."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
