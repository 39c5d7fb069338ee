"""Refits for later windows: from scratch for each member's best epoch count, or warm from the previous
window's weights for a few epochs (``refit: warm``); backward members on the mirrored histories."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning
import pandas as pd

from . import directions
from .backends import Feed, backend_for
from .training import (
    EpochSeconds,
    Member,
    SequentialModel,
    Start,
    history,
    member_seeds,
    trainer,
    training_rows,
)


def train_fixed(
    build: Callable[[], lightning.LightningModule],
    data: Callable[[], dict[str, Any]],
    cfg: dict[str, Any],
    epochs: int,
) -> tuple[Member, pd.DataFrame]:
    """One network from ``build`` trained on ``data()`` for ``epochs`` epochs, no validation."""
    lightning.seed_everything(int(cfg["seed"]), workers=True, verbose=False)
    module = build()
    with tempfile.TemporaryDirectory() as tmp:
        fitter = trainer(cfg, [EpochSeconds()], epochs, log_dir=str(Path(tmp) / "log"))
        fitter.fit(module, **data())
        log = history(str(Path(tmp) / "log"))
    module.cpu().eval()
    return Member(module, epochs), log


def refit_members(
    train_member: Callable[[dict[str, Any], int, Start], tuple[Member, pd.DataFrame]],
    model: SequentialModel,
    cfg: dict[str, Any],
    warm: bool = False,
) -> SequentialModel:
    """``train_member(member_cfg, epochs, start)`` per ensemble seed. From scratch (``start`` None), each
    member trains for the epochs its own fit found best (members beyond the model's train the first's
    count); ``warm``, it starts from its previous weights and trains ``warm_epochs``. A member keeps its
    best epoch count either way (what a later from-scratch refit trains for)."""
    counts = [m.epochs for m in model.members]
    trained = []
    for i, seed in enumerate(member_seeds(cfg)):
        count = counts[i] if i < len(counts) else counts[0]
        if warm and i < len(model.members):
            member, log = train_member({**cfg, "seed": seed}, warm_epochs(cfg), model.members[i].module)
            member = Member(member.module, count)
        else:
            member, log = train_member({**cfg, "seed": seed}, count, None)
        trained.append((member, log))
    return SequentialModel(model.vocab, dict(cfg), [m for m, _ in trained], trained[0][1])


def starting(
    build: Callable[[], lightning.LightningModule], start: Start
) -> Callable[[], lightning.LightningModule]:
    """``build``, loaded with ``start``'s weights when given: the network and optimizer follow the
    current configuration (e.g. a lower learning rate for a warm refit), the weights the previous window."""
    if start is None:
        return build

    def warm() -> lightning.LightningModule:
        module = build()
        module.load_state_dict(start.state_dict())
        return module

    return warm


def warm_epochs(cfg: dict[str, Any]) -> int:
    """Epochs of a warm refit (``warm_epochs``, default 3), checked."""
    epochs = int(cfg.get("warm_epochs", 3))
    if epochs < 1:
        raise ValueError(f"{cfg.get('name', 'sequential')}.warm_epochs must be >= 1, got {epochs}")
    return epochs


def refit(
    model: SequentialModel, train: pd.DataFrame, cfg: dict[str, Any], warm: bool = False
) -> SequentialModel:
    """Retrain on a longer history, no validation: from scratch, every ensemble member for its epochs,
    or ``warm`` from the model's own weights for ``warm_epochs``; backward members on the same
    sequences reversed."""
    rows = training_rows(train, model.vocab, cfg)
    refitted = []
    for backward, part in directions.parts(model).items():
        reading_rows = directions.reversed_rows(rows) if backward else rows
        trainer = _member_trainer(reading_rows, model, cfg)
        refitted.append(directions.marked(refit_members(trainer, part, cfg, warm), backward))
    return directions.joined(refitted)


def _member_trainer(
    rows: pd.Series, model: SequentialModel, cfg: dict[str, Any]
) -> Callable[[dict[str, Any], int, Start], tuple[Member, pd.DataFrame]]:
    """``train_member`` for ``refit_members``: one network trained on ``rows`` for a fixed epoch count."""

    def train_member(member_cfg: dict[str, Any], epochs: int, start: Start) -> tuple[Member, pd.DataFrame]:
        backend = backend_for(member_cfg, len(model.vocab))
        with tempfile.TemporaryDirectory() as tmp:
            return train_fixed(
                starting(backend.build, start),
                lambda: backend.data(Path(tmp), Feed(train=rows)),
                member_cfg,
                epochs,
            )

    return train_member
