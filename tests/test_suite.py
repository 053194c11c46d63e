"""The test suite's own machinery: tests marked ``xdist_group`` share one worker, so the session
fixture they share (conftest ``tiny_pipeline``, a real ``dvc repro``) is built once, not per worker."""

from __future__ import annotations

import re
import subprocess
import sys

GROUPED = """
import os, pytest

@pytest.mark.xdist_group("g")
def test_g{n}():
    print("WORKER", os.environ["PYTEST_XDIST_WORKER"])

def test_free{n}():
    pass
"""


def test_loadgroup_keeps_a_group_on_one_worker(tmp_path):
    for n in range(4):
        (tmp_path / f"test_m{n}.py").write_text(GROUPED.format(n=n))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    grouped = re.findall(r"\[(gw\d)\].*PASSED test_m\d\.py::test_g\d(\S*)", proc.stdout)
    assert len(grouped) == 4, proc.stdout
    # one worker for the whole group, and xdist's group suffix on every id (absent on pytest 9.2)
    assert len({w for w, _ in grouped}) == 1 and {s for _, s in grouped} == {"@g"}, proc.stdout


def test_dev_pins_agree_with_the_lock_install_sh_installs():
    """install.sh installs requirements.lock; the dev extras in pyproject must pin the same versions."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    lock = dict(
        line.strip().split("==", 1)
        for line in (root / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    )
    dev = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    for spec in dev:
        name, version = spec.split("==")
        assert lock.get(name) == version, f"pyproject dev pins {spec}, requirements.lock has {lock.get(name)}"
