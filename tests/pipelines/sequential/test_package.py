"""The sequential package on import: Lightning's loggers keep conf/logging.yml's levels."""

from __future__ import annotations

import logging

import lightning

import recsys_challenge.pipelines.sequential  # noqa: F401


def test_lightnings_hardware_lines_and_tips_stay_off_the_console(caplog):
    with caplog.at_level(logging.INFO):  # the console's level in a kedro run
        lightning.Trainer(logger=False, enable_progress_bar=False, accelerator="cpu")
        logging.getLogger("lightning.pytorch").warning("a real problem")
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "GPU available" in m or "Tip" in m], messages
    assert "a real problem" in messages
