"""Thread counts that fit the machine: affinity, cgroup quotas (v1 and v2) and OMP_NUM_THREADS."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from skellm.cpus import cgroup_cpu_limit, resolve_threads, usable_cpus


def _v2(tmp_path, text):
    (tmp_path / "cpu.max").write_text(text)
    return tmp_path


def test_cgroup_v2_quota(tmp_path):
    assert cgroup_cpu_limit(_v2(tmp_path, "150000 100000\n")) == 1.5
    assert cgroup_cpu_limit(_v2(tmp_path, "max 100000\n")) is None


def test_cgroup_v1_quota(tmp_path):
    cpu = tmp_path / "cpu,cpuacct"
    cpu.mkdir()
    (cpu / "cpu.cfs_quota_us").write_text("200000\n")
    (cpu / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(tmp_path) == 2.0
    (cpu / "cpu.cfs_quota_us").write_text("-1\n")  # unlimited
    assert cgroup_cpu_limit(tmp_path) is None


def test_no_cgroup_files_means_unlimited(tmp_path):
    assert cgroup_cpu_limit(tmp_path / "absent") is None


def test_quota_caps_affinity_and_rounds_up(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert usable_cpus(_v2(tmp_path, "150000 100000")) == 2  # 1.5 cores of a 64-core host
    assert usable_cpus(_v2(tmp_path, "10000 100000")) == 1  # a tenth of a core still runs one thread
    assert usable_cpus(_v2(tmp_path, "max 100000")) == 64


def test_omp_num_threads_caps(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert usable_cpus(tmp_path / "absent") == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")  # ignored, not an error
    assert usable_cpus(tmp_path / "absent") == 8


def test_resolve_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert resolve_threads(0) == 1
    assert resolve_threads(5) == 5
    with pytest.raises(ValueError, match=">= 0"):
        resolve_threads(-1)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_affinity_of_a_real_process_is_honoured():
    """A process pinned to one core (taskset) sets one torch thread for threads: 0."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    code = (
        "import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]});"
        "from skellm.cpus import set_torch_threads; import torch;"
        "print(set_torch_threads(0), torch.get_num_threads())"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1"]
