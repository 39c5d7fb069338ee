"""Score-level ensemble of saved tuning runs, measured on the test window.

    python benchmarks/ensemble_sequential.py f80_seed7_refit f80_seed42_refit ...

Each name is a top-100 file written by ``tune_sequential.py`` under
``benchmarks/.work/<protocol>/tuning/``; they are averaged as the pipeline's ``ensemble`` does
(``inference.mean_probabilities``) and scored on the test window's truth, read through the scratch
project's catalog.
"""

from __future__ import annotations

import argparse
import json

import pandas as pd
from common import WORK, tuning_file
from project import load

from recsys_challenge.core import ranked
from recsys_challenge.evaluation import ranking_metrics
from recsys_challenge.pipelines.sequential.inference import mean_probabilities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="+")
    parser.add_argument("--protocol", default="loo")
    args = parser.parse_args()
    truth = load(WORK / args.protocol, "fold_test_gt@pandas")["fold_test_gt@pandas"]
    runs = [pd.read_parquet(tuning_file(args.protocol, n)) for n in args.names]
    for name, run in zip(args.names, runs, strict=True):
        m = ranking_metrics(run, truth, [10])
        print(name, round(m["ndcg_10"], 4), round(m["recall_10"], 4))
    m = ranking_metrics(ranked(mean_probabilities(runs)), truth, [10])
    scores = {k: round(m[k], 4) for k in ("ndcg_10", "recall_10")}
    print(json.dumps({"ensemble": args.names, **scores}))


if __name__ == "__main__":
    main()
