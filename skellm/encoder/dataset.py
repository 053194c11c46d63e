"""Split Parquet -> padded skeleton tensors, masks, per-layout graphs, and CTR-GCN-style augmentation.

A :class:`SkeletonSet` holds one split in memory: positions (N, T, Jmax, 3) zero-padded past each take's
joints, a joint mask, each take's layout index into its own graph list (so native mode's mixed rigs
each use their own bone graph), and integer labels over the union of classes in labels.json.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from skellm.config import AugmentConfig
from skellm.data.labelspace import LabelSpace
from skellm.encoder.graph import spatial_partitions
from skellm.layouts import mirror_permutation

DEFAULT_FPS = 30.0
MODEL_INPUTS = ("x", "adj", "joint_mask", "time_mask", "fps")  # item keys, in SkeletonEncoder's order
META_COLUMNS = ("take_id", "corpus", "intensity", "description", "split")
NO_AUGMENT = AugmentConfig(rotate=0.0, mirror=0.0, crop_min=1.0)


@dataclass
class SkeletonSet:
    """One split in memory, ready for the GCN."""

    positions: np.ndarray  # (N, T, Jmax, 3) float32
    joint_mask: np.ndarray  # (N, Jmax) bool
    time_mask: np.ndarray  # (N, T) bool
    layout: np.ndarray  # (N,) int, index into layouts/adjacency
    layouts: list[tuple[tuple[str, ...], tuple[int, ...]]]
    adjacency: np.ndarray  # (L, 3, Jmax, Jmax) float32
    labels: np.ndarray  # (N,) int64, -1 where the label is missing or unknown
    meta: list[dict]  # per take: take_id, corpus, label, intensity, description, split
    fps: np.ndarray  # (N,) float32 frame rate of the stored frames

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def corpora(self) -> np.ndarray:
        return np.array([m["corpus"] for m in self.meta])

    def subset(self, idx: np.ndarray) -> SkeletonSet:
        """The takes at ``idx`` (same padding and graphs)."""
        return SkeletonSet(
            self.positions[idx],
            self.joint_mask[idx],
            self.time_mask[idx],
            self.layout[idx],
            self.layouts,
            self.adjacency,
            self.labels[idx],
            [self.meta[i] for i in idx],
            self.fps[idx],
        )


def from_rows(
    rows: list[dict], classes: list[str], label_field: str, n_max: int | None = None
) -> SkeletonSet:
    """Build a SkeletonSet from take-table rows (dicts with positions flat, n_frames, joint_names...)."""
    from skellm.data.table import row_positions

    if not rows:
        raise ValueError("no takes to encode")
    jmax = n_max or max(int(r["n_joints"]) for r in rows)
    tmax = max(int(r["n_frames"]) for r in rows)
    n = len(rows)
    pos = np.zeros((n, tmax, jmax, 3), dtype=np.float32)
    jm = np.zeros((n, jmax), dtype=bool)
    tm = np.zeros((n, tmax), dtype=bool)
    lay = np.zeros(n, dtype=np.int64)
    layouts: list[tuple[tuple[str, ...], tuple[int, ...]]] = []
    labels = np.full(n, -1, dtype=np.int64)
    fps = np.array([float(r.get("fps") or DEFAULT_FPS) for r in rows], dtype=np.float32)
    index = {c: i for i, c in enumerate(classes)}
    meta = []
    for i, r in enumerate(rows):
        t, j = int(r["n_frames"]), int(r["n_joints"])
        pos[i, :t, :j] = row_positions(r)
        jm[i, :j] = True
        tm[i, :t] = True
        key = (tuple(r["joint_names"]), tuple(int(p) for p in r["parents"]))
        if key not in layouts:
            layouts.append(key)
        lay[i] = layouts.index(key)
        label = r.get(label_field)
        labels[i] = index.get(label, -1) if label is not None else -1
        meta.append(
            {
                "take_id": r.get("take_id"),
                "corpus": r.get("corpus"),
                "label": label,
                "intensity": r.get("intensity"),
                "description": r.get("description"),
                "split": r.get("split"),
            }
        )
    adjacency = np.stack([spatial_partitions(p, jmax) for _, p in layouts])
    return SkeletonSet(pos, jm, tm, lay, layouts, adjacency, labels, meta, fps)


def load_split(
    path: str | os.PathLike, labels: LabelSpace, n_max: int | None = None, corpora: list[str] | None = None
) -> SkeletonSet:
    """Read ``data/split/<split>.parquet`` (docs/contracts.md) into a SkeletonSet."""
    from skellm.data.table import read_takes, take_rows

    cols = ["positions", "n_frames", "n_joints", "joint_names", "parents", "fps", labels.field, *META_COLUMNS]
    table = read_takes(path)
    optional = ("intensity", "description", "split", "fps")
    missing = [c for c in cols if c not in table.column_names and c not in optional]
    if missing:
        raise ValueError(f"{path}: missing columns {', '.join(missing)}")
    rows = take_rows(table.select([c for c in cols if c in table.column_names]))
    if corpora is not None:
        rows = [r for r in rows if r["corpus"] in corpora]
    return from_rows(rows, labels.classes, labels.field, n_max)


def random_rotation(rng: np.random.Generator, theta: float) -> np.ndarray:
    """CTR-GCN's random_rot: rotations about x, y, z by angles uniform in [-theta, theta]."""
    ax, ay, az = rng.uniform(-theta, theta, 3)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), np.sin(ax)], [0, -np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, -np.sin(ay)], [0, 1, 0], [np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), np.sin(az), 0], [-np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return (rz @ ry @ rx).astype(np.float32)


def mirror(x: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Left-right mirror of (T, V, 3) positions in the harmonized frame (Y up, facing +Z: X is lateral)."""
    out = x.copy()
    out[:, : len(perm)] = x[:, perm]
    out[..., 0] *= -1
    return out


def valid_crop_resize(x: np.ndarray, start: int, length: int) -> np.ndarray:
    """Take ``length`` frames from ``start`` and linearly resample them to ``len(x)`` frames."""
    from skellm.data.harmonize import interpolate_frames

    seg = x[start : start + length]
    return interpolate_frames(seg, np.linspace(0, length - 1, x.shape[0])).astype(x.dtype, copy=False)


class SkeletonDataset:
    """torch Dataset over a SkeletonSet; augmentation seeded by (seed, epoch, index) so runs resume exactly.

    ``augment`` (params ``encoder.augment``; None: no augmentation): rotate theta radians (0 = off),
    crop_min the lowest kept fraction p of the valid frames (1 = off), mirror the probability of a
    left-right mirror (0 = off). Items are dicts: x (3, T, V),
    adj (3, V, V), joint_mask (V,), time_mask (T,), fps (the frame rate of x after any crop-and-resize,
    so motion stays in real time), label, index.
    """

    def __init__(self, data: SkeletonSet, augment: AugmentConfig | None = None, seed: int = 0):
        self.data = data
        self.augment = augment or NO_AUGMENT
        self.seed = seed
        self.epoch = 0
        self.mirrors = (  # pairings only where used: inference and BN recalibration never mirror
            [mirror_permutation(names) for names, _ in data.layouts] if self.augment.mirror > 0 else []
        )

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> dict:
        import torch

        d = self.data
        x = d.positions[i]
        fps = float(d.fps[i])
        theta, crop_min, flip = self.augment.rotate, self.augment.crop_min, self.augment.mirror
        if theta > 0 or crop_min < 1 or flip > 0:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            n_valid = int(d.time_mask[i].sum())
            if crop_min < 1 and n_valid > 2:
                p = rng.uniform(crop_min, 1.0)
                length = max(2, min(n_valid, int(np.floor(p * n_valid))))
                start = int(rng.integers(0, n_valid - length + 1))
                x = x.copy()
                x[:n_valid] = valid_crop_resize(x[:n_valid], start, length)
                fps *= (n_valid - 1) / (length - 1)
            if theta > 0:
                x = x @ random_rotation(rng, theta).T
            if flip > 0 and rng.random() < flip:
                x = mirror(x, self.mirrors[d.layout[i]])
        return {
            "x": torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)),
            "adj": torch.from_numpy(d.adjacency[d.layout[i]]),
            "joint_mask": torch.from_numpy(d.joint_mask[i]),
            "time_mask": torch.from_numpy(d.time_mask[i]),
            "fps": torch.tensor(fps, dtype=torch.float32),
            "label": int(d.labels[i]),
            "index": i,
        }


class LayoutBatchSampler:
    """Batches that each hold takes of one skeleton layout, shuffled per ``(seed, epoch)``.

    Mixing a 72-joint rig into every batch would pad all takes to 72 joints; grouping by layout lets
    each batch run at its own joint count (CTR-GCN's cost grows with joints squared). The epoch is read
    from ``dataset.epoch`` (set by :meth:`SkeletonDataset.set_epoch`), so the order is reproducible and
    a resumed run sees the same batches.
    """

    def __init__(self, dataset: SkeletonDataset, batch_size: int, seed: int = 0, drop_last: bool = True):
        self.dataset = dataset
        self.batch_size = batch_size
        self.seed = seed
        self.drop_last = drop_last
        lay = dataset.data.layout
        self.groups = [np.flatnonzero(lay == g) for g in np.unique(lay)]

    def _batches(self) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.dataset.epoch, 1])
        out = []
        for g in self.groups:
            g = rng.permutation(g)
            n = (
                len(g) // self.batch_size
                if (self.drop_last and len(g) >= self.batch_size)
                else -(-len(g) // self.batch_size)
            )
            out += [g[i * self.batch_size : (i + 1) * self.batch_size] for i in range(n)]
        return [out[i] for i in rng.permutation(len(out))]

    def __iter__(self):
        for b in self._batches():
            yield b.tolist()

    def __len__(self) -> int:
        return len(self._batches())
