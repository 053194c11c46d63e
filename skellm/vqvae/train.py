"""Train, save and load the action VQ-VAE tokenizer.

A folder written by :func:`save` holds ``model.safetensors`` (weights and buffers: normalisation,
usage EMA, unused counters) and ``config.json`` (``{"format", "joints", "config": VQConfig fields}``);
:func:`load` rebuilds the model from it, in eval mode, and it tokenizes exactly as it did when saved.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skellm.io import atomic_path, write_json
from skellm.vqvae.model import ActionVQVAE, VQConfig

FORMAT = "skellm.vqvae/1"


def _batches(n: int, batch_size: int, gen: torch.Generator):
    # epochs of a seeded permutation: every take is seen once per epoch, order fixed by the seed
    while True:
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n - batch_size + 1, batch_size):
            yield perm[i : i + batch_size]


def train_vqvae(
    positions: torch.Tensor | np.ndarray,
    masks: torch.Tensor | np.ndarray,
    cfg: VQConfig | None = None,
    steps: int = 1000,
    batch_size: int = 32,
    lr: float = 3e-4,
    seed: int = 0,
    progress: bool = False,
    log_every: int = 1,
    ckpt_path: str | Path | None = None,
    ckpt_every: int = 50,
) -> tuple[ActionVQVAE, list[dict[str, float]]]:
    """Adam on ``positions`` (N, T, J, 3) with valid-frame ``masks`` (N, T); returns (model in eval
    mode, history). history has one dict per logged step (every ``log_every`` and the last): step,
    the loss terms and the quantizer stats, as floats. Deterministic under ``seed`` on CPU; the
    caller's global RNG state is left untouched (the run uses a forked RNG).

    With ``ckpt_path``, the run state (weights, Adam, RNG, step, history) is saved there every
    ``ckpt_every`` steps and a run with the same settings and data resumes from it, ending with the
    same weights as an uninterrupted run; the file is deleted when the run completes. (Not
    :func:`skellm.training.fit`: this loop is a plain CPU loop without accelerate or a DataLoader, and
    one small file is all it needs.)"""
    cfg = cfg or VQConfig()
    x = torch.as_tensor(np.asarray(positions), dtype=torch.float32)
    m = torch.as_tensor(np.asarray(masks), dtype=torch.bool)
    if x.ndim != 4 or m.shape != x.shape[:2]:
        raise ValueError(f"positions (N, T, J, 3) and masks (N, T) expected, got {x.shape}, {m.shape}")
    bs = min(batch_size, len(x))
    history: list[dict[str, float]] = []
    with torch.random.fork_rng(devices=[]):
        # the global RNG drives init and dead-code resets; a separate generator drives batching
        torch.manual_seed(seed)
        model = ActionVQVAE(cfg, joints=x.shape[2])
        model.set_normalization(x, m)
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        batches = _batches(len(x), bs, torch.Generator().manual_seed(seed))
        start = 0
        spec = _spec(cfg, x, m, steps, bs, lr, seed, log_every)
        if ckpt_path is not None and Path(ckpt_path).exists():
            ck = torch.load(ckpt_path, weights_only=False)
            if ck["spec"] == spec:
                model.load_state_dict(ck["model"])
                opt.load_state_dict(ck["opt"])
                torch.set_rng_state(ck["rng"])
                start, history = ck["step"], ck["history"]
                for _ in range(start):  # replay the batch order (index draws only, cheap)
                    next(batches)
                print(f"vqvae: resumed from {ckpt_path} at step {start}")
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=steps, initial=start, desc="vqvae", dynamic_ncols=True)
        for step in range(start, steps):
            idx = next(batches)
            out = model(x[idx], m[idx])
            opt.zero_grad(set_to_none=True)
            out.losses["loss"].backward()
            opt.step()
            if step % log_every == 0 or step == steps - 1:
                row: dict[str, float] = {"step": step}
                row.update({k: float(v.detach()) for k, v in out.losses.items()})
                row.update({k: float(v) for k, v in out.stats.items()})
                history.append(row)
                if bar is not None:
                    bar.set_postfix(loss=f"{row['loss']:.4f}", ppl=f"{row['perplexity']:.1f}")
            if bar is not None:
                bar.update()
            done = step + 1
            if ckpt_path is not None and ckpt_every > 0 and done % ckpt_every == 0 and done < steps:
                state = {"model": model.state_dict(), "opt": opt.state_dict(), "rng": torch.get_rng_state()}
                with atomic_path(ckpt_path) as tmp:
                    torch.save({**state, "spec": spec, "step": done, "history": history}, tmp)
        if bar is not None:
            bar.close()
    if ckpt_path is not None:
        Path(ckpt_path).unlink(missing_ok=True)  # done: a re-run must not resume a finished run
    model.eval()
    return model, history


def _spec(cfg: VQConfig, x, m, steps: int, bs: int, lr: float, seed: int, log_every: int) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the settings and a digest of the data."""
    import hashlib

    digest = hashlib.sha256(x.numpy().tobytes() + m.numpy().tobytes()).hexdigest()
    run = {"steps": steps, "bs": bs, "lr": lr, "seed": seed, "log_every": log_every}
    return {"config": asdict(cfg), **run, "data": digest}


def save(model: ActionVQVAE, folder: str | Path) -> None:
    """Write ``model.safetensors`` and ``config.json`` into ``folder``, each atomically."""
    from safetensors.torch import save_file

    folder = Path(folder)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(folder / "model.safetensors") as tmp:
        save_file(state, str(tmp))
    info: dict[str, Any] = {"format": FORMAT, "joints": model.joints, "config": asdict(model.cfg)}
    write_json(folder / "config.json", info)


def load(folder: str | Path) -> ActionVQVAE:
    """The model :func:`save` wrote into ``folder``, in eval mode."""
    from safetensors.torch import load_file

    folder = Path(folder)
    info = json.loads((folder / "config.json").read_text())
    if info.get("format") != FORMAT:
        raise ValueError(f"{folder} is not a {FORMAT} tokenizer (format {info.get('format')!r})")
    model = ActionVQVAE(VQConfig(**info["config"]), joints=int(info["joints"]))
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    return model.eval()
