"""Graph adjacency for the GCN encoders, built from a layout's parent list.

Like ST-GCN/CTR-GCN's spatial partition, each skeleton gives three (J, J) matrices: self links,
inward (child -> parent) and outward links, each column-normalised. Layouts with fewer joints than the
batch's ``Jmax`` are zero-padded, so padded joints neither send nor receive messages.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

N_PARTITIONS = 3


def _normalize_columns(a: np.ndarray) -> np.ndarray:
    deg = a.sum(axis=0)
    inv = np.where(deg > 0, 1.0 / np.maximum(deg, 1e-12), 0.0)
    return a * inv[None, :]


def spatial_partitions(parents: Sequence[int], n_max: int | None = None) -> np.ndarray:
    """(3, n_max, n_max) float32: identity, normalised inward and outward links, zero-padded."""
    j = len(parents)
    n = j if n_max is None else n_max
    if n < j:
        raise ValueError(f"layout has {j} joints, more than the padded size {n}")
    inward = np.zeros((n, n), dtype=np.float64)
    for child, parent in enumerate(parents):
        if parent >= 0:
            if parent >= j:
                raise ValueError(f"joint {child} has parent {parent} outside 0..{j - 1}")
            inward[parent, child] = 1.0  # message from child to parent: out[parent] += x[child]
    eye = np.zeros((n, n))
    eye[np.arange(j), np.arange(j)] = 1.0
    a = np.stack([eye, _normalize_columns(inward), _normalize_columns(inward.T)])
    return a.astype(np.float32)
