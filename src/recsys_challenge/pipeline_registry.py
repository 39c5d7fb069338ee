"""User-facing pipelines, composed from the stage pipelines under ``pipelines/``.

Every stage is imported explicitly (no discovery): the compositions below add what a stage needs
upstream, so that ``kedro run --pipeline sasrec`` works on a fresh clone.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from .pipelines import (
    classic,
    covisitation,
    data_processing,
    features,
    reporting,
    reranker,
    sequential,
    splitting,
    submission,
)


def register_pipelines() -> dict[str, Pipeline]:
    """Ingest, each model end to end, each generator family, features, the reranker and the full run."""
    pipelines: dict[str, Pipeline] = {"data_processing": data_processing.create_pipeline()}
    ingest = pipelines["data_processing"] + splitting.create_pipeline()
    pipelines["splitting"] = ingest

    families = (("sequential", sequential), ("classic", classic), ("covisitation", covisitation))
    for family, stage in families:
        generators = stage.create_pipeline()
        for model in stage.MODELS:
            own = generators.only_nodes_with_namespaces([model])
            pipelines[model] = ingest + own + submission.create_pipeline((model,), choose=False)
        pipelines[family] = ingest + generators + submission.create_pipeline(stage.MODELS, choose=False)

    pipelines["features"] = ingest + features.create_pipeline()

    every_generator = sequential.MODELS + classic.MODELS + covisitation.MODELS  # all feed the reranker
    pipelines["reranker"] = reranker.create_pipeline(every_generator)
    pipelines["__default__"] = (
        pipelines["sequential"]
        + pipelines["classic"]
        + pipelines["covisitation"]
        + pipelines["features"]
        + pipelines["reranker"]
        + submission.create_pipeline(("reranker", *every_generator), choose=True)
        + reporting.create_pipeline(sequential.MODELS)
    )
    return pipelines
