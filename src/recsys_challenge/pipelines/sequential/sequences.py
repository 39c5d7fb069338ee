"""Data preparation for the sequential models: item vocabulary, per-user sequences, training windows."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from recsys_challenge.core import ITEM, ORDER, QUERY

from .settings import SequentialSettings

logger = logging.getLogger(__name__)


def item_vocabulary(items: pd.DataFrame, *folds: pd.DataFrame) -> np.ndarray:
    """Sorted raw item ids known to the model: the catalog plus any id seen in the folds."""
    ids = [items[ITEM].to_numpy()] + [f[ITEM].to_numpy() for f in folds]
    return np.unique(np.concatenate(ids))


def user_sequences(fold: pd.DataFrame, vocab: np.ndarray) -> pd.Series:
    """Per-user item-index sequences in time order (the ``order`` column), indexed by user id."""
    ordered = fold.sort_values([QUERY, ORDER], kind="stable")
    index = np.searchsorted(vocab, ordered[ITEM].to_numpy())
    return pd.Series(index, index=ordered[QUERY].to_numpy()).groupby(level=0).agg(list)


def filter_long_sequences(fold: pd.DataFrame, max_events: int | None) -> pd.DataFrame:
    """Keep each user's last ``max_events`` events (the original team's trick for long histories)."""
    if not max_events:
        return fold
    position_from_end = fold.groupby(QUERY)[ORDER].rank(ascending=False, method="first")
    return fold[position_from_end <= max_events]


def long_filter_is_noop(settings: SequentialSettings, window: int) -> bool:
    """Whether ``max_train_events`` cannot change training: without a ``train_stride`` a model trains on
    each user's last ``window`` events only, so a filter at least that long removes nothing it reads."""
    max_events = settings.max_train_events
    return bool(max_events) and settings.train_stride is None and max_events >= window


def training_windows(seqs: pd.Series, length: int, stride: int | None) -> pd.Series:
    """Training rows of at most ``length`` events: each sequence's last ``length`` and, with a ``stride``,
    also the windows ending ``stride``, ``2 * stride``, ... events earlier, so a long history's past
    is learnt from too (a model reads only its last ``length`` events). Windows get fresh integer ids."""
    if stride is None:
        return seqs.map(lambda s: s[-length:])
    if int(stride) < 1:
        raise ValueError(f"train_stride must be >= 1 or null, got {stride}")
    rows = []
    for seq in seqs:
        rows.extend(seq[max(end - length, 0) : end] for end in window_ends(len(seq), length, int(stride)))
    return pd.Series(rows, index=pd.RangeIndex(len(rows)), dtype=object)


def window_ends(size: int, length: int, stride: int) -> list[int]:
    """Where the windows of at most ``length`` slots over ``size`` end: full windows ``stride`` apart
    from the end, then the oldest, which starts the sequence (the whole of it when short)."""
    return [*range(size, length, -stride), min(size, length)]


def training_sequences(
    train: pd.DataFrame, vocab: np.ndarray, settings: SequentialSettings, window: int
) -> pd.Series:
    """The sequences a model trains on: ``train`` cut by the long-sequence filter of ``settings``.
    ``window`` is how many events of a sequence one training row holds (for the no-op warning)."""
    if long_filter_is_noop(settings, window):
        logger.warning(
            "%s: max_train_events=%d >= the %d events a training row holds (without train_stride) has no "
            "effect; the model equals one without it",
            settings.name,
            settings.max_train_events,
            window,
        )
    return user_sequences(filter_long_sequences(train, settings.max_train_events), vocab)
