"""EAI-LLM, LLM-AR and SUGAR side by side: one `dvc exp run` per method on the same data and split.

Each variant is a set of `-S` overrides of the committed pipeline (the workspace's params.yaml); the
stages it changes re-run in a temporary copy (`dvc exp run --temp`), upstream outputs come from the DVC
cache, so every method reads the same split, text bank and encoder. The first variant with no overrides
is the workspace's own committed metrics. Prints a Markdown table (recognition accuracy per corpus by
generation and by label scoring, generation Error rate, zero-shot on unseen classes, description
ROUGE-L/METEOR, wall-clock of the experiment) and writes every variant's metrics as JSON.

Usage:
  python scripts/compare_methods.py --out metrics/compare/methods.json \\
      --variant eai: --variant llm-ar:llm.tokens=vqvae \\
      --variant sugar:llm.tokens=temporal,llm.projector=tqp,llm.prompt=sugar
A variant is NAME:KEY=VALUE,KEY=VALUE (values parsed as YAML); NAME: alone is the committed run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from ablate_encoder import parse_variant  # noqa: E402

METRICS = ("metrics/llm.json", "metrics/encoder.json", "metrics/vqvae.json")


def _dvc(*args: str) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(["dvc", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"dvc {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def run_variant(
    name: str, sets: dict[str, Any], reuse: bool = False, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Metrics of one variant: the workspace's files (no overrides); when ``reuse``, the run of that
    name and the same overrides in ``previous`` (the last output file), else the experiment of that
    name; otherwise a new `dvc exp run --temp`."""
    if not sets:
        return {"sets": {}, "seconds": None, **{m: _read(ROOT / m) for m in METRICS}}
    if reuse and (old := (previous or {}).get(name)) and old.get("sets") == sets:
        return old
    if reuse and (found := _exp_metrics(name, missing_ok=True)):
        return {"sets": sets, "seconds": None, **found}
    subprocess.run(["dvc", "exp", "remove", name], cwd=ROOT, capture_output=True, check=False)  # a rerun
    args = ["exp", "run", "--temp", "-n", name]
    for key, value in sets.items():
        args += ["-S", f"{key}={json.dumps(value) if not isinstance(value, str) else value}"]
    t0 = time.perf_counter()
    _dvc(*args)
    seconds = time.perf_counter() - t0
    return {"sets": sets, "seconds": round(seconds, 1), **_exp_metrics(name)}


def _read(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _exp_metrics(name: str, missing_ok: bool = False) -> dict[str, Any] | None:
    # every baseline: the workspace may have been committed while the experiment ran
    for commit in json.loads(_dvc("exp", "show", "--json", "-A")):
        for exp in commit.get("experiments") or []:
            if exp.get("name") == name:
                metrics = exp["revs"][0]["data"].get("metrics", {})
                return {m: metrics.get(m, {}).get("data") for m in METRICS}
    if missing_ok:
        return None
    raise SystemExit(f"experiment {name} not found in `dvc exp show`")


def table(runs: dict[str, dict[str, Any]]) -> str:
    """Markdown: one row per variant and recognition mode."""
    scored = [(r["metrics/llm.json"] or {}).get("recognition", {}).get("score", {}) for r in runs.values()]
    corpora = sorted({c for s in scored for c in s} - {"overall"})
    head = ["method", "mode", *corpora, "all", "Error", "unseen top-1 / top-5", "ROUGE-L", "METEOR", "s"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, run in runs.items():
        llm = run["metrics/llm.json"] or {}
        rec, desc = llm.get("recognition", {}), llm.get("description", {})
        unseen = ", ".join(f"{c} {u['top1']:.3f} / {u['top5']:.3f}" for c, u in llm.get("unseen", {}).items())
        for mode in ("generate", "score"):
            acc = [f"{rec[mode][c]['accuracy']:.3f}" for c in (*corpora, "overall")]
            err = f"{rec[mode]['overall']['error_rate']:.3f}"
            extra = [unseen, f"{desc.get('rougeL', 0):.3f}", f"{desc.get('meteor', 0):.3f}"]
            secs = "" if run["seconds"] is None else f"{run['seconds']:.0f}"
            lines.append("| " + " | ".join([name, mode, *acc, err, *extra, secs]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", action="append", required=True, help="NAME:KEY=VALUE,...")
    ap.add_argument("--out", type=Path, default=ROOT / "metrics/compare/methods.json")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="keep the runs of --out with the same name and overrides, collect existing experiments",
    )
    args = ap.parse_args(argv)
    previous = (_read(args.out) or {}).get("runs", {}) if args.reuse else {}
    runs = {}
    for text in args.variant:
        name, sets = parse_variant(text)
        print(f"{name}: {sets or 'the committed run'}", flush=True)
        runs[name] = run_variant(name, sets, args.reuse, previous)
        _write(args.out, args.variant, runs)  # a later variant's failure keeps the finished ones
    _write(args.out, args.variant, runs)


def _write(out: Path, variants: list[str], runs: dict[str, Any]) -> None:
    md = table(runs)
    print(md)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"variants": variants, "runs": runs, "table": md}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
