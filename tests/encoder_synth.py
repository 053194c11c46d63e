"""A tiny split (train/test Parquet + labels.json, per docs/contracts.md) with two rigs and learnable cues."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from skellm.layouts import KINECT_V2, XSENS23

CORPORA = {"A": (XSENS23, ["anger", "joy", "sadness"]), "C": (KINECT_V2, ["anger", "happiness", "sadness"])}
# per label: (oscillation cycles in 64 frames, amplitude m, forward lean m)
CUES = {
    "anger": (6.0, 0.12, 0.0),
    "joy": (3.0, 0.10, 0.0),
    "happiness": (3.0, 0.10, 0.0),
    "sadness": (1.0, 0.03, 0.15),
}


def _rest(parents, rng):
    pos = np.zeros((len(parents), 3))
    for j, p in enumerate(parents):
        if p >= 0:
            pos[j] = pos[p] + rng.normal(0, 1, 3) * np.array([0.1, 0.15, 0.05])
    return pos


def make_take(layout, label, rng, frames=64):
    rest = _rest(layout.parents, np.random.default_rng(len(layout.parents)))
    cyc, amp, lean = CUES[label]
    t = np.arange(frames) / frames
    phase = rng.uniform(0, 2 * np.pi)
    amp = amp * rng.uniform(0.7, 1.3)
    depth = np.array([_depth(layout.parents, j) for j in range(len(layout.parents))])[None, :, None]
    wave = np.sin(2 * np.pi * cyc * t + phase)[:, None, None] * amp * depth / depth.max()
    pos = rest[None] + wave * np.array([1.0, 0.3, 0.5]) + np.array([0, 0, lean]) * depth / depth.max()
    return (pos + rng.normal(0, 0.01, pos.shape)).astype(np.float32)


def _depth(parents, j):
    d = 0
    while parents[j] >= 0:
        j, d = parents[j], d + 1
    return d


def make_split(root: Path, n_per_label: int = 10, seed: int = 0, test_fraction: float = 0.3) -> Path:
    """Write root/{train,test}.parquet and labels.json; return root."""
    rng = np.random.default_rng(seed)
    rows = {"train": [], "test": []}
    for corpus, (layout, labels) in CORPORA.items():
        for label in labels:
            for k in range(n_per_label):
                pos = make_take(layout, label, rng)
                split = "test" if k < round(n_per_label * test_fraction) else "train"
                rows[split].append(
                    {
                        "take_id": f"{corpus}/{label}_{k:03d}",
                        "corpus": corpus,
                        "emotion": label,
                        "intensity": float(rng.uniform(0.3, 1.0)),
                        "description": f"moves like {label}" if k % 3 == 0 else None,
                        "fps": 30.0,
                        "n_frames": 64,
                        "n_joints": layout.n_joints,
                        "joint_names": list(layout.joint_names),
                        "parents": list(layout.parents),
                        "positions": pos.ravel().tolist(),
                        "split": split,
                    }
                )
    root.mkdir(parents=True, exist_ok=True)
    schema = pa.schema(
        [
            ("take_id", pa.string()),
            ("corpus", pa.string()),
            ("emotion", pa.string()),
            ("intensity", pa.float32()),
            ("description", pa.string()),
            ("fps", pa.float64()),
            ("n_frames", pa.int32()),
            ("n_joints", pa.int32()),
            ("joint_names", pa.list_(pa.string())),
            ("parents", pa.list_(pa.int32())),
            ("positions", pa.list_(pa.float32())),
            ("split", pa.string()),
        ]
    )
    for split, r in rows.items():
        pq.write_table(pa.Table.from_pylist(r, schema=schema), root / f"{split}.parquet", compression="zstd")
    classes = sorted({lab for _, labs in CORPORA.values() for lab in labs})
    (root / "labels.json").write_text(
        json.dumps(
            {"label_field": "emotion", "classes": classes, "corpora": {c: l for c, (_, l) in CORPORA.items()}}
        )
    )
    return root
