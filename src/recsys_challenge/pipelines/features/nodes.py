"""Fold-honest user and item features.

Every function sees one history fold only: the generator fold for the reranker's training window,
the pre-test history for the test window, everything for the final submission. See
``docs/features.md`` for one line per feature.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame as SparkDataFrame
from pyspark.sql import functions as sf
from replay.preprocessing.history_based_fp import ConditionalPopularityProcessor, LogStatFeaturesProcessor

from recsys_challenge.core import ITEM, ORDER, POSITION, QUERY, RATING, TIMESTAMP, genre_columns

LEGACY = {QUERY: "user_idx", ITEM: "item_idx"}  # RePlay's history processors use the legacy names
DATE_COLUMNS = ("u_min_interact_date", "u_max_interact_date", "i_min_interact_date", "i_max_interact_date")


def _legacy_log(history: SparkDataFrame) -> SparkDataFrame:
    return history.select(
        sf.col(QUERY).alias("user_idx"),
        sf.col(ITEM).alias("item_idx"),
        sf.col(RATING).cast("double").alias("relevance"),
        sf.col(TIMESTAMP).cast("timestamp").alias("timestamp"),
    )


def _to_pandas(frame: SparkDataFrame, key: str) -> pd.DataFrame:
    out = frame.drop(*[c for c in DATE_COLUMNS if c in frame.columns]).toPandas()
    return out.rename(columns={LEGACY[key]: key}).sort_values(key).reset_index(drop=True)


def _wide(long: pd.DataFrame, key: str, column: str, value: str) -> pd.DataFrame:
    wide = long.pivot_table(index=key, columns=column, values=value, fill_value=0.0)
    wide.columns = [f"{value}_{c}" for c in wide.columns]
    return wide.reset_index()


def replay_history_features(
    history: SparkDataFrame, users: SparkDataFrame, items: SparkDataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """RePlay's log statistics per user and item, item popularity conditional on user demographics,
    and user affinity to each genre (conditional popularity over item genres)."""
    log = _legacy_log(history).cache()
    stats = LogStatFeaturesProcessor()
    stats.fit(log)
    user = _to_pandas(stats.user_log_features, QUERY)
    item = _to_pandas(stats.item_log_features, ITEM)

    demographics = ConditionalPopularityProcessor(cat_features_list=list(params["user_categories"]))
    demographics.fit(log, users.withColumnRenamed(QUERY, "user_idx"))
    for column, table in demographics.conditional_pop_dict.items():
        long = table.toPandas().rename(columns={"item_idx": ITEM})
        item = item.merge(_wide(long, ITEM, column, f"i_pop_by_{column}"), on=ITEM, how="left")

    genres = genre_columns(items.columns)
    tastes = ConditionalPopularityProcessor(cat_features_list=genres)
    tastes.fit(log, items.withColumnRenamed(ITEM, "item_idx"))
    for genre, table in tastes.conditional_pop_dict.items():
        share = table.filter(sf.col(genre) == 1).toPandas().rename(columns={"user_idx": QUERY})
        user = user.merge(share[[QUERY, f"u_pop_by_{genre}"]], on=QUERY, how="left")
    log.unpersist()
    return user.fillna(0.0), item.fillna(0.0)


def activity_features(
    history: pd.DataFrame, items: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Recent activity, recent genre profile and popularity trend: what the log statistics do not cover
    (they already hold each user's and item's event count and days since the last event)."""
    end = history[TIMESTAMP].max()
    span = max(end - history[TIMESTAMP].min(), 1)
    recent_start = end - span * float(params["trend_fraction"])
    recent = history[history[TIMESTAMP] >= recent_start]
    n_last = int(params["recent_events"])

    users = pd.Index(np.sort(history[QUERY].unique()), name=QUERY)
    user = pd.DataFrame({"u_recent_events": recent.groupby(QUERY).size().reindex(users, fill_value=0)})
    # genre profile of the user's last events: "recency of similar items"
    last = history.sort_values([QUERY, ORDER]).groupby(QUERY).tail(n_last)
    genres = genre_columns(items)
    profile = last[[QUERY, ITEM]].merge(items[[ITEM, *genres]], on=ITEM, how="left").fillna(0.0)
    profile = profile.groupby(QUERY)[genres].mean().add_prefix("u_recent_")
    user = user.join(profile, how="left").fillna(0.0).reset_index()

    total = history.groupby(ITEM).size()
    recent_count = recent.groupby(ITEM).size().reindex(total.index, fill_value=0)
    item = pd.DataFrame(
        {
            "i_recent_events": recent_count,
            "i_trend": recent_count / total / float(params["trend_fraction"]),
        }
    ).reset_index()
    return user, item


def target_features(targets: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """How many positions inside a user's history the window asks it to fill, their share of the user's
    slots and their mean relative position (0 = first slot, 1 = last). Targets after the last event
    (``tail``) are left out, so the features mean the same in every window and under either protocol."""
    holes = targets[~targets["tail"]]
    last = history.groupby(QUERY)[POSITION].max().rename("last")
    frame = holes.merge(last, left_on=QUERY, right_index=True, how="left")
    relative = frame[POSITION] / frame["last"].clip(lower=1)
    per_user = pd.DataFrame(
        {
            "u_holes": holes.groupby(QUERY).size(),
            "u_hole_position": relative.groupby(frame[QUERY]).mean().clip(upper=1.0),
        },
        index=pd.Index(targets[QUERY].unique(), name=QUERY),
    ).fillna({"u_holes": 0})
    per_user["u_hole_share"] = per_user["u_holes"] / (history.groupby(QUERY).size() + per_user["u_holes"])
    return per_user.fillna(0.0).rename_axis(QUERY).reset_index()


def merge_features(
    replay_user: pd.DataFrame,
    replay_item: pd.DataFrame,
    activity_user: pd.DataFrame,
    activity_item: pd.DataFrame,
    target_user: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One user table and one item table per window."""
    user = replay_user.merge(activity_user, on=QUERY, how="outer").merge(target_user, on=QUERY, how="left")
    user = user.fillna(0.0)
    item = replay_item.merge(activity_item, on=ITEM, how="outer").fillna(0.0)
    numeric = {c: np.float32 for c in user.columns if c != QUERY}
    return user.astype(numeric), item.astype({c: np.float32 for c in item.columns if c != ITEM})
