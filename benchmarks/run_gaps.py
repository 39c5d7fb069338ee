"""Benchmark the competition protocol on MovieLens-100k: hidden events at known positions.

    python benchmarks/run_gaps.py --seeds 0,1,2 [--pipeline competition]

For each seed, MovieLens-100k becomes the competition's form (``synthetic.hide_events``: per-user order
indices, a seeded random 10.6% of the events removed, their indices left as holes); the whole pipeline
runs with ``kedro run --env benchmark_gaps`` (protocol auto: gaps), and every model's submission is scored
on the removed events (the competition's task) beside its score on the project's own test window.
Results: ``benchmarks/results/gaps.md`` (and ``.json``), mean and spread over the seeds; with
``--pipeline NAME`` a registered pipeline other than the default runs, into ``gaps_NAME.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd
from collect import collect, run_section
from common import (
    RESULTS,
    WORK,
    commit_label,
    kedro_executable,
    kept_notes,
    machine,
    markdown_table,
    movielens,
    run_tracked,
)
from project import prepare_project, session

from recsys_challenge.evaluation import score_submission
from recsys_challenge.synthetic import hide_events

HIDDEN = 0.106
ENV = "benchmark_gaps"
DEFAULT = "__default__"


def competition_raw(seed: int) -> tuple[Path, pd.DataFrame]:
    """MovieLens-100k with a seeded 10.6% of its events hidden at their order index."""
    source = movielens()
    raw = WORK / f"gaps_raw_s{seed}"
    raw.mkdir(parents=True, exist_ok=True)
    visible, hidden = hide_events(pd.read_csv(source / "events.csv"), HIDDEN, seed)
    visible.to_csv(raw / "events.csv", index=False)
    for name in ("item_features.csv", "user_features.csv"):
        shutil.copy(source / name, raw / name)
    return raw, hidden


def score_hidden(project: Path, models: list[dict], hidden: pd.DataFrame) -> None:
    """Each model's submission, read through ``project``'s catalog, scored on the hidden events."""
    with session(project, ENV) as kedro:
        catalog = kedro.load_context().catalog
        for row in models:
            name = "reranker" if row["model"].startswith("reranker") else row["model"]
            if catalog.exists(f"{name}.submission"):
                scores = score_submission(catalog.load(f"{name}.submission"), hidden, [10])
                row["hidden_ndcg_10"], row["hidden_recall_10"] = scores["ndcg_10"], scores["recall_10"]


def stem(pipeline: str) -> str:
    """The name of ``pipeline``'s results files and run folders (``gaps`` for the default run)."""
    return "gaps" if pipeline == DEFAULT else f"gaps_{pipeline}"


def pipeline_flag(pipeline: str) -> str:
    """`` --pipeline NAME`` as a command line names ``pipeline`` (nothing for the default run)."""
    return "" if pipeline == DEFAULT else f" --pipeline {pipeline}"


def run_seed(seed: int, score_only: bool = False, pipeline: str = DEFAULT) -> dict:
    raw, hidden = competition_raw(seed)
    project = WORK / f"{stem(pipeline)}_s{seed}"
    command = ["run", "--env", ENV, *pipeline_flag(pipeline).split()]
    if score_only:  # an existing run (e.g. finished with --from-nodes): no wall time or RSS recorded
        run = {"wall_s": float("nan"), "peak_rss_gib": float("nan")}
    else:
        run_commit = commit_label()
        project = prepare_project("gaps", raw, ENV, name=project.name)
        run = run_tracked([kedro_executable(), *command], project, project / "run.log")
        run["commit"] = run_commit
    models = collect(project, pipeline, ENV)
    score_hidden(project, models, hidden)
    return {"command": " ".join(["kedro", *command]), "seed": seed, **run, "models": models}


def summary(runs: dict[str, dict]) -> pd.DataFrame:
    """Per model: mean and range over seeds of NDCG@10 on the hidden events and on the test window."""
    rows = pd.concat([pd.DataFrame(r["models"]).assign(seed=r["seed"]) for r in runs.values()])
    table = rows.groupby("model").agg(
        hidden_ndcg_10=("hidden_ndcg_10", "mean"),
        hidden_min=("hidden_ndcg_10", "min"),
        hidden_max=("hidden_ndcg_10", "max"),
        test_ndcg_10=("ndcg_10", "mean"),
        seeds=("seed", "nunique"),
    )
    return table.sort_values("hidden_ndcg_10", ascending=False).reset_index()


def write(runs: dict[str, dict], pipeline: str = DEFAULT) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{stem(pipeline)}.md"
    path.with_suffix(".json").write_text(json.dumps({"runs": runs}, indent=2, default=float))
    table = summary(runs)
    ranks = table[["hidden_ndcg_10", "test_ndcg_10"]].rank(ascending=False)
    agreement = ranks["hidden_ndcg_10"].corr(ranks["test_ndcg_10"], method="spearman")
    md = [
        "# Benchmark: MovieLens-100k in the competition's form (protocol `gaps`)",
        "",
        f"Machine: {machine()}, CPU only. Each seed hides a random {HIDDEN:.1%} of every user's events at "
        "their order index (`synthetic.hide_events`); the pipeline runs on the rest with "
        f"`{next(iter(runs.values()))['command']}` (splitting protocol auto, so gaps). "
        "`hidden_ndcg_10`: each model's "
        "submission (10 unseen items per user) scored on the hidden events, the competition's task; "
        "`test_ndcg_10`: the same model on the project's own test window (a gaps split of the visible "
        "events), the validation that picks models. Reproduce: `python benchmarks/run_gaps.py --seeds "
        f"{','.join(str(r['seed']) for r in runs.values())}"
        f"{pipeline_flag(pipeline)}`.",
        "",
        "## Mean over seeds",
        "",
        markdown_table(table),
        "",
        f"Rank agreement of the two columns across models (Spearman): {agreement:.2f}.",
        "",
        *kept_notes(path),
        "",
    ]
    for run in runs.values():
        md += run_section(f"Seed {run['seed']}", run)
    path.write_text("\n".join(md))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--score-only", action="store_true", help="score existing runs, run nothing")
    parser.add_argument("--pipeline", default=DEFAULT, help="a registered pipeline (default: the whole run)")
    args = parser.parse_args()
    previous = RESULTS / f"{stem(args.pipeline)}.json"
    runs = json.loads(previous.read_text())["runs"] if previous.exists() else {}
    for seed in (int(s) for s in args.seeds.split(",")):
        runs[f"seed{seed}"] = run_seed(seed, args.score_only, args.pipeline)
        print(write(runs, args.pipeline).read_text(), flush=True)


if __name__ == "__main__":
    main()
