"""The ``skellm`` command. Each subcommand lives in its own module, imported only when used.

A command module provides ``add_arguments(parser)`` and ``run(args) -> int``; its docstring's first
paragraph is the help text and an ``EXAMPLE`` string is shown under ``--help``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> one-line help; the command's module is skellm.apps.commands.<name>, imported only when used.
COMMANDS: dict[str, str] = {
    "inspect": "describe one mocap file and any problems in it",
    "layout": "how a file's rig maps onto the canonical skeleton; write a pinned map",
    "ingest": "raw mocap files to a take-table Parquet (+ quarantine)",
    "validate": "check a take table against the schema",
    "harmonize": "metres, Y up, root-centred, 64 frames, native/canonical joints",
    "split": "random 4:1, by subject, or leave-one-corpus-out",
    "synth": "write the synthetic emotional-mocap corpora as raw files",
    "baseline": "hand-crafted motion features + simple classifier",
    "render": "3D stick-figure GIF/MP4 of a mocap file, or a contact sheet PNG",
    "report": "one self-contained HTML page of the metrics, plots and examples",
    "predict": "label, per-label probabilities and explanation of mocap files",
    "export": "the trained model as one folder with a model card, for predict --model",
}


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skellm",
        description="Read human body motion with a language model.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version="skellm 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, helptext in COMMANDS.items():
        if name != only:
            sub.add_parser(name, help=helptext, add_help=False)
            continue
        mod = importlib.import_module(f"skellm.apps.commands.{name}")
        example = getattr(mod, "EXAMPLE", "")
        p = sub.add_parser(
            name,
            help=helptext,
            description=helptext,
            epilog=f"example:\n  {example}" if example else None,
            formatter_class=_Formatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``skellm`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    parser = _build_parser(only)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0 if not argv else 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("skellm: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line, never a traceback, for users
        print(f"skellm {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
