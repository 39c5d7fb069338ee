"""Retrain the reranker on the stored draws of ``run_gaps.py``, one variant at a time, and score each
variant's submission on the hidden events: negative sampling, CatBoost's settings, and the reranker
without a generator.

    python benchmarks/run_gaps.py --seeds 0,1,2          # first: the stored runs
    python benchmarks/reranker_variants.py --seeds 0,1,2
    python benchmarks/run_gaps.py --seeds 0,1,2 --pipeline competition
    python benchmarks/reranker_variants.py --seeds 0,1,2 --pipeline competition --variants all,lr0.1
    python benchmarks/run_whole.py competition_pipeline --raw /tmp/ml1m --env competition \
        --pipelines competition
    python benchmarks/reranker_variants.py --whole competition_pipeline --variants all,yetirank_p3

``--whole NAME`` retrains on the stored project of a ``run_whole.py`` run instead (its environment and
pipeline as that run's row in ``whole_runs.json`` names them, its hidden events from its raw folder's
``hidden_events.csv``, as ``recsys_challenge.synthetic --hidden`` writes them), one draw.
A variant runs the project's reranker namespace and the reranker's submission node in this process, on
the draw's stored candidates and features, with runtime parameters over ``conf/benchmark_gaps``. Every
variant rebuilds the union and its features (a variant without a generator from the others), so that
none reads what another left behind; every variant, ``all`` (the stored run's own settings) included,
runs side by side on the same draws, so the seconds compare.
Results: ``benchmarks/results/reranker_variants.md`` (and ``.json``); ``reranker_variants_<pipeline>.md``
for the draws of another registered pipeline, whose generators are then the union's;
``reranker_variants_<NAME>.md`` for ``--whole NAME``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from common import RESULTS, WORK, commit_label, kept_notes, machine, markdown_table
from kedro.runner import SequentialRunner
from project import session
from run_gaps import DEFAULT, ENV, competition_raw, pipeline_flag, stem

from recsys_challenge.evaluation import score_submission
from recsys_challenge.pipeline_registry import EVERY_GENERATOR, WHOLE_RUNS
from recsys_challenge.pipelines import reranker, submission

# name: (runtime parameters of the ``reranker`` block, generators left out)
VARIANTS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "all": ({}, ()),
    "seed43": ({"seed": 43}, ()),  # the shipped settings with another seed: the reranker's own noise
    "hard20_random10": ({"negatives": {"hard": 20, "random": 10}}, ()),
    "hard10_random5": ({"negatives": {"hard": 10, "random": 5}}, ()),
    "lr0.1": ({"catboost": {"learning_rate": 0.1}}, ()),
    "lr0.2": ({"catboost": {"learning_rate": 0.2}}, ()),
    "yetirank_p3": ({"catboost": {"loss_function": "YetiRank:permutations=3"}}, ()),
    "yetirank_p3_lr0.1": (
        {"catboost": {"loss_function": "YetiRank:permutations=3", "learning_rate": 0.1}},
        (),
    ),
    "border64": ({"catboost": {"border_count": 64}}, ()),
    "yetirank_p3_border64": (
        {"catboost": {"loss_function": "YetiRank:permutations=3", "border_count": 64}},
        (),
    ),
    **{f"without_{g}": ({}, (g,)) for g in EVERY_GENERATOR},
}


@dataclass(frozen=True)
class Stored:
    """One stored run whose reranker a variant retrains: its scratch project, environment, whole run
    (the registered pipeline whose generators feed the union), draw and hidden events."""

    project: Path
    env: str
    run: str
    seed: int
    hidden: pd.DataFrame


def gaps_draw(seed: int, run: str = DEFAULT) -> Stored:
    """Draw ``seed`` of ``run_gaps.py`` (MovieLens-100k under ``conf/benchmark_gaps``)."""
    _, hidden = competition_raw(seed)
    return Stored(WORK / f"{stem(run)}_s{seed}", ENV, run, seed, hidden)


def whole_run(name: str) -> Stored:
    """The stored project of the ``run_whole.py`` run ``name``, as its ``whole_runs.json`` row ran it."""
    rows = {r["name"]: r for r in json.loads((RESULTS / "whole_runs.json").read_text())}
    if name not in rows:
        raise SystemExit(f"no run {name!r} in whole_runs.json: run benchmarks/run_whole.py {name} first")
    words = rows[name]["command"].split()
    flag = {k: v for k, v in itertools.pairwise(words) if k.startswith("--")}
    hidden = Path(rows[name]["raw"]) / "hidden_events.csv"
    if not hidden.exists():
        raise SystemExit(f"{hidden} is missing: --whole needs raw data made with synthetic --hidden")
    run = flag.get("--pipelines", DEFAULT)
    return Stored(WORK / name, flag.get("--env", "base"), run, 0, pd.read_csv(hidden))


def run_variant(stored: Stored, name: str) -> dict[str, Any]:
    """One variant on one stored run: its reranker's seconds and its submission's hidden-event scores."""
    params, left_out = VARIANTS[name]
    pipeline = reranker.create_pipeline(tuple(g for g in WHOLE_RUNS[stored.run] if g not in left_out))
    pipeline += submission.create_pipeline(("reranker",), choose=False)
    with session(stored.project, stored.env, {"reranker": params} if params else None) as kedro:
        catalog = kedro.load_context().catalog
        start = time.perf_counter()
        SequentialRunner().run(pipeline, catalog)
        seconds = time.perf_counter() - start
        comparison = catalog.load("reranker.comparison")
        hidden_scores = score_submission(catalog.load("reranker.submission"), stored.hidden, [10])
    test = comparison.set_index("model").loc["reranker"]
    return {
        "variant": name,
        "seed": stored.seed,
        "seconds": seconds,
        "test_ndcg_10": float(test["ndcg_10"]),
        "hidden_ndcg_10": hidden_scores["ndcg_10"],
        "hidden_recall_10": hidden_scores["recall_10"],
    }


def write(
    rows: list[dict[str, Any]], variants: list[str], run: str = DEFAULT, whole: str | None = None
) -> None:
    """The results file of the ``run_gaps.py`` draws of ``run``, or of the ``run_whole.py`` run ``whole``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = whole or (DEFAULT if run == DEFAULT else run)
    path = RESULTS / ("reranker_variants.md" if name == DEFAULT else f"reranker_variants_{name}.md")
    path.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    frame = pd.DataFrame(rows)
    table = frame.groupby("variant", sort=False).agg(
        hidden_ndcg_10=("hidden_ndcg_10", "mean"),
        hidden_min=("hidden_ndcg_10", "min"),
        hidden_max=("hidden_ndcg_10", "max"),
        test_ndcg_10=("test_ndcg_10", "mean"),
        seconds=("seconds", "mean"),
        seeds=("seed", "nunique"),
    )
    base = frame[frame["variant"] == "all"].set_index("seed")["hidden_ndcg_10"]
    delta = frame.assign(delta=frame["hidden_ndcg_10"] - frame["seed"].map(base))
    table["delta_min"] = delta.groupby("variant", sort=False)["delta"].min()
    table["delta_max"] = delta.groupby("variant", sort=False)["delta"].max()
    seeds = ",".join(str(s) for s in sorted(frame["seed"].unique()))
    if whole:
        source = f"stored `run_whole.py {whole}` project (one draw, the hidden events of its synthetic data)"
        command = f"--whole {whole}"
        after = f"`run_whole.py {whole}`"
    else:
        source = f"stored `run_gaps.py{pipeline_flag(run)}` draws (MovieLens-100k, 10.6% of events hidden)"
        command = f"--seeds {seeds}{pipeline_flag(run)}"
        after = "`run_gaps.py`"
    lines = [
        "# Reranker variants on the competition protocol's stored draws",
        "",
        f"Machine: {machine()}, CPU only; commit {commit_label()}. Each row retrains the reranker of the "
        f"{source} with one change and scores its submission on the hidden events. "
        "`delta_min`/`delta_max`: the change against `all` on the same draw. `seconds`: the reranker "
        "nodes and its submission in one process, side by side. Reproduce: "
        f"`python benchmarks/reranker_variants.py {command} --variants {','.join(variants)}` after {after}.",
        "",
        markdown_table(table.reset_index()),
        "",
        *kept_notes(path),
    ]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names")
    parser.add_argument("--pipeline", default=DEFAULT, choices=list(WHOLE_RUNS), help="whose stored draws")
    parser.add_argument("--whole", default=None, help="a run_whole.py run's name, instead of the draws")
    args = parser.parse_args()
    variants = args.variants.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    if args.whole:
        runs = [whole_run(args.whole)]
    else:
        runs = [gaps_draw(int(s), args.pipeline) for s in args.seeds.split(",")]
    rows = []
    for stored in runs:
        for name in variants:
            rows.append(run_variant(stored, name))
            print(rows[-1], flush=True)
            write(rows, variants, stored.run, args.whole)


if __name__ == "__main__":
    main()
