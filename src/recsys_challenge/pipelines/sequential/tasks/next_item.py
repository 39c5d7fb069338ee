"""The next-item task: rank what follows each sequence. Also the training both SASRec tasks share:
readings (forward, and backward on reversed sequences for ``holes``), each an ensemble of
early-stopped members; refits per reading."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import directions, inference
from ..backends import Feed, backend_for
from ..model import Member, SequentialModel, Start
from ..refitting import refit_members, starting, train_fixed
from ..sequences import training_sequences, user_sequences
from ..settings import SequentialSettings
from ..training import MemberFit, early_stopped, fit_members

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reading:
    """One reading of the data: its training rows and the frames its validation reads (mirrored for a
    backward reading); ``targets`` are the validation window's holes (None: next-item validation)."""

    rows: pd.Series
    train: pd.DataFrame
    valid_truth: pd.DataFrame
    targets: pd.DataFrame | None


MemberFitFor = Callable[[Reading, np.ndarray, SequentialSettings], MemberFit]


def fit(
    train: pd.DataFrame, valid_truth: pd.DataFrame, vocab: np.ndarray, settings: SequentialSettings
) -> SequentialModel:
    """Early-stopped on the next events of ``valid_truth`` after each user's ``train`` sequence."""
    return fit_readings(train, valid_truth, None, vocab, settings, next_item_member)


def refit(model: SequentialModel, train: pd.DataFrame, settings: SequentialSettings) -> SequentialModel:
    """Every reading's members retrained on the longer ``train`` (``refit_readings``)."""
    return refit_readings(model, train, settings)


def recommend(
    model: SequentialModel, history: pd.DataFrame, targets: pd.DataFrame, settings: SequentialSettings
) -> pd.DataFrame:
    """Candidates for every user of ``history`` from the sequence's end (``targets`` unused)."""
    return inference.recommend(model, history, settings)


def training_rows(train: pd.DataFrame, vocab: np.ndarray, settings: SequentialSettings) -> pd.Series:
    """The rows a model trains on from ``train`` (its backend's window, the long filter)."""
    return training_sequences(train, vocab, settings, backend_for(settings, len(vocab)).train_window)


def fit_readings(
    train: pd.DataFrame,
    valid_truth: pd.DataFrame,
    targets: pd.DataFrame | None,
    vocab: np.ndarray,
    settings: SequentialSettings,
    member_for: MemberFitFor,
) -> SequentialModel:
    """Every reading ``direction`` asks for (backward only where ``targets`` hold holes): its rows, its
    frames (mirrored when backward) and an ensemble fitted by ``member_for``. Checkpoints of the backward
    reading go under ``backward/``; it never resumes from ``resume_from``, the first reading's.

    Validation reads each user's whole ``train`` history and removes every item of it, as inference
    does; only the training rows are cut by ``max_train_events``."""
    rows = training_rows(train, vocab, settings)
    folder = settings.checkpoint_dir
    models = []
    for i, backward in enumerate(directions.backward_flags(settings, targets is not None)):
        reading_rows, frames = rows, (train, valid_truth, targets)
        if backward:
            reading_rows, frames = directions.reversed_rows(rows), directions.mirrored(*frames)
            logger.info("%s: training the backward reading (mirrored sequences)", settings.name)
        reading = settings if i == 0 else settings.but(resume_from=None)
        fitter = member_for(Reading(reading_rows, *frames), vocab, reading)
        where = str(Path(folder) / "backward") if folder and backward else folder
        models.append(fit_members(fitter, vocab, reading, where).marked(backward))
    return SequentialModel.joined(models)


def next_item_member(reading: Reading, vocab: np.ndarray, settings: SequentialSettings) -> MemberFit:
    """One network trained on the reading's rows, validated in Lightning's loop on the next item of
    ``valid_truth`` after each user's ``train`` sequence."""
    inputs = user_sequences(reading.train, vocab)
    valid = (inputs, user_sequences(reading.valid_truth, vocab), inputs)
    rows = reading.rows

    def fit_member(member: SequentialSettings, folder: str | None) -> tuple[Member, pd.DataFrame]:
        backend = backend_for(member, len(vocab))
        with tempfile.TemporaryDirectory() as tmp:
            return early_stopped(
                backend.build,
                lambda: backend.data(Path(tmp), Feed(train=rows, valid=valid)),
                backend.metrics_callback(list(settings.ks), valid[2]),
                member,
                folder,
            )

    return fit_member


def refit_readings(
    model: SequentialModel, train: pd.DataFrame, settings: SequentialSettings
) -> SequentialModel:
    """Retrain on a longer history, no validation: every ensemble member of every reading, from scratch
    for its epochs or warm for ``warm_epochs``; backward members on the same sequences reversed."""
    rows = training_rows(train, model.vocab, settings)
    refitted = []
    for backward, part in model.parts().items():
        reading_rows = directions.reversed_rows(rows) if backward else rows
        refitted.append(
            refit_members(_member_trainer(reading_rows, model, settings), part, settings).marked(backward)
        )
    return SequentialModel.joined(refitted)


def _member_trainer(
    rows: pd.Series, model: SequentialModel, settings: SequentialSettings
) -> Callable[[SequentialSettings, int, Start], tuple[Member, pd.DataFrame]]:
    """``train_member`` for ``refit_members``: one network trained on ``rows`` for a fixed epoch count."""

    def train_member(member: SequentialSettings, epochs: int, start: Start) -> tuple[Member, pd.DataFrame]:
        backend = backend_for(member, len(model.vocab))
        with tempfile.TemporaryDirectory() as tmp:
            return train_fixed(
                starting(backend.build, start),
                lambda: backend.data(Path(tmp), Feed(train=rows)),
                member,
                epochs,
            )

    return train_member
