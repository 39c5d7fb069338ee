"""The splitting settings are checked before any node runs, and the protocol is decided once: every later
node follows the ``split_protocol`` dataset instead of working it out again."""

from __future__ import annotations

import functools

import pandas as pd
import pytest
from kedro.validation import ParameterValidationError
from kedro.validation.parameter_validator import ParameterValidator
from pydantic import ValidationError

from recsys_challenge.core import GAPS, NEXT_ITEM, PROTOCOL, PROTOCOLS
from recsys_challenge.pipelines.data_processing.nodes import order_interactions
from recsys_challenge.pipelines.splitting import create_pipeline
from recsys_challenge.pipelines.splitting.gaps import raw_targets, truth_targets
from recsys_challenge.pipelines.splitting.nodes import (
    decide_protocol,
    has_holes,
    split_window,
    window_targets,
)
from recsys_challenge.pipelines.splitting.settings import (
    GapsHoldout,
    NextItemHoldout,
    SplittingSettings,
)
from recsys_challenge.synthetic import hide_events
from tests.conftest import make_events, parameter_inputs, refused_naming, run_pipeline, strip_engine


@pytest.fixture
def block(params) -> dict:
    """The raw ``splitting`` block of the test env."""
    return params["splitting"]


fails_naming = functools.partial(refused_naming, SplittingSettings)  # (block, key, reason)


@pytest.fixture(scope="module")
def without_holes(sample) -> pd.DataFrame:
    return order_interactions(sample["events"])


@pytest.fixture(scope="module")
def with_holes(sample) -> pd.DataFrame:
    visible, _ = hide_events(sample["events"], 0.106, seed=3)  # the competition's form
    return order_interactions(visible)


# ----------------------------------------------------------------------------- settings


def test_the_shipped_block_validates_with_its_values(block):
    settings = SplittingSettings.model_validate(block)
    assert settings.protocol == "auto" and settings.tail_weight == block["tail_weight"]
    assert settings.test == NextItemHoldout(**block["test"])
    assert settings.gaps.test == GapsHoldout(**block["gaps"]["test"])
    with pytest.raises(ValidationError, match="frozen"):
        settings.tail_weight = 1.0  # type: ignore[misc]


def test_a_misspelt_key_fails_naming_it(block):
    fails_naming({**block, "min_event_to_split": 3}, "min_event_to_split", "Extra inputs are not permitted")
    gaps = {**block["gaps"], "test": {**block["gaps"]["test"], "sead": 1}}
    fails_naming({**block, "gaps": gaps}, "gaps.test.sead", "Extra inputs are not permitted")


def test_a_string_where_a_number_belongs_fails_naming_the_key(block):
    fails_naming({**block, "tail_weight": "0.2"}, "tail_weight", "valid number")
    fails_naming({**block, "test": {**block["test"], "n": "one"}}, "test.n", "valid integer")
    fails_naming({**block, "drop_cold_items": "yes"}, "drop_cold_items", "valid boolean")


def test_impossible_combinations_fail_naming_the_key(block):
    fails_naming({**block, "test": {"strategy": "last_n"}}, "test", "strategy last_n needs n")
    fails_naming({**block, "rerank": {"strategy": "ratio", "n": 1}}, "rerank", "ratio needs fraction")
    fails_naming({**block, "test": {**block["test"], "fraction": 1.5}}, "test.fraction", "less than 1")
    fails_naming({**block, "protocol": "last_n"}, "protocol", "'auto', 'next_item' or 'gaps'")
    no_gaps = {k: v for k, v in block.items() if k != "gaps"}
    with pytest.raises(ValidationError, match="protocol gaps needs the gaps block"):
        SplittingSettings.model_validate({**no_gaps, "protocol": "gaps"})
    assert SplittingSettings.model_validate({**no_gaps, "protocol": "next_item"}).gaps is None


def test_defaults_live_in_the_model(block):
    required = {k: block[k] for k in ("test", "rerank", "min_events_to_split", "tail_weight")}
    settings = SplittingSettings.model_validate(
        {**required, "drop_cold_users": True, "drop_cold_items": True, "gaps": {"test": {"fraction": 0.1},
                                                                             "rerank": {"fraction": 0.1}}}
    )  # fmt: skip
    assert settings.protocol == "auto" and settings.gaps.test.seed == 0


def test_kedro_validates_the_block_before_any_node(block):
    """The splitting nodes' type hints are what Kedro reads: the raw block becomes the settings object,
    a bad one fails with the parameter's and the key's names."""
    validator = ParameterValidator({"splitting": create_pipeline()})
    assert isinstance(validator.validate_raw_params({"splitting": block})["splitting"], SplittingSettings)
    with pytest.raises(ParameterValidationError, match=r"Parameter 'splitting'(.|\n)*tail_weight"):
        validator.validate_raw_params({"splitting": {**block, "tail_weight": "0.2"}})


# ----------------------------------------------------------------------------- the protocol, once


def test_the_protocol_is_decided_from_the_data_under_auto_only(block, without_holes, with_holes):
    auto = SplittingSettings.model_validate(block)
    assert not has_holes(without_holes) and has_holes(with_holes)
    assert decide_protocol(with_holes, auto) == GAPS
    assert decide_protocol(without_holes, auto) == NEXT_ITEM
    for protocol in PROTOCOLS:  # a named protocol wins over the data
        named = auto.model_copy(update={"protocol": protocol})
        assert decide_protocol(with_holes, named) == decide_protocol(without_holes, named) == protocol


def test_the_pipeline_writes_the_decision_to_the_catalogs_dataset(block, with_holes):
    pipe = create_pipeline()
    (decide,) = [n for n in pipe.nodes if PROTOCOL in n.outputs]
    assert decide.outputs == [PROTOCOL]
    # every node that splits a window or sets its targets reads the decision, none reads the raw data
    readers = {n.name for n in pipe.nodes if PROTOCOL in n.inputs}
    assert readers == {"split_test_window", "split_rerank_window", "targets_rerank", "targets_test"}
    inputs = {"interactions@pandas": with_holes, **parameter_inputs(pipe, {"splitting": block})}
    assert run_pipeline(pipe, inputs)[PROTOCOL] == GAPS


def run_with_protocol(interactions: pd.DataFrame, block: dict, protocol: str) -> dict[str, pd.DataFrame]:
    """The splitting pipeline with ``split_protocol`` given instead of decided."""
    pipe = create_pipeline()
    pipe = pipe - pipe.only_nodes_with_outputs(PROTOCOL)
    inputs = {"interactions@pandas": interactions, PROTOCOL: protocol}
    return strip_engine(run_pipeline(pipe, {**inputs, **parameter_inputs(pipe, {"splitting": block})}))


def positions(frame: pd.DataFrame) -> set[tuple[int, int]]:
    return set(map(tuple, frame[["user_id", "position"]].to_numpy()))


def test_the_windows_follow_the_dataset_not_the_data(block, without_holes, with_holes):
    # data without holes, settings auto (next_item), the dataset says gaps: random positions are hidden
    gaps = run_with_protocol(without_holes, block, GAPS)
    last = without_holes.groupby("user_id")["position"].transform("max")
    hidden = without_holes.assign(last=last).merge(gaps["fold_test_gt"][["user_id", "position"]])
    assert (hidden["position"] < hidden["last"]).mean() > 0.8  # mostly inside the sequences
    assert gaps["fold_test_gt"].groupby("user_id").size().max() > 1
    assert not gaps["targets_test"]["tail"].all()  # every unknown position is a target
    # data with holes, settings auto (gaps), the dataset says next_item: each user's last event
    next_item = run_with_protocol(with_holes, block, NEXT_ITEM)
    assert next_item["fold_test_gt"].groupby("user_id").size().max() == 1
    for window in ("test", "rerank"):
        truth = next_item[f"fold_{window}_gt"]
        assert positions(next_item[f"targets_{window}"]) == positions(truth)


def test_the_nodes_follow_the_protocol_they_are_given(block, with_holes):
    settings = SplittingSettings.model_validate(block)  # auto, and the data has holes
    history, truth = split_window(with_holes, NEXT_ITEM, settings, window="test")
    last = with_holes.groupby("user_id")["position"].max()
    assert truth.groupby("user_id").size().max() == 1
    assert (truth.set_index("user_id")["position"] == last.reindex(truth["user_id"])).all()
    pd.testing.assert_frame_equal(
        window_targets(history, truth, NEXT_ITEM, settings, window="test"), truth_targets(truth, history)
    )
    every_unknown_position = raw_targets(history, block["tail_weight"])
    pd.testing.assert_frame_equal(
        window_targets(history, truth, GAPS, settings, window="test"), every_unknown_position
    )


@pytest.mark.parametrize("protocol", ["auto", "last_n", ""])
def test_an_undecided_protocol_is_rejected_by_its_consumers(block, with_holes, protocol):
    settings = SplittingSettings.model_validate(block)
    with pytest.raises(ValueError, match=f"{PROTOCOL} must be one of"):
        split_window(with_holes, protocol, settings, window="test")
    with pytest.raises(ValueError, match=f"{PROTOCOL} must be one of"):
        window_targets(with_holes, with_holes, protocol, settings, window="test")


def test_the_catalog_keeps_the_decision_as_json(tmp_path):
    from kedro.config import OmegaConfigLoader
    from kedro.io import DataCatalog

    from recsys_challenge.settings import CONFIG_LOADER_ARGS
    from tests.conftest import PROJECT_ROOT

    args = {**CONFIG_LOADER_ARGS, "default_run_env": "test"}
    entry = OmegaConfigLoader(str(PROJECT_ROOT / "conf"), **args)["catalog"][PROTOCOL]
    assert entry["type"] == "recsys_challenge.datasets.JSONDataset"
    catalog = DataCatalog.from_config({PROTOCOL: {**entry, "filepath": str(tmp_path / "protocol.json")}})
    catalog.save(PROTOCOL, GAPS)
    assert (tmp_path / "protocol.json").read_text() == '"gaps"' and catalog.load(PROTOCOL) == GAPS


def test_next_item_needs_no_gaps_block(block):
    """The explicit next_item protocol splits without a gaps block."""
    rows = [(u, i, 10 * i) for u in range(3) for i in range(1, 6)]
    no_gaps = {k: v for k, v in block.items() if k != "gaps"}
    splitting = {**no_gaps, "protocol": "next_item", "drop_cold_items": False}
    pipe = create_pipeline()
    inputs = {
        "interactions@pandas": order_interactions(make_events(rows)),
        **parameter_inputs(pipe, {"splitting": splitting}),
    }
    folds = strip_engine(run_pipeline(pipe, inputs))
    assert folds[PROTOCOL] == NEXT_ITEM
    assert folds["fold_test_gt"]["order"].tolist() == [4, 4, 4]
