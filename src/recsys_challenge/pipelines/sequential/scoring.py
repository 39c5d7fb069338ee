"""Scoring shared by the tasks that read a window's targets (holes, cloze): users x items probabilities
to top-k unseen candidates, and the per-epoch validation callback both early-stop on."""

from __future__ import annotations

from collections.abc import Callable

import lightning
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback

from recsys_challenge.core import ITEM, QUERY, ranked
from recsys_challenge.evaluation import ranking_metrics


def no_candidates() -> pd.DataFrame:
    """The candidate table of a window without a readable target."""
    return ranked(pd.DataFrame({QUERY: [], ITEM: [], "score": []}))


def unseen_top(
    users: np.ndarray, scores: torch.Tensor, seen: tuple[np.ndarray, np.ndarray], vocab: np.ndarray, k: int
) -> pd.DataFrame:
    """Candidates from a users x items matrix of probabilities: ``seen`` (rows, item indices) removed,
    the best ``k`` per user with a positive score (a user without a target scores 0 everywhere)."""
    scores = scores.clone()
    scores[seen] = -1.0
    depth = min(k, scores.shape[1])
    values, index = torch.topk(scores, depth, dim=1)
    frame = pd.DataFrame(
        {
            QUERY: np.repeat(users, depth),
            ITEM: vocab[index.numpy().ravel()],
            "score": values.numpy().ravel().astype("float32"),
        }
    )
    return ranked(frame[frame["score"] > 0], k)


def concatenated(tops: list[pd.DataFrame]) -> pd.DataFrame:
    """The candidates of disjoint user blocks as one table."""
    tops = [top for top in tops if len(top)]
    return pd.concat(tops, ignore_index=True) if tops else no_candidates()


class TargetValidation(Callback):
    """After each training epoch: NDCG/Recall/MAP at ``ks`` of ``top(network, k)`` (the network in
    training ranks a validation window's targets) against ``truth``, logged as ``ndcg@k`` ... for early
    stopping and checkpoints, as next-item models' validation loop logs them."""

    def __init__(
        self,
        top: Callable[[lightning.LightningModule, int], pd.DataFrame],
        truth: pd.DataFrame,
        ks: list[int],
    ) -> None:
        self.top, self.truth, self.ks = top, truth, list(ks)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        candidates = self.top(pl_module, max(self.ks))
        for name, value in ranking_metrics(candidates, self.truth, self.ks).items():
            metric, k = name.rsplit("_", 1)
            pl_module.log(f"{metric}@{k}", value, on_step=False, on_epoch=True)
