"""The reranker block (CatBoost's options included) is checked before any node runs."""

from __future__ import annotations

import functools

import pytest
from kedro.validation import ParameterValidationError
from kedro.validation.parameter_validator import ParameterValidator

from recsys_challenge.pipelines.reranker import create_pipeline
from recsys_challenge.pipelines.reranker.settings import RerankerSettings
from tests.conftest import refused_naming


@pytest.fixture
def block(params) -> dict:
    return params["reranker"]


fails_naming = functools.partial(refused_naming, RerankerSettings)  # (block, key, reason)


def test_the_shipped_block_validates_and_catboost_gets_its_options_as_written(block):
    settings = RerankerSettings.model_validate(block)
    options = settings.catboost.options()
    # same keys, order and values: an int stays an int (CatBoost pickles 3 and 3.0 differently)
    assert list(options.items()) == list(block["catboost"].items())
    assert all(type(options[k]) is type(v) for k, v in block["catboost"].items())


def test_defaults_live_in_the_model(block):
    required = {k: block[k] for k in ("per_generator_k", "candidates_k", "ks_test", "eval_fraction", "seed")}
    settings = RerankerSettings.model_validate(required)
    assert settings.final_with_test_labels is False
    assert settings.catboost.options() == {"loss_function": "auto"}  # the rest: CatBoost's own defaults


def test_a_misspelt_key_fails_naming_it(block):
    fails_naming({**block, "per_generator": 20}, "per_generator", "Extra inputs are not permitted")
    catboost = {**block["catboost"], "iteration": 10}
    fails_naming({**block, "catboost": catboost}, "catboost.iteration", "Extra inputs are not permitted")
    # the seed is reranker.seed: CatBoost's own would be passed twice
    catboost = {**block["catboost"], "random_seed": 1}
    fails_naming({**block, "catboost": catboost}, "catboost.random_seed", "Extra inputs are not permitted")


def test_a_string_where_a_number_belongs_fails_naming_the_key(block):
    fails_naming({**block, "candidates_k": "100"}, "candidates_k", "valid integer")
    fails_naming({**block, "eval_fraction": "0.2"}, "eval_fraction", "valid number")
    catboost = {**block["catboost"], "depth": "6"}
    fails_naming({**block, "catboost": catboost}, "catboost.depth", "valid integer")


def test_impossible_values_fail_naming_the_key(block):
    fails_naming({**block, "eval_fraction": 1.0}, "eval_fraction", "less than 1")
    fails_naming({**block, "ks_test": []}, "ks_test", "at least 1 item")
    fails_naming({**block, "per_generator_k": 0}, "per_generator_k", "greater than 0")


def test_kedro_validates_the_block_of_the_namespaced_pipeline(block):
    """The reranker is the ``reranker`` namespace, its parameters stay ``params:reranker``."""
    validator = ParameterValidator({"reranker": create_pipeline(("gen_a",))})
    validated = validator.validate_raw_params({"reranker": block})
    assert isinstance(validated["reranker"], RerankerSettings)
    with pytest.raises(ParameterValidationError, match=r"Parameter 'reranker'(.|\n)*catboost.learning_rate"):
        validator.validate_raw_params(
            {"reranker": {**block, "catboost": {**block["catboost"], "learning_rate": "x"}}}
        )
