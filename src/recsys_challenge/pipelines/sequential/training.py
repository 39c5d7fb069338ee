"""Training shared by every backend: early-stopped fits, ensembles of seeds (refits: ``refitting``).

Per-epoch numbers (train loss, validation metrics, seconds) are what the backends' modules and
callbacks log to Lightning's ``CSVLogger``; ``history`` reads them back as one row per epoch.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from recsys_challenge.pipelines.splitting.gaps import truth_targets

from . import directions, holes
from .backends import Feed, backend_for
from .sequences import training_sequences, user_sequences

logger = logging.getLogger(__name__)
Start = lightning.LightningModule | None  # the weights a warm refit starts from (None: a new network)


@dataclass
class Member:
    """One trained network of a model and the number of epochs it trains for (its best epoch, from 1)."""

    module: lightning.LightningModule
    epochs: int
    backward: bool = False  # trained on mirrored sequences: reads a hole's right context (``directions``)


@dataclass
class SequentialModel:
    """A trained model: one member, or an ensemble whose members' probabilities are averaged."""

    vocab: np.ndarray
    config: dict[str, Any]
    members: list[Member]
    history: pd.DataFrame = field(default_factory=pd.DataFrame)  # the first member's, one row per epoch

    @property
    def epochs(self) -> int:
        """The first member's best epoch count (logged as ``best_epoch``)."""
        return self.members[0].epochs


class EpochSeconds(Callback):
    """Logs each training epoch's wall time (the benchmarks' seconds per epoch) and a progress line."""

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        seconds = time.perf_counter() - self._start
        pl_module.log("epoch_seconds", seconds, on_step=False, on_epoch=True)
        loss = trainer.callback_metrics.get("train_loss_epoch", float("nan"))
        logger.info("epoch %d: loss %.4f, %.1f s", trainer.current_epoch + 1, float(loss), seconds)


def trainer(
    cfg: dict[str, Any],
    callbacks: list[Callback],
    epochs: int,
    log_dir: str | None = None,
    validate: bool = False,
) -> lightning.Trainer:
    """A Lightning trainer placed by ``cfg`` (accelerator, devices, precision), logging to CSV under
    ``log_dir`` (no logger without one) and validating every epoch if ``validate``."""
    return lightning.Trainer(
        max_epochs=epochs,
        accelerator=cfg.get("accelerator", "auto"),
        devices=cfg.get("devices", "auto"),
        precision=cfg.get("precision", "32-true"),
        deterministic=cfg.get("deterministic", True),
        callbacks=callbacks,
        logger=CSVLogger(log_dir, name="", version="") if log_dir else False,
        enable_checkpointing=any(isinstance(c, ModelCheckpoint) for c in callbacks),
        enable_progress_bar=cfg.get("progress_bar", True),
        enable_model_summary=False,
        num_sanity_val_steps=0,
        # RePlay's ParquetModule fails on a validation loop it has no file for
        limit_val_batches=1.0 if validate else 0,
    )


def history(log_dir: str) -> pd.DataFrame:
    """One row per epoch from the CSV log: epoch, train_loss, epoch_seconds, validation metrics."""
    path = Path(log_dir) / "metrics.csv"
    if not path.exists():
        return pd.DataFrame()
    logged = pd.read_csv(path)
    per_epoch = [c for c in logged.columns if not c.endswith("_step") and c != "step"]
    frame = logged[per_epoch].groupby("epoch", as_index=False).first()  # first non-null value per column
    return frame.rename(columns={"train_loss_epoch": "train_loss", "learning_rate_epoch": "learning_rate"})


def member_seeds(cfg: dict[str, Any]) -> list[int]:
    """One seed per ensemble member: ``seed``, ``seed + 1``, ... (``ensemble`` members, default 1)."""
    size = int(1 if cfg.get("ensemble") is None else cfg["ensemble"])
    if size < 1:
        raise ValueError(f"{cfg.get('name', 'sequential')}.ensemble must be >= 1, got {size}")
    return [int(cfg["seed"]) + i for i in range(size)]


def training_rows(train: pd.DataFrame, vocab: np.ndarray, cfg: dict[str, Any]) -> pd.Series:
    """The rows a model of ``cfg`` trains on from ``train`` (its backend's window, the long filter)."""
    return training_sequences(train, vocab, cfg, backend_for(cfg, len(vocab)).train_window)


def fit(
    train: pd.DataFrame,
    valid_truth: pd.DataFrame,
    vocab: np.ndarray,
    cfg: dict[str, Any],
    checkpoint_dir: str | None = None,
) -> SequentialModel:
    """Train on ``train`` with per-epoch validation on ``valid_truth``, early stopping and best-epoch
    checkpoints; every ensemble member is early-stopped on its own (checkpoints under ``seed_<seed>/``).
    When ``valid_truth`` holds holes and the model fills them from their left context (``holes``), that
    is what validation scores; otherwise the next item after each sequence. ``direction`` says which
    readings are trained: a backward network learns the same sequences reversed and is validated on
    the mirrored window (``directions``; checkpoints under ``backward/``, never resumed from
    ``resume_from``, which belongs to the first reading).

    Validation reads each user's whole ``train`` history and removes every item of it, as inference
    does; only the training rows are cut by ``max_train_events``.
    """
    targets = truth_targets(valid_truth, train) if holes.scores_holes(cfg) else None
    with_holes = targets is not None and holes.interior(targets)
    rows = training_rows(train, vocab, cfg)
    models = []
    for i, backward in enumerate(directions.backward_flags(cfg, with_holes)):
        reading_rows, frames = rows, (train, valid_truth, targets)
        if backward:
            reading_rows, frames = directions.reversed_rows(rows), directions.mirrored(*frames)
            logger.info(
                "%s: training the backward reading (mirrored sequences)", cfg.get("name", cfg["model"])
            )
        folder = str(Path(checkpoint_dir) / "backward") if checkpoint_dir and backward else checkpoint_dir
        reading_cfg = cfg if i == 0 else {**cfg, "resume_from": None}
        fitter = _member_fitter(reading_rows, *frames, vocab, reading_cfg, with_holes)
        models.append(directions.marked(fit_members(fitter, vocab, reading_cfg, folder), backward))
    return directions.joined(models)


def _member_fitter(
    rows: pd.Series,
    train: pd.DataFrame,
    valid_truth: pd.DataFrame,
    targets: pd.DataFrame | None,
    vocab: np.ndarray,
    cfg: dict[str, Any],
    with_holes: bool,
) -> Callable[[dict[str, Any], str | None], tuple[Member, pd.DataFrame]]:
    """``fit_member`` for ``fit_members``: one network trained on ``rows``, validated on the holes of
    ``targets`` in ``train`` (``with_holes``) or on the next item of ``valid_truth``."""
    valid = None  # next-item validation reads whole sequences; hole validation builds its own windows
    if not with_holes:
        inputs = user_sequences(train, vocab)
        valid = (inputs, user_sequences(valid_truth, vocab), inputs)

    def fit_member(member_cfg: dict[str, Any], folder: str | None) -> tuple[Member, pd.DataFrame]:
        backend = backend_for(member_cfg, len(vocab))
        with tempfile.TemporaryDirectory() as tmp:
            if with_holes:  # validated on the holes it will fill
                validation = holes.HoleValidation(train, valid_truth, targets, vocab, member_cfg)
                feed = lambda: backend.data(Path(tmp), Feed(train=rows))  # noqa: E731
                return early_stopped(backend.build, feed, validation, member_cfg, folder, validate=False)
            validation = backend.metrics_callback(list(cfg["ks"]), valid[2])
            return early_stopped(
                backend.build,
                lambda: backend.data(Path(tmp), Feed(train=rows, valid=valid)),
                validation,
                member_cfg,
                folder,
            )

    return fit_member


def fit_members(
    fit_member: Callable[[dict[str, Any], str | None], tuple[Member, pd.DataFrame]],
    vocab: np.ndarray,
    cfg: dict[str, Any],
    checkpoint_dir: str | None,
) -> SequentialModel:
    """``fit_member(member_cfg, checkpoint_folder)`` once per ensemble seed; the first member keeps the
    given folder and ``resume_from``, the others get ``seed_<seed>/`` and start fresh."""
    members, histories = [], []
    for i, seed in enumerate(member_seeds(cfg)):
        folder = str(Path(checkpoint_dir) / f"seed_{seed}") if checkpoint_dir and i else checkpoint_dir
        member_cfg = {**cfg, "seed": seed, "resume_from": cfg.get("resume_from") if i == 0 else None}
        member, log = fit_member(member_cfg, folder)
        logger.info("%s seed %d: best after %d epochs", cfg.get("name", cfg["model"]), seed, member.epochs)
        members.append(member)
        histories.append(log)
    return SequentialModel(vocab, dict(cfg), members, histories[0])


def early_stopped(
    build: Callable[[], lightning.LightningModule],
    data: Callable[[], dict[str, Any]],
    validation: Callback,
    cfg: dict[str, Any],
    checkpoint_dir: str | None,
    validate: bool = True,
) -> tuple[Member, pd.DataFrame]:
    """One network from ``build``, trained on ``data()`` (``Trainer.fit`` arguments) and early-stopped on
    the ``ndcg@monitor_k`` that ``validation`` logs (in Lightning's validation loop if ``validate``, else
    at each training epoch's end); returns its best-epoch weights and per-epoch history."""
    lightning.seed_everything(int(cfg["seed"]), workers=True, verbose=False)
    module = build()
    monitor = f"ndcg@{cfg['monitor_k']}"
    at_epoch_end = None if validate else True
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = ModelCheckpoint(
            dirpath=Path(checkpoint_dir or Path(tmp) / "checkpoints"),
            filename="best",
            monitor=monitor,
            mode="max",
            save_top_k=1,
            save_last=True,
            save_on_train_epoch_end=at_epoch_end,
        )
        stopper = EarlyStopping(
            monitor=monitor, mode="max", patience=int(cfg["patience"]), check_on_train_epoch_end=at_epoch_end
        )
        callbacks = [validation, EpochSeconds(), checkpoint, stopper]
        fitter = trainer(cfg, callbacks, int(cfg["epochs"]), str(Path(tmp) / "log"), validate=validate)
        # our checkpoints hold RePlay factories, not only tensors
        fitter.fit(module, ckpt_path=cfg.get("resume_from"), weights_only=False, **data())
        best = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=False)
        module.load_state_dict(best["state_dict"])
        log = history(str(Path(tmp) / "log"))
    module.cpu().eval()
    return Member(module, int(best["epoch"]) + 1), log
