"""Cost against corpus size: every stage of `dvc repro` timed at several corpus sizes, and the fit
that extrapolates each stage to the paper size.

Each size is a fresh `git clone` of this repo in a temporary folder with ``data.synth.size`` set to
the default corpus sizes times a scale (``{A: 500 s, B: 420 s, C: 280 s, D: 390 s}``), all other
params as committed. Stages run one by one in `dvc repro`'s own order (`dvc repro -s STAGE`), each
timed on the wall clock, so a number is what that stage costs a user at that size. Per stage, a
least-squares line seconds = a + b x takes is fitted over the sizes and evaluated at the paper size
(data.synth.size: paper); LoRA steps are fixed by params, so their stages fit as a constant plus
the per-take parts (the label-score statistics, token loading).

Usage:
  python scripts/cost_by_size.py --scale 0.125 --scale 0.25 --scale 0.5 -o metrics/ablations/cost_by_size.json
  python scripts/cost_by_size.py --scale 0.5 --add-to metrics/ablations/cost_by_size.json   # one more size
Each run records the commit it timed (``--add-to`` keeps earlier runs, which may be older commits).
Run it on an idle machine: the timings are the measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sizes_at(scale: float) -> dict[str, int]:
    """The default corpus sizes times ``scale`` (at least 3 takes: D writes 3 cameras a performance)."""
    from skellm.synth.corpora import SIZES

    return {c: max(3, round(n * scale)) for c, n in SIZES["default"].items()}


def stage_order(repo: Path, env: dict[str, str]) -> list[str]:
    """The stages `dvc repro` would run, in its order."""
    out = subprocess.run(
        ["dvc", "repro", "--dry", "--force"], cwd=repo, env=env, capture_output=True, text=True, check=True
    ).stdout
    return re.findall(r"Running stage '([^']+)'", out)


def time_stages(scale: float, workdir: Path) -> dict[str, Any]:
    """Clone, set the size, run every stage once; seconds per stage and the corpus's take counts."""
    repo = workdir / f"scale-{scale}"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["data"]["synth"]["size"] = sizes_at(scale)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    venv_bin = str(Path(sys.executable).parent)
    # the clone's own package first: the editable install points at this checkout
    env = {**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}", "PYTHONPATH": str(repo)}
    seconds: dict[str, float] = {}
    for stage in stage_order(repo, env):
        t0 = time.perf_counter()
        subprocess.run(["dvc", "repro", "-s", stage], cwd=repo, env=env, check=True, capture_output=True)
        seconds[stage] = round(time.perf_counter() - t0, 1)
        print(f"scale {scale}: {stage} {seconds[stage]:.1f} s", flush=True)
    data = json.loads((repo / "metrics/data.json").read_text())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True)
    shutil.rmtree(repo, ignore_errors=True)
    return {
        "scale": scale,
        "sizes": sizes_at(scale),
        "takes": data["takes"]["total"],
        "seconds": seconds,
        "commit": commit.stdout.strip(),
    }


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares intercept and slope of ys on xs (slope 0 from a single point)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    return my - slope * mx, slope


def extrapolate(runs: list[dict[str, Any]], takes: int) -> dict[str, float]:
    """Per stage, the fitted seconds at ``takes`` (never below the largest measured size's)."""
    out = {}
    for stage in runs[-1]["seconds"]:
        xs = [r["takes"] for r in runs if stage in r["seconds"]]
        ys = [r["seconds"][stage] for r in runs if stage in r["seconds"]]
        a, b = fit_line(xs, ys)
        out[stage] = round(max(a + b * takes, max(ys)), 1)
    return out


def table(runs: list[dict[str, Any]], predicted: dict[str, dict[str, float]]) -> str:
    """Markdown: stages as rows, measured sizes and predictions as columns (minutes)."""
    cols = [f"{r['takes']} takes (x{r['scale']})" for r in runs] + [f"{k} (fit)" for k in predicted]
    lines = ["| stage | " + " | ".join(cols) + " |", "|" + " --- |" * (len(cols) + 1)]
    for stage in runs[-1]["seconds"]:
        cells = [f"{r['seconds'].get(stage, 0) / 60:.2f}" for r in runs]
        cells += [f"{p[stage] / 60:.1f}" for p in predicted.values()]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    totals = [f"**{sum(r['seconds'].values()) / 60:.1f}**" for r in runs]
    totals += [f"**{sum(p.values()) / 60:.0f}**" for p in predicted.values()]
    lines.append("| all | " + " | ".join(totals) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from skellm.io import write_json
    from skellm.synth.corpora import SIZES

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, action="append", required=True, help="x default sizes (repeat)")
    ap.add_argument("-o", "--out", type=Path, default=None, help="default: --add-to, else the ablations file")
    ap.add_argument("--add-to", type=Path, help="a JSON this script wrote: keep its runs and add these sizes")
    args = ap.parse_args(argv)
    earlier = json.loads(args.add_to.read_text())["runs"] if args.add_to else []
    out = args.out or args.add_to or ROOT / "metrics/ablations/cost_by_size.json"
    if len({*args.scale, *(r["scale"] for r in earlier)}) < 2:
        raise SystemExit("give at least two sizes (--scale, or --add-to runs): the fit needs two")
    with tempfile.TemporaryDirectory() as tmp:
        new = [time_stages(s, Path(tmp)) for s in sorted(args.scale)]
    runs = sorted([r for r in earlier if r["scale"] not in args.scale] + new, key=lambda r: r["scale"])
    targets = {"default": sum(SIZES["default"].values()), "paper": sum(SIZES["paper"].values())}
    predicted = {f"{name} {n} takes": extrapolate(runs, n) for name, n in targets.items()}
    md = table(runs, predicted)
    print(md)
    write_json(out, {"runs": runs, "predicted": predicted, "table": md, "cpus": os.cpu_count()})


if __name__ == "__main__":
    main()
