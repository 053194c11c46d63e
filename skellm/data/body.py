"""Body measures shared by ingest, validate and harmonize: gap filling, height, metres.

Unit scales and height estimation come from :mod:`skellm.readers.units` (the readers' detection);
this module adds what tables need on top: tracking masks and a strict metres factor.
"""

from __future__ import annotations

import warnings

import numpy as np

from skellm.readers.units import UNIT_SCALE, height_m


def metres_per_unit(units: str) -> float:
    """Metres per file unit; ValueError for units no reader could determine."""
    try:
        return UNIT_SCALE[units]
    except KeyError:
        raise ValueError(f"units {units!r} unknown (known: {', '.join(UNIT_SCALE)})") from None


def estimate_height_m(
    positions: np.ndarray, units: str, up_axis: str, tracked: np.ndarray | None = None
) -> float:
    """Estimated body height in metres, ignoring untracked joints (NaN when units are unknown)."""
    pos = np.asarray(positions, dtype=np.float32)
    if tracked is not None and not tracked.all():
        pos = np.where(tracked[..., None], pos, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames: nanmax warns, result is NaN
        return height_m(pos, up_axis, units)


def fill_gaps(positions: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Linearly interpolate each joint over time where ``missing`` (frames, joints) is True.

    Gaps at the start or end take the nearest valid frame. A joint missing in every frame is
    left as it is (callers reject such takes).
    """
    out = np.array(positions, dtype=np.float32, copy=True)
    if not missing.any():
        return out
    t = np.arange(out.shape[0])
    for j in np.flatnonzero(missing.any(axis=0)):
        ok = ~missing[:, j]
        if not ok.any():
            continue
        for c in range(3):
            out[:, j, c] = np.interp(t, t[ok], out[ok, j, c])
    return out
