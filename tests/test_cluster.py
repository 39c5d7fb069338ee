"""A classic generator on a real Spark cluster: a standalone master and worker started from the
installed pyspark, ``kedro run --env cluster`` against them, candidates compared with those of the shared
``kedro run --env test`` (``local[2]``, the same SLIM block).
SLIM stands for the family: it runs RePlay's pandas UDFs, so the executors need Python workers too."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyspark
import pytest

from tests.conftest import ServerGroup, copy_project, listening

pytestmark = pytest.mark.slow
KEDRO = str(Path(sys.executable).parent / "kedro")
SPARK_CLASS = str(Path(pyspark.__file__).parent / "bin" / "spark-class")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A standalone master and one worker on loopback, each in its own process group; both groups are
    gone, and their ports closed, after the module's tests."""
    logs = tmp_path_factory.mktemp("spark_cluster")
    master_port, master_ui, worker_ui = free_port(), free_port(), free_port()
    url = f"spark://127.0.0.1:{master_port}"
    # no REST submission server: it would listen on a fixed port (6066)
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
    }
    master_args = ["--host", "127.0.0.1", "--port", str(master_port), "--webui-port", str(master_ui)]
    master = ServerGroup(
        [SPARK_CLASS, "org.apache.spark.deploy.master.Master", *master_args],
        cwd=logs,
        log=logs / "master.log",
        env=env,
    )
    groups = [master]
    try:
        wait_for(lambda: listening(master_port), "no master listening", logs / "master.log")
        # what conf/cluster/spark.yml asks of one executor; the JVM takes only the memory it uses
        worker_args = [
            "--host",
            "127.0.0.1",
            "--cores",
            "4",
            "--memory",
            "16g",
            "--webui-port",
            str(worker_ui),
        ]
        worker = ServerGroup(
            [
                SPARK_CLASS,
                "org.apache.spark.deploy.worker.Worker",
                url,
                *worker_args,
                "--work-dir",
                str(logs / "work"),
            ],
            cwd=logs,
            log=logs / "worker.log",
            env=env,
        )
        groups.append(worker)
        registered = lambda: "Registering worker" in (logs / "master.log").read_text()  # noqa: E731
        wait_for(registered, "no worker registered", logs / "master.log")
        yield url, logs
    finally:
        for group in reversed(groups):
            group.stop()
    assert not [g for g in groups if g.members()]
    assert not any(listening(p) for p in (master_port, master_ui, worker_ui))


MODEL = "slim"


def run_model(project: Path, log: Path, master: str) -> None:
    """``kedro run --env cluster --pipelines slim`` against ``master``, the driver on loopback, with the
    test env's SLIM block (base's and ``candidates_k: 30``)."""
    params = (
        f"spark_master={master},spark_driver_host=127.0.0.1,spark_driver_bind_address=127.0.0.1,"
        f"spark_shuffle_partitions=8,{MODEL}.candidates_k=30"  # the sample is small: few partitions
    )
    with log.open("w") as out:
        proc = subprocess.run(
            [KEDRO, "run", "--env", "cluster", "--pipelines", MODEL, "--params", params],
            cwd=project,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            timeout=900,  # an application the cluster cannot place waits forever
        )
    assert proc.returncode == 0, log.read_text()[-3000:]


def candidates(project: Path) -> dict[str, pd.DataFrame]:
    out = project / "data" / "07_model_output" / MODEL
    return {w: pd.read_parquet(out / f"candidates_{w}.parquet") for w in ("rerank", "test", "final")}


def test_a_classic_generator_on_a_standalone_cluster_matches_local(
    cluster, project_root, project_run, params, tmp_path_factory
):
    assert params[MODEL]["candidates_k"] == 30, "the test env's SLIM block changed: update run_model"
    url, logs = cluster
    on_cluster = copy_project(project_root, tmp_path_factory.mktemp("on_cluster"))
    run_model(on_cluster, logs / "kedro_cluster.log", url)

    # the executors did the work: the worker ran one application whose executor finished the tasks, RePlay's
    # pandas UDFs among them, in Python workers beside it
    (app,) = (logs / "work").iterdir()
    executor_logs = "".join(p.read_text() for p in app.glob("*/stderr"))
    assert executor_logs.count("Finished task") > 300, executor_logs[-2000:]
    assert "Starting Python task execution" in executor_logs

    # the same candidates to the bit: RePlay's models here are deterministic and ties rank by item id
    for name, local_top in candidates(project_run).items():
        pd.testing.assert_frame_equal(candidates(on_cluster)[name], local_top, obj=name)
