"""Project settings. https://docs.kedro.org/en/stable/kedro_project_setup/settings.html"""

import os

from kedro.config import OmegaConfigLoader

from recsys_challenge.hooks import EmptyRawFileHook, MlflowTagsHook, SettingsMlflowHook, SparkHooks

# Telemetry off by default: runs here have no network and must never wait on it.
for _var in ("DO_NOT_TRACK", "KEDRO_DISABLE_TELEMETRY", "MLFLOW_DISABLE_TELEMETRY"):
    os.environ.setdefault(_var, "true")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


HOOKS = (SparkHooks(), SettingsMlflowHook(), MlflowTagsHook(), EmptyRawFileHook())
# kedro-mlflow's own hook is replaced by SettingsMlflowHook, its subclass
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow",)  # its distribution name, as Kedro compares it

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
