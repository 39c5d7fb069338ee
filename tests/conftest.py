"""Shared fixtures: project parameters from conf/, small data, project copies and server processes."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner

for _var in ("DO_NOT_TRACK", "KEDRO_DISABLE_TELEMETRY", "MLFLOW_DISABLE_TELEMETRY"):
    os.environ.setdefault(_var, "true")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


def copy_project(root: Path, target: Path) -> Path:
    """A throwaway copy (conf, src, notebooks, raw sample) so the run writes nothing into the checkout."""
    ignore = shutil.ignore_patterns("local", "__pycache__", "*.egg-info", ".ipynb_checkpoints")
    for name in ("conf", "src", "notebooks"):
        shutil.copytree(root / name, target / name, ignore=ignore)
    (target / "conf" / "local").mkdir()
    shutil.copytree(root / "data" / "01_raw", target / "data" / "01_raw")
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy(root / name, target / name)
    # MLflow keeps one SQLAlchemy engine per store URI for the whole process, so the shipped relative
    # ``sqlite:///mlflow.db`` would send every later copy's run into the first copy's database
    mlflow_yml = target / "conf" / "base" / "mlflow.yml"
    shipped = "mlflow_tracking_uri: sqlite:///mlflow.db"
    text = mlflow_yml.read_text()
    assert shipped in text, f"{mlflow_yml} no longer has {shipped!r}"
    mlflow_yml.write_text(
        text.replace(shipped, f"mlflow_tracking_uri: sqlite:///{target.resolve()}/mlflow.db")
    )
    return target


def run_project(project: Path, env: str = "test") -> Path:
    """``kedro run --env <env>`` of a throwaway project through KedroSession, MLflow left untouched."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    reset_mlflow()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)
        bootstrap_project(project)
        try:
            with KedroSession.create(project_path=project, env=env) as session:
                session.run()
        finally:
            reset_mlflow()
    return project


@pytest.fixture(scope="session")
def project_run(project_root, tmp_path_factory) -> Path:
    """One uninterrupted ``kedro run --env test`` of a project copy, shared by the tests that read it."""
    return run_project(copy_project(project_root, tmp_path_factory.mktemp("project")))


def listening(port: int) -> bool:
    """Whether something accepts connections on loopback ``port``."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    """A free loopback port below 49152: kedro viz refuses ports in the ephemeral range."""
    for port in random.Random(os.getpid() + time.monotonic_ns()).sample(range(20000, 40000), 200):
        if not listening(port):
            return port
    raise RuntimeError("no free port in 20000-40000")


# headless Chromium as the UI checks drive it (kedro-viz, the MLflow UI): a fresh profile per call
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1000",
    "--virtual-time-budget=20000",
]


def chromium() -> str | None:
    """The Chromium executable (Debian's ``chromium``; .ci/run installs it), ``None`` without one."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class ServerGroup:
    """A server process started in its own process group, stopped with everything it forked.

    ``kedro viz run`` and ``mlflow ui`` serve from child processes; stopping only the parent leaves the
    child listening. ``stop`` sends SIGTERM to the whole group, then SIGKILL to what is left.
    """

    def __init__(self, cmd: list[str], *, cwd: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self._out = log.open("w")
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pgid = self.proc.pid  # a new session's leader leads its process group

    def members(self) -> list[psutil.Process]:
        """The group's live processes (zombies, already dead, do not count)."""
        alive = []
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error, ProcessLookupError):
                if os.getpgid(proc.pid) == self.pgid and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
        return alive

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the group, SIGKILL after ``timeout`` s; returns when no member is left."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGTERM)
        if not self._gone_within(timeout):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGKILL)
            self._gone_within(timeout)
        self.proc.wait(timeout=timeout)
        self._out.close()

    def _gone_within(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            self.proc.poll()  # reap the leader
            if not self.members():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)


def project_catalog(env: str = "test") -> DataCatalog:
    """The project's catalog as ``kedro run --env <env>`` builds it; relative paths are the cwd's."""
    from recsys_challenge.settings import CONFIG_LOADER_ARGS

    args = {**CONFIG_LOADER_ARGS, "default_run_env": env}
    return DataCatalog.from_config(OmegaConfigLoader(str(PROJECT_ROOT / "conf"), **args)["catalog"])


@pytest.fixture(scope="session")
def params() -> dict:
    """Parameters exactly as the project resolves them (base + the tests' tiny-model env)."""
    from recsys_challenge.settings import CONFIG_LOADER_ARGS

    args = {**CONFIG_LOADER_ARGS, "default_run_env": "test"}
    return OmegaConfigLoader(str(PROJECT_ROOT / "conf"), **args)["parameters"]


@pytest.fixture(scope="session")
def sample() -> dict[str, pd.DataFrame]:
    """The shipped synthetic sample."""
    raw = PROJECT_ROOT / "data" / "01_raw"
    return {name: pd.read_csv(raw / f"{name}.csv") for name in ("events", "item_features", "user_features")}


def make_events(rows: list[tuple[int, int, int]], rating: int = 4) -> pd.DataFrame:
    """Events from (user_id, item_id, timestamp) triples."""
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    frame.insert(2, "rating", rating)
    return frame


class KeptDataset(MemoryDataset):
    """A MemoryDataset the runner cannot release, so tests can read intermediate outputs."""

    def _release(self) -> None:
        pass


def run_pipeline(pipeline: Pipeline, inputs: dict) -> dict:
    """Run ``pipeline`` with ``SequentialRunner`` on in-memory inputs; return every dataset's data."""
    catalog = DataCatalog({name: KeptDataset(copy_mode="assign") for name in pipeline.datasets()})
    for name, value in inputs.items():
        catalog[name] = value
    SequentialRunner().run(pipeline, catalog)
    return {name: catalog[name].load() for name in pipeline.datasets() if catalog[name]._data is not None}


def strip_engine(data: dict) -> dict:
    """``{"fold_x@pandas": df}`` -> ``{"fold_x": df}``: tests name datasets without the engine suffix."""
    return {name.split("@")[0]: value for name, value in data.items()}


def pandas_inputs(pipeline: Pipeline, data: dict) -> dict:
    """Feed ``data`` (names without suffix) to every input of ``pipeline``, transcoded or not."""
    return {name: data[name.split("@")[0]] for name in pipeline.inputs() if name.split("@")[0] in data}


def parameter_inputs(pipeline: Pipeline, params: dict) -> dict:
    """Every ``params:a.b`` input of ``pipeline``, looked up in ``params`` as Kedro validated them: a
    block a node types as a settings model is that object, as in ``kedro run``."""
    from kedro.validation.parameter_validator import ParameterValidator

    params = ParameterValidator({"pipeline": pipeline}).validate_raw_params(params)
    inputs = {}
    for name in pipeline.inputs():
        if name.startswith("params:"):
            value = params
            for key in name.removeprefix("params:").split("."):
                value = value[key] if isinstance(value, dict) else getattr(value, key)
            inputs[name] = value
    return inputs


@pytest.fixture(scope="session")
def folds(sample, params) -> dict[str, pd.DataFrame]:
    """The sample through data_processing and splitting (base parameters)."""
    from recsys_challenge.pipelines.data_processing import create_pipeline as data_processing
    from recsys_challenge.pipelines.splitting import create_pipeline as splitting

    pipe = data_processing() + splitting()
    inputs = {
        "events": sample["events"],
        "item_features": sample["item_features"],
        "user_features": sample["user_features"],
        **parameter_inputs(pipe, params),
    }
    out = run_pipeline(pipe, inputs)
    return strip_engine({k: v for k, v in out.items() if not k.startswith("params:")})


@pytest.fixture(scope="session")
def spark(project_root):
    """The project's own lazily started session (conf/base/spark.yml), stopped after the tests."""
    from recsys_challenge.hooks import SparkHooks
    from recsys_challenge.settings import CONFIG_LOADER_ARGS

    hooks = SparkHooks()
    loader = OmegaConfigLoader(
        str(project_root / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": "test"}
    )
    hooks._conf = dict(loader["spark"])
    session = hooks.session()
    yield session
    hooks.stop()


def with_engines(pipeline: Pipeline, data: dict, spark) -> dict:
    """Inputs for ``pipeline`` from pandas ``data``: ``@spark`` names get Spark DataFrames."""
    inputs = {}
    for name in pipeline.inputs():
        base, _, engine = name.partition("@")
        if base in data:
            inputs[name] = spark.createDataFrame(data[base]) if engine == "spark" else data[base]
    return inputs


# ----------------------------------------------------------------------------- co-visitation
# shared by tests/pipelines/covisitation/ (scoring, hole features, settings)
def covisit_events(rows: dict[int, list[tuple[int, int]]]) -> pd.DataFrame:
    """{user: [(position, item), ...]} -> a fold."""
    frame = [(u, p, i) for u, seq in rows.items() for p, i in seq]
    return pd.DataFrame(frame, columns=["user_id", "position", "item_id"])


COVISIT_HISTORY = covisit_events(
    {
        # user 1: a hole at position 2 between items 11 (left) and 12 (right); 10 and 13 are 2 away
        1: [(0, 10), (1, 11), (3, 12), (4, 13)],
        2: [(0, 11), (1, 20)],  # 20 is next to 11
        3: [(5, 21), (6, 12)],  # 21 is next to 12
        4: [(0, 10), (1, 22)],  # 22 is next to 10
        5: [(0, 23), (1, 13)],  # 23 is next to 13
        6: [(0, 11), (4, 24)],  # 24 is 4 positions from 11: never a pair in a window of 3
    }
)
COVISIT_ITEMS = pd.DataFrame({"item_id": [10, 11, 12, 13, 20, 21, 22, 23, 24, 25]})


def covisit_config(**changes):
    """A co-visitation block: window 1, 10 candidates, unscaled, unless ``changes`` say otherwise."""
    from recsys_challenge.pipelines.covisitation.settings import CovisitationSettings

    return CovisitationSettings(
        **{"name": "covisit", "window": 1, "candidates_k": 10, "ks_test": [10], **changes}
    )


def covisit_hole(user: int, position: int, weight: float = 1.0) -> pd.DataFrame:
    """One hidden event (a target) of ``user`` at ``position``."""
    return pd.DataFrame({"user_id": [user], "position": [position], "weight": [weight], "tail": [False]})


def refused_naming(model: type, block: dict, key: str, reason: str) -> None:
    """The settings ``model`` refuses ``block`` with an error that names ``key`` and says ``reason``."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as raised:
        model.model_validate(block)
    message = str(raised.value)
    assert f"\n{key}\n" in message and reason in message, message


def reset_mlflow() -> None:
    """Leave MLflow as a fresh process has it: no active run (a session that fails after kedro-mlflow
    opened its run leaves it active) and no tracking URI."""
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri("")
