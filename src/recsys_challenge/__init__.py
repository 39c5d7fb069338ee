"""recsys_challenge: a two-stage recommender (sequential + classic generators, CatBoost reranker) in Kedro."""

import warnings

__version__ = "0.1.0"

# Harmless warnings of libraries we cannot fix here (regexes on the message start); errors and any
# other warning still show. Set on the package's import: Kedro imports the project's settings (and so
# this package) before it loads the plugins whose imports warn.
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
    r"Optimization feature not enabled",  # RePlay without optuna, which this project does not use
    r"Spark Data Frame is collected to master node",  # RePlay's notice on every collect
    r"The number of training batches \(\d+\) is smaller than the logging interval",  # small samples
    r"You defined a `validation_step` but have no `val_dataloader`",  # fits validated by a callback
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",  # Lightning on torch's newer pytree API
    # Kedro 1.x on reads across namespaces, e.g. the reranker reading sasrec.candidates_* (kedro#5021)
    r"One or more dataset names contain '\.' characters",
):
    warnings.filterwarnings("ignore", message=_pattern)

# MLflow hints at kedro-mlflow's KedroPipelineModel (its ``predict`` has no type hints) when the class is
# defined, inside a call that resets the warnings filters; only a recording context keeps it off the
# console. Kedro imports this package (the project's settings) before the kedro-mlflow plugin. Kedro's
# logging set-up, which routes warnings to the console, comes first, or it would undo the recording.
import kedro.framework.project  # noqa: E402, F401

with warnings.catch_warnings(record=True):
    import kedro_mlflow.mlflow  # noqa: F401
