"""SASRec through RePlay's current API: ``replay.nn.sequential.SasRec`` over a ``ParquetModule``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from lightning.pytorch.callbacks import Callback
from replay.nn.loss import CE

from recsys_challenge.core import ITEM, QUERY
from recsys_challenge.pipelines.sequential.sequences import training_windows

from .common import GT_PAD, TOP_COLUMNS, VALIDATION_METRICS, Feed, attention_dropout, item_schema, sampled_ce

if TYPE_CHECKING:
    from ..settings import SequentialSettings


class TargetOnlyCE(CE):
    """RePlay's full-catalogue CE loss, computing logits only where a target is (the same loss: CE
    averages over the labelled positions anyway). RePlay's scores every position of the batch, padding
    too: on MovieLens-100k at length 200 that was most of an epoch, whatever the encoder saved. Used
    with padding-aware batching; ``batching: full`` keeps RePlay's own (plain RePlay)."""

    def forward(self, model_embeddings, feature_tensors, positive_labels, negative_labels, padding_mask,
                target_padding_mask) -> torch.Tensor:  # fmt: skip
        hidden, labels = self.at_targets(model_embeddings, positive_labels, target_padding_mask)
        return self._loss(self.logits_callback(hidden), labels)

    @staticmethod
    def at_targets(model_embeddings, positive_labels, target_padding_mask) -> tuple[torch.Tensor, ...]:
        """The hidden states and labels of the positions that have a target."""
        if positive_labels.size(-1) != 1:
            raise NotImplementedError("The case of multi-positive labels is not supported in the CE loss")
        chosen = target_padding_mask[..., 0]
        return model_embeddings[chosen], positive_labels[..., 0][chosen]


class CorrectedSampledCE(TargetOnlyCE):
    """Sampled CE at the target positions against uniform negatives, with the sampling correction of
    ``sampled_ce``, so the loss estimates the full softmax's, as the cloze BERT4Rec's does. RePlay's
    ``CESampled`` leaves the correction out; adding it did not change SASRec's converged quality
    (benchmarks/results/catalog_size_converged_corrected.md). Negatives come as one pool for the batch
    (1-d) or one pool per ``pool_rows`` rows (RePlay's ``GroupedUniformNegativeSamplingTransform``)."""

    def __init__(self, n_items: int, pool_rows: int | None = None) -> None:
        super().__init__()
        self.n_items, self.pool_rows = n_items, pool_rows

    def forward(self, model_embeddings, feature_tensors, positive_labels, negative_labels, padding_mask,
                target_padding_mask) -> torch.Tensor:  # fmt: skip
        hidden, labels = self.at_targets(model_embeddings, positive_labels, target_padding_mask)
        pool_of = None
        if negative_labels.dim() != 1:
            if self.pool_rows is None:
                raise ValueError("pools of negatives need the rows per pool (negative_pool_rows)")
            pool_of = target_padding_mask[..., 0].nonzero()[:, 0] // self.pool_rows
        return sampled_ce(
            self.logits_callback, hidden, labels, negative_labels, self.n_items, pool_of, self.label_logits
        )

    def label_logits(self, hidden: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Each row's logit of its own label: RePlay's head scores a row against its own candidates."""
        return self.logits_callback(hidden, labels.unsqueeze(1)).squeeze(1)


class SasRecBackend:
    """RePlay's non-deprecated SASRec; its inputs travel as parquet files through ``ParquetModule``."""

    def __init__(self, settings: SequentialSettings, n_items: int) -> None:
        self.settings, self.n_items = settings, n_items
        self.pad = n_items
        self.schema = item_schema(settings, n_items, padding_value=self.pad)
        # a row holds max_seq_len inputs and, shifted by one, their next-item targets
        self.train_window = settings.max_seq_len + 1

    def build(self) -> lightning.LightningModule:
        from replay.nn.lightning import LightningModule
        from replay.nn.lightning.optimizer import OptimizerFactory
        from replay.nn.loss import BCE, BCESampled
        from replay.nn.sequential import SasRec

        settings = self.settings
        model = attention_dropout(
            SasRec.from_params(
                schema=self.schema,
                embedding_dim=settings.hidden_size,
                num_heads=settings.num_heads,
                num_blocks=settings.num_blocks,
                max_sequence_length=settings.max_seq_len,
                dropout=settings.dropout,
            ),
            settings,
        )
        losses = {
            "CE": lambda: (CE if settings.batching == "full" else TargetOnlyCE)(
                ignore_index=self.pad, label_smoothing=settings.label_smoothing
            ),
            "CE_sampled": lambda: CorrectedSampledCE(self.n_items, settings.negative_pool_rows),
            "BCE": BCE,
            "BCE_sampled": BCESampled,
        }
        model.loss = losses[settings.loss]()
        model.loss.logits_callback = model.get_logits
        if settings.batching == "bucketed":
            from replay.nn.sequential import LengthBucketedQueryEncoder

            # a training batch is sorted by length and run as buckets, each cut to its longest row
            model.body.encoder = LengthBucketedQueryEncoder(
                model.body.encoder, settings.bucket_size, sequence_shift=1
            )
        optimizer = OptimizerFactory(learning_rate=settings.learning_rate, weight_decay=settings.weight_decay)
        return LightningModule(model, optimizer_factory=optimizer)

    def _transforms(self) -> dict[str, list[torch.nn.Module]]:
        from replay.nn.transform import (
            GroupedUniformNegativeSamplingTransform,
            RenameTransform,
            UniformNegativeSamplingTransform,
        )
        from replay.nn.transform.template import make_default_sasrec_transforms
        from replay.nn.transform.trim import AdaptiveTrimTransform, TargetAwareAdaptiveTrimTransform

        transforms = make_default_sasrec_transforms(self.schema)
        settings = self.settings
        if settings.loss != "CE":
            sampler = (
                UniformNegativeSamplingTransform(self.n_items, settings.negatives)
                if settings.negative_pool_rows is None or settings.loss != "CE_sampled"
                else GroupedUniformNegativeSamplingTransform(
                    self.n_items, settings.negatives, settings.negative_pool_rows, batch_feature_name=ITEM
                )
            )
            transforms["train"].insert(0, sampler)
        if settings.batching != "full":
            # after the masks get their names; in training the target column must stay (plain
            # AdaptiveTrimTransform would cut the first target off with the input padding)
            for split, steps in transforms.items():
                after = next(i for i, t in enumerate(steps) if isinstance(t, RenameTransform)) + 1
                trim = (
                    TargetAwareAdaptiveTrimTransform([ITEM, "positive_labels"])
                    if split == "train"
                    else AdaptiveTrimTransform(ITEM)
                )
                steps.insert(after, trim)
        return transforms

    def _write(self, frame: pd.DataFrame, path: Path) -> str:
        types = {c: (pa.int64() if c == QUERY else pa.list_(pa.int64())) for c in frame.columns}
        pq.write_table(pa.Table.from_pandas(frame, schema=pa.schema(types), preserve_index=False), path)
        return str(path)

    def _meta(self, length: int, lists: dict[str, int]) -> dict[str, Any]:
        meta = {QUERY: {}, ITEM: {"shape": length, "padding": self.pad}}
        meta.update({name: {"shape": max(int(size), 1), "padding": GT_PAD} for name, size in lists.items()})
        return meta

    def _split(self, name: str, folder: Path, inputs: pd.Series, **lists: pd.Series) -> tuple[str, dict]:
        """One split's parquet file: each user's last max_seq_len inputs plus id lists (truth, seen)."""
        length = self.settings.max_seq_len
        users = inputs.index
        for values in lists.values():
            users = users.intersection(values.index)
        frame = pd.DataFrame(
            {
                QUERY: users,
                ITEM: inputs[users].map(lambda s: s[-length:]).to_numpy(),
                **{column: values[users].to_numpy() for column, values in lists.items()},
            }
        )
        sizes = {column: values[users].map(len).max() for column, values in lists.items()}
        return self._write(frame, folder / f"{name}.parquet"), self._meta(length, sizes)

    def data(self, folder: Path, feed: Feed) -> dict[str, Any]:
        from replay.data.nn import ParquetModule

        paths, metadata = {}, {}
        if feed.train is not None:
            rows = training_windows(feed.train, self.train_window, self.settings.train_stride)
            frame = pd.DataFrame({QUERY: rows.index, ITEM: rows.to_numpy()})
            paths["train_path"] = self._write(frame, folder / "train.parquet")
            metadata["train"] = self._meta(self.train_window, {})
        if feed.valid is not None:
            inputs, truth, seen = feed.valid
            paths["validate_path"], metadata["validate"] = self._split(
                "validate", folder, inputs, ground_truth=truth, seen_ids=seen
            )
        if feed.predict is not None:
            inputs, seen = feed.predict
            paths["predict_path"], metadata["predict"] = self._split("predict", folder, inputs, seen_ids=seen)
        batch = self.settings.batch_size
        partition = batch * self.settings.partition_batches
        generator = torch.Generator().manual_seed(self.settings.seed)
        config = {"train": {"generator": generator, "partition_size": partition}}
        config.update({split: {"partition_size": partition} for split in ("validate", "predict")})
        module = ParquetModule(
            batch_size=batch, metadata=metadata, transforms=self._transforms(), config=config, **paths
        )
        return {"datamodule": module}

    def _seen_filter(self):
        from replay.nn.lightning.postprocessor import SeenItemsFilter

        return SeenItemsFilter(self.n_items, seen_items_column="seen_ids")

    def metrics_callback(self, ks: list[int], seen: pd.Series) -> Callback:
        from replay.nn.lightning.callback import ComputeMetricsCallback

        # seen items travel in the batches' seen_ids column (see ``data``)
        return ComputeMetricsCallback(
            metrics=VALIDATION_METRICS,
            ks=ks,
            postprocessors=[self._seen_filter()],
            item_count=self.n_items,
            verbose=False,
        )

    def top_items_callback(self, k: int, seen: pd.Series) -> Callback:
        from replay.nn.lightning.callback import PandasTopItemsCallback

        return PandasTopItemsCallback(
            top_k=k,
            **TOP_COLUMNS,
            postprocessors=[self._seen_filter()],
        )

    def network(self, module: lightning.LightningModule) -> torch.nn.Module:
        return module.model

    def states(self, network: torch.nn.Module, items: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        return network.body({ITEM: items}, pad_mask)

    def logits(self, network: torch.nn.Module, states: torch.Tensor) -> torch.Tensor:
        return network.get_logits(states)

    def masked_logits(
        self, network: torch.nn.Module, items: torch.Tensor, pad_mask: torch.Tensor, token_mask: torch.Tensor
    ) -> torch.Tensor:
        raise NotImplementedError("SASRec is causal: it reads no masked slots (use states and logits)")
