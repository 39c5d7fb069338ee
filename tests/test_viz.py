"""kedro-viz shows the project as a user sees it: the API answers, and Chromium draws the graph."""

from __future__ import annotations

import os
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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def viz_server(project_root):
    port = free_port()
    kedro = str(Path(sys.executable).with_name("kedro"))
    env = {**os.environ, "DO_NOT_TRACK": "true", "KEDRO_DISABLE_TELEMETRY": "true"}
    proc = subprocess.Popen(
        [kedro, "viz", "run", "--no-browser", "--host", "127.0.0.1", "--port", str(port)],
        cwd=project_root,
        env=env,
        stdout=subprocess.DEVNULL,
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
                    raise RuntimeError("kedro viz did not start") from None
                time.sleep(1)
        yield url, body
    finally:
        proc.terminate()
        proc.wait(timeout=30)


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
