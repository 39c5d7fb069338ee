"""Every shipped configuration environment resolves, and its sequential blocks make sense."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader

from recsys_challenge.pipelines.sequential import MODELS
from recsys_challenge.pipelines.sequential.backends import backend_for
from recsys_challenge.pipelines.sequential.nodes import refit_windows
from recsys_challenge.pipelines.sequential.sequences import long_filter_is_noop, training_windows
from recsys_challenge.pipelines.sequential.training import member_seeds
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
        # each of these raises on a value the training would reject
        refit_windows(block)
        member_seeds(block)
        backend = backend_for(block, 10)
        backend.build()  # loss and optimizer settings
        training_windows(pd.Series([[1, 2, 3]]), 2, block.get("train_stride"))
        # a long-sequence filter that removes nothing a training row reads is a configuration mistake
        assert not long_filter_is_noop(block, backend.train_window), (env, name)
        assert 0 < block["patience"] <= block["epochs"], (env, name)
