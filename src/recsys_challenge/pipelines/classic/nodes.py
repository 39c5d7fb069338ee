"""Fit a RePlay classic model on a fold and emit top-K candidates in the shared schema."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import replay.models
from pyspark.sql import DataFrame as SparkDataFrame
from pyspark.sql import functions as sf
from pyspark.sql.window import Window
from replay.data import Dataset, FeatureHint, FeatureInfo, FeatureSchema, FeatureType

from recsys_challenge.core import ITEM, KEY, ORDER, QUERY, RATING
from recsys_challenge.evaluation import check_candidates


def replay_dataset(interactions: SparkDataFrame) -> Dataset:
    """A RePlay Dataset over a fold; ``order`` (the deterministic per-user position) is the time axis."""
    schema = FeatureSchema(
        [
            FeatureInfo(QUERY, FeatureType.CATEGORICAL, FeatureHint.QUERY_ID),
            FeatureInfo(ITEM, FeatureType.CATEGORICAL, FeatureHint.ITEM_ID),
            FeatureInfo(RATING, FeatureType.NUMERICAL, FeatureHint.RATING),
            FeatureInfo(ORDER, FeatureType.NUMERICAL, FeatureHint.TIMESTAMP),
        ]
    )
    columns = interactions.select(QUERY, ITEM, sf.col(RATING).cast("double"), ORDER)
    return Dataset(feature_schema=schema, interactions=columns, check_consistency=False)


def build_model(config: dict[str, Any]):
    """``config.model`` names a class of ``replay.models``; ``config.params`` are its arguments."""
    name = config["model"]
    model_cls = getattr(replay.models, name, None)
    if model_cls is None:
        raise ValueError(f"{config['name']}: replay.models has no model {name!r}")
    return model_cls(**(config.get("params") or {}))


def generate_candidates(
    train: SparkDataFrame, config: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Fit on ``train`` and recommend top-K unseen items to each of its users.

    Returns the candidates (user_id, item_id, score, rank) and the fit/predict seconds.
    """
    dataset = replay_dataset(train.cache())
    model = build_model(config)
    start = time.perf_counter()
    model.fit(dataset)
    fitted = time.perf_counter()
    k = int(config["candidates_k"])
    recs = model.predict(dataset, k=k, filter_seen_items=True)
    ranked = recs.withColumn(
        "rank", sf.row_number().over(Window.partitionBy(QUERY).orderBy(sf.desc(RATING), sf.asc(ITEM)))
    ).cache()
    # the seen-item check runs in Spark: collecting the fold to the driver would not scale to a cluster
    seen = ranked.join(train.select(*KEY), KEY, "left_semi").count()
    candidates = ranked.select(
        sf.col(QUERY).cast("long"),
        sf.col(ITEM).cast("long"),
        sf.col(RATING).cast("float").alias("score"),
        sf.col("rank").cast("int"),
    ).toPandas()
    timings = {"fit_seconds": fitted - start, "predict_seconds": time.perf_counter() - fitted}
    ranked.unpersist()
    train.unpersist()
    source = f"{config['name']} candidates"
    if seen:
        raise ValueError(f"{source}: {seen} candidate(s) already seen in the training fold")
    candidates = candidates.sort_values([QUERY, "rank"]).reset_index(drop=True)
    check_candidates(candidates, None, k, source=source)
    return candidates, timings


def attach_timings(test_metrics: pd.DataFrame, timings: dict[str, float]) -> pd.DataFrame:
    """Add the test-window fit/predict seconds to the metrics row."""
    return test_metrics.assign(**timings)
