"""Competition submission: 10 unseen items per user, validated before it is written."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
