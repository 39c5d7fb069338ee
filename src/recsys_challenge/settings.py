"""Project settings. https://docs.kedro.org/en/stable/kedro_project_setup/settings.html"""

import os
import warnings

from kedro.config import OmegaConfigLoader

from recsys_challenge.hooks import EmptyRawFileHook, MlflowTagsHook, SparkHooks

# Telemetry off by default: runs here have no network and must never wait on it.
for _var in ("DO_NOT_TRACK", "KEDRO_DISABLE_TELEMETRY", "MLFLOW_DISABLE_TELEMETRY"):
    os.environ.setdefault(_var, "true")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

# Harmless warnings of libraries we cannot fix here (regexes on the message start); errors and any
# other warning still show. kedro-mlflow's import-time mlflow hint comes before this file is read.
for _pattern in (
    r"register_new_resolver\(\) is deprecated",  # kedro / kedro-mlflow with OmegaConf 2.4
    r"Cannot infer the eval type from type hints",  # pyspark UDFs inside RePlay
    r"The following dataset paths aren't provided",  # RePlay ParquetModule without a test split
    r"The '\w+_dataloader' does not have many workers",  # Lightning on 2-core machines
    r"Total length of `\w+` across ranks is zero",  # Lightning with iterable datasets
    r"Your `IterableDataset` has `__len__` defined",  # Lightning with RePlay's ParquetDataset
    r"`\w+` class (is deprecated|will be removed)",  # RePlay legacy API, used on purpose for BERT4Rec
    r"Suboptimal parameters: partition",  # RePlay ParquetDataset sizing hint
    r"`Trainer\(limit_val_batches=1.0\)` was configured",  # Lightning info on every fit
    r"ORJSONResponse is deprecated",  # kedro-viz with a newer FastAPI
    # Kedro 1.x on reads across namespaces, e.g. the reranker reading sasrec.candidates_* (kedro#5021)
    r"One or more dataset names contain '\.' characters",
):
    warnings.filterwarnings("ignore", message=_pattern)

HOOKS = (SparkHooks(), MlflowTagsHook(), EmptyRawFileHook())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # environments (local, test, benchmark) override single keys instead of whole blocks
    "merge_strategy": {"parameters": "soft"},
    "config_patterns": {
        "spark": ["spark*", "spark*/**"],
        "mlflow": ["mlflow*", "mlflow*/**"],
    },
}
