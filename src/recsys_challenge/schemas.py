"""Contracts of the competition's raw files, checked with pandera.

Every failure becomes one :class:`RawDataError` whose message names the file, the column, how many
rows fail and a few of them, so that a user can fix the file without reading a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

MAX_EXAMPLES = 5
BLANK_FILE_MAX_BYTES = 4096  # a larger file is not blank
GENRE_COLUMN = re.compile(r"^genre_\d+$")


class RawDataError(ValueError):
    """A raw file breaks its contract."""


def events_schema(rating_min: int, rating_max: int) -> pa.DataFrameSchema:
    """Contract of ``events.csv``: integer ids and timestamps, ratings in range, no duplicate event."""
    return pa.DataFrameSchema(
        {
            "user_id": pa.Column(int, nullable=False, checks=pa.Check.ge(0)),
            "item_id": pa.Column(int, nullable=False, checks=pa.Check.ge(0)),
            "rating": pa.Column(
                float, nullable=False, coerce=True, checks=pa.Check.in_range(rating_min, rating_max)
            ),
            "timestamp": pa.Column(int, nullable=False, checks=pa.Check.ge(0)),
        },
        strict=False,
    )


def user_features_schema() -> pa.DataFrameSchema:
    """Contract of ``user_features.csv``: one row per user, gender M/F, integer age bucket."""
    return pa.DataFrameSchema(
        {
            "user_id": pa.Column(int, nullable=False, unique=True, checks=pa.Check.ge(0)),
            "gender": pa.Column(str, nullable=False, checks=pa.Check.isin(["M", "F"])),
            "age": pa.Column(int, nullable=False, checks=pa.Check.ge(0)),
        },
        strict=False,
    )


def item_features_schema(genre_columns: list[str]) -> pa.DataFrameSchema:
    """Contract of ``item_features.csv``: one row per item and 0/1 ``genre_*`` flags."""
    columns = {"item_id": pa.Column(int, nullable=False, unique=True, checks=pa.Check.ge(0))}
    for name in genre_columns:
        columns[name] = pa.Column(int, nullable=False, checks=pa.Check.isin([0, 1]))
    return pa.DataFrameSchema(columns, strict=False)


def check_not_empty(path: str | Path, source: str) -> None:
    """Name an empty (or blank) file: pandas would only say "No columns to parse from file"."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size > BLANK_FILE_MAX_BYTES:
        return
    content = path.read_bytes()
    if not content.strip():
        raise RawDataError(
            f"{source}: the file is empty ({len(content)} bytes, {path}); it needs a header row and one "
            "row per record."
        )


def _describe(source: str, frame: pd.DataFrame, exc: SchemaErrors | SchemaError) -> str:
    cases = exc.failure_cases
    if cases is None or len(cases) == 0:
        return f"{source}: {exc}"
    lines = [f"{source} breaks its contract:"]
    cases = cases.copy()
    cases["column"] = cases["column"].fillna(cases.get("schema_context", "table"))
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        index = [i for i in group["index"].tolist() if i is not None and not pd.isna(i)]
        examples = frame.loc[[int(i) for i in index[:MAX_EXAMPLES]]] if index else group["failure_case"]
        shown = examples.head(MAX_EXAMPLES).to_string()
        count = len(index) if index else len(group)
        lines.append(f"  column '{column}': check '{check}' fails for {count} row(s); first offending rows:")
        lines.append("    " + shown.replace("\n", "\n    "))
    return "\n".join(lines)


def _require_rows_and_columns(source: str, frame: pd.DataFrame, required: list[str]) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise RawDataError(
            f"{source}: missing column(s) {missing}; found columns {list(frame.columns)}. "
            f"Required: {required}."
        )
    if frame.empty:
        raise RawDataError(f"{source}: the file has a header but no rows (column '{required[0]}' is empty).")


def _check_numeric(source: str, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Report non-numeric values per column before the schema sees object dtypes."""
    frame = frame.copy()
    for column in columns:
        if pd.api.types.is_numeric_dtype(frame[column]):
            continue
        parsed = pd.to_numeric(frame[column], errors="coerce")
        bad = frame[parsed.isna() & frame[column].notna()]
        if len(bad):
            raise RawDataError(
                f"{source}: column '{column}' must be numeric; {len(bad)} row(s) are not, "
                f"first offending rows:\n{bad.head(MAX_EXAMPLES).to_string()}"
            )
        frame[column] = parsed
    return frame


def _check_nulls(source: str, frame: pd.DataFrame, columns: list[str]) -> None:
    for column in columns:
        bad = frame[frame[column].isna()]
        if len(bad):
            raise RawDataError(
                f"{source}: column '{column}' has {len(bad)} null value(s); first offending rows:\n"
                f"{bad.head(MAX_EXAMPLES).to_string()}"
            )


def _check_integral(source: str, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        values = frame[column]
        if pd.api.types.is_integer_dtype(values):
            continue
        bad = frame[values != values.round()]
        if len(bad):
            raise RawDataError(
                f"{source}: column '{column}' must hold integers; {len(bad)} row(s) do not, "
                f"first offending rows:\n{bad.head(MAX_EXAMPLES).to_string()}"
            )
        frame[column] = values.astype("int64")
    return frame


def _validate(
    source: str, frame: pd.DataFrame, schema: pa.DataFrameSchema, numeric: list[str], integral: list[str]
) -> pd.DataFrame:
    _require_rows_and_columns(source, frame, list(schema.columns))
    frame = _check_numeric(source, frame, numeric)
    _check_nulls(source, frame, list(schema.columns))
    frame = _check_integral(source, frame, integral)
    try:
        return schema.validate(frame, lazy=True)
    except (SchemaErrors, SchemaError) as exc:
        raise RawDataError(_describe(source, frame, exc)) from None


EVENT_KEY = ["user_id", "item_id", "timestamp"]


def validate_events(
    frame: pd.DataFrame, source: str, rating_min: int, rating_max: int, duplicates: str = "error"
) -> pd.DataFrame:
    """Validate ``events.csv``; returns the frame with integer id and timestamp columns.

    ``duplicates`` is the policy for repeated (user_id, item_id, timestamp) rows: ``error`` or ``drop``.
    """
    frame = _validate(source, frame, events_schema(rating_min, rating_max), [*EVENT_KEY, "rating"], EVENT_KEY)
    repeated = frame.duplicated(EVENT_KEY, keep=False)
    if repeated.any() and duplicates == "error":
        bad = frame[repeated]
        raise RawDataError(
            f"{source}: columns {EVENT_KEY} have {int(frame.duplicated(EVENT_KEY).sum())} duplicate event(s) "
            f"(set data_processing.duplicates: drop to keep the first); first offending rows:\n"
            f"{bad.head(MAX_EXAMPLES).to_string()}"
        )
    return frame.drop_duplicates(EVENT_KEY, keep="first") if repeated.any() else frame


def validate_user_features(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Validate ``user_features.csv``."""
    return _validate(source, frame, user_features_schema(), ["user_id", "age"], ["user_id", "age"])


def validate_item_features(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Validate ``item_features.csv``; at least one ``genre_*`` column is required."""
    genres = [c for c in frame.columns if GENRE_COLUMN.match(str(c))]
    if not genres and "item_id" in frame.columns:
        raise RawDataError(f"{source}: no 'genre_<n>' column; found columns {list(frame.columns)}.")
    schema = item_features_schema(genres)
    return _validate(source, frame, schema, ["item_id", *genres], ["item_id", *genres])
