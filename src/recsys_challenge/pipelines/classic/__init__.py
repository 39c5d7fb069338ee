"""Classic candidate generators of RePlay on Spark (PopRec, ItemKNN, ALS, SLIM, ...), one namespace each."""

from .pipeline import MODELS, create_pipeline

__all__ = ["MODELS", "create_pipeline"]
