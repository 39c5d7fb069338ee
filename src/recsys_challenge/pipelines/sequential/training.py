"""Training shared by every task and backend: early-stopped fits, ensembles of seeds (refits:
``refitting``; what a task trains on and validates with: ``tasks``).

Per-epoch numbers (train loss, validation metrics, seconds) are what the backends' modules and
callbacks log to Lightning's ``CSVLogger``; ``history`` reads them back as one row per epoch.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from .model import Member, SequentialModel
from .settings import SequentialSettings

logger = logging.getLogger(__name__)
# one network trained with the given settings into the given checkpoint folder (None: a temporary one)
MemberFit = Callable[[SequentialSettings, str | None], tuple[Member, pd.DataFrame]]


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
    settings: SequentialSettings,
    callbacks: list[Callback],
    epochs: int,
    log_dir: str | None = None,
    validate: bool = False,
) -> lightning.Trainer:
    """A Lightning trainer placed by ``settings`` (accelerator, devices, precision), logging to CSV under
    ``log_dir`` (no logger without one) and validating every epoch if ``validate``."""
    return lightning.Trainer(
        max_epochs=epochs,
        accelerator=settings.accelerator,
        devices=settings.devices,
        precision=settings.precision,
        deterministic=settings.deterministic,
        callbacks=callbacks,
        logger=CSVLogger(log_dir, name="", version="") if log_dir else False,
        enable_checkpointing=any(isinstance(c, ModelCheckpoint) for c in callbacks),
        enable_progress_bar=settings.progress_bar,
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


def fit_members(
    fit_member: MemberFit, vocab: np.ndarray, settings: SequentialSettings, checkpoint_dir: str | None
) -> SequentialModel:
    """``fit_member(member_settings, checkpoint_folder)`` once per ensemble seed; the first member keeps
    the given folder and ``resume_from``, the others get ``seed_<seed>/`` and start fresh."""
    members, histories = [], []
    for i, seed in enumerate(settings.member_seeds):
        folder = str(Path(checkpoint_dir) / f"seed_{seed}") if checkpoint_dir and i else checkpoint_dir
        member, log = fit_member(
            settings.but(seed=seed, resume_from=settings.resume_from if i == 0 else None), folder
        )
        logger.info("%s seed %d: best after %d epochs", settings.name, seed, member.epochs)
        members.append(member)
        histories.append(log)
    return SequentialModel(vocab, settings, members, histories[0])


def early_stopped(
    build: Callable[[], lightning.LightningModule],
    data: Callable[[], dict[str, Any]],
    validation: Callback,
    settings: SequentialSettings,
    checkpoint_dir: str | None,
    validate: bool = True,
) -> tuple[Member, pd.DataFrame]:
    """One network from ``build``, trained on ``data()`` (``Trainer.fit`` arguments) and early-stopped on
    the ``ndcg@monitor_k`` that ``validation`` logs (in Lightning's validation loop if ``validate``, else
    at each training epoch's end); returns its best-epoch weights and per-epoch history."""
    lightning.seed_everything(settings.seed, workers=True, verbose=False)
    module = build()
    monitor = f"ndcg@{settings.monitor_k}"
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
            monitor=monitor, mode="max", patience=settings.patience, check_on_train_epoch_end=at_epoch_end
        )
        callbacks = [validation, EpochSeconds(), checkpoint, stopper]
        fitter = trainer(settings, callbacks, settings.epochs, str(Path(tmp) / "log"), validate=validate)
        # our checkpoints hold RePlay factories, not only tensors
        fitter.fit(module, ckpt_path=settings.resume_from, weights_only=False, **data())
        best = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=False)
        module.load_state_dict(best["state_dict"])
        log = history(str(Path(tmp) / "log"))
    module.cpu().eval()
    return Member(module, int(best["epoch"]) + 1), log
