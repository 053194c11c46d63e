"""Skeleton rendering: 3D stick-figure frames, GIF/MP4 animations and contact-sheet PNGs.

Everything is drawn from the motion's bone graph (``parents``) with matplotlib's Agg canvas. The
figure is built once per take; each frame restores the static background and redraws only the
moving artists (blitting), so rendering costs a few milliseconds per frame.

Frame count: an animation plays at ``fps`` (default ``min(source fps, 25)``) in real time, so it has
``round(n_frames * fps / source_fps)`` frames sampled evenly over the take. When that exceeds
``max_frames`` (default 300) the take is sampled down to ``max_frames`` frames and the playback rate
is lowered to ``max_frames / duration`` so the animation still lasts as long as the take.

Inputs: a :class:`~skellm.readers.base.Motion`, a take-table row (a mapping with the columns of
docs/contracts.md, e.g. harmonized takes: metres, Y up), or a raw ``(T, J, 3)`` array with
``parents`` (or a joint count that matches one declared layout).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skellm.readers.base import Motion

DEFAULT_SIZE = 480
DEFAULT_FPS = 25.0
DEFAULT_MAX_FRAMES = 300
DEFAULT_KEYFRAMES = 5
GRID_CELL = 240

_DPI = 100
_ELEV = 12.0
_LEFT, _RIGHT, _CENTRE = "#1f77b4", "#e8710a", "#303030"
_LOST = "#d62728"
_SHADOW, _GROUND = "#d0d0d0", "#e4e4e4"

MotionLike = Motion | Mapping[str, Any] | np.ndarray


@dataclass(frozen=True)
class RenderInfo:
    """What :func:`render_animation` wrote."""

    path: Path
    n_frames: int
    fps: float
    width: int
    height: int


# ----------------------------------------------------------------------------- inputs


def as_motion(
    obj: MotionLike,
    parents: Sequence[int] | None = None,
    *,
    fps: float | None = None,
    joint_names: Sequence[str] | None = None,
    up_axis: str = "y",
    tracked: np.ndarray | None = None,
) -> Motion:
    """Turn a Motion, a take-table row or a ``(T, J, 3)`` array into a Motion for rendering.

    A raw array needs ``parents`` unless its joint count matches exactly one declared layout.
    """
    if isinstance(obj, Motion):
        return obj
    if isinstance(obj, Mapping):
        return _motion_from_row(obj)
    pos = np.asarray(obj, dtype=np.float32)
    if pos.ndim == 2 and pos.shape[1] == 3:
        pos = pos[None]
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise ValueError(f"positions must have shape (frames, joints, 3), got {pos.shape}")
    names = list(joint_names) if joint_names is not None else None
    if parents is None:
        from skellm.layouts import LAYOUTS

        fits = [lay for lay in LAYOUTS.values() if lay.n_joints == pos.shape[1]]
        if names is not None:
            fits = [lay for lay in fits if list(lay.joint_names) == names]
        if len(fits) != 1:
            raise ValueError(f"{pos.shape[1]} joints: pass parents (no single layout has that many joints)")
        parents, names = fits[0].parents, names or list(fits[0].joint_names)
    if names is None:
        names = [f"j{i}" for i in range(pos.shape[1])]
    return Motion(
        positions=pos,
        joint_names=names,
        parents=[int(p) for p in parents],
        fps=float(fps or 30.0),
        source_path="<array>",
        fmt="array",
        up_axis=up_axis,
        tracked=tracked,
    )


def _motion_from_row(row: Mapping[str, Any]) -> Motion:
    from skellm.data.table import row_positions

    pos = row_positions(row)
    tracked = row.get("tracked")
    return Motion(
        positions=pos,
        joint_names=list(row["joint_names"]),
        parents=[int(p) for p in row["parents"]],
        fps=float(row["fps"]),
        source_path=str(row.get("source_path") or row.get("take_id") or "<row>"),
        fmt=str(row.get("format") or "table"),
        units=str(row.get("units") or "unknown"),
        up_axis=str(row.get("up_axis") or "y"),
        tracked=None if tracked is None else np.asarray(tracked, dtype=bool).reshape(pos.shape[:2]),
    )


def frame_plan(
    n_frames: int, src_fps: float, fps: float | None = None, max_frames: int | None = DEFAULT_MAX_FRAMES
) -> tuple[np.ndarray, float]:
    """Source frame indices to draw and the playback rate (see the module docstring)."""
    if n_frames < 1:
        raise ValueError("motion has no frames")
    out_fps = float(fps) if fps else min(float(src_fps), DEFAULT_FPS)
    if out_fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    n = max(1, round(n_frames * out_fps / src_fps))
    if max_frames and n > max_frames:
        n = int(max_frames)
        out_fps = n / (n_frames / src_fps)
    return np.linspace(0, n_frames - 1, n).round().astype(np.int64), out_fps


# ----------------------------------------------------------------------------- scene geometry


def _side(name: str) -> int:
    """-1 left, +1 right, 0 centre, from the joint name conventions of the known rigs."""
    low = name.lower()
    if "left" in low or low.startswith("l_") or re.match(r"^L[A-Z]", name):
        return -1
    if "right" in low or low.startswith("r_") or re.match(r"^R[A-Z]", name):
        return 1
    return 0


def _to_display(pos: np.ndarray, up_axis: str) -> np.ndarray:
    """File axes to matplotlib's Z-up axes (right-handed: Y-up (x, y, z) -> (x, -z, y))."""
    up = up_axis.lower()
    if up == "z":
        return pos.astype(np.float64)
    if up == "y":
        return np.stack([pos[..., 0], -pos[..., 2], pos[..., 1]], axis=-1).astype(np.float64)
    raise ValueError(f"up axis must be 'y' or 'z', got {up_axis!r}")


def _fill_nan(a: np.ndarray) -> np.ndarray:
    """Fill NaN rows of a (T, k) series with the nearest valid row (forward, then backward)."""
    ok = np.isfinite(a).all(axis=1)
    idx = np.where(ok, np.arange(len(a)), 0)
    np.maximum.accumulate(idx, out=idx)
    first = int(np.argmax(ok))
    idx[: first + 1] = np.maximum(idx[: first + 1], first)
    return a[idx]


@dataclass
class _Scene:
    """Display-space geometry of one take, ready to draw."""

    pos: np.ndarray  # (T, J, 3) display coords, recentred horizontally when following
    ground_offset: np.ndarray  # (T, 2) how far the ground grid has slid under the figure
    lo: np.ndarray  # (3,) view box corner
    half: float  # half edge of the cubic view box
    ground_z: float
    azim: float
    lost: np.ndarray | None  # (T, J) bool
    bones: list[tuple[int, int]]
    sides: np.ndarray  # (J,) -1/0/+1
    head: int | None


def _scene(m: Motion) -> _Scene:
    try:
        pos = _to_display(np.asarray(m.positions), m.up_axis)
    except ValueError as err:
        raise ValueError(f"{m.source_path}: {err}") from None
    finite = np.isfinite(pos).all(axis=-1)
    if not finite.any():
        raise ValueError(f"{m.source_path}: no finite joint positions to draw")
    ground_z = float(np.nanmin(pos[..., 2]))
    with np.errstate(invalid="ignore"):
        centre = _fill_nan(np.nanmean(np.where(finite[..., None], pos, np.nan)[..., :2], axis=1))
        lo_t, hi_t = np.nanmin(pos, axis=1), np.nanmax(pos, axis=1)
    body = float(np.nanmax(hi_t - lo_t)) or 1.0
    travel = float(np.nanmax(np.nanmax(centre, 0) - np.nanmin(centre, 0)))
    if travel <= body:  # stays in place: one fixed box around the whole take
        mid = (np.nanmin(pos[..., :2].reshape(-1, 2), 0) + np.nanmax(pos[..., :2].reshape(-1, 2), 0)) / 2
        half = 0.55 * max(body, float(np.nanmax(pos[..., 2]) - ground_z), travel + 0.3 * body)
        offset = np.zeros_like(centre)
    else:  # walks away: follow the (smoothed) centre, slide the ground underneath
        win = max(1, round(m.fps * 0.5)) if m.fps > 0 else 1
        kernel = np.ones(win) / win
        padded = np.pad(centre, ((win // 2, win - 1 - win // 2), (0, 0)), mode="edge")
        smooth = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(2)], 1)
        pos = pos.copy()
        pos[..., :2] -= (smooth - smooth[0])[:, None, :]
        offset = smooth - smooth[0]
        mid = smooth[0]
        half = 0.55 * body
    lo = np.array([mid[0] - half, mid[1] - half, ground_z - 0.05 * half])

    sides = np.array([_side(n) for n in m.joint_names])
    parents = _bone_graph(m)
    bones = [(c, p) for c, p in enumerate(parents) if 0 <= p < len(parents) and p != c]
    lost = None if m.tracked is None else ~np.asarray(m.tracked, dtype=bool)
    heads = [i for i, n in enumerate(m.joint_names) if n.lower() == "head"]
    return _Scene(
        pos,
        offset,
        lo,
        half,
        ground_z,
        _facing_azim(pos, sides),
        lost,
        bones,
        sides,
        heads[0] if heads else None,
    )


def _bone_graph(m: Motion) -> list[int]:
    """The motion's parents; for bone-less points (C3D markers) named like a declared layout, its graph."""
    if any(p >= 0 for p in m.parents):
        return list(m.parents)
    from skellm.layouts import match_layout

    lay = match_layout(m.joint_names)
    if lay is not None and list(lay.joint_names) == list(m.joint_names):
        return list(lay.parents)
    return list(m.parents)


def _facing_azim(pos: np.ndarray, sides: np.ndarray) -> float:
    """Camera azimuth that sees the body from the front-left, from its left-to-right axis."""
    if not ((sides < 0).any() and (sides > 0).any()):
        return -60.0
    with np.errstate(invalid="ignore"):
        lr = np.nanmean(pos[:, sides < 0, :2], axis=(0, 1)) - np.nanmean(pos[:, sides > 0, :2], axis=(0, 1))
    if not np.isfinite(lr).all() or np.hypot(*lr) < 1e-9:
        return -60.0
    fwd = np.array([lr[1], -lr[0]])  # (left - right) x up, in the ground plane
    return math.degrees(math.atan2(fwd[1], fwd[0])) + 25.0


def _segments(p: np.ndarray, bones: list[tuple[int, int]], keep: np.ndarray) -> np.ndarray:
    """(3, 3*n) x/y/z arrays of the kept bones, NaN-separated so one line draws them all."""
    seg = np.full((len(bones), 3, 3), np.nan)
    if bones:
        b = np.asarray(bones)
        seg[:, 0], seg[:, 1] = p[b[:, 0]], p[b[:, 1]]
        seg[~keep] = np.nan
    return seg.reshape(-1, 3).T


def _ground_lines(sc: _Scene, off: np.ndarray) -> np.ndarray:
    """Grid lines on the ground, shifted by ``off`` and clipped to the view box."""
    step = _nice_step(2 * sc.half / 6)
    lo, hi = sc.lo[:2], sc.lo[:2] + 2 * sc.half
    pts = []
    for axis in (0, 1):
        start = math.floor((lo[axis] + off[axis]) / step) * step - off[axis]
        for v in np.arange(start, hi[axis] + 1e-9, step):
            if v < lo[axis]:
                continue
            a = np.array([[v, lo[1 - axis]], [v, hi[1 - axis]]])
            if axis == 1:
                a = a[:, ::-1]
            pts += [a[0], a[1], [np.nan, np.nan]]
    xy = np.asarray(pts, dtype=float).reshape(-1, 2)
    return np.vstack([xy.T, np.full(len(xy), sc.ground_z)])


def _nice_step(x: float) -> float:
    e = 10 ** math.floor(math.log10(x))
    return min((m * e for m in (1, 2, 5, 10) if m * e >= x), default=10 * e)


# ----------------------------------------------------------------------------- drawing


class _Painter:
    """One matplotlib figure for one take; ``frame(i)`` returns the RGB pixels of source frame i."""

    def __init__(self, m: Motion, size: int, caption: str | None, title: str | None, clock: bool = True):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.m, self.sc, self.size = m, _scene(m), size
        fig = Figure(figsize=(size / _DPI, size / _DPI), dpi=_DPI, facecolor="white")
        self.canvas = FigureCanvasAgg(fig)
        font = max(6.0, 9.0 * size / DEFAULT_SIZE)
        line_px = font * 1.35 * _DPI / 72
        cap_h = 0.0
        if caption:
            width = max(20, int(size / (font * 0.56 * _DPI / 72)))
            paras = [textwrap.wrap(p, width) or [""] for p in caption.strip().splitlines()]
            head = paras[0] if len(paras) > 1 else []  # a first line of several is the label: bold
            body = [ln for p in paras[1 if head else 0 :] for ln in p]
            body = body if len(head) + len(body) <= 7 else body[: 6 - len(head)] + ["…"]
            cap_h = (len(head) + len(body) + 0.6) * line_px
            y = (cap_h - 0.3 * line_px) / size
            for lines, weight in ((head, "bold"), (body, "normal")):
                if lines:
                    fig.text(0.5, y, "\n".join(lines), ha="center", va="top", fontsize=font, weight=weight)
                    y -= len(lines) * line_px / size
        top_h = 1.6 * line_px
        room = int(0.5 * size / (font * 0.6 * _DPI / 72))  # characters left of the clock
        title = title if not title or len(title) <= room else title[: room - 1] + "…"
        self.title = fig.text(0.02, 1 - 0.25 * line_px / size, title or "", ha="left", va="top",
                              fontsize=font, weight="bold")  # fmt: skip
        self.clock = None
        if clock:
            self.clock = fig.text(0.98, 1 - 0.25 * line_px / size, "", ha="right", va="top",
                                  fontsize=font * 0.9, color="#555555", animated=True)  # fmt: skip
        ax = fig.add_axes((0, cap_h / size, 1, 1 - (cap_h + top_h) / size), projection="3d")
        ax.set_axis_off()
        sc = self.sc
        ax.set_xlim(sc.lo[0], sc.lo[0] + 2 * sc.half)
        ax.set_ylim(sc.lo[1], sc.lo[1] + 2 * sc.half)
        ax.set_zlim(sc.lo[2], sc.lo[2] + 2 * sc.half)
        ax.set_box_aspect((1, 1, 1), zoom=1.5)
        ax.view_init(elev=_ELEV, azim=sc.azim)
        ax.set_proj_type("persp", focal_length=0.6)
        self.ax, self.fig = ax, fig

        def line(**kw: Any) -> Any:
            (ln,) = ax.plot([], [], [], animated=True, **kw)
            return ln

        lw = 2.2 * size / DEFAULT_SIZE
        self.ground = line(color=_GROUND, lw=0.8)
        self.shadow = line(color=_SHADOW, lw=lw, solid_capstyle="round")
        self.lost_bones = line(color="#aaaaaa", lw=lw * 0.7, ls=(0, (2, 2)))
        self.limbs = {
            s: line(color=c, lw=lw, solid_capstyle="round")
            for s, c in ((0, _CENTRE), (-1, _LEFT), (1, _RIGHT))
        }
        ms = 2.6 * size / DEFAULT_SIZE
        self.joints = line(ls="none", marker="o", ms=ms, color=_CENTRE)
        self.lost_joints = line(ls="none", marker="x", ms=ms * 2.2, mew=1.4, color=_LOST)
        self.head = line(ls="none", marker="o", ms=ms * 4.5, mfc="white", mec=_CENTRE, mew=lw * 0.8)
        self._ground_at: np.ndarray | None = None
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(fig.bbox)
        bone_side = np.array([sc.sides[c] for c, _ in sc.bones], dtype=int)
        self._bone_side = bone_side

    def frame(self, i: int) -> np.ndarray:
        sc, m = self.sc, self.m
        p = sc.pos[i]
        ok = np.isfinite(p).all(axis=1)
        lost = sc.lost[i] & ok if sc.lost is not None else np.zeros(len(p), bool)
        good = ok & ~lost
        b = np.asarray(sc.bones, dtype=int).reshape(-1, 2)
        bone_ok = ok[b[:, 0]] & ok[b[:, 1]]
        bone_lost = bone_ok & (lost[b[:, 0]] | lost[b[:, 1]])
        bone_good = bone_ok & ~bone_lost

        if self._ground_at is None or not np.array_equal(self._ground_at, sc.ground_offset[i]):
            self._ground_at = sc.ground_offset[i]
            self.ground.set_data_3d(*_ground_lines(sc, self._ground_at))
        flat = p.copy()
        flat[:, 2] = sc.ground_z
        self.shadow.set_data_3d(*_segments(flat, sc.bones, bone_ok))
        self.lost_bones.set_data_3d(*_segments(p, sc.bones, bone_lost))
        for s, ln in self.limbs.items():
            ln.set_data_3d(*_segments(p, sc.bones, bone_good & (self._bone_side == s)))
        self.joints.set_data_3d(*p[good].T)
        self.lost_joints.set_data_3d(*p[lost].T)
        h = sc.head
        self.head.set_data_3d(*(p[[h]].T if h is not None and good[h] else np.empty((3, 0))))

        self.canvas.restore_region(self.background)
        for a in (self.ground, self.shadow, self.lost_bones, *self.limbs.values(), self.joints,
                  self.lost_joints, self.head):  # fmt: skip
            self.ax.draw_artist(a)
        if self.clock is not None:
            self.clock.set_text(f"{i + 1}/{m.n_frames}  {i / m.fps:.2f} s")
            self.fig.draw_artist(self.clock)
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()

    def hide_title(self) -> None:
        """Drop the title from the static background (later cells of a contact-sheet row)."""
        self.title.set_visible(False)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def close(self) -> None:
        self.fig.clear()


def iter_frames(
    motion: MotionLike,
    indices: Sequence[int] | np.ndarray,
    *,
    size: int = DEFAULT_SIZE,
    caption: str | None = None,
    title: str | None = None,
    clock: bool = True,
    **motion_kw: Any,
) -> Iterator[np.ndarray]:
    """Yield ``(size, size, 3)`` uint8 RGB frames of the given source frame indices."""
    m = as_motion(motion, **motion_kw)
    painter = _Painter(m, size, caption, title, clock)
    try:
        for i in indices:
            yield painter.frame(int(i))
    finally:
        painter.close()


def render_frames(
    positions: MotionLike,
    parents: Sequence[int] | None = None,
    *,
    frames: Sequence[int] | np.ndarray | None = None,
    size: int = DEFAULT_SIZE,
    caption: str | None = None,
    title: str | None = None,
    **motion_kw: Any,
) -> np.ndarray:
    """Render frames (all by default) of a motion as an ``(N, size, size, 3)`` uint8 array.

    ``positions`` is a Motion, a take-table row, or a ``(T, J, 3)`` array (then ``parents``, and
    optionally ``up_axis``, ``fps``, ``joint_names``, ``tracked`` as keywords).
    """
    m = as_motion(positions, parents, **motion_kw)
    idx = np.arange(m.n_frames) if frames is None else np.asarray(frames, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= m.n_frames):
        raise IndexError(f"frame index out of range 0..{m.n_frames - 1}")
    out = np.empty((len(idx), size, size, 3), dtype=np.uint8)
    for k, img in enumerate(iter_frames(m, idx, size=size, caption=caption, title=title)):
        out[k] = img
    return out


def render_animation(
    motion: MotionLike,
    out_path: str | Path,
    caption: str | None = None,
    fps: float | None = None,
    *,
    max_frames: int | None = DEFAULT_MAX_FRAMES,
    size: int = DEFAULT_SIZE,
    title: str | None = None,
    progress: bool = False,
    source_fps: float | None = None,
    **motion_kw: Any,
) -> RenderInfo:
    """Write a GIF or MP4 (by extension) of the motion, atomically; returns what was written.

    ``fps`` is the playback rate; for a raw array, ``source_fps`` is its capture rate (default 30)
    and ``parents``/``up_axis``/``joint_names``/``tracked`` may be given as keywords.
    """
    from skellm.io import atomic_path

    out_path = Path(out_path)
    kind = out_path.suffix.lower()
    if kind not in (".gif", ".mp4"):
        raise ValueError(f"{out_path}: output must end in .gif or .mp4")
    if size % 16:
        raise ValueError(f"size must be a multiple of 16 (video macro blocks), got {size}")
    m = as_motion(motion, fps=source_fps, **motion_kw)
    idx, out_fps = frame_plan(m.n_frames, m.fps, fps, max_frames)
    frames = iter_frames(m, idx, size=size, caption=caption, title=title)
    if progress:
        from tqdm import tqdm

        frames = tqdm(frames, total=len(idx), desc=f"render {out_path.name}", unit="frame")
    with atomic_path(out_path) as tmp:
        if kind == ".gif":
            _write_gif(tmp, frames, out_fps)
        else:
            _write_mp4(tmp, frames, out_fps, size)
    return RenderInfo(out_path, len(idx), out_fps, size, size)


def _write_gif(path: Path, frames: Iterator[np.ndarray], fps: float) -> None:
    from PIL import Image

    # One fixed palette of the colours we draw (and their blends into white from anti-aliasing):
    # mapping to it costs ~1 ms a frame where pillow's adaptive median cut costs ~40 ms, and keeps
    # colours steady across frames. Every frame differs (the clock), so pillow merges none of them.
    palette = _gif_palette()
    images = [Image.fromarray(img).quantize(palette=palette, dither=Image.Dither.NONE) for img in frames]
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=1000.0 / fps, loop=0)


def _gif_palette() -> Any:
    from PIL import Image

    colours = [_LEFT, _RIGHT, _CENTRE, _LOST, _SHADOW, _GROUND, "#555555", "#aaaaaa", "#000000"]
    entries = [(255, 255, 255)]
    for c in colours:
        rgb = np.array([int(c[k : k + 2], 16) for k in (1, 3, 5)], dtype=float)
        entries += [tuple(np.rint(255 * (1 - a) + rgb * a).astype(int)) for a in np.linspace(0.1, 1, 16)]
    flat = [int(v) for e in entries[:256] for v in e]
    pal = Image.new("P", (1, 1))
    pal.putpalette(flat + [0] * (768 - len(flat)))
    return pal


def _write_mp4(path: Path, frames: Iterator[np.ndarray], fps: float, size: int) -> None:
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(
        str(path),
        (size, size),
        fps=fps,
        codec="libx264",
        pix_fmt_out="yuv420p",
        quality=7,
        macro_block_size=16,
        output_params=["-f", "mp4"],
        ffmpeg_log_level="error",
    )
    writer.send(None)
    try:
        for img in frames:
            writer.send(np.ascontiguousarray(img))
    finally:
        writer.close()


def render_grid(
    motions: Sequence[MotionLike],
    out_png: str | Path,
    titles: Sequence[str] | None = None,
    *,
    n_keyframes: int = DEFAULT_KEYFRAMES,
    cell: int = GRID_CELL,
) -> tuple[int, int]:
    """Contact sheet: one row per take, ``n_keyframes`` frames spread over it. Returns (height, width)."""
    import imageio.v3 as iio

    from skellm.io import atomic_path

    if not motions:
        raise ValueError("render_grid needs at least one motion")
    if titles is not None and len(titles) != len(motions):
        raise ValueError(f"{len(titles)} titles for {len(motions)} motions")
    rows = []
    for k, obj in enumerate(motions):
        m = as_motion(obj)
        title = titles[k] if titles is not None else Path(m.source_path).name
        t = m.n_frames
        idx = np.minimum(((np.arange(n_keyframes) + 0.5) * t / n_keyframes).astype(np.int64), t - 1)
        painter = _Painter(m, cell, None, title)
        cells = [painter.frame(int(idx[0]))]
        painter.hide_title()  # the take's name only on the row's first cell
        cells += [painter.frame(int(i)) for i in idx[1:]]
        painter.close()
        row = np.concatenate(cells, axis=1)
        row[-1] = 200  # thin rule between takes
        rows.append(row)
    sheet = np.concatenate(rows, axis=0)
    out_png = Path(out_png)
    with atomic_path(out_png) as tmp:
        iio.imwrite(tmp, sheet, extension=".png")
    return sheet.shape[0], sheet.shape[1]
