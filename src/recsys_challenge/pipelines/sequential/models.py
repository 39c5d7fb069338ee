"""SASRec and BERT4Rec behind one interface: ``fit``, ``refit`` and ``recommend``.

SASRec uses RePlay's current API (``replay.nn.sequential.SasRec`` + ``replay.nn.lightning.LightningModule``
fed by ``replay.data.nn.ParquetModule``); BERT4Rec exists only in RePlay's legacy API
(``replay.models.nn.sequential.Bert4Rec`` with torch datasets). A backend per model builds the
Lightning module and the data; training, checkpointing, early stopping and top-K inference are shared.
"""

from __future__ import annotations

import copy
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint

logger = logging.getLogger(__name__)
QUERY, ITEM = "user_id", "item_id"
GT_PAD = -1  # padding of ground-truth / seen-id lists: never a valid item index


# ----------------------------------------------------------------------------- data helpers
def item_vocabulary(items: pd.DataFrame, *folds: pd.DataFrame) -> np.ndarray:
    """Sorted raw item ids known to the model: the catalog plus any id seen in the folds."""
    ids = [items[ITEM].to_numpy()] + [f[ITEM].to_numpy() for f in folds]
    return np.unique(np.concatenate(ids))


def user_sequences(fold: pd.DataFrame, vocab: np.ndarray, max_events: int | None = None) -> pd.Series:
    """Per-user item-index sequences in time order (``order`` column), last ``max_events`` kept."""
    ordered = fold.sort_values([QUERY, "order"], kind="stable")
    index = np.searchsorted(vocab, ordered[ITEM].to_numpy())
    seqs = pd.Series(index, index=ordered[QUERY].to_numpy()).groupby(level=0).agg(list)
    if max_events:
        seqs = seqs.map(lambda s: s[-max_events:])
    return seqs


def filter_long_sequences(
    fold: pd.DataFrame, max_events: int | None, max_seq_len: int | None = None
) -> pd.DataFrame:
    """Keep each user's last ``max_events`` events (the original team's trick for long histories)."""
    if not max_events:
        return fold
    if max_seq_len and max_events >= max_seq_len:
        # training batches already hold only the last max_seq_len events: the filter changes nothing
        logger.warning(
            "max_train_events=%d >= max_seq_len=%d has no effect; the model equals one without it",
            max_events,
            max_seq_len,
        )
    position_from_end = fold.groupby(QUERY)["order"].rank(ascending=False, method="first")
    return fold[position_from_end <= max_events]


def training_windows(seqs: pd.Series, length: int, stride: int | None) -> pd.Series:
    """Training rows of at most ``length`` events: each sequence's last ``length`` and, with a ``stride``,
    also the windows ending ``stride``, ``2 * stride``, ... events earlier, so a long history's past
    is learnt from too (a model reads only its last ``length`` events). Windows get fresh integer ids."""
    if stride is None:
        return seqs.map(lambda s: s[-length:])
    if int(stride) < 1:
        raise ValueError(f"train_stride must be >= 1 or null, got {stride}")
    rows = []
    for seq in seqs:
        # full windows ending above ``length``, then the oldest (or the whole sequence when short)
        ends = [*range(len(seq), length, -int(stride)), min(len(seq), length)]
        rows.extend(seq[max(end - length, 0) : end] for end in ends)
    return pd.Series(rows, index=pd.RangeIndex(len(rows)), dtype=object)


def training_sequences(train: pd.DataFrame, vocab: np.ndarray, cfg: dict[str, Any]) -> pd.Series:
    """The sequences a model trains on: the long-sequence filter of ``cfg``, then per-user sequences."""
    kept = filter_long_sequences(train, cfg.get("max_train_events"), cfg.get("max_seq_len"))
    return user_sequences(kept, vocab)


# ----------------------------------------------------------------------------- shared state
@dataclass
class SequentialModel:
    """A trained model with everything needed to score new histories."""

    kind: str
    module: lightning.LightningModule
    vocab: np.ndarray
    config: dict[str, Any]
    best_epoch: int
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    # further ensemble members (seeds seed+1, seed+2, ...); their probabilities are averaged with module's
    members: list[lightning.LightningModule] = field(default_factory=list)
    member_epochs: list[int] = field(default_factory=list)  # each member's own best epoch


class EpochStats(Callback):
    """Records per-epoch train loss and wall time (the benchmark's seconds/epoch)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self._start = 0.0

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        loss = trainer.callback_metrics.get("train_loss_epoch", trainer.callback_metrics.get("train_loss"))
        self.rows.append(
            {
                "epoch": trainer.current_epoch,
                "train_loss": float(loss) if loss is not None else float("nan"),
                "epoch_seconds": time.perf_counter() - self._start,
            }
        )
        logger.info(
            "epoch %d: loss %.4f, %.1f s",
            trainer.current_epoch,
            self.rows[-1]["train_loss"],
            self.rows[-1]["epoch_seconds"],
        )

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        shown = {k: round(float(v), 4) for k, v in trainer.callback_metrics.items() if k.startswith("ndcg@")}
        if shown:
            logger.info("epoch %d validation: %s", trainer.current_epoch, shown)


def _trainer(
    cfg: dict[str, Any], callbacks: list[Callback], epochs: int, validate: bool
) -> lightning.Trainer:
    return lightning.Trainer(
        max_epochs=epochs,
        accelerator=cfg.get("accelerator", "auto"),
        devices=cfg.get("devices", "auto"),
        precision=cfg.get("precision", "32-true"),
        deterministic=cfg.get("deterministic", True),
        callbacks=callbacks,
        logger=False,
        enable_checkpointing=any(isinstance(c, ModelCheckpoint) for c in callbacks),
        enable_progress_bar=cfg.get("progress_bar", True),
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=1.0 if validate else 0,
        check_val_every_n_epoch=1,
    )


# ----------------------------------------------------------------------------- SASRec (current API)
class SasRecBackend:
    """RePlay's non-deprecated SASRec: ``replay.nn.sequential.SasRec`` over a ``ParquetModule``."""

    metric_callback_name = "ComputeMetricsCallback"

    def __init__(self, cfg: dict[str, Any], n_items: int) -> None:
        from replay.data import FeatureHint, FeatureSource, FeatureType
        from replay.data.nn import TensorFeatureInfo, TensorFeatureSource, TensorSchema

        self.cfg, self.n_items = cfg, n_items
        self.pad = n_items
        self.schema = TensorSchema(
            TensorFeatureInfo(
                ITEM,
                is_seq=True,
                feature_type=FeatureType.CATEGORICAL,
                embedding_dim=cfg["hidden_size"],
                padding_value=self.pad,
                cardinality=n_items,
                feature_hint=FeatureHint.ITEM_ID,
                feature_sources=[TensorFeatureSource(FeatureSource.INTERACTIONS, ITEM)],
            )
        )

    def build(self) -> lightning.LightningModule:
        from replay.nn.lightning import LightningModule
        from replay.nn.lightning.optimizer import OptimizerFactory
        from replay.nn.loss import BCE, CE, BCESampled, CESampled
        from replay.nn.sequential import SasRec

        cfg = self.cfg
        model = SasRec.from_params(
            schema=self.schema,
            embedding_dim=cfg["hidden_size"],
            num_heads=cfg["num_heads"],
            num_blocks=cfg["num_blocks"],
            max_sequence_length=cfg["max_seq_len"],
            dropout=cfg["dropout"],
        )
        smoothing = float(cfg.get("label_smoothing", 0.0))
        losses = {
            "CE": lambda: CE(ignore_index=self.pad, label_smoothing=smoothing),
            "CE_sampled": lambda: CESampled(ignore_index=self.pad),
            "BCE": lambda: BCE(),
            "BCE_sampled": lambda: BCESampled(),
        }
        if cfg["loss"] not in losses:
            raise ValueError(f"SASRec loss must be one of {sorted(losses)}, got {cfg['loss']!r}")
        if cfg["loss"] != "CE" or smoothing:
            model.loss = losses[cfg["loss"]]()
            model.loss.logits_callback = model.get_logits
        optimizer = OptimizerFactory(
            learning_rate=cfg["learning_rate"], weight_decay=cfg.get("weight_decay", 0.0)
        )
        return LightningModule(model, optimizer_factory=optimizer)

    def _transforms(self) -> dict[str, list[torch.nn.Module]]:
        from replay.nn.transform import UniformNegativeSamplingTransform
        from replay.nn.transform.template import make_default_sasrec_transforms

        transforms = make_default_sasrec_transforms(self.schema)
        if self.cfg["loss"] != "CE":
            transforms["train"].insert(
                0, UniformNegativeSamplingTransform(self.n_items, self.cfg.get("negatives", 256))
            )
        return transforms

    def _write(self, frame: pd.DataFrame, path: Path) -> str:
        types = {c: (pa.int64() if c == QUERY else pa.list_(pa.int64())) for c in frame.columns}
        table = pa.Table.from_pandas(frame, schema=pa.schema(types), preserve_index=False)
        pq.write_table(table, path)
        return str(path)

    def _meta(self, length: int, extra: dict[str, int]) -> dict[str, Any]:
        meta = {QUERY: {}, ITEM: {"shape": length, "padding": self.pad}}
        meta.update({name: {"shape": max(int(size), 1), "padding": GT_PAD} for name, size in extra.items()})
        return meta

    def datamodule(
        self,
        tmp: Path,
        train: pd.Series | None = None,
        valid: tuple[pd.Series, pd.Series, pd.Series] | None = None,
        predict: tuple[pd.Series, pd.Series] | None = None,
    ):
        """``train``: sequences; ``valid``: (inputs, ground truth, seen); ``predict``: (inputs, seen)."""
        from replay.data.nn import ParquetModule

        length = self.cfg["max_seq_len"]
        batch = self.cfg["batch_size"]
        paths, metadata = {}, {}
        if train is not None:
            # inputs and their next-item targets: windows of max_seq_len + 1 events
            rows = training_windows(train, length + 1, self.cfg.get("train_stride"))
            frame = pd.DataFrame({QUERY: rows.index, ITEM: rows.to_numpy()})
            paths["train_path"] = self._write(frame, tmp / "train.parquet")
            metadata["train"] = self._meta(length + 1, {})
        if valid is not None:
            inputs, truth, seen = valid
            users = truth.index.intersection(inputs.index)
            frame = pd.DataFrame(
                {
                    QUERY: users,
                    ITEM: inputs[users].map(lambda s: s[-length:]).to_numpy(),
                    "ground_truth": truth[users].to_numpy(),
                    "seen_ids": seen[users].to_numpy(),
                }
            )
            paths["validate_path"] = self._write(frame, tmp / "validate.parquet")
            sizes = {"ground_truth": truth.map(len).max(), "seen_ids": seen[users].map(len).max()}
            metadata["validate"] = self._meta(length, sizes)
        if predict is not None:
            inputs, seen = predict
            frame = pd.DataFrame(
                {
                    QUERY: inputs.index,
                    ITEM: inputs.map(lambda s: s[-length:]).to_numpy(),
                    "seen_ids": seen.to_numpy(),
                }
            )
            paths["predict_path"] = self._write(frame, tmp / "predict.parquet")
            metadata["predict"] = self._meta(length, {"seen_ids": seen.map(len).max()})
        generator = torch.Generator().manual_seed(int(self.cfg["seed"]))
        partition = batch * int(self.cfg.get("partition_batches", 32))
        config = {"train": {"generator": generator, "partition_size": partition}}
        for split in ("validate", "predict"):
            config[split] = {"partition_size": partition}
        return ParquetModule(
            batch_size=batch, metadata=metadata, transforms=self._transforms(), config=config, **paths
        )

    def metrics_callback(self, ks: list[int]) -> Callback:
        from replay.nn.lightning.callback import ComputeMetricsCallback
        from replay.nn.lightning.postprocessor import SeenItemsFilter

        return ComputeMetricsCallback(
            metrics=["ndcg", "recall", "map"],
            ks=ks,
            postprocessors=[SeenItemsFilter(self.n_items, seen_items_column="seen_ids")],
            item_count=self.n_items,
            verbose=False,
        )

    def top_items_callback(self, k: int) -> Callback:
        from replay.nn.lightning.callback import PandasTopItemsCallback
        from replay.nn.lightning.postprocessor import SeenItemsFilter

        return PandasTopItemsCallback(
            top_k=k,
            query_column=QUERY,
            item_column=ITEM,
            rating_column="score",
            postprocessors=[SeenItemsFilter(self.n_items, seen_items_column="seen_ids")],
        )


# ----------------------------------------------------------------------------- BERT4Rec (legacy API)
class Bert4RecBackend:
    """RePlay's BERT4Rec, which lives only in the deprecated ``replay.models.nn.sequential`` API."""

    def __init__(self, cfg: dict[str, Any], n_items: int) -> None:
        from replay.data import FeatureHint, FeatureSource, FeatureType
        from replay.data.nn import TensorFeatureInfo, TensorFeatureSource, TensorSchema

        self.cfg, self.n_items = cfg, n_items
        self.schema = TensorSchema(
            TensorFeatureInfo(
                ITEM,
                is_seq=True,
                feature_type=FeatureType.CATEGORICAL,
                cardinality=n_items,
                embedding_dim=cfg["hidden_size"],
                feature_hint=FeatureHint.ITEM_ID,
                feature_sources=[TensorFeatureSource(FeatureSource.INTERACTIONS, ITEM)],
            )
        )

    def build(self) -> lightning.LightningModule:
        from replay.models.nn.optimizer_utils import FatOptimizerFactory
        from replay.models.nn.sequential import Bert4Rec

        cfg = self.cfg
        loss = {"CE": ("CE", None), "CE_sampled": ("CE", cfg.get("negatives", 256)), "BCE": ("BCE", None)}
        loss_sampled = {"BCE_sampled": ("BCE", cfg.get("negatives", 256))}
        loss_type, samples = {**loss, **loss_sampled}[cfg["loss"]]
        return Bert4Rec(
            tensor_schema=self.schema,
            block_count=cfg["num_blocks"],
            head_count=cfg["num_heads"],
            hidden_size=cfg["hidden_size"],
            max_seq_len=cfg["max_seq_len"],
            dropout_rate=cfg["dropout"],
            enable_embedding_tying=True,
            loss_type=loss_type,
            loss_sample_count=samples,
            optimizer_factory=FatOptimizerFactory(learning_rate=cfg["learning_rate"]),
        )

    def _sequential(self, seqs: pd.Series):
        from replay.data.nn import PandasSequentialDataset

        frame = pd.DataFrame({QUERY: seqs.index.to_numpy(), ITEM: [np.asarray(s) for s in seqs]})
        return PandasSequentialDataset(self.schema, QUERY, ITEM, frame)

    def _loader(self, dataset, shuffle: bool) -> torch.utils.data.DataLoader:
        generator = torch.Generator().manual_seed(int(self.cfg["seed"]))
        return torch.utils.data.DataLoader(
            dataset,
            batch_size=self.cfg["batch_size"],
            shuffle=shuffle,
            generator=generator if shuffle else None,
        )

    def loaders(
        self,
        train: pd.Series | None = None,
        valid: tuple[pd.Series, pd.Series, pd.Series] | None = None,
        predict: tuple[pd.Series, pd.Series] | None = None,
    ) -> dict[str, Any]:
        from replay.models.nn.sequential.bert4rec import (
            Bert4RecPredictionDataset,
            Bert4RecTrainingDataset,
            Bert4RecValidationDataset,
        )

        length = self.cfg["max_seq_len"]
        out: dict[str, Any] = {}
        if train is not None:
            rows = training_windows(train, length, self.cfg.get("train_stride"))
            dataset = Bert4RecTrainingDataset(
                self._sequential(rows), length, mask_prob=self.cfg.get("mask_prob", 0.15)
            )
            out["train_dataloaders"] = self._loader(dataset, shuffle=True)
        if valid is not None:
            inputs, truth, seen = valid
            users = truth.index.intersection(inputs.index)
            self._seen = self._sequential(seen[users])
            dataset = Bert4RecValidationDataset(
                self._sequential(inputs[users]), self._sequential(truth[users]), self._seen, length
            )
            out["val_dataloaders"] = self._loader(dataset, shuffle=False)
        if predict is not None:
            inputs, seen = predict
            self._seen = self._sequential(seen)
            out["dataloaders"] = self._loader(
                Bert4RecPredictionDataset(self._sequential(inputs), length), False
            )
        return out

    def metrics_callback(self, ks: list[int]) -> Callback:
        from replay.models.nn.sequential.callbacks import ValidationMetricsCallback
        from replay.models.nn.sequential.postprocessors import RemoveSeenItems

        return ValidationMetricsCallback(
            metrics=["ndcg", "recall", "map"], ks=ks, postprocessors=[RemoveSeenItems(self._seen)]
        )

    def top_items_callback(self, k: int) -> Callback:
        from replay.models.nn.sequential.callbacks import PandasPredictionCallback
        from replay.models.nn.sequential.postprocessors import RemoveSeenItems

        return PandasPredictionCallback(
            top_k=k,
            query_column=QUERY,
            item_column=ITEM,
            rating_column="score",
            postprocessors=[RemoveSeenItems(self._seen)],
        )


BACKENDS = {"sasrec": SasRecBackend, "bert4rec": Bert4RecBackend}


def _backend(cfg: dict[str, Any], n_items: int):
    kind = cfg["model"]
    if kind not in BACKENDS:
        raise ValueError(f"sequential model must be one of {sorted(BACKENDS)}, got {kind!r}")
    return BACKENDS[kind](cfg, n_items)


def _run(backend, trainer: lightning.Trainer, module, stage: str, ckpt_path: str | None = None, **data):
    """Run a Lightning stage with data from either backend (ParquetModule or plain loaders)."""
    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(backend, SasRecBackend):
            dm = backend.datamodule(Path(tmp), **data)
            if stage == "fit":
                # our own checkpoints hold RePlay factories, not only tensors
                trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path, weights_only=False)
            else:
                trainer.predict(module, datamodule=dm, return_predictions=False)
        else:
            loaders = backend.loaders(**data)
            if stage == "fit":
                trainer.fit(module, ckpt_path=ckpt_path, weights_only=False, **loaders)
            else:
                trainer.predict(module, return_predictions=False, **loaders)


def _history(stats: EpochStats, metrics: dict[int, dict[str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(stats.rows)
    if metrics:
        val = pd.DataFrame.from_dict(metrics, orient="index").rename_axis("epoch").reset_index()
        frame = val if frame.empty else frame.merge(val, on="epoch", how="outer")
    return frame.sort_values("epoch").reset_index(drop=True) if not frame.empty else frame


def _validation_metrics(callback: Callback, rows: list[dict]) -> dict[int, dict]:
    """Per-epoch validation metrics: the current callback keeps them, the legacy one needs our recorder."""
    if hasattr(callback, "get_metrics"):
        return callback.get_metrics("validate")
    return {r["epoch"]: {k: v for k, v in r.items() if k != "epoch"} for r in rows}


class LegacyMetricsRecorder(Callback):
    """The legacy callback logs metrics but keeps no history: record them at each validation end."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        row = {k: float(v) for k, v in trainer.callback_metrics.items() if "@" in k}
        if row:
            self.rows.append({"epoch": trainer.current_epoch, **row})


def fit(
    train: pd.DataFrame,
    valid_truth: pd.DataFrame,
    vocab: np.ndarray,
    cfg: dict[str, Any],
    checkpoint_dir: str | None = None,
) -> SequentialModel:
    """Train with per-epoch validation on ``valid_truth``, early stopping and best-epoch checkpointing;
    every ensemble member is early-stopped on its own (its checkpoints under ``seed_<seed>/``)."""
    seqs = training_sequences(train, vocab, cfg)
    truth = user_sequences(valid_truth, vocab)
    fitted = []
    for i, seed in enumerate(_member_seeds(cfg)):
        folder = str(Path(checkpoint_dir) / f"seed_{seed}") if checkpoint_dir and i else checkpoint_dir
        # only the first member resumes from a given checkpoint
        member_cfg = {**cfg, "seed": seed, "resume_from": cfg.get("resume_from") if i == 0 else None}
        fitted.append(_fit_one(seqs, truth, vocab, member_cfg, folder))
        logger.info("seed %d peaked after %d epochs", seed, fitted[-1][1] + 1)
    (module, best_epoch, history), others = fitted[0], fitted[1:]
    return SequentialModel(
        cfg["model"], module, vocab, dict(cfg), best_epoch, history,
        members=[m for m, _, _ in others], member_epochs=[e for _, e, _ in others],
    )  # fmt: skip


def _fit_one(
    seqs: pd.Series, truth: pd.Series, vocab: np.ndarray, cfg: dict[str, Any], checkpoint_dir: str | None
) -> tuple[lightning.LightningModule, int, pd.DataFrame]:
    """One early-stopped network: its best-epoch weights, that epoch and its per-epoch history."""
    lightning.seed_everything(int(cfg["seed"]), workers=True, verbose=False)
    backend = _backend(cfg, len(vocab))
    module = backend.build()
    monitor = f"ndcg@{cfg['monitor_k']}"
    stats, recorder = EpochStats(), LegacyMetricsRecorder()
    data = {"train": seqs, "valid": (seqs, truth, seqs)}
    with tempfile.TemporaryDirectory() as tmp_ckpt:
        ckpt_dir = checkpoint_dir or tmp_ckpt
        checkpoint = ModelCheckpoint(
            dirpath=ckpt_dir, filename="best", monitor=monitor, mode="max", save_top_k=1, save_last=True
        )
        if isinstance(backend, Bert4RecBackend):
            backend.loaders(valid=data["valid"])  # the seen-items filter needs the dataset first
        metrics_cb = backend.metrics_callback(list(cfg["ks"]))
        stopper = EarlyStopping(monitor=monitor, mode="max", patience=int(cfg["patience"]))
        callbacks = [metrics_cb, recorder, stats, checkpoint, stopper]
        trainer = _trainer(cfg, callbacks, int(cfg["epochs"]), validate=True)
        _run(backend, trainer, module, "fit", ckpt_path=cfg.get("resume_from"), **data)
        best = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=False)
        module.load_state_dict(best["state_dict"])
    history = _history(stats, _validation_metrics(metrics_cb, recorder.rows))
    best_epoch = int(best["epoch"]) if "epoch" in best else int(cfg["epochs"]) - 1
    module.cpu().eval()
    return module, best_epoch, history


def _member_seeds(cfg: dict[str, Any]) -> list[int]:
    """One seed per ensemble member: ``seed``, ``seed + 1``, ... (``ensemble`` members, default 1)."""
    size = int(1 if cfg.get("ensemble") is None else cfg["ensemble"])
    if size < 1:
        raise ValueError(f"{cfg.get('name', 'sequential')}.ensemble must be >= 1, got {size}")
    return [int(cfg["seed"]) + i for i in range(size)]


def _train(
    seqs: pd.Series, vocab: np.ndarray, cfg: dict[str, Any], seed: int, epochs: int
) -> tuple[lightning.LightningModule, EpochStats]:
    """Train one model from scratch on ``training_sequences`` for a fixed number of epochs, no validation."""
    lightning.seed_everything(seed, workers=True, verbose=False)
    backend = _backend({**cfg, "seed": seed}, len(vocab))
    module = backend.build()
    stats = EpochStats()
    trainer = _trainer(cfg, [stats], epochs, validate=False)
    _run(backend, trainer, module, "fit", train=seqs)
    module.cpu().eval()
    return module, stats


def refit(model: SequentialModel, train: pd.DataFrame, cfg: dict[str, Any]) -> SequentialModel:
    """Retrain from scratch on a longer history, no validation: every ensemble member with its own seed,
    for the epochs its own fit found best (a member without a recorded epoch uses the first's)."""
    seqs = training_sequences(train, model.vocab, cfg)
    seeds = _member_seeds(cfg)
    epochs = [model.best_epoch, *model.member_epochs, *[model.best_epoch] * len(seeds)][: len(seeds)]
    trained = [
        _train(seqs, model.vocab, cfg, seed, best + 1) for seed, best in zip(seeds, epochs, strict=True)
    ]
    (module, stats), members = trained[0], [m for m, _ in trained[1:]]
    return SequentialModel(
        model.kind, module, model.vocab, dict(cfg), model.best_epoch, _history(stats, {}), members, epochs[1:]
    )


def recommend(model: SequentialModel, history: pd.DataFrame, k: int, cfg: dict[str, Any]) -> pd.DataFrame:
    """Top-``k`` unseen items for every user of ``history``: user_id, item_id, score, rank (1 = best).

    A single model scores with its logits; an ensemble with the mean of its members' probabilities.
    """
    modules = [model.module, *model.members]
    k = min(k, len(model.vocab) - 1)
    seqs = user_sequences(history, model.vocab)
    if len(modules) == 1:
        return ranked(_top_items(model, model.module, seqs, k, cfg))
    depth = min(max(2 * k, 100), len(model.vocab) - 1)
    return ranked(mean_probabilities([_top_items(model, m, seqs, depth, cfg) for m in modules]), k)


def mean_probabilities(tops: list[pd.DataFrame]) -> pd.DataFrame:
    """Average of several models' top lists: each becomes a per-user softmax of its scores (a CE model's
    logits are log-probabilities up to a per-user constant), items outside a list count 0."""
    probs = []
    for top in tops:
        weight = np.exp(top["score"].astype("float64") - top.groupby(QUERY)["score"].transform("max"))
        probs.append(top[[QUERY, ITEM]].assign(score=weight / weight.groupby(top[QUERY]).transform("sum")))
    mean = pd.concat(probs).groupby([QUERY, ITEM], as_index=False)["score"].sum()
    mean["score"] = (mean["score"] / len(tops)).astype("float32")
    return mean


def _top_items(
    model: SequentialModel, module: lightning.LightningModule, seqs: pd.Series, k: int, cfg: dict
) -> pd.DataFrame:
    """One network's top-``k`` unseen items per user of ``seqs`` (raw item ids, float32 scores)."""
    placement = {key: cfg[key] for key in ("accelerator", "devices") if key in cfg}
    backend = _backend({**model.config, **placement}, len(model.vocab))
    module = copy.deepcopy(module)
    if isinstance(backend, Bert4RecBackend):
        backend.loaders(predict=(seqs, seqs))
    callback = backend.top_items_callback(k)
    trainer = _trainer({**model.config, **placement, "progress_bar": False}, [callback], 1, validate=False)
    _run(backend, trainer, module, "predict", predict=(seqs, seqs))
    top = callback.get_result()
    top = top[np.isfinite(top["score"].astype(float))]
    top[ITEM] = model.vocab[top[ITEM].astype(int).to_numpy()]
    top["score"] = top["score"].astype("float32")
    return top


def ranked(top: pd.DataFrame, k: int | None = None) -> pd.DataFrame:
    """Sort by score within user, keep the best ``k`` and number them 1..k."""
    top = top.sort_values([QUERY, "score"], ascending=[True, False], kind="stable")
    top["rank"] = top.groupby(QUERY).cumcount().astype("int32") + 1
    if k is not None:
        top = top[top["rank"] <= k]
    return top[[QUERY, ITEM, "score", "rank"]].reset_index(drop=True).astype({QUERY: "int64", ITEM: "int64"})
