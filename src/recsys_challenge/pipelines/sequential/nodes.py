"""Nodes of the sequential-model template: fit, refit or reuse, recommend. Each asks ``tasks.task_for``
which task the model's settings and the splitting protocol call for, and calls it."""

from __future__ import annotations

import time

import pandas as pd

from recsys_challenge.evaluation import check_candidates

from .model import SequentialModel
from .sequences import item_vocabulary
from .settings import SequentialSettings
from .tasks import task_for


def fit_generator(
    gen_train: pd.DataFrame,
    rerank_gt: pd.DataFrame,
    items: pd.DataFrame,
    interactions: pd.DataFrame,
    protocol: str,
    settings: SequentialSettings,
) -> tuple[SequentialModel, pd.DataFrame]:
    """Train on the generator fold, validating each epoch on the reranker window.

    Returns the best-epoch model and its per-epoch history (loss, seconds, validation metrics).
    """
    vocab = item_vocabulary(items, interactions)
    start = time.perf_counter()
    model = task_for(settings, protocol).fit(gen_train, rerank_gt, vocab, settings)
    # best_epoch counts from 1: the epochs a refit trains for
    history = model.history.assign(fit_seconds=time.perf_counter() - start, best_epoch=model.epochs)
    return model, history


def refit_or_reuse(
    model: SequentialModel, history: pd.DataFrame, protocol: str, settings: SequentialSettings, window: str
) -> SequentialModel:
    """For a later window: retrain on its longer history (window listed in ``refit``: from scratch, or
    from the previous window's weights with ``refit: warm``) or reuse the previous window's model,
    which then scores the longer histories as they are (fastest, stalest)."""
    if window not in settings.refit_windows:
        return model
    return task_for(settings, protocol).refit(model, history, settings)


def recommend(
    model: SequentialModel,
    history: pd.DataFrame,
    targets: pd.DataFrame,
    protocol: str,
    settings: SequentialSettings,
) -> pd.DataFrame:
    """Top ``candidates_k`` unseen candidates per user (user_id, item_id, score, rank) for the window's
    ``targets``, as the model's task answers them."""
    candidates = task_for(settings, protocol).recommend(model, history, targets, settings)
    check_candidates(candidates, history, settings.candidates_k, source=f"{settings.model} candidates")
    return candidates
