"""BVH (Biovision hierarchy): reader, writer and vectorised forward kinematics.

Conventions (those of Blender, Mixamo, CMU, LAFAN1 and the Xsens / Perception Neuron exporters):
rotation channels are intrinsic Euler angles in degrees applied in the order they are listed, so
``Zrotation Xrotation Yrotation`` gives ``R = Rz @ Rx @ Ry`` acting on column vectors. Position channels
replace the joint's OFFSET (root translation, or a non-root joint's local translation), on any joint
and for the axes they name. End Sites become joints named ``<parent name>_End`` with identity rotation.
Namespace prefixes such as ``mixamorig:`` are stripped from joint names and kept in ``meta["namespace"]``.

What the reader accepts as exporters write it: CR, LF or CRLF line endings; tabs and runs of blanks
anywhere; blank lines and trailing blanks (also inside MOTION), a missing final newline; a UTF-8 BOM
(or UTF-16 text with its BOM); numbers in scientific notation or without a leading zero (``.0083``);
keywords and channel names in any case; joints with zero channels; End Sites or none.

Frame-count policy (the data is the truth, the ``Frames:`` line only a claim):

- every non-blank line after ``Frame Time:`` is one frame and must hold exactly as many numbers as the
  hierarchy declares channels. A line with another count that is not the last one raises ReadError
  naming the frame, its line in the file, the count found and the count expected; so does a last line
  with more numbers than channels;
- a last line with fewer numbers is a partial frame (a copy cut short) and is dropped;
- more complete frames than ``Frames:`` declares (``extra frames: ...``, a header miscount some
  exporters make) and a partial line after all declared frames are *warnings*: every complete frame is
  kept, the reason goes to ``meta["warnings"]`` and is issued as
  :class:`skellm.readers.base.ReadWarning` (``"<path>: <reason>"``);
- fewer complete frames than declared (``truncated: ...``, the file lost data) is a *read problem*:
  the complete frames are kept and the reason goes to ``meta["read_problems"]``, which
  :func:`skellm.readers.read_motion` reports like its own checks, so with ``strict`` (the default,
  what ingest uses) the file is a ReadError and ``skellm inspect`` lists it and exits 1; with
  ``strict=False`` the frames present are there to use.

``meta["frames_declared"]`` keeps the header's count; ``skellm inspect`` lists warnings as problems with
exit 0.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from skellm.readers.base import Motion, ReadError, ReadWarning, quantize

_AXES = {"X": 0, "Y": 1, "Z": 2}
_ROT_RE = re.compile(r"^([XYZ])rotation$", re.IGNORECASE)
_POS_RE = re.compile(r"^([XYZ])position$", re.IGNORECASE)
_FRAMES_RE = re.compile(r"\s*Frames\s*:\s*(\S+)\s*\n\s*Frame\s*Time\s*:\s*(\S+)[ \t]*(?:\n|$)", re.I)
_BOM = b"\xef\xbb\xbf"


def _axis_rotation(axis: str, angle: np.ndarray) -> list[list]:
    """Entries of the rotation by ``angle`` (radians) about ``axis``: the exact ints 0 and 1, else arrays."""
    c, s = np.cos(angle), np.sin(angle)
    i = _AXES[axis]
    j, k = (i + 1) % 3, (i + 2) % 3
    m: list[list] = [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
    m[i][i] = 1
    m[j][j] = m[k][k] = c
    m[j][k], m[k][j] = -s, s
    return m


def _times(x: np.ndarray | int, y: np.ndarray | int) -> np.ndarray | int:
    """x * y where either may be the exact int 0 or 1 (no arithmetic spent on those)."""
    if isinstance(x, int):
        return y if x else 0
    if isinstance(y, int):
        return x if y else 0
    return x * y


def _symbolic_dot(a: list[list], b: list[list]) -> list[list]:
    """3x3 product of nested lists whose entries are arrays or the exact ints 0 and 1: an axis
    rotation is 5/9 zeros and ones, so multiplying out entry by entry costs a fraction of a matmul."""
    out: list[list] = [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
    for r in range(3):
        for c in range(3):
            for k in range(3):
                term = _times(a[r][k], b[k][c])
                if not isinstance(term, int) or term:
                    prev = out[r][c]
                    out[r][c] = term if isinstance(prev, int) and not prev else prev + term
    return out


def _euler_elements(angles: np.ndarray, order: str, out: np.ndarray | None = None) -> np.ndarray:
    """Rotation matrices laid out (3, 3, ...) of intrinsic Euler angles (3, ...) in radians, axes in
    ``order``: every entry one contiguous array, so all joints and frames go through each operation."""
    order = order.upper()
    if len(order) != 3 or any(a not in _AXES for a in order):
        raise ValueError(f"rotation order must be three of X, Y, Z, got {order!r}")
    m = _axis_rotation(order[0], angles[0])
    for k in (1, 2):
        m = _symbolic_dot(m, _axis_rotation(order[k], angles[k]))
    if out is None:
        out = np.empty((3, 3) + angles.shape[1:])
    for r in range(3):
        for c in range(3):
            out[r, c] = m[r][c]
    return out


def euler_to_matrix(angles_deg: np.ndarray, order: str) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of intrinsic Euler angles (..., 3) in degrees, axes in ``order``."""
    a = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    return np.moveaxis(_euler_elements(np.moveaxis(a, -1, 0), order), (0, 1), (-2, -1))


def _local_rotations(angles_deg: np.ndarray, orders: list[str]) -> np.ndarray:
    """(3, 3, M, T) rotations of Euler angles (3, M, T) in degrees, joint m's axes in ``orders[m]``."""
    rad = np.deg2rad(angles_deg)
    if len(set(orders)) <= 1:  # the usual case: one order for the whole rig, no gather
        return _euler_elements(rad, orders[0] if orders else "ZXY")
    out = np.empty((3,) + rad.shape)
    for o in set(orders):
        idx = [m for m, x in enumerate(orders) if x == o]
        out[:, :, idx] = _euler_elements(rad[:, idx], o)
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


def _has_children(parents: np.ndarray) -> np.ndarray:
    """(J,) True for each joint that is some joint's parent."""
    out = np.zeros(len(parents), dtype=bool)
    out[parents[parents >= 0]] = True
    return out


def _rotation_rows(parents: np.ndarray, rotates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(joints whose local rotation FK needs, each joint's row among them or -1). Only joints with
    children need one: a leaf's (an End Site's) rotation moves nothing."""
    need = np.flatnonzero(_has_children(parents) & rotates)
    rows = np.full(len(parents), -1)
    rows[need] = np.arange(need.size)
    return need, rows


def _dot(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """r @ v for rotations r (3, 3, ...) and vectors (3, ...) or matrices (3, 3, ...), broadcast."""
    rk = [r[:, k, None] if v.ndim == r.ndim else r[:, k] for k in range(3)]
    out = rk[0] * v[0]
    out += rk[1] * v[1]
    out += rk[2] * v[2]
    return out


def _world_positions(
    parents: np.ndarray, rows: np.ndarray, local_r: np.ndarray, local_t: np.ndarray, root_t: np.ndarray
) -> np.ndarray:
    """World positions (3, J, T) by tree level: each level's joints in one batch of elementwise products.

    rows: joint j's local rotation is ``local_r[:, :, rows[j]]`` (3, 3, M, T), identity where -1 (only
    joints with children need one); local_t: translations from the parent (3, J, T or 1); root_t:
    world positions of the roots (3, n_roots, T or 1), in joint order.
    """
    n_frames = local_r.shape[-1]
    world_t = np.empty((3, len(parents), n_frames))
    world_r = np.empty((3, 3, len(parents), n_frames))  # filled for joints with children only
    has_kids = _has_children(parents)
    for depth, level in enumerate(_depth_levels(parents)):
        kids = has_kids[level]
        r = rows[level[kids]]
        spin = r >= 0
        if depth == 0:
            world_t[:, level] = root_t
            pr = np.broadcast_to(np.eye(3)[:, :, None, None], (3, 3, r.size, n_frames)).copy()
            pr[:, :, spin] = local_r[:, :, r[spin]]
        else:
            p = parents[level]
            parent_r = world_r[:, :, p]
            world_t[:, level] = world_t[:, p] + _dot(parent_r, local_t[:, level])
            pr = parent_r if kids.all() else parent_r[:, :, kids]
            if spin.all():  # the usual case: no more gathers
                pr = _dot(pr, local_r[:, :, r])
            else:
                pr[:, :, spin] = _dot(pr[:, :, spin], local_r[:, :, r[spin]])
        world_r[:, :, level[kids]] = pr
    return world_t


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
    n_joints = rot.shape[1]
    parents_arr = np.asarray(parents, dtype=np.int64)
    orders = [order] * n_joints if isinstance(order, str) else list(order)
    off = np.asarray(offsets, dtype=np.float64)
    local_t = off.T[:, :, None] if off.ndim == 2 else off.transpose(2, 1, 0)
    root_t = np.asarray(root_translation, dtype=np.float64).T[:, None, :]
    need, rows = _rotation_rows(parents_arr, np.ones(n_joints, dtype=bool))
    angles = np.ascontiguousarray(rot[:, need].transpose(2, 1, 0))
    local_r = _local_rotations(angles, [orders[j] for j in need])
    world = _world_positions(parents_arr, rows, local_r, local_t, root_t)
    return np.ascontiguousarray(world.transpose(2, 1, 0))


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
    rot = quantize(rotations, 6)
    trans = quantize(root_translation, 6)
    off = quantize(offsets, 6)
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
            e = quantize(end_sites[j], 6)
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
    """Text of a BVH file with LF line endings (CR and CRLF become LF; a BOM is dropped)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its BOM (e.g. re-saved by Notepad)
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise ReadError(path, "undecodable UTF-16 text") from None
    else:
        if raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if not raw or raw.isspace():  # (no strip(): it would copy a long take's bytes)
            raise ReadError(path, "empty file")
        if b"\x00" in raw[:4096]:
            raise ReadError(path, "binary data, not a text file")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
            printable = sum(ch.isprintable() or ch.isspace() for ch in text[:4096])
            if printable < 0.95 * min(len(text), 4096):
                raise ReadError(path, "undecodable text (not UTF-8 or Latin-1)") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.lstrip("\ufeff")


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
                # A name runs to the "{": 3ds Max Biped writes "Bip01 L Thigh"
                end = tokens.index("{", i + 1)
                if end == i + 1:
                    raise ReadError(path, f"{tok} without a name")
                name = " ".join(tokens[i + 1 : end])
                pending = _Joint(name, stack[-1] if (stack and up == "JOINT") else -1)
                i = end
            elif up in ("END", "ENDSITE"):
                if not stack:
                    raise ReadError(path, "End Site outside any joint")
                parent = joints[stack[-1]]
                pending = _Joint(f"{parent.name}_End", stack[-1], is_end=True)
                i += 2 if up == "END" else 1  # "End Site" or "EndSite"
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
    """Read a BVH file into a :class:`Motion` (world positions in the file's units, float32).

    Frame-count disagreements follow the policy of the module docstring: complete frames are kept, the
    disagreement is in ``meta["warnings"]`` (also a :class:`ReadWarning`) or, for a truncated file, in
    ``meta["read_problems"]``.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReadError(path, f"cannot read file ({exc.strerror})") from None
    text = _decode(path, raw)
    del raw
    m = re.search(r"^\s*MOTION\s*$", text, re.MULTILINE | re.IGNORECASE)
    if m is None:
        if not text.lstrip().upper().startswith("HIERARCHY"):
            raise ReadError(path, "not a BVH file (no HIERARCHY keyword at the start)")
        raise ReadError(path, "truncated BVH: no MOTION section")
    joints = _parse_hierarchy(path, text[: m.start()])
    fm = _FRAMES_RE.match(text, m.end())
    if fm is None:
        raise ReadError(path, "MOTION section lacks 'Frames:' / 'Frame Time:' lines")
    try:
        declared = int(fm.group(1))
        frame_time = float(fm.group(2))
    except ValueError:
        raise ReadError(path, "non-numeric Frames or Frame Time") from None
    if declared < 0:
        raise ReadError(path, f"Frames must be a count, got {declared}")
    if not np.isfinite(frame_time) or frame_time <= 0:
        raise ReadError(path, f"Frame Time must be positive, got {fm.group(2)}")
    n_channels = sum(len(j.channels) for j in joints)
    if n_channels == 0:
        raise ReadError(path, "hierarchy declares no channels")
    first_line = text.count("\n", 0, fm.end()) + 1
    data = _fast_frames(text[fm.end() :], n_channels)
    if data is not None:
        notes, damage = _frame_count_policy(data.shape[0], declared)
        del text
    else:
        lines = text[fm.end() :].split("\n")
        del text  # a long take's text is hundreds of MB: keep only its lines from here on
        data, notes, damage = _parse_frames(path, lines, n_channels, declared, first_line)
        del lines
    positions, orders = _positions_in_chunks(joints, data)
    names = [j.name for j in joints]
    names, namespace = _strip_namespace(names)
    fps = 1.0 / frame_time
    if abs(fps - round(fps)) < 1e-3 * fps:
        fps = float(round(fps))
    meta: dict = {"frame_time": frame_time, "n_channels": n_channels, "rotation_orders": sorted(set(orders))}
    if namespace:
        meta["namespace"] = namespace
    meta["end_sites"] = [i for i, j in enumerate(joints) if j.is_end]
    meta["frames_declared"] = declared
    meta["warnings"] = notes
    meta["read_problems"] = damage
    for note in notes:
        warnings.warn(f"{path}: {note}", ReadWarning, stacklevel=2)
    return Motion(
        positions=positions,
        joint_names=names,
        parents=[j.parent for j in joints],
        fps=fps,
        source_path=str(path),
        fmt="bvh",
        meta=meta,
    )


def _frame_count_policy(n: int, declared: int, partial: str = "") -> tuple[list[str], list[str]]:
    """(warnings, read problems) of ``n`` complete frames against the ``declared`` count."""
    notes: list[str] = []
    damage: list[str] = []
    claim = f"header declares {declared} frames, file has {n} complete frames"
    if n < declared:  # the file lost data: a read problem
        damage.append(f"truncated: {claim}" + (f" plus {partial})" if partial else ""))
    elif n > declared:  # the header miscounts: a warning
        dropped = f" plus {partial}, dropped)" if partial else ""
        notes.append(f"extra frames: {claim}{dropped}, kept all {n}")
    elif partial:
        notes.append(f"the {declared} declared frames are followed by {partial}, dropped)")
    return notes, damage


_TAB_AS_SPACE = bytes.maketrans(b"\t", b" ")
RESPACE_BLOCK_BYTES = 1 << 24  # respaced this many bytes (to a line end) at a time: bounded temporaries


def _single_spaced(raw: bytes) -> bytes:
    """``raw`` with tabs as spaces, each run of blanks between two numbers one space and the blanks at
    the start and end of lines dropped (blank lines stay, empty). A few vectorised passes over the
    bytes, a block of whole lines at a time: a regular expression substitution takes ~5x as long."""
    parts = []
    start = 0
    while start < len(raw):
        end = raw.find(b"\n", start + RESPACE_BLOCK_BYTES) + 1 or len(raw)
        block = raw[start:end]
        if b"\t" in block:
            block = block.translate(_TAB_AS_SPACE)
        b = np.frombuffer(block, dtype=np.uint8)
        blank = b == ord(" ")
        edge = blank[1:] != blank[:-1]
        first = np.flatnonzero(edge & blank[1:]) + 1  # first blank of each run (but one opening the block)
        last = np.flatnonzero(edge & blank[:-1])  # last blank of each run (but one closing the block)
        if blank[-1:].any():  # pair them up; those two runs are dropped anyway
            first = first[:-1]
        if blank[:1].any():
            last = last[1:]
        between = (b[first - 1] != ord("\n")) & (b[last + 1] != ord("\n"))
        keep = ~blank
        keep[first[between]] = True
        parts.append(b[keep])
        start = end
    return b"".join(p.tobytes() for p in parts)


def _fast_frames(body: str, n_channels: int) -> np.ndarray | None:
    """The frames (T, n_channels) of a MOTION block whose lines all hold n_channels numbers, through
    Arrow's CSV parser (2-4x ``np.fromstring`` on one thread); None for anything else (a partial, ragged or
    non-numeric line, non-ASCII text), which the line-by-line path then reads and reports. Lines laid
    out alike (one blank between numbers, or the same runs of blanks on every line) are read as they
    are; tabs and blanks that vary from line to line are first respaced. The array is column-major,
    one contiguous row per channel, the layout forward kinematics gathers from."""
    if not body or not body.isascii():
        return None
    # The bytes are a temporary of each call, gone before the columns become one array (a long take's
    # text, its bytes, Arrow's columns and the array would otherwise all be held at once).
    cols = _arrow_columns(body.encode("ascii"), n_channels)
    if cols is None:  # tabs, or blanks that vary from line to line
        cols = _arrow_columns(_single_spaced(body.encode("ascii")), n_channels)
    if cols is None:
        return None
    out = np.empty((n_channels, len(cols[0])), dtype=np.float64)
    for i in range(n_channels):
        out[i] = cols[i].to_numpy()
        cols[i] = None  # Arrow's memory goes back as the array fills
    return out.T


_LEADING_NEWLINES = re.compile(rb"\n*")


def _arrow_columns(raw: bytes, n_channels: int) -> list | None:
    """The n_channels float64 columns (Arrow arrays) of MOTION lines that all share the first line's
    layout of numbers and blanks (see :func:`_fast_frames`), else None."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    # Split on single blanks, a run of k blanks is k-1 empty fields: typed null, they must stay empty
    # on every line, so a number that moved or came in addition is an error, not a value read wrong.
    start = _LEADING_NEWLINES.match(raw).end()
    end = raw.find(b"\n", start)
    is_number = [bool(f) for f in raw[start : end if end >= 0 else len(raw)].split(b" ")]
    if sum(is_number) != n_channels:
        return None
    try:
        table = pcsv.read_csv(
            pa.py_buffer(raw),
            read_options=pcsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24),
            # no quoting: '"1.0"' is not a number in BVH (the line path rejects it too)
            parse_options=pcsv.ParseOptions(delimiter=" ", quote_char=False),
            convert_options=pcsv.ConvertOptions(
                column_types={f"f{i}": pa.float64() if x else pa.null() for i, x in enumerate(is_number)},
                null_values=[""],  # not "NA", "null"...: a null column would take those silently
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None  # a line with another number of fields, or a field that is not its column's type
    cols = [c for c, x in zip(table.columns, is_number, strict=True) if x]
    if any(c.null_count for c in cols):
        return None  # a number missing where the first line has one
    return cols


PARSE_CHUNK_LINES = 65536  # lines converted per C call: bounded temporaries for long takes


def _parse_frames(
    path: Path, lines: list[str], n_channels: int, declared: int, first_line: int
) -> tuple[np.ndarray, list[str], list[str]]:
    """(frames (T, n_channels), warnings, read problems) of the MOTION data lines after ``Frame Time:``.

    ``first_line``: the file's line number of ``lines[0]``. Counting values per line is one
    ``str.split`` per line; the numbers are converted by one C call per chunk of lines.
    """
    counts = np.fromiter((len(ln.split()) for ln in lines), dtype=np.intp, count=len(lines))
    rows = np.flatnonzero(counts)
    wrong = np.flatnonzero(counts[rows] != n_channels)
    partial = ""
    end = len(lines)
    if wrong.size:
        k = int(wrong[0])
        found = int(counts[rows[k]])
        if k < rows.size - 1 or found > n_channels:
            raise ReadError(
                path,
                f"frame {k + 1} (line {first_line + int(rows[k])}) has {found} values"
                f" but the hierarchy declares {n_channels} channels",
            )
        partial = f"a partial last line ({found} of {n_channels} values"  # closed below
        end = int(rows[k])
        rows = rows[:k]
    n = int(rows.size)
    notes, damage = _frame_count_policy(n, declared, partial)
    if n == 0:
        return np.zeros((0, n_channels)), notes, damage
    flat = np.empty(n * n_channels, dtype=np.float64)
    done = 0
    for a in range(0, end, PARSE_CHUNK_LINES):
        b = min(end, a + PARSE_CHUNK_LINES)
        want = int(counts[a:b].sum())
        try:
            part = np.fromstring(" ".join(lines[a:b]), dtype=np.float64, sep=" ")
        except ValueError:  # a token that is not a number (or whitespace numpy does not know)
            part = None
        if part is None or part.size != want:
            return _floats_slowly(path, lines, rows, first_line).reshape(n, n_channels), notes, damage
        flat[done : done + want] = part
        done += want
    return flat.reshape(n, n_channels), notes, damage


def _floats_slowly(path: Path, lines: list[str], rows: np.ndarray, first_line: int) -> np.ndarray:
    """Numbers of the given lines with Python's float syntax; ReadError names the first bad one."""
    tokens = [t for r in rows for t in lines[r].split()]
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError:
        pass
    for k, r in enumerate(rows):
        for tok in lines[r].split():
            try:
                float(tok)
            except ValueError:
                where = f"frame {k + 1}, line {first_line + int(r)}"
                raise ReadError(path, f"non-numeric value {tok[:20]!r} in motion data ({where})") from None
    raise ReadError(path, "non-numeric value in motion data")


FK_CHUNK_FRAMES = 1024  # frames per FK batch: flat memory for long takes, temporaries that stay in cache


class _ChannelMap:
    """Where each joint's channels sit among the MOTION columns, worked out once per file."""

    def __init__(self, joints: list[_Joint]):
        self.parents = np.asarray([j.parent for j in joints], dtype=np.int64)
        self.offsets = np.stack([j.offset for j in joints])
        self.roots = np.flatnonzero(self.parents < 0)
        root_slot = {int(r): k for k, r in enumerate(self.roots)}
        self.orders: list[str] = []
        rot_cols = np.zeros((len(joints), 3), dtype=np.int64)
        # (joint or root slot, axis, column) of each position channel, on roots and on other joints
        self.root_pos: list[tuple[int, int, int]] = []
        self.joint_pos: list[tuple[int, int, int]] = []
        col = 0
        for ji, j in enumerate(joints):
            axes = ""
            for c in j.channels:
                pm = _POS_RE.match(c)
                if pm:
                    axis = _AXES[pm.group(1).upper()]
                    if j.parent < 0:
                        self.root_pos.append((root_slot[ji], axis, col))
                    else:
                        self.joint_pos.append((ji, axis, col))
                else:
                    rot_cols[ji, len(axes)] = col
                    axes += _ROT_RE.match(c).group(1).upper()
                col += 1
            self.orders.append(axes or "ZXY")
        rotates = np.asarray([any(_ROT_RE.match(c) for c in j.channels) for j in joints])
        self.need, self.rows = _rotation_rows(self.parents, rotates)
        self.rot_cols = np.ascontiguousarray(rot_cols[self.need].T)  # (3, M): angle k of needed joint m

    def world(self, data: np.ndarray) -> np.ndarray:
        """World positions (3, J, T) of frames ``data`` (T, n_channels)."""
        cols = data.T  # (n_channels, T): one row per channel
        n = data.shape[0]
        angles = np.take(cols, self.rot_cols, axis=0)  # (3, M, T), contiguous whatever data's layout
        local_r = _local_rotations(angles, [self.orders[j] for j in self.need])
        local_t = self.offsets.T[:, :, None]
        if self.joint_pos:  # position channels below the roots (Blender writes them on every joint)
            local_t = np.repeat(local_t, n, axis=2)
            for ji, axis, col in self.joint_pos:
                local_t[axis, ji] = cols[col]
        root_t = np.repeat(self.offsets[self.roots].T[:, :, None], n, axis=2)
        for k, axis, col in self.root_pos:
            root_t[axis, k] = cols[col]
        return _world_positions(self.parents, self.rows, local_r, local_t, root_t)


def _positions_in_chunks(joints: list[_Joint], data: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """World positions (T, J, 3) float32, computed in float64 a chunk of frames at a time (an hour at
    120 Hz would otherwise hold several GB of rotation matrices)."""
    out = np.empty((data.shape[0], len(joints), 3), dtype=np.float32)
    fk = _ChannelMap(joints)
    for a in range(0, data.shape[0], FK_CHUNK_FRAMES):
        world = fk.world(data[a : a + FK_CHUNK_FRAMES])
        out[a : a + world.shape[-1]] = world.transpose(2, 1, 0)
    return out, fk.orders
