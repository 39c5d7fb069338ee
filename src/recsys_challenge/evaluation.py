"""Ranking metrics shared by every generator and the reranker (RePlay's offline metrics)."""

from __future__ import annotations

import pandas as pd
from replay.metrics import MAP, NDCG, OfflineMetrics, Recall

QUERY, ITEM = "user_id", "item_id"
CANDIDATE_COLUMNS = [QUERY, ITEM, "score", "rank"]


def ranking_metrics(candidates: pd.DataFrame, truth: pd.DataFrame, ks: list[int]) -> dict[str, float]:
    """NDCG, Recall and MAP at each k, averaged over every user of ``truth`` (missing users score 0).

    Keys are MLflow-safe: ``ndcg_10``, ``recall_10``, ``map_10``.
    """
    metrics = [m(k) for k in ks for m in (NDCG, Recall, MAP)]
    scorer = OfflineMetrics(metrics, query_column=QUERY, item_column=ITEM, rating_column="score")
    values = scorer(candidates[[QUERY, ITEM, "score"]], truth[[QUERY, ITEM]])
    return {name.lower().replace("@", "_"): float(v) for name, v in values.items()}


def candidate_recall(candidates: pd.DataFrame, truth: pd.DataFrame) -> float:
    """Share of ground-truth events present among a user's candidates: the ceiling of a reranker."""
    hits = truth[[QUERY, ITEM]].merge(candidates[[QUERY, ITEM]].drop_duplicates(), on=[QUERY, ITEM])
    return float(len(hits) / len(truth)) if len(truth) else 0.0


def check_candidates(candidates: pd.DataFrame, history: pd.DataFrame, k: int, source: str) -> None:
    """Raise if the table breaks the candidate schema: columns, at most k per user, no seen item."""
    missing = [c for c in CANDIDATE_COLUMNS if c not in candidates.columns]
    if missing:
        raise ValueError(f"{source}: candidates lack column(s) {missing}")
    per_user = candidates.groupby(QUERY).size()
    if (per_user > k).any():
        raise ValueError(
            f"{source}: more than {k} candidates for users {per_user[per_user > k].index[:5].tolist()}"
        )
    seen = candidates.merge(history[[QUERY, ITEM]], on=[QUERY, ITEM])
    if len(seen):
        raise ValueError(f"{source}: {len(seen)} candidate(s) already seen, e.g.\n{seen.head().to_string()}")
