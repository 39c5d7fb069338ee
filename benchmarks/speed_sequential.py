"""Seconds per epoch of the sequential models with and without padding-aware batches, side by side.

    python benchmarks/run_benchmark.py --protocol loo --pipelines ''   # the folds, once
    python benchmarks/run_gaps.py --seeds 0                            # the gaps folds (cloze)
    python benchmarks/speed_sequential.py --epochs 15 --seeds 42,43

One process, one configuration at a time, modes interleaved per seed so machine load hits them alike:
``batching: full`` (plain RePlay: every row padded to ``max_seq_len``), ``trimmed`` (a batch cut to its
longest row) and ``bucketed`` (rows of similar length share a batch, then cut). SASRec runs at RePlay's
reference configuration (``max_seq_len`` 200) on MovieLens-100k leave-one-out; the cloze BERT4Rec on the
competition-form folds. Each fit is the model's ``fit`` node run through a KedroSession on the scratch
project (conf/base: its conf/local is empty), the mode's settings passed as runtime parameters; it
trains ``--epochs`` epochs with validation every epoch (no early stop), so the last validation NDCG@10
is comparable across modes, and its ``train_history`` is read from the catalog. Results:
``benchmarks/results/speed.md``.

``--modes`` picks among ``MODES`` (the first is the reference of every speedup) and ``--name`` the
results file, e.g. attention without dropout (torch's fused CPU kernel) beside the batchings:

    python benchmarks/speed_sequential.py --epochs 6 --seeds 42,43 --models sasrec \
        --modes full,bucketed,bucketed_attention_dropout_0 --name speed_attention
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
from pathlib import Path

import pandas as pd
import torch
from common import RESULTS, WORK, commit_label, markdown_table
from project import load, refresh, run_nodes

# a mode's name -> its overrides
MODES = {
    "full": {"batching": "full"},
    "bucketed": {"batching": "bucketed"},
    "trimmed": {"batching": "trimmed"},
    # torch's fused CPU attention needs no dropout on the attention weights (the other dropouts stay)
    "bucketed_attention_dropout_0": {"batching": "bucketed", "attention_dropout": 0.0},
}
MODELS = {  # model (its namespace and parameter block) -> (scratch project, overrides)
    "sasrec": ("loo", {"max_seq_len": 200}),
    "bert4rec_cloze": ("gaps_s0", {}),
}


def run(model: str, mode: str, seed: int, epochs: int) -> dict:
    """One fit of ``model`` (its ``fit`` node, in a KedroSession on its scratch project, conf/base with
    the mode's overrides) and its seconds per epoch and validation NDCG@10."""
    project, overrides = MODELS[model]
    settings = {**overrides, **MODES[mode], "seed": seed, "epochs": epochs}
    settings.update(patience=epochs, progress_bar=False)
    run_nodes(WORK / project, model, [f"{model}.fit"], params={model: settings})
    history = load(WORK / project, f"{model}.train_history")[f"{model}.train_history"]
    return {
        "model": model,
        "batching": mode,
        "seed": seed,
        "epochs": epochs,
        "s_per_epoch": float(history["epoch_seconds"].iloc[1:].mean()),  # the first warms caches
        "last_val_ndcg_10": float(history["ndcg@10"].iloc[-1]),
        "best_val_ndcg_10": float(history["ndcg@10"].max()),
    }


def write(rows: list[dict], command: str, name: str) -> Path:
    frame = pd.DataFrame(rows)
    table = frame.groupby(["model", "batching"], sort=False).agg(
        s_per_epoch=("s_per_epoch", "mean"),
        last_val_ndcg_10=("last_val_ndcg_10", "mean"),
        val_min=("last_val_ndcg_10", "min"),
        val_max=("last_val_ndcg_10", "max"),
        seeds=("seed", "count"),
    )
    first = frame["batching"].iloc[0]  # the reference mode
    reference = table.xs(first, level="batching")["s_per_epoch"]
    table[f"speedup_vs_{first}"] = [reference[m] / s for (m, _), s in table["s_per_epoch"].items()]
    lines = [
        f"# Sequential training speed: {', '.join(frame['batching'].unique())} side by side",
        "",
        f"Machine: {platform.machine()}, {torch.get_num_threads()} torch threads, CPU only. Commit "
        f"{commit_label()}. Reproduce: `{command}`. Each row: mean over seeds of seconds per "
        "training epoch (validation excluded, first epoch left out) and the validation NDCG@10 after the "
        "last epoch (min and max over seeds).",
        "",
        markdown_table(table.reset_index()),
        "",
    ]
    path = RESULTS / f"{name}.md"
    path.write_text("\n".join(lines))
    (RESULTS / f"{name}.json").write_text(json.dumps({"command": command, "runs": rows}, indent=1))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", default="42,43")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--modes", default="full,bucketed,trimmed", help=f"of {', '.join(MODES)}")
    parser.add_argument("--name", default="speed", help="results file: benchmarks/results/NAME.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    command = (
        f"python benchmarks/speed_sequential.py --epochs {args.epochs} --seeds {args.seeds} "
        f"--models {args.models} --modes {args.modes} --name {args.name}"
    )
    rows = []
    for model in args.models.split(","):
        refresh(WORK / MODELS[model][0])  # this checkout's conf and code, the folds it has
        for seed in (int(s) for s in args.seeds.split(",")):
            for mode in args.modes.split(","):
                rows.append(run(model, mode, seed, args.epochs))
                print(json.dumps(rows[-1]), flush=True)
                write(rows, command, args.name)
    print(write(rows, command, args.name).read_text())


if __name__ == "__main__":
    main()
