"""Retrain the reranker on the stored draws of ``run_gaps.py``, one variant at a time, and score each
variant's submission on the hidden events: negative sampling, CatBoost's settings, and the reranker
without a generator.

    python benchmarks/run_gaps.py --seeds 0,1,2          # first: the stored runs
    python benchmarks/reranker_variants.py --seeds 0,1,2
    python benchmarks/run_gaps.py --seeds 0,1,2 --pipeline competition
    python benchmarks/reranker_variants.py --seeds 0,1,2 --pipeline competition --variants all,lr0.1

A variant runs the project's reranker namespace and the reranker's submission node in this process, on
the draw's stored candidates and features, with runtime parameters over ``conf/benchmark_gaps``. Every
variant rebuilds the union and its features (a variant without a generator from the others), so that
none reads what another left behind; every variant, ``all`` (the stored run's own settings) included,
runs side by side on the same draws, so the seconds compare.
Results: ``benchmarks/results/reranker_variants.md`` (and ``.json``); ``reranker_variants_<pipeline>.md``
for the draws of another registered pipeline, whose generators are then the union's.
"""

from __future__ import annotations

import argparse
import json
import time
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
    "hard20_random10": ({"negatives": {"hard": 20, "random": 10}}, ()),
    "hard10_random5": ({"negatives": {"hard": 10, "random": 5}}, ()),
    "lr0.1": ({"catboost": {"learning_rate": 0.1}}, ()),
    "lr0.2": ({"catboost": {"learning_rate": 0.2}}, ()),
    "yetirank_p3": ({"catboost": {"loss_function": "YetiRank:permutations=3"}}, ()),
    "yetirank_p3_lr0.1": (
        {"catboost": {"loss_function": "YetiRank:permutations=3", "learning_rate": 0.1}},
        (),
    ),
    **{f"without_{g}": ({}, (g,)) for g in EVERY_GENERATOR},
}


def run_variant(seed: int, name: str, hidden: pd.DataFrame, run: str = DEFAULT) -> dict[str, Any]:
    """One variant on one stored draw of the whole ``run``: its reranker's seconds and its submission's
    hidden-event scores."""
    params, left_out = VARIANTS[name]
    pipeline = reranker.create_pipeline(tuple(g for g in WHOLE_RUNS[run] if g not in left_out))
    pipeline += submission.create_pipeline(("reranker",), choose=False)
    with session(WORK / f"{stem(run)}_s{seed}", ENV, {"reranker": params} if params else None) as kedro:
        catalog = kedro.load_context().catalog
        start = time.perf_counter()
        SequentialRunner().run(pipeline, catalog)
        seconds = time.perf_counter() - start
        comparison = catalog.load("reranker.comparison")
        hidden_scores = score_submission(catalog.load("reranker.submission"), hidden, [10])
    test = comparison.set_index("model").loc["reranker"]
    return {
        "variant": name,
        "seed": seed,
        "seconds": seconds,
        "test_ndcg_10": float(test["ndcg_10"]),
        "hidden_ndcg_10": hidden_scores["ndcg_10"],
        "hidden_recall_10": hidden_scores["recall_10"],
    }


def write(rows: list[dict[str, Any]], run: str = DEFAULT) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / ("reranker_variants.md" if run == DEFAULT else f"reranker_variants_{run}.md")
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
    lines = [
        "# Reranker variants on the competition protocol's stored draws",
        "",
        f"Machine: {machine()}, CPU only; commit {commit_label()}. Each row retrains the reranker of the "
        f"stored `run_gaps.py{pipeline_flag(run)}` draws (MovieLens-100k, "
        "10.6% of events hidden) with one change and scores "
        "its submission on the hidden events. `delta_min`/`delta_max`: the change against `all` on the "
        "same draw. `seconds`: the reranker nodes and its submission in one process, side by side. "
        "Reproduce: `python benchmarks/reranker_variants.py --seeds "
        f"{','.join(str(s) for s in sorted(frame['seed'].unique()))}"
        f"{pipeline_flag(run)} --variants {','.join(frame['variant'].unique())}` "
        "after `run_gaps.py`.",
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
    args = parser.parse_args()
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        _, hidden = competition_raw(seed)
        for name in args.variants.split(","):
            rows.append(run_variant(seed, name, hidden, args.pipeline))
            print(rows[-1], flush=True)
            write(rows, args.pipeline)


if __name__ == "__main__":
    main()
