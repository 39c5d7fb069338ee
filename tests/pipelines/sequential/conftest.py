"""Fixtures of the sequential tests: the sample's folds in the competition's form (holes)."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_challenge.pipelines.data_processing.nodes import order_interactions
from recsys_challenge.synthetic import hide_events
from tests.pipelines.splitting.test_nodes import run_splitting


@pytest.fixture(scope="session")
def gaps_folds(sample, params) -> dict[str, pd.DataFrame]:
    visible, _ = hide_events(sample["events"], 0.106, seed=3)
    return run_splitting(order_interactions(visible), params["splitting"])
