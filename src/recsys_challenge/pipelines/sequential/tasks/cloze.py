"""The cloze task: BERT4Rec filling the holes of each sequence from both sides, trained on each user's
grid of positions (``cloze``) and scored at a window's target slots; ensembles, early stopping and
refits as for the other tasks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import cloze
from ..backends import backend_for
from ..model import Member, SequentialModel, Start
from ..refitting import refit_members, starting, train_fixed
from ..scoring import TargetValidation
from ..settings import SequentialSettings
from ..training import early_stopped, fit_members


def fit(
    train: pd.DataFrame, valid_truth: pd.DataFrame, vocab: np.ndarray, settings: SequentialSettings
) -> SequentialModel:
    """Early-stopped on the cloze ranking of ``valid_truth``'s positions (its items hidden)."""
    grid = cloze.grids(train, None, vocab)
    query = cloze.Query.of(train, valid_truth, vocab)  # the grids do not change between epochs

    def fit_member(member: SequentialSettings, folder: str | None) -> tuple[Member, pd.DataFrame]:
        validation = TargetValidation(
            lambda module, k: cloze.top_items([module], query, vocab, k, member), valid_truth, member.ks
        )
        return early_stopped(
            backend_for(member, len(vocab)).build,
            lambda: {"train_dataloaders": cloze.training_loader(grid, member)},
            validation,
            member,
            folder,
            validate=False,
        )

    return fit_members(fit_member, vocab, settings, settings.checkpoint_dir)


def refit(model: SequentialModel, train: pd.DataFrame, settings: SequentialSettings) -> SequentialModel:
    """Every member retrained on the grids of the longer ``train``, from scratch or warm."""
    grid = cloze.grids(train, None, model.vocab)

    def train_member(member: SequentialSettings, epochs: int, start: Start) -> tuple[Member, pd.DataFrame]:
        build = starting(backend_for(member, len(model.vocab)).build, start)
        loader = lambda: {"train_dataloaders": cloze.training_loader(grid, member)}  # noqa: E731
        return train_fixed(build, loader, member, epochs)

    return refit_members(train_member, model, settings)


recommend = cloze.recommend  # the window's target slots, scored from both sides
