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
    label_logits: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Cross-entropy of each row's ``labels`` item against uniform ``negatives``, corrected for uniform
    sampling as RePlay's legacy BERT4Rec corrects it (``replay.nn``'s ``CESampled`` does not): a
    negative's logit gains log((V - 1) / kept negatives), one equal to the row's label drops out, so the
    loss estimates the full softmax's. ``logits(hidden, ids)`` scores ``hidden`` rows against item
    ``ids``; ``label_logits(hidden, labels)``, where given, scores each row against its own label alone
    (without it, the rows are scored against every distinct label, a rows x labels product).

    ``negatives`` is one pool shared by every row (1-d), or pools (2-d, one per row) with ``pool_of``
    naming each row's pool: the mean is over rows either way."""
    positive = (label_logits or _label_logits_through(logits))(hidden, labels).float()
    if negatives.dim() == 1:
        return _row_losses(logits, positive, hidden, labels, negatives, vocab_size).mean()
    if pool_of is None:
        raise ValueError("pools of negatives need pool_of, the pool of each row")
    chosen = [(pool_of == pool).nonzero().squeeze(1) for pool in range(len(negatives))]
    if sum(len(at) for at in chosen) != len(labels):
        raise ValueError(f"pool_of names pools 0..{len(negatives) - 1} only; got {pool_of.unique()}")
    losses = [
        _row_losses(logits, positive[at], hidden[at], labels[at], pool, vocab_size)
        for at, pool in zip(chosen, negatives, strict=True)
        if len(at)
    ]
    return torch.cat(losses).mean()


def _label_logits_through(
    logits: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Each row's logit of its label, read off ``logits`` over the distinct labels."""

    def label_logits(hidden: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        ids = labels.unique()
        return logits(hidden, ids).gather(1, torch.searchsorted(ids, labels).unsqueeze(1)).squeeze(1)

    return label_logits


def _row_losses(
    logits: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    positive: torch.Tensor,
    hidden: torch.Tensor,
    labels: torch.Tensor,
    negatives: torch.Tensor,
    vocab_size: int,
) -> torch.Tensor:
    """Each row's sampled CE against one pool, given its label's logit ``positive`` (``sampled_ce``).
    The correction is the same for every negative of a row, so it is added after the log-sum-exp, not
    to each logit; a rejected negative gets a large finite negative logit, as -inf would give NaN
    gradients to a row that rejects all."""
    rejected = labels.unsqueeze(1) == negatives.unsqueeze(0)
    kept = (len(negatives) - rejected.sum(dim=1)).clamp(min=1).float()
    scores = logits(hidden, negatives).float().masked_fill(rejected, -1e9)
    negative = torch.logsumexp(scores, dim=1) + (math.log(vocab_size - 1) - torch.log(kept))
    return torch.logaddexp(positive, negative) - positive
