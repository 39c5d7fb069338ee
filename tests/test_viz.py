"""kedro-viz shows the project as a user sees it: the API answers, and Chromium draws the graph."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
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


def free_port() -> int:
    """A free loopback port below 49152: kedro viz refuses ports in the ephemeral range."""
    for port in random.Random(os.getpid()).sample(range(20000, 40000), 200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 20000-40000")


@pytest.fixture(scope="module")
def viz_server(project_root, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("viz") / "kedro_viz.log"
    kedro = str(Path(sys.executable).with_name("kedro"))
    env = {**os.environ, "DO_NOT_TRACK": "true", "KEDRO_DISABLE_TELEMETRY": "true"}
    out = log.open("w")
    proc = subprocess.Popen(
        [kedro, "viz", "run", "--no-browser", "--host", "127.0.0.1", "--port", str(port)],
        cwd=project_root,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/main", timeout=5) as response:
                    body = response.read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"kedro viz did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(1)
        yield url, body
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        out.close()


def test_api_lists_model_namespaces_layers_and_tags(viz_server):
    import json

    _, body = viz_server
    data = json.loads(body)
    modular = {n["name"] for n in data["nodes"] if n["type"] == "modularPipeline"}
    assert {"sasrec", "bert4rec", "sasrec_long", "pop", "itemknn", "als", "slim", "reranker"} <= modular
    tasks = {n["name"] for n in data["nodes"] if n["type"] == "task"}
    assert {"build_primary", "split_test_window", "comparison_chart"} <= tasks
    assert {"raw", "primary", "feature", "model_input", "models", "model_output", "reporting"} <= set(
        data["layers"]
    )
    assert {"training", "inference"} <= {t["id"] for t in data["tags"]}
    assert {p["id"] for p in data["pipelines"]} >= {"__default__", "sasrec", "reranker", "splitting"}


def test_chromium_draws_the_pipeline_graph(viz_server, project_root, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is needed for this check: apt-get install chromium (.ci/run installs it)"
    url, _ = viz_server
    common = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", f"{url}/?pid=sasrec"], capture_output=True, text=True, timeout=120
    ).stdout
    assert dom.count('class="pipeline-node pipeline-node--task"') >= 5
    assert 'class="pipeline-node pipeline-node--data"' in dom
    shot = project_root / "data" / "08_reporting" / "kedro_viz.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [*common, f"--screenshot={shot}", f"{url}/?pid=sasrec"],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 20_000  # a drawn page, not a blank one
