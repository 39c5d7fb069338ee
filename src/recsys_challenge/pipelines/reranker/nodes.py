"""Assemble candidate features, train a CatBoostRanker on the reranker window, rerank later windows."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from catboost import CatBoostRanker, Pool

from recsys_challenge.core import (
    ITEM,
    KEY,
    QUERY,
    MetricHistory,
    genre_columns,
    mlflow_name,
    mlflow_series,
    ranked,
)
from recsys_challenge.evaluation import candidate_recall, mlflow_test_metrics, ranking_metrics

from .settings import AUTO, NegativeSampling, RerankerSettings

logger = logging.getLogger(__name__)


def union_candidates(per_generator_k: int, **candidates: pd.DataFrame) -> pd.DataFrame:
    """Outer union of every generator's top-``per_generator_k``: one row per (user, item), with each
    generator's score and rank (missing rank = k + 1), how many generators proposed it and the best rank."""
    if not candidates:
        raise ValueError("union_candidates: the reranker needs the candidates of at least one generator")
    union: pd.DataFrame | None = None
    for name, frame in sorted(candidates.items()):
        top = frame[frame["rank"] <= per_generator_k][[*KEY, "score", "rank"]]
        top = top.rename(columns={"score": f"{name}_score", "rank": f"{name}_rank"})
        union = top if union is None else union.merge(top, on=KEY, how="outer")
    ranks = [f"{n}_rank" for n in candidates]
    union[ranks] = union[ranks].fillna(per_generator_k + 1).astype("float32")
    union["n_generators"] = (union[ranks] <= per_generator_k).sum(axis=1).astype("float32")
    union["best_rank"] = union[ranks].min(axis=1)
    return union.sort_values(KEY).reset_index(drop=True)


def add_features(
    union: pd.DataFrame,
    user_features: pd.DataFrame,
    item_features: pd.DataFrame,
    users: pd.DataFrame,
    items: pd.DataFrame,
) -> pd.DataFrame:
    """Join user, item and static features; add user-item affinities (genre match, demographic popularity)."""
    static_users = users.assign(is_male=(users["gender"] == "M").astype("float32"))
    frame = union.merge(user_features, on=QUERY, how="left").merge(item_features, on=ITEM, how="left")
    frame = frame.merge(static_users[[QUERY, "gender", "age", "is_male"]], on=QUERY, how="left")
    genres = genre_columns(items)
    frame = frame.merge(items[[ITEM, *genres]], on=ITEM, how="left")
    item_genres = frame[genres].fillna(0).to_numpy(dtype="float32")
    for prefix, name in (("u_pop_by_", "genre_match"), ("u_recent_", "recent_genre_match")):
        profile = frame[[f"{prefix}{g}" for g in genres]].fillna(0).to_numpy(dtype="float32")
        frame[name] = (profile * item_genres).sum(axis=1) / np.maximum(item_genres.sum(axis=1), 1)
    for column in ("gender", "age"):
        own = pd.Series(np.nan, index=frame.index, dtype="float32")
        for value in frame[column].dropna().unique():
            source = f"i_pop_by_{column}_{value}"
            if source in frame:
                mask = frame[column] == value
                own[mask] = frame.loc[mask, source]
        frame[f"i_pop_by_own_{column}"] = own.fillna(0.0)
    return frame.drop(columns=["gender"]).sort_values(KEY, kind="stable").reset_index(drop=True)


def add_labels(frame: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """``target`` = 1 where the candidate is an event of the window, else 0."""
    hits = truth[KEY].drop_duplicates().assign(target=1)
    return frame.merge(hits, on=KEY, how="left").fillna({"target": 0}).astype({"target": "int8"})


def _feature_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in (*KEY, "target")]


def _pool(frame: pd.DataFrame, features: list[str]) -> Pool:
    frame = frame.sort_values(KEY, kind="stable")
    return Pool(frame[features], label=frame["target"], group_id=frame[QUERY].to_numpy())


def catboost_params(data: pd.DataFrame, settings: RerankerSettings) -> dict[str, object]:
    """CatBoost's settings with ``loss_function: auto`` resolved from the labels: QuerySoftMax when no
    user has more than one positive (leave-one-out), YetiRank when users have several (holes, ratio
    holdouts). Each learned best where it is picked: QuerySoftMax's softmax over a user's candidates fits
    a single positive, YetiRank's pairs use several (``benchmarks/results/reranker_loo.md``,
    ``benchmarks/results/reranker_gaps.md``)."""
    options = settings.catboost.options()
    if options["loss_function"] == AUTO:
        several = data.groupby(QUERY)["target"].sum().max() > 1
        options["loss_function"] = "YetiRank" if several else "QuerySoftMax"
    return options


def sample_negatives(
    frame: pd.DataFrame, sampling: NegativeSampling | None, rng: np.random.Generator
) -> pd.DataFrame:
    """``frame``'s positives with, per user, its ``sampling.hard`` best-ranked negatives and
    ``sampling.random`` of the others drawn uniformly; all of ``frame`` without ``sampling``."""
    if sampling is None:
        return frame
    negatives = frame[frame["target"] == 0]
    by_rank = negatives.sort_values(
        [QUERY, "best_rank", "n_generators", ITEM], ascending=[True, True, False, True]
    )
    is_hard = by_rank.groupby(QUERY).cumcount() < sampling.hard
    rest = by_rank[~is_hard]
    shuffled = rest.iloc[np.lexsort((rng.random(len(rest)), rest[QUERY].to_numpy()))]
    drawn = shuffled[shuffled.groupby(QUERY).cumcount() < sampling.random]
    kept = by_rank.index[is_hard].union(drawn.index)
    return frame[(frame["target"] > 0) | frame.index.isin(kept)]


def train_ranker(
    train_set: pd.DataFrame, settings: RerankerSettings
) -> tuple[CatBoostRanker, pd.DataFrame, pd.DataFrame]:
    """Fit ``CatBoostRanker`` grouped by user, early-stopped on a held-out share of users.

    Users whose window has no positive among the candidates carry no ranking signal and are dropped.
    With ``settings.negatives`` the training users keep their positives and a sample of their negatives
    (``sample_negatives``); the held-out users keep every candidate, as scoring sees them.
    Returns the model, the feature importance table and the learning curves.
    """
    positives = train_set.groupby(QUERY)["target"].transform("max") > 0
    data = train_set[positives]
    users = np.sort(data[QUERY].unique())
    rng = np.random.default_rng(settings.seed)
    held_out = set(rng.choice(users, size=max(1, int(len(users) * settings.eval_fraction)), replace=False))
    is_eval = data[QUERY].isin(held_out)
    train = sample_negatives(data[~is_eval], settings.negatives, rng)
    features = _feature_columns(data)
    options = catboost_params(data, settings)
    logger.info(
        "reranker: %d training rows of %d, %d users with a positive (%d held out), %d features, loss %s",
        len(train),
        len(data),
        len(users),
        len(held_out),
        len(features),
        options["loss_function"],
    )
    model = CatBoostRanker(**options, random_seed=settings.seed, verbose=False)
    eval_pool = _pool(data[is_eval], features)
    model.fit(_pool(train, features), eval_set=eval_pool, use_best_model=True)
    # for rankers CatBoost measures importance as the loss change on held-out groups
    importance = pd.DataFrame(
        {"feature": features, "importance": model.get_feature_importance(data=eval_pool)}
    )
    importance = importance.sort_values("importance", ascending=False).reset_index(drop=True)
    evals = model.get_evals_result()
    curves = pd.DataFrame(
        {
            f"{split}.{metric}": values
            for split, metrics in evals.items()
            for metric, values in metrics.items()
        }
    )
    curves.insert(0, "iteration", np.arange(len(curves)))
    return model, importance, curves


def train_final(
    model: CatBoostRanker, train_set: pd.DataFrame, test_set: pd.DataFrame, settings: RerankerSettings
) -> CatBoostRanker:
    """The model that reranks the submission: with ``final_with_test_labels``, refitted on the reranker
    window's and the test window's labels together (each window's users their own groups), else
    ``model``. The test window's labels are history by then, and the final window is one step further
    from the reranker window, so the submission's model learns from both; reported test metrics stay
    ``model``'s. Measured in ``benchmarks/results/reranker_gaps.md``."""
    if not settings.final_with_test_labels:
        return model
    shift = int(max(train_set[QUERY].max(), test_set[QUERY].max())) + 1
    stacked = pd.concat([train_set, test_set.assign(**{QUERY: test_set[QUERY] + shift})], ignore_index=True)
    final, _, _ = train_ranker(stacked[train_set.columns], settings)
    return final


def rerank(model: CatBoostRanker, frame: pd.DataFrame, settings: RerankerSettings) -> pd.DataFrame:
    """Score every candidate and keep the top ``candidates_k`` per user (shared candidate schema)."""
    features = list(model.feature_names_)
    scored = frame[KEY].assign(score=model.predict(frame[features]).astype("float32"))
    return ranked(scored, settings.candidates_k)


def compare_models(
    truth: pd.DataFrame,
    reranked: pd.DataFrame,
    union: pd.DataFrame,
    settings: RerankerSettings,
    **candidates: pd.DataFrame,
) -> pd.DataFrame:
    """Every generator and the reranker on the same test users, plus the union's candidate recall
    (the reranker's ceiling) and each model's NDCG@ks_test[0] over the best single generator's."""
    ks = list(settings.ks_test)
    rows = [{"model": "reranker", **ranking_metrics(reranked, truth, ks), "candidate_recall": np.nan}]
    for name, frame in sorted(candidates.items()):
        row = {"model": name, **ranking_metrics(frame, truth, ks)}
        row["candidate_recall"] = candidate_recall(frame[frame["rank"] <= settings.per_generator_k], truth)
        rows.append(row)
    table = pd.DataFrame(rows)
    table.loc[table["model"] == "reranker", "candidate_recall"] = candidate_recall(union, truth)
    main = f"ndcg_{ks[0]}"
    table["gain_vs_best"] = table[main] / table[table["model"] != "reranker"][main].max()
    return table


def reranker_mlflow_metrics(comparison: pd.DataFrame, curves: pd.DataFrame) -> MetricHistory:
    """Reranker test metrics, its gain and candidate recall, and CatBoost's learning curves."""
    logged = mlflow_test_metrics(comparison.set_index("model").loc["reranker"])
    for column in curves.columns.drop("iteration"):
        logged[f"train.{mlflow_name(column)}"] = mlflow_series(curves["iteration"], curves[column])
    return logged
