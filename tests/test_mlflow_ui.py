"""``make mlflow-ui`` opens on the project's runs table: the experiment of conf's mlflow.yml, looked up in
the store, a column per model's test NDCG@10, and Chromium draws it; without the experiment it says to
``kedro run`` first; and the server, with every process it forked, is gone when make is stopped."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from recsys_challenge.evaluation import mlflow_metrics
from recsys_challenge.mlflow_ui import VIEW_TAG, experiment_id, mlflow_config, share_ndcg_view
from tests.conftest import CHROMIUM_FLAGS, ServerGroup, chromium, free_port, listening

# one row per model as the pipelines' ``evaluate`` writes it (test_metrics.csv)
TEST_METRICS = {
    "sasrec": {"ndcg_10": 0.3125, "recall_10": 0.5, "map_10": 0.25},
    "pop": {"ndcg_10": 0.0625, "recall_10": 0.125, "map_10": 0.03125},
}


def logged_store(directory: Path, experiment: str) -> str:
    """A sqlite store holding ``experiment`` and one run that logged every model of ``TEST_METRICS`` the
    way a ``kedro run`` does: ``evaluation.mlflow_metrics`` saved by kedro-mlflow's dataset under the
    model's prefix (``sasrec.test.ndcg_10``, ...), plus a training curve."""
    import mlflow
    from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset

    uri = f"sqlite:///{directory / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    try:
        mlflow.set_experiment(experiment)
        with mlflow.start_run(run_name="__default__"):
            for model, metrics in TEST_METRICS.items():
                row = pd.DataFrame([{"model": model, "users": 16, **metrics}])
                history = pd.DataFrame({"epoch": [0, 1], "train_loss": [2.0, 1.5]})
                MlflowMetricsHistoryDataset(prefix=model).save(mlflow_metrics(row, history))
    finally:
        mlflow.set_tracking_uri("")
    return uri


@pytest.fixture(scope="module")
def project_experiment(project_root) -> str:
    return mlflow_config(project_root).tracking.experiment.name


def test_the_experiment_is_the_one_the_conf_environment_names(tmp_path, project_root):
    conf = tmp_path / "conf"
    shutil.copytree(project_root / "conf" / "base", conf / "base")
    (conf / "local").mkdir()
    (conf / "local" / "mlflow.yml").write_text("tracking:\n  experiment:\n    name: from_local\n")
    (conf / "other").mkdir()
    (conf / "other" / "mlflow.yml").write_text("tracking:\n  experiment:\n    name: from_other\n")
    base = (project_root / "conf" / "base" / "mlflow.yml").read_text()
    assert "name: recsys_challenge" in base
    assert mlflow_config(tmp_path).tracking.experiment.name == "from_local"  # Kedro's default env
    assert mlflow_config(tmp_path, env="other").tracking.experiment.name == "from_other"
    (conf / "local" / "mlflow.yml").unlink()
    config = mlflow_config(tmp_path)
    assert config.tracking.experiment.name == "recsys_challenge"
    assert config.server.mlflow_tracking_uri == "sqlite:///mlflow.db"


def test_the_shared_view_has_a_column_per_models_test_ndcg_and_nothing_else(tmp_path, project_experiment):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=logged_store(tmp_path, project_experiment))
    experiment = experiment_id(client, project_experiment)
    assert experiment == client.get_experiment_by_name(project_experiment).experiment_id
    key = share_ndcg_view(client, experiment)
    tag = client.get_experiment(experiment).tags[VIEW_TAG + key]
    # the run logged test ndcg/recall/map and train.train_loss per model: only test ndcg_10 is shown
    assert json.loads(tag) == {
        "selectedColumns": ["metrics.`pop.test.ndcg_10`", "metrics.`sasrec.test.ndcg_10`"]
    }
    # an experiment whose runs logged no test NDCG gets no view
    other = client.create_experiment("splitting_only")
    client.log_metric(client.create_run(other).info.run_id, "split.users", 3.0)
    assert share_ndcg_view(client, other) is None
    assert not any(k.startswith(VIEW_TAG) for k in client.get_experiment(other).tags)


def test_without_the_experiment_nothing_starts_and_kedro_run_is_suggested(tmp_path, project_root):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    name = mlflow_config(project_root).tracking.experiment.name
    client.delete_experiment(client.create_experiment(name))  # deleted: kedro run would restore it
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "recsys_challenge.mlflow_ui", "--backend-store-uri", uri, "--port", str(port)],
        cwd=project_root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert f"No experiment '{name}' in {uri} yet: run `kedro run`" in done.stderr
    assert not listening(port)


@pytest.fixture
def mlflow_ui_make(project_root, project_experiment, tmp_path):
    """``make mlflow-ui`` on a logged store in ``tmp_path``; yields (make's group, log, port, store, the
    checkout's top-level names before it started)."""
    store = logged_store(tmp_path, project_experiment)
    checkout = sorted(p.name for p in project_root.iterdir())
    port = free_port()
    venv = Path(sys.prefix)
    cmd = ["make", "--no-print-directory", "-o", f"{venv}/.installed", "mlflow-ui", f"VENV={venv}",
           f"MLFLOW_STORE={store}", f"MLFLOW_PORT={port}"]  # fmt: skip
    env = {**os.environ, "DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true"}
    log = tmp_path / "make_mlflow_ui.log"
    make = ServerGroup(cmd, cwd=project_root, log=log, env=env)
    try:
        yield make, log, port, store, checkout
    finally:
        make.stop()


def printed_url(log: Path, port: int, make: ServerGroup, timeout: float = 240) -> str:
    pattern = re.compile(rf"http://127\.0\.0\.1:{port}/#/experiments/\S+")
    deadline = time.monotonic() + timeout
    while not (found := pattern.search(log.read_text())):
        if make.proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"make mlflow-ui printed no URL:\n{log.read_text()[-3000:]}")
        time.sleep(1)
    return found.group(0)


def server_group(store: str) -> int:
    """The process group of the ``mlflow ui`` serving ``store`` (its own: the Makefile starts it with
    setsid)."""
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "ui" in cmdline and store in cmdline:
            return os.getpgid(proc.pid)
    raise AssertionError(f"no mlflow ui process serves {store}")


def group_members(pgid: int) -> list[int]:
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (psutil.Error, ProcessLookupError):
            pass
    return members


@pytest.mark.slow
def test_make_mlflow_ui_prints_the_runs_table_and_stops_with_make(mlflow_ui_make, project_root, tmp_path):
    browser = chromium()
    assert browser, "Chromium is needed for this check: apt-get install chromium (.ci/run installs it)"
    make, log, port, store, checkout = mlflow_ui_make
    url = printed_url(log, port, make)

    profile = f"--user-data-dir={tmp_path / 'profile'}"
    dom = subprocess.run(
        [browser, *CHROMIUM_FLAGS, profile, "--dump-dom", url], capture_output=True, text=True, timeout=120
    ).stdout
    # the runs table of the model-training workflow (not the GenAI overview), with the run
    assert "<title>Runs - Experiment" in dom
    assert "Model registry" in dom and "Evaluation runs" not in dom
    assert ">__default__<" in dom
    # a column per model's test NDCG@10, holding the logged values, and no other metric column
    columns = set(re.findall(r'col-id="(metrics\.`[^`"]+`)"', dom))
    assert columns == {"metrics.`pop.test.ndcg_10`", "metrics.`sasrec.test.ndcg_10`"}
    for model, metrics in TEST_METRICS.items():
        cell = re.search(
            rf'role="gridcell"[^>]*col-id="metrics\.`{model}\.test\.ndcg_10`"[^>]*>(.*?)</div>', dom
        )
        assert cell and str(metrics["ndcg_10"]) in cell.group(1), model

    mlflow_group = server_group(store)
    assert len(group_members(mlflow_group)) >= 2  # mlflow ui serves from forked workers
    make.stop()  # SIGTERM to make's group, as Ctrl-C or a kill of make: its trap stops the server's group
    deadline = time.monotonic() + 60
    while group_members(mlflow_group) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert group_members(mlflow_group) == []
    assert not listening(port)
    assert sorted(p.name for p in project_root.iterdir()) == checkout  # nothing written to the checkout
