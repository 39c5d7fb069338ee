"""Tune the cloze BERT4Rec on one hidden draw of the competition protocol, one configuration per call.

    python benchmarks/tune_cloze.py NAME '{"max_seq_len": 50, "train_stride": 25}' --seed 0

The first call for a draw makes its folds (``run_gaps.py``'s scratch project ``gaps_s<seed>``, then the
``splitting`` pipeline with ``--env benchmark_gaps``); a project left by ``run_gaps.py`` is reused.

Runs the pipeline's own nodes of one sequential namespace through KedroSessions on that project, as
``kedro run`` chains them: ``fit`` on ``gen_train`` (early-stopped on the reranker window's holes),
``refit_test`` and ``candidates_test`` for the test window (scored on ``test_gt``), then ``refit_final``
and ``candidates_final``, whose candidates are scored on the draw's hidden events (the competition's
task). The configuration is conf/base's ``bert4rec_cloze`` block, conf/benchmark_gaps' over it, then the
JSON overrides as runtime parameters (``"_block"`` picks another namespace, e.g. ``sasrec``).
Each result is appended to ``benchmarks/results/cloze_tuning.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from common import RESULTS, WORK
from project import load, missing, prepare_project, refresh, run_nodes
from run_gaps import ENV, competition_raw

from recsys_challenge.evaluation import ranking_metrics

Params = dict[str, Any]


def draw_project(seed: int, raw: Path) -> Path:
    """``run_gaps.py``'s scratch project of the draw, split (made and split here if it has no targets)."""
    project = WORK / f"gaps_s{seed}"
    if missing(project, ["targets_final"], ENV):
        prepare_project("gaps", raw, ENV, name=project.name)
        run_nodes(project, "splitting", env=ENV)
    return refresh(project)


def fit(project: Path, block: str, params: Params) -> dict[str, Any]:
    """The namespace's ``fit`` node: seconds, epochs run, best epoch, best validation NDCG@10."""
    seconds = run_nodes(project, block, [f"{block}.fit"], ENV, params)
    history = load(project, f"{block}.train_history", env=ENV)[f"{block}.train_history"]
    return {
        "fit_s": round(seconds),
        "epochs_run": len(history),
        "best_epoch": int(history["best_epoch"].iloc[0]),
        "val_ndcg_10": round(float(history["ndcg@10"].max()), 4),
    }


def window(project: Path, block: str, params: Params, name: str, truth: pd.DataFrame) -> tuple[int, float]:
    """Refit (or reuse) and candidates for window ``name``: their seconds and NDCG@10 on ``truth``."""
    nodes = [f"{block}.refit_{name}", f"{block}.candidates_{name}"]
    seconds = run_nodes(project, block, nodes, ENV, params)
    top = load(project, f"{block}.candidates_{name}", env=ENV)[f"{block}.candidates_{name}"]
    return round(seconds), round(ranking_metrics(top, truth, [10])["ndcg_10"], 4)


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

    raw, hidden = competition_raw(args.seed)
    project = draw_project(args.seed, raw)
    overrides = json.loads(args.overrides)
    block = overrides.pop("_block", "bert4rec_cloze")
    params = {block: overrides}
    result = {"name": args.name, "seed": args.seed, "block": block, "overrides": overrides}
    result |= fit(project, block, params)
    test_gt = load(project, "fold_test_gt@pandas", env=ENV)["fold_test_gt@pandas"]
    result["test_s"], result["test_ndcg_10"] = window(project, block, params, "test", test_gt)
    result["final_s"], result["hidden_ndcg_10"] = window(project, block, params, "final", hidden)
    print(json.dumps(result), flush=True)
    with (RESULTS / "cloze_tuning.jsonl").open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
