"""The project through Kedro, for the benchmarks: scratch copies of this checkout, their config loader
(environments and runtime parameters as ``kedro run`` merges them), KedroSessions, catalog reads and
node runs.

A scratch project (``benchmarks/.work/<name>``) holds this checkout's conf (with an empty conf/local, so
the default environment is conf/base), src and pyproject, and its own raw data where its catalog reads
it. Benchmarks run it with ``kedro run`` in a subprocess (``common.run_tracked``) or in this process
(``run_nodes``), and read what it wrote through its catalog (``load``), never by file path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from common import ROOT, WORK
from kedro.framework.project import pipelines, settings
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

Params = dict[str, Any]
# how the benchmark's test and rerank windows are cut: the ``splitting`` parameters of a protocol
PROTOCOLS: dict[str, Params] = {
    # leave-one-out: the last event of each user is the test, the one before is the reranker window
    "loo": {"test": {"strategy": "last_n", "n": 1}, "rerank": {"strategy": "last_n", "n": 1}},
    # leave-one-out test, but the reranker learns on each user's 3 events before it (3x the labels)
    "loo_rerank3": {"test": {"strategy": "last_n", "n": 1}, "rerank": {"strategy": "last_n", "n": 3}},
    # competition-like: the last 10% of each user's events, twice
    "holdout10": {
        "test": {"strategy": "ratio", "fraction": 0.1},
        "rerank": {"strategy": "ratio", "fraction": 0.1},
    },
    # the competition's protocol: random positions of each user's sequence (benchmarks/run_gaps.py)
    "gaps": {"protocol": "gaps"},
}


# ------------------------------------------------------------------ config, without a session
def config_loader(project: Path, env: str | None = None, params: Params | None = None):
    """``project``'s config loader as a KedroSession builds it (settings.py's class and arguments, so
    environments merge as in ``kedro run --env``), with no session: no hook runs and nothing is written."""
    bootstrap_project(project)
    return settings.CONFIG_LOADER_CLASS(
        conf_source=str(project / settings.CONF_SOURCE),
        env=env,
        runtime_params=params,
        **settings.CONFIG_LOADER_ARGS,
    )


def is_param(name: str) -> bool:
    return name == "parameters" or name.startswith("params:")


def raw_files(project: Path, env: str | None = None) -> dict[str, Path]:
    """Where ``project``'s catalog reads the raw files: ``globals.yml``'s ``raw`` (dataset name -> path),
    the one place that names them."""
    raw = config_loader(project, env)["globals"]["raw"]
    return {name: project / path for name, path in raw.items()}


def raw_folder(project: Path = ROOT) -> Path:
    """The one folder that holds ``project``'s raw files (this checkout's: the shipped sample)."""
    folders = {path.parent for path in raw_files(project).values()}
    if len(folders) != 1:
        raise ValueError(f"{project}'s raw files lie in several folders: {sorted(map(str, folders))}")
    return folders.pop()


# ------------------------------------------------------------------ scratch projects
def copy_code(project: Path) -> None:
    """This checkout's conf (conf/local left out, an empty one made), src and pyproject into ``project``;
    files there that the checkout lacks stay (e.g. an environment's ``parameters_protocol.yml``)."""
    ignore = shutil.ignore_patterns("local", "__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "conf", project / "conf", ignore=ignore, dirs_exist_ok=True)
    (project / "conf" / "local").mkdir(exist_ok=True)
    shutil.rmtree(project / "src", ignore_errors=True)  # kedro wants src/ inside the project
    shutil.copytree(ROOT / "src", project / "src", ignore=ignore)
    for name in ("pyproject.toml", ".telemetry"):  # .telemetry: no consent prompt (absent in a clone)
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, project / name)


def refresh(project: Path) -> Path:
    """An existing scratch project with this checkout's conf and code (``copy_code``); its data stays."""
    if not (project / "pyproject.toml").exists():
        raise FileNotFoundError(f"no scratch project {project}: make it first (see the script's docstring)")
    copy_code(project)
    return project


def scratch_copy(project: Path, raw: Path, env: str | None = None) -> Path:
    """``project`` gets this checkout's conf, src and pyproject, and the files of the folder ``raw``
    where its catalog reads the raw datasets; its earlier conf and data go, anything else it holds from
    an earlier run (logs, MLflow store) stays."""
    for sub in ("conf", "data"):
        shutil.rmtree(project / sub, ignore_errors=True)
    project.mkdir(parents=True, exist_ok=True)
    copy_code(project)
    for path in raw_files(project, env).values():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(raw / path.name, path)
    return project


def write_conf(project: Path, env: str, name: str, content: Params) -> Path:
    """``conf/<env>/<name>.yml`` of ``project``: settings a scratch run's environment adds."""
    path = project / "conf" / env / f"{name}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(content))
    return path


def prepare_project(protocol: str, raw: Path, env: str, name: str | None = None) -> Path:
    """A scratch project (``WORK/<name or protocol>``) on ``raw``, split by ``protocol``: the run
    environment replaces conf/local, so the protocol's splitting parameters go into that environment."""
    project = scratch_copy(WORK / (name or protocol), raw, env)
    write_conf(project, env, "parameters_protocol", {"splitting": dict(PROTOCOLS[protocol])})
    return project


# ------------------------------------------------------------------ sessions, catalog, runs
@contextlib.contextmanager
def session(project: Path, env: str | None = None, params: Params | None = None) -> Iterator[KedroSession]:
    """A KedroSession on ``project`` with runtime ``params`` (merged key by key into conf's, as
    ``kedro run --params``), run from inside it: the catalog's file paths are relative. Afterwards no
    MLflow run stays open and MLflow's tracking URI, which kedro-mlflow sets per project, is reset: the
    next session may be on another project."""
    import mlflow

    bootstrap_project(project)
    previous = Path.cwd()
    os.chdir(project)
    try:
        with KedroSession.create(project_path=project, env=env, runtime_params=params) as kedro:
            yield kedro
    finally:
        while mlflow.active_run():
            mlflow.end_run()
        mlflow.set_tracking_uri("")
        os.chdir(previous)


def load(project: Path, *names: str, env: str | None = None) -> dict[str, Any]:
    """Datasets of ``project``'s catalog, loaded: e.g. ``fold_test_gt@pandas``, ``sasrec.train_history``."""
    with session(project, env) as kedro:
        catalog = kedro.load_context().catalog
        return {name: catalog.load(name) for name in names}


def parameters(project: Path, env: str | None = None, params: Params | None = None) -> dict[str, Any]:
    """``project``'s parameters as its nodes get them: conf of ``env`` with runtime ``params`` merged, each
    block validated by the type its nodes declare (e.g. ``sasrec`` a ``SequentialSettings``)."""
    with session(project, env, params) as kedro:
        return kedro.load_context().params


def missing(project: Path, names: Iterable[str], env: str | None = None) -> list[str]:
    """Those of ``names`` that ``project``'s catalog has no data for (all of them without a project)."""
    if not (project / "pyproject.toml").exists():
        return list(names)
    with session(project, env) as kedro:
        catalog = kedro.load_context().catalog
        return [name for name in names if not catalog.exists(name)]


def outputs(pipeline: str) -> set[str]:
    """Every dataset that the registered ``pipeline`` writes (a project must be bootstrapped)."""
    return pipelines[pipeline].all_outputs()


def namespaces_writing(pipeline: str, dataset: str) -> list[str]:
    """The namespaces (models) whose ``<namespace>.<dataset>`` the registered ``pipeline`` writes."""
    suffix = f".{dataset}"
    return sorted(name.removesuffix(suffix) for name in outputs(pipeline) if name.endswith(suffix))


def run_nodes(
    project: Path,
    pipeline: str,
    nodes: list[str] | None = None,
    env: str | None = None,
    params: Params | None = None,
) -> float:
    """Run ``nodes`` (full names, e.g. ``sasrec.fit``; all when None) of the registered ``pipeline`` in a
    KedroSession on ``project`` with runtime ``params``, as ``kedro run --pipelines P --nodes N --params``
    would; returns the run's wall seconds (the session's own overhead included). The inputs they read
    from the catalog must be there (the folds of an earlier splitting run, a fitted model, ...)."""
    with session(project, env, params) as kedro:
        catalog = kedro.load_context().catalog
        selected = pipelines[pipeline].only_nodes(*nodes) if nodes else pipelines[pipeline]
        absent = [d for d in sorted(selected.inputs()) if not is_param(d) and not catalog.exists(d)]
        if absent:
            raise FileNotFoundError(
                f"{project}: {', '.join(absent)} missing; run what writes them first "
                "(e.g. kedro run --pipelines splitting, or the script's first step in its docstring)"
            )
        start = time.perf_counter()
        kedro.run(pipeline_names=[pipeline], node_names=nodes)
        return time.perf_counter() - start
