"""A sequential block is checked when its settings are built: by Kedro before the first node of a run, or
by ``SequentialSettings.but`` for a member's or a run's copy. A bad key or value names the key."""

from __future__ import annotations

import functools

import pytest
from kedro.runner import SequentialRunner
from kedro.validation import ParameterValidationError
from kedro.validation.parameter_validator import ParameterValidator
from pydantic import ValidationError

from recsys_challenge.pipelines.sequential import MODELS, create_pipeline
from recsys_challenge.pipelines.sequential.settings import WARM, SequentialSettings
from tests.conftest import refused_naming, reset_mlflow

from .conftest import copy_project, settings

fails_naming = functools.partial(refused_naming, SequentialSettings)  # (block, key, reason)


@pytest.mark.parametrize("model", MODELS)
def test_every_shipped_block_validates_and_keeps_its_values(params, model):
    block = params[model]
    validated = SequentialSettings.model_validate(block)
    assert {key: getattr(validated, key) for key in block} == block
    assert validated.name == model


def test_a_misspelt_key_fails_naming_it(params):
    fails_naming({**params["sasrec"], "hiden_size": 8}, "hiden_size", "Extra inputs are not permitted")


def test_a_string_where_a_number_belongs_fails_naming_the_key(params):
    block = params["sasrec"]
    fails_naming({**block, "hidden_size": "64"}, "hidden_size", "valid integer")
    fails_naming({**block, "learning_rate": "0.01"}, "learning_rate", "valid number")
    fails_naming({**block, "ks": [10, "20"]}, "ks.1", "valid integer")


def test_impossible_values_fail_naming_the_key(params):
    block = params["sasrec"]
    fails_naming({**block, "ensemble": 0}, "ensemble", "greater than or equal to 1")
    fails_naming({**block, "warm_epochs": 0}, "warm_epochs", "greater than or equal to 1")
    fails_naming({**block, "attention_dropout": 1.0}, "attention_dropout", "less than 1")
    fails_naming({**block, "direction": "sideways"}, "direction", "'forward', 'backward' or 'both'")
    fails_naming({**block, "batching": "sorted"}, "batching", "'full', 'trimmed' or 'bucketed'")
    fails_naming({**block, "model": "gru"}, "model", "'sasrec' or 'bert4rec'")


def test_a_copy_is_validated_like_the_original_and_strict(params):
    config = settings(params, "sasrec")
    assert (
        config.but(hidden_size=64).hidden_size == 64 and config.hidden_size == params["sasrec"]["hidden_size"]
    )
    with pytest.raises(ValidationError, match=r"hidden_size\n  Input should be a valid integer"):
        config.but(hidden_size="64")  # strict: no "64" -> 64
    with pytest.raises(ValidationError, match=r"hiden_size\n  Extra inputs are not permitted"):
        config.but(hiden_size=64)
    with pytest.raises(ValidationError, match="frozen"):
        config.hidden_size = 64


def test_cloze_needs_bert4rec_with_full_ce(params):
    assert settings(params, "bert4rec_cloze").task == "cloze"
    with pytest.raises(
        ValidationError,
        match=r"task cloze needs model bert4rec and loss CE or CE_sampled; got model 'bert4rec', loss 'BCE'",
    ):
        settings(params, "bert4rec_cloze", loss="BCE")
    with pytest.raises(
        ValidationError,
        match=r"task cloze needs model bert4rec and loss CE or CE_sampled; got model 'sasrec'",
    ):
        settings(params, "sasrec", task="cloze")
    assert settings(params, "bert4rec_cloze", loss="CE_sampled").loss == "CE_sampled"


@pytest.mark.parametrize(
    ("loss", "n_items", "expected"),
    [
        ("CE", 999, "CE"),  # below the threshold: as written
        ("CE", 1000, "CE_sampled"),
        ("BCE", 5000, "BCE_sampled"),
        ("CE_sampled", 5000, "CE_sampled"),
    ],
)
def test_a_full_loss_turns_sampled_from_the_catalogue_size_set(params, loss, n_items, expected):
    config = settings(params, "sasrec", loss=loss, sampled_loss_from_items=1000)
    assert config.for_catalog(n_items).loss == expected
    assert settings(params, "sasrec", loss=loss).for_catalog(10**6).loss == loss  # no threshold: never


@pytest.mark.parametrize(
    ("refit", "windows", "warm"),
    [
        (WARM, {"test", "final"}, True),
        (True, {"test", "final"}, False),
        (False, set(), False),
        ("test", {"test"}, False),
        ("test,final", {"test", "final"}, False),
        ("test, final", {"test", "final"}, False),  # --params sasrec.refit="test, final"
        (["test"], {"test"}, False),
        ([], set(), False),
    ],
)
def test_refit_names_the_later_windows_to_retrain(params, refit, windows, warm):
    config = settings(params, "sasrec", refit=refit)
    assert config.refit_windows == windows and config.warm is warm


def test_refit_rejects_an_unknown_window(params):
    for refit in (["tset"], "test,tset"):
        with pytest.raises(ValidationError, match=r"refit\n  Value error, unknown window\(s\) \['tset'\]"):
            settings(params, "sasrec", refit=refit)


def test_members_and_attention_follow_their_keys(params):
    config = settings(params, "sasrec", seed=7, ensemble=3, dropout=0.3)
    assert config.member_seeds == [7, 8, 9]
    assert config.attention_rate == 0.3  # unset: the model's dropout, as in plain RePlay
    assert config.but(attention_dropout=0.0).attention_rate == 0.0


def test_kedro_validates_each_namespaced_block(params):
    """The template reads ``params:config``; each namespace reads ``params:<model>`` with its type."""
    pipe = create_pipeline()
    assert {f"params:{m}" for m in MODELS} <= pipe.inputs()
    validator = ParameterValidator({"sequential": pipe})
    validated = validator.validate_raw_params({m: params[m] for m in MODELS})
    assert all(isinstance(validated[m], SequentialSettings) for m in MODELS)
    with pytest.raises(ParameterValidationError, match=r"Parameter 'bert4rec'(.|\n)*\nhiden_size\n"):
        validator.validate_raw_params(
            {**{m: params[m] for m in MODELS}, "bert4rec": {**params["bert4rec"], "hiden_size": 8}}
        )


class CountingRunner(SequentialRunner):
    """A runner that counts the pipelines it was handed (a node runs only through one)."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    def run(self, *args, **kwargs):
        self.runs += 1
        return super().run(*args, **kwargs)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hiden_size": 8}, r"\nhiden_size\n  Extra inputs are not permitted"),
        ({"hidden_size": "abc"}, r"\nhidden_size\n  Input should be a valid integer"),
    ],
    ids=["misspelt", "string"],
)
def test_a_bad_runtime_parameter_fails_the_run_before_its_first_node(project_root, tmp_path, change, message):
    """``kedro run --pipeline sasrec --params ...`` through KedroSession on a throwaway copy of the
    project: Kedro validates the block before the runner is handed the pipeline (whose first nodes
    would otherwise split the data and train)."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    project = copy_project(project_root, tmp_path / "project")
    runner = CountingRunner()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)  # MLflow's store (sqlite:///mlflow.db) goes into the copy
        bootstrap_project(project)
        try:
            session = KedroSession.create(project_path=project, env="test", runtime_params={"sasrec": change})
            error = pytest.raises(ParameterValidationError, match=rf"Parameter 'sasrec'(.|\n)*{message}")
            with session, error:
                session.run(pipeline_names=["sasrec"], runner=runner)
        finally:
            reset_mlflow()
    assert runner.runs == 0
    written = {p.relative_to(project / "data") for p in (project / "data").rglob("*") if p.is_file()}
    assert all(p.parts[0] == "01_raw" for p in written), sorted(map(str, written))
