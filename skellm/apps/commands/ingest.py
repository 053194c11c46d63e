"""``skellm ingest``: raw mocap files to a take-table Parquet and its quarantine table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from skellm.config import DataConfig
from skellm.data.ingest import find_files, ingest_files, load_corpus_labels

_EXCLUDED_PATTERNS = ("*.csv", "*.json", "*.yaml", "*.md")  # label and side files
EXAMPLE = "skellm ingest data/raw/B --corpus B --label-set happiness sadness neutral -o B.parquet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", nargs="+", help="raw files or folders (folders are searched recursively)")
    parser.add_argument("-o", "--out", required=True, help="output take table (.parquet)")
    parser.add_argument("--corpus", default="user", help="corpus name for take ids (default: user)")
    parser.add_argument("--label-field", default="emotion")
    parser.add_argument("--label-set", nargs="*", help="allowed labels (others are quarantined)")
    parser.add_argument("--regex", help="file-name regex with named groups (subject, emotion, ...)")
    parser.add_argument("--labels-csv", help="CSV keyed by file name (column 'filename')")
    parser.add_argument("--fps", type=float, help="frame rate for formats that do not store one")
    parser.add_argument(
        "--workers",
        type=int,
        default=DataConfig.workers,
        help="parallel reader processes (0: all usable cores)",
    )


def run(args: argparse.Namespace) -> int:
    files: list[Path] = []
    roots = [Path(s) for s in args.src]
    for src in roots:
        if src.is_dir():
            files += [
                p for p in find_files(src, ["**/*"]) if not any(p.match(pat) for pat in _EXCLUDED_PATTERNS)
            ]
        elif src.exists():
            files.append(src)
        else:
            print(f"skellm ingest: error: {src}: no such file or folder", file=sys.stderr)
            return 2
    sources: list[dict[str, Any]] = []
    if args.regex:
        sources.append({"kind": "regex", "pattern": args.regex})
    if args.labels_csv:
        sources.append({"kind": "csv", "path": args.labels_csv})
    root = roots[0] if len(roots) == 1 and roots[0].is_dir() else None
    labels = load_corpus_labels(files, root or Path("."), sources)
    result = ingest_files(
        files,
        args.corpus,
        args.out,
        root=root,
        labels=labels,
        label_field=args.label_field,
        label_set=args.label_set,
        read_opts={"fps": args.fps} if args.fps else {},
        workers=args.workers,
    )
    print(result.summary(args.corpus))
    for q in result.quarantine:
        print(f"  quarantined: {q['reason']}")
    return 0
