"""``skellm split``: random 4:1, by subject, or leave-one-corpus-out."""

from __future__ import annotations

import argparse

from skellm.config import SPLIT_METHODS, SplitConfig

D = SplitConfig()  # defaults of params.yaml's split section

EXAMPLE = "skellm split data/harmonized/takes.parquet -o data/split --method subject --seed 0"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", help="harmonized take table (.parquet)")
    parser.add_argument("-o", "--out", required=True, help="output folder (train/test.parquet, labels.json)")
    parser.add_argument("--method", choices=SPLIT_METHODS, default=D.method)
    parser.add_argument("--test-fraction", type=float, default=D.test_fraction)
    parser.add_argument("--holdout-corpus", default=D.holdout_corpus)
    parser.add_argument("--label-field", default=D.label_field)
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from skellm.data.split import split_file

    cfg = SplitConfig(args.method, args.test_fraction, args.holdout_corpus, args.label_field)
    n_train, n_test = split_file(args.table, args.out, cfg, args.seed)
    print(f"split ({cfg.method}, seed {args.seed}): {n_train} train, {n_test} test -> {args.out}")
    return 0
