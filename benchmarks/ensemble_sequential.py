"""Score-level ensemble of saved tuning runs, measured on the test window.

    python benchmarks/ensemble_sequential.py f80_seed7_refit f80_seed42_refit ...

Each name is a top-100 file written by ``tune_sequential.py`` under
``benchmarks/.work/<protocol>/tuning/``. Scores become per-user softmax probabilities over the top 100
(a CE-trained model's logits are log-probabilities up to a per-user constant) and are averaged.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_challenge.evaluation import ranking_metrics

ROOT = Path(__file__).resolve().parents[1]


def probabilities(top: pd.DataFrame) -> pd.DataFrame:
    """Per-user softmax of the scores of one run's top list."""
    shifted = top["score"] - top.groupby("user_id")["score"].transform("max")
    weight = np.exp(shifted.astype("float64"))
    return top.assign(prob=weight / weight.groupby(top["user_id"]).transform("sum"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="+")
    parser.add_argument("--protocol", default="loo")
    args = parser.parse_args()
    work = ROOT / "benchmarks" / ".work" / args.protocol
    truth = pd.read_parquet(work / "data" / "05_model_input" / "folds" / "test_gt.parquet")
    runs = [probabilities(pd.read_parquet(work / "tuning" / f"{n}.parquet")) for n in args.names]
    for name, run in zip(args.names, runs, strict=True):
        m = ranking_metrics(run.assign(score=run["prob"]), truth, [10])
        print(name, round(m["ndcg_10"], 4), round(m["recall_10"], 4))
    merged = pd.concat(runs).groupby(["user_id", "item_id"], as_index=False)["prob"].sum()
    merged = merged.sort_values(["user_id", "prob"], ascending=[True, False])
    merged["rank"] = merged.groupby("user_id").cumcount() + 1
    m = ranking_metrics(merged.rename(columns={"prob": "score"}), truth, [10])
    scores = {k: round(m[k], 4) for k in ("ndcg_10", "recall_10")}
    print(json.dumps({"ensemble": args.names, **scores}))


if __name__ == "__main__":
    main()
