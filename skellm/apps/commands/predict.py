"""Name the emotion in mocap files and explain the body cues, with per-label probabilities.

Reads any format skellm reads, preprocesses it as training did, and prints per file the label, the
probability of each candidate label (the file's corpus's labels, the union of all classes, or
--labels) and an explanation. Without --model it uses what `dvc repro` produced in the current repo;
with --model DIR, a folder written by `skellm export` (no DVC repo needed). A file that cannot be read
is reported on stderr in one line; the others are still predicted and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import sys

EXAMPLE = (
    "skellm predict take.bvh kinect/P03_012.txt --corpus C\n"
    "  skellm predict --model dist/skellm-emotion --json recordings/*.bvh > predictions.jsonl"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.add_argument("files", nargs="+", metavar="FILE", help="mocap file(s) in any format skellm reads")
    parser.add_argument(
        "--model", metavar="DIR", help="a folder written by `skellm export` (default: this repo)"
    )
    parser.add_argument(
        "--corpus", metavar="NAME", help="the corpus the files come from (its labels, its encoder)"
    )
    parser.add_argument("--labels", metavar="A,B,C", help="comma-separated candidate labels to score instead")
    parser.add_argument("--json", action="store_true", help="one JSON object per file and line on stdout")
    parser.add_argument("--batch-size", type=int, default=8, metavar="N", help="takes per batch (default 8)")
    parser.add_argument("--no-explain", action="store_true", help="label and probabilities only (faster)")
    parser.add_argument(
        "--explain-label",
        metavar="LABEL",
        help="explain why the take would be LABEL instead of the predicted label (any label the model knows)",
    )


def format_result(r: dict) -> str:
    """A result as text: file, label and corpus; probabilities, highest first; the explanation."""
    from skellm.eval.faithfulness import cue_label

    probs = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])
    lines = [
        f"{r['file']}: {r['label']}" + (f"  (corpus {r['corpus']})" if r["corpus"] else ""),
        "  " + "  ".join(f"{lab} {p:.3f}" for lab, p in probs),
    ]
    if r.get("explanation") is not None:
        asked = r.get("explained_label")
        lines.append(f"  why{'' if asked in (None, r['label']) else f' {asked}'}: {r['explanation']}")
        if r.get("cues"):
            lines.append("  cues: " + ", ".join(cue_label((c, s)) for c, s in r["cues"]))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from skellm.apps.predict import ArtefactError, Predictor, exported_artefacts, repo_artefacts

    if args.batch_size < 1:
        print("skellm predict: error: --batch-size must be at least 1", file=sys.stderr)
        return 2
    labels = [x.strip() for x in args.labels.split(",") if x.strip()] if args.labels else None
    if args.labels is not None and not labels:
        print("skellm predict: error: --labels names no label", file=sys.stderr)
        return 2
    try:
        art = exported_artefacts(args.model) if args.model else repo_artefacts(".")
        predictor = Predictor(art)
    except ArtefactError as exc:
        print(f"skellm predict: error: {exc}", file=sys.stderr)
        return 1
    if args.explain_label is not None and args.no_explain:
        print(
            "skellm predict: error: --explain-label asks for an explanation; drop --no-explain",
            file=sys.stderr,
        )
        return 2
    if args.explain_label is not None and args.explain_label not in predictor.labels.classes:
        known = ", ".join(predictor.labels.classes)
        print(
            f"skellm predict: error: --explain-label {args.explain_label!r} is not a label the model knows"
            f" ({known})",
            file=sys.stderr,
        )
        return 2
    if args.corpus and args.corpus not in predictor.label_sets and not labels:
        known = ", ".join(sorted(predictor.label_sets))
        print(
            f"skellm predict: warning: corpus {args.corpus!r} was not trained ({known}); scoring all classes",
            file=sys.stderr,
        )
    failed = 0
    bar = tqdm(total=len(args.files), desc="predict", unit="file", file=sys.stderr, disable=None)
    results = predictor.predict_files(
        args.files,
        args.corpus,
        labels,
        explain=not args.no_explain,
        batch_size=args.batch_size,
        explain_label=args.explain_label,
    )
    for _path, result, error in results:
        bar.update(1)
        if error is not None:
            failed += 1
            bar.clear()
            print(error, file=sys.stderr)
            continue
        text = json.dumps(result) if args.json else format_result(result)
        bar.clear()
        print(text, flush=True)
    bar.close()
    return 1 if failed else 0
