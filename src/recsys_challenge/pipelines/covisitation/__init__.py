"""Hole-aware item co-visitation: a generator that scores each target position from both sides."""

from .pipeline import MODELS, create_pipeline

__all__ = ["MODELS", "create_pipeline"]
