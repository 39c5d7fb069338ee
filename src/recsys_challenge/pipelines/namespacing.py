"""One pipeline template, many models: each model is a Kedro namespace with its own parameters."""

from __future__ import annotations

from collections.abc import Iterable

from kedro.pipeline import Pipeline


def per_model(template: Pipeline, models: Iterable[str], shared: set[str], tag: str) -> Pipeline:
    """``template`` once per model: datasets are prefixed ``<model>.``, except the ``shared`` inputs,
    and the template's ``params:config`` becomes ``params:<model>``."""
    return sum(
        (
            Pipeline(
                template,
                namespace=model,
                inputs=shared,
                parameters={"params:config": f"params:{model}"},
                tags=[tag, model],
            )
            for model in models
        ),
        Pipeline([]),
    )
