"""Skeleton rendering speed: skellm's blitted painter against the usual matplotlib ways, same figure size.

Peers, in one run on the same 25-joint take at 480x480:
  replot   - clear the 3D axes and plot every bone again each frame (what most skeleton viewers do)
  redraw   - update line data, then a full ``canvas.draw()`` per frame (FuncAnimation without blit)
  skellm   - update line data, restore the static background, draw only the moving artists
and end to end: GIF and MP4 files written by ``render_animation``. Each figure is given per wall second
and per CPU second of this process (``*_cpu_fps``: steadier on a shared machine; for MP4 it leaves out
the ffmpeg encoder process).

    python bench/render.py [--frames 120]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skellm.apps.render import _Painter, as_motion, render_animation  # noqa: E402
from skellm.io import write_json  # noqa: E402
from skellm.layouts import KINECT_V2  # noqa: E402


def _take(t: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    rest = np.zeros((25, 3))
    for j, p in enumerate(KINECT_V2.parents):  # a plausible upright tree from the bone graph
        if p >= 0:
            rest[j] = rest[p] + [0.1 * rng.standard_normal(), 0.12 if j in (1, 2, 3, 20) else -0.15, 0.0]
    rest[:, 1] -= rest[:, 1].min()
    wave = np.sin(np.linspace(0, 4 * np.pi, t))[:, None, None]
    return (rest[None] + 0.05 * wave * rng.standard_normal((1, 25, 3))).astype(np.float32)


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _rates(n: int, t0: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = (b - a for a, b in zip(t0, _clock(), strict=True))
    return n / wall, n / cpu


def _replot(pos: np.ndarray, parents: list[int], size: int) -> tuple[float, float]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size / 100, size / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot(projection="3d")
    t0 = _clock()
    for p in pos:
        ax.cla()
        ax.set_axis_off()
        ax.set_box_aspect((1, 1, 1))
        for c, par in enumerate(parents):
            if par >= 0:
                ax.plot(*np.stack([p[c], p[par]]).T, color="k")
        ax.scatter(*p.T, s=4)
        canvas.draw()
        np.asarray(canvas.buffer_rgba())[..., :3].copy()
    return _rates(len(pos), t0)


def _painter_fps(m, size: int, blit: bool) -> tuple[float, float]:
    painter = _Painter(m, size, None, "bench")
    t0 = _clock()
    for i in range(m.n_frames):
        if blit:
            painter.frame(i)
        else:  # same artists, but the whole figure drawn each frame
            painter.frame(i)
            for a in painter.fig.findobj():
                if a.get_animated():
                    a.set_animated(False)
            painter.canvas.draw()
            np.asarray(painter.canvas.buffer_rgba())[..., :3].copy()
    return _rates(m.n_frames, t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--size", type=int, default=480)
    args = ap.parse_args()
    pos = _take(args.frames)
    m = as_motion(pos, KINECT_V2.parents, fps=25.0, joint_names=KINECT_V2.joint_names)
    res = {"frames": args.frames, "size": args.size, "joints": 25}
    res["replot_fps"], res["replot_cpu_fps"] = _replot(pos, list(KINECT_V2.parents), args.size)
    res["redraw_fps"], res["redraw_cpu_fps"] = _painter_fps(m, args.size, blit=False)
    res["skellm_fps"], res["skellm_cpu_fps"] = _painter_fps(m, args.size, blit=True)
    out = Path("bench/results")
    for ext in ("gif", "mp4"):
        t0 = _clock()
        info = render_animation(m, out / f"render_bench.{ext}", fps=25, max_frames=None, size=args.size)
        res[f"{ext}_end_to_end_fps"], res[f"{ext}_end_to_end_cpu_fps"] = _rates(info.n_frames, t0)
        (out / f"render_bench.{ext}").unlink()
    for peer in ("replot", "redraw"):
        res[f"speedup_vs_{peer}"] = res["skellm_fps"] / res[f"{peer}_fps"]
        res[f"cpu_speedup_vs_{peer}"] = res["skellm_cpu_fps"] / res[f"{peer}_cpu_fps"]
    for k, v in res.items():
        print(f"{k:>22}: {v:.4g}" if isinstance(v, float) else f"{k:>22}: {v}")
    write_json(out / "render.json", res)


if __name__ == "__main__":
    main()
