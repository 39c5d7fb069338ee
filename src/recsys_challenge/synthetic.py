"""Seeded, license-free synthetic data in the competition's raw format.

The generator gives the data the structure the real competition data has and the models exploit:

* **popularity skew**: item popularity follows a Zipf law;
* **user taste**: each user prefers a few genres, with a demographic tilt (gender, age);
* **sequential structure**: items of a genre form an ordered "series"; after watching an item a user
  tends to continue with its next few items in the series, so the next item depends on the last ones.

Usage: ``python -m recsys_challenge.synthetic data/01_raw --users 600 --items 400 --seed 42``.
Large sizes (millions of events) are generated in vectorised chunks per user.

``--hidden 0.106`` writes the competition's form instead: ``timestamp`` becomes each user's order index
and a seeded random share of the events is removed with its index kept (the holes), as the competition
hid its test events; the removed events go to ``hidden_events.csv`` so submissions can be scored.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

AGE_BUCKETS = np.array([1, 18, 25, 35, 45, 50, 56])
START_TIMESTAMP = 956_703_932  # the first MovieLens-1M timestamp: plausible unix seconds


@dataclass(frozen=True)
class SyntheticConfig:
    """Sizes and strengths of the generated signal."""

    n_users: int = 600
    n_items: int = 400
    n_genres: int = 18
    mean_events: float = 55.0
    min_events: int = 3
    max_events: int = 300
    p_continue_series: float = 0.55
    p_taste: float = 0.30
    zipf_exponent: float = 1.0
    tie_share: float = 0.02
    seed: int = 42


def _item_catalog(cfg: SyntheticConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Primary genre per item and genre flags (1-3 genres per item)."""
    primary = rng.integers(0, cfg.n_genres, size=cfg.n_items)
    flags = np.zeros((cfg.n_items, cfg.n_genres), dtype=np.int8)
    flags[np.arange(cfg.n_items), primary] = 1
    extra = rng.integers(0, cfg.n_genres, size=(cfg.n_items, 2))
    keep = rng.random((cfg.n_items, 2)) < np.array([0.5, 0.2])
    for col in range(2):
        rows = np.flatnonzero(keep[:, col])
        flags[rows, extra[rows, col]] = 1
    return primary, flags


def _users(cfg: SyntheticConfig, rng: np.random.Generator) -> pd.DataFrame:
    gender = np.where(rng.random(cfg.n_users) < 0.7, "M", "F")
    age = rng.choice(AGE_BUCKETS, size=cfg.n_users, p=[0.04, 0.18, 0.35, 0.2, 0.09, 0.08, 0.06])
    return pd.DataFrame({"user_id": np.arange(cfg.n_users), "gender": gender, "age": age})


def _taste(cfg: SyntheticConfig, users: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Genre preference per user: a Dirichlet draw tilted by gender and age."""
    base = rng.dirichlet(np.full(cfg.n_genres, 0.3), size=cfg.n_users)
    tilt = np.ones((cfg.n_users, cfg.n_genres))
    female = (users["gender"] == "F").to_numpy()
    young = (users["age"] <= 25).to_numpy()
    tilt[female, : cfg.n_genres // 3] *= 2.0
    tilt[young, cfg.n_genres // 3 : 2 * cfg.n_genres // 3] *= 2.0
    taste = base * tilt
    return taste / taste.sum(axis=1, keepdims=True)


def generate(cfg: SyntheticConfig | None = None) -> dict[str, pd.DataFrame]:
    """Generate ``events``, ``item_features`` and ``user_features`` tables."""
    cfg = cfg or SyntheticConfig()
    rng = np.random.default_rng(cfg.seed)
    primary, flags = _item_catalog(cfg, rng)
    users = _users(cfg, rng)
    taste = _taste(cfg, users, rng)

    popularity = 1.0 / np.arange(1, cfg.n_items + 1) ** cfg.zipf_exponent
    popularity = popularity[rng.permutation(cfg.n_items)]
    popularity /= popularity.sum()
    series = [np.flatnonzero(primary == g) for g in range(cfg.n_genres)]
    position = np.empty(cfg.n_items, dtype=np.int64)
    for members in series:
        position[members] = np.arange(len(members))
    genre_pop = [popularity[m] / popularity[m].sum() if len(m) else m for m in series]

    lengths = np.clip(
        rng.lognormal(np.log(cfg.mean_events) - 0.5, 1.0, size=cfg.n_users).astype(int),
        cfg.min_events,
        min(cfg.max_events, cfg.n_items // 2),  # leaves every user enough unseen items
    )
    rows_user, rows_item, rows_ts = [], [], []
    for user in range(cfg.n_users):
        seen: set[int] = set()
        seq: list[int] = []
        current = -1
        while len(seq) < lengths[user]:
            draw = rng.random()
            item = -1
            if current >= 0 and draw < cfg.p_continue_series:
                members = series[primary[current]]
                step = int(rng.integers(1, 4))
                nxt = position[current] + step
                if nxt < len(members):
                    item = int(members[nxt])
            elif draw < cfg.p_continue_series + cfg.p_taste:
                genre = int(rng.choice(cfg.n_genres, p=taste[user]))
                if len(series[genre]):
                    item = int(rng.choice(series[genre], p=genre_pop[genre]))
            if item < 0 or item in seen:
                item = int(rng.choice(cfg.n_items, p=popularity))
            if item in seen:
                continue
            seen.add(item)
            seq.append(item)
            current = item
        gaps = rng.exponential(3600.0, size=len(seq)).astype(np.int64) + 1
        gaps[rng.random(len(seq)) < cfg.tie_share] = 0  # deliberate timestamp ties
        start = START_TIMESTAMP + int(rng.integers(0, 3 * 365 * 86400))
        rows_user.append(np.full(len(seq), user))
        rows_item.append(np.asarray(seq))
        rows_ts.append(start + np.cumsum(gaps))

    items = np.concatenate(rows_item)
    affinity = taste[np.concatenate(rows_user), primary[items]]
    rating = np.clip(np.round(2.5 + 8.0 * affinity + rng.normal(0, 0.9, size=len(items))), 1, 5)
    events = pd.DataFrame(
        {
            "user_id": np.concatenate(rows_user),
            "item_id": items,
            "rating": rating.astype(int),
            "timestamp": np.concatenate(rows_ts),
        }
    )
    item_features = pd.DataFrame(flags, columns=[f"genre_{g}" for g in range(cfg.n_genres)])
    item_features.insert(0, "item_id", np.arange(cfg.n_items))
    return {"events": events, "item_features": item_features, "user_features": users}


def hide_events(events: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The competition's form of ``events``: per-user order indices (time order, ties by row) as
    ``timestamp``, then a seeded random ``fraction`` of the rows removed, their indices left as holes.
    Returns (visible events, hidden events)."""
    ordered = events.reset_index(drop=True).sort_values(["user_id", "timestamp"], kind="stable")
    ordered = ordered.assign(timestamp=ordered.groupby("user_id").cumcount().astype("int64"))
    hidden = np.random.default_rng(seed).random(len(ordered)) < float(fraction)
    return ordered[~hidden].reset_index(drop=True), ordered[hidden].reset_index(drop=True)


def write(tables: dict[str, pd.DataFrame], out_dir: str | Path) -> None:
    """Write the tables as the competition's CSV files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out_dir")
    defaults = SyntheticConfig()
    parser.add_argument("--users", type=int, default=defaults.n_users)
    parser.add_argument("--items", type=int, default=defaults.n_items)
    parser.add_argument("--mean-events", type=float, default=defaults.mean_events)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--hidden", type=float, default=0.0, help="share of events hidden at their order index (0.106)"
    )
    args = parser.parse_args(argv)
    cfg = SyntheticConfig(
        n_users=args.users, n_items=args.items, mean_events=args.mean_events, seed=args.seed
    )
    tables = generate(cfg)
    if args.hidden:
        tables["events"], tables["hidden_events"] = hide_events(tables["events"], args.hidden, args.seed)
    write(tables, args.out_dir)
    events = tables["events"]
    print(f"{len(events)} events, {events.user_id.nunique()} users, {events.item_id.nunique()} items")


if __name__ == "__main__":
    main()
