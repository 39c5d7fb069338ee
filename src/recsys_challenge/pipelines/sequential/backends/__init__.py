"""Sequential backends behind one interface: a backend builds a network, feeds it data and runs it.

Training, early stopping, ensembles, inference and the tasks' scoring (``training``, ``inference``,
``holes``, ``cloze``) see only this Protocol, so a new backend is one module and one entry of
``BACKENDS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import lightning
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback

from .bert4rec import Bert4RecBackend
from .common import Feed
from .sasrec import SasRecBackend

if TYPE_CHECKING:
    from ..settings import SequentialSettings

BACKENDS: dict[str, type] = {"sasrec": SasRecBackend, "bert4rec": Bert4RecBackend}


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

    def network(self, module: lightning.LightningModule) -> torch.nn.Module:
        """The torch network inside a trained ``module`` (what scoring outside a ``Trainer`` runs)."""
        ...

    def states(self, network: torch.nn.Module, items: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        """Hidden states at every position of left-padded item-index rows: batch x length x hidden
        (a causal network's state at a position reads that event and the ones before it)."""
        ...

    def logits(self, network: torch.nn.Module, states: torch.Tensor) -> torch.Tensor:
        """Item scores of hidden states (the last dimension becomes the catalogue's)."""
        ...

    def masked_logits(
        self, network: torch.nn.Module, items: torch.Tensor, pad_mask: torch.Tensor, token_mask: torch.Tensor
    ) -> torch.Tensor:
        """Item scores at every position of rows whose ``token_mask``-false slots are masked
        (bidirectional networks): batch x length x items."""
        ...


def backend_for(settings: SequentialSettings, n_items: int) -> Backend:
    """The backend named by ``settings.model`` over a vocabulary of ``n_items``, with the loss that
    catalogue size takes (``SequentialSettings.for_catalog``)."""
    return BACKENDS[settings.model](settings.for_catalog(n_items), n_items)
