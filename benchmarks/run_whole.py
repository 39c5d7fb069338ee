"""Wall time and peak RSS of one whole ``kedro run``, as a user would start it, on given raw data.

    python benchmarks/run_whole.py sample                          # the shipped sample: `make run`
    python benchmarks/run_whole.py sample_warm --params "sasrec.refit=warm,sasrec_long.refit=warm"
    python benchmarks/run_whole.py sample_sequential --runner SequentialRunner
    python -m recsys_challenge.synthetic /tmp/ml1m --users 6040 --items 3706 --mean-events 148 --seed 7
    python benchmarks/run_whole.py competition --raw /tmp/ml1m --env competition
    python benchmarks/run_whole.py competition_seq --raw /tmp/ml1m --env competition --pipelines sequential

A scratch copy of the project (``benchmarks/.work/<name>``) gets the raw files and runs ``kedro run``
(with ``--env``, ``--params`` and ``--runner`` when given); the RSS of the whole process tree (Python
and Spark's JVM) is sampled every half second, and each node's seconds come from the run's own log (a
pipeline's nodes summed by their namespace). Results are added to ``benchmarks/results/whole_runs.md``
(and ``.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
from common import (
    RESULTS,
    WORK,
    commit_label,
    kedro_executable,
    kept_notes,
    markdown_table,
    run_tracked,
)
from project import raw_folder, scratch_copy

STAMP = re.compile(r"^\[(\d\d/\d\d/\d\d \d\d:\d\d:\d\d)\]")
# "Running node: fit: fit_generator([...]) -> [sasrec.model;...]": the stage is the first output's namespace
NODE = re.compile(r"Running node: ([\w.\-]+):.*?-> \[([\w\-]+)(\.)?")
DONE = re.compile(r"Completed node: ([\w.\-]+)")


def node_spans(log: Path) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """(stage, start, end) of every node that completed, from the run log's timestamps: its "Running
    node" line to its own "Completed node" line (the clock has whole seconds). The stage is the namespace
    of the node's outputs, or its name without one."""
    now, started, spans = None, {}, []
    for line in log.read_text(errors="replace").splitlines():
        stamp = STAMP.match(line)
        if stamp:
            now = pd.Timestamp(pd.to_datetime(stamp.group(1), format="%m/%d/%y %H:%M:%S"))
        if now is None:
            continue
        node, done = NODE.search(line), DONE.search(line)
        if node:
            stage = node.group(2) if node.group(3) else node.group(1)
            full = f"{stage}.{node.group(1)}" if node.group(3) else node.group(1)
            started[full] = (stage, now)
        elif done and done.group(1) in started:
            stage, start = started.pop(done.group(1))
            spans.append((stage, start, now))
    return spans


def stage_seconds(spans: list[tuple[str, pd.Timestamp, pd.Timestamp]]) -> dict[str, float]:
    """Seconds per stage from ``node_spans``, summed over its nodes. Under a concurrent runner the
    stages overlap, so their seconds add up to more than the wall time."""
    stages: dict[str, float] = {}
    for stage, start, end in spans:
        stages[stage] = stages.get(stage, 0.0) + (end - start).total_seconds()
    return stages


def stages_at(spans: list[tuple[str, pd.Timestamp, pd.Timestamp]], moment: float) -> list[str]:
    """The stages of ``node_spans`` with a node running at ``moment`` (Unix seconds; the log's clock is
    local time)."""
    when = pd.Timestamp.fromtimestamp(moment).floor("s")
    return sorted({stage for stage, start, end in spans if start <= when <= end})


def prepare(name: str, raw: Path, env: str | None) -> Path:
    """A fresh scratch project: nothing of an earlier run (MLflow store, logs) stays."""
    shutil.rmtree(WORK / name, ignore_errors=True)
    return scratch_copy(WORK / name, raw, env)


def write_results(rows: list[dict]) -> None:
    """``whole_runs.json`` and its markdown table, one row per run name."""
    path = RESULTS / "whole_runs.json"
    path.write_text(json.dumps(rows, indent=1))
    columns = ["name", "command", "commit", "wall_min", "peak_rss_gib", "peak_jvm_gib", "peak_python_gib"]
    table = pd.DataFrame(rows).reindex(columns=[*columns, "peak_during"])
    table["peak_during"] = table["peak_during"].map(lambda s: ", ".join(s) if isinstance(s, list) else "")
    lines = [
        "# Whole runs: wall time and peak RSS",
        "",
        "2-core CPU machine, no GPU. Peak RSS: the whole process tree, and on their own Spark's JVM and",
        "the Python processes (each its own peak, so they need not add up to the tree's). Reproduce",
        "with `python benchmarks/run_whole.py NAME [--raw DIR] [--env ENV] [--params ...] [--runner R]`",
        "(docstring).",
        "",
        markdown_table(table),
        "",
        "Seconds per stage (each node from its start to its completion in the run log, whole seconds,",
        "summed per stage; under ThreadRunner the stages overlap and a sequential node's seconds include",
        "its wait for the sequential lock; rows before commit ee018d4 counted to the next node's start):",
        "",
    ]
    for r in rows:
        lines.append(f"- **{r['name']}**: " + ", ".join(f"{k} {v}" for k, v in r["stages_s"].items()))
    lines += ["", *kept_notes(RESULTS / "whole_runs.md")]
    (RESULTS / "whole_runs.md").write_text("\n".join(lines) + "\n")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name")
    parser.add_argument("--raw", default=None, help="the raw files' folder (default: the shipped sample)")
    parser.add_argument("--env", default=None)
    parser.add_argument("--params", default=None)
    parser.add_argument("--runner", default=None, help="a Kedro runner, e.g. SequentialRunner")
    parser.add_argument("--pipelines", default=None, help="the pipelines to run (default: everything)")
    return parser.parse_args()


def command(args: argparse.Namespace) -> list[str]:
    """``kedro run`` with the options given."""
    options = {"--env": args.env, "--params": args.params, "--runner": args.runner}
    options["--pipelines"] = args.pipelines
    return [kedro_executable(), "run", *(x for k, v in options.items() if v for x in (k, v))]


def main() -> None:
    args = arguments()
    commit = commit_label()  # the code copied now, whatever changes during the run
    raw = Path(args.raw) if args.raw else raw_folder()
    project = prepare(args.name, raw, args.env)
    os.environ["COLUMNS"] = "250"  # the run log's lines unwrapped: node names stay whole
    cmd = command(args)
    run = run_tracked(cmd, project, project / "run.log")
    spans = node_spans(project / "run.log")
    stages = stage_seconds(spans)
    row = {
        "name": args.name,
        "command": " ".join(["kedro run", *cmd[2:]]),
        "raw": str(raw),
        "commit": commit,
        "wall_min": round(run["wall_s"] / 60, 2),
        "peak_rss_gib": round(run["peak_rss_gib"], 2),
        "peak_jvm_gib": round(run["peak_jvm_gib"], 2),
        "peak_python_gib": round(run["peak_python_gib"], 2),
        "peak_during": stages_at(spans, run["peak_at"]),
        "stages_s": {k: round(v) for k, v in sorted(stages.items(), key=lambda kv: -kv[1])},
    }
    path = RESULTS / "whole_runs.json"
    rows = json.loads(path.read_text()) if path.exists() else []
    write_results([r for r in rows if r["name"] != args.name] + [row])
    print(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
