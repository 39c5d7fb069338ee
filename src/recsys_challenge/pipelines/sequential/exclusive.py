"""Sequential nodes run one at a time, whichever Kedro runner runs the pipeline.

A fit seeds the process-wide random state of torch, numpy and Python (``lightning.seed_everything``)
and draws from it for every batch and dropout mask, and it already trains on every core. Two fits at
once under ``ThreadRunner`` would interleave their draws (results no longer reproducible) and compete
for the same cores, so the template's nodes that train or run a network (fit, refit, candidates) hold
one lock while they run; under ``ThreadRunner`` the Spark, co-visitation and feature nodes still run
beside them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TypeVar

TORCH_LOCK = threading.Lock()
F = TypeVar("F", bound=Callable)


def exclusive(func: F) -> F:
    """``func`` run under ``TORCH_LOCK`` (its name and signature kept for Kedro and kedro-viz)."""

    @functools.wraps(func)
    def locked(*args, **kwargs):
        with TORCH_LOCK:
            return func(*args, **kwargs)

    return locked  # type: ignore[return-value]
