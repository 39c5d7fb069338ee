"""Sequential recommenders (SASRec, BERT4Rec), one template reused through Kedro namespaces."""

import logging

from kedro.framework.project import LOGGING

from .pipeline import MODELS, create_pipeline

# Importing Lightning (the pipeline's modules do, and its dependencies import the standalone
# pytorch_lightning and lightning_fabric) sets their loggers to INFO, over conf/logging.yml; they then
# report the hardware and a product tip on every fit. Their levels go back to the config's.
for _name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning_fabric"):
    logging.getLogger(_name).setLevel(LOGGING.get("loggers", {}).get(_name, {}).get("level", logging.NOTSET))

__all__ = ["MODELS", "create_pipeline"]
