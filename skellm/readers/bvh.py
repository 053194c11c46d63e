"""BVH (Biovision hierarchy): reader, writer and vectorised forward kinematics.

Conventions (those of Blender, Mixamo, CMU, LAFAN1 and the Xsens / Perception Neuron exporters):
rotation channels are intrinsic Euler angles in degrees applied in the order they are listed, so
``Zrotation Xrotation Yrotation`` gives ``R = Rz @ Rx @ Ry`` acting on column vectors. Position channels
replace the joint's OFFSET (root translation, or a non-root joint's local translation). End Sites become
joints named ``<parent name>_End`` with identity rotation. Namespace prefixes such as ``mixamorig:`` are
stripped from joint names and kept in ``meta["namespace"]``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from skellm.readers.base import Motion, ReadError

_AXES = {"X": 0, "Y": 1, "Z": 2}
_ROT_RE = re.compile(r"^([XYZ])rotation$", re.IGNORECASE)
_POS_RE = re.compile(r"^([XYZ])position$", re.IGNORECASE)


def euler_to_matrix(angles_deg: np.ndarray, order: str) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of intrinsic Euler angles (..., 3) in degrees, axes in ``order``."""
    order = order.upper()
    if len(order) != 3 or any(a not in _AXES for a in order):
        raise ValueError(f"rotation order must be three of X, Y, Z, got {order!r}")
    a = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    out = None
    for k, axis in enumerate(order):
        c, s = np.cos(a[..., k]), np.sin(a[..., k])
        m = np.zeros(a.shape[:-1] + (3, 3))
        i = _AXES[axis]
        j, l = (i + 1) % 3, (i + 2) % 3
        m[..., i, i] = 1.0
        m[..., j, j] = c
        m[..., l, l] = c
        m[..., j, l] = -s
        m[..., l, j] = s
        out = m if out is None else out @ m
    return out


def _depth_levels(parents: list[int] | np.ndarray) -> list[np.ndarray]:
    """Joint indices grouped by depth in the tree (roots first)."""
    parents = [int(p) for p in parents]
    depth = [0] * len(parents)
    for j, p in enumerate(parents):
        if p >= j:
            raise ValueError(f"joint {j} has parent {p}: parents must precede children")
        depth[j] = 0 if p < 0 else depth[p] + 1
    depth_arr = np.asarray(depth)
    return [np.flatnonzero(depth_arr == d) for d in range(int(depth_arr.max(initial=0)) + 1)]


def forward_kinematics(
    offsets: np.ndarray,
    parents: list[int] | np.ndarray,
    rotations_deg: np.ndarray,
    root_translation: np.ndarray,
    order: str | list[str] = "ZXY",
) -> np.ndarray:
    """World joint positions (T, J, 3), float64, computed for all frames at once.

    offsets: (J, 3) rest offsets from each joint's parent, or (T, J, 3) local translations per frame
    (BVH position channels). rotations_deg: (T, J, 3) local Euler angles in degrees, listed in
    ``order`` (one order for all joints, or one per joint). root_translation: (T, 3) position of
    every root joint (parent -1), replacing its offset.
    """
    rot = np.asarray(rotations_deg, dtype=np.float64)
    n_frames, n_joints = rot.shape[:2]
    off = np.asarray(offsets, dtype=np.float64)
    local_t = np.broadcast_to(off, (n_frames, n_joints, 3)).copy()
    parents_arr = np.asarray(parents, dtype=np.int64)
    roots = np.flatnonzero(parents_arr < 0)
    local_t[:, roots] = np.asarray(root_translation, dtype=np.float64)[:, None, :]

    orders = [order] * n_joints if isinstance(order, str) else list(order)
    local_r = np.empty((n_frames, n_joints, 3, 3))
    for o in set(orders):
        idx = [j for j in range(n_joints) if orders[j] == o]
        local_r[:, idx] = euler_to_matrix(rot[:, idx], o)

    world_r = np.empty_like(local_r)
    world_t = np.empty_like(local_t)
    for level in _depth_levels(parents_arr):
        p = parents_arr[level]
        if p[0] < 0:  # roots: depth 0
            world_r[:, level] = local_r[:, level]
            world_t[:, level] = local_t[:, level]
            continue
        pr = world_r[:, p]
        world_r[:, level] = pr @ local_r[:, level]
        world_t[:, level] = world_t[:, p] + np.einsum("tjab,tjb->tja", pr, local_t[:, level])
    return world_t


def write_bvh(
    path: str | Path,
    joint_names: list[str],
    parents: list[int],
    offsets: np.ndarray,
    rotations: np.ndarray,
    root_translation: np.ndarray,
    fps: float,
    order: str = "ZXY",
    end_sites: dict[int, np.ndarray] | None = None,
) -> None:
    """Write a BVH file: 6 channels on the root (position then rotation), 3 rotation channels elsewhere.

    rotations: (T, J, 3) Euler degrees listed in ``order``; root_translation (T, 3) and offsets (J, 3)
    in the caller's units; ``end_sites[j]`` adds an End Site under joint j with that offset.
    Joints must be listed parents first with a single root (index 0).
    """
    order = order.upper()
    n_joints = len(joint_names)
    rot = np.asarray(rotations, dtype=np.float64)
    trans = np.asarray(root_translation, dtype=np.float64)
    off = np.asarray(offsets, dtype=np.float64)
    if rot.shape[1:] != (n_joints, 3) or trans.shape != (rot.shape[0], 3) or off.shape != (n_joints, 3):
        raise ValueError("write_bvh: shapes of rotations (T,J,3), root_translation (T,3), offsets (J,3)")
    if parents[0] != -1 or any(p < 0 or p >= j for j, p in enumerate(parents) if j > 0):
        raise ValueError("write_bvh: joint 0 must be the only root and parents must precede children")
    end_sites = end_sites or {}
    children: dict[int, list[int]] = {j: [] for j in range(n_joints)}
    for j, p in enumerate(parents):
        if p >= 0:
            children[p].append(j)
    rot_ch = " ".join(f"{a}rotation" for a in order)
    lines = ["HIERARCHY"]
    channel_joints: list[int] = []

    def emit(j: int, depth: int) -> None:
        ind = "\t" * depth
        kind = "ROOT" if parents[j] < 0 else "JOINT"
        lines.append(f"{ind}{kind} {joint_names[j]}")
        lines.append(f"{ind}{{")
        lines.append(f"{ind}\tOFFSET {off[j, 0]:.6f} {off[j, 1]:.6f} {off[j, 2]:.6f}")
        if parents[j] < 0:
            lines.append(f"{ind}\tCHANNELS 6 Xposition Yposition Zposition {rot_ch}")
        else:
            lines.append(f"{ind}\tCHANNELS 3 {rot_ch}")
        channel_joints.append(j)
        for c in children[j]:
            emit(c, depth + 1)
        if j in end_sites:
            e = np.asarray(end_sites[j], dtype=np.float64)
            lines.append(f"{ind}\tEnd Site")
            lines.append(f"{ind}\t{{")
            lines.append(f"{ind}\t\tOFFSET {e[0]:.6f} {e[1]:.6f} {e[2]:.6f}")
            lines.append(f"{ind}\t}}")
        lines.append(f"{ind}}}")

    emit(0, 0)
    n_frames = rot.shape[0]
    lines += ["MOTION", f"Frames: {n_frames}", f"Frame Time: {1.0 / fps:.8f}"]
    # Columns in hierarchy (depth-first) order, which differs from the caller's order in general.
    cols = [trans] + [rot[:, j] for j in channel_joints]
    data = np.concatenate(cols, axis=1)
    row = " ".join(["%.6f"] * data.shape[1]) + "\n"
    body = (row * n_frames) % tuple(data.ravel()) if n_frames else ""
    from skellm.io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n" + body)


# ----------------------------------------------------------------------------------------- reader


class _Joint:
    __slots__ = ("name", "parent", "offset", "channels", "is_end")

    def __init__(self, name: str, parent: int, is_end: bool = False):
        self.name = name
        self.parent = parent
        self.offset = np.zeros(3)
        self.channels: list[str] = []
        self.is_end = is_end


def _decode(path: Path, raw: bytes) -> str:
    if not raw.strip():
        raise ReadError(path, "empty file")
    if b"\x00" in raw[:4096]:
        raise ReadError(path, "binary data, not a text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        printable = sum(ch.isprintable() or ch.isspace() for ch in text[:4096])
        if printable < 0.95 * min(len(text), 4096):
            raise ReadError(path, "undecodable text (not UTF-8 or Latin-1)") from None
        return text


def _parse_hierarchy(path: Path, header: str) -> list[_Joint]:
    tokens = header.replace("{", " { ").replace("}", " } ").split()
    if not tokens or tokens[0].upper() != "HIERARCHY":
        raise ReadError(path, "not a BVH file (no HIERARCHY keyword at the start)")
    joints: list[_Joint] = []
    stack: list[int] = []
    pending: _Joint | None = None
    i, n = 1, len(tokens)
    try:
        while i < n:
            tok = tokens[i]
            up = tok.upper()
            if up in ("ROOT", "JOINT"):
                if up == "JOINT" and not stack:
                    raise ReadError(path, f"JOINT {tokens[i + 1]} outside any ROOT")
                pending = _Joint(tokens[i + 1], stack[-1] if (stack and up == "JOINT") else -1)
                i += 2
            elif up == "END":
                if not stack:
                    raise ReadError(path, "End Site outside any joint")
                parent = joints[stack[-1]]
                pending = _Joint(f"{parent.name}_End", stack[-1], is_end=True)
                i += 2  # "End Site"
            elif tok == "{":
                if pending is None:
                    raise ReadError(path, "unexpected '{' in hierarchy")
                joints.append(pending)
                stack.append(len(joints) - 1)
                pending = None
                i += 1
            elif tok == "}":
                if not stack:
                    raise ReadError(path, "unbalanced '}' in hierarchy")
                stack.pop()
                i += 1
            elif up == "OFFSET":
                joints[stack[-1]].offset = np.array([float(t) for t in tokens[i + 1 : i + 4]])
                if joints[stack[-1]].offset.shape != (3,):
                    raise ReadError(path, "OFFSET needs three numbers")
                i += 4
            elif up == "CHANNELS":
                k = int(tokens[i + 1])
                chans = tokens[i + 2 : i + 2 + k]
                j = joints[stack[-1]]
                if len(chans) != k or any(not (_ROT_RE.match(c) or _POS_RE.match(c)) for c in chans):
                    raise ReadError(path, f"bad CHANNELS line for joint {j.name}")
                j.channels = chans
                i += 2 + k
            else:
                raise ReadError(path, f"unexpected token {tok!r} in hierarchy")
    except (IndexError, ValueError) as exc:
        raise ReadError(path, f"corrupt hierarchy ({type(exc).__name__}: {exc})") from None
    if stack:
        raise ReadError(path, "hierarchy is truncated (unclosed '{')")
    if not joints:
        raise ReadError(path, "hierarchy has no joints")
    for j in joints:
        rot = [c for c in j.channels if _ROT_RE.match(c)]
        if j.is_end and j.channels:
            raise ReadError(path, f"End Site under {joints[j.parent].name} has channels")
        if rot and len(rot) != 3:
            raise ReadError(path, f"joint {j.name} has {len(rot)} rotation channels (need 0 or 3)")
    return joints


def _strip_namespace(names: list[str]) -> tuple[list[str], str | None]:
    prefixes = {n.rsplit(":", 1)[0] + ":" for n in names if ":" in n}
    if len(prefixes) != 1:
        return names, None
    (prefix,) = prefixes
    if not all(n.startswith(prefix) for n in names):
        return names, None
    stripped = [n[len(prefix) :] for n in names]
    return (stripped, prefix) if len(set(stripped)) == len(stripped) else (names, None)


def read_bvh(path: str | Path, **_opts) -> Motion:
    """Read a BVH file into a :class:`Motion` (world positions in the file's units, float32)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReadError(path, f"cannot read file ({exc.strerror})") from None
    text = _decode(path, raw)
    m = re.search(r"^\s*MOTION\s*$", text, re.MULTILINE | re.IGNORECASE)
    if m is None:
        if not text.lstrip().upper().startswith("HIERARCHY"):
            raise ReadError(path, "not a BVH file (no HIERARCHY keyword at the start)")
        raise ReadError(path, "truncated BVH: no MOTION section")
    joints = _parse_hierarchy(path, text[: m.start()])
    motion_text = text[m.end() :]
    fm = re.match(r"\s*Frames:\s*(\S+)\s*\n\s*Frame\s+Time:\s*(\S+)[ \t]*(?:\n|$)", motion_text, re.I)
    if fm is None:
        raise ReadError(path, "MOTION section lacks 'Frames:' / 'Frame Time:' lines")
    try:
        n_frames = int(fm.group(1))
        frame_time = float(fm.group(2))
    except ValueError:
        raise ReadError(path, "non-numeric Frames or Frame Time") from None
    if not np.isfinite(frame_time) or frame_time <= 0:
        raise ReadError(path, f"Frame Time must be positive, got {fm.group(2)}")
    n_channels = sum(len(j.channels) for j in joints)
    if n_channels == 0:
        raise ReadError(path, "hierarchy declares no channels")
    body = motion_text[fm.end() :]
    lines = body.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) != n_frames:
        what = "truncated" if len(lines) < n_frames else "extra lines"
        raise ReadError(path, f"{what}: header declares {n_frames} frames, file has {len(lines)} lines")
    if n_frames == 0:
        data = np.zeros((0, n_channels))
    else:
        first = len(lines[0].split())
        if first != n_channels:
            raise ReadError(
                path, f"frame 1 has {first} values but the hierarchy declares {n_channels} channels"
            )
        try:
            flat = np.array(body.split(), dtype=np.float64)
        except ValueError as exc:
            raise ReadError(path, f"non-numeric value in motion data ({exc})") from None
        if flat.size != n_frames * n_channels:
            raise ReadError(
                path,
                f"motion data has {flat.size} values, expected {n_frames} frames x {n_channels} channels",
            )
        data = flat.reshape(n_frames, n_channels)

    positions, orders = _channels_to_positions(joints, data)
    names = [j.name for j in joints]
    names, namespace = _strip_namespace(names)
    fps = 1.0 / frame_time
    if abs(fps - round(fps)) < 1e-3 * fps:
        fps = float(round(fps))
    meta: dict = {"frame_time": frame_time, "n_channels": n_channels, "rotation_orders": sorted(set(orders))}
    if namespace:
        meta["namespace"] = namespace
    meta["end_sites"] = [i for i, j in enumerate(joints) if j.is_end]
    return Motion(
        positions=positions.astype(np.float32),
        joint_names=names,
        parents=[j.parent for j in joints],
        fps=fps,
        source_path=str(path),
        fmt="bvh",
        meta=meta,
    )


def _channels_to_positions(joints: list[_Joint], data: np.ndarray) -> tuple[np.ndarray, list[str]]:
    n_frames, n_joints = data.shape[0], len(joints)
    offsets = np.stack([j.offset for j in joints])
    local_t = None
    rot = np.zeros((n_frames, n_joints, 3))
    orders: list[str] = []
    root_t = np.zeros((n_frames, 3)) + offsets[[j.parent < 0 for j in joints].index(True)]
    col = 0
    for ji, j in enumerate(joints):
        order = "".join(_ROT_RE.match(c).group(1).upper() for c in j.channels if _ROT_RE.match(c)) or "ZXY"
        orders.append(order)
        rk = 0
        for c in j.channels:
            pm = _POS_RE.match(c)
            if pm:
                axis = _AXES[pm.group(1).upper()]
                if j.parent < 0:
                    root_t[:, axis] = data[:, col]
                else:
                    if local_t is None:
                        local_t = np.broadcast_to(offsets, (n_frames, n_joints, 3)).copy()
                    local_t[:, ji, axis] = data[:, col]
            else:
                rot[:, ji, rk] = data[:, col]
                rk += 1
            col += 1
    parents = [j.parent for j in joints]
    roots = [i for i, p in enumerate(parents) if p < 0]
    if len(roots) > 1:  # several ROOTs: each keeps its own translation
        world = np.concatenate(
            [_fk_subtree(joints, offsets, local_t, rot, orders, data, r) for r in roots], axis=1
        )
        order_idx = np.concatenate([_subtree(parents, r) for r in roots])
        out = np.empty_like(world)
        out[:, order_idx] = world
        return out, orders
    world = forward_kinematics(offsets if local_t is None else local_t, parents, rot, root_t, orders)
    return world, orders


def _subtree(parents: list[int], root: int) -> np.ndarray:
    keep = [root]
    for j in range(root + 1, len(parents)):
        if parents[j] in keep:
            keep.append(j)
    return np.asarray(keep)


def _fk_subtree(joints, offsets, local_t, rot, orders, data, root) -> np.ndarray:
    parents = [j.parent for j in joints]
    idx = _subtree(parents, root)
    remap = {int(o): n for n, o in enumerate(idx)}
    sub_parents = [remap[parents[i]] if parents[i] >= 0 else -1 for i in idx]
    n_frames = rot.shape[0]
    lt = np.broadcast_to(offsets, (n_frames, len(joints), 3)) if local_t is None else local_t
    root_t = lt[:, root].copy()
    col = sum(len(j.channels) for j in joints[:root])
    for c in joints[root].channels:
        pm = _POS_RE.match(c)
        if pm:
            root_t[:, _AXES[pm.group(1).upper()]] = data[:, col]
        col += 1
    return forward_kinematics(lt[:, idx], sub_parents, rot[:, idx], root_t, [orders[i] for i in idx])
