"""NTU RGB+D ``.skeleton`` text files (Kinect v2, 25 joints, metres, 30 fps).

Layout of the public files: the frame count; per frame the body count; per body a line of 10 values
(bodyID, clippedEdges, handLeftConfidence, handLeftState, handRightConfidence, handRightState,
isRestricted, leanX, leanY, trackingState), the joint count (25) and 25 lines of 12 values (x, y, z,
depthX, depthY, colorX, colorY, orientationW, X, Y, Z, trackingState).

As the standard NTU preprocessing does, bodies are tracked by bodyID, bodies seen in too few frames
are dropped as noise, and the remaining ones are ranked by motion energy (summed variance of their
joint positions over the frames they appear in); up to ``max_bodies`` are kept, the most active first.
With two bodies the joints are concatenated (the second body's names end in ``_b2``); frames where a
body is absent hold zeros and are flagged ``tracked = False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skellm.layouts import KINECT_V2
from skellm.readers.base import Motion, ReadError, quantize

N_JOINTS = 25
NOISE_MIN_FRAMES = 11  # bodies tracked for fewer frames are noise (as in the NTU preprocessing code)
# Kinect v2 pinhole models (approximate factory intrinsics): depth/IR 512x424, colour 1920x1080 with the
# colour camera offset from the depth camera (fitted to a public NTU joint line).
DEPTH_CAMERA = (365.5, 256.0, 208.0)  # focal (px), cx, cy
COLOR_CAMERA = (1081.4, 960.0, 540.0, 0.049, -0.1)  # focal, cx, cy, x and y offset of the colour camera (m)
DIGITS = 7  # the SDK's floats print with 7 significant digits


@dataclass
class NtuBody:
    """One tracked body of a .skeleton file: the frames it appears in and its per-frame values.

    frames: (F,) frame indices; xyz (F, 25, 3) camera-space metres; quat (F, 25, 4) wxyz; state (F, 25)
    joint TrackingState (0 not tracked, 1 inferred, 2 tracked); info (F, 9): clippedEdges,
    handLeftConfidence, handLeftState, handRightConfidence, handRightState, isRestricted, leanX, leanY,
    trackingState. depth / color (F, 25, 2) pixels default to the pinhole projections of ``xyz``.
    """

    body_id: int
    frames: np.ndarray
    xyz: np.ndarray
    quat: np.ndarray
    state: np.ndarray
    info: np.ndarray
    depth: np.ndarray | None = None
    color: np.ndarray | None = None


def project_depth(xyz: np.ndarray) -> np.ndarray:
    """Depth-image pixels (..., 2) of camera-space points (X to the sensor's left, Y up, Z away)."""
    f, cx, cy = DEPTH_CAMERA
    z = np.maximum(xyz[..., 2], 1e-3)
    return np.stack([cx + f * xyz[..., 0] / z, cy - f * xyz[..., 1] / z], axis=-1)


def project_color(xyz: np.ndarray) -> np.ndarray:
    """Colour-image pixels (..., 2) of camera-space points."""
    f, cx, cy, dx, dy = COLOR_CAMERA
    z = np.maximum(xyz[..., 2], 1e-3)
    return np.stack([cx + f * (xyz[..., 0] + dx) / z, cy - f * (xyz[..., 1] + dy) / z], axis=-1)


def _g(values: np.ndarray) -> list[str]:
    """Numbers as the SDK prints floats (7 significant digits), rounded first so bytes are CPU-independent."""
    return [f"{v:.7g}" for v in quantize(values, DIGITS).ravel()]


def write_ntu(path: str | Path, n_frames: int, bodies: list[NtuBody]) -> None:
    """Write an NTU RGB+D .skeleton file; in each frame the bodies present appear in list order."""
    per_frame: list[list[tuple[NtuBody, int]]] = [[] for _ in range(n_frames)]
    for b in bodies:
        n = len(b.frames)
        if (
            b.xyz.shape != (n, N_JOINTS, 3)
            or b.quat.shape != (n, N_JOINTS, 4)
            or b.state.shape != (n, N_JOINTS)
        ):
            raise ValueError("write_ntu: xyz (F,25,3), quat (F,25,4) and state (F,25) expected per body")
        if b.info.shape != (n, 9):
            raise ValueError("write_ntu: info must be (F, 9)")
        for k, f in enumerate(np.asarray(b.frames, dtype=np.int64)):
            if not 0 <= f < n_frames:
                raise ValueError(f"write_ntu: body {b.body_id} frame {f} outside 0..{n_frames - 1}")
            per_frame[f].append((b, k))
    text: dict[int, tuple[list[str], list[str]]] = {}
    for b in bodies:  # format each body's numbers in one go (fast), then lay the lines out per frame
        depth = project_depth(b.xyz) if b.depth is None else b.depth
        color = project_color(b.xyz) if b.color is None else b.color
        joints = np.concatenate([b.xyz, depth, color, b.quat], axis=-1)  # (F, 25, 11)
        j = np.array(_g(joints), dtype=object).reshape(-1, 11)
        st = np.asarray(b.state, dtype=np.int64).reshape(-1, 1).astype(str).astype(object)
        jl = [" ".join(r) for r in np.concatenate([j, st], axis=1)]
        ints = np.asarray(np.round(b.info[:, :6]), dtype=np.int64).astype(str).astype(object)
        lean = np.array(_g(b.info[:, 6:8]), dtype=object).reshape(-1, 2)
        trk = np.asarray(np.round(b.info[:, 8:9]), dtype=np.int64).astype(str).astype(object)
        il = [f"{b.body_id} " + " ".join(r) for r in np.concatenate([ints, lean, trk], axis=1)]
        text[id(b)] = (il, jl)
    out = [str(n_frames)]
    for present in per_frame:
        out.append(str(len(present)))
        for b, k in present:
            il, jl = text[id(b)]
            out.append(il[k])
            out.append(str(N_JOINTS))
            out.extend(jl[k * N_JOINTS : (k + 1) * N_JOINTS])
    from skellm.io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_bytes(("\n".join(out) + "\n").encode("ascii"))  # bytes: no newline translation


def read_ntu(path: str | Path, max_bodies: int = 2, fps: float = 30.0, **_opts) -> Motion:
    """Read an NTU RGB+D .skeleton file, keeping the main actor(s) by motion energy."""
    from skellm.readers.bvh import _decode

    path = Path(path)
    tokens = _decode(path, path.read_bytes()).split("\n")
    lines = [ln.split() for ln in tokens if ln.strip()]
    bodies: dict[str, dict] = {}
    try:
        n_frames = int(lines[0][0])
        k = 1
        for f in range(n_frames):
            n_bodies = int(lines[k][0])
            k += 1
            for _ in range(n_bodies):
                info = lines[k]
                if len(info) != 10:
                    raise ReadError(path, f"frame {f + 1}: body line has {len(info)} values, expected 10")
                body_id = info[0]
                n_j = int(lines[k + 1][0])
                if n_j != N_JOINTS:
                    raise ReadError(path, f"frame {f + 1}: body has {n_j} joints, expected 25")
                rows = lines[k + 2 : k + 2 + n_j]
                if len(rows) != n_j:
                    raise IndexError
                if any(len(r) != 12 for r in rows):
                    raise ReadError(path, f"frame {f + 1}: joint lines must hold 12 values each")
                vals = np.array(rows, dtype=np.float64)
                b = bodies.setdefault(body_id, {"frames": [], "xyz": [], "quat": [], "state": []})
                b["frames"].append(f)
                b["xyz"].append(vals[:, 0:3])
                b["quat"].append(vals[:, 7:11])
                b["state"].append(vals[:, 11])
                k += 2 + n_j
    except IndexError:
        raise ReadError(path, "truncated .skeleton file") from None
    except ValueError as exc:
        raise ReadError(path, f"non-numeric value in .skeleton file ({exc})") from None
    if k != len(lines):
        raise ReadError(path, f"{len(lines) - k} unexpected lines after the declared {n_frames} frames")

    ranked = _rank_bodies(bodies)[: max(1, max_bodies)]
    n_b = len(ranked)
    pos = np.zeros((n_frames, n_b * N_JOINTS, 3))
    ori = np.zeros((n_frames, n_b * N_JOINTS, 4))
    tracked = np.zeros((n_frames, n_b * N_JOINTS), dtype=bool)
    for bi, body_id in enumerate(ranked):
        b = bodies[body_id]
        fr = np.asarray(b["frames"])
        sl = slice(bi * N_JOINTS, (bi + 1) * N_JOINTS)
        pos[fr, sl] = np.stack(b["xyz"])
        ori[fr, sl] = np.stack(b["quat"])
        tracked[fr, sl] = np.stack(b["state"]) > 0
    names = list(KINECT_V2.joint_names)
    parents = list(KINECT_V2.parents)
    for bi in range(1, n_b):
        names += [f"{n}_b{bi + 1}" for n in KINECT_V2.joint_names]
        parents += [p + bi * N_JOINTS if p >= 0 else -1 for p in KINECT_V2.parents]
    return Motion(
        positions=pos.astype(np.float32),
        joint_names=names,
        parents=parents,
        fps=float(fps),
        source_path=str(path),
        fmt="ntu",
        units="m",
        up_axis="y",
        tracked=tracked,
        layout=KINECT_V2.name if n_b == 1 else None,
        orientations=ori.astype(np.float32),
        meta={"body_ids": ranked, "n_bodies_seen": len(bodies), "joints_per_body": N_JOINTS},
    )


def _rank_bodies(bodies: dict[str, dict]) -> list[str]:
    """Body IDs by descending motion energy, noise bodies (too few frames) dropped unless all are."""
    if not bodies:
        return []
    long_enough = [b for b in bodies if len(bodies[b]["frames"]) >= NOISE_MIN_FRAMES]
    candidates = long_enough or list(bodies)

    def energy(body_id: str) -> float:
        xyz = np.stack(bodies[body_id]["xyz"])  # (frames, 25, 3)
        return float(xyz.var(axis=0).sum()) if xyz.shape[0] > 1 else 0.0

    return sorted(candidates, key=lambda b: (-energy(b), b))
