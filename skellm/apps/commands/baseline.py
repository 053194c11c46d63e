"""``skellm baseline``: hand-crafted motion features and a simple classifier on a split folder."""

from __future__ import annotations

import argparse

from skellm.config import BaselineConfig
from skellm.eval.baseline import run_baseline

EXAMPLE = "skellm baseline data/split -o metrics/baseline.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("split_dir", help="folder with train.parquet, test.parquet and labels.json")
    parser.add_argument("-o", "--out", help="write the metrics JSON here (default: print only)")
    parser.add_argument(
        "--classifier", default=BaselineConfig.classifier, choices=["logistic", "random_forest"]
    )
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from skellm.io import write_json

    metrics = run_baseline(args.split_dir, args.classifier, args.seed)
    for corpus, m in metrics.items():
        print(f"{corpus}: accuracy {m['accuracy']:.3f} (chance {m['chance']:.3f}, {m['n_test']} test takes)")
    if args.out:
        write_json(args.out, metrics)
    return 0
