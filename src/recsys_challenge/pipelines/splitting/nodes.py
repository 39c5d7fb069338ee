"""Per-user time split with RePlay splitters, leak-free for a two-stage recommender."""

from __future__ import annotations

from typing import Any

import pandas as pd
from replay.splitters import LastNSplitter, RatioSplitter

from recsys_challenge.core import ITEM, ORDER, POSITION, QUERY

from .gaps import gaps_splitter, raw_targets, truth_targets

PROTOCOLS = ("auto", "next_item", "gaps")


def _splitter(holdout: dict[str, Any], drop_cold_users: bool, drop_cold_items: bool):
    common = {
        "divide_column": QUERY,
        "query_column": QUERY,
        "item_column": ITEM,
        # `order` is the per-user position with deterministic tie-breaking (see data_processing)
        "timestamp_column": ORDER,
        "drop_cold_users": drop_cold_users,
        "drop_cold_items": drop_cold_items,
    }
    strategy = holdout["strategy"]
    if strategy == "gaps":
        return gaps_splitter(holdout, drop_cold_users, drop_cold_items)
    if strategy == "last_n":
        return LastNSplitter(N=int(holdout["n"]), strategy="interactions", **common)
    if strategy == "ratio":
        return RatioSplitter(test_size=float(holdout["fraction"]), **common)
    raise ValueError(f"splitting holdout strategy must be 'last_n', 'ratio' or 'gaps', got {strategy!r}")


def has_holes(interactions: pd.DataFrame) -> bool:
    """Whether some user's positions skip an index (order-index timestamps with hidden events)."""
    return bool((interactions[POSITION] != interactions[ORDER]).any())


def window_holdout(interactions: pd.DataFrame, params: dict[str, Any], window: str) -> dict[str, Any]:
    """The holdout of ``window`` (test or rerank) under ``splitting.protocol``: ``next_item`` takes the
    ``splitting.<window>`` block, ``gaps`` hides random positions as ``splitting.gaps.<window>`` says,
    ``auto`` picks gaps when the data already has holes (the competition's form), next_item otherwise."""
    protocol = params.get("protocol", "auto")
    if protocol not in PROTOCOLS:
        raise ValueError(f"splitting.protocol must be one of {PROTOCOLS}, got {protocol!r}")
    if protocol == "gaps" or (protocol == "auto" and has_holes(interactions)):
        return {"strategy": "gaps", **params["gaps"][window]}
    return params[window]


def split_window(
    interactions: pd.DataFrame, params: dict[str, Any], window: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``split_holdout`` with the holdout ``window_holdout`` picks for ``window`` (test or rerank)."""
    return split_holdout(interactions, window_holdout(interactions, params, window), params)


def window_targets(
    source: pd.DataFrame,
    history: pd.DataFrame,
    truth: pd.DataFrame,
    params: dict[str, Any],
    window: str,
) -> pd.DataFrame:
    """The positions a window's candidates answer. Next-item: its hidden events (``truth_targets``).
    Gaps: every unknown position of ``history`` and the slot after its end, as in the final window
    (``raw_targets``): there a model cannot tell the hidden events from the rest, so here it must not
    either. Answering only the window's own holes favoured the models that read positions, which never
    spent a guess on the raw data's holes, while a user's taste (SLIM, ALS) did and lost it: the test
    window ranked SASRec over SLIM where the competition's hidden events rank them the other way.
    Labels still come from ``truth`` alone. ``source`` is the fold the window was split from."""
    if window_holdout(source, params, window)["strategy"] == "gaps":
        return raw_targets(history, params["tail_weight"])
    return truth_targets(truth, history)


def split_holdout(
    interactions: pd.DataFrame, holdout: dict[str, Any], params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split each user's events into (history, holdout): the holdout is the user's last events (or, with
    the ``gaps`` strategy, a random share of them, positions kept).

    Users with fewer than ``min_events_to_split`` events keep all events in the history. Cold users and
    items of the holdout are dropped by RePlay's splitter when the parameters say so; the short users it
    never saw only add items to the history, so no holdout item is cold in the history returned.
    """
    sizes = interactions.groupby(QUERY)[ITEM].transform("size")
    short = interactions[sizes < params["min_events_to_split"]]
    splittable = interactions[sizes >= params["min_events_to_split"]]
    splitter = _splitter(holdout, params["drop_cold_users"], params["drop_cold_items"])
    history, held_out = splitter.split(splittable)
    history = pd.concat([history, short]).sort_values([QUERY, ORDER], kind="stable")
    held_out = held_out.sort_values([QUERY, ORDER], kind="stable")
    return history.reset_index(drop=True), held_out.reset_index(drop=True)


def split_summary(folds: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows, users and items per fold, for the README and the logs."""
    rows = [
        {"fold": name, "rows": len(f), "users": f[QUERY].nunique(), "items": f[ITEM].nunique()}
        for name, f in folds.items()
    ]
    return pd.DataFrame(rows)


def summarise_folds(
    interactions: pd.DataFrame,
    gen_train: pd.DataFrame,
    rerank_gt: pd.DataFrame,
    test_history: pd.DataFrame,
    test_gt: pd.DataFrame,
) -> pd.DataFrame:
    """Size table of every fold (``full`` is all interactions)."""
    return split_summary(
        {
            "gen_train": gen_train,
            "rerank_gt": rerank_gt,
            "test_history": test_history,
            "test_gt": test_gt,
            "full": interactions,
        }
    )
