"""``skellm report``: one self-contained HTML page of the metrics, plots and examples."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from skellm.apps.report import DEFAULT_OUT, build_report

EXAMPLE = "skellm report -o metrics/report.html   # then open it in a browser"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--out", help=f"HTML file to write (default: REPO/{DEFAULT_OUT})")
    parser.add_argument("--repo", default=".", help="the DVC repo whose dvc.yaml, metrics/ and plots to read")
    parser.add_argument("--examples", type=int, default=6, help="example explanations to show (default 6)")


def run(args: argparse.Namespace) -> int:

    repo = Path(args.repo)
    if not repo.is_dir():
        print(f"skellm report: {repo}: no such folder", file=sys.stderr)
        return 2
    print(build_report(repo, args.out, args.examples))
    return 0
