"""Where a network trains and scores: ``accelerator`` and ``devices`` of its settings, read as Lightning
reads them, so that scoring outside a ``Trainer`` (holes, cloze) runs on the device training used."""

from __future__ import annotations

import copy
import functools
from typing import Any

import lightning
import torch

PLACEMENT = ("accelerator", "devices")


def placed(model_config: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """A fitted model's settings with the placement of ``cfg`` (the run's): a model trained on a GPU box
    scores where this run says."""
    return {**model_config, **{key: cfg[key] for key in PLACEMENT if key in cfg}}


def device(cfg: dict[str, Any]) -> torch.device:
    """The device a ``Trainer`` of ``cfg`` would put a network on (its first one for several)."""
    return _root_device(str(cfg.get("accelerator", "auto")), _hashable(cfg.get("devices", "auto")))


def on(network: torch.nn.Module, target: torch.device) -> torch.nn.Module:
    """``network`` itself when it is on ``target`` already (a network scored while it trains), otherwise
    a copy there (a fitted model keeps its CPU weights for the pickle)."""
    current = next(network.parameters()).device
    if current.type == target.type and (target.index is None or current.index == target.index):
        return network
    return copy.deepcopy(network).to(target)


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
