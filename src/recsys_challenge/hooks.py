"""Project hooks: a lazily started, always stopped SparkSession; empty raw files named; MLflow tags."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro_mlflow.framework.hooks import MlflowHook
from pydantic import BaseModel

from recsys_challenge.schemas import check_not_empty

logger = logging.getLogger(__name__)


class SparkNotAvailableError(RuntimeError):
    """Spark needs Java 17 on PATH (or JAVA_HOME)."""


def needs_spark(node) -> bool:
    """A node tagged ``spark`` or reading or writing an ``@spark`` dataset."""
    return "spark" in node.tags or any(d.endswith("@spark") for d in [*node.inputs, *node.outputs])


class SparkHooks:
    """Start one SparkSession from ``conf/*/spark.yml`` when first needed; stop it after the last node
    that needs it (its JVM holds its memory until then), or when the run ends.

    A run that touches no ``@spark`` dataset and no node tagged ``spark`` never starts a JVM. Safe under
    ``ThreadRunner``: nodes in several threads ask for the session, and one starts or stops it at a time.
    """

    def __init__(self) -> None:
        self._conf: dict[str, Any] = {}
        self._session = None
        self._pending: set[str] = set()
        self._lock = threading.RLock()

    @hook_impl
    def after_context_created(self, context) -> None:
        try:
            self._conf = dict(context.config_loader["spark"])
        except KeyError:
            self._conf = {}

    @hook_impl
    def before_dataset_loaded(self, dataset_name: str, node) -> None:
        if dataset_name.endswith("@spark"):
            self.session()

    @hook_impl
    def before_dataset_saved(self, dataset_name: str, data, node) -> None:
        if dataset_name.endswith("@spark"):
            self.session()

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline) -> None:
        self._pending = {n.name for n in pipeline.nodes if needs_spark(n)}

    @hook_impl
    def before_node_run(self, node) -> None:
        if "spark" in node.tags:
            self.session()

    @hook_impl
    def after_node_run(self, node) -> None:
        with self._lock:
            self._pending.discard(node.name)
            if not self._pending:
                self.stop()

    @hook_impl
    def after_pipeline_run(self) -> None:
        self.stop()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self.stop()

    def session(self):
        """The run's SparkSession, created on first use and shared with RePlay."""
        with self._lock:
            return self._session if self._session is not None else self._start()

    def _start(self):
        if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
            raise SparkNotAvailableError(
                "Spark pipelines need Java 17: install it (Debian: apt-get install openjdk-17-jre-headless) "
                "or set JAVA_HOME."
            )
        from pyspark.sql import SparkSession
        from replay.utils.session_handler import State

        # workers must run this interpreter (it has pandas, RePlay, ...)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        builder = SparkSession.builder
        for key, value in self._conf.items():
            if value is not None:
                builder = builder.config(key, str(value))
        master = str(self._conf.get("spark.master", "local[*]"))
        logger.info("Starting Spark (%s)", master)
        if not master.startswith("local") and self._conf.get("spark.driver.host") is None:
            logger.warning(
                "Spark master %s with no spark.driver.host: the driver advertises SPARK_LOCAL_IP (%s), which "
                "executors on other machines cannot reach; pass --params spark_driver_host=<this host>",
                master,
                os.environ.get("SPARK_LOCAL_IP", "its hostname"),
            )
        self._session = builder.getOrCreate()
        self._session.sparkContext.setLogLevel("ERROR")
        State(self._session)
        return self._session

    def stop(self) -> None:
        with self._lock:
            if self._session is not None:
                logger.info("Stopping Spark")
                self._session.stop()
                self._session = None


class SettingsMlflowHook(MlflowHook):
    """kedro-mlflow's hook (registered here in place of the plugin's own), logging a node's validated
    settings object as the dict it was in YAML: kedro-mlflow flattens dicts into one MLflow param per
    key (``sasrec.learning_rate``) and would log an object as one truncated string."""

    @hook_impl
    def before_node_run(self, node, catalog, inputs: dict[str, Any], is_async: bool) -> None:
        plain = {k: v.model_dump() if isinstance(v, BaseModel) else v for k, v in inputs.items()}
        super().before_node_run(node, catalog, plain, is_async)


class MlflowTagsHook:
    """Tag the run kedro-mlflow opened, so MLflow's compare view lines runs up by pipeline and model."""

    def __init__(self) -> None:
        self._tags: dict[str, str] | None = None

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline) -> None:
        models = sorted({n.namespace.split(".")[0] for n in pipeline.nodes if n.namespace})
        names = run_params.get("pipeline_names") or ["__default__"]
        self._tags = {
            "kedro.pipeline": ",".join(names),
            "kedro.env": str(run_params.get("env") or "local"),
            "models": ",".join(m for m in models if not m.startswith("features_") and m != "reporting"),
        }

    @hook_impl
    def before_node_run(self, node) -> None:
        # the first node runs inside kedro-mlflow's run, whatever the hook order
        if self._tags is None:
            return
        import mlflow

        if mlflow.active_run() is not None:
            mlflow.set_tags(self._tags)
            self._tags = None


class EmptyRawFileHook:
    """Stop before loading an empty raw file, naming it (pandas would only say "No columns to parse").

    Raw files are the datasets listed in ``data_processing.sources`` (with the labels its messages use);
    their paths are the catalog's.
    """

    def __init__(self) -> None:
        self._files: dict[str, tuple[Path, str]] = {}

    @hook_impl
    def after_catalog_created(self, conf_catalog: dict[str, Any], parameters: dict[str, Any]) -> None:
        sources = (parameters.get("params:data_processing") or {}).get("sources") or {}
        self._files = {}
        for name, label in sources.items():
            filepath = (conf_catalog.get(name) or {}).get("filepath")
            if filepath and "://" not in str(filepath):  # local files only
                self._files[name] = (Path(filepath), str(label))

    @hook_impl
    def before_dataset_loaded(self, dataset_name: str, node) -> None:
        if dataset_name in self._files:
            check_not_empty(*self._files[dataset_name])
