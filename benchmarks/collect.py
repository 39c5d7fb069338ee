"""What a finished run of a scratch project reports, read through its catalog: one row per model (test
metrics, epochs and seconds per epoch, fit and predict seconds, candidate recall) and the reranker's
row, and a run's markdown section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from common import markdown_table
from project import namespaces_writing, outputs, session

METRICS = ("ndcg_10", "recall_10", "map_10")
COMPARISON = "reranker.comparison"  # every model's test metrics, candidate recall, the reranker's gain


def history_summary(history: pd.DataFrame) -> dict[str, Any]:
    """A sequential model's epochs, best epoch (counted from 1), median seconds per epoch, fit seconds."""
    return {
        "epochs": int(history["epoch"].max()) + 1,
        "best_epoch": int(history["best_epoch"].iloc[0]),
        "s_per_epoch": float(history["epoch_seconds"].median()),
        "fit_s": float(history["fit_seconds"].iloc[0]),
    }


def model_row(catalog, model: str, written: set[str]) -> dict[str, Any]:
    """One model's test metrics, with its training history's summary when it has one."""
    values = catalog.load(f"{model}.test_metrics").iloc[0].to_dict()
    row = {"model": model, **{k: values[k] for k in METRICS}}
    if f"{model}.train_history" in written:
        row.update(history_summary(catalog.load(f"{model}.train_history")))
    for extra in ("fit_seconds", "predict_seconds"):
        if extra in values:
            row[extra.replace("_seconds", "_s")] = values[extra]
    return row


def with_reranker(rows: list[dict[str, Any]], comparison: pd.DataFrame) -> list[dict[str, Any]]:
    """``rows`` with each model's candidate recall, and the reranker's own row."""
    table = comparison.set_index("model")
    for row in rows:
        if row["model"] in table.index:
            row["candidate_recall"] = table.loc[row["model"], "candidate_recall"]
    reranker = table.loc["reranker"]
    return [
        *rows,
        {
            "model": "reranker (CatBoost)",
            **{k: reranker[k] for k in METRICS},
            "candidate_recall": reranker["candidate_recall"],
            "gain_vs_best": reranker["gain_vs_best"],
        },
    ]


def collect(project: Path, pipeline: str = "__default__", env: str | None = None) -> list[dict[str, Any]]:
    """Every model whose test metrics the registered ``pipeline`` writes, as ``project``'s last run of
    it left them: test metrics, epochs and seconds per epoch, fit and predict seconds, and the
    reranker's row when the pipeline compares models."""
    with session(project, env) as kedro:
        catalog = kedro.load_context().catalog
        written = outputs(pipeline)
        rows = [model_row(catalog, model, written) for model in namespaces_writing(pipeline, "test_metrics")]
        if COMPARISON in written:
            rows = with_reranker(rows, catalog.load(COMPARISON))
    return rows


def run_section(title: str, run: dict[str, Any]) -> list[str]:
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
