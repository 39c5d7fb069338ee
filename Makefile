# Two entry points for a fresh clone: `make run` and `make test`. Both set up .venv first (idempotent).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch lies on local disk on the project's machines; on a GPU box pass TORCH=torch
# (the default wheel, CUDA included), or a CPU index, e.g. TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
KEDRO_ARGS ?=
PYTEST_ARGS ?=

# No run may wait on telemetry (kedro-telemetry, MLflow): both honour DO_NOT_TRACK.
export DO_NOT_TRACK := true
export KEDRO_DISABLE_TELEMETRY := true
export MLFLOW_DISABLE_TELEMETRY := true
export SPARK_LOCAL_IP ?= 127.0.0.1

.PHONY: setup run test lint format viz mlflow-ui benchmark clean-data

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

run: setup
	$(BIN)/kedro run $(KEDRO_ARGS)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

# `kedro viz run` and `mlflow ui` serve from processes they fork. Each starts in its own process group
# (setsid) and the whole group is stopped when make stops: Ctrl-C, or a SIGTERM to make (which GNU make
# passes on to the recipe's shell). Stopping only the parent would leave the server listening.
STOPPED_WITH_MAKE = & pid=$$!; trap 'kill -TERM -'$$pid' 2>/dev/null; wait '$$pid INT TERM HUP; wait $$pid

viz: setup
	setsid $(BIN)/kedro viz run --no-browser --host 127.0.0.1 $(STOPPED_WITH_MAKE)

# `mlflow ui` through recsys_challenge.mlflow_ui, which becomes it (same process, same group) and prints
# the URL of the project's runs table once the server listens: MLflow 3 would open the experiment on its
# GenAI overview. Without a logged experiment it says to `kedro run` first and starts nothing.
MLFLOW_STORE ?= sqlite:///mlflow.db
MLFLOW_PORT ?= 5000

mlflow-ui: setup
	setsid $(BIN)/python -m recsys_challenge.mlflow_ui --backend-store-uri $(MLFLOW_STORE) --host 127.0.0.1 \
		--port $(MLFLOW_PORT) $(STOPPED_WITH_MAKE)

benchmark: setup
	$(BIN)/python benchmarks/run_benchmark.py $(BENCH_ARGS)

# every output of a run (data/02_intermediate .. 08_reporting); the raw sample and the layer folders stay
clean-data:
	find data -mindepth 2 ! -path 'data/01_raw/*' ! -name .gitkeep \( -type f -o -type l \) -delete
	find data -mindepth 2 ! -path 'data/01_raw/*' -type d -empty -delete
