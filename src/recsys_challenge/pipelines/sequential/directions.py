"""SASRec reading sequences backwards too: a hole scored from its right context as well as its left.

A network trained on each user's sequence in reverse order is an ordinary next-item SASRec; run on the
mirrored sequence, its output after the visible event just *after* a hole predicts what fills it. With
``direction: both`` a model holds forward and backward members and a user's ranking is the mean over
every (member, target) read: holes get both sides, the slot after the end its left side, a hole before
the first event its right side. Mirroring is a data transform (positions and orders run backwards per
user), so training, validation and scoring are the forward code on mirrored frames.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from recsys_challenge.core import ORDER, POSITION, QUERY

if TYPE_CHECKING:
    from .training import SequentialModel

logger = logging.getLogger(__name__)
DIRECTIONS = {"forward": (False,), "backward": (True,), "both": (False, True)}


def backward_flags(cfg: dict[str, Any], holes: bool) -> tuple[bool, ...]:
    """Which readings to train (False forward, True backward) for ``direction``; without holes to fill
    (next-item data) only the forward one predicts anything, so a backward reading is skipped."""
    direction = str(cfg.get("direction", "forward"))
    if direction not in DIRECTIONS:
        raise ValueError(
            f"{cfg.get('name', 'sequential')}.direction must be one of {list(DIRECTIONS)}, got {direction!r}"
        )
    if direction != "forward" and not holes:
        logger.info(
            "%s: direction %s reads holes from their right context; these windows have no holes "
            "(next-item data), so only the forward model is trained",
            cfg.get("name", "sequential"),
            direction,
        )
        return (False,)
    return DIRECTIONS[direction]


def mirrored(history: pd.DataFrame, *targets: pd.DataFrame) -> list[pd.DataFrame]:
    """``history`` and ``targets`` with every user's positions and event order reversed (one mirror per
    user over all the frames, so a target keeps its place between the same two events)."""
    frames = (history, *targets)
    span = pd.concat([f.groupby(QUERY)[POSITION].max() for f in frames if len(f)]).groupby(level=0).max()
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


def marked(model: SequentialModel, backward: bool) -> SequentialModel:
    """``model`` with every member flagged as reading ``backward`` (or not)."""
    return replace(model, members=[replace(m, backward=backward) for m in model.members])


def parts(model: SequentialModel) -> dict[bool, SequentialModel]:
    """The model's forward (False) and backward (True) members, each as a model of its own."""
    out = {}
    for backward in (False, True):
        members = [m for m in model.members if m.backward == backward]
        if members:
            out[backward] = replace(model, members=members)
    return out


def joined(models: list[SequentialModel]) -> SequentialModel:
    """One model with the members of ``models`` (the first one's history and best epoch reported)."""
    return replace(models[0], members=[m for model in models for m in model.members])
