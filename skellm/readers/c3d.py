"""C3D marker files (Vicon, Qualisys, Motion Analysis...) through ezc3d.

Markers become joints named by their POINT:LABELS (parents all -1: markers have no bone graph);
units come from POINT:UNITS. Gaps (frames where a marker is occluded) are filled by linear
interpolation over time and flagged ``tracked = False``; markers never seen are dropped and listed in
``meta["dropped_markers"]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skellm.readers.base import Motion, ReadError

_UNITS = {"m": "m", "cm": "cm", "mm": "mm", "in": "inch", "inch": "inch", "inches": "inch"}


def _labels(point: dict, n: int) -> list[str]:
    labels: list[str] = []
    for key in ["LABELS"] + [f"LABELS{i}" for i in range(2, 100)]:
        if key not in point:
            break
        labels += [str(v).strip() for v in point[key]["value"]]
    labels = labels[:n] + [""] * max(0, n - len(labels))
    out, seen = [], set()
    for i, lab in enumerate(labels):
        name = lab or f"M{i + 1:03d}"
        while name in seen:
            name = f"{name}_{i + 1}"
        seen.add(name)
        out.append(name)
    return out


def _fill_gaps(pos: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Linear interpolation over time of missing samples, per marker (edges hold the nearest value)."""
    t = np.arange(pos.shape[0])
    for j in np.flatnonzero(~ok.all(axis=0)):
        good = ok[:, j]
        for a in range(3):
            pos[~good, j, a] = np.interp(t[~good], t[good], pos[good, j, a])
    return pos


def read_c3d(path: str | Path, **_opts) -> Motion:
    """Read the 3D points of a C3D file into a :class:`Motion`."""
    import ezc3d

    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(512)
    if len(head) < 512 or head[1] != 0x50:
        raise ReadError(path, "not a C3D file (bad header)")
    try:
        c = ezc3d.c3d(str(path))
    except Exception as exc:  # ezc3d raises plain RuntimeError/OSError for corrupt files
        raise ReadError(path, f"corrupt C3D file ({str(exc).splitlines()[0] if str(exc) else exc})") from None
    point = c["parameters"]["POINT"]
    pts = np.asarray(c["data"]["points"], dtype=np.float64)  # (4, markers, frames)
    n_markers = pts.shape[1]
    names = _labels(point, n_markers)
    rate = float(np.asarray(point["RATE"]["value"]).ravel()[0]) if "RATE" in point else float("nan")
    unit_raw = str(point["UNITS"]["value"][0]).strip().lower() if "UNITS" in point else ""
    units = _UNITS.get(unit_raw, "unknown")
    pos = pts[:3].transpose(2, 1, 0).copy()  # (frames, markers, 3)
    ok = np.isfinite(pos).all(axis=2)
    seen = ok.any(axis=0)
    dropped = [n for n, s in zip(names, seen, strict=True) if not s]
    keep = np.flatnonzero(seen)
    pos, ok = pos[:, keep], ok[:, keep]
    names = [names[i] for i in keep]
    if pos.shape[0]:
        pos = _fill_gaps(pos, ok)
    meta = {"declared_units": unit_raw or None, "dropped_markers": dropped, "gap_share": float((~ok).mean())}
    return Motion(
        positions=pos.astype(np.float32),
        joint_names=names,
        parents=[-1] * len(names),
        fps=rate,
        source_path=str(path),
        fmt="c3d",
        units=units,
        up_axis="z",
        tracked=ok if pos.size else None,
        meta=meta,
    )
