"""Sequential recommenders (SASRec, BERT4Rec), one template reused through Kedro namespaces."""

import logging

from kedro.framework.project import LOGGING

from .pipeline import MODELS, create_pipeline

# Importing Lightning (the pipeline's modules do, and its dependencies import the standalone
# pytorch_lightning and lightning_fabric) sets their loggers to INFO after conf/logging.yml was applied;
# they then report the hardware and a product tip on every fit. The config's levels are set again.
for _name, _logger in LOGGING.get("loggers", {}).items():
    if "level" in _logger:
        logging.getLogger(_name).setLevel(_logger["level"])

__all__ = ["MODELS", "create_pipeline"]
