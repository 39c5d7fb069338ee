"""What every benchmark shares that needs no Kedro: where things live, the MovieLens-100k cache, tracked
subprocess runs (wall time and peak RSS of the whole process tree), markdown tables and commit labels.

The project itself (its config, catalog, pipelines and scratch copies) is reached through Kedro in
``project.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"  # scratch projects and caches, never committed
RESULTS = ROOT / "benchmarks" / "results"
SHARED_DATASET = ROOT.parent / "shared" / "datasets" / "movielens100k.py"
# no run may wait on telemetry
QUIET = {"DO_NOT_TRACK": "true", "KEDRO_DISABLE_TELEMETRY": "true", "MLFLOW_DISABLE_TELEMETRY": "true"}
# as this process started: bootstrap_project prepends every bootstrapped project's src to PYTHONPATH
_PYTHONPATH = os.environ.get("PYTHONPATH")


def movielens(raw_cache: Path = WORK / "ml100k_raw") -> Path:
    """MovieLens-100k in the competition's raw files, made once by ``../shared/datasets/movielens100k.py``."""
    if not (raw_cache / "events.csv").exists():
        subprocess.run([sys.executable, str(SHARED_DATASET), str(raw_cache)], check=True)
    return raw_cache


def tuning_file(protocol: str, name: str) -> Path:
    """A tuning run's test-window top 100 (``tune_sequential.py`` writes it, ``ensemble_sequential.py``
    averages several)."""
    return WORK / protocol / "tuning" / f"{name}.parquet"


def kedro_executable() -> str:
    """The ``kedro`` next to this interpreter."""
    return str(Path(sys.executable).with_name("kedro"))


def child_env() -> dict[str, str]:
    """The environment of a tracked run: this one, telemetry off, PYTHONPATH as it was at start."""
    env = {**os.environ, **QUIET}
    env.pop("PYTHONPATH", None)
    if _PYTHONPATH is not None:
        env["PYTHONPATH"] = _PYTHONPATH
    return env


def tree_rss(parent: psutil.Process) -> dict[str, int]:
    """Bytes resident in ``parent`` and its descendants: Spark's JVM, the rest (Python) and both."""
    rss = {"jvm": 0, "python": 0}
    for process in [parent, *parent.children(recursive=True)]:
        if process.is_running():
            rss["jvm" if process.name() == "java" else "python"] += process.memory_info().rss
    return {**rss, "tree": rss["jvm"] + rss["python"]}


def run_tracked(cmd: list[str], cwd: Path, log: Path) -> dict[str, float]:
    """Run a command, sampling the RSS of its whole process tree; returns wall seconds and the peak GiB
    of the tree, of Spark's JVM and of the rest (Python and its workers), each peak on its own, and the
    wall clock (Unix seconds) when the tree peaked."""
    start = time.perf_counter()
    peaks = {"tree": 0, "jvm": 0, "python": 0}
    peak_at = time.time()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=child_env())
        parent = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                rss = tree_rss(parent)
            except psutil.Error:  # a process ended while it was read
                rss = peaks
            if rss["tree"] > peaks["tree"]:
                peak_at = time.time()
            peaks = {k: max(v, rss[k]) for k, v in peaks.items()}
            time.sleep(0.5)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}); see {log}")
    return {
        "wall_s": time.perf_counter() - start,
        "peak_rss_gib": peaks["tree"] / 2**30,
        "peak_jvm_gib": peaks["jvm"] / 2**30,
        "peak_python_gib": peaks["python"] / 2**30,
        "peak_at": peak_at,
    }


def markdown_table(table: pd.DataFrame) -> str:
    """``table`` as a markdown table, floats to four decimals."""

    def cell(v) -> str:
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def commit_label() -> str:
    """The checkout's short commit, marked ``+uncommitted`` when ``src`` or ``conf`` has changes."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "src", "conf"], capture_output=True, text=True, cwd=ROOT
    )
    return (commit.stdout.strip() or "unknown") + ("+uncommitted" if dirty.stdout.strip() else "")


def machine() -> str:
    """CPU cores and memory of this machine, for a results file's header."""
    return f"{psutil.cpu_count()} CPU cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM"


NOTES_START = "<!-- notes: hand-written, kept when a script rewrites this file -->"
NOTES_END = "<!-- /notes -->"


def kept_notes(path: Path) -> list[str]:
    """The hand-written block of a results file (between the two markers), so that a script that
    regenerates the file keeps it; an empty block where the file or its markers are missing."""
    lines = path.read_text().splitlines() if path.exists() else []
    if NOTES_START in lines and NOTES_END in lines:
        return lines[lines.index(NOTES_START) : lines.index(NOTES_END) + 1]
    return [NOTES_START, NOTES_END]
