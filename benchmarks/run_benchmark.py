"""Benchmark the project's pipelines on MovieLens-100k (never committed: it is generated here).

    python benchmarks/run_benchmark.py --protocol loo --pipelines sasrec,bert4rec
    python benchmarks/run_benchmark.py --overhead-only

For each pipeline it runs ``kedro run --env benchmark`` (or ``--env benchmark_quality``) in a scratch
copy of the project whose ``data/01_raw`` holds MovieLens-100k (``../shared/datasets/movielens100k.py``),
watches the peak RSS of the whole process tree (Python and, for Spark pipelines, the JVM), and collects
the test-window metrics the pipeline wrote. ``--overhead-epochs N`` also times, side by side in this
process, a plain-RePlay SASRec loop and the pipeline's training node on the same folds and configuration.
Results go to ``benchmarks/results/<protocol>.md`` (and ``.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"
RESULTS = ROOT / "benchmarks" / "results"
SHARED_DATASET = ROOT.parent / "shared" / "datasets" / "movielens100k.py"
PROTOCOLS = {
    # leave-one-out: the last event of each user is the test, the one before is the reranker window
    "loo": {"test": {"strategy": "last_n", "n": 1}, "rerank": {"strategy": "last_n", "n": 1}},
    # leave-one-out test, but the reranker learns on each user's 3 events before it (3x the labels)
    "loo_rerank3": {"test": {"strategy": "last_n", "n": 1}, "rerank": {"strategy": "last_n", "n": 3}},
    # competition-like: the last 10% of each user's events, twice
    "holdout10": {
        "test": {"strategy": "ratio", "fraction": 0.1},
        "rerank": {"strategy": "ratio", "fraction": 0.1},
    },
    # the competition's protocol: random positions of each user's sequence (benchmarks/run_gaps.py)
    "gaps": {"protocol": "gaps"},
}
ENV = {"DO_NOT_TRACK": "true", "KEDRO_DISABLE_TELEMETRY": "true", "MLFLOW_DISABLE_TELEMETRY": "true"}


def movielens(raw_cache: Path) -> Path:
    if not (raw_cache / "events.csv").exists():
        subprocess.run([sys.executable, str(SHARED_DATASET), str(raw_cache)], check=True)
    return raw_cache


def prepare_project(protocol: str, raw: Path, env: str, name: str | None = None) -> Path:
    """A scratch project (``WORK/<name or protocol>``): this repo's conf and pyproject, ``raw`` data."""
    project = scratch_copy(WORK / (name or protocol), raw)
    splitting = {"splitting": {**PROTOCOLS[protocol]}}
    # the run env replaces conf/local, so the protocol goes into that env
    (project / "conf" / env / "parameters_protocol.yml").write_text(yaml.safe_dump(splitting))
    return project


def scratch_copy(project: Path, raw: Path) -> Path:
    """``project`` gets this repo's conf (an empty conf/local), src, pyproject and ``raw`` as its raw data;
    whatever else it holds from an earlier run stays."""
    for sub in ("conf", "data"):
        shutil.rmtree(project / sub, ignore_errors=True)
    project.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    shutil.copy(ROOT / ".telemetry", project / ".telemetry")
    shutil.rmtree(project / "src", ignore_errors=True)  # kedro wants src/ inside the project
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(raw, project / "data" / "01_raw")
    return project


def run_tracked(cmd: list[str], cwd: Path, log: Path) -> dict[str, float]:
    """Run a command, sampling the RSS of its whole process tree; returns wall seconds and the peak GiB
    of the tree, of Spark's JVM and of the rest (Python and its workers), each peak on its own, and the
    wall clock (Unix seconds) when the tree peaked."""
    start = time.perf_counter()
    peaks = {"tree": 0, "jvm": 0, "python": 0}
    peak_at = time.time()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **ENV})
        parent = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                rss = {"jvm": 0, "python": 0}
                for p in [parent, *parent.children(recursive=True)]:
                    if p.is_running():
                        rss["jvm" if p.name() == "java" else "python"] += p.memory_info().rss
                rss["tree"] = rss["jvm"] + rss["python"]
                if rss["tree"] > peaks["tree"]:
                    peak_at = time.time()
                peaks = {k: max(v, rss[k]) for k, v in peaks.items()}
            except psutil.Error:
                pass
            time.sleep(0.5)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}); see {log}")
    return {
        "wall_s": time.perf_counter() - start,
        "peak_rss_gib": peaks["tree"] / 2**30,
        "peak_jvm_gib": peaks["jvm"] / 2**30,
        "peak_python_gib": peaks["python"] / 2**30,
        "peak_at": peak_at,
    }


def collect(project: Path) -> list[dict]:
    """Every model the run reported: test metrics, epochs and seconds/epoch, fit/predict seconds."""
    reporting = project / "data" / "08_reporting"
    rows = []
    for metrics_file in sorted(reporting.glob("*/test_metrics.csv")):
        metrics = metrics_file.parent.name, pd.read_csv(metrics_file).iloc[0].to_dict()
        model, values = metrics
        row = {"model": model, **{k: values[k] for k in ("ndcg_10", "recall_10", "map_10")}}
        history_file = metrics_file.parent / "train_history.csv"
        if history_file.exists():
            history = pd.read_csv(history_file)
            row.update(
                epochs=int(history["epoch"].max()) + 1,
                best_epoch=int(history["best_epoch"].iloc[0]),  # counted from 1
                s_per_epoch=float(history["epoch_seconds"].median()),
                fit_s=float(history["fit_seconds"].iloc[0]),
            )
        for extra in ("fit_seconds", "predict_seconds"):
            if extra in values:
                row[extra.replace("_seconds", "_s")] = values[extra]
        rows.append(row)
    comparison = reporting / "model_comparison.csv"
    if comparison.exists():
        table = pd.read_csv(comparison).set_index("model")
        for row in rows:
            if row["model"] in table.index:
                row["candidate_recall"] = table.loc[row["model"], "candidate_recall"]
        reranker = table.loc["reranker"]
        rows.append(
            {
                "model": "reranker (CatBoost)",
                **{k: reranker[k] for k in ("ndcg_10", "recall_10", "map_10")},
                "candidate_recall": reranker["candidate_recall"],
                "gain_vs_best": reranker["gain_vs_best"],
            }
        )
    return rows


# ------------------------------------------------------------------ per-epoch overhead, side by side
def plain_replay_epochs(
    gen_train: pd.DataFrame, rerank_gt: pd.DataFrame, vocab, cfg: dict, epochs: int
) -> list:
    """The reference: RePlay's SASRec trained with a hand-written Lightning loop, same data and config."""
    import lightning
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch
    from lightning.pytorch.loggers import CSVLogger
    from replay.data import FeatureHint, FeatureSource, FeatureType
    from replay.data.nn import ParquetModule, TensorFeatureInfo, TensorFeatureSource, TensorSchema
    from replay.nn.lightning import LightningModule
    from replay.nn.lightning.callback import ComputeMetricsCallback
    from replay.nn.lightning.optimizer import OptimizerFactory
    from replay.nn.lightning.postprocessor import SeenItemsFilter
    from replay.nn.sequential import SasRec
    from replay.nn.transform.template import make_default_sasrec_transforms

    from recsys_challenge.pipelines.sequential.training import EpochSeconds, history

    lightning.seed_everything(cfg["seed"], verbose=False)
    n, length = len(vocab), cfg["max_seq_len"]
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

    def seqs(frame):
        frame = frame.sort_values(["user_id", "order"])
        idx = pd.Series(vocab.searchsorted(frame["item_id"].to_numpy()), index=frame["user_id"].to_numpy())
        return idx.groupby(level=0).agg(list)

    train, truth = seqs(gen_train), seqs(rerank_gt)
    users = truth.index.intersection(train.index)
    with tempfile.TemporaryDirectory() as tmp:
        lists = pa.list_(pa.int64())
        pq.write_table(
            pa.table(
                {
                    "user_id": pa.array(train.index, pa.int64()),
                    "item_id": pa.array([s[-(length + 1) :] for s in train], lists),
                }
            ),
            f"{tmp}/train.parquet",
        )
        pq.write_table(
            pa.table(
                {
                    "user_id": pa.array(users, pa.int64()),
                    "item_id": pa.array([s[-length:] for s in train[users]], lists),
                    "ground_truth": pa.array(list(truth[users]), lists),
                    "seen_ids": pa.array(list(train[users]), lists),
                }
            ),
            f"{tmp}/val.parquet",
        )
        gt_len, seen_len = int(truth.map(len).max()), int(train[users].map(len).max())
        meta = {
            "train": {"user_id": {}, "item_id": {"shape": length + 1, "padding": n}},
            "validate": {
                "user_id": {},
                "item_id": {"shape": length, "padding": n},
                "ground_truth": {"shape": gt_len, "padding": -1},
                "seen_ids": {"shape": seen_len, "padding": -1},
            },
        }
        batch, partition = cfg["batch_size"], cfg["batch_size"] * cfg["partition_batches"]
        config = {
            "train": {"generator": torch.Generator().manual_seed(cfg["seed"]), "partition_size": partition},
            "validate": {"partition_size": partition},
        }
        dm = ParquetModule(
            batch_size=batch,
            metadata=meta,
            transforms=make_default_sasrec_transforms(schema),
            config=config,
            train_path=f"{tmp}/train.parquet",
            validate_path=f"{tmp}/val.parquet",
        )
        model = SasRec.from_params(
            schema,
            embedding_dim=cfg["hidden_size"],
            num_heads=cfg["num_heads"],
            num_blocks=cfg["num_blocks"],
            max_sequence_length=length,
            dropout=cfg["dropout"],
        )
        module = LightningModule(
            model, optimizer_factory=OptimizerFactory(learning_rate=cfg["learning_rate"])
        )
        metrics = ComputeMetricsCallback(
            metrics=["ndcg", "recall", "map"],
            ks=list(cfg["ks"]),
            postprocessors=[SeenItemsFilter(n, "seen_ids")],
            item_count=n,
            verbose=False,
        )
        trainer = lightning.Trainer(
            max_epochs=epochs,
            callbacks=[metrics, EpochSeconds()],
            logger=CSVLogger(f"{tmp}/log", name="", version=""),
            enable_checkpointing=False,
            enable_progress_bar=False,
            num_sanity_val_steps=0,
            deterministic=True,
            enable_model_summary=False,
        )
        trainer.fit(module, datamodule=dm)
        return history(f"{tmp}/log")["epoch_seconds"].tolist()


def overhead(project: Path, epochs: int, rounds: int = 2) -> dict[str, float]:
    """Median seconds/epoch of plain RePlay vs the pipeline's training node, interleaved A/B rounds."""
    from kedro.config import OmegaConfigLoader

    from recsys_challenge.pipelines.sequential.nodes import fit_generator
    from recsys_challenge.pipelines.sequential.sequences import item_vocabulary

    loader = OmegaConfigLoader(
        str(project / "conf"),
        base_env="base",
        default_run_env="benchmark",
        merge_strategy={"parameters": "soft"},
    )
    cfg = {**loader["parameters"]["sasrec"], "epochs": epochs, "patience": epochs, "progress_bar": False}
    folds = project / "data" / "05_model_input" / "folds"
    gen_train, rerank_gt = (
        pd.read_parquet(folds / "gen_train.parquet"),
        pd.read_parquet(folds / "rerank_gt.parquet"),
    )
    items = pd.read_parquet(project / "data" / "03_primary" / "items.parquet")
    interactions = pd.read_parquet(project / "data" / "03_primary" / "interactions.parquet")
    vocab = item_vocabulary(items, interactions)
    plain, ours = [], []
    for _ in range(rounds):
        plain += plain_replay_epochs(gen_train, rerank_gt, vocab, cfg, epochs)[1:]  # epoch 0 warms caches
        _, history = fit_generator(gen_train, rerank_gt, items, interactions, cfg)
        ours += history["epoch_seconds"].tolist()[1:]
    p, o = statistics.median(plain), statistics.median(ours)
    return {"plain_s_per_epoch": p, "pipeline_s_per_epoch": o, "ratio": o / p, "epochs_timed": len(plain)}


def markdown_table(table: pd.DataFrame) -> str:
    def cell(v) -> str:
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def commit_label() -> str:
    """The checkout's short commit, marked ``+uncommitted`` when ``src`` or ``conf`` has changes."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "src", "conf"], capture_output=True, text=True, cwd=ROOT
    )
    return commit.stdout.strip() + ("+uncommitted" if dirty.stdout.strip() else "")


def run_section(title: str, run: dict) -> list[str]:
    """A run's heading, wall time and peak RSS (when recorded) and its models table, as markdown lines."""
    cost = (
        f"Wall time {run['wall_s'] / 60:.1f} min, peak RSS of the process tree (Python + JVM) "
        f"{run['peak_rss_gib']:.2f} GiB."
        if run["wall_s"] == run["wall_s"]  # NaN when an existing run was only scored
        else "Wall time and peak RSS not recorded (an existing run, scored only)."
    )
    if run.get("commit"):
        cost = f"Commit {run['commit']}. {cost}"
    return [f"## {title}", "", cost, "", markdown_table(pd.DataFrame(run["models"])), ""]


def write_results(protocol: str, runs: dict[str, dict], over: dict | None) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{protocol}.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    previous.setdefault("runs", {})
    previous.setdefault("overhead", None)
    previous["runs"].update(runs)
    if over:
        previous["overhead"] = over
    previous["machine"] = (
        f"{psutil.cpu_count()} CPU cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    )
    out.write_text(json.dumps(previous, indent=2, default=float))
    md = [
        f"# Benchmark: MovieLens-100k, protocol `{protocol}`",
        "",
        f"Machine: {previous['machine']}, CPU only. Splits: {PROTOCOLS[protocol]}. All metrics on the test "
        "window, full ranking, seen items removed, averaged over every test user.",
        "",
    ]
    for _name, run in previous["runs"].items():
        md += run_section(f"`{run['command']}`", run)
    if previous["overhead"]:
        o = previous["overhead"]
        md += [
            "## Per-epoch overhead of the pipeline vs plain RePlay (same data and config, side by side)",
            "",
            f"plain RePlay {o['plain_s_per_epoch']:.2f} s/epoch, pipeline {o['pipeline_s_per_epoch']:.2f} "
            f"s/epoch, ratio **{o['ratio']:.3f}** (median of {o['epochs_timed']} epochs each, interleaved).",
            "",
        ]
    path = RESULTS / f"{protocol}.md"
    path.write_text("\n".join(md))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="loo")
    parser.add_argument("--pipelines", default="sasrec,bert4rec,sasrec_long")
    parser.add_argument("--overhead-epochs", type=int, default=0, help="0 skips the overhead measurement")
    parser.add_argument("--keep", action="store_true", help="reuse the scratch project and its folds")
    parser.add_argument("--params", default="", help="runtime overrides passed to kedro run --params")
    parser.add_argument(
        "--env",
        default="benchmark",
        help="benchmark: the whole two-stage run in ~20 min on 2 cores; benchmark_quality: each "
        "sequential generator at its best, whatever it costs",
    )
    args = parser.parse_args()

    raw = movielens(WORK / "ml100k_raw")
    project = (
        WORK / args.protocol
        if args.keep and (WORK / args.protocol).exists()
        else prepare_project(args.protocol, raw, args.env)
    )
    kedro = str(Path(sys.executable).with_name("kedro"))
    run_tracked(
        [kedro, "run", "--env", args.env, "--pipelines", "splitting"], project, project / "splitting.log"
    )
    for name in [p for p in args.pipelines.split(",") if p]:
        cmd = ["kedro", "run", "--env", args.env, "--pipelines", name]
        if args.params:
            cmd += ["--params", args.params]
        for stale in (project / "data" / "08_reporting").glob("*/test_metrics.csv"):
            stale.unlink()
        commit = commit_label()
        run = {**run_tracked([kedro, *cmd[1:]], project, project / f"{name}.log"), "commit": commit}
        models = collect(project)
        print(json.dumps(models, indent=1, default=float), flush=True)
        key = name if args.env == "benchmark" else f"{args.env}:{name}"
        write_results(args.protocol, {key: {"command": " ".join(cmd), **run, "models": models}}, None)
    over = overhead(project, args.overhead_epochs) if args.overhead_epochs else None
    print(write_results(args.protocol, {}, over).read_text())


if __name__ == "__main__":
    main()
