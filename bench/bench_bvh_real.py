"""BVH reading speed on the real exporters' files (tests/fixtures/real), each tiled to a long take, and
the memory of ingesting a one-hour take. Side by side in one run:

- ``floats``: reading the file and parsing the MOTION block's numbers alone (no hierarchy, no FK): the
  floor any reader pays;
- ``numpy_fk``: those floats plus a plain vectorised forward kinematics (scipy's Euler rotations, one
  joint at a time, every frame at once) written here;
- ``skellm``: ``read_motion`` (decode, hierarchy, frame-count policy, FK, units and up axis);
- ``bvhio`` 1.5.4, the PyPI peer with FK: ``readAsHierarchy`` (timed in full) then ``loadPose`` per
  frame, reading every joint's world position (timed on the first 300 frames and scaled: it is slow).

Prints frames/s and the ratios skellm/numpy_fk, floats/skellm and skellm/bvhio, writes
bench/results/bench_bvh_real.json. ``--hour`` adds the peak RSS of ``skellm ingest`` on a 60-minute
120 Hz take of the CMU rig, against the size of the positions it holds.

Run: OMP_NUM_THREADS=1 .venv/bin/python bench/bench_bvh_real.py [--frames 6000] [--hour]
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation
from timing import best

from skellm.io import write_json
from skellm.readers import read_motion
from skellm.readers.bvh import _parse_hierarchy

REAL = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "real"


def tile(src: Path, dst: Path, frames: int) -> None:
    """``src`` with its frame lines repeated to ``frames`` frames (the header's count set to match)."""
    text = src.read_bytes().decode("ascii").replace("\r\n", "\n")
    head, _, body = text.partition("Frame Time:")
    time_line, _, data = body.partition("\n")
    lines = [ln for ln in data.split("\n") if ln.strip()]
    reps = -(-frames // len(lines))
    out = (lines * reps)[:frames]
    head = re.sub(r"Frames:\s*\d+", f"Frames: {frames}", head)
    dst.write_text(head + "Frame Time:" + time_line + "\n" + "\n".join(out) + "\n")


def floats_only(path: Path) -> np.ndarray:
    text = path.read_text()
    body = text.split("Frame Time:", 1)[1].split("\n", 1)[1]
    return np.array(body.split(), dtype=np.float64)


def numpy_fk(path: Path) -> np.ndarray:
    """Plain vectorised FK: parse, then per joint (in file order) local rotation x parent world."""
    text = path.read_text()
    head = text.split("MOTION", 1)[0]
    joints = _parse_hierarchy(path, head)
    n_chan = sum(len(j.channels) for j in joints)
    data = floats_only(path).reshape(-1, n_chan)
    n = data.shape[0]
    world_r = [None] * len(joints)
    world_t = np.zeros((n, len(joints), 3))
    col = 0
    for k, j in enumerate(joints):
        local_t = np.broadcast_to(j.offset, (n, 3)).copy()
        axes, cols = "", []
        for c in j.channels:
            if c.lower().endswith("position"):
                local_t[:, "xyz".index(c[0].lower())] = data[:, col]
            else:
                axes += c[0].upper()
                cols.append(col)
            col += 1
        rot = Rotation.from_euler(axes, data[:, cols], degrees=True) if axes else Rotation.identity(n)
        if j.parent < 0:
            world_r[k], world_t[:, k] = rot, local_t
        else:
            world_t[:, k] = world_t[:, j.parent] + world_r[j.parent].apply(local_t)
            world_r[k] = world_r[j.parent] * rot
    return world_t


def bvhio_seconds(path: Path, frames: int, sample: int) -> float:
    """bvhio's time for the whole take: its parse, plus world positions of ``sample`` frames scaled."""
    import bvhio

    t0 = time.perf_counter()
    root = bvhio.readAsHierarchy(str(path))
    t_parse = time.perf_counter() - t0
    layout = [j for j, _, _ in root.layout()]
    out = np.zeros((sample, len(layout), 3))
    t0 = time.perf_counter()
    for f in range(sample):
        root.loadPose(f)
        for k, j in enumerate(layout):
            p = j.PositionWorld
            out[f, k] = (p.x, p.y, p.z)
    return t_parse + (time.perf_counter() - t0) * frames / sample


def read(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_motion(path)


def speed(frames: int, peer_frames: int = 300) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for src in sorted(REAL.glob("*.bvh")):
            path = Path(d) / src.name
            tile(src, path, frames)
            m = read(path)
            ref = numpy_fk(path)  # every joint and End Site, in file order as the reader gives them
            assert np.allclose(m.positions, ref, atol=1e-4 * np.abs(ref).max()), src.name
            t_floats = best(lambda p=path: floats_only(p))
            t_numpy = best(lambda p=path: numpy_fk(p))
            t_skellm = best(lambda p=path: read(p))
            t_peer = bvhio_seconds(path, frames, peer_frames)
            rows.append(
                {
                    "file": src.name,
                    "frames": frames,
                    "joints": m.n_joints,
                    "size_mb": round(path.stat().st_size / 1e6, 2),
                    "fps_floats_only": round(frames / t_floats),
                    "fps_numpy_fk": round(frames / t_numpy),
                    "fps_skellm": round(frames / t_skellm),
                    "fps_bvhio": round(frames / t_peer, 1),
                    "skellm_vs_numpy_fk": round(t_numpy / t_skellm, 2),
                    "floats_vs_skellm": round(t_skellm / t_floats, 2),
                    "skellm_vs_bvhio": round(t_peer / t_skellm),
                }
            )
            print(rows[-1], flush=True)
    return rows


def hour(tmp: Path) -> dict:
    """Peak RSS of ``skellm ingest`` on a 60-minute 120 Hz CMU take, beside its positions' size."""
    frames = 60 * 60 * 120
    path = tmp / "hour.bvh"
    tile(REAL / "cmu_cgspeed_01_01.bvh", path, frames)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "skellm.apps.cli", "ingest", str(path), "-o", str(tmp / "hour.parquet")]
    subprocess.run(cmd + ["--workers", "1"], check=True, capture_output=True)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    positions_mb = frames * read(REAL / "cmu_cgspeed_01_01.bvh").n_joints * 3 * 4 / 1e6
    row = {
        "frames": frames,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "positions_float32_mb": round(positions_mb, 1),
        "ingest_peak_rss_mb": round(peak_mb, 1),
        "peak_over_positions": round(peak_mb / positions_mb, 2),
        "ingest_seconds": round(seconds, 1),
        "parquet_mb": round((tmp / "hour.parquet").stat().st_size / 1e6, 1),
        "rss_before_mb": round(before / 1024, 1),
    }
    print(row, flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=6000, help="frames per tiled take")
    ap.add_argument("--hour", action="store_true", help="also ingest a one-hour take and report peak memory")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "bench_bvh_real.json")
    args = ap.parse_args()
    result: dict = {"peers": "numpy+scipy FK written here; bvhio==1.5.4", "speed": speed(args.frames)}
    if args.hour:
        with tempfile.TemporaryDirectory() as d:
            result["hour"] = hour(Path(d))
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
