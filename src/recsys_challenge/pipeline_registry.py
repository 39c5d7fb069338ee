"""User-facing pipelines, composed from the stage pipelines under ``pipelines/``.

``find_pipelines`` discovers the stages (``kedro run --pipeline features`` runs one stage alone
over existing catalog data); the compositions below add what a stage needs upstream, so that
``kedro run --pipeline sasrec`` works on a fresh clone.
"""

from __future__ import annotations

import importlib
import warnings

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

from .pipelines import reranker, submission
from .pipelines.classic import MODELS as CLASSIC
from .pipelines.sequential import MODELS as SEQUENTIAL

INGEST = ("data_processing", "splitting")


def _loader(found: dict[str, Pipeline]):
    # Kedro loads only the requested pipelines; compositions may need stages it skipped.
    def stage(name: str) -> Pipeline:
        if name not in found:
            found[name] = importlib.import_module(f"{__package__}.pipelines.{name}").create_pipeline()
        return found[name]

    return stage


def _compose(stage, names: tuple[str, ...]) -> Pipeline:
    return sum((stage(n) for n in names), Pipeline([]))


def register_pipelines() -> dict[str, Pipeline]:
    """Stage pipelines plus end-to-end compositions per model and the full two-stage run."""
    with warnings.catch_warnings():
        # a requested composition (e.g. "sasrec") is no stage folder; Kedro warns about it, we build it below
        warnings.simplefilter("ignore")
        found = {k: v for k, v in find_pipelines(raise_errors=False).items() if k != "__default__"}
    stage = _loader(found)
    pipelines: dict[str, Pipeline] = {}

    pipelines["data_processing"] = stage("data_processing")
    pipelines["splitting"] = _compose(stage, INGEST)
    ingest = pipelines["splitting"]

    for family, models in (("sequential", SEQUENTIAL), ("classic", CLASSIC)):
        generators = stage(family)
        for model in models:
            own = generators.only_nodes_with_namespaces([model])
            pipelines[model] = ingest + own + submission.create_pipeline((model,), choose=False)
        pipelines[family] = ingest + generators + submission.create_pipeline(models, choose=False)

    pipelines["features"] = ingest + stage("features")

    generators = SEQUENTIAL + CLASSIC  # every generator feeds the reranker
    pipelines["reranker"] = reranker.create_pipeline(generators)
    pipelines["__default__"] = (
        pipelines["sequential"]
        + pipelines["classic"]
        + pipelines["features"]
        + pipelines["reranker"]
        + submission.create_pipeline(("reranker", *generators), choose=True)
        + stage("reporting")
    )
    return pipelines
