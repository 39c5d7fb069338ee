"""Every shipped configuration environment resolves, and its sequential blocks make sense."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader

from recsys_challenge.pipelines.sequential import MODELS
from recsys_challenge.pipelines.sequential.backends import backend_for
from recsys_challenge.pipelines.sequential.sequences import long_filter_is_noop, training_windows
from recsys_challenge.pipelines.sequential.settings import SequentialSettings
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
        block = SequentialSettings.model_validate(params[name])  # raises on a bad key or value
        assert block.name == name
        backend = backend_for(block, 10)
        backend.build()  # loss and optimizer settings
        training_windows(pd.Series([[1, 2, 3]]), 2, block.train_stride)
        # a long-sequence filter that removes nothing a training row reads is a configuration mistake
        assert not long_filter_is_noop(block, backend.train_window), (env, name)
        assert block.patience <= block.epochs, (env, name)


def _mib(size: str) -> int:
    """A JVM size such as ``512m`` or ``2g`` in MiB."""
    return int(size[:-1]) * {"m": 1, "g": 1024}[size[-1].lower()]


@pytest.mark.parametrize("env", ["base", *ENVS])
def test_serial_collector_only_for_a_small_driver_heap(env):
    """The serial collector suits the small heap of a laptop run (``conf/base``); an env that gives the
    driver gigabytes must drop it (``null``: the JVM's default), as it would otherwise inherit it."""
    from recsys_challenge.settings import CONFIG_LOADER_ARGS

    run_env = "local" if env == "base" else env
    loader = OmegaConfigLoader(
        str(PROJECT_ROOT / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": run_env}
    )
    spark = loader["spark"]
    serial = "UseSerialGC" in str(spark.get("spark.driver.extraJavaOptions") or "")
    assert serial is (_mib(str(spark["spark.driver.memory"])) < 1024), env


def _loader(env: str, **runtime_params) -> OmegaConfigLoader:
    from recsys_challenge.settings import CONFIG_LOADER_ARGS

    args = {**CONFIG_LOADER_ARGS, "default_run_env": env}
    return OmegaConfigLoader(str(PROJECT_ROOT / "conf"), runtime_params=runtime_params, **args)


def test_the_cluster_env_takes_its_master_and_driver_address_from_the_command_line():
    spark = _loader("cluster")["spark"]
    assert spark["spark.master"] == "yarn" and spark["spark.driver.host"] is None
    given = _loader("cluster", spark_master="spark://head:7077", spark_driver_host="10.0.0.5")["spark"]
    assert given["spark.master"] == "spark://head:7077"
    assert given["spark.driver.host"] == "10.0.0.5"
    assert given["spark.driver.bindAddress"] == "0.0.0.0"  # reachable from the executors
    assert spark["spark.sql.shuffle.partitions"] == 200
    assert _loader("cluster", spark_shuffle_partitions=8)["spark"]["spark.sql.shuffle.partitions"] == 8


@pytest.mark.parametrize("root", ["s3a://bucket/recsys", "hdfs://namenode:8020/user/me/recsys"])
def test_data_root_moves_every_dataset_spark_reads_and_only_those(root):
    """Executors read the ``@spark`` datasets; their ``@pandas`` twins are written to the same place."""
    moved = _loader("cluster", data_root=root)["catalog"]
    local = _loader("cluster")["catalog"]
    spark = [name for name, entry in moved.items() if entry.get("type") == "spark.SparkDataset"]
    assert {"interactions@spark", "fold_{name}@spark"} <= set(spark)
    for name in spark:
        assert moved[name]["filepath"].startswith(f"{root}/"), name
        assert moved[name]["filepath"] == moved[name.replace("@spark", "@pandas")]["filepath"], name
        assert local[name]["filepath"] == moved[name]["filepath"].replace(root, "data", 1), name
    twins = {name.replace("@spark", "@pandas") for name in spark}
    for name, entry in moved.items():
        if name not in {*spark, *twins} and isinstance(entry, dict) and "filepath" in entry:
            assert entry["filepath"] == local[name]["filepath"], name  # the rest stays on the driver


# ----------------------------------------------------------------------------- typed settings
def _settings_models() -> dict[str, type]:
    """The parameter blocks of splitting, co-visitation and the reranker, and their settings models."""
    from recsys_challenge.pipelines.covisitation import MODELS as COVISITATION
    from recsys_challenge.pipelines.covisitation.settings import CovisitationSettings
    from recsys_challenge.pipelines.reranker.settings import RerankerSettings
    from recsys_challenge.pipelines.splitting.settings import SplittingSettings

    return {"splitting": SplittingSettings, "reranker": RerankerSettings} | dict.fromkeys(
        COVISITATION, CovisitationSettings
    )


@pytest.mark.parametrize("env", ["local", *ENVS])
def test_env_parameters_validate_into_the_settings_models(env):
    params = _loader(env)["parameters"]
    for key, model in _settings_models().items():
        model.model_validate(params[key])  # raises, naming the key, on a block Kedro would refuse


def test_kedro_types_those_blocks_with_the_settings_models():
    """The registered pipelines' node type hints are what Kedro validates the blocks with."""
    from kedro.validation.type_extractor import TypeExtractor

    from recsys_challenge.pipeline_registry import register_pipelines

    typed = TypeExtractor(register_pipelines()).extract_types_from_pipelines()
    assert {key: typed.get(key) for key in _settings_models()} == _settings_models()


@pytest.mark.parametrize(
    ("runtime_params", "named"),
    [
        ({"splitting": {"min_event_to_split": 3}}, "min_event_to_split"),  # misspelt
        ({"splitting": {"tail_weight": "0.2"}}, "tail_weight"),  # a string for a number
        ({"covisit": {"window": "five"}}, "window"),  # a namespaced block
        ({"reranker": {"catboost": {"learning_rte": 0.1}}}, "catboost.learning_rte"),
    ],
)
def test_a_bad_block_fails_in_kedros_own_validation_before_any_node(tmp_path, runtime_params, named):
    """``kedro run --params ...`` path: the session's context validates the parameters as it builds
    them (nothing runs); the error names the block and the key. A project copy, since kedro-mlflow sets
    up its tracking store when the context is created."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    from kedro.validation import ParameterValidationError

    from tests.conftest import copy_project

    project = copy_project(PROJECT_ROOT, tmp_path / "project")
    block = next(iter(runtime_params))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)
        bootstrap_project(project)
        try:
            with (
                KedroSession.create(project_path=project, env="test", runtime_params=runtime_params) as s,
                pytest.raises(ParameterValidationError) as raised,
            ):
                s.load_context().params  # noqa: B018
        finally:
            from tests.conftest import reset_mlflow

            reset_mlflow()
    message = str(raised.value)
    assert f"Parameter '{block}'" in message and named in message, message
