"""kedro-viz shows the project as a user sees it: the API answers, and Chromium draws the graph; and the
server, with every process it forked, is gone when the tests are done with it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM_FLAGS, ServerGroup, chromium, free_port, listening


@pytest.fixture(scope="module")
def viz_server(project_root, tmp_path_factory):
    """``kedro viz run`` on the project; yields (url, /api/main body, the server's process group)."""
    port = free_port()
    log = tmp_path_factory.mktemp("viz") / "kedro_viz.log"
    kedro = str(Path(sys.executable).with_name("kedro"))
    env = {**os.environ, "DO_NOT_TRACK": "true", "KEDRO_DISABLE_TELEMETRY": "true"}
    cmd = [kedro, "viz", "run", "--no-browser", "--host", "127.0.0.1", "--port", str(port)]
    server = ServerGroup(cmd, cwd=project_root, log=log, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/main", timeout=5) as response:
                    body = response.read()
                break
            except OSError:
                if server.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"kedro viz did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(1)
        yield url, body, server
    finally:
        server.stop()


@pytest.mark.slow
def test_api_lists_model_namespaces_layers_and_tags(viz_server):
    import json

    _, body, _ = viz_server
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


@pytest.mark.slow
def test_chromium_draws_the_pipeline_graph(viz_server, tmp_path):
    browser = chromium()
    assert browser, "Chromium is needed for this check: apt-get install chromium (.ci/run installs it)"
    url, _, _ = viz_server
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", f"{url}/?pid=sasrec"], capture_output=True, text=True, timeout=120
    ).stdout
    assert dom.count('class="pipeline-node pipeline-node--task"') >= 5
    assert 'class="pipeline-node pipeline-node--data"' in dom
    shot = tmp_path / "kedro_viz.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", f"{url}/?pid=sasrec"],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 20_000  # a drawn page, not a blank one


@pytest.mark.slow
def test_stopping_the_server_leaves_no_process_and_no_listener(viz_server):
    """Last in this module: stop the shared server as its teardown does, and look for leftovers."""
    url, _, server = viz_server
    port = int(url.rsplit(":", 1)[1])
    assert len(server.members()) >= 2  # kedro viz serves from a forked child
    server.stop()
    assert server.members() == []
    assert not listening(port)


def test_a_forking_server_is_stopped_with_its_child(tmp_path):
    """The shape of ``kedro viz run`` / ``mlflow ui`` in a second: a parent whose forked child listens."""
    port = free_port()
    script = (
        "import multiprocessing as mp, socket, time\n"
        "def serve():\n"
        f"    s = socket.create_server(('127.0.0.1', {port}))\n"
        "    time.sleep(600)\n"
        "if __name__ == '__main__':\n"
        "    child = mp.get_context('fork').Process(target=serve)\n"
        "    child.start()\n"
        "    child.join()\n"
    )
    server = ServerGroup([sys.executable, "-c", script], cwd=tmp_path, log=tmp_path / "server.log")
    try:
        deadline = time.monotonic() + 30
        while not listening(port):
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.1)
        assert len(server.members()) == 2  # parent and forked child
    finally:
        server.stop(timeout=10)
    assert server.members() == []
    assert not listening(port)
