#!/usr/bin/env bash
# The competition-size sequential stage (SASRec, BERT4Rec, sasrec_long, the cloze BERT4Rec: fits, refits,
# candidates) end to end through `kedro run --env competition --pipelines sequential` on a CUDA device,
# in bf16-mixed. Seconds per stage, wall time and peak RSS go to benchmarks/results/whole_runs.md (row
# gpu_competition_sequential), and to $OUT when it is set.
#
#   bash benchmarks/gpu_competition.sh            # PYTHON: an interpreter with the project installed
#
# Without a CUDA device it says so and measures nothing. For the CPU figure of the same stage, beside it:
#   python benchmarks/run_whole.py competition_sequential --raw /tmp/competition --env competition --pipelines sequential
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
DATA=${DATA:-/tmp/competition}

if ! "$PYTHON" -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then
  echo "No CUDA device here: nothing measured."
  exit 0
fi
"$PYTHON" -c "import torch; print('device:', torch.cuda.get_device_name(0))"
if [ ! -f "$DATA/events.csv" ]; then
  "$PYTHON" -m recsys_challenge.synthetic "$DATA" --users 6040 --items 3706 --mean-events 148 --seed 7 --hidden 0.106
fi
params=""
for model in sasrec bert4rec sasrec_long bert4rec_cloze; do
  params+="$model.accelerator=auto,$model.precision=bf16-mixed,"
done
"$PYTHON" benchmarks/run_whole.py gpu_competition_sequential --raw "$DATA" --env competition \
  --pipelines sequential --params "${params%,}"
if [ -n "${OUT:-}" ]; then
  cp benchmarks/results/whole_runs.md benchmarks/results/whole_runs.json "$OUT"/
fi
