"""A co-visitation block is checked before any node runs, in its own namespace (``params:covisit``)."""

from __future__ import annotations

import functools

import pandas as pd
import pytest
from kedro.validation import ParameterValidationError
from kedro.validation.parameter_validator import ParameterValidator

from recsys_challenge.pipelines.covisitation import MODELS, create_pipeline
from recsys_challenge.pipelines.covisitation import pipeline as covisitation
from recsys_challenge.pipelines.covisitation.settings import CovisitationSettings
from recsys_challenge.pipelines.reranker import create_pipeline as reranker
from tests.conftest import COVISIT_HISTORY as HISTORY
from tests.conftest import COVISIT_ITEMS as ITEMS
from tests.conftest import covisit_hole as hole
from tests.conftest import parameter_inputs, refused_naming, run_pipeline


@pytest.fixture
def block(params) -> dict:
    return params["covisit"]


fails_naming = functools.partial(refused_naming, CovisitationSettings)  # (block, key, reason)


def test_the_shipped_block_validates_with_its_values(block):
    settings = CovisitationSettings.model_validate(block)
    assert settings.model_dump() == {**block, "ks_test": list(block["ks_test"])}
    unscaled = {k: v for k, v in block.items() if k != "popularity_exponent"}
    assert CovisitationSettings.model_validate(unscaled).popularity_exponent == 0.0  # the default


def test_a_misspelt_key_fails_naming_it(block):
    fails_naming({**block, "windw": 3}, "windw", "Extra inputs are not permitted")


def test_a_string_where_a_number_belongs_fails_naming_the_key(block):
    fails_naming({**block, "window": "5"}, "window", "valid integer")
    fails_naming({**block, "popularity_exponent": "0.4"}, "popularity_exponent", "valid number")
    fails_naming({**block, "ks_test": [10, "20"]}, "ks_test.1", "valid integer")


def test_impossible_values_fail_naming_the_key(block):
    fails_naming({**block, "window": 0}, "window", "greater than or equal to 1")
    fails_naming({**block, "ks_test": []}, "ks_test", "at least 1 item")


def test_kedro_validates_the_namespaced_block_before_any_node(block):
    """The template reads ``params:config``; each namespace reads ``params:<model>``. Kedro finds the
    template's type hint under the namespaced name, and the reranker's hole features read the same
    block with the same type."""
    pipe = create_pipeline()
    assert {f"params:{m}" for m in MODELS} <= pipe.inputs()
    holes = reranker(MODELS).only_nodes_with_tags("reranker").filter(node_names=["reranker.holes_test"])
    for scope in (pipe, holes):
        validator = ParameterValidator({"scope": scope})
        assert isinstance(validator.validate_raw_params({"covisit": block})["covisit"], CovisitationSettings)
        with pytest.raises(ParameterValidationError, match=r"Parameter 'covisit'(.|\n)*windw"):
            validator.validate_raw_params({"covisit": {**block, "windw": 3}})


def test_the_template_runs_on_the_validated_block(block):
    """Every node of a namespace, the shared test metrics included, takes the settings object."""
    pipe = create_pipeline()
    targets = pd.concat([hole(1, 2), hole(2, 2)])
    data = {"items@pandas": ITEMS, "fold_test_gt@pandas": pd.DataFrame({"user_id": [1], "item_id": [20]})}
    data |= {name: HISTORY for name in covisitation.HISTORY.values()}
    data |= {name: targets for name in covisitation.TARGETS.values()}
    out = run_pipeline(pipe, {**data, **parameter_inputs(pipe, {"covisit": block})})
    metrics = out["covisit.test_metrics"]
    assert metrics["model"].tolist() == ["covisit"] and metrics["ndcg_10"].iloc[0] > 0
    assert {f"test.ndcg_{k}" for k in block["ks_test"]} <= set(out["covisit.mlflow_metrics"])
