"""Take-table Parquet throughput: skellm's layout against default pyarrow and polars on the same table.

Prints write/read takes/s and MB/s (MB of raw float32 positions), file sizes and ratios, and writes
bench/results/bench_parquet.json. The table holds smooth mocap-like motion (a BVH-rate walker per
take, 6-decimal values as BVH files store them), so byte-stream-split sees realistic floats.

    python bench/bench_parquet.py [--takes 200] [--frames 600] [--joints 28] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
from timing import best

from skellm.data.table import read_takes, rows_to_table, take_row, write_takes
from skellm.io import write_json


def make_table(n_takes: int, frames: int, joints: int, seed: int = 0):
    """A take table of smooth random motion around a standing body, in cm."""
    rng = np.random.default_rng(seed)
    rest = rng.uniform(-30, 30, (1, joints, 3)) + np.array([0.0, 100.0, 0.0])
    rows = []
    for i in range(n_takes):
        drift = np.cumsum(rng.normal(0, 0.3, (frames, 1, 3)), axis=0)
        wiggle = np.cumsum(rng.normal(0, 0.2, (frames, joints, 3)), axis=0) * 0.2
        pos = np.round(rest + drift + wiggle, 6).astype(np.float32)
        rows.append(
            take_row(
                pos,
                take_id=f"A/S{i % 11:02d}_walk_joy_T{i:04d}",
                corpus="A",
                source_path=f"data/raw/A/S{i % 11:02d}_walk_joy_T{i:04d}.bvh",
                source_sha256=f"{rng.integers(1 << 62):064x}",
                format="bvh",
                layout="xsens_bvh",
                subject=f"S{i % 11:02d}",
                emotion=["joy", "anger", "sadness", "fear"][i % 4],
                action="walk",
                intensity=float(rng.uniform()),
                fps=120.0,
                joint_names=[f"joint{j}" for j in range(joints)],
                parents=[-1] + list(range(joints - 1)),
                units="cm",
                up_axis="y",
            )
        )
    return rows_to_table(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--takes", type=int, default=200)
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--joints", type=int, default=28)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="bench/results/bench_parquet.json")
    args = ap.parse_args(argv)

    table = make_table(args.takes, args.frames, args.joints)
    raw_mb = args.takes * args.frames * args.joints * 3 * 4 / 1e6
    df = pl.from_arrow(table)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            k: os.path.join(tmp, f"{k}.parquet") for k in ("skellm", "pyarrow_default", "polars_default")
        }
        writers = {
            "skellm": lambda: write_takes(table, files["skellm"]),
            "pyarrow_default": lambda: pq.write_table(table, files["pyarrow_default"]),
            "polars_default": lambda: df.write_parquet(files["polars_default"]),
        }
        readers = {
            "skellm": lambda: read_takes(files["skellm"]),
            "pyarrow_default": lambda: pq.read_table(files["pyarrow_default"]),
            "polars_default": lambda: pl.read_parquet(files["polars_default"]),
        }
        for name in writers:
            w = best(writers[name], args.repeat)
            r = best(readers[name], args.repeat)
            size = Path(files[name]).stat().st_size / 1e6
            results[name] = {
                "write_s": w,
                "read_s": r,
                "write_takes_per_s": args.takes / w,
                "read_takes_per_s": args.takes / r,
                "write_mb_per_s": raw_mb / w,
                "read_mb_per_s": raw_mb / r,
                "file_mb": size,
                "compression_ratio": raw_mb / size,
            }
        # random access: 5 takes by id, through row-group statistics on take_id
        ids = table.column("take_id").to_pylist()[:: max(1, args.takes // 5)][:5]
        for name in ("skellm", "pyarrow_default"):
            results[name]["lookup_5_takes_s"] = best(
                lambda name=name: pq.read_table(files[name], filters=[("take_id", "in", ids)]), args.repeat
            )
    s = results["skellm"]
    ratios = {
        f"{peer}": {
            "write_speed": s["write_takes_per_s"] / results[peer]["write_takes_per_s"],
            "read_speed": s["read_takes_per_s"] / results[peer]["read_takes_per_s"],
            "file_size": s["file_mb"] / results[peer]["file_mb"],
        }
        for peer in ("pyarrow_default", "polars_default")
    }
    report = {
        "table": {
            "takes": args.takes,
            "frames": args.frames,
            "joints": args.joints,
            "raw_positions_mb": raw_mb,
        },
        "results": results,
        "skellm_vs_peer": ratios,
    }
    print(
        f"take table: {args.takes} takes x {args.frames} frames x {args.joints} joints"
        f" = {raw_mb:.1f} MB positions"
    )
    print(
        f"{'layout':18s} {'write take/s':>12s} {'write MB/s':>10s} {'read take/s':>11s}"
        f" {'read MB/s':>9s} {'file MB':>8s}"
    )
    for name, r in results.items():
        print(
            f"{name:18s} {r['write_takes_per_s']:12.0f} {r['write_mb_per_s']:10.1f}"
            f" {r['read_takes_per_s']:11.0f} {r['read_mb_per_s']:9.1f} {r['file_mb']:8.2f}"
        )
    for peer, r in ratios.items():
        print(
            f"skellm / {peer}: write speed x{r['write_speed']:.2f}, read speed x{r['read_speed']:.2f}, "
            f"file size x{r['file_size']:.2f}"
        )
    print(
        f"lookup of 5 takes by id: skellm {results['skellm']['lookup_5_takes_s'] * 1e3:.1f} ms,"
        f" pyarrow default {results['pyarrow_default']['lookup_5_takes_s'] * 1e3:.1f} ms"
    )
    write_json(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
