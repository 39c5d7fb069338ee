"""Nodes of the sequential-model template: fit, refit or reuse, recommend, evaluate, log."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from recsys_challenge.core import LATER_WINDOWS
from recsys_challenge.evaluation import check_candidates

from . import cloze, directions, holes, inference, refitting, training
from .sequences import item_vocabulary
from .training import SequentialModel


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
    vocab = item_vocabulary(items, interactions)
    directions.direction(config)  # a misspelt direction fails here for every model
    start = time.perf_counter()
    trainer = cloze if is_cloze(config) else training
    model = trainer.fit(gen_train, rerank_gt, vocab, config, checkpoint_dir=config.get("checkpoint_dir"))
    # best_epoch counts from 1: the epochs a refit trains for
    history = model.history.assign(fit_seconds=time.perf_counter() - start, best_epoch=model.epochs)
    return model, history


WARM = "warm"


def refit_windows(config: dict[str, Any]) -> set[str]:
    """The later windows to retrain for: ``refit`` is a bool (all or none), ``warm`` (all, each from the
    previous window's weights), a list of window names or a comma-separated string of them
    (``--params sasrec.refit=test`` on the command line)."""
    refit = config.get("refit", False)
    if refit == WARM:
        return set(LATER_WINDOWS)
    if isinstance(refit, bool):
        return set(LATER_WINDOWS) if refit else set()
    if isinstance(refit, str):
        refit = [w.strip() for w in refit.split(",") if w.strip()]
    unknown = set(refit) - set(LATER_WINDOWS)
    if unknown:
        raise ValueError(
            f"{config.get('name', 'sequential')}.refit: unknown window(s) {sorted(unknown)}; "
            f"use true, false, warm or a list of {list(LATER_WINDOWS)}"
        )
    return set(refit)


def refit_or_reuse(
    model: SequentialModel, history: pd.DataFrame, config: dict[str, Any], window: str
) -> SequentialModel:
    """For a later window: retrain on its longer history (window listed in ``refit``: from scratch, or
    from the previous window's weights with ``refit: warm``) or reuse the previous window's model,
    which then scores the longer histories as they are (fastest, stalest)."""
    if window not in refit_windows(config):
        return model
    warm = config.get("refit") == WARM
    return (cloze if is_cloze(config) else refitting).refit(model, history, config, warm=warm)


def is_cloze(config: dict[str, Any]) -> bool:
    """``task: cloze`` (BERT4Rec filling the holes of each sequence) or the default ``next_item``."""
    task = config.get("task", "next_item")
    cloze_ok = config["model"] == "bert4rec" and config.get("loss") == "CE"
    if task not in ("next_item", "cloze") or (task == "cloze" and not cloze_ok):
        # holes carry CE's ignore label: the other losses would index with it
        raise ValueError(
            f"{config.get('name', 'sequential')}.task must be next_item, or cloze with model bert4rec and "
            f"loss CE; got task {task!r}, model {config['model']!r}, loss {config.get('loss')!r}"
        )
    return task == "cloze"


def recommend(
    model: SequentialModel, history: pd.DataFrame, targets: pd.DataFrame, config: dict[str, Any]
) -> pd.DataFrame:
    """Top-K unseen candidates per user (user_id, item_id, score, rank): a next-item model ranks for every
    user of ``history``, a cloze model for every user with a target position (the window's holes), and
    SASRec, when the window has holes, from the context of each (``hole_scoring``; left, right or both
    sides by ``direction``)."""
    k = int(config["candidates_k"])
    if is_cloze(config):
        candidates = cloze.recommend(model, history, targets, k, config)
    elif holes.scores_holes(config) and holes.interior(targets):
        candidates = holes.recommend(model, history, targets, k, config)
    else:
        candidates = inference.recommend(model, history, k, config)
    check_candidates(candidates, history, k, source=f"{config['model']} candidates")
    return candidates
