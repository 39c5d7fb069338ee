"""What a sequential model learns and answers: one small interface, three tasks, chosen once.

- ``next_item``: rank what follows each sequence (leave-one-out, tail holdouts; SASRec or BERT4Rec).
- ``holes``: a next-item SASRec reading each hidden position from its left context (and its right
  one, with ``direction: both``), where the splitting protocol hid events inside sequences.
- ``cloze``: BERT4Rec filling every hole of a sequence from both sides (``task: cloze``).

Each task is a module whose ``fit``, ``refit`` and ``recommend`` implement ``Task``. Nodes call
``task_for(settings, protocol)`` and the interface; they never branch on the task. A new task is a
module with these three functions and one line in ``task_for``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from recsys_challenge.core import GAPS

from ..model import SequentialModel
from ..settings import SequentialSettings


class Task(Protocol):
    """Fit, refit and score one kind of sequential model."""

    def fit(
        self, train: pd.DataFrame, valid_truth: pd.DataFrame, vocab: np.ndarray, settings: SequentialSettings
    ) -> SequentialModel:
        """Train on ``train``, early-stopped on how the model answers ``valid_truth``."""
        ...

    def refit(
        self, model: SequentialModel, train: pd.DataFrame, settings: SequentialSettings
    ) -> SequentialModel:
        """Retrain ``model`` on a longer history (from scratch or warm, as ``settings.refit`` says)."""
        ...

    def recommend(
        self,
        model: SequentialModel,
        history: pd.DataFrame,
        targets: pd.DataFrame,
        settings: SequentialSettings,
    ) -> pd.DataFrame:
        """Top ``candidates_k`` unseen candidates per user for a window's ``targets``."""
        ...


def task_for(settings: SequentialSettings, protocol: str) -> Task:
    """The task of a model under the splitting ``protocol`` (``core.NEXT_ITEM`` or ``core.GAPS``)."""
    from . import cloze, holes, next_item

    if settings.task == "cloze":
        return cloze
    if protocol == GAPS and settings.model == "sasrec" and settings.hole_scoring == "left_context":
        return holes
    return next_item
