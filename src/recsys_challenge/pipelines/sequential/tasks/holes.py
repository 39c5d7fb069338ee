"""The holes task: a next-item SASRec whose validation and candidates read each hidden position of a
window from the visible event before it (and, backward, after it: ``directions``). Windows split under
the gaps protocol; one whose targets all sit after the sequences' ends is answered as next-item.
Refits are the next-item task's."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_challenge.pipelines.splitting.gaps import truth_targets

from .. import holes, inference
from ..backends import Feed, backend_for
from ..model import Member, SequentialModel
from ..scoring import TargetValidation
from ..settings import SequentialSettings
from ..training import MemberFit, early_stopped
from .next_item import Reading, fit_readings, next_item_member
from .next_item import refit as refit  # the same retraining as next-item: re-exported


def fit(
    train: pd.DataFrame, valid_truth: pd.DataFrame, vocab: np.ndarray, settings: SequentialSettings
) -> SequentialModel:
    """Early-stopped on the holes of ``valid_truth`` in ``train`` (next-item when it has none)."""
    targets = truth_targets(valid_truth, train)
    if not holes.interior(targets):
        return fit_readings(train, valid_truth, None, vocab, settings, next_item_member)
    return fit_readings(train, valid_truth, targets, vocab, settings, hole_member)


def recommend(
    model: SequentialModel, history: pd.DataFrame, targets: pd.DataFrame, settings: SequentialSettings
) -> pd.DataFrame:
    """Each hole of ``targets`` read from its sides (next-item candidates for a window without holes)."""
    if holes.interior(targets):
        return holes.recommend(model, history, targets, settings)
    return inference.recommend(model, history, settings)


def hole_member(reading: Reading, vocab: np.ndarray, settings: SequentialSettings) -> MemberFit:
    """One network trained on the reading's rows, validated after each epoch on the holes of
    ``targets`` in ``train`` (the ones it will fill) against ``valid_truth``."""
    rows, train, valid_truth, targets = reading.rows, reading.train, reading.valid_truth, reading.targets

    def fit_member(member: SequentialSettings, folder: str | None) -> tuple[Member, pd.DataFrame]:
        backend = backend_for(member, len(vocab))
        # the windows and targets do not change between epochs: built once
        queries = holes.Query.per_block(train, targets, vocab, member.max_seq_len, member.score_block_users)
        validation = TargetValidation(
            lambda module, k: holes.validation_top(module, queries, vocab, k, member), valid_truth, member.ks
        )
        with tempfile.TemporaryDirectory() as tmp:
            feed = lambda: backend.data(Path(tmp), Feed(train=rows))  # noqa: E731
            return early_stopped(backend.build, feed, validation, member, folder, validate=False)

    return fit_member
