"""Validate the raw competition files and build the primary interactions table."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from recsys_challenge.core import ORDER, POSITION, QUERY, TIMESTAMP
from recsys_challenge.schemas import (
    MAX_EXAMPLES,
    RawDataError,
    validate_events,
    validate_item_features,
    validate_user_features,
)

# no unix time in seconds is this small (1970-04-26): larger timestamps are never order indices
MAX_ORDER_INDEX = 10_000_000
TIMESTAMP_KINDS = ("auto", "unix", "order")
logger = logging.getLogger(__name__)


def validate_raw_events(events: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Check ``events.csv`` against its contract (see :mod:`recsys_challenge.schemas`)."""
    return validate_events(
        events,
        source=params["sources"]["events"],
        rating_min=params["rating_min"],
        rating_max=params["rating_max"],
        duplicates=params["duplicates"],
    )


def validate_raw_items(item_features: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Check ``item_features.csv`` against its contract."""
    return validate_item_features(item_features, source=params["sources"]["item_features"])


def validate_raw_users(user_features: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Check ``user_features.csv`` against its contract."""
    return validate_user_features(user_features, source=params["sources"]["user_features"])


def _unknown(events: pd.DataFrame, column: str, known: pd.Series) -> pd.DataFrame:
    return events[~events[column].isin(known)]


def check_references(
    events: pd.DataFrame, items: pd.DataFrame, users: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Apply the ``unknown_ids`` policy to events whose user or item is absent from the feature tables.

    ``error`` stops the run naming the file, the column and examples; ``drop`` removes those events;
    ``keep`` leaves them (their features are then missing downstream).
    """
    policy = params["unknown_ids"]
    if policy not in {"error", "drop", "keep"}:
        raise ValueError(f"data_processing.unknown_ids must be error, drop or keep, got {policy!r}")
    source = params["sources"]["events"]
    bad_mask = pd.Series(False, index=events.index)
    for column, table, table_name in (
        ("item_id", items, "item_features"),
        ("user_id", users, "user_features"),
    ):
        unknown = _unknown(events, column, table[column])
        if len(unknown) and policy == "error":
            raise RawDataError(
                f"{source}: column '{column}' has {len(unknown)} event(s) with ids absent from "
                f"{params['sources'][table_name]} ({unknown[column].nunique()} distinct ids); "
                f"set data_processing.unknown_ids to drop or keep to proceed. First offending rows:\n"
                f"{unknown.head(MAX_EXAMPLES).to_string()}"
            )
        bad_mask |= events.index.isin(unknown.index)
    return events[~bad_mask] if policy == "drop" else events


def build_primary(
    events: pd.DataFrame, items: pd.DataFrame, users: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Cross-check the validated tables and emit the primary layer in one step.

    Nothing is written before all three files and their references pass, so a bad file never leaves a
    half-updated primary layer behind.
    """
    events = check_references(events, items, users, params)
    ordered = order_interactions(events, params.get("timestamps", "auto"), params["sources"]["events"])
    return ordered, items.sort_values("item_id"), users.sort_values("user_id")


def order_interactions(
    events: pd.DataFrame, timestamps: str = "auto", source: str = "events"
) -> pd.DataFrame:
    """Sort events per user by time; add ``order`` (a per-user 0..n-1 rank) and ``position``.

    Ties inside a user keep the file's row order (a stable sort), so the same file always yields the
    same sequences and splits. ``position`` is the timestamp itself where timestamps are per-user order
    indices (the competition's form: its hidden events are the holes), else the rank. ``timestamps``:
    ``order``, ``unix`` or ``auto`` (order indices when every timestamp is below ``MAX_ORDER_INDEX`` and
    none repeats within a user).
    """
    if timestamps not in TIMESTAMP_KINDS:
        raise ValueError(f"data_processing.timestamps must be one of {TIMESTAMP_KINDS}, got {timestamps!r}")
    ordered = events.reset_index(drop=True).sort_values([QUERY, TIMESTAMP], kind="stable")
    ordered = ordered.reset_index(drop=True)
    ordered[ORDER] = ordered.groupby(QUERY).cumcount().astype("int64")
    repeated = ordered[ordered.duplicated([QUERY, TIMESTAMP], keep=False)]
    small = len(ordered) == 0 or ordered[TIMESTAMP].max() < MAX_ORDER_INDEX
    if timestamps == "order" and len(repeated):
        raise RawDataError(
            f"{source}: column '{TIMESTAMP}' is read as per-user order indices (data_processing.timestamps:"
            f" order), but {len(repeated)} row(s) share a user's index; first offending rows:\n"
            f"{repeated.head(MAX_EXAMPLES).to_string()}"
        )
    as_order = timestamps == "order" or (timestamps == "auto" and small and repeated.empty)
    ordered[POSITION] = (ordered[TIMESTAMP] if as_order else ordered[ORDER]).astype("int64")
    if as_order:
        slots = ordered.groupby(QUERY)[POSITION].max().add(1).sum()
        logger.info(
            "%s: timestamps are per-user order indices; %.1f%% of the positions up to each user's last "
            "event are holes (hidden events)",
            source,
            100.0 * (1 - len(ordered) / max(slots, 1)),
        )
    return ordered[[QUERY, "item_id", "rating", TIMESTAMP, ORDER, POSITION]]
