"""Sequential recommenders (SASRec, BERT4Rec), one template reused through Kedro namespaces."""

from .pipeline import MODELS, create_pipeline

__all__ = ["MODELS", "create_pipeline"]
