"""The sequential part at the competition's size on a GPU: seconds per epoch, 32-true against bf16-mixed.

    python benchmarks/gpu_sequential.py                 # needs a CUDA device; says so and stops without
    python benchmarks/gpu_sequential.py --cpu --epochs 2 --users 300   # a dry run of the same code on CPU

Self-contained, so it runs on a bare GPU box with the project installed (``make setup TORCH=torch``):
it generates the synthetic data at MovieLens-1M size (6040 users x 3706 items, ~148 events each, seed
7), holds out each user's last event for validation and trains SASRec and BERT4Rec with the
``conf/base`` parameters for ``--epochs`` epochs (no early stop) in each precision, side by side in one
process. Each row records the device that was actually used (``cuda_used``, the device name), seconds
per training epoch (the first left out: it warms kernels and caches) and the validation NDCG@10 after
the last epoch. Results: ``benchmarks/results/gpu.md`` (and ``.json``), also copied to ``$OUT`` when set;
a ``--cpu`` dry run only prints its table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_benchmark import markdown_table

from recsys_challenge.pipelines.sequential import training
from recsys_challenge.pipelines.sequential.sequences import item_vocabulary
from recsys_challenge.synthetic import SyntheticConfig, generate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def folds(users: int, items: int, mean_events: float, seed: int) -> dict[str, pd.DataFrame]:
    """Synthetic events in order; each user's last event is the validation truth."""
    tables = generate(SyntheticConfig(n_users=users, n_items=items, mean_events=mean_events, seed=seed))
    events = tables["events"].sort_values(["user_id", "timestamp", "item_id"], kind="stable")
    events = events.assign(order=events.groupby("user_id").cumcount())
    last = events.groupby("user_id")["order"].transform("max") == events["order"]
    return {"train": events[~last], "truth": events[last], "items": tables["item_features"]}


def run(model: str, precision: str, accelerator: str, epochs: int, data: dict[str, pd.DataFrame]) -> dict:
    params = yaml.safe_load((ROOT / "conf" / "base" / "parameters_sequential.yml").read_text())
    cfg = {**params[model], "epochs": epochs, "patience": epochs, "progress_bar": False}
    cfg.update(accelerator=accelerator, precision=precision)
    vocab = item_vocabulary(data["items"], data["train"], data["truth"])
    history = training.fit(data["train"], data["truth"], vocab, cfg).history
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
    data = folds(args.users, 3706, 148.0, seed=7)
    rows = []
    for model in args.models.split(","):
        for precision in precisions:
            rows.append(run(model, precision, accelerator, args.epochs, data))
            print(json.dumps(rows[-1]), flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    command = "python benchmarks/gpu_sequential.py " + " ".join(sys.argv[1:])
    lines = [
        "# Sequential models on a GPU: seconds per epoch by precision",
        "",
        f"Commit {commit.stdout.strip() or 'unknown'}, {args.users} synthetic users x 3706 items, "
        f"conf/base parameters, {args.epochs} epochs each. Reproduce: `{command.strip()}`.",
        "",
        markdown_table(pd.DataFrame(rows)),
        "",
    ]
    print("\n".join(lines))
    if args.cpu:
        return  # a dry run checks the code, it is no result
    (RESULTS / "gpu.md").write_text("\n".join(lines))
    (RESULTS / "gpu.json").write_text(json.dumps({"command": command, "runs": rows}, indent=1))
    if os.environ.get("OUT"):
        for suffix in (".md", ".json"):
            shutil.copy(RESULTS / f"gpu{suffix}", os.environ["OUT"])


if __name__ == "__main__":
    main()
