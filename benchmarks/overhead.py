"""Per-epoch overhead of the pipeline's SASRec against plain RePlay, side by side in one process.

The reference is RePlay's SASRec in a hand-written Lightning loop (every row padded to ``max_seq_len``,
as RePlay's default transforms do); the pipeline is the ``sasrec.fit`` node run through a KedroSession.
Both train on the scratch project's generator fold, validated on the reranker window, with the
``sasrec`` parameters of the run's environment, for a fixed number of epochs (no early stop).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from project import load, parameters, run_nodes

Params = dict[str, Any]


def epoch_timer():
    """A Lightning callback logging each training epoch's wall seconds as ``epoch_seconds``."""
    from lightning.pytorch.callbacks import Callback

    class EpochTimer(Callback):
        def on_train_epoch_start(self, trainer, pl_module) -> None:
            self._start = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            seconds = time.perf_counter() - self._start
            pl_module.log("epoch_seconds", seconds, on_step=False, on_epoch=True)

    return EpochTimer()


def sequences(frame: pd.DataFrame, vocab: np.ndarray) -> pd.Series:
    """Per-user item-index sequences in time order, indexed by user id."""
    frame = frame.sort_values(["user_id", "order"])
    index = pd.Series(vocab.searchsorted(frame["item_id"].to_numpy()), index=frame["user_id"].to_numpy())
    return index.groupby(level=0).agg(list)


def write_parquets(train: pd.Series, truth: pd.Series, length: int, n: int, folder: str) -> dict[str, Any]:
    """The training and validation parquet files of RePlay's ParquetModule (item ``n`` pads); returns
    their metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    users, lists = truth.index.intersection(train.index), pa.list_(pa.int64())
    train_rows = {
        "user_id": pa.array(train.index, pa.int64()),
        "item_id": pa.array([s[-(length + 1) :] for s in train], lists),
    }
    valid_rows = {
        "user_id": pa.array(users, pa.int64()),
        "item_id": pa.array([s[-length:] for s in train[users]], lists),
        "ground_truth": pa.array(list(truth[users]), lists),
        "seen_ids": pa.array(list(train[users]), lists),
    }
    pq.write_table(pa.table(train_rows), f"{folder}/train.parquet")
    pq.write_table(pa.table(valid_rows), f"{folder}/val.parquet")
    return {
        "train": {"user_id": {}, "item_id": {"shape": length + 1, "padding": n}},
        "validate": {
            "user_id": {},
            "item_id": {"shape": length, "padding": n},
            "ground_truth": {"shape": int(truth.map(len).max()), "padding": -1},
            "seen_ids": {"shape": int(train[users].map(len).max()), "padding": -1},
        },
    }


def datamodule(schema, meta: dict[str, Any], cfg: Params, folder: str):
    """RePlay's ParquetModule over ``write_parquets``' files, RePlay's default SASRec transforms."""
    import torch
    from replay.data.nn import ParquetModule
    from replay.nn.transform.template import make_default_sasrec_transforms

    partition = cfg["batch_size"] * cfg["partition_batches"]
    config = {
        "train": {"generator": torch.Generator().manual_seed(cfg["seed"]), "partition_size": partition},
        "validate": {"partition_size": partition},
    }
    return ParquetModule(
        batch_size=cfg["batch_size"],
        metadata=meta,
        transforms=make_default_sasrec_transforms(schema),
        config=config,
        train_path=f"{folder}/train.parquet",
        validate_path=f"{folder}/val.parquet",
    )


def sasrec_module(n: int, cfg: Params):
    """RePlay's SASRec over an item-id schema of ``n`` items, with its Lightning module; returns both
    the schema and the module."""
    from replay.data import FeatureHint, FeatureSource, FeatureType
    from replay.data.nn import TensorFeatureInfo, TensorFeatureSource, TensorSchema
    from replay.nn.lightning import LightningModule
    from replay.nn.lightning.optimizer import OptimizerFactory
    from replay.nn.sequential import SasRec

    schema = TensorSchema(
        TensorFeatureInfo(
            "item_id",
            is_seq=True,
            feature_type=FeatureType.CATEGORICAL,
            embedding_dim=cfg["hidden_size"],
            padding_value=n,
            cardinality=n,
            feature_hint=FeatureHint.ITEM_ID,
            feature_sources=[TensorFeatureSource(FeatureSource.INTERACTIONS, "item_id")],
        )
    )
    model = SasRec.from_params(
        schema,
        embedding_dim=cfg["hidden_size"],
        num_heads=cfg["num_heads"],
        num_blocks=cfg["num_blocks"],
        max_sequence_length=cfg["max_seq_len"],
        dropout=cfg["dropout"],
    )
    optimizer = OptimizerFactory(learning_rate=cfg["learning_rate"])
    return schema, LightningModule(model, optimizer_factory=optimizer)


def reference_trainer(n: int, cfg: Params, epochs: int, log_dir: str):
    """A deterministic Lightning trainer validating RePlay's metrics each epoch, logging to CSV."""
    import lightning
    from lightning.pytorch.loggers import CSVLogger
    from replay.nn.lightning.callback import ComputeMetricsCallback
    from replay.nn.lightning.postprocessor import SeenItemsFilter

    metrics = ComputeMetricsCallback(
        metrics=["ndcg", "recall", "map"],
        ks=list(cfg["ks"]),
        postprocessors=[SeenItemsFilter(n, "seen_ids")],
        item_count=n,
        verbose=False,
    )
    return lightning.Trainer(
        max_epochs=epochs,
        callbacks=[metrics, epoch_timer()],
        logger=CSVLogger(log_dir, name="", version=""),
        enable_checkpointing=False,
        enable_progress_bar=False,
        num_sanity_val_steps=0,
        deterministic=True,
        enable_model_summary=False,
    )


def plain_replay_epochs(
    gen_train: pd.DataFrame, rerank_gt: pd.DataFrame, vocab: np.ndarray, cfg: Params, epochs: int
) -> list[float]:
    """The reference: RePlay's SASRec trained with a hand-written Lightning loop, same data and config;
    returns each epoch's training seconds."""
    import lightning

    lightning.seed_everything(cfg["seed"], verbose=False)
    n = len(vocab)
    train, truth = sequences(gen_train, vocab), sequences(rerank_gt, vocab)
    with tempfile.TemporaryDirectory() as tmp:
        meta = write_parquets(train, truth, cfg["max_seq_len"], n, tmp)
        schema, module = sasrec_module(n, cfg)
        trainer = reference_trainer(n, cfg, epochs, f"{tmp}/log")
        trainer.fit(module, datamodule=datamodule(schema, meta, cfg, tmp))
        logged = pd.read_csv(Path(tmp) / "log" / "metrics.csv")
    return logged.groupby("epoch")["epoch_seconds"].first().tolist()


def overhead(project: Path, env: str, epochs: int, rounds: int = 2) -> dict[str, float]:
    """Median seconds per epoch of plain RePlay vs the pipeline's ``sasrec.fit`` node, in interleaved
    A/B rounds on ``project``'s folds with the ``sasrec`` parameters of ``env``."""
    params = {"sasrec": {"epochs": epochs, "patience": epochs, "progress_bar": False}}
    cfg = parameters(project, env, params)["sasrec"].model_dump()  # the validated settings, as plain values
    names = ("fold_gen_train@pandas", "fold_rerank_gt@pandas", "items@pandas", "interactions@pandas")
    gen_train, rerank_gt, items, interactions = load(project, *names, env=env).values()
    vocab = np.unique(np.concatenate([items["item_id"].to_numpy(), interactions["item_id"].to_numpy()]))
    plain, ours = [], []
    for _ in range(rounds):  # the first epoch of each fit warms caches: left out
        plain += plain_replay_epochs(gen_train, rerank_gt, vocab, cfg, epochs)[1:]
        run_nodes(project, "sasrec", ["sasrec.fit"], env, params)
        history = load(project, "sasrec.train_history", env=env)["sasrec.train_history"]
        ours += history["epoch_seconds"].tolist()[1:]
    p, o = statistics.median(plain), statistics.median(ours)
    return {"plain_s_per_epoch": p, "pipeline_s_per_epoch": o, "ratio": o / p, "epochs_timed": len(plain)}
