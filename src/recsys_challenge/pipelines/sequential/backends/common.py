"""What both backends share: the feed of one Lightning call, the item schema, attention dropout, the
sampled loss."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import torch

if TYPE_CHECKING:
    from ..settings import SequentialSettings

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


def item_schema(settings: SequentialSettings, n_items: int, **extra: Any):
    """RePlay's tensor schema of one categorical item-id sequence (both backends feed only item ids)."""
    from replay.data import FeatureHint, FeatureSource, FeatureType
    from replay.data.nn import TensorFeatureInfo, TensorFeatureSource, TensorSchema

    from recsys_challenge.core import ITEM

    return TensorSchema(
        TensorFeatureInfo(
            ITEM,
            is_seq=True,
            feature_type=FeatureType.CATEGORICAL,
            embedding_dim=settings.hidden_size,
            cardinality=n_items,
            feature_hint=FeatureHint.ITEM_ID,
            feature_sources=[TensorFeatureSource(FeatureSource.INTERACTIONS, ITEM)],
            **extra,
        )
    )


def attention_dropout(network: torch.nn.Module, settings: SequentialSettings) -> torch.nn.Module:
    """``network`` with ``settings.attention_rate`` on the attention weights of every
    ``torch.nn.MultiheadAttention`` it holds (both backends build on it).

    The other dropouts stay. On a CPU, attention with a dropout runs torch's unfused path, with
    a random mask over every batch x head x position x position; without one, torch's fused kernel.
    """
    for module in network.modules():
        if isinstance(module, torch.nn.MultiheadAttention):
            module.dropout = settings.attention_rate  # read by its forward on every call
    return network


def sampled_ce(
    logits: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    hidden: torch.Tensor,
    labels: torch.Tensor,
    negatives: torch.Tensor,
    vocab_size: int,
    pool_of: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy of each row's ``labels`` item against uniform ``negatives``, corrected for uniform
    sampling as RePlay's legacy BERT4Rec corrects it (``replay.nn``'s ``CESampled`` does not): a
    negative's logit gains log((V - 1) / kept negatives), one equal to the row's label drops out, so the
    loss estimates the full softmax's. ``logits(hidden, ids)`` scores ``hidden`` rows against item
    ``ids``.

    ``negatives`` is one pool shared by every row (1-d), or pools (2-d, one per row) with ``pool_of``
    naming each row's pool: the mean is over rows either way."""
    if negatives.dim() == 1:
        scores = _corrected_scores(logits, hidden, labels, negatives, vocab_size)
    else:
        if pool_of is None:
            raise ValueError("pools of negatives need pool_of, the pool of each row")
        chosen = [(pool_of == pool).nonzero().squeeze(1) for pool in range(len(negatives))]
        rows = torch.cat(chosen)
        scores = torch.cat(
            [
                _corrected_scores(logits, hidden[at], labels[at], pool, vocab_size)
                for at, pool in zip(chosen, negatives, strict=True)
                if len(at)
            ]
        )
        if len(rows) != len(labels):
            raise ValueError(f"pool_of names pools 0..{len(negatives) - 1} only; got {pool_of.unique()}")
    return torch.nn.functional.cross_entropy(
        scores, torch.zeros(len(scores), dtype=torch.long, device=hidden.device)
    )


def _corrected_scores(
    logits: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    hidden: torch.Tensor,
    labels: torch.Tensor,
    negatives: torch.Tensor,
    vocab_size: int,
) -> torch.Tensor:
    """Each row's label logit, then its corrected logits of ``negatives`` (``sampled_ce``)."""
    ids = labels.unique()
    positive = logits(hidden, ids).gather(1, torch.searchsorted(ids, labels).unsqueeze(1))
    rejected = labels.unsqueeze(1) == negatives.unsqueeze(0)
    kept = (len(negatives) - rejected.sum(dim=1, keepdim=True)).clamp(min=1).float()
    negative = logits(hidden, negatives) + math.log(vocab_size - 1) - torch.log(kept) - 1e6 * rejected
    return torch.cat([positive, negative], dim=1).float()
