"""Tune SASRec / BERT4Rec on the folds of a benchmark scratch project, one configuration per call.

    python benchmarks/run_benchmark.py --protocol loo --pipelines ''   # makes the folds once
    python benchmarks/tune_sequential.py NAME '{"dropout": 0.5}' --threads 1
    python benchmarks/tune_sequential.py b_long '{"_block": "bert4rec", "epochs": 300, "patience": 40}'
    python benchmarks/tune_sequential.py warm80 '{"_arms": ["reuse", "refit", "warm"]}'

Runs the pipeline's own nodes of one sequential namespace (``sasrec`` unless ``"_block"`` names another)
through KedroSessions on the scratch project ``benchmarks/.work/<protocol>``, with conf/base's block (its
conf/local is empty), then ``BASE``, then the JSON overrides, passed as runtime parameters: ``fit`` on
``gen_train`` with per-epoch validation and early stopping on ``rerank_gt``, then per arm ``refit_test``,
``candidates_test`` and ``evaluate`` (the test window: NDCG/Recall@10, full ranking, seen items removed).
An arm is a value of the pipeline's ``refit``: ``reuse`` (false: the fitted model scores
``test_history``), ``refit`` (``[test]``: retrained from scratch on ``test_history`` for the best epoch
count) and ``warm`` (from the fitted weights for ``warm_epochs``). ``"_arms"`` picks them, ``"_refit":
true`` means reuse and refit; each arm's seconds (its refit node's session) are ``<arm>_s``.
``"ensemble": N`` trains N seeds per fit (the pipeline's ``ensemble``). Fixed-epoch runs without
validation selection (``"_fixed"`` in older rows of sequential_tuning.jsonl) have no pipeline setting
and are refused.

Each result is appended to ``benchmarks/results/sequential_tuning.jsonl``; each arm's test-window
candidates go to ``benchmarks/.work/<protocol>/tuning/<name>_<arm>.parquet`` for
``ensemble_sequential.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import torch
from common import RESULTS, WORK, tuning_file
from project import load, refresh, run_nodes

BASE = {"progress_bar": False, "epochs": 150, "patience": 20, "max_seq_len": 100}
ARMS = {"reuse": False, "refit": ["test"], "warm": "warm"}  # an arm -> the pipeline's ``refit``


def fit(project: Path, block: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The namespace's ``fit`` node; its best epoch, epochs run, best validation NDCG@10 and seconds."""
    seconds = run_nodes(project, block, [f"{block}.fit"], params={block: settings})
    history = load(project, f"{block}.train_history")[f"{block}.train_history"]
    return {
        "best_epoch": int(history["best_epoch"].iloc[0]),
        "epochs_run": len(history),
        "val_ndcg_10": round(float(history["ndcg@10"].max()), 4),
        "fit_s": round(seconds),
    }


def arm(project: Path, block: str, settings: dict[str, Any], tag: str, name: str, protocol: str) -> dict:
    """The test window by one arm: the refit node (timed), candidates and metrics; the candidates are
    kept for ``ensemble_sequential.py``."""
    params = {block: {**settings, "refit": ARMS[tag]}}
    seconds = run_nodes(project, block, [f"{block}.refit_test"], params=params)
    run_nodes(project, block, [f"{block}.candidates_test", f"{block}.evaluate"], params=params)
    candidates, metrics = load(project, f"{block}.candidates_test", f"{block}.test_metrics").values()
    saved = tuning_file(protocol, f"{name}_{tag}")
    saved.parent.mkdir(parents=True, exist_ok=True)
    candidates.to_parquet(saved)
    return {
        f"{tag}_s": round(seconds),
        f"test_ndcg_10_{tag}": round(float(metrics["ndcg_10"].iloc[0]), 4),
        f"test_recall_10_{tag}": round(float(metrics["recall_10"].iloc[0]), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name")
    parser.add_argument("overrides", help="JSON: parameters over conf/base's block (+ _block, _refit, _arms)")
    parser.add_argument("--protocol", default="loo")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    overrides = json.loads(args.overrides)
    if "_fixed" in overrides:
        parser.error("_fixed: the pipeline has no fixed-epoch training without validation selection")
    logging.basicConfig(level=logging.INFO)
    torch.set_num_threads(args.threads)

    project = refresh(WORK / args.protocol)
    block = overrides.pop("_block", "sasrec")
    refit = bool(overrides.pop("_refit", False))
    arms = overrides.pop("_arms", ["reuse", "refit"] if refit else ["reuse"])
    settings = {**BASE, **overrides}
    result = {"name": args.name, "protocol": args.protocol, "block": block, "overrides": overrides}
    result |= {**fit(project, block, settings), "threads": args.threads}
    for tag in arms:
        result |= arm(project, block, settings, tag, args.name, args.protocol)
    print(json.dumps(result), flush=True)
    with (RESULTS / "sequential_tuning.jsonl").open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
