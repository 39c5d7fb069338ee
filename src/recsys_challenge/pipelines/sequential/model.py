"""A trained sequential model: its vocabulary, settings and member networks (the pickled node output)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import lightning
import numpy as np
import pandas as pd

from .settings import SequentialSettings

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
    settings: SequentialSettings
    members: list[Member]
    history: pd.DataFrame = field(default_factory=pd.DataFrame)  # the first member's, one row per epoch

    @property
    def epochs(self) -> int:
        """The first member's best epoch count (logged as ``best_epoch``)."""
        return self.members[0].epochs

    def marked(self, backward: bool) -> SequentialModel:
        """This model with every member flagged as reading ``backward`` (or not)."""
        return replace(self, members=[replace(m, backward=backward) for m in self.members])

    def parts(self) -> dict[bool, SequentialModel]:
        """The forward (False) and backward (True) members, each as a model of its own."""
        out = {}
        for backward in (False, True):
            members = [m for m in self.members if m.backward == backward]
            if members:
                out[backward] = replace(self, members=members)
        return out

    @staticmethod
    def joined(models: list[SequentialModel]) -> SequentialModel:
        """One model with the members of ``models`` (the first one's history and best epoch reported)."""
        return replace(models[0], members=[m for model in models for m in model.members])
