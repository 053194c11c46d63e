"""Benchmark the skeleton encoder: training takes/s and per-take inference latency, eager vs torch.compile.

For each backbone (CTR-GCN and the plain ST-GCN peer) at the params.yaml width, on random 64-frame
takes with ``--joints`` joints: one SGD training step per batch (forward, loss, backward, update),
and batch-1 inference. FLOPs per take come from torch.utils.flop_counter; dividing by the measured
time and by this machine's float32 matmul rate (a 1024^3 matmul loop at the same thread count) says
how close the encoder runs to the limit. Writes bench/results/bench_encoder.json.
Usage: python bench/bench_encoder.py [--threads 2] [--joints 25 72] [--steps 6] [--no-compile]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _median_time(fn, reps: int) -> float:
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2]


def matmul_gflops(reps: int = 10, n: int = 1024) -> float:
    """Measured float32 matmul rate (GFLOP/s) at the current thread count."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    return 2 * n**3 / _median_time(lambda: a @ b, reps) / 1e9


def _inputs(batch: int, joints: int, frames: int = 64):
    import numpy as np
    import torch

    from skellm.encoder.graph import spatial_partitions

    parents = [-1] + [(j - 1) // 2 for j in range(1, joints)]  # a binary-tree rig of the right size
    adj = torch.from_numpy(np.repeat(spatial_partitions(parents)[None], batch, 0))
    g = torch.Generator().manual_seed(0)
    return (
        torch.randn(batch, 3, frames, joints, generator=g),
        adj,
        torch.ones(batch, joints, dtype=torch.bool),
        torch.ones(batch, frames, dtype=torch.bool),
    )


def bench_one(cfg: dict, joints: int, batch: int, steps: int, compile_: bool) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from skellm.encoder import SkeletonEncoder
    from skellm.encoder.losses import pretrain_loss

    torch.manual_seed(0)
    model = SkeletonEncoder(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    fwd = torch.compile(model) if compile_ else model
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    xb = _inputs(batch, joints)
    y = torch.arange(batch) % cfg["n_classes"]
    text = torch.randn(cfg["n_classes"], cfg["text_dim"])

    def train_step():
        tok = fwd(*xb)
        loss = pretrain_loss("se", tok, y, model.text_proj(text[y]), model.logit_scale)["loss"]
        loss.backward()
        opt.step()
        opt.zero_grad()

    t0 = time.perf_counter()
    train_step()  # warm-up (and compilation)
    first = time.perf_counter() - t0
    step_s = _median_time(train_step, steps)
    model.eval()
    x1 = _inputs(1, joints)
    with torch.inference_mode():
        fwd(*x1)
        fwd(*x1)
        infer_s = _median_time(lambda: fwd(*x1), max(5, steps))
    with FlopCounterMode(display=False) as fc:
        model(*x1)
    fwd_flops = fc.get_total_flops()
    model.train()
    with FlopCounterMode(display=False) as fc:
        train_step()
    train_flops = fc.get_total_flops() / batch
    return {
        "params": n_params,
        "first_step_s": round(first, 2),
        "train_step_s": round(step_s, 4),
        "train_takes_per_s": round(batch / step_s, 2),
        "infer_ms_per_take": round(infer_s * 1e3, 2),
        "fwd_gflop_per_take": round(fwd_flops / 1e9, 4),
        "train_gflop_per_take": round(train_flops / 1e9, 4),
        "train_gflops_achieved": round(train_flops * batch / step_s / 1e9, 2),
        "infer_gflops_achieved": round(fwd_flops / infer_s / 1e9, 2),
    }


def main(argv: list[str] | None = None) -> int:
    from dataclasses import replace

    import torch

    from skellm.config import load_config
    from skellm.encoder.train import model_config
    from skellm.io import write_json

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--joints", type=int, nargs="+", default=[25, 72])
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--base-channels", type=int, default=None)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench/results/bench_encoder.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    enc = load_config(ROOT / "params.yaml").encoder
    if args.base_channels:
        enc = replace(enc, base_channels=args.base_channels)
    batch = args.batch or enc.batch_size
    peak = matmul_gflops()
    print(f"fp32 matmul: {peak:.1f} GFLOP/s on {args.threads} threads")
    rows = []
    for model in ("ctrgcn", "stgcn"):
        cfg = model_config(replace(enc, model=model), n_classes=15, text_dim=384)
        for joints in args.joints:
            for mode in ("eager", "compile")[: 1 if args.no_compile else 2]:
                r = bench_one(cfg, joints, batch, args.steps, mode == "compile")
                r.update(model=model, joints=joints, mode=mode, batch=batch)
                r["train_fraction_of_matmul_peak"] = round(r["train_gflops_achieved"] / peak, 3)
                r["infer_fraction_of_matmul_peak"] = round(r["infer_gflops_achieved"] / peak, 3)
                rows.append(r)
                partial = {"threads": args.threads, "matmul_gflops": round(peak, 2), "results": rows}
                write_json(args.out, partial)  # kept if a later (compile) row times out
                print(
                    f"{model:6s} J={joints:3d} {mode:7s} train {r['train_takes_per_s']:7.2f} takes/s "
                    f"infer {r['infer_ms_per_take']:7.2f} ms/take "
                    f"{r['train_gflop_per_take']:.3f} GFLOP/take "
                    f"({r['train_fraction_of_matmul_peak']:.1%} of matmul peak)"
                )
    ratios = {}
    for r in rows:
        if r["mode"] == "compile":
            e = next(
                x
                for x in rows
                if x["mode"] == "eager" and x["model"] == r["model"] and x["joints"] == r["joints"]
            )
            key = f"{r['model']}_J{r['joints']}"
            ratios[key + "_compile_over_eager_train"] = round(
                r["train_takes_per_s"] / e["train_takes_per_s"], 3
            )
            ratios[key + "_eager_over_compile_latency"] = round(
                e["infer_ms_per_take"] / r["infer_ms_per_take"], 3
            )
    for j in args.joints:
        c = next(x for x in rows if x["model"] == "ctrgcn" and x["joints"] == j and x["mode"] == "eager")
        s = next(x for x in rows if x["model"] == "stgcn" and x["joints"] == j and x["mode"] == "eager")
        ratios[f"J{j}_ctrgcn_over_stgcn_train_time"] = round(
            s["train_takes_per_s"] / c["train_takes_per_s"], 3
        )
    for k, v in ratios.items():
        print(f"{k}: {v}")
    write_json(
        args.out,
        {
            "threads": args.threads,
            "torch": torch.__version__,
            "encoder": {k: enc.get(k) for k in ("base_channels", "stage_blocks", "token_dim")},
            "matmul_gflops": round(peak, 2),
            "results": rows,
            "ratios": ratios,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
