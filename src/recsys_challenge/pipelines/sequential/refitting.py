"""Refits for later windows: from scratch for each member's best epoch count, or warm from the previous
window's weights for a few epochs (``refit: warm``). What a member trains on is the task's (``tasks``)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning
import pandas as pd

from .model import Member, SequentialModel, Start
from .settings import SequentialSettings
from .training import EpochSeconds, history, trainer

# one network trained with the given settings for the given epochs, from the given weights (or new)
MemberTrain = Callable[[SequentialSettings, int, Start], tuple[Member, pd.DataFrame]]


def train_fixed(
    build: Callable[[], lightning.LightningModule],
    data: Callable[[], dict[str, Any]],
    settings: SequentialSettings,
    epochs: int,
) -> tuple[Member, pd.DataFrame]:
    """One network from ``build`` trained on ``data()`` for ``epochs`` epochs, no validation."""
    lightning.seed_everything(settings.seed, workers=True, verbose=False)
    module = build()
    with tempfile.TemporaryDirectory() as tmp:
        fitter = trainer(settings, [EpochSeconds()], epochs, log_dir=str(Path(tmp) / "log"))
        fitter.fit(module, **data())
        log = history(str(Path(tmp) / "log"))
    module.cpu().eval()
    return Member(module, epochs), log


def refit_members(
    train_member: MemberTrain, model: SequentialModel, settings: SequentialSettings
) -> SequentialModel:
    """``train_member(member_settings, epochs, start)`` per ensemble seed. From scratch (``start`` None),
    each member trains for the epochs its own fit found best (members beyond the model's train the
    first's count); warm (``refit: warm``), it starts from its previous weights and trains
    ``warm_epochs``. A member keeps its best epoch count either way (what a later from-scratch refit
    trains for)."""
    counts = [m.epochs for m in model.members]
    trained = []
    for i, seed in enumerate(settings.member_seeds):
        count = counts[i] if i < len(counts) else counts[0]
        if settings.warm and i < len(model.members):
            member, log = train_member(settings.but(seed=seed), settings.warm_epochs, model.members[i].module)
            member = Member(member.module, count)
        else:
            member, log = train_member(settings.but(seed=seed), count, None)
        trained.append((member, log))
    return SequentialModel(model.vocab, settings, [m for m, _ in trained], trained[0][1])


def starting(
    build: Callable[[], lightning.LightningModule], start: Start
) -> Callable[[], lightning.LightningModule]:
    """``build``, loaded with ``start``'s weights when given: the network and optimizer follow the
    current settings (e.g. a lower learning rate for a warm refit), the weights the previous window."""
    if start is None:
        return build

    def warm() -> lightning.LightningModule:
        module = build()
        module.load_state_dict(start.state_dict())
        return module

    return warm
