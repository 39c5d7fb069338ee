"""Nodes of the sequential-model template: fit, refit or reuse, recommend, evaluate, log."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from recsys_challenge.evaluation import check_candidates

from . import models
from .models import SequentialModel


def fit_generator(
    gen_train: pd.DataFrame,
    rerank_gt: pd.DataFrame,
    items: pd.DataFrame,
    interactions: pd.DataFrame,
    config: dict[str, Any],
) -> tuple[SequentialModel, pd.DataFrame]:
    """Train on the generator fold, validating each epoch on the reranker window.

    Returns the best-epoch model and its per-epoch history (loss, seconds, validation metrics).
    """
    vocab = models.item_vocabulary(items, interactions)
    start = time.perf_counter()
    model = models.fit(gen_train, rerank_gt, vocab, config, checkpoint_dir=config.get("checkpoint_dir"))
    history = model.history.assign(fit_seconds=time.perf_counter() - start, best_epoch=model.best_epoch)
    return model, history


def refit_or_reuse(model: SequentialModel, history: pd.DataFrame, config: dict[str, Any]) -> SequentialModel:
    """For a later window: retrain on the longer history (``refit: true``) or reuse the fitted model,
    which then scores the longer histories as they are (``refit: false``, much faster)."""
    return models.refit(model, history, config) if config.get("refit", False) else model


def recommend(model: SequentialModel, history: pd.DataFrame, config: dict[str, Any]) -> pd.DataFrame:
    """Top-K unseen candidates per user of ``history`` (user_id, item_id, score, rank)."""
    k = int(config["candidates_k"])
    candidates = models.recommend(model, history, k, config)
    check_candidates(candidates, history, k, source=f"{config['model']} candidates")
    return candidates
