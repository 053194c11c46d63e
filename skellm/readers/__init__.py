"""Readers of raw motion-capture files. ``read_motion`` picks the reader and checks what it returns.

Every reader returns :class:`skellm.readers.base.Motion` and raises only
:class:`skellm.readers.base.ReadError` (one line: file and cause) for input it cannot use. A file it can
use but that disagrees with itself gives :class:`skellm.readers.base.ReadWarning` and a line in
``Motion.meta["warnings"]``; warnings never make ``read_motion`` raise, ``strict`` or not. A reader that
keeps what is left of a damaged file (a truncated BVH) puts the reason in ``meta["read_problems"]``,
which :func:`check_motion` reports first, so ``strict`` makes it a ReadError.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from skellm.layouts import LAYOUTS, get_layout, strip_namespace
from skellm.readers import units as units_mod
from skellm.readers.base import Motion, ReadError, ReadWarning

__all__ = ["FORMATS", "Motion", "ReadError", "ReadWarning", "check_motion", "detect_format", "read_motion"]

# format -> (module, function, extensions)
FORMATS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "bvh": ("skellm.readers.bvh", "read_bvh", (".bvh",)),
    "mvnx": ("skellm.readers.mvnx", "read_mvnx", (".mvnx",)),
    "kinect": ("skellm.readers.kinect", "read_kinect", (".txt", ".csv")),
    "ntu": ("skellm.readers.ntu", "read_ntu", (".skeleton",)),
    "c3d": ("skellm.readers.c3d", "read_c3d", (".c3d",)),
    "npy": ("skellm.readers.numpy_", "read_numpy", (".npy", ".npz")),
}
_BY_EXT = {ext: fmt for fmt, (_, _, exts) in FORMATS.items() for ext in exts}


def _sniff(head: bytes) -> str | None:
    """The format the first bytes of a file look like, or None."""
    if head.startswith(b"\x93NUMPY") or head.startswith(b"PK\x03\x04"):
        return "npy"
    if len(head) >= 512 and head[1] == 0x50 and 1 <= head[0] <= 127:
        return "c3d"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:9].upper() == b"HIERARCHY":
        return "bvh"
    if text.startswith(b"<?xml") or text.startswith(b"<mvnx"):
        return "mvnx" if b"<mvnx" in head else None
    if text.startswith(b"# Kinect"):
        return "kinect"
    lines = text.split(b"\n", 3)
    if (
        len(lines) >= 3
        and lines[0].strip().isdigit()
        and lines[1].strip().isdigit()
        and len(lines[2].split()) == 10
    ):
        return "ntu"
    return None


def detect_format(path: str | Path) -> str:
    """Reader name for ``path`` from its extension, checked against its content."""
    path = Path(path)
    ext = path.suffix.lower()
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise ReadError(path, f"cannot read file ({exc.strerror})") from None
    sniffed = _sniff(head)
    if ext not in _BY_EXT:
        known = ", ".join(sorted(_BY_EXT))
        hint = f"; content looks like {sniffed}" if sniffed else ""
        raise ReadError(path, f"unsupported extension {ext or '(none)'!r} (known: {known}){hint}")
    fmt = _BY_EXT[ext]
    if ext == ".txt" and sniffed == "ntu":
        return "ntu"
    if sniffed is not None and sniffed != fmt:
        raise ReadError(path, f"extension {ext} says {fmt} but the content looks like {sniffed}")
    return fmt


def _reader(fmt: str) -> Callable[..., Motion]:
    mod, fn, _ = FORMATS[fmt]
    return getattr(importlib.import_module(mod), fn)


def read_motion(
    path: str | Path,
    fmt: str | None = None,
    *,
    strict: bool = True,
    layout: str | None = None,
    units: str | None = None,
    up_axis: str | None = None,
    **opts,
) -> Motion:
    """Read any supported mocap file into a checked :class:`Motion`.

    fmt: force a reader (default: :func:`detect_format`). layout: a declared layout name the joints
    must match, or "any" to require some declared layout. units / up_axis: override what the file
    declares or the reader detects. Other options go to the reader (e.g. ``fps`` for files that lack
    it, ``joint_names`` / ``parents`` for NumPy arrays, ``max_bodies`` for NTU). With ``strict`` the
    first problem of :func:`check_motion` raises ReadError; without, problems are in
    ``meta["problems"]``.
    """
    path = Path(path)
    if not path.is_file():
        raise ReadError(path, "no such file")
    if path.stat().st_size == 0:
        raise ReadError(path, "empty file")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise ReadError(path, f"unknown format {fmt!r}")
    try:
        motion = _reader(fmt)(path, **opts)
    except ReadError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OSError, RuntimeError, MemoryError) as exc:
        raise ReadError(path, f"cannot parse {fmt} ({type(exc).__name__}: {exc})") from None
    _finish(motion, units, up_axis)
    problems = check_motion(motion, layout=layout)
    motion.meta["problems"] = problems
    if strict and problems:
        raise ReadError(path, problems[0])
    return motion


def _finish(motion: Motion, units: str | None, up_axis: str | None) -> None:
    """Fill units, up axis, height and layout where the reader could not know them.

    The statistics (medians, a percentile over frames) use at most ~4,096 evenly spaced frames, so a
    one-hour take costs no copy of its positions.
    """
    if motion.n_frames == 0 or motion.n_joints == 0:
        return
    pos = motion.positions[:: -(-motion.n_frames // 4096)]
    if up_axis:
        motion.up_axis = up_axis
    elif motion.fmt in ("bvh", "npy", "c3d") and not motion.meta.get("up_axis_declared"):
        motion.up_axis = units_mod.detect_up_axis(pos, motion.joint_names)
    h = units_mod.body_height(pos, motion.up_axis)
    if units:
        motion.units = units
    elif motion.units == "unknown":
        motion.units = units_mod.detect_units(h, motion.joint_names)
    motion.meta["height_m"] = units_mod.height_m(pos, motion.up_axis, motion.units)
    if motion.layout is None:
        _recognise_layout(motion)


def _exact_layout(names: list[str]) -> str | None:
    key = tuple(strip_namespace(n) for n in names)
    return next((lay.name for lay in LAYOUTS.values() if lay.joint_names == key), None)


def _recognise_layout(motion: Motion) -> None:
    """Set ``motion.layout`` to the declared layout of its joints, End Sites aside if need be.

    When a layout lists the End Sites after the other joints (``xsens_bvh``) the joints are reordered
    to match it; otherwise a layout matching all joints but the End Sites is named and the End Sites
    stay (harmonize may drop them).
    """
    names = motion.joint_names
    motion.layout = _exact_layout(names)
    if motion.layout is not None:
        return
    ends = motion.meta.get("end_sites")
    if ends is None:
        ends = [i for i, n in enumerate(names) if n.endswith("_End")]
    if not ends:
        return
    end_set = set(ends)
    order = [i for i in range(len(names)) if i not in end_set] + list(ends)
    reordered = [names[i] for i in order]
    exact = _exact_layout(reordered)
    if exact is not None:
        inv = {old: new for new, old in enumerate(order)}
        motion.positions = motion.positions[:, order]
        if motion.tracked is not None:
            motion.tracked = motion.tracked[:, order]
        if motion.orientations is not None:
            motion.orientations = motion.orientations[:, order]
        motion.parents = [inv[motion.parents[i]] if motion.parents[i] >= 0 else -1 for i in order]
        motion.joint_names = reordered
        motion.meta["end_sites"] = list(range(len(names) - len(ends), len(names)))
        motion.layout = exact
        return
    motion.layout = _exact_layout([n for i, n in enumerate(names) if i not in end_set])


def check_motion(motion: Motion, layout: str | None = None, min_frames: int = 2) -> list[str]:
    """Problems that make a take unusable, as one-line reasons (empty when the take is fine).

    The reader's own (``meta["read_problems"]``, e.g. a truncated BVH) come first.
    """
    problems: list[str] = list(motion.meta.get("read_problems", []))
    if motion.n_frames == 0:
        problems.append("no frames")
    elif motion.n_frames < min_frames:
        problems.append(f"only {motion.n_frames} frame(s); a take needs at least {min_frames}")
    if motion.n_joints == 0:
        problems.append("no joints")
    bad = int((~np.isfinite(motion.positions)).sum())
    if bad:
        problems.append(f"{bad} non-finite position values (NaN/inf)")
    if not np.isfinite(motion.fps) or motion.fps <= 0:
        problems.append(f"frame rate must be positive, got {motion.fps}")
    if len(set(motion.joint_names)) != len(motion.joint_names):
        dup = sorted({n for n in motion.joint_names if motion.joint_names.count(n) > 1})
        problems.append(f"duplicate joint names: {', '.join(dup[:5])}")
    if layout == "any":
        if motion.layout is None:
            problems.append("joint names match no declared layout")
    elif layout:
        try:
            want = get_layout(layout)
        except KeyError as exc:
            return [*problems, str(exc).strip('"')]
        if motion.layout != want.name:
            have = set(motion.joint_names)
            missing = [n for n in want.joint_names if n not in have]
            extra = [n for n in motion.joint_names if n not in set(want.joint_names)]
            problems.append(
                f"joint names do not match layout {want.name!r}"
                f" (missing: {', '.join(missing[:5]) or '-'}; unknown: {', '.join(extra[:5]) or '-'})"
            )
    return problems
