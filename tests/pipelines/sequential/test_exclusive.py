"""Sequential nodes run one at a time under any runner (shared random state, every core each)."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time

from recsys_challenge.pipelines.sequential import create_pipeline
from recsys_challenge.pipelines.sequential.exclusive import TORCH_LOCK, exclusive


def test_exclusive_calls_never_overlap_and_keep_their_name():
    spans: list[tuple[float, float]] = []

    def work(seconds: float) -> str:
        start = time.perf_counter()
        time.sleep(seconds)
        spans.append((start, time.perf_counter()))
        return "done"

    locked = exclusive(work)
    threads = [threading.Thread(target=locked, args=(0.05,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spans.sort()
    assert len(spans) == 4
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
    assert locked(0) == "done" and locked.__name__ == "work"


def _blocks_on_the_lock(func) -> bool:
    """Whether ``func`` (called with no arguments, in a thread) waits while the lock is held."""
    with TORCH_LOCK:
        thread = threading.Thread(target=lambda: _swallow(func), daemon=True)
        thread.start()
        thread.join(0.2)
        waiting = thread.is_alive()
    thread.join(5)
    return waiting


def _swallow(func) -> None:
    with contextlib.suppress(TypeError):  # no arguments: it fails at once, once it runs
        func()


def test_every_node_that_runs_a_network_holds_the_lock_and_no_other_does():
    pipe = create_pipeline(models=("sasrec",))
    for node in pipe.nodes:
        runs_a_network = bool({"training", "inference"} & set(node.tags))
        assert _blocks_on_the_lock(node.func) is runs_a_network, node.name
