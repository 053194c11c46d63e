"""Encoder ablations on the pipeline's own split: each variant x training seed, the data held fixed.

`dvc exp run -S seed=1` would also redraw the synthetic corpora and the split; this script keeps
data/split and data/text/features of the last `dvc repro` and varies only the encoder's params and its
training seed, so a difference between variants is the encoder's. A variant that sets ``text.*`` (e.g.
``text.knowledge=motion``, SUGAR's knowledge ablation) gets its own text bank, built by the
text_features stage into the temporary folder. Each run is the pretrain_encoder
stage itself (skellm.encoder.train.run_stage) writing into a temporary folder. Prints a Markdown table
(accuracy per corpus, zero-shot top-1/top-5 on unseen classes, seconds) with exact McNemar tests of each
variant against the first on the same test takes, seed by seed, and writes the runs as JSON.

Usage:
  python scripts/ablate_encoder.py --epochs 15 --seeds 0 1 \\
      --variant kl: --variant milnce:encoder.text_loss=milnce --variant soft:encoder.soft_labels=0.3
  python scripts/ablate_encoder.py --epochs 40 --variant both:encoder.text_loss=milnce \
      --variant motion:encoder.text_loss=milnce,text.knowledge=motion ...
A variant is NAME:KEY=VALUE,KEY=VALUE (values parsed as YAML); NAME: alone is params.yaml as it is.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """``milnce:encoder.text_loss=milnce,encoder.soft_labels=0.3`` -> (name, {dotted: value})."""
    name, _, rest = text.partition(":")
    if not name:
        raise SystemExit(f"--variant {text!r}: give NAME:KEY=VALUE,...")
    sets = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise SystemExit(f"--variant {text!r}: {item!r} is not KEY=VALUE")
        sets[key.strip()] = yaml.safe_load(value)
    return name, sets


def run_one(params: dict[str, Any], sets: dict[str, Any], seed: int, epochs: int | None) -> dict[str, Any]:
    """One pretrain_encoder run in a temporary folder; its metrics."""
    from skellm.config import PATHS, config_from_dict, set_dotted
    from skellm.encoder import train

    p = copy.deepcopy(params)
    for key, value in {**sets, "seed": seed}.items():
        set_dotted(p, key, value)
    if epochs is not None:
        set_dotted(p, "encoder.epochs", epochs)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        set_dotted(p, "encoder.out", str(t / "models"))
        set_dotted(p, "encoder.checkpoint_dir", str(t / "ckpt"))
        cfg = config_from_dict(p)
        paths = dataclasses.replace(PATHS, metrics=t / "m", curves=t / "curves", plots=t / "plots")
        if any(k.startswith("text.") for k in sets):  # e.g. text.knowledge: this variant's own text bank
            from skellm.text import features

            paths = dataclasses.replace(paths, text_features=t / "text" / "features")
            features.run_stage(cfg, paths)
        metrics = train.run_stage(cfg, paths, progress=False)
        # the stage's confusion CSVs list the test takes in split order: per-take outcomes for pairing
        metrics["correct"] = {
            f.stem: [a == b for a, b in (line.split(",") for line in f.read_text().splitlines()[1:])]
            for f in sorted((t / "plots" / "encoder_confusion").glob("*.csv"))
        }
        return metrics


def paired(a: dict[str, Any], b: dict[str, Any]) -> dict[str, dict[str, float | int]]:
    """McNemar of run ``b`` against run ``a`` on the same test takes, per corpus and over all of them."""
    from skellm.eval.stats import mcnemar

    out = {c: mcnemar(a["correct"][c], b["correct"][c]) for c in a["correct"]}
    pool = sorted(a["correct"])
    out["all"] = mcnemar(sum((a["correct"][c] for c in pool), []), sum((b["correct"][c] for c in pool), []))
    return out


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Mean over seeds of each figure: accuracy per corpus, unseen top-1/top-5 per corpus, seconds."""
    cols: dict[str, list[float]] = {}
    for m in runs:
        for c, v in m["accuracy"].items():
            cols.setdefault(f"acc {c}", []).append(v)
        for c, u in m.get("unseen", {}).items():
            cols.setdefault(f"unseen {c} top1", []).append(u["top1"])
            cols.setdefault(f"unseen {c} top5", []).append(u["top5"])
        cols.setdefault("seconds", []).append(m["train_seconds"])
    return {k: statistics.fmean(v) for k, v in cols.items()}


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    """Markdown: one row per variant, each cell the per-seed values and their mean."""
    rows = {name: summary(runs) for name, runs in results.items()}
    keys = list(dict.fromkeys(k for r in rows.values() for k in r))
    out = ["| variant | " + " | ".join(keys) + " |", "|" + " --- |" * (len(keys) + 1)]
    for name, runs in results.items():
        per_run = [summary([m]) for m in runs]
        cells = []
        for k in keys:
            fmt = ".0f" if k == "seconds" else ".3f"
            seeds = " / ".join(f"{r[k]:{fmt}}" for r in per_run if k in r)
            mean = rows[name].get(k)
            cells.append(seeds if len(runs) == 1 or mean is None else f"{seeds} (mean {mean:{fmt}})")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", action="append", required=True, help="NAME:KEY=VALUE,... (repeat)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--epochs", type=int, default=None, help="override encoder.epochs for every run")
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("-o", "--out", default=str(ROOT / "metrics/ablations/encoder.json"))
    args = ap.parse_args(argv)
    from skellm.io import load_params, write_json

    params = load_params(args.params)
    variants = [parse_variant(v) for v in args.variant]
    results: dict[str, list[dict[str, Any]]] = {}
    for name, sets in variants:
        for seed in args.seeds:
            m = run_one(params, sets, seed, args.epochs)
            results.setdefault(name, []).append(m)
            print(f"{name} seed {seed}: " + json.dumps(summary([m])), flush=True)
    md = table(results)
    ref = variants[0][0]  # each variant against the first, seed by seed, on the same takes
    tests = {
        name: [paired(a, b) for a, b in zip(results[ref], runs, strict=True)]
        for name, runs in results.items()
        if name != ref
    }
    lines = [
        f"{name} vs {ref}, seed {seed}: "
        + ", ".join(f"{c} {t['b_only']}-{t['a_only']} p={t['p']}" for c, t in per.items())
        for name, pers in tests.items()
        for seed, per in zip(args.seeds, pers, strict=True)
    ]
    md += "\n\nMcNemar (takes only the variant gets right - only the reference does, exact p):\n"
    md += "\n".join(f"- {line}" for line in lines)
    print(md)
    meta = {"epochs": args.epochs, "seeds": args.seeds, "variants": dict(variants), "reference": ref}
    write_json(Path(args.out), {"meta": meta, "runs": results, "paired": tests, "table": md})


if __name__ == "__main__":
    main()
