"""Units and up axis of raw motion, detected from the body itself when the file does not declare them.

The up axis is the one (Y or Z) along which root-to-head points, else the one with the larger median
per-frame extent. Body height is a high percentile of the per-frame extent along that axis; the unit is
the one that makes that height most human-like. ``cmu`` is the length unit of CMU ASF/AMC data and its
BVH conversions (1/0.45 inch = 0.056444 m), recognised by the CMU rig's joint names.
"""

from __future__ import annotations

import numpy as np

UNIT_SCALE: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": 0.0254 / 0.45}
TYPICAL_HEIGHT_M = 1.6  # of the per-frame extent, which often stops at the head joint, not its top
_PRIOR = {"m": 0.0, "cm": 0.0, "mm": 0.0, "inch": 0.3}  # inches are rare: prefer the metric reading
_AXIS = {"x": 0, "y": 1, "z": 2}


def to_metres(units: str) -> float:
    """Scale factor from ``units`` to metres (KeyError for "unknown")."""
    return UNIT_SCALE[units]


def detect_up_axis(positions: np.ndarray, joint_names: list[str]) -> str:
    """ "y" or "z": the vertical axis of a (T, J, 3) skeleton."""
    finite = np.isfinite(positions).all(axis=(1, 2))
    pos = positions[finite] if finite.any() else np.nan_to_num(positions)
    heads = [i for i, n in enumerate(joint_names) if "head" in n.lower() and not n.lower().endswith("_end")]
    if heads and pos.shape[1] > 1:
        v = np.median(pos[:, heads[0]] - pos[:, 0], axis=0)
        if max(abs(v[1]), abs(v[2])) > 2.0 * abs(v[0]) and abs(v[1]) != abs(v[2]):
            return "y" if abs(v[1]) > abs(v[2]) else "z"
    ext = np.median(pos.max(axis=1) - pos.min(axis=1), axis=0)
    return "y" if ext[1] >= ext[2] else "z"


def body_height(positions: np.ndarray, up_axis: str) -> float:
    """Body height in the data's units: 90th percentile over frames of the vertical extent."""
    col = positions[..., _AXIS[up_axis]]
    ext = np.nanmax(col, axis=1) - np.nanmin(col, axis=1)
    ext = ext[np.isfinite(ext)]
    return float(np.percentile(ext, 90)) if ext.size else float("nan")


def detect_units(height: float, joint_names: list[str] | None = None) -> str:
    """The unit that makes a raw body height most human-like ("unknown" if none gives 0.3-3 m)."""
    if joint_names and {"LHipJoint", "RHipJoint", "LowerBack"} <= set(joint_names):
        return "cmu"
    if not np.isfinite(height) or height <= 0:
        return "unknown"
    best = min(_PRIOR, key=lambda u: abs(np.log(height * UNIT_SCALE[u] / TYPICAL_HEIGHT_M)) + _PRIOR[u])
    return best if 0.3 <= height * UNIT_SCALE[best] <= 3.0 else "unknown"


def height_m(positions: np.ndarray, up_axis: str, units: str) -> float:
    """Estimated body height in metres (NaN when the units are unknown)."""
    h = body_height(positions, up_axis)
    return h * UNIT_SCALE[units] if units in UNIT_SCALE else float("nan")
