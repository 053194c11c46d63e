"""Harmonize takes: metres, Y up, root-centred, facing +Z, resampled, fixed length, native/canonical joints.

One code path for training data and prediction: :func:`harmonize_motion` turns one take (a reader
``Motion`` or a take-table row) into ``(positions (frames, J, 3), joint_names, parents, fps)``.

Choices, following CTR-GCN's NTU preprocessing (``seq_transformation``): the origin is the root joint
(pelvis / Hips / SpineBase) of the *first* frame, not of every frame, so the trajectory stays in the
data (approach and withdrawal are emotion cues); ``center: every_frame`` removes it instead. Facing
is normalised once, from the first frame's hip and shoulder lines, by a rotation about the vertical
axis so the body faces +Z (its left towards +X). Lost joints (``tracked`` False) are interpolated in
time before anything else. Resampling to ``target_fps`` is linear in time; then, as CTR-GCN does,
shorter takes are padded to ``frames`` by repeating the take from its start, and longer ones are
resampled linearly onto ``frames`` evenly spaced instants. A downsampled take's frames are then
further apart in time than ``1 / target_fps``: :func:`output_fps` gives the rate they really have, and
the harmonized table stores it as ``fps`` so speeds computed downstream stay in metres per second.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from skellm.config import PATHS, Config, HarmonizeConfig, Paths
from skellm.data.body import fill_gaps, metres_per_unit
from skellm.data.rigmap import RigMap, declared_map, map_rig, pinned_map
from skellm.layouts import CANONICAL, LAYOUTS, joint_side, match_layout


def to_canonical(
    positions: np.ndarray,
    joint_names: Sequence[str],
    layout: str | None = None,
    parents: Sequence[int] | None = None,
    cfg: HarmonizeConfig | None = None,
) -> np.ndarray:
    """Map (T, J, 3) positions of any humanoid rig onto :data:`skellm.layouts.CANONICAL` (T, 19, 3).

    Declared rigs use their joint map; any other rig (``parents`` given) the automatic map of
    :mod:`skellm.data.rigmap`. ValueError says which canonical joints are missing or why the map's
    confidence is below ``cfg.min_map_confidence``.
    """
    rig = rig_map(positions, joint_names, layout, parents, cfg)
    return np.asarray(positions)[:, rig.indices]


def rig_map(
    positions: np.ndarray | None,
    joint_names: Sequence[str],
    layout: str | None = None,
    parents: Sequence[int] | None = None,
    cfg: HarmonizeConfig | None = None,
) -> RigMap:
    """The canonical map of a take under ``cfg`` (pinned maps, declared maps, automatic); ValueError
    when it is not good enough to use."""
    cfg = cfg or HarmonizeConfig()
    if parents is not None:
        rig = map_rig(joint_names, parents, positions, layout, cfg.joint_maps)
    else:
        found = pinned_map(joint_names, cfg.joint_maps) or declared_map(joint_names, layout)
        if found is None:
            raise ValueError(
                f"no declared joint map fits these {len(joint_names)} joints (no bone graph given)"
            )
        rig = found
    why = rig.reason(cfg.min_map_confidence)
    if why:
        raise ValueError(why)
    return rig


def resampled_length(n: int, fps: float, target_fps: float) -> int:
    """Frames :func:`resample` returns for ``n`` frames at ``fps``."""
    if n < 2 or abs(fps - target_fps) < 1e-9:
        return n
    return int(np.floor((n - 1) * target_fps / fps + 1e-9)) + 1


def resample(positions: np.ndarray, fps: float, target_fps: float) -> np.ndarray:
    """Linear resampling in time from ``fps`` to ``target_fps`` (the first frame is kept)."""
    n = positions.shape[0]
    n_out = resampled_length(n, fps, target_fps)
    if n_out == n:
        return positions
    return interpolate_frames(positions, np.arange(n_out) * (fps / target_fps))


def interpolate_frames(positions: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Positions (len(x), ...) at fractional frame indices ``x``, linear between neighbouring frames."""
    n = positions.shape[0]
    i0 = np.minimum(np.floor(x).astype(int), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (x - i0)[:, None, None]
    return positions[i0] * (1 - w) + positions[i1] * w


def fix_length(positions: np.ndarray, frames: int) -> np.ndarray:
    """CTR-GCN length: repeat a short take from its start, or resample a long one linearly onto
    ``frames`` evenly spaced instants from its first to its last frame."""
    n = positions.shape[0]
    if n == frames:
        return positions
    if n < frames:
        reps = -(-frames // n)
        return np.concatenate([positions] * reps, axis=0)[:frames]
    return interpolate_frames(positions, np.linspace(0, n - 1, frames))


def output_fps(n_frames: int, fps: float, cfg: HarmonizeConfig) -> float:
    """Frame rate of a harmonized take made from ``n_frames`` at ``fps``: ``target_fps``, or lower when
    :func:`fix_length` spread the take's duration over fewer frames."""
    n = resampled_length(n_frames, fps, cfg.target_fps)
    if n <= cfg.frames or cfg.frames < 2:
        return float(cfg.target_fps)
    return float(cfg.target_fps) * (cfg.frames - 1) / (n - 1)


def _side_joint(names: Sequence[str], side: str, parts: Sequence[str]) -> int | None:
    """Index of a joint on ``side`` whose lower-cased name holds one of ``parts`` (fallback match);
    a side letter glued to the part (CMU ASF's ``lhumerus``) counts too."""
    low = [n.lower().replace(" ", "") for n in names]
    for part in parts:
        for i, n in enumerate(low):
            if part in n and (joint_side(names[i]) == side or n.startswith(side + part)):
                return i
    return None


def facing_joints(joint_names: Sequence[str], rig: RigMap | None = None) -> list[tuple[int, int]]:
    """(left, right) index pairs of hips and shoulders used to find which way the body faces: from the
    rig's canonical map where it has a usable one, else by name fragments."""
    if rig is not None and not rig.missing:
        j = rig.joints
        return [(j["l_hip"], j["r_hip"]), (j["l_shoulder"], j["r_shoulder"])]
    pairs = []
    for parts in (
        ("upleg", "upperleg", "hip", "thigh", "femur"),
        ("upperarm", "humerus", "shoulder", "arm"),
    ):
        left, right = _side_joint(joint_names, "l", parts), _side_joint(joint_names, "r", parts)
        if left is not None and right is not None:
            pairs.append((left, right))
    return pairs


def face_plus_z(positions: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Rotate Y-up positions about the vertical axis so the first frame faces +Z (left towards +X)."""
    if not pairs:
        return positions
    across = sum(positions[0, left] - positions[0, right] for left, right in pairs)
    forward_x, forward_z = -across[2], across[0]  # across x up
    if np.hypot(forward_x, forward_z) < 1e-9:
        return positions
    phi = -np.arctan2(forward_x, forward_z)
    c, s = np.cos(phi), np.sin(phi)
    rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return positions @ rot.T


def _as_take(take: Any) -> dict[str, Any]:
    """Normalise a reader Motion or a take-table row (dict) to the fields harmonisation needs."""
    if isinstance(take, Mapping):
        from skellm.data.table import row_positions

        pos = row_positions(take, np.float64)
        trk = take.get("tracked")
        trk = None if trk is None else np.asarray(trk, dtype=bool).reshape(pos.shape[:2])
        get = take.get
    else:
        pos = np.asarray(take.positions, dtype=np.float64)
        trk = None if take.tracked is None else np.asarray(take.tracked, dtype=bool)

        def get(k: str, default: Any = None) -> Any:
            return getattr(take, {"format": "fmt"}.get(k, k), default)

    return dict(
        positions=pos,
        tracked=trk,
        joint_names=list(get("joint_names")),
        parents=[int(p) for p in get("parents")],
        fps=float(get("fps")),
        units=get("units", "unknown") or "unknown",
        up_axis=get("up_axis", "y") or "y",
        layout=get("layout"),
    )


def _drop_end_sites(names: list[str], parents: list[int]) -> tuple[list[int], list[str], list[int]]:
    keep = [j for j, n in enumerate(names) if not n.endswith("_End")]
    new_index = {old: new for new, old in enumerate(keep)}
    return keep, [names[j] for j in keep], [new_index.get(parents[j], -1) for j in keep]


class Harmonized(NamedTuple):
    """One harmonized take: ``fps`` is the rate of its frames (:func:`output_fps`)."""

    positions: np.ndarray  # (frames, J, 3) float32, metres
    joint_names: list[str]
    parents: list[int]
    fps: float


def harmonize_motion(take: Any, cfg: HarmonizeConfig) -> Harmonized:
    """One take (Motion or take-table row) -> :class:`Harmonized` (positions, names, parents, fps).

    J is the take's own joint count (``native``, End Sites dropped if asked) or 19 (``canonical``).
    """
    t = _as_take(take)
    pos, names, parents = t["positions"], t["joint_names"], t["parents"]
    fps = output_fps(pos.shape[0], t["fps"], cfg)
    if t["tracked"] is not None:
        pos = fill_gaps(pos, ~t["tracked"])
    pos = fix_length(resample(pos, t["fps"], cfg.target_fps), cfg.frames) * metres_per_unit(t["units"])
    if t["up_axis"].lower() == "z":
        pos = np.stack([pos[..., 0], pos[..., 2], -pos[..., 1]], axis=-1)  # rotate -90 deg about X
    if cfg.joints == "canonical":
        pos = pos[:, rig_map(pos, names, t["layout"], parents, cfg).indices]
        names, parents = list(CANONICAL.joint_names), list(CANONICAL.parents)
        pairs = facing_joints(names, declared_map(names, "canonical"))
    else:
        rig = map_rig(names, parents, pos, t["layout"], cfg.joint_maps)
        pairs = facing_joints(names, rig if rig.reason(cfg.min_map_confidence) is None else None)
        if cfg.drop_end_sites:
            keep, names, parents = _drop_end_sites(names, parents)
            pos = pos[:, keep]
            remap = {old: new for new, old in enumerate(keep)}
            pairs = [(remap[a], remap[b]) for a, b in pairs if a in remap and b in remap]
    root = parents.index(-1) if -1 in parents else 0
    pos = pos - (pos[:1, root : root + 1] if cfg.center == "first_frame" else pos[:, root : root + 1])
    pos = face_plus_z(pos, pairs)
    return Harmonized(pos.astype(np.float32), names, parents, fps)


def layout_name(names: Sequence[str], parents: Sequence[int], fmt: str | None) -> str:
    """Layout name of a joint list: the declared layout with exactly these joints, ``<layout>_<J>j`` for a
    declared rig plus End Sites, else a stable ``<format>_<J>j_<hash>``."""
    exact = next((lay for lay in LAYOUTS.values() if lay.joint_names == tuple(names)), None)
    if exact is not None:
        return exact.name
    core = match_layout(list(names))
    if core is not None:
        return f"{core.name}_{len(names)}j"
    return f"{fmt or 'custom'}_{len(names)}j_{_digest(names, parents)}"


def _digest(names: Sequence[str], parents: Sequence[int]) -> str:
    return hashlib.sha256(("|".join(names) + "#" + ",".join(map(str, parents))).encode()).hexdigest()[:8]


def harmonize_table(table: Any, cfg: HarmonizeConfig) -> tuple[Any, dict[str, dict[str, list]]]:
    """Harmonize every row of a take table. Returns (harmonized table, layouts {name: names, parents}).

    Raises ValueError naming every take that cannot be harmonized (e.g. no joint map in canonical mode).
    """
    from tqdm import tqdm

    from skellm.data.table import TAKE_SCHEMA, rows_to_table, take_row, take_rows

    rows, layouts, errors = [], {}, []
    for row in tqdm(take_rows(table), desc="harmonize", unit="take", disable=None):
        try:
            out, names, parents, fps = harmonize_motion(row, cfg)
        except ValueError as exc:
            errors.append(f"{row['take_id']} ({row['source_path']}): {exc}")
            continue
        name = layout_name(names, parents, row["format"])
        graph = {"joint_names": names, "parents": parents}
        if layouts.setdefault(name, graph) != graph:  # same name, other graph: keep them apart
            name = f"{name}_{_digest(names, parents)}"
            layouts.setdefault(name, graph)
        fields_ = {k: v for k, v in row.items() if k in TAKE_SCHEMA.names}
        fields_.update(
            fps=fps,
            joint_names=names,
            parents=parents,
            units="m",
            up_axis="y",
            layout=name,
        )
        for k in ("n_frames", "n_joints", "positions", "tracked"):
            fields_.pop(k)
        rows.append(take_row(out, None, **fields_))
    if errors:
        raise ValueError(f"{len(errors)} take(s) cannot be harmonized: " + " | ".join(errors[:5]))
    return rows_to_table(rows), dict(sorted(layouts.items()))


def harmonize_file(
    src: str | os.PathLike, out: str | os.PathLike, layouts_path: str | os.PathLike, cfg: HarmonizeConfig
) -> int:
    """Harmonize the take table ``src`` into ``out`` and write the layouts JSON. Returns the take count."""
    from skellm.data.table import read_takes, write_takes
    from skellm.io import write_json

    table, layouts = harmonize_table(read_takes(src), cfg)
    write_takes(table, out)
    write_json(layouts_path, layouts)
    return table.num_rows


def run_stage(cfg: Config, paths: Paths = PATHS) -> int:
    """harmonize stage: the validated table -> ``paths.harmonized``/takes.parquet + layouts.json."""
    h = cfg.harmonize
    n = harmonize_file(
        paths.validated / "takes.parquet",
        paths.harmonized / "takes.parquet",
        paths.harmonized / "layouts.json",
        h,
    )
    print(f"harmonize: {n} takes, {h.joints} joints, {h.frames} frames at {h.target_fps} fps")
    return n
