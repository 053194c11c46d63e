"""C3D marker files (Vicon, Qualisys, Motion Analysis...) through ezc3d, as biomechanics users expect.

- Units from ``POINT:UNITS``; the up axis from ``POINT:Y_SCREEN`` (the axis drawn upwards: ``+Z`` in
  Vicon Nexus and Qualisys, ``+Y`` in some exporters), detected from the data when the file does not say.
- Only positions are joints: the modelled outputs Vicon stores as points (the labels listed in
  ``POINT:ANGLES``, ``FORCES``, ``MOMENTS``, ``POWERS``, ``SCALARS``, ``REACTIONS``) are kept apart,
  their labels in ``meta["modelled_outputs"]``. Virtual markers and segment outputs are positions and stay.
  Plug-in Gait's centre of mass and its projection on the floor (``CentreOfMass``, ``CentreOfMassFloor``)
  are model outputs, not points of the body: they are kept apart too, as ``CENTRE_OF_MASS`` (the floor
  point would otherwise stretch the body's height on stairs or a raised walkway).
- A sample is invalid where its residual is negative (the C3D convention) or not finite; such gaps are
  filled by linear interpolation over time and flagged ``tracked = False``; markers never seen are
  dropped and listed in ``meta["dropped_markers"]``.
- Joint centres of known marker sets (:mod:`skellm.readers.markersets`) are added as points named
  ``jc:<canonical joint>`` (parented as the canonical skeleton), so C3D takes enter the canonical
  pipeline; markers keep parent -1 (they have no bone graph). ``meta["joint_centres"]`` says how each
  was found and which are missing.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from skellm.readers.base import Motion, ReadError, ReadWarning

_UNITS = {"m": "m", "cm": "cm", "mm": "mm", "in": "inch", "inch": "inch", "inches": "inch"}
MODELLED_GROUPS = ("ANGLES", "FORCES", "MOMENTS", "POWERS", "SCALARS", "REACTIONS")
CENTRE_OF_MASS = ("CentreOfMass", "CentreOfMassFloor")  # Vicon Plug-in Gait model outputs


def _strings(group: dict, key: str) -> list[str]:
    """A parameter's string values, continued over KEY2, KEY3... as C3D splits long lists."""
    out: list[str] = []
    for k in [key] + [f"{key}{i}" for i in range(2, 100)]:
        if k not in group:
            break
        out += [str(v).strip() for v in group[k]["value"]]
    return out


def _labels(point: dict, n: int) -> list[str]:
    labels = _strings(point, "LABELS")
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


def _up_axis(point: dict, notes: list[str]) -> str | None:
    """The declared vertical axis (None: the file does not say; read_motion then detects it)."""
    screen = _strings(point, "Y_SCREEN")
    axis = screen[0].upper().lstrip("+-") if screen and screen[0] else ""
    if axis in ("Y", "Z"):
        return axis.lower()
    if screen and screen[0]:
        notes.append(f"POINT:Y_SCREEN is {screen[0]!r}, not +Y or +Z: the up axis is detected from the data")
    return None


def _widths_mm(params: dict) -> dict[str, float]:
    """Subject measurements a marker model needs (``PROCESSING:LKneeWidth``...), in mm."""
    proc = params.get("PROCESSING", {})
    out = {}
    for key in ("LKneeWidth", "RKneeWidth", "LAnkleWidth", "RAnkleWidth"):
        if key in proc:
            v = float(np.asarray(proc[key]["value"], dtype=np.float64).ravel()[0])
            out[key] = v  # Nexus stores subject measurements in mm whatever POINT:UNITS says
    return out


def read_c3d(path: str | Path, **_opts) -> Motion:
    """Read the 3D points of a C3D file into a :class:`Motion` (markers, then joint centres)."""
    import ezc3d

    from skellm.layouts import CANONICAL
    from skellm.readers.markersets import JC_PREFIX, joint_centres
    from skellm.readers.units import UNIT_SCALE

    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(512)
    if len(head) < 512 or head[1] != 0x50:
        raise ReadError(path, "not a C3D file (bad header)")
    try:
        c = ezc3d.c3d(str(path))
    except Exception as exc:  # ezc3d raises plain RuntimeError/OSError for corrupt files
        raise ReadError(path, f"corrupt C3D file ({str(exc).splitlines()[0] if str(exc) else exc})") from None
    params = c["parameters"]
    point = params["POINT"]
    pts = np.asarray(c["data"]["points"], dtype=np.float64)  # (4, markers, frames)
    names = _labels(point, pts.shape[1])
    rate = float(np.asarray(point["RATE"]["value"]).ravel()[0]) if "RATE" in point else float("nan")
    unit_raw = str(point["UNITS"]["value"][0]).strip().lower() if "UNITS" in point else ""
    units = _UNITS.get(unit_raw, "unknown")
    notes: list[str] = []
    up = _up_axis(point, notes)

    modelled = {g: [x for x in _strings(point, g) if x] for g in MODELLED_GROUPS if g in point}
    if com := [n for n in names if n in CENTRE_OF_MASS]:
        modelled["CENTRE_OF_MASS"] = com
    not_positions = {x for labels in modelled.values() for x in labels}
    pos = pts[:3].transpose(2, 1, 0).copy()  # (frames, markers, 3)
    ok = np.isfinite(pos).all(axis=2)
    residuals = c["data"].get("meta_points", {}).get("residuals")
    if residuals is not None and np.shape(residuals)[1:] == (pts.shape[1], pts.shape[2]):
        ok &= np.asarray(residuals, dtype=np.float64)[0].T >= 0
    seen = ok.any(axis=0)
    dropped = [n for n, s in zip(names, seen, strict=True) if not s and n not in not_positions]
    keep = [i for i, n in enumerate(names) if seen[i] and n not in not_positions]
    pos, ok = pos[:, keep], ok[:, keep]
    names = [names[i] for i in keep]
    if pos.shape[0]:
        pos = _fill_gaps(pos, ok)
    gap_share = float((~ok).mean()) if ok.size else 0.0

    mm = UNIT_SCALE[units] * 1000.0 if units in UNIT_SCALE else 1.0
    centres, how = joint_centres(names, pos, mm, _widths_mm(params)) if pos.shape[0] else ({}, {})
    jc = [j for j in CANONICAL.joint_names if j in centres]
    parents = [-1] * len(names)
    for j in jc:
        p = CANONICAL.parents[CANONICAL.index(j)]
        up_name = CANONICAL.joint_names[p] if p >= 0 else None
        parents.append(len(names) + jc.index(up_name) if up_name in jc else -1)
    if jc:
        pos = np.concatenate([pos, np.stack([centres[j] for j in jc], axis=1)], axis=1)
        ok = np.concatenate([ok, np.ones((ok.shape[0], len(jc)), dtype=bool)], axis=1)
    names = names + [JC_PREFIX + j for j in jc]
    for note in notes:
        warnings.warn(f"{path}: {note}", ReadWarning, stacklevel=2)
    meta = {
        "declared_units": unit_raw or None,
        "dropped_markers": dropped,
        "gap_share": gap_share,
        "modelled_outputs": modelled,
        "joint_centres": {"found": how, "missing": [j for j in CANONICAL.joint_names if j not in centres]},
        "warnings": notes,
        "up_axis_declared": up is not None,
    }
    return Motion(
        positions=pos.astype(np.float32),
        joint_names=names,
        parents=parents,
        fps=rate,
        source_path=str(path),
        fmt="c3d",
        units=units,
        up_axis=up or "z",
        tracked=ok if pos.size else None,
        meta=meta,
    )
