"""The registered pipelines: the competition run is the whole run without the generators it leaves out."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from recsys_challenge.pipeline_registry import LEFT_OUT_UNDER_COMPETITION, register_pipelines


def namespaces(pipeline: Pipeline) -> set[str]:
    return {n.namespace.split(".")[0] for n in pipeline.nodes if n.namespace}


def test_the_competition_run_leaves_out_exactly_its_generators_and_keeps_the_rest_whole():
    pipelines = register_pipelines()
    whole, lean = pipelines["__default__"], pipelines["competition"]
    assert namespaces(whole) - namespaces(lean) == set(LEFT_OUT_UNDER_COMPETITION)
    left_out = whole.only_nodes_with_namespaces(list(LEFT_OUT_UNDER_COMPETITION))
    assert {n.name for n in lean.nodes} == {n.name for n in whole.nodes} - {n.name for n in left_out.nodes}
    # nothing the lean run needs comes only from a node it left out: its free inputs are the whole run's
    # (raw data, parameters) but the left-out generators' own parameter blocks
    assert lean.inputs() == whole.inputs() - {f"params:{g}" for g in LEFT_OUT_UNDER_COMPETITION}
    union = [n for n in lean.nodes if any(i.endswith(".candidates_final") for i in n.inputs)]
    read = {i.split(".")[0] for n in union for i in n.inputs if i.endswith(".candidates_final")}
    assert read and not read & set(LEFT_OUT_UNDER_COMPETITION)
