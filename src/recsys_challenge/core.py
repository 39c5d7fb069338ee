"""One home for the names every pipeline shares: columns, windows, ranking and MLflow helpers."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

# ----------------------------------------------------------------------------- columns
QUERY, ITEM = "user_id", "item_id"
RATING, TIMESTAMP = "rating", "timestamp"
ORDER = "order"  # per-user 0..n-1 rank of the visible events, ties broken by file row (data_processing)
# per-user slot of an event: its order index where the raw timestamps are order indices with holes
# (the competition's hidden events sit in the holes), else its rank; folds keep it, so holes stay visible
POSITION = "position"
KEY = [QUERY, ITEM]
CANDIDATE_COLUMNS = [QUERY, ITEM, "score", "rank"]
GENRE_PREFIX = "genre_"


def genre_columns(items: pd.DataFrame | Iterable[str]) -> list[str]:
    """The ``genre_*`` flag columns of an item table (or of a list of column names), in file order."""
    columns = items.columns if isinstance(items, pd.DataFrame) else items
    return [c for c in columns if str(c).startswith(GENRE_PREFIX)]


# ----------------------------------------------------------------------------- windows
@dataclass(frozen=True)
class Window:
    """A prediction window: the fold a model may see and the fold that holds its truth (if known)."""

    history: str
    truth: str | None


# in time order; each later window sees everything of the one before it
WINDOWS: dict[str, Window] = {
    "rerank": Window(history="fold_gen_train", truth="fold_rerank_gt"),
    "test": Window(history="fold_test_history", truth="fold_test_gt"),
    "final": Window(history="interactions", truth=None),
}
LATER_WINDOWS = ("test", "final")

# ----------------------------------------------------------------------------- protocols
# how the test and rerank windows were split: each user's last events (next_item) or events hidden at
# random positions (gaps, the competition's form); the splitting pipeline decides once and saves it
NEXT_ITEM, GAPS = "next_item", "gaps"
PROTOCOLS = (NEXT_ITEM, GAPS)
PROTOCOL = "split_protocol"  # the catalog's dataset holding that decision (a JSON string)


# ----------------------------------------------------------------------------- ranking
def ranked(scores: pd.DataFrame, k: int | None = None) -> pd.DataFrame:
    """The candidate schema from scored pairs: sort by score within user (ties by item), keep the best
    ``k`` and number them 1..k."""
    top = scores.sort_values([QUERY, "score", ITEM], ascending=[True, False, True], kind="stable")
    top = top.assign(rank=top.groupby(QUERY).cumcount().astype("int32") + 1)
    if k is not None:
        top = top[top["rank"] <= k]
    return top[CANDIDATE_COLUMNS].reset_index(drop=True).astype({QUERY: "int64", ITEM: "int64"})


# ----------------------------------------------------------------------------- MLflow
MetricHistory = dict[str, list[dict[str, float]]]


def mlflow_value(value: float) -> list[dict[str, float]]:
    """One scalar in kedro-mlflow's metric-history format (step 0)."""
    return [{"step": 0, "value": float(value)}]


def mlflow_series(steps: Iterable, values: Iterable) -> list[dict[str, float]]:
    """A curve (step = epoch or iteration) in kedro-mlflow's metric-history format; NaN values skipped."""
    return [{"step": int(s), "value": float(v)} for s, v in zip(steps, values, strict=True) if pd.notna(v)]


def mlflow_name(name: str) -> str:
    """A metric name MLflow accepts ('@', ':', '=' and ';' become '_')."""
    for char in "@:=;":
        name = name.replace(char, "_")
    return name


def for_window(func: Callable[..., Any], window: str, name: str) -> Callable[..., Any]:
    """``func`` with its ``window`` argument bound, named ``name`` for Kedro and kedro-viz: one node
    function per prediction window. A plain function, not a ``functools.partial``: Kedro's parameter
    validation reads its type hints and signature (``window`` left out)."""

    @functools.wraps(func)
    def bound(*args: Any, **kwargs: Any) -> Any:
        return func(*args, window=window, **kwargs)

    signature = inspect.signature(func)
    bound.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name != "window"]
    )
    bound.__annotations__ = {k: v for k, v in func.__annotations__.items() if k != "window"}
    bound.__name__ = bound.__qualname__ = name
    bound.__doc__ = f"``{func.__name__}`` for the {window} window."
    return bound
