"""Tune SASRec / BERT4Rec on the folds of a benchmark scratch project, one configuration per call.

    python benchmarks/run_benchmark.py --protocol loo --pipelines ''   # makes the folds once
    python benchmarks/tune_sequential.py NAME '{"dropout": 0.5}' --threads 1
    python benchmarks/tune_sequential.py b_long '{"_block": "bert4rec", "epochs": 300, "patience": 40}'

Uses the pipeline's own training code (``pipelines/sequential/training.py``): fit on ``gen_train`` with
per-epoch validation and early stopping on ``rerank_gt``, then score ``test_history`` and measure the
test window (NDCG/Recall@10, full ranking, seen items removed). ``"_refit": true`` also retrains on
``test_history`` for the best epoch count (the pipeline's ``refit: true``) and reports both.
``"_arms": ["reuse", "refit", "warm"]`` picks arms; ``warm`` retrains from the fitted weights for
``warm_epochs`` (the pipeline's ``refit: warm``); each arm's seconds are reported as ``<arm>_s``.
``"_fixed": N`` skips validation: N epochs on ``gen_train`` (reuse) and on ``test_history`` (refit), the
side-by-side refit-vs-reuse comparison without early-stopping selection.
Each result is appended to ``benchmarks/results/sequential_tuning.jsonl``; each arm's test-window top 100
goes to ``benchmarks/.work/<protocol>/tuning/<name>_<arm>.parquet`` for ``ensemble_sequential.py``.
``"ensemble": N`` trains N seeds per fit (the pipeline's ``ensemble``).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

from recsys_challenge.evaluation import ranking_metrics
from recsys_challenge.pipelines.sequential import inference, refitting, training
from recsys_challenge.pipelines.sequential.sequences import item_vocabulary
from recsys_challenge.pipelines.sequential.training import Member, SequentialModel

ROOT = Path(__file__).resolve().parents[1]
BASE = {"progress_bar": False, "epochs": 150, "patience": 20, "max_seq_len": 100}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name")
    parser.add_argument("overrides", help="JSON: parameters over conf/base's block (+ _block, _refit)")
    parser.add_argument("--protocol", default="loo")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    torch.set_num_threads(args.threads)

    data = ROOT / "benchmarks" / ".work" / args.protocol / "data"
    fold = {
        n: pd.read_parquet(data / "05_model_input" / "folds" / f"{n}.parquet")
        for n in ("gen_train", "rerank_gt", "test_history", "test_gt")
    }
    items = pd.read_parquet(data / "03_primary" / "items.parquet")
    interactions = pd.read_parquet(data / "03_primary" / "interactions.parquet")
    overrides = json.loads(args.overrides)
    block = overrides.pop("_block", "sasrec")
    do_refit = bool(overrides.pop("_refit", False))
    fixed = overrides.pop("_fixed", None)
    arms = overrides.pop("_arms", ["reuse", "refit"] if (do_refit or fixed) else ["reuse"])
    params = yaml.safe_load((ROOT / "conf" / "base" / "parameters_sequential.yml").read_text())
    cfg = {**params[block], **BASE, **overrides}

    vocab = item_vocabulary(items, interactions)
    result = {"name": args.name, "protocol": args.protocol, "block": block, "overrides": overrides}
    start = time.perf_counter()
    if fixed:
        model = SequentialModel(vocab, cfg, [Member(None, int(fixed))])
        if "reuse" in arms:
            model = refitting.refit(model, fold["gen_train"], cfg)
        result.update(epochs=int(fixed), threads=args.threads)
    else:
        model = training.fit(fold["gen_train"], fold["rerank_gt"], vocab, cfg)
        history = model.history
        result.update(
            best_epoch=model.epochs,
            epochs_run=len(history),
            threads=args.threads,
            val_ndcg_10=round(float(history["ndcg@10"].max()), 4),
        )
    result["fit_s"] = round(time.perf_counter() - start)
    for tag in arms:
        begin = time.perf_counter()
        if tag == "reuse":
            scorer = model
        else:
            scorer = refitting.refit(model, fold["test_history"], cfg, warm=tag == "warm")
        result[f"{tag}_s"] = round(time.perf_counter() - begin)
        top = inference.recommend(scorer, fold["test_history"], 100, cfg)
        # kept for score-level ensembles of several runs (benchmarks/ensemble_sequential.py)
        saved = ROOT / "benchmarks" / ".work" / args.protocol / "tuning" / f"{args.name}_{tag}.parquet"
        saved.parent.mkdir(parents=True, exist_ok=True)
        top.to_parquet(saved)
        metrics = ranking_metrics(top, fold["test_gt"], [10])
        result[f"test_ndcg_10_{tag}"] = round(metrics["ndcg_10"], 4)
        result[f"test_recall_10_{tag}"] = round(metrics["recall_10"], 4)
    print(json.dumps(result), flush=True)
    with (ROOT / "benchmarks" / "results" / "sequential_tuning.jsonl").open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
