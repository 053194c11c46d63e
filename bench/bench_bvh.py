"""BVH parse + forward-kinematics throughput (frames/s): skellm against PyPI ``bvh`` 0.3, same files.

``bvh`` parses but has no forward kinematics, so it is timed parse-only (hierarchy + every channel of
every frame as floats); skellm is timed parse-only and parse + FK (world positions of all joints).
Run: .venv/bin/python bench/bench_bvh.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from bvh import Bvh
from timing import best

from skellm.io import write_json
from skellm.layouts import PERCEPTION_NEURON, XSENS23
from skellm.readers.bvh import _parse_hierarchy, read_bvh, write_bvh


def _make(path: Path, layout, fps: float, n_frames: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = layout.n_joints
    off = rng.normal(scale=8.0, size=(n, 3))
    t = np.arange(n_frames)[:, None, None] / fps
    rot = 20 * np.sin(2 * np.pi * 0.8 * t + rng.uniform(0, 6, (1, n, 3))) + rng.normal(
        scale=0.5, size=(n_frames, n, 3)
    )
    trans = np.c_[
        np.linspace(0, 300, n_frames), 95 + 2 * np.sin(np.arange(n_frames) / 20), np.zeros(n_frames)
    ]
    write_bvh(
        path,
        list(layout.joint_names),
        list(layout.parents),
        off,
        rot,
        trans,
        fps,
        "ZXY",
        {j: np.array([0, 5.0, 0]) for j in range(n) if j not in layout.parents},
    )


def _skellm_parse(path: Path) -> np.ndarray:
    text = path.read_text()
    head, _, motion = text.partition("MOTION")
    _parse_hierarchy(path, head)
    body = motion.split("Frame Time:")[1].split("\n", 1)[1]
    return np.array(body.split(), dtype=np.float64)


def _bvh_parse(path: Path) -> np.ndarray:
    mocap = Bvh(path.read_text())
    mocap.get_joints_names()
    return np.array(mocap.frames, dtype=np.float64)


def main() -> None:
    results = []
    with tempfile.TemporaryDirectory() as d:
        files = [
            (Path(d) / "neuron59_125hz.bvh", PERCEPTION_NEURON, 125.0, 3000),
            (Path(d) / "xsens23_120hz.bvh", XSENS23, 120.0, 3000),
        ]
        for path, layout, fps, n_frames in files:
            _make(path, layout, fps, n_frames, seed=len(results))
            m = read_bvh(path)
            assert m.n_frames == n_frames
            ref = _bvh_parse(path)
            assert np.allclose(ref, _skellm_parse(path).reshape(ref.shape))  # same numbers parsed
            t_full = best(lambda p=path: read_bvh(p))
            t_parse = best(lambda p=path: _skellm_parse(p))
            t_peer = best(lambda p=path: _bvh_parse(p), repeats=1)
            row = {
                "file": path.name,
                "frames": n_frames,
                "joints_with_end_sites": m.n_joints,
                "size_mb": round(path.stat().st_size / 1e6, 2),
                "skellm_parse_fk_fps": round(n_frames / t_full),
                "skellm_parse_only_fps": round(n_frames / t_parse),
                "bvh0.3_parse_only_fps": round(n_frames / t_peer),
                "ratio_parse_only": round(t_peer / t_parse, 1),
                "ratio_skellm_parse_fk_vs_bvh_parse_only": round(t_peer / t_full, 1),
            }
            results.append(row)
            print(row)
    out = Path(__file__).parent / "results" / "bench_bvh.json"
    write_json(out, {"peer": "bvh==0.3 (parse only; it has no forward kinematics)", "results": results})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
