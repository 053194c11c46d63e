"""NumPy ``.npy`` / ``.npz`` joint positions (T, J, 3); never unpickled.

Joint names, parents, fps, units and up axis come, in order of precedence, from the reader options,
a sidecar ``<stem>.json`` beside the file ({"joint_names": [...], "parents": [...], "fps": 30,
"units": "m", "up_axis": "y"}), or ``.npz`` keys of the same names (positions under ``positions``,
else the only 3-D array). Without names, joints are called ``J00, J01, ...``; without parents, all -1.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from skellm.readers.base import Motion, ReadError

_KEYS = ("joint_names", "parents", "fps", "units", "up_axis")


def _npz_fields(path: Path, z: np.lib.npyio.NpzFile) -> tuple[np.ndarray, dict[str, Any]]:
    arrays = {k: z[k] for k in z.files}
    if "positions" in arrays:
        pos = arrays["positions"]
    else:
        cubes = [k for k, v in arrays.items() if v.ndim == 3]
        if len(cubes) != 1:
            raise ReadError(path, "npz needs a 'positions' array (or exactly one 3-D array)")
        pos = arrays[cubes[0]]
    fields: dict[str, Any] = {}
    for k in _KEYS:
        if k in arrays:
            v = arrays[k]
            fields[k] = v.tolist() if v.ndim else v.item()
    return pos, fields


def read_numpy(path: str | Path, **opts) -> Motion:
    """Read positions from .npy/.npz; metadata from options, a sidecar JSON or npz keys."""
    path = Path(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ReadError(path, "holds Python objects (pickle); refusing to unpickle") from None
        raise ReadError(path, f"corrupt NumPy file ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ReadError(path, f"corrupt NumPy file ({exc})") from None
    fields: dict[str, Any] = {}
    try:
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded as z:
                pos, fields = _npz_fields(path, z)
        else:
            pos = loaded
    except ValueError as exc:  # an object array inside an npz
        raise ReadError(path, f"holds Python objects (pickle); refusing to unpickle ({exc})") from None
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        try:
            side = json.loads(sidecar.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ReadError(sidecar, f"bad sidecar JSON ({exc})") from None
        if not isinstance(side, dict):
            raise ReadError(sidecar, "sidecar JSON must be an object")
        fields.update({k: side[k] for k in _KEYS if k in side})
    fields.update({k: opts[k] for k in _KEYS if opts.get(k) is not None})
    if pos.dtype.kind not in "fiu" or pos.ndim != 3 or pos.shape[2] != 3:
        raise ReadError(
            path, f"positions must be a numeric (frames, joints, 3) array, got {pos.dtype} {pos.shape}"
        )
    n_joints = pos.shape[1]
    names = [str(n) for n in fields.get("joint_names", [f"J{i:02d}" for i in range(n_joints)])]
    parents = [int(p) for p in fields.get("parents", [-1] * n_joints)]
    if len(names) != n_joints or len(parents) != n_joints:
        raise ReadError(path, f"{n_joints} joints but {len(names)} names and {len(parents)} parents")
    if "fps" not in fields:
        raise ReadError(path, "no fps: give it in a sidecar JSON, an npz key or the reader options")
    meta = {"up_axis_declared": True} if "up_axis" in fields else {}
    return Motion(
        positions=pos.astype(np.float32),
        joint_names=names,
        parents=parents,
        fps=float(fields["fps"]),
        source_path=str(path),
        fmt="npy",
        units=str(fields.get("units", "unknown")),
        up_axis=str(fields.get("up_axis", "y")),
        meta=meta,
    )
