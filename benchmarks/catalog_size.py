"""Seconds per epoch of the sequential models as the catalogue grows, full against sampled loss.

    python benchmarks/catalog_size.py --epochs 3

Competition-form data (10.6% of each user's events hidden at their positions), split once per dataset
with ``conf/benchmark_gaps``: MovieLens-100k (1,682 items), and the synthetic generator at its users and
events per user (943, 106) with 1,682 and with 10,000 items, so the two synthetic sets differ in their
catalogue alone. On each, SASRec (one direction) and the cloze BERT4Rec (one member) fit ``--epochs``
epochs, once with full CE and once with ``CE_sampled`` (``negatives`` per batch, conf's), through
their ``fit`` node. A row: seconds per training epoch (the first epoch left out: it warms caches) and
the best validation NDCG@10 on the reranker window's holes after those epochs (a check that the loss
still learns, not a quality claim: the epochs are few). One process, every fit of a dataset side by
side. Results: ``benchmarks/results/catalog_size.md`` (and ``.json``).

    python benchmarks/catalog_size.py --epochs 60 --patience 5 --datasets movielens100k --name converged

Quality at convergence: each fit early-stops on its validation NDCG@10 as the pipeline's does; results
in ``catalog_size_<name>.md``.

    python benchmarks/catalog_size.py --epochs 60 --patience 5 --datasets movielens100k --models sasrec \
        --losses CE,CE_sampled,CE_sampled:1 --name pools

A loss after a colon names ``negative_pool_rows``, the training rows that share one pool of negatives
(``CE_sampled:1``, a pool per row), and after a second one ``negatives`` (``CE_sampled:1:512``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
from common import RESULTS, WORK, commit_label, kept_notes, machine, markdown_table
from project import load, missing, prepare_project, run_nodes
from run_gaps import ENV, competition_raw

from recsys_challenge.synthetic import main as synthetic

USERS, MEAN_EVENTS, HIDDEN, SEED = 943, 106, 0.106, 7  # MovieLens-100k's users and events per user
DATASETS = {"movielens100k": None, "synthetic_1682": 1682, "synthetic_10000": 10000}  # name: items
MODELS = {"sasrec": {"direction": "forward"}, "bert4rec_cloze": {"ensemble": 1}}
LOSSES = ("CE", "CE_sampled")


def raw(name: str) -> Path:
    """The dataset's raw files in the competition's form."""
    if DATASETS[name] is None:
        return competition_raw(0)[0]
    folder = WORK / f"catalog_raw_{name}"
    if not (folder / "events.csv").exists():
        options = {"--users": USERS, "--items": DATASETS[name], "--mean-events": MEAN_EVENTS}
        options.update({"--seed": SEED, "--hidden": HIDDEN})
        synthetic([str(folder), *(str(x) for pair in options.items() for x in pair)])
    return folder


def project(name: str) -> Path:
    """A scratch project on the dataset, split with ``conf/benchmark_gaps`` (once)."""
    path = WORK / f"catalog_{name}"
    if missing(path, ["targets_final"], ENV):
        prepare_project("gaps", raw(name), ENV, name=path.name)
        run_nodes(path, "splitting", env=ENV)
    return path


def fit(path: Path, model: str, loss: str, epochs: int, patience: int | None, seed: int) -> dict[str, Any]:
    """One ``fit`` of ``model`` with ``loss`` for up to ``epochs`` epochs (``patience``: None, no early
    stop). ``loss`` may name the rows per pool of negatives and the negatives per pool after colons:
    ``CE_sampled:1``, ``CE_sampled:1:512``."""
    loss, *sampling = loss.split(":")
    params = {**MODELS[model], "loss": loss, "epochs": epochs, "patience": patience or epochs, "seed": seed}
    params.update(
        {key: int(value) for key, value in zip(("negative_pool_rows", "negatives"), sampling, strict=False)}
    )
    params["progress_bar"] = False
    run_nodes(path, model, [f"{model}.fit"], ENV, {model: params})
    history = load(path, f"{model}.train_history", env=ENV)[f"{model}.train_history"]
    return {
        "epochs": len(history),
        "s_per_epoch": float(history["epoch_seconds"].iloc[1:].mean()),
        "best_val_ndcg_10": float(history["ndcg@10"].max()),
    }


def write(rows: list[dict[str, Any]], command: str, name: str | None) -> Path:
    frame = pd.DataFrame(rows)
    reference = frame[frame["dataset"] == "synthetic_1682"].set_index(["model", "loss", "seed"])
    frame["vs_1682_items"] = [
        r.s_per_epoch / reference["s_per_epoch"].get((r.model, r.loss, r.seed), float("nan"))
        for r in frame.itertuples()
    ]
    full = frame[frame["loss"] == "CE"].set_index(["dataset", "model", "seed"])["s_per_epoch"]
    frame["vs_full_ce"] = [
        r.s_per_epoch / full.get((r.dataset, r.model, r.seed), float("nan")) for r in frame.itertuples()
    ]
    path = RESULTS / (f"catalog_size_{name}.md" if name else "catalog_size.md")
    lines = [
        "# Sequential training cost against catalogue size: full and sampled CE",
        "",
        f"Machine: {machine()}, CPU only; commit {commit_label()}. Reproduce: `{command}` (docstring). "
        "`vs_1682_items`: seconds per epoch over the same model and loss on `synthetic_1682` (the same "
        "users and events, a sixth of the catalogue); `vs_full_ce`: over full CE on the same data.",
        "",
        markdown_table(frame),
        "",
        *kept_notes(path),
    ]
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps({"command": command, "runs": rows}, indent=1))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--patience", type=int, default=None, help="early stopping (default: none)")
    parser.add_argument("--name", default=None, help="results in catalog_size_NAME.md")
    parser.add_argument("--seeds", default="42", help="comma-separated: a fit per seed")
    parser.add_argument(
        "--losses", default=",".join(LOSSES), help="e.g. CE,CE_sampled:1 (a pool of negatives per row)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    command = f"python benchmarks/catalog_size.py --epochs {args.epochs}"
    for option in ("patience", "datasets", "models", "name", "losses", "seeds"):
        if getattr(args, option) != parser.get_default(option):
            command += f" --{option} {getattr(args, option)}"
    rows = []
    for name in args.datasets.split(","):
        path = project(name)
        for model in args.models.split(","):
            for seed, loss in itertools.product(args.seeds.split(","), args.losses.split(",")):
                row = {"dataset": name, "items": DATASETS[name] or 1682, "model": model, "loss": loss}
                row["seed"] = int(seed)
                rows.append({**row, **fit(path, model, loss, args.epochs, args.patience, int(seed))})
                print(json.dumps(rows[-1]), flush=True)
                write(rows, command, args.name)
    print(write(rows, command, args.name).read_text())


if __name__ == "__main__":
    main()
