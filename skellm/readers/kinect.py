"""Kinect v2 body-stream text (EGBM-like): reader and writer.

Text format written by :func:`write_kinect_text` (and read back), one frame per line::

    # Kinect v2 body frames (skellm text export)
    # fps: 30
    # joints: SpineBase SpineMid ... ThumbRight        (25, Kinect SDK order)
    # columns: timestamp_ms, then per joint: state x y z qw qx qy qz
    0.000 2 0.0123 -0.2514 2.1030 0.99 0.01 -0.02 0.00 2 ...

Positions are metres in camera space (Y up, Z away from the sensor); ``state`` is the SDK's
TrackingState (0 NotTracked, 1 Inferred, 2 Tracked). The reader also accepts a CSV with a header and
one row per frame x joint: columns ``frame`` (or ``timestamp``), ``joint`` (name or index), ``x, y, z``
and optionally ``qw, qx, qy, qz`` and ``state`` / ``tracking`` (a number or a TrackingState name).
A CSV without a header is read as Microsoft's KinectReader ``joints.csv`` (LabanotationSuite): per line
the sensor timestamp in 100-ns units, then per joint ``x, y, z, state`` in SDK order (each line may end
with a comma); its frame rate comes from the median timestamp step.
Joints that are not tracked keep their positions and are flagged ``tracked = False``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from skellm.layouts import KINECT_V2
from skellm.readers.base import Motion, ReadError, quantize

N_JOINTS = 25
TICKS_PER_MS = 10_000.0  # Kinect SDK timestamps (RelativeTime) count 100-ns units
_STATES = {"nottracked": 0, "not_tracked": 0, "inferred": 1, "tracked": 2}


def write_kinect_text(
    path: str | Path,
    positions: np.ndarray,
    orientations: np.ndarray,
    tracking: np.ndarray,
    fps: float = 30.0,
    timestamps_ms: np.ndarray | None = None,
) -> None:
    """Write Kinect v2 frames (T, 25, 3) metres, quaternions (T, 25, 4) wxyz, states (T, 25) as text."""
    pos = np.asarray(positions, dtype=np.float64)
    n_frames = pos.shape[0]
    ori = np.asarray(orientations, dtype=np.float64)
    trk = np.asarray(tracking)
    if pos.shape != (n_frames, N_JOINTS, 3) or ori.shape != (n_frames, N_JOINTS, 4):
        raise ValueError("write_kinect_text: positions (T,25,3) and orientations (T,25,4) expected")
    if trk.shape != (n_frames, N_JOINTS):
        raise ValueError("write_kinect_text: tracking must be (T, 25)")
    ts = np.arange(n_frames) * 1000.0 / fps if timestamps_ms is None else np.asarray(timestamps_ms, float)
    per_joint = np.concatenate([trk[..., None].astype(np.float64), pos, ori], axis=2)  # (T, 25, 8)
    data = np.concatenate([quantize(ts[:, None], 3), quantize(per_joint.reshape(n_frames, -1), 5)], axis=1)
    joint_fmt = "%d %.5f %.5f %.5f %.5f %.5f %.5f %.5f"
    row = "%.3f " + " ".join([joint_fmt] * N_JOINTS) + "\n"
    header = (
        "# Kinect v2 body frames (skellm text export)\n"
        f"# fps: {fps:g}\n"
        f"# joints: {' '.join(KINECT_V2.joint_names)}\n"
        "# columns: timestamp_ms, then per joint: state x y z qw qx qy qz"
        " (state 0 NotTracked, 1 Inferred, 2 Tracked; metres, camera space)\n"
    )
    body = (row * n_frames) % tuple(data.ravel()) if n_frames else ""
    from skellm.io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(header + body)


def read_kinect(path: str | Path, fps: float | None = None, **_opts) -> Motion:
    """Read Kinect v2 text or CSV into a :class:`Motion` (metres, Y up, 25 joints)."""
    from skellm.readers.bvh import _decode

    path = Path(path)
    try:
        text = _decode(path, path.read_bytes())
    except OSError as exc:
        raise ReadError(path, f"cannot read file ({exc.strerror})") from None
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    if "," in first and any(c.isalpha() for c in first):
        pos, ori, states, ts, declared = _read_csv(path, text)
    elif "," in first:
        pos, ori, states, ts, declared = _read_kinectreader(path, text)
    else:
        pos, ori, states, ts, declared = _read_lines(path, text)
    rate = _rate(path, declared, ts, fps)
    n_frames = pos.shape[0]
    meta = {
        "lost_share": float((states == 0).mean()) if n_frames else 0.0,
        "inferred_share": float((states == 1).mean()) if n_frames else 0.0,
    }
    return Motion(
        positions=pos.astype(np.float32),
        joint_names=list(KINECT_V2.joint_names),
        parents=list(KINECT_V2.parents),
        fps=rate,
        source_path=str(path),
        fmt="kinect",
        units="m",
        up_axis="y",
        tracked=states > 0,
        layout=KINECT_V2.name,
        orientations=None if ori is None else ori.astype(np.float32),
        meta=meta,
    )


def _rate(path: Path, declared: float | None, ts: np.ndarray | None, fps: float | None) -> float:
    if declared is not None:
        return declared
    if ts is not None and ts.size > 1:
        dt = np.median(np.diff(ts))
        if np.isfinite(dt) and dt > 0:
            return float(round(1000.0 / dt, 3))
    if fps is not None and fps > 0:
        return float(fps)
    return 30.0


def _read_lines(path: Path, text: str):
    declared = None
    rows = []
    for ln in text.splitlines():
        s = ln.strip()
        if not s:
            continue
        if s.startswith("#"):
            key, _, val = s[1:].partition(":")
            if key.strip().lower() == "fps":
                try:
                    declared = float(val)
                except ValueError:
                    raise ReadError(path, f"bad fps header {val.strip()!r}") from None
                if not np.isfinite(declared) or declared <= 0:
                    raise ReadError(path, f"fps must be positive, got {val.strip()}")
            continue
        rows.append(s)
    width = 1 + N_JOINTS * 8
    if not rows:
        return np.zeros((0, N_JOINTS, 3)), None, np.zeros((0, N_JOINTS), int), None, declared
    try:
        flat = np.array(" ".join(rows).split(), dtype=np.float64)
    except ValueError as exc:
        raise ReadError(path, f"not Kinect v2 text: non-numeric value ({exc})") from None
    for i, r in enumerate(rows):
        n = len(r.split())
        if n != width:
            raise ReadError(
                path, f"line {i + 1} of data has {n} values, expected {width} (25 joints x 8 + 1)"
            )
    data = flat.reshape(len(rows), width)
    per_joint = data[:, 1:].reshape(len(rows), N_JOINTS, 8)
    states = per_joint[..., 0].round().astype(np.int64)
    if ((states < 0) | (states > 2)).any():
        raise ReadError(path, "tracking state outside 0/1/2")
    return per_joint[..., 1:4], per_joint[..., 4:8], states, data[:, 0], declared


def _read_kinectreader(path: Path, text: str):
    """Headerless KinectReader CSV: timestamp (100 ns), then 25 x (x, y, z, state); no orientations."""
    width = 1 + N_JOINTS * 4
    rows = []
    for i, ln in enumerate(text.splitlines(), start=1):
        s = ln.strip()
        if not s or s.startswith("#"):
            continue
        vals = s.split(",")
        if vals[-1].strip() == "":
            vals.pop()  # the recorder ends every line with a comma
        if len(vals) != width:
            raise ReadError(
                path, f"line {i} has {len(vals)} values, expected {width} (timestamp + 25 joints x 4)"
            )
        rows.append(vals)
    if not rows:
        return np.zeros((0, N_JOINTS, 3)), None, np.zeros((0, N_JOINTS), int), None, None
    try:
        data = np.array(rows, dtype=np.float64)
    except ValueError as exc:
        raise ReadError(path, f"non-numeric value in Kinect CSV ({exc})") from None
    per_joint = data[:, 1:].reshape(len(rows), N_JOINTS, 4)
    states = per_joint[..., 3].round().astype(np.int64)
    if ((states < 0) | (states > 2)).any():
        raise ReadError(path, "tracking state outside 0/1/2")
    return per_joint[..., :3], None, states, data[:, 0] / TICKS_PER_MS, None


def _read_csv(path: Path, text: str):
    reader = csv.reader(io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ReadError(path, "empty CSV") from None
    col = {h: i for i, h in enumerate(header)}

    def pick(*names: str) -> int | None:
        return next((col[n] for n in names if n in col), None)

    c_frame = pick("frame", "frame_index", "timestamp", "timestamp_ms", "time")
    c_ts = pick("timestamp_ms", "timestamp", "time_ms", "time")
    c_joint = pick("joint", "joint_name", "jointtype", "joint_type")
    c_xyz = [pick(a, f"position_{a}", f"pos_{a}") for a in "xyz"]
    c_q = [pick(f"q{a}", f"orientation_{a}", f"rot_{a}") for a in "wxyz"]
    c_state = pick("state", "tracking", "trackingstate", "tracking_state")
    if c_frame is None or c_joint is None or None in c_xyz:
        raise ReadError(path, "Kinect CSV needs columns frame (or timestamp), joint, x, y, z")
    names = {n.lower(): i for i, n in enumerate(KINECT_V2.joint_names)}
    frames: dict[str, int] = {}
    recs = []
    for ln, r in enumerate(reader, start=2):
        if not r or all(not v.strip() for v in r):
            continue
        try:
            key = r[c_frame].strip()
            j = r[c_joint].strip()
            ji = int(j) if j.isdigit() else names[j.lower().replace("jointtype_", "")]
            xyz = [float(r[c]) for c in c_xyz]
            q = [float(r[c]) for c in c_q] if None not in c_q else None
            st = 2
            if c_state is not None:
                v = r[c_state].strip()
                st = int(float(v)) if v.replace(".", "", 1).isdigit() else _STATES[v.lower()]
            ts = float(r[c_ts]) if c_ts is not None else None
        except (IndexError, ValueError, KeyError) as exc:
            raise ReadError(path, f"bad CSV row {ln} ({type(exc).__name__}: {exc})") from None
        if not 0 <= ji < N_JOINTS:
            raise ReadError(path, f"bad CSV row {ln}: joint index {ji} outside 0..24")
        frames.setdefault(key, len(frames))
        recs.append((frames[key], ji, xyz, q, st, ts))
    n_frames = len(frames)
    pos = np.zeros((n_frames, N_JOINTS, 3))
    ori = np.zeros((n_frames, N_JOINTS, 4)) if None not in c_q else None
    states = np.zeros((n_frames, N_JOINTS), dtype=np.int64)
    seen = np.zeros((n_frames, N_JOINTS), dtype=bool)
    ts_arr = np.full(n_frames, np.nan) if c_ts is not None else None
    for f, ji, xyz, q, st, ts in recs:
        pos[f, ji] = xyz
        if ori is not None:
            ori[f, ji] = q
        states[f, ji] = st
        seen[f, ji] = True
        if ts_arr is not None:
            ts_arr[f] = ts
    if n_frames and not seen.all():
        f = int(np.argwhere(~seen)[0][0])
        raise ReadError(path, f"CSV frame {f + 1} lacks some of the 25 joints")
    return pos, ori, states, ts_arr, None
