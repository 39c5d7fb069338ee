"""Benchmark the project's pipelines on MovieLens-100k (never committed: it is generated here).

    python benchmarks/run_benchmark.py --protocol loo --pipelines sasrec,bert4rec
    python benchmarks/run_benchmark.py --protocol loo --pipelines '' --overhead-epochs 3

For each pipeline it runs ``kedro run --env benchmark`` (or ``--env benchmark_quality``) in a scratch
copy of the project whose raw data is MovieLens-100k (``../shared/datasets/movielens100k.py``), split by
the protocol (written into the environment's conf), watches the peak RSS of the whole process tree
(Python and, for Spark pipelines, the JVM), and reads the test-window metrics the pipeline wrote through
the scratch project's catalog. ``--overhead-epochs N`` also times, side by side in this process, a
plain-RePlay SASRec loop and the pipeline's ``sasrec.fit`` node on the same folds and configuration
(``overhead.py``). Results go to ``benchmarks/results/<protocol>.md`` (and ``.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from collect import collect, run_section
from common import RESULTS, WORK, commit_label, kedro_executable, machine, movielens, run_tracked
from overhead import overhead
from project import PROTOCOLS, prepare_project


def merged_results(protocol: str, runs: dict[str, dict], over: dict | None) -> dict[str, Any]:
    """``<protocol>.json`` with ``runs`` (by key) and ``over`` added to what it held."""
    out = RESULTS / f"{protocol}.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    results.setdefault("runs", {})
    results.setdefault("overhead", None)
    results["runs"].update(runs)
    if over:
        results["overhead"] = over
    results["machine"] = machine()
    return results


def overhead_lines(over: dict[str, float]) -> list[str]:
    plain, ours, ratio = over["plain_s_per_epoch"], over["pipeline_s_per_epoch"], over["ratio"]
    return [
        "## Per-epoch overhead of the pipeline vs plain RePlay (same data and config, side by side)",
        "",
        f"plain RePlay {plain:.2f} s/epoch, pipeline {ours:.2f} s/epoch, ratio **{ratio:.3f}** "
        f"(median of {over['epochs_timed']} epochs each, interleaved).",
        "",
    ]


def write_results(protocol: str, runs: dict[str, dict], over: dict | None) -> Path:
    """Add ``runs`` and ``over`` to ``benchmarks/results/<protocol>.json`` and rewrite its markdown."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = merged_results(protocol, runs, over)
    (RESULTS / f"{protocol}.json").write_text(json.dumps(results, indent=2, default=float))
    md = [
        f"# Benchmark: MovieLens-100k, protocol `{protocol}`",
        "",
        f"Machine: {results['machine']}, CPU only. Splits: {PROTOCOLS[protocol]}. All metrics on the test "
        "window, full ranking, seen items removed, averaged over every test user.",
        "",
    ]
    for run in results["runs"].values():
        md += run_section(f"`{run['command']}`", run)
    if results["overhead"]:
        md += overhead_lines(results["overhead"])
    path = RESULTS / f"{protocol}.md"
    path.write_text("\n".join(md))
    return path


def benchmark(project: Path, name: str, args: argparse.Namespace) -> dict[str, Any]:
    """``kedro run --pipelines <name>`` in ``project``, tracked, and the models it reported."""
    cmd = ["kedro", "run", "--env", args.env, "--pipelines", name]
    cmd += ["--params", args.params] if args.params else []
    commit = commit_label()
    run = {**run_tracked([kedro_executable(), *cmd[1:]], project, project / f"{name}.log"), "commit": commit}
    models = collect(project, name, args.env)
    print(json.dumps(models, indent=1, default=float), flush=True)
    return {"command": " ".join(cmd), **run, "models": models}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="loo")
    parser.add_argument("--pipelines", default="sasrec,bert4rec,sasrec_long")
    parser.add_argument("--overhead-epochs", type=int, default=0, help="0 skips the overhead measurement")
    parser.add_argument("--keep", action="store_true", help="reuse the scratch project and its folds")
    parser.add_argument("--params", default="", help="runtime overrides passed to kedro run --params")
    parser.add_argument(
        "--env",
        default="benchmark",
        help="benchmark: the whole two-stage run in ~20 min on 2 cores; benchmark_quality: each "
        "sequential generator at its best, whatever it costs",
    )
    return parser.parse_args()


def main() -> None:
    args = arguments()
    project = WORK / args.protocol
    if not (args.keep and project.exists()):
        project = prepare_project(args.protocol, movielens(), args.env)
    run_tracked(
        [kedro_executable(), "run", "--env", args.env, "--pipelines", "splitting"],
        project,
        project / "splitting.log",
    )
    for name in [p for p in args.pipelines.split(",") if p]:
        key = name if args.env == "benchmark" else f"{args.env}:{name}"
        write_results(args.protocol, {key: benchmark(project, name, args)}, None)
    over = overhead(project, args.env, args.overhead_epochs) if args.overhead_epochs else None
    print(write_results(args.protocol, {}, over).read_text())


if __name__ == "__main__":
    main()
