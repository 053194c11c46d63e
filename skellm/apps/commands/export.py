"""``skellm export``: the trained model as one folder with a model card, for ``predict --model``."""

from __future__ import annotations

import argparse
import sys

from skellm.apps.export import ExportError, export_model
from skellm.apps.predict import ArtefactError

EXAMPLE = "skellm export dist/skellm-emotion && skellm predict --model dist/skellm-emotion take.bvh"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.add_argument("out", metavar="DIR", help="folder to write (must not exist unless --force)")
    parser.add_argument("--repo", default=".", help="the DVC repo whose artefacts to export (default: .)")
    parser.add_argument(
        "--link", action="store_true", help="reference a user llm.path folder instead of copying it"
    )
    parser.add_argument("--force", action="store_true", help="replace DIR if it exists")


def run(args: argparse.Namespace) -> int:
    try:
        out = export_model(args.out, args.repo, link=args.link, force=args.force)
    except (ArtefactError, ExportError) as exc:
        print(f"skellm export: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"skellm export: error: {exc.filename or args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(
        f"skellm export: wrote {out} ({size / 1e6:.1f} MB); predict with: skellm predict --model {out} FILE"
    )
    return 0
