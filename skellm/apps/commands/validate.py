"""``skellm validate``: check a take table against the pandera schema."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from skellm.data.validate import TableError, validate_takes, validation_rules

EXAMPLE = "skellm validate data/ingested/B.parquet --label-set B=happiness,sadness,neutral"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", help="take table (.parquet)")
    parser.add_argument(
        "--label-set",
        action="append",
        metavar="CORPUS=A,B,...",
        help="allowed labels of a corpus (repeatable); default: params.yaml data.corpora, if present",
    )
    parser.add_argument(
        "--params", default="params.yaml", help="params file: height bounds, label sets, harmonize joint maps"
    )
    parser.add_argument(
        "-o", "--out", help="write the valid rows here and the rest to OUT.quarantine.parquet"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from skellm.config import Config, load_config
    from skellm.data.table import quarantine_path, read_takes, write_quarantine, write_takes

    cfg = validation_rules(load_config(args.params) if Path(args.params).exists() else Config())
    if args.label_set:
        sets = {}
        for spec in args.label_set:
            corpus, _, labels = spec.partition("=")
            sets[corpus] = [x for x in labels.split(",") if x]
        cfg = dataclasses.replace(cfg, label_sets=sets)
    try:
        table = read_takes(args.table)
        valid, failures = validate_takes(table, cfg)
    except (OSError, TableError) as exc:
        print(f"skellm validate: error: {args.table}: {exc}", file=sys.stderr)
        return 1
    for f in failures:
        print(f["reason"], file=sys.stderr)
    print(f"{args.table}: {valid.num_rows} valid, {len(failures)} failed of {table.num_rows} takes")
    if args.out:
        write_takes(valid, args.out)
        write_quarantine(failures, quarantine_path(args.out))
        return 0
    return 1 if failures else 0
