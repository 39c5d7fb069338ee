"""Is the leave-one-out reranker short of labels? Cross-fit over the test users of a finished run.

    python benchmarks/reranker_label_diagnostic.py --protocol loo

Reads the reranker datasets, the test window's truth, one generator's test candidates and the
``reranker`` parameters of ``benchmarks/.work/<protocol>`` (a ``__default__`` benchmark run) through a
KedroSession on it, splits the test users into 5 folds and, for each fold, trains the reranker three
ways and scores the held-out users: on the rerank window only (what the pipeline does), on the other
folds' test-window labels only (in-distribution, about as many labels), and on both (twice the labels).
Test-window labels are never used to score their own users. A diagnostic, not a method: it shows how
the gain moves with the number of labels.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from common import WORK
from project import session

from recsys_challenge.evaluation import ranking_metrics
from recsys_challenge.pipelines.reranker import nodes

TRUTH = "fold_test_gt@pandas"


def finished_run(project: Path, generator: str, env: str) -> tuple[dict[str, pd.DataFrame], Any]:
    """The run's datasets (the test window's truth, the reranker's training set, the test window's
    labelled dataset, the generator's test candidates) and its ``reranker`` parameters."""
    with session(project, env) as kedro:
        context = kedro.load_context()
        names = {
            "truth": TRUTH,
            "train_set": "reranker.train_set",
            "test": "reranker.dataset_test",
            "single": f"{generator}.candidates_test",
        }
        data = {key: context.catalog.load(name) for key, name in names.items()}
        params = context.params["reranker"]
    data["test"] = nodes.add_labels(data["test"], data["truth"])
    return data, params


def fold_scores(data: dict[str, pd.DataFrame], fold: np.ndarray, params: Any) -> dict[str, float]:
    """NDCG@10 of the held-out users ``fold``: the generator alone and the reranker trained three ways."""
    test, train_set = data["test"], data["train_set"]
    truth = data["truth"][data["truth"]["user_id"].isin(fold)]
    held, other = test[test["user_id"].isin(fold)], test[~test["user_id"].isin(fold)]
    # a user's rerank and test windows are different groups
    both = pd.concat([train_set, other.assign(user_id=other["user_id"] + 10**9)])
    single = data["single"]
    scores = {"single": ranking_metrics(single[single["user_id"].isin(fold)], truth, [10])["ndcg_10"]}
    for name, train in (("rerank_window", train_set), ("test_cv", other), ("both", both)):
        model, _, _ = nodes.train_ranker(train, params)
        scores[name] = ranking_metrics(nodes.rerank(model, held, params), truth, [10])["ndcg_10"]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--protocol", default="loo")
    parser.add_argument("--generator", default="sasrec", help="the single model to compare with")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--env", default="benchmark", help="the environment the run used")
    args = parser.parse_args()
    data, params = finished_run(WORK / args.protocol, args.generator, args.env)
    users = np.sort(data["truth"]["user_id"].unique())
    np.random.default_rng(0).shuffle(users)
    folds = [fold_scores(data, fold, params) for fold in np.array_split(users, args.folds)]
    means = {k: float(np.mean([f[k] for f in folds])) for k in folds[0]}
    means = {(args.generator if k == "single" else k): v for k, v in means.items()}
    base = means[args.generator]
    print(json.dumps({k: {"ndcg_10": round(v, 4), "gain": round(v / base, 3)} for k, v in means.items()}))


if __name__ == "__main__":
    main()
