"""Describe one mocap file: format, frames, joints, rate, layout, units, height, and any problems.

Exits 1 with a one-line reason when the file cannot be read or has a problem that makes it unusable
as a take (no frames, NaN/inf, a truncated BVH...); warnings (the reader's own, such as a BVH that
holds more frames than it declares, then lost tracking, implausible height...) are listed as problems
and keep exit 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

EXAMPLE = "skellm inspect data/raw/B/F01A0V1.bvh --json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", type=Path, help="a .bvh, .mvnx, .txt/.csv (Kinect), .skeleton, .c3d, .npy/.npz"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--fps", type=float, default=None, help="frame rate for files that lack one")


def warnings_for(motion) -> list[str]:
    """Soft problems of a readable take, one line each (the reader's ``meta["warnings"]`` first)."""
    out: list[str] = list(motion.meta.get("warnings", []))
    h = motion.meta.get("height_m", float("nan"))
    if motion.units == "unknown":
        out.append("units unknown: body height does not fit metres, centimetres, millimetres or inches")
    elif np.isfinite(h) and not 1.0 <= h <= 2.3 and motion.fmt != "c3d":
        out.append(f"implausible body height {h:.2f} m")
    if motion.tracked is not None and motion.tracked.size:
        lost = 1.0 - float(motion.tracked.mean())
        if lost > 0:
            out.append(f"{lost:.1%} of joint samples not tracked")
    pos = motion.positions
    if motion.n_frames > 1 and np.isfinite(pos).all() and float(np.ptp(pos, axis=0).max()) == 0.0:
        out.append("no motion: every frame is identical")
    return out


def joint_map_of(motion) -> dict[str, Any] | None:
    """How the take's rig (or a C3D take's joint centres) maps onto the canonical joints."""
    from skellm.config import HarmonizeConfig
    from skellm.data.rigmap import map_rig

    if not motion.n_joints:
        return None
    rig = map_rig(motion.joint_names, motion.parents, motion.positions[:1], motion.layout)
    return {
        "source": rig.source,
        "confidence": rig.confidence,
        "problem": rig.reason(HarmonizeConfig.min_map_confidence),
        "notes": list(rig.problems),
    }


def describe(path: Path, fps: float | None = None) -> tuple[dict[str, Any], list[str]]:
    """(report, fatal problems) of a readable file; ReadError when it cannot be read at all."""
    from skellm.readers import ReadWarning, read_motion

    opts = {"fps": fps} if fps else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReadWarning)  # reported below as problems, not as a traceback line
        m = read_motion(path, strict=False, **opts)
    fatal = list(m.meta.get("problems", []))
    report = {
        "file": str(path),
        "format": m.fmt,
        "frames": m.n_frames,
        "joints": m.n_joints,
        "fps": m.fps,
        "duration_s": round(m.duration_s, 4),
        "layout": m.layout,
        "units": m.units,
        "up_axis": m.up_axis,
        "height_m": round(float(m.meta.get("height_m", float("nan"))), 3),
        "joint_names": m.joint_names,
        "joint_map": joint_map_of(m),
        "problems": fatal + warnings_for(m),
    }
    if report["joint_map"] and report["joint_map"]["problem"]:
        report["problems"].append(f"no usable canonical joint map ({report['joint_map']['problem']})")
    return report, fatal


def run(args: argparse.Namespace) -> int:
    from skellm.readers.base import ReadError

    try:
        report, fatal = describe(args.file, args.fps)
    except ReadError as exc:
        print(f"skellm inspect: {exc}", file=sys.stderr)
        return 1
    if args.json:
        h = report["height_m"]
        report["height_m"] = h if np.isfinite(h) else None
        print(json.dumps(report, indent=2))
    else:
        for key in ("file", "format", "frames", "joints", "fps", "duration_s", "layout", "units", "up_axis"):
            print(f"{key:>11}: {report[key]}")
        print(f"{'height_m':>11}: {report['height_m']}")
        names = report["joint_names"]
        shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
        print(f"{'joint_names':>11}: {shown}")
        jm = report["joint_map"]
        if jm:
            conf = f"confidence {jm['confidence']:.2f}"
            print(f"{'joint_map':>11}: {jm['source']}, {conf} (details: skellm layout {report['file']})")
        print(f"{'problems':>11}: {'; '.join(report['problems']) or 'none'}")
    if fatal:
        print(f"skellm inspect: {args.file}: {fatal[0]}", file=sys.stderr)
        return 1
    return 0
