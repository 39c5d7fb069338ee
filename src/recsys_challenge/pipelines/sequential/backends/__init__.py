"""Sequential backends behind one interface: a backend builds a network and feeds it data.

Training, early stopping, ensembles and inference (``training.py``, ``inference.py``) see only this
Protocol, so a new backend is one module and one entry of ``BACKENDS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import lightning
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback

# (inputs, ground truth, seen items) per user for validation; (inputs, seen items) for prediction
Valid = tuple[pd.Series, pd.Series, pd.Series]
Predict = tuple[pd.Series, pd.Series]
GT_PAD = -1  # padding of ground-truth / seen-id lists: never a valid item index
VALIDATION_METRICS = ["ndcg", "recall", "map"]
# the columns of a top-items callback's result (item_id holds item indices until inference maps them)
TOP_COLUMNS = {"query_column": "user_id", "item_column": "item_id", "rating_column": "score"}


@dataclass(frozen=True)
class Feed:
    """What one Lightning call reads: training rows (fit), validation triples (fit) or prediction pairs."""

    train: pd.Series | None = None
    valid: Valid | None = None
    predict: Predict | None = None


class Backend(Protocol):
    """What the shared training and inference code needs from one kind of sequential network."""

    train_window: int  # events one training row holds (the long-sequence filter compares to it)

    def build(self) -> lightning.LightningModule:
        """A fresh network with its loss and optimizer."""
        ...

    def data(self, folder: Path, feed: Feed) -> dict[str, Any]:
        """Keyword arguments of ``Trainer.fit`` (``feed.train``, ``feed.valid``) or ``Trainer.predict``
        (``feed.predict``) over item-index sequences; ``folder`` may hold the files written for the call."""
        ...

    def metrics_callback(self, ks: list[int], seen: pd.Series) -> Callback:
        """Validation NDCG/Recall/MAP at ``ks``, ``seen`` items removed, logged to the trainer's logger."""
        ...

    def top_items_callback(self, k: int, seen: pd.Series) -> Callback:
        """Collects the top-``k`` unseen item indices per user with ``get_result()``
        (columns user_id, item_id, score)."""
        ...


def backend_for(cfg: dict[str, Any], n_items: int) -> Backend:
    """The backend named by ``cfg['model']`` over a vocabulary of ``n_items``."""
    from .bert4rec import Bert4RecBackend
    from .sasrec import SasRecBackend

    backends: dict[str, type] = {"sasrec": SasRecBackend, "bert4rec": Bert4RecBackend}
    kind = cfg["model"]
    if kind not in backends:
        raise ValueError(
            f"{cfg.get('name', 'sequential')}.model must be one of {sorted(backends)}, got {kind!r}"
        )
    return backends[kind](cfg, n_items)


def item_schema(cfg: dict[str, Any], n_items: int, **extra: Any):
    """RePlay's tensor schema of one categorical item-id sequence (both backends feed only item ids)."""
    from replay.data import FeatureHint, FeatureSource, FeatureType
    from replay.data.nn import TensorFeatureInfo, TensorFeatureSource, TensorSchema

    from recsys_challenge.core import ITEM

    return TensorSchema(
        TensorFeatureInfo(
            ITEM,
            is_seq=True,
            feature_type=FeatureType.CATEGORICAL,
            embedding_dim=cfg["hidden_size"],
            cardinality=n_items,
            feature_hint=FeatureHint.ITEM_ID,
            feature_sources=[TensorFeatureSource(FeatureSource.INTERACTIONS, ITEM)],
            **extra,
        )
    )


def attention_dropout(network: torch.nn.Module, cfg: dict[str, Any]) -> torch.nn.Module:
    """``network`` with ``cfg['attention_dropout']`` (default: ``cfg['dropout']``) on the attention
    weights of every ``torch.nn.MultiheadAttention`` it holds (both backends build on it).

    The other dropouts stay. On a CPU, attention with a dropout runs torch's unfused path, with
    a random mask over every batch x head x position x position; without one, torch's fused kernel.
    """
    rate = cfg.get("attention_dropout")
    rate = float(cfg["dropout"] if rate is None else rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"{cfg.get('name', cfg['model'])}.attention_dropout must be in [0, 1), got {rate}")
    for module in network.modules():
        if isinstance(module, torch.nn.MultiheadAttention):
            module.dropout = rate  # read by its forward on every call
    return network


def loss_choice(cfg: dict[str, Any], choices: dict[str, Any]) -> Any:
    """``choices[cfg['loss']]``, or a clear error naming the block and the valid losses."""
    if cfg["loss"] not in choices:
        raise ValueError(
            f"{cfg.get('name', cfg['model'])}.loss must be one of {sorted(choices)}, got {cfg['loss']!r}"
        )
    return choices[cfg["loss"]]
