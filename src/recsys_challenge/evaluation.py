"""Ranking metrics shared by every generator and the reranker (RePlay's offline metrics)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import BaseModel
from replay.metrics import MAP, NDCG, OfflineMetrics, Recall

from recsys_challenge.core import (
    CANDIDATE_COLUMNS,
    ITEM,
    KEY,
    QUERY,
    MetricHistory,
    mlflow_name,
    mlflow_series,
    mlflow_value,
)

# columns of a metrics row that are no metric
_NOT_METRICS = {"model", "users"}


def ranking_metrics(candidates: pd.DataFrame, truth: pd.DataFrame, ks: list[int]) -> dict[str, float]:
    """NDCG, Recall and MAP at each k, averaged over every user of ``truth`` (missing users score 0).

    Keys are MLflow-safe: ``ndcg_10``, ``recall_10``, ``map_10``.
    """
    metrics = [m(k) for k in ks for m in (NDCG, Recall, MAP)]
    scorer = OfflineMetrics(metrics, query_column=QUERY, item_column=ITEM, rating_column="score")
    values = scorer(candidates[[*KEY, "score"]], truth[KEY])
    return {mlflow_name(name.lower()): float(v) for name, v in values.items()}


def candidate_recall(candidates: pd.DataFrame, truth: pd.DataFrame) -> float:
    """Share of ground-truth events present among a user's candidates: the ceiling of a reranker."""
    hits = truth[KEY].merge(candidates[KEY].drop_duplicates(), on=KEY)
    return float(len(hits) / len(truth)) if len(truth) else 0.0


def check_candidates(candidates: pd.DataFrame, history: pd.DataFrame | None, k: int, source: str) -> None:
    """Raise if the table breaks the candidate schema: columns, at most k per user, no item of ``history``
    (``None`` when the caller checked seen items itself, e.g. in Spark)."""
    missing = [c for c in CANDIDATE_COLUMNS if c not in candidates.columns]
    if missing:
        raise ValueError(f"{source}: candidates lack column(s) {missing}")
    per_user = candidates.groupby(QUERY).size()
    if (per_user > k).any():
        raise ValueError(
            f"{source}: more than {k} candidates for users {per_user[per_user > k].index[:5].tolist()}"
        )
    if history is None:
        return
    seen = candidates.merge(history[KEY], on=KEY)
    if len(seen):
        raise ValueError(f"{source}: {len(seen)} candidate(s) already seen, e.g.\n{seen.head().to_string()}")


def evaluate(candidates: pd.DataFrame, truth: pd.DataFrame, config: Any) -> pd.DataFrame:
    """Test-window metrics as a one-row table (model, ndcg_10, recall_10, map_10, ...). ``config`` is the
    model's settings block, a validated settings object or a plain mapping; ``name`` and ``ks_test``
    are read."""
    settings = config.model_dump() if isinstance(config, BaseModel) else config
    metrics = ranking_metrics(candidates, truth, list(settings["ks_test"]))
    return pd.DataFrame([{"model": settings["name"], "users": truth[QUERY].nunique(), **metrics}])


def mlflow_test_metrics(row: pd.Series) -> MetricHistory:
    """One model's test-window row for MLflow: metrics as ``test.<metric>``, timings (``*_seconds``) as
    they are; the model name, user count and missing values are left out."""
    return {
        column if column.endswith("_seconds") else f"test.{column}": mlflow_value(value)
        for column, value in row.items()
        if column not in _NOT_METRICS and pd.notna(value)
    }


def mlflow_metrics(test_metrics: pd.DataFrame, history: pd.DataFrame | None = None) -> MetricHistory:
    """Final test metrics and, for trained models, per-epoch curves (step = epoch) in kedro-mlflow's
    history format; the dataset's prefix (the model namespace) is prepended by kedro-mlflow."""
    logged: MetricHistory = {}
    history = history if history is not None else pd.DataFrame()
    for column in history.columns:
        if column in {"epoch", "fit_seconds", "best_epoch"}:
            continue
        prefix = "val." if "@" in column else "train."
        logged[prefix + mlflow_name(column)] = mlflow_series(history["epoch"], history[column])
    for column in ("fit_seconds", "best_epoch"):
        if column in history and len(history):
            logged[column] = mlflow_value(history[column].iloc[0])
    return {**logged, **mlflow_test_metrics(test_metrics.iloc[0])}


def submission_candidates(submission: pd.DataFrame) -> pd.DataFrame:
    """A submission (``user_id``, space-separated ``item_id`` list) as ranked candidates."""
    lists = submission.assign(**{ITEM: submission[ITEM].fillna("").astype(str).str.split()}).explode(ITEM)
    lists = lists.dropna(subset=[ITEM]).astype({ITEM: "int64"})
    rank = lists.groupby(QUERY).cumcount() + 1
    return lists.assign(rank=rank.astype("int32"), score=(1.0 / rank).astype("float32"))[CANDIDATE_COLUMNS]


def score_submission(submission: pd.DataFrame, hidden: pd.DataFrame, ks: list[int]) -> dict[str, float]:
    """A submission's metrics against the events hidden from the data it was made from."""
    return ranking_metrics(submission_candidates(submission), hidden, ks)
