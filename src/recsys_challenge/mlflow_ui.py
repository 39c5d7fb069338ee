"""``make mlflow-ui``: ``mlflow ui``, plus the URL of this project's runs table once the server answers.

MLflow 3 opens an experiment on its GenAI overview, and its runs table shows no metric column until the
user picks one. ``python -m recsys_challenge.mlflow_ui [mlflow ui options]`` looks up the experiment
kedro-mlflow logs to (``tracking.experiment.name`` of conf/<env>/mlflow.yml, read with the project's
config loader) in the tracking store, then becomes ``mlflow ui`` with the same options (same process, so
``setsid`` and the Makefile's trap handle it as before). A forked helper prints, as soon as the server
listens, a URL that opens the experiment's runs in MLflow's model-training workflow
(``workflowType=machine_learning``) with one column per model's test NDCG@10: a view shared the way the
UI's own "Share" button does it, as the experiment tag ``mlflow.sharedViewState.<key>``. When the store
has no such experiment, it says to run ``kedro run`` first and starts nothing.

Nothing here hides MLflow's Assistant panel: MLflow opens it once per browser profile on a loopback
host (and remembers when it is closed); no server option or experiment tag changes that.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode

VIEW_KEY = "test_ndcg_10"  # share key of the view below; rewritten on each start with today's models
VIEW_TAG = "mlflow.sharedViewState."  # MLflow's prefix for shared views of the runs table
METRIC_SUFFIX = ".test.ndcg_10"  # what evaluation.mlflow_test_metrics logs under each model's prefix
WAIT_SECONDS = 180


def mlflow_config(project_path: Path | None = None, env: str | None = None):
    """kedro-mlflow's configuration of the project at ``project_path`` (the working directory, as for
    ``kedro``): conf/base/mlflow.yml merged with ``env``'s (Kedro's default env when ``None``)."""
    from kedro_mlflow.config.kedro_mlflow_config import KedroMlflowConfig

    from recsys_challenge.settings import CONFIG_LOADER_ARGS, CONFIG_LOADER_CLASS

    conf = str((Path.cwd() if project_path is None else project_path) / "conf")
    loader = CONFIG_LOADER_CLASS(conf_source=conf, env=env, **CONFIG_LOADER_ARGS)
    return KedroMlflowConfig.model_validate({**loader["mlflow"]})


def experiment_id(client, name: str) -> str | None:
    """The id of the live experiment ``name``, ``None`` when the store has none (or only a deleted one)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None or experiment.lifecycle_stage != "active":
        return None
    return experiment.experiment_id


def share_ndcg_view(client, experiment: str) -> str | None:
    """Store a shared view of the runs table with a ``<model>.test.ndcg_10`` column per model logged in
    the experiment; its share key, or ``None`` when no run logged such a metric."""
    runs = client.search_runs([experiment], max_results=1000)
    keys = sorted({key for run in runs for key in run.data.metrics if key.endswith(METRIC_SUFFIX)})
    if not keys:
        return None
    state = {"selectedColumns": [f"metrics.`{key}`" for key in keys]}
    client.set_experiment_tag(experiment, VIEW_TAG + VIEW_KEY, json.dumps(state))
    return VIEW_KEY


def _reachable(host: str) -> str:
    """Where a browser on this machine reaches a server bound to ``host`` (all interfaces: loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def runs_url(host: str, port: int | str, experiment: str, view: str | None = None) -> str:
    """The UI's runs table of ``experiment``, in the model-training workflow, with the shared ``view``."""
    query = {"workflowType": "machine_learning", **({"viewStateShareKey": view} if view else {})}
    return f"http://{_reachable(host)}:{port}/#/experiments/{quote(str(experiment))}/runs?{urlencode(query)}"


def _listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((_reachable(host), port)) == 0


def announce_when_listening(url: str, host: str, port: int, server_pid: int, timeout: float) -> None:
    """Print ``url`` once ``host:port`` accepts connections; give up quietly when the server is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and os.getppid() == server_pid:
        if _listening(host, port):
            print(f"\nThe project's runs, a column per model's test NDCG@10:\n  {url}\n", flush=True)
            return
        time.sleep(0.5)


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="python -m recsys_challenge.mlflow_ui",
        description="`mlflow ui` that prints the URL of the project's runs table; other options go to it.",
    )
    parser.add_argument("--backend-store-uri", help="default: server.mlflow_tracking_uri of mlflow.yml")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--env", default=os.environ.get("KEDRO_ENV"), help="Kedro env (default: local)")
    return parser.parse_known_args(argv)


def main(argv: list[str] | None = None) -> int:
    args, passed_on = parse(sys.argv[1:] if argv is None else argv)
    config = mlflow_config(env=args.env)
    store = args.backend_store_uri or config.server.mlflow_tracking_uri
    name = config.tracking.experiment.name

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=store)
    experiment = experiment_id(client, name)
    if experiment is None:
        print(
            f"No experiment {name!r} in {store} yet: run `kedro run` (or `make run`) first, it logs there.",
            file=sys.stderr,
        )
        return 1
    url = runs_url(args.host, args.port, experiment, share_ndcg_view(client, experiment))

    server = [str(Path(sys.executable).with_name("mlflow")), "ui", "--backend-store-uri", store]
    server += ["--host", args.host, "--port", str(args.port), *passed_on]
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() == 0:  # the helper: waits for the server (this process, once exec'd) and prints the URL
        try:
            announce_when_listening(url, args.host, args.port, os.getppid(), WAIT_SECONDS)
        finally:
            os._exit(0)
    os.execv(server[0], server)
    return 0  # pragma: no cover (execv does not return)


if __name__ == "__main__":
    sys.exit(main())
