"""Resuming: ``kedro run --pipelines sasrec`` interrupted during a fit, then ``--only-missing-outputs``,
writes the same submission to the byte as the uninterrupted whole run and runs no node whose outputs were
already there. One model's pipeline stands for the rest: the mechanism is Kedro's and the catalog's."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import copy_project

pytestmark = pytest.mark.slow
KEDRO = str(Path(sys.executable).parent / "kedro")
# the sequential fits log each epoch's end; after the first one a fit is under way
FIT_UNDER_WAY = re.compile(r"epoch 1: loss")
PIPELINE = "sasrec"
# the test env's fit is two short epochs, over before a Ctrl-C sent after the first one lands; the
# interrupted run alone trains long, its fit writes nothing, so the resumed run's settings decide
LONG_FIT = f"{PIPELINE}.epochs=1000,{PIPELINE}.patience=1000"


def plain_logging(folder: Path) -> Path:
    """The project's logging config with plain one-line records (rich wraps long node names)."""
    config = yaml.safe_load((Path(__file__).parents[1] / "conf" / "logging.yml").read_text())
    config["root"]["handlers"] = ["console"]
    path = folder / "logging.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def kedro_run(project: Path, log: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "KEDRO_LOGGING_CONFIG": str(plain_logging(log.parent))}
    with log.open("w") as out:
        return subprocess.Popen(
            [KEDRO, "run", "--env", "test", "--pipelines", PIPELINE, *args],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def interrupt_when(proc: subprocess.Popen, log: Path, pattern: re.Pattern, timeout: float = 900) -> None:
    """SIGINT to ``proc``'s process group (Ctrl-C) once ``pattern`` shows in ``log``; the group is gone
    when this returns (SIGKILL for whatever outlives the interrupt by a minute)."""
    deadline = time.monotonic() + timeout
    try:
        while not pattern.search(log.read_text()):
            assert proc.poll() is None, (
                f"the run ended before {pattern.pattern!r}:\n{log.read_text()[-3000:]}"
            )
            assert time.monotonic() < deadline, f"no {pattern.pattern!r} within {timeout} s"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)


def started_nodes(log: Path, nodes: dict[str, str]) -> list[str]:
    """Names of the nodes a run's log says it started, in order (``nodes``: str(node) -> name)."""
    lines = [
        line.split("Running node: ", 1)[1]
        for line in log.read_text().splitlines()
        if "Running node: " in line
    ]
    return [nodes[line.strip()] for line in lines]


def finished_before(project: Path) -> tuple[dict[str, str], set[str]]:
    """Every node of the pipeline (str(node) -> name) and those whose outputs all exist, read
    from the project's catalog config (no session: nothing here may start MLflow or Spark)."""
    from kedro.config import OmegaConfigLoader
    from kedro.io import DataCatalog

    from recsys_challenge.pipeline_registry import register_pipelines
    from recsys_challenge.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(str(project / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": "test"})
    pipeline = register_pipelines()[PIPELINE]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)  # the catalog's paths are relative to the project
        catalog = DataCatalog.from_config(loader["catalog"])

        def exists(name: str) -> bool:
            if name not in catalog or getattr(catalog.get(name), "_EPHEMERAL", False):
                return False
            try:
                return catalog.exists(name)
            except Exception:  # MLflow's metrics live in the run that wrote them
                return False

        done = {n.name for n in pipeline.nodes if n.outputs and all(exists(o) for o in n.outputs)}
    return {str(n): n.name for n in pipeline.nodes}, done


def submissions(project: Path) -> dict[str, bytes]:
    out = project / "data" / "07_model_output"
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("submission.csv"))}


def test_an_interrupted_run_resumes_where_it_stopped(project_root, project_run, tmp_path_factory):
    project = copy_project(project_root, tmp_path_factory.mktemp("resumed"))
    logs = tmp_path_factory.mktemp("resume_logs")
    first, second = logs / "interrupted.log", logs / "resumed.log"

    interrupt_when(kedro_run(project, first, "--params", LONG_FIT), first, FIT_UNDER_WAY)
    nodes, done = finished_before(project)
    started = started_nodes(first, nodes)
    interrupted = started[-1]
    assert interrupted.endswith(".fit"), started[-3:]
    assert interrupted not in done, "the interrupted fit left its model behind"
    assert {"build_primary", "split_test_window", "split_rerank_window", "targets_final"} <= done, sorted(
        done
    )
    assert not submissions(project)

    resumed = kedro_run(project, second, "--only-missing-outputs")
    assert resumed.wait(timeout=1800) == 0, second.read_text()[-3000:]
    rerun = started_nodes(second, nodes)
    assert not done & set(rerun), sorted(done & set(rerun))
    assert interrupted in rerun
    assert set(nodes.values()) <= set(started) | set(rerun)  # nodes with in-memory outputs need not rerun
    resumed_submissions = submissions(project)
    assert list(resumed_submissions) == [f"{PIPELINE}/submission.csv"]
    assert resumed_submissions == {k: submissions(project_run)[k] for k in resumed_submissions}
