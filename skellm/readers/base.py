"""The in-memory motion record every reader returns, the one error type readers raise, and their warning."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


def quantize(values: np.ndarray, decimals: int) -> np.ndarray:
    """Values rounded to ``decimals`` places with signed zeros made positive, ready for ``%.{decimals}f``.

    Writers print through this so that a file's bytes do not depend on the CPU: two machines whose
    sin/cos/exp differ in the last bit of a double agree after rounding (unless a value lies within
    that bit of a rounding boundary), and ``-0.000000`` (a tiny negative printed) never appears.
    """
    return np.round(np.asarray(values, dtype=np.float64), decimals) + 0.0


class ReadError(Exception):
    """A raw file that cannot be turned into motion. ``str(err)`` is one line naming file and cause."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ReadWarning(UserWarning):
    """A readable file that disagrees with itself (e.g. a BVH declaring fewer frames than it holds).

    The reader keeps what the file really holds, adds the one-line reason to ``Motion.meta["warnings"]``
    and issues this warning as ``"<path>: <reason>"``; ``skellm inspect`` lists the reasons as problems.
    """


@dataclass
class Motion:
    """One take of 3D skeleton motion as read from a raw file.

    positions: float32 array (frames, joints, 3) of world positions in the file's own units
        and axes (readers do not convert; harmonize does). NaN marks a joint that is missing.
    joint_names / parents: the bone graph; ``parents[j]`` is the parent index of joint j, -1 for roots.
    fps: frames per second (> 0).
    fmt: reader name ("bvh", "mvnx", "kinect", "ntu", "c3d", "npy").
    units: "m", "cm", "mm", "inch", "cmu" (CMU ASF unit, 1/0.45 inch) or "unknown" as declared or
        detected; scale factors in skellm.readers.units.UNIT_SCALE.
    up_axis: "y" or "z" as declared or detected by the reader.
    tracked: optional bool array (frames, joints), False where the sensor lost the joint.
    layout: name of a declared layout in :mod:`skellm.layouts` when the reader recognised one.
    meta: anything else worth keeping (actor names, body index, marker labels...). ``meta["warnings"]``
        lists one-line reasons of :class:`ReadWarning` (the take is fine, something in the file disagreed);
        ``meta["read_problems"]`` reasons the file is damaged (e.g. truncated: what is left was kept),
        which ``read_motion`` reports as problems.
    orientations: optional float32 array (frames, joints, 4) of world orientation quaternions (w, x, y, z)
        where the format records them (MVNX, Kinect, NTU).
    """

    positions: np.ndarray
    joint_names: list[str]
    parents: list[int]
    fps: float
    source_path: str
    fmt: str
    units: str = "unknown"
    up_axis: str = "y"
    tracked: np.ndarray | None = None
    layout: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    orientations: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.positions.shape[0])

    @property
    def n_joints(self) -> int:
        return int(self.positions.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fps if self.fps > 0 else float("nan")
