"""Where a network trains and scores: ``accelerator`` and ``devices`` of its settings, read as Lightning
reads them, so that scoring outside a ``Trainer`` (holes, cloze) runs on the device training used."""

from __future__ import annotations

import contextlib
import copy
import functools
from collections.abc import Iterator
from typing import Any

import lightning
import torch

from .settings import SequentialSettings


def placed(model_settings: SequentialSettings, settings: SequentialSettings) -> SequentialSettings:
    """A fitted model's settings with the placement of ``settings`` (the run's): a model trained on a GPU
    box scores where this run says."""
    return model_settings.but(accelerator=settings.accelerator, devices=settings.devices)


def device(settings: SequentialSettings) -> torch.device:
    """The device a ``Trainer`` of ``settings`` would put a network on (its first one for several)."""
    return _root_device(settings.accelerator, _hashable(settings.devices))


def on(network: torch.nn.Module, target: torch.device) -> torch.nn.Module:
    """``network`` itself when it is on ``target`` already (a network scored while it trains), otherwise
    a copy there (a fitted model keeps its CPU weights for the pickle)."""
    current = next(network.parameters()).device
    if current.type == target.type and (target.index is None or current.index == target.index):
        return network
    return copy.deepcopy(network).to(target)


@contextlib.contextmanager
def scoring(network: torch.nn.Module, target: torch.device) -> Iterator[torch.nn.Module]:
    """``on(network, target)`` in evaluation mode, the mode it had restored afterwards (a network scored
    by a validation callback goes on training)."""
    placed_network = on(network, target)
    was_training = placed_network.training
    placed_network.eval()
    try:
        with torch.no_grad():
            yield placed_network
    finally:
        placed_network.train(was_training)


def _hashable(devices: Any) -> Any:
    return tuple(devices) if isinstance(devices, list) else devices


@functools.lru_cache(maxsize=8)
def _root_device(accelerator: str, devices: Any) -> torch.device:
    devices = list(devices) if isinstance(devices, tuple) else devices
    trainer = lightning.Trainer(
        accelerator=accelerator,
        devices=devices,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    return trainer.strategy.root_device
