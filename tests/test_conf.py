"""Every shipped configuration environment resolves, and its sequential blocks make sense."""

from __future__ import annotations

import pytest
from kedro.config import OmegaConfigLoader

from recsys_challenge.pipelines.sequential import MODELS
from recsys_challenge.pipelines.sequential.models import _member_seeds
from recsys_challenge.pipelines.sequential.nodes import refit_windows
from tests.conftest import PROJECT_ROOT

ENVS = sorted(
    p.name for p in (PROJECT_ROOT / "conf").iterdir() if p.is_dir() and p.name not in {"base", "local"}
)


@pytest.mark.parametrize("env", ENVS)
def test_env_parameters_resolve_to_valid_sequential_blocks(env):
    from recsys_challenge.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(str(PROJECT_ROOT / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": env})
    params = loader["parameters"]
    for name in MODELS:
        block = params[name]
        assert block["name"] == name and block["model"] in {"sasrec", "bert4rec"}
        refit_windows(block)  # raises on unknown window names
        assert len(_member_seeds(block)) >= 1  # raises on an ensemble size below 1
        if block.get("max_train_events") is not None:
            # otherwise the long-sequence filter is a no-op (training already keeps max_seq_len events)
            assert block["max_train_events"] < block["max_seq_len"], (env, name)
        assert 0 < block["patience"] <= block["epochs"], (env, name)
        assert block.get("train_stride") is None or block["train_stride"] >= 1, (env, name)
