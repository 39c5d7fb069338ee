"""Per-user time split with RePlay splitters, leak-free for a two-stage recommender."""

from __future__ import annotations

import pandas as pd
from replay.splitters import LastNSplitter, RatioSplitter

from recsys_challenge.core import GAPS, ITEM, NEXT_ITEM, ORDER, POSITION, PROTOCOL, PROTOCOLS, QUERY

from .gaps import GapsSplitter, raw_targets, truth_targets
from .settings import AUTO, GapsHoldout, NextItemHoldout, SplittingSettings


def _splitter(holdout: NextItemHoldout | GapsHoldout, drop_cold_users: bool, drop_cold_items: bool):
    if isinstance(holdout, GapsHoldout):
        return GapsSplitter(holdout, drop_cold_users, drop_cold_items)
    common = {
        "divide_column": QUERY,
        "query_column": QUERY,
        "item_column": ITEM,
        # `order` is the per-user position with deterministic tie-breaking (see data_processing)
        "timestamp_column": ORDER,
        "drop_cold_users": drop_cold_users,
        "drop_cold_items": drop_cold_items,
    }
    if holdout.strategy == "last_n":
        return LastNSplitter(N=holdout.n, strategy="interactions", **common)
    return RatioSplitter(test_size=holdout.fraction, **common)


def has_holes(interactions: pd.DataFrame) -> bool:
    """Whether some user's positions skip an index (order-index timestamps with hidden events)."""
    return bool((interactions[POSITION] != interactions[ORDER]).any())


def _decided(protocol: str) -> str:
    """``protocol`` if it is a decided one (next_item or gaps), else an error."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"{PROTOCOL} must be one of {list(PROTOCOLS)}, got {protocol!r}")
    return protocol


def decide_protocol(interactions: pd.DataFrame, settings: SplittingSettings) -> str:
    """How the test and rerank windows are split, decided once for every later node (the ``split_protocol``
    dataset): ``splitting.protocol`` when it names one, else (``auto``) gaps when the raw data already has
    holes (the competition's form), next_item otherwise."""
    if settings.protocol != AUTO:
        return settings.protocol
    return GAPS if has_holes(interactions) else NEXT_ITEM


def split_window(
    interactions: pd.DataFrame, protocol: str, settings: SplittingSettings, window: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``split_holdout`` of ``window`` (test or rerank) under the decided ``protocol``: next_item holds out
    each user's last events as ``splitting.<window>`` says, gaps hides random positions as
    ``splitting.gaps.<window>`` says."""
    return split_holdout(interactions, settings.holdout(_decided(protocol), window), settings)


def window_targets(
    history: pd.DataFrame,
    truth: pd.DataFrame,
    protocol: str,
    settings: SplittingSettings,
    window: str,
) -> pd.DataFrame:
    """The positions a window's candidates answer. Next-item: its hidden events (``truth_targets``).
    Gaps: every unknown position of ``history`` and the slot after its end, as in the final window
    (``raw_targets``): there a model cannot tell the hidden events from the rest, so here it must not
    either. Answering only the window's own holes favoured the models that read positions, which never
    spent a guess on the raw data's holes, while a user's taste (SLIM, ALS) did and lost it: the test
    window ranked SASRec over SLIM where the competition's hidden events rank them the other way.
    Labels still come from ``truth`` alone; ``protocol`` is the decided one (``decide_protocol``)."""
    if _decided(protocol) == GAPS:
        return raw_targets(history, settings.tail_weight)
    return truth_targets(truth, history)


def split_holdout(
    interactions: pd.DataFrame, holdout: NextItemHoldout | GapsHoldout, settings: SplittingSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split each user's events into (history, holdout): the holdout is the user's last events (or, with
    a gaps holdout, a random share of them, positions kept).

    Users with fewer than ``min_events_to_split`` events keep all events in the history. Cold users and
    items of the holdout are dropped by RePlay's splitter when the parameters say so; the short users it
    never saw only add items to the history, so no holdout item is cold in the history returned.
    """
    sizes = interactions.groupby(QUERY)[ITEM].transform("size")
    short = interactions[sizes < settings.min_events_to_split]
    splittable = interactions[sizes >= settings.min_events_to_split]
    splitter = _splitter(holdout, settings.drop_cold_users, settings.drop_cold_items)
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
