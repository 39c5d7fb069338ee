"""SASRec reading sequences backwards too: a hole scored from its right context as well as its left.

A network trained on each user's sequence in reverse order is an ordinary next-item SASRec; run on the
mirrored sequence, its output after the visible event just *after* a hole predicts what fills it. With
``direction: both`` a model holds forward and backward members; a target read from both sides gets the
mean of the two readings, the slot after the end its left one, a hole before the first event its right
one, and a user's ranking is the weighted mean over the targets (``shared``). Mirroring is a data
transform (positions and orders run backwards per user), so validation and scoring are the forward
code on mirrored frames, and training is the forward code on the same sequences reversed.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from recsys_challenge.core import ORDER, POSITION, QUERY

from .settings import SequentialSettings

logger = logging.getLogger(__name__)
DIRECTIONS = {"forward": (False,), "backward": (True,), "both": (False, True)}


def backward_flags(settings: SequentialSettings, holes: bool) -> tuple[bool, ...]:
    """Which readings to train (False forward, True backward) for ``direction``. Only a SASRec filling
    the holes of its windows (``holes``) reads them backwards; anywhere else only the forward reading
    predicts anything (the next item, or the cloze model that reads both sides itself)."""
    value = settings.direction
    if value != "forward" and not holes:
        logger.info(
            "%s: direction %s applies to SASRec filling holes (hole_scoring left_context) in windows "
            "with holes; training the forward reading only",
            settings.name,
            value,
        )
        return (False,)
    return DIRECTIONS[value]


def reversed_rows(rows: pd.Series) -> pd.Series:
    """Training sequences read backwards: ``max_train_events`` keeps a user's most recent events for both
    readings; the backend then cuts each row's window of ``max_seq_len`` from its reading end, so without
    ``train_stride`` a backward network learns a long history's oldest events (the two readings together
    cover more of it)."""
    return rows.map(lambda row: row[::-1])


def mirrored(history: pd.DataFrame, *targets: pd.DataFrame) -> list[pd.DataFrame]:
    """``history`` with every user's positions and event order reversed, and ``targets`` with their
    positions reversed by the same per-user mirror (taken over all the frames), so a target keeps its
    place between the same two events."""
    frames = [f for f in (history, *targets) if len(f)]
    if not frames:
        return [history, *targets]
    span = pd.concat([f.groupby(QUERY)[POSITION].max() for f in frames]).groupby(level=0).max()
    out = [
        history.assign(
            **{
                POSITION: history[QUERY].map(span) - history[POSITION],
                ORDER: history.groupby(QUERY)[ORDER].transform("max") - history[ORDER],
            }
        )
    ]
    out += [t.assign(**{POSITION: t[QUERY].map(span) - t[POSITION]}) for t in targets]
    return out


def shared(history: pd.DataFrame, targets: pd.DataFrame, readings: int) -> pd.DataFrame:
    """``targets`` with each weight split between the ``readings`` (1 or 2) that reach it: forward needs
    a visible event before the target, backward one after it. Summed over every read, a target then
    counts its weight once, whether one side or both read it."""
    if readings < 2 or targets.empty:
        return targets
    bounds = history.groupby(QUERY)[POSITION].agg(["min", "max"]).reindex(targets[QUERY])
    position = targets[POSITION].to_numpy()
    reads = (position > bounds["min"].to_numpy()).astype(int) + (position < bounds["max"].to_numpy())
    weight = targets["weight"].to_numpy() if "weight" in targets else np.ones(len(targets))
    return targets.assign(weight=weight / np.maximum(reads, 1))
