"""Kill-and-resume at the pipeline level: in the session's shared tiny repro (conftest.tiny_pipeline),
`dvc repro` killed (SIGKILL, process group) in the middle of `lora_recognize` or `pretrain_encoder`, then
run again, ends with the uninterrupted run's weights (dvc.lock hash) and metrics; a killed stage is not
taken as done.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from pipeline_repo import SHARED, dvc, env_for

STEPS = SHARED["lora.recognize.steps"]
CKPT = Path(".cache/skellm/lora/lora_recognize")


def _lock_md5(repo: Path, stage: str, path: str) -> str:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return next(o["md5"] for o in lock["stages"][stage]["outs"] if o["path"] == path)


def _kill_when_checkpointed(
    repo: Path, args: list[str], min_step: int, last_glob: str = str(CKPT / "last"), steps: int = STEPS
) -> str:
    """Start ``dvc ARGS``; SIGKILL its whole process group once the stage's checkpoint pointer (the
    ``last`` file matching ``last_glob``) names step ``min_step`` or later, before ``steps``; return
    what it printed."""
    proc = subprocess.Popen(
        ["dvc", *args],
        cwd=repo,
        env=env_for(repo),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        found = sorted(repo.glob(last_glob))
        step = int(found[0].read_text().strip().split("-")[-1]) if found else 0
        if step >= min_step:
            os.killpg(proc.pid, signal.SIGKILL)
            assert step < steps, f"the kill came too late (checkpoint at step {step} of {steps})"
            break
        time.sleep(0.2)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"dvc was not killed mid-stage (rc {proc.returncode}):\n{out}"
    return out


@pytest.mark.slow
@pytest.mark.xdist_group("tiny_pipeline")
def test_dvc_repro_killed_during_lora_recognize_resumes_to_the_same_result(tiny_pipeline) -> None:
    repo, _ = tiny_pipeline
    weights = _lock_md5(repo, "lora_recognize", "models/lora_recognize")
    assert not (repo / CKPT).exists()  # a finished stage removes its checkpoints

    # the same stage and evaluate again, killed after its step-2 checkpoint, long before its last step
    _kill_when_checkpointed(repo, ["repro", "-f", "--downstream", "lora_recognize"], min_step=2)
    assert (repo / CKPT / "last").exists()
    assert dvc(repo, "status").strip() != "Data and pipelines are up to date."  # not taken as done

    out = dvc(repo, "repro")
    assert "resumed from .cache/skellm/lora/lora_recognize/step-" in out, out
    # bit-identical weights, so dvc rightly finds evaluate's inputs unchanged and skips it
    assert _lock_md5(repo, "lora_recognize", "models/lora_recognize") == weights
    assert "Stage 'evaluate' didn't change" in out
    assert "up to date" in dvc(repo, "status")


def _encoder_metrics(repo: Path) -> dict:
    enc = json.loads((repo / "metrics/encoder.json").read_text())
    for wall_clock in ("train_seconds", "train_takes_per_s"):
        enc.pop(wall_clock)
    return enc


@pytest.mark.slow
@pytest.mark.xdist_group("tiny_pipeline")
def test_dvc_repro_killed_during_pretrain_encoder_resumes_to_the_same_result(tiny_pipeline) -> None:
    repo, _ = tiny_pipeline
    weights, want = _lock_md5(repo, "pretrain_encoder", "models/encoder"), _encoder_metrics(repo)
    curve = (repo / "metrics/curves/encoder/joint.csv").read_text().splitlines()
    steps = int(curve[-1].split(",")[0])  # the last logged step: the kill must come before it
    assert steps > 8

    last = ".cache/skellm/encoder/*/last"
    _kill_when_checkpointed(repo, ["repro", "-f", "-s", "pretrain_encoder"], 4, last, steps)
    assert list(repo.glob(last))
    out = dvc(repo, "repro")
    assert "resumed from .cache/skellm/encoder/" in out, out
    assert _lock_md5(repo, "pretrain_encoder", "models/encoder") == weights
    assert _encoder_metrics(repo) == want
    assert "Stage 'encode_tokens' didn't change" in out  # same weights: nothing downstream re-runs
    assert "up to date" in dvc(repo, "status")
