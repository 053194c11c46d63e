"""``skellm split``: random 4:1, by subject, or leave-one-corpus-out."""

from __future__ import annotations

import argparse

from skellm.data.split import METHODS, SplitConfig, split_file

EXAMPLE = "skellm split data/harmonized/takes.parquet -o data/split --method subject --seed 0"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", help="harmonized take table (.parquet)")
    parser.add_argument("-o", "--out", required=True, help="output folder (train/test.parquet, labels.json)")
    parser.add_argument("--method", choices=METHODS, default="random")
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--holdout-corpus")
    parser.add_argument("--label-field", default="emotion")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    cfg = SplitConfig(args.method, args.test_fraction, args.holdout_corpus, args.label_field, args.seed)
    n_train, n_test = split_file(args.table, args.out, cfg)
    print(f"split ({cfg.method}, seed {cfg.seed}): {n_train} train, {n_test} test -> {args.out}")
    return 0
