"""Second stage: CatBoost ranker over the union of every generator's candidates."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
