"""BERT4Rec, in RePlay only in its deprecated ``replay.models.nn.sequential`` API (torch datasets)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback
from replay.models.nn.sequential import Bert4Rec
from replay.models.nn.sequential.bert4rec.model import BertEmbedding

from recsys_challenge.core import ITEM, QUERY
from recsys_challenge.pipelines.sequential.sequences import training_windows

from .common import TOP_COLUMNS, VALIDATION_METRICS, Feed, attention_dropout, item_schema, sampled_ce

if TYPE_CHECKING:
    from ..settings import SequentialSettings

# RePlay's BERT4Rec argument <- the parameter block's key (the same keys SASRec reads)
ARCHITECTURE = {
    "block_count": "num_blocks",
    "head_count": "num_heads",
    "hidden_size": "hidden_size",
    "max_seq_len": "max_seq_len",
    "dropout_rate": "dropout",
}


class RightAlignedPositions(torch.nn.Module):
    """RePlay's learnt positional embedding read from the right end, as its SASRec does: a left-padded
    batch cut to its longest row gets the embeddings its slots had at full width, so trimming the padding
    changes nothing (RePlay's own returns all ``max_seq_len`` rows, which needs full-width batches)."""

    def __init__(self, pe: torch.nn.Embedding) -> None:
        super().__init__()
        self.pe = pe

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pe.weight[-x.size(1) :].unsqueeze(0).expand(x.size(0), -1, -1)


class AnyWidthEmbedding(torch.nn.Module):
    """RePlay's BERT4Rec input embedding for batches narrower than ``max_seq_len``: RePlay's forward
    asserts the full width, which right-aligned positions make unnecessary. It wraps RePlay's embedder
    (same parameters; the item head keeps its own reference to it) and computes what its forward does,
    for any width."""

    def __init__(self, embedder: BertEmbedding) -> None:
        super().__init__()
        self.embedder = embedder

    def forward(self, inputs: dict[str, torch.Tensor], token_mask: torch.Tensor) -> torch.Tensor:
        inner = self.embedder
        embedding = None
        for name in inner.schema.categorical_features:
            item = inner.cat_embeddings[name](inputs[name])
            embedding = item if embedding is None else embedding + item
        for name in inner.schema.numerical_features:
            embedding += inputs[name]
        expanded_mask = token_mask.unsqueeze(-1).expand(-1, -1, embedding.size(2))
        masked = inner.mask_embedding.weight.expand(embedding.size(0), embedding.size(1), -1)
        x = embedding.where(expanded_mask, masked)
        if inner.enable_positional_embedding:
            x += inner.position(x)
        return inner.dropout(x)


class MaskedHeadBert4Rec(Bert4Rec):
    """RePlay's BERT4Rec whose full-CE loss runs the item head on the masked slots only (the same loss,
    without scoring every item at every slot of the batch: most of an epoch's time otherwise) and whose
    positions are right-aligned, so batches may be cut to their longest row."""

    def __init__(self, *args, negative_pool_rows: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.negative_pool_rows = negative_pool_rows  # rows per pool of CE_sampled's negatives
        embedder = self._model.item_embedder
        if embedder.enable_positional_embedding:
            embedder.position = RightAlignedPositions(embedder.position.pe)
        self._model.item_embedder = AnyWidthEmbedding(embedder)

    def _compute_loss_ce(self, feature_tensors, positive_labels, padding_mask, tokens_mask) -> torch.Tensor:
        masked = padding_mask & ~tokens_mask
        hidden = self._model.forward_step(feature_tensors, padding_mask, tokens_mask)
        return self._loss(self._model.get_logits(hidden[masked]), positive_labels[masked])

    def _compute_loss_ce_sampled(
        self, feature_tensors, positive_labels, padding_mask, tokens_mask
    ) -> torch.Tensor:
        """Sampled softmax over each labelled masked slot's item and ``loss_sample_count`` uniform
        negatives shared by the batch (``sampled_ce``). Unlike RePlay's own, masked slots without a label
        (a cloze row's holes, CE's ignore index) are left out, not looked up with the ignore label."""
        masked = padding_mask & ~tokens_mask & (positive_labels >= 0)
        hidden = self._model.forward_step(feature_tensors, padding_mask, tokens_mask)[masked]
        count = min(self._loss_sample_count, self._vocab_size)
        pool_of, pools = None, (count,)
        if self.negative_pool_rows is not None:
            pool_of = masked.nonzero()[:, 0] // self.negative_pool_rows
            pools = (-(-len(masked) // self.negative_pool_rows), count)
        negatives = torch.randint(self._vocab_size, pools, device=hidden.device)
        labels = positive_labels[masked]
        return sampled_ce(
            self._model.get_logits, hidden, labels, negatives, self._vocab_size, pool_of, self._label_logits
        )

    def _label_logits(self, hidden: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Each row's logit of its own label, as RePlay's head computes it (weights and bias)."""
        head = self._model._head
        return (hidden * head.get_item_embeddings()[labels]).sum(-1) + head.get_bias()[labels]


class Bert4RecBackend:
    """RePlay's legacy BERT4Rec: masked-item training, scored at the last position."""

    def __init__(self, settings: SequentialSettings, n_items: int) -> None:
        self.settings, self.n_items = settings, n_items
        self.schema = item_schema(settings, n_items)
        self.train_window = settings.max_seq_len

    def build(self) -> lightning.LightningModule:
        from replay.models.nn.optimizer_utils import FatOptimizerFactory

        settings = self.settings
        negatives = settings.negatives
        loss_type, samples = {
            "CE": ("CE", None), "CE_sampled": ("CE", negatives), "BCE": ("BCE", None),
            "BCE_sampled": ("BCE", negatives),
        }[settings.loss]  # fmt: skip
        optimizer = FatOptimizerFactory(
            learning_rate=settings.learning_rate, weight_decay=settings.weight_decay
        )
        architecture = {arg: getattr(settings, key) for arg, key in ARCHITECTURE.items()}
        network = MaskedHeadBert4Rec(
            tensor_schema=self.schema,
            **architecture,
            enable_embedding_tying=True,
            loss_type=loss_type,
            loss_sample_count=samples,
            negative_pool_rows=settings.negative_pool_rows,
            optimizer_factory=optimizer,
        )
        return attention_dropout(network, settings)

    def _sequential(self, seqs: pd.Series):
        from replay.data.nn import PandasSequentialDataset

        frame = pd.DataFrame({QUERY: seqs.index.to_numpy(), ITEM: [np.asarray(s) for s in seqs]})
        return PandasSequentialDataset(self.schema, QUERY, ITEM, frame)

    def _loader(self, dataset, shuffle: bool) -> torch.utils.data.DataLoader:
        generator = torch.Generator().manual_seed(self.settings.seed) if shuffle else None
        return torch.utils.data.DataLoader(
            dataset, batch_size=self.settings.batch_size, shuffle=shuffle, generator=generator
        )

    def data(self, folder: Path, feed: Feed) -> dict[str, Any]:
        from replay.models.nn.sequential.bert4rec import (
            Bert4RecPredictionDataset,
            Bert4RecTrainingDataset,
            Bert4RecValidationDataset,
        )

        length = self.settings.max_seq_len
        out: dict[str, Any] = {}
        if feed.train is not None:
            rows = training_windows(feed.train, self.train_window, self.settings.train_stride)
            dataset = Bert4RecTrainingDataset(
                self._sequential(rows), length, mask_prob=self.settings.mask_prob
            )
            out["train_dataloaders"] = self._loader(dataset, shuffle=True)
        if feed.valid is not None:
            inputs, truth, seen = feed.valid
            users = inputs.index.intersection(truth.index).intersection(seen.index)
            dataset = Bert4RecValidationDataset(
                self._sequential(inputs[users]),
                self._sequential(truth[users]),
                self._sequential(seen[users]),
                length,
            )
            out["val_dataloaders"] = self._loader(dataset, shuffle=False)
        if feed.predict is not None:
            inputs, _ = feed.predict
            dataset = Bert4RecPredictionDataset(self._sequential(inputs), length)
            out["dataloaders"] = self._loader(dataset, shuffle=False)
        return out

    def _remove_seen(self, seen: pd.Series):
        from replay.models.nn.sequential.postprocessors import RemoveSeenItems

        return RemoveSeenItems(self._sequential(seen))

    def metrics_callback(self, ks: list[int], seen: pd.Series) -> Callback:
        from replay.models.nn.sequential.callbacks import ValidationMetricsCallback

        return ValidationMetricsCallback(
            metrics=VALIDATION_METRICS, ks=ks, postprocessors=[self._remove_seen(seen)]
        )

    def top_items_callback(self, k: int, seen: pd.Series) -> Callback:
        from replay.models.nn.sequential.callbacks import PandasPredictionCallback

        return PandasPredictionCallback(
            top_k=k,
            **TOP_COLUMNS,
            postprocessors=[self._remove_seen(seen)],
        )

    def network(self, module: lightning.LightningModule) -> torch.nn.Module:
        return module._model  # RePlay's legacy BERT4Rec keeps its network here

    def states(self, network: torch.nn.Module, items: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        return network.forward_step({ITEM: items}, pad_mask, pad_mask)

    def logits(self, network: torch.nn.Module, states: torch.Tensor) -> torch.Tensor:
        return network.get_logits(states)

    def masked_logits(
        self, network: torch.nn.Module, items: torch.Tensor, pad_mask: torch.Tensor, token_mask: torch.Tensor
    ) -> torch.Tensor:
        return network({ITEM: items}, pad_mask, token_mask)
