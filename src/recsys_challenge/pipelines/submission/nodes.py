"""Build and validate the competition submission (``user_id,item_id`` with space-separated ids)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from recsys_challenge.core import ITEM, KEY, QUERY


class SubmissionError(ValueError):
    """The submission breaks the competition format."""


def _popular(interactions: pd.DataFrame) -> np.ndarray:
    counts = interactions.groupby(ITEM).size()
    return counts.sort_values(ascending=False, kind="stable").index.to_numpy()


def build_submission(
    candidates: pd.DataFrame, interactions: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Top-k unseen items per user of ``interactions`` from ranked candidates, filled with popular items.

    Every user with an event gets exactly ``k`` distinct unseen items; the result is validated. Candidates
    of catalog items no event mentions (a model may rank them: under the competition protocol an item's
    only events can all be hidden) are skipped, as the submission takes only items of the data.
    """
    k = int(params["k"])
    seen = interactions.groupby(QUERY)[ITEM].agg(set)
    candidates = candidates[candidates[ITEM].isin(interactions[ITEM])]
    ranked = candidates.sort_values([QUERY, "rank"], kind="stable").groupby(QUERY)[ITEM].agg(list)
    popular = _popular(interactions)
    rows = []
    for user, user_seen in seen.items():
        chosen: list[int] = []
        taken: set[int] = set()
        for item in [*ranked.get(user, []), *popular]:
            if item not in user_seen and item not in taken:
                chosen.append(int(item))
                taken.add(item)
                if len(chosen) == k:
                    break
        rows.append((user, " ".join(map(str, chosen))))
    submission = pd.DataFrame(rows, columns=[QUERY, ITEM])
    validate_submission(submission, interactions, params)
    return submission


def validate_submission(submission: pd.DataFrame, interactions: pd.DataFrame, params: dict[str, Any]) -> None:
    """Fail loudly unless every user has exactly ``k`` distinct, unseen, known items in the right format."""
    k = int(params["k"])
    problems: list[str] = []
    if list(submission.columns) != [QUERY, ITEM]:
        raise SubmissionError(f"submission header must be {[QUERY, ITEM]}, got {list(submission.columns)}")
    dup_users = submission[submission[QUERY].duplicated()][QUERY]
    if len(dup_users):
        problems.append(f"{len(dup_users)} duplicate user row(s), e.g. {dup_users.head().tolist()}")
    missing = sorted(set(interactions[QUERY]) - set(submission[QUERY]))
    if missing:
        problems.append(f"{len(missing)} user(s) missing, e.g. {missing[:5]}")
    lists = submission[ITEM].astype(str).str.split()
    try:
        parsed = lists.map(lambda xs: [int(x) for x in xs])
    except ValueError as exc:
        raise SubmissionError(
            f"submission column '{ITEM}' must hold space-separated integer ids: {exc}"
        ) from None
    wrong = parsed.map(len) != k
    if wrong.any():
        problems.append(
            f"{int(wrong.sum())} user(s) without exactly {k} items, e.g. users "
            f"{submission.loc[wrong, QUERY].head().tolist()}"
        )
    repeated = parsed.map(lambda xs: len(set(xs)) != len(xs))
    if repeated.any():
        problems.append(
            f"{int(repeated.sum())} user(s) with a repeated item, e.g. users "
            f"{submission.loc[repeated, QUERY].head().tolist()}"
        )
    pairs = pd.DataFrame({QUERY: submission[QUERY], ITEM: parsed}).explode(ITEM).dropna()
    pairs[ITEM] = pairs[ITEM].astype("int64")
    seen = pairs.merge(interactions[KEY].drop_duplicates(), on=KEY)
    if len(seen):
        problems.append(f"{len(seen)} already-seen item(s), e.g. {seen.head(3).to_dict('records')}")
    unknown = pairs[~pairs[ITEM].isin(interactions[ITEM])]
    if len(unknown):
        problems.append(
            f"{len(unknown)} item id(s) never seen in the data, e.g. {unknown[ITEM].head().tolist()}"
        )
    if problems:
        raise SubmissionError("invalid submission: " + "; ".join(problems))


def select_submission(source: str, **submissions: pd.DataFrame) -> pd.DataFrame:
    """Pick the submission of the model named by ``submission.source``."""
    if source not in submissions:
        raise ValueError(f"submission.source={source!r} is not among the models run: {sorted(submissions)}")
    return submissions[source]
