"""Tune the cloze BERT4Rec on one hidden draw of the competition protocol, one configuration per call.

    python benchmarks/tune_cloze.py NAME '{"max_seq_len": 50, "train_stride": 25}' --seed 0

The first call for a draw makes its folds (``run_gaps.py``'s scratch project ``gaps_s<seed>``, then
``kedro run --env benchmark_gaps --pipelines splitting``); a project left by ``run_gaps.py`` is reused.

Runs the pipeline's own nodes of one sequential namespace as ``kedro run`` chains them: ``fit_generator``
on ``gen_train`` (early-stopped on the reranker window's holes), ``refit_or_reuse`` and ``recommend`` for
the test window (scored on ``test_gt``) and for the final window, whose candidates are scored on the
draw's hidden events (the competition's task). The configuration is conf/base's ``bert4rec_cloze`` block,
conf/benchmark_gaps' over it, then the JSON overrides (``"_block"`` picks another block, e.g. ``sasrec``).
Each result is appended to ``benchmarks/results/cloze_tuning.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

from recsys_challenge.evaluation import ranking_metrics
from recsys_challenge.pipelines.sequential.nodes import fit_generator, recommend, refit_or_reuse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_benchmark import RESULTS as RESULTS_DIR
from run_benchmark import WORK, prepare_project
from run_gaps import ENV, competition_raw

ROOT = Path(__file__).resolve().parents[1]
RESULTS = RESULTS_DIR / "cloze_tuning.jsonl"


def block(env: str, name: str) -> dict:
    """The ``name`` block of ``conf/<env>/parameters_sequential.yml`` (empty where the env has none)."""
    path = ROOT / "conf" / env / "parameters_sequential.yml"
    return (yaml.safe_load(path.read_text()) or {}).get(name, {}) if path.exists() else {}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name")
    parser.add_argument("overrides", nargs="?", default="{}", help="JSON over the block")
    parser.add_argument("--seed", type=int, default=0, help="the hidden draw (benchmarks/.work/gaps_s<seed>)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)

    project = WORK / f"gaps_s{args.seed}"  # run_gaps.py's scratch project of the draw
    data = project / "data"
    raw, hidden = competition_raw(args.seed)
    if not (data / "05_model_input" / "targets" / "final.parquet").exists():
        prepare_project("gaps", raw, ENV, name=project.name)
        kedro = str(Path(sys.executable).with_name("kedro"))
        subprocess.run([kedro, "run", "--env", ENV, "--pipelines", "splitting"], cwd=project, check=True)

    def read(name: str) -> pd.DataFrame:
        return pd.read_parquet(data / f"{name}.parquet")

    folds = {
        n: read(f"05_model_input/folds/{n}") for n in ("gen_train", "rerank_gt", "test_history", "test_gt")
    }
    targets = {w: read(f"05_model_input/targets/{w}") for w in ("rerank", "test", "final")}
    items, interactions = read("03_primary/items"), read("03_primary/interactions")

    overrides = json.loads(args.overrides)
    name = overrides.pop("_block", "bert4rec_cloze")
    cfg = {**block("base", name), **block("benchmark_gaps", name), **overrides}
    result = {"name": args.name, "seed": args.seed, "block": name, "overrides": overrides}
    start = time.perf_counter()
    model, history = fit_generator(folds["gen_train"], folds["rerank_gt"], items, interactions, cfg)
    result |= {"fit_s": round(time.perf_counter() - start), "epochs_run": len(history)}
    result |= {"best_epoch": int(model.epochs), "val_ndcg_10": round(float(history["ndcg@10"].max()), 4)}
    for window, past, truth in (("test", "test_history", folds["test_gt"]), ("final", None, hidden)):
        begin = time.perf_counter()
        history_w = folds[past] if past else interactions
        model = refit_or_reuse(model, history_w, cfg, window)
        top = recommend(model, history_w, targets[window], cfg)
        result[f"{window}_s"] = round(time.perf_counter() - begin)
        label = "test" if past else "hidden"
        result[f"{label}_ndcg_10"] = round(ranking_metrics(top, truth, [10])["ndcg_10"], 4)
    print(json.dumps(result), flush=True)
    with RESULTS.open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
