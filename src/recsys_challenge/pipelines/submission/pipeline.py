"""Per-model submissions (``<model>.submission``) and the chosen one (``submission``)."""

from kedro.pipeline import Node, Pipeline

from .nodes import build_submission, select_submission


def per_model(model: str) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_submission,
                ["candidates_final", "interactions@pandas", "params:submission"],
                "submission",
                name="build_submission",
                tags=["inference"],
            )
        ],
        namespace=model,
        inputs={"interactions@pandas"},
        parameters={"params:submission"},
        tags=["submission"],
    )


def create_pipeline(sources: tuple[str, ...], *, choose: bool, **kwargs) -> Pipeline:
    """Submissions of ``sources``; with ``choose``, ``submission.csv`` is the one of ``submission.source``."""
    pipe = sum((per_model(s) for s in sources), Pipeline([]))
    if not choose:
        return pipe
    chooser = Node(
        select_submission,
        {"source": "params:submission.source", **{s: f"{s}.submission" for s in sources}},
        "submission",
        name="select_submission",
        tags=["submission"],
    )
    return pipe + Pipeline([chooser])
