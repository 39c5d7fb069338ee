"""The sequential part at the competition's size on a GPU: seconds per epoch, 32-true against bf16-mixed.

    python benchmarks/gpu_sequential.py                 # needs a CUDA device; says so and stops without
    python benchmarks/gpu_sequential.py --cpu --epochs 2 --users 300   # a dry run of the same code on CPU

Runs on a bare GPU box with the project installed (``make setup TORCH=torch``): a scratch project
(``benchmarks/.work/gpu_u<users>``) gets synthetic raw data at MovieLens-1M size (6040 users x 3706
items, ~148 events each, seed 7), the ``splitting`` pipeline cuts its folds (conf/base: each user's last
event is the test window, the one before the reranker window) and each model's ``fit`` node trains on
the generator fold, validated on the reranker window, with conf/base's parameters for ``--epochs``
epochs (no early stop) in each precision, side by side in one process, all through KedroSessions. Each
row records the device that was actually used (``cuda_used``, the device name), seconds per training
epoch (the first left out: it warms kernels and caches) and the validation NDCG@10 after the last
epoch, from the model's ``train_history``. Results: ``benchmarks/results/gpu.md`` (and ``.json``), also
copied to ``$OUT`` when set; a ``--cpu`` dry run only prints its table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import torch
from common import RESULTS, WORK, commit_label, markdown_table
from project import load, run_nodes, scratch_copy

from recsys_challenge.synthetic import SyntheticConfig, generate, write

ITEMS, MEAN_EVENTS, SEED = 3706, 148.0, 7


def synthetic_project(users: int) -> Path:
    """A fresh scratch project on synthetic raw data of ``users`` users, split by conf/base."""
    raw = WORK / f"gpu_raw_u{users}"
    if not (raw / "events.csv").exists():
        config = SyntheticConfig(n_users=users, n_items=ITEMS, mean_events=MEAN_EVENTS, seed=SEED)
        write(generate(config), raw)
    project = scratch_copy(WORK / f"gpu_u{users}", raw)
    run_nodes(project, "splitting")
    return project


def run(project: Path, model: str, precision: str, accelerator: str, epochs: int) -> dict:
    """One fit of ``model`` (its ``fit`` node) for ``epochs`` epochs on ``accelerator`` in ``precision``."""
    settings = {"epochs": epochs, "patience": epochs, "progress_bar": False}
    settings.update(accelerator=accelerator, precision=precision)
    run_nodes(project, model, [f"{model}.fit"], params={model: settings})
    history = load(project, f"{model}.train_history")[f"{model}.train_history"]
    cuda = accelerator == "gpu" and torch.cuda.is_available()
    return {
        "model": model,
        "precision": precision,
        "cuda_used": cuda,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "epochs": epochs,
        "s_per_epoch": float(history["epoch_seconds"].iloc[1:].mean()),
        "last_val_ndcg_10": float(history["ndcg@10"].iloc[-1]),
    }


def report(rows: list[dict], args: argparse.Namespace) -> list[str]:
    command = "python benchmarks/gpu_sequential.py " + " ".join(sys.argv[1:])
    lines = [
        "# Sequential models on a GPU: seconds per epoch by precision",
        "",
        f"Commit {commit_label()}, {args.users} synthetic users x {ITEMS} items, conf/base parameters, "
        f"{args.epochs} epochs each. Reproduce: `{command.strip()}`.",
        "",
        markdown_table(pd.DataFrame(rows)),
        "",
    ]
    print("\n".join(lines))
    if not args.cpu:  # a dry run checks the code, it is no result
        (RESULTS / "gpu.md").write_text("\n".join(lines))
        (RESULTS / "gpu.json").write_text(json.dumps({"command": command, "runs": rows}, indent=1))
        if os.environ.get("OUT"):
            for suffix in (".md", ".json"):
                shutil.copy(RESULTS / f"gpu{suffix}", os.environ["OUT"])
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--models", default="sasrec,bert4rec")
    parser.add_argument("--precisions", default="32-true,bf16-mixed")
    parser.add_argument("--users", type=int, default=6040)
    parser.add_argument("--cpu", action="store_true", help="a dry run on CPU (32-true only)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not args.cpu and not torch.cuda.is_available():
        print("No CUDA device here: nothing measured (run it on a GPU box, or --cpu for a dry run).")
        return
    accelerator = "cpu" if args.cpu else "gpu"
    precisions = ["32-true"] if args.cpu else args.precisions.split(",")
    project = synthetic_project(args.users)
    rows = []
    for model in args.models.split(","):
        for precision in precisions:
            rows.append(run(project, model, precision, accelerator, args.epochs))
            print(json.dumps(rows[-1]), flush=True)
    report(rows, args)


if __name__ == "__main__":
    main()
