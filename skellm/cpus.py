"""How many CPU cores this process may really use: affinity, cgroup quota and OMP_NUM_THREADS.

``os.cpu_count()`` reports the host's cores, not the container's share: a 2-core quota on a
64-core host would get 64 torch threads and run many times slower than with 2.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

_CGROUP = Path("/sys/fs/cgroup")


def _v2_limit(root: Path) -> float | None:
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return int(quota) / int(period)


def _v1_limit(root: Path) -> float | None:
    for sub in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        try:
            quota = int((root / sub / "cpu.cfs_quota_us").read_text())
            period = int((root / sub / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        if quota > 0 and period > 0:
            return quota / period
    return None


def cgroup_cpu_limit(root: str | os.PathLike = _CGROUP) -> float | None:
    """CPU quota of this container in cores (cgroup v2 ``cpu.max`` or v1 CFS), None when unlimited."""
    root = Path(root)
    return _v2_limit(root) or _v1_limit(root)


def usable_cpus(root: str | os.PathLike = _CGROUP) -> int:
    """Cores this process can use: min(affinity, cgroup quota rounded up, OMP_NUM_THREADS); at least 1."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        n = os.cpu_count() or 1
    quota = cgroup_cpu_limit(root)
    if quota is not None:
        n = min(n, max(1, math.ceil(quota)))
    omp = os.environ.get("OMP_NUM_THREADS", "")
    if omp.isdigit() and int(omp) > 0:
        n = min(n, int(omp))
    return max(1, n)


def resolve_threads(n: int) -> int:
    """A ``threads``/``workers`` param: 0 means every usable core, otherwise ``n`` itself."""
    if n < 0:
        raise ValueError(f"thread count must be >= 0 (0: all usable cores), got {n}")
    return n or usable_cpus()


def set_torch_threads(n: int) -> int:
    """Set torch's intra-op threads from a ``threads`` param; returns the count set."""
    import torch

    k = resolve_threads(n)
    torch.set_num_threads(k)
    return k
