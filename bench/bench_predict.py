"""Benchmark `skellm predict`: throughput (files/s) and first-result latency, cold and warm.

cold: a new `skellm predict --json` process per run (imports, model loading, then the files), timed
from launch to its first output line and to its exit. warm: one Predictor reused (what a service or a
notebook does). Side by side, the same files one at a time (batch size 1, the naive loop) against
batches, and cold against warm, as ratios.

Uses the repo's artefacts when `dvc repro` produced them (models/lora_recognize) and data/raw files;
otherwise a tiny repo (random tiny encoder and adapter) over either a 2-layer LLaMA (default) or the
packaged SmolLM2-135M base (--smollm2), on files of every format.
Usage: python bench/bench_predict.py [--files 32] [--batch-size 8] [--smollm2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def _tiny_repo(work: Path, smollm2: bool) -> Path:
    from tinymodels import extract_tokenizer, make_tiny_repo, write_tiny_llm

    if smollm2:
        from skellm.llm.prepare import prepare_llm

        llm = prepare_llm(work / "smollm2")
    else:
        llm = write_tiny_llm(work / "tiny_llm", extract_tokenizer(work / "tokenizer"))
    return make_tiny_repo(work / "repo", llm, work / "samples")


def _files(repo: Path, n: int, real: bool) -> list[str]:
    if real:
        found = sorted(p for p in (repo / "data/raw").rglob("*") if p.suffix in (".bvh", ".mvnx", ".txt"))
        found = [p for p in found if p.parent.name != "raw"]
    else:
        from tinymodels import sample_files

        found = list(sample_files(repo.parent / "samples").values())
    if not found:
        raise SystemExit(f"no mocap files under {repo}")
    return [str(found[i % len(found)]) for i in range(n)]


def cold(repo: Path, files: list[str], batch: int) -> dict[str, float]:
    """One new `skellm predict` process: seconds to its first result line and to exit."""
    cmd = [sys.executable, "-m", "skellm.apps.cli", "predict", "--json", "--batch-size", str(batch), *files]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    t_first = time.perf_counter() - t0
    rest = proc.stdout.read()
    err = proc.stderr.read()
    if proc.wait() != 0 or not first:
        raise SystemExit(f"skellm predict failed: {err.strip().splitlines()[-1:]}")
    total = time.perf_counter() - t0
    assert len([first] + rest.splitlines()) == len(files)
    return {"first_result_s": t_first, "total_s": total, "files_per_s": len(files) / total}


def warm(predictor, files: list[str], batch: int) -> dict[str, float]:
    """A loaded Predictor: seconds to the first result and files/s over all of them."""
    t0 = time.perf_counter()
    t_first = None
    n = 0
    for _, _result, error in predictor.predict_files(files, batch_size=batch):
        if error is not None:
            raise SystemExit(error)
        n += 1
        if t_first is None:
            t_first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    return {"first_result_s": t_first, "total_s": total, "files_per_s": n / total}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--smollm2", action="store_true", help="tiny repo over the packaged SmolLM2-135M base")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    import torch

    from skellm.apps.predict import Predictor, repo_artefacts

    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the cold subprocesses
    real = (ROOT / "models/lora_recognize/skeleton_lm.json").is_file()
    work = Path(tempfile.mkdtemp(prefix="bench_predict."))
    try:
        repo = ROOT if real else _tiny_repo(work, args.smollm2)
        files = _files(repo, args.files, real)
        t0 = time.perf_counter()
        predictor = Predictor(repo_artefacts(repo))
        load_s = time.perf_counter() - t0
        warm(predictor, files[:2], args.batch_size)  # first-call allocations
        res = {
            "artefacts": "repo" if real else ("tiny encoder + SmolLM2-135M" if args.smollm2 else "tiny"),
            "files": len(files),
            "batch_size": args.batch_size,
            "threads": args.threads,
            "max_new_tokens": predictor.max_new_tokens,
            "load_s": load_s,
            "warm": warm(predictor, files, args.batch_size),
            "warm_batch1": warm(predictor, files, 1),
            "cold": cold(repo, files, args.batch_size),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["ratio_warm_vs_batch1_files_per_s"] = res["warm"]["files_per_s"] / res["warm_batch1"]["files_per_s"]
    res["ratio_cold_vs_warm_first_result"] = res["cold"]["first_result_s"] / res["warm"]["first_result_s"]
    print(
        f"artefacts: {res['artefacts']}, {res['files']} files, batch {res['batch_size']}, "
        f"{args.threads} threads"
    )
    print(f"{'':14s}{'files/s':>10s}{'first result s':>16s}{'total s':>10s}")
    for k in ("cold", "warm", "warm_batch1"):
        r = res[k]
        print(f"{k:14s}{r['files_per_s']:10.2f}{r['first_result_s']:16.3f}{r['total_s']:10.2f}")
    print(f"batched/batch-1 throughput x{res['ratio_warm_vs_batch1_files_per_s']:.2f}; "
          f"cold/warm first-result latency x{res['ratio_cold_vs_warm_first_result']:.1f}")  # fmt: skip
    out = ROOT / "bench/results/bench_predict.json"
    from skellm.io import write_json

    write_json(out, res)
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
