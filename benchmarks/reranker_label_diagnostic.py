"""Is the leave-one-out reranker short of labels? Cross-fit over the test users of a finished run.

    python benchmarks/reranker_label_diagnostic.py --protocol loo

Reads the stored reranker datasets of ``benchmarks/.work/<protocol>`` (a ``__default__`` benchmark
run), splits the test users into 5 folds and, for each fold, trains the reranker three ways and scores
the held-out users: on the rerank window only (what the pipeline does), on the other folds' test-window
labels only (in-distribution, about as many labels), and on both (twice the labels). Test-window labels
are never used to score their own users. A diagnostic, not a method: it shows how the gain moves with
the number of labels.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from recsys_challenge.evaluation import ranking_metrics
from recsys_challenge.pipelines.reranker import nodes

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--protocol", default="loo")
    parser.add_argument("--generator", default="sasrec", help="the single model to compare with")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    data = ROOT / "benchmarks" / ".work" / args.protocol / "data"
    test_gt = pd.read_parquet(data / "05_model_input" / "folds" / "test_gt.parquet")
    train_set = pd.read_parquet(data / "05_model_input" / "reranker" / "train_set.parquet")
    test = nodes.add_labels(
        pd.read_parquet(data / "05_model_input" / "reranker" / "dataset_test.parquet"), test_gt
    )
    single = pd.read_parquet(data / "07_model_output" / args.generator / "candidates_test.parquet")
    params = yaml.safe_load((ROOT / "conf" / "base" / "parameters_reranker.yml").read_text())["reranker"]

    users = np.sort(test_gt["user_id"].unique())
    np.random.default_rng(0).shuffle(users)
    scores: dict[str, list[float]] = {args.generator: [], "rerank_window": [], "test_cv": [], "both": []}
    for fold in np.array_split(users, args.folds):
        truth = test_gt[test_gt["user_id"].isin(fold)]
        held = test[test["user_id"].isin(fold)]
        other = test[~test["user_id"].isin(fold)]
        # a user's rerank and test windows are different groups
        both = pd.concat([train_set, other.assign(user_id=other["user_id"] + 10**9)])
        scores[args.generator].append(
            ranking_metrics(single[single["user_id"].isin(fold)], truth, [10])["ndcg_10"]
        )
        for name, train in (("rerank_window", train_set), ("test_cv", other), ("both", both)):
            model, _, _ = nodes.train_ranker(train, params)
            scores[name].append(ranking_metrics(nodes.rerank(model, held, params), truth, [10])["ndcg_10"])
    base = float(np.mean(scores[args.generator]))
    print(
        json.dumps(
            {
                k: {"ndcg_10": round(float(np.mean(v)), 4), "gain": round(float(np.mean(v)) / base, 3)}
                for k, v in scores.items()
            }
        )
    )


if __name__ == "__main__":
    main()
