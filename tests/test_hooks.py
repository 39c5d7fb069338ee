"""The SparkSession is started only when needed and stopped when the run ends, even on failure."""

from __future__ import annotations

import pytest
from kedro.pipeline import Node

from recsys_challenge.hooks import SparkHooks, SparkNotAvailableError

pytestmark = pytest.mark.slow
CONF = {
    "spark.master": "local[1]",
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.memory": "1g",
}


def identity(x):
    return x


@pytest.mark.parametrize("end", ["after_pipeline_run", "on_pipeline_error"])
def test_spark_starts_lazily_and_stops_at_the_end_of_the_run(end):
    hooks = SparkHooks()
    hooks._conf = dict(CONF)
    hooks.before_node_run(Node(identity, "a", "b", name="pandas_only"))
    hooks.before_dataset_loaded("fold_gen_train@pandas", None)
    assert hooks._session is None  # nothing asked for Spark yet
    hooks.before_dataset_loaded("fold_gen_train@spark", None)
    session = hooks._session
    assert session is not None and session.sparkContext._jsc is not None
    getattr(hooks, end)()
    assert hooks._session is None
    assert session.sparkContext._jsc is None  # the JVM context is gone


def test_missing_java_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(SparkNotAvailableError, match="Java 17"):
        SparkHooks().session()


def test_spark_stops_after_the_last_node_that_needs_it():
    from kedro.pipeline import Pipeline

    first = Node(identity, "a@spark", "b", name="reads_spark")
    second = Node(identity, "b", "c", name="tagged", tags=["spark"])
    later = Node(identity, "c", "d", name="pandas_after")
    hooks = SparkHooks()
    hooks._conf = dict(CONF)
    hooks.before_pipeline_run({}, Pipeline([first, second, later]))
    hooks.before_dataset_loaded("a@spark", first)
    session = hooks._session
    hooks.after_node_run(first)
    assert hooks._session is session  # the tagged node still needs it
    hooks.before_node_run(second)
    hooks.after_node_run(second)
    assert hooks._session is None and session.sparkContext._jsc is None  # its JVM memory is free
    hooks.before_node_run(later)
    hooks.after_node_run(later)
    assert hooks._session is None  # a pandas node starts nothing


def test_threads_asking_at_once_share_one_session(monkeypatch):
    import threading
    import time

    hooks, started = SparkHooks(), []

    def slow_start():  # a JVM takes seconds to start: every thread asks meanwhile
        started.append(object())
        time.sleep(0.1)
        hooks._session = started[-1]
        return hooks._session

    monkeypatch.setattr(hooks, "_start", slow_start)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(hooks.session())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(started) == 1 and got == started * 4
