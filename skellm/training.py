"""Shared helpers for accelerate training loops: accelerator, seeding, LR schedule, checkpoints, curves.

One loop (:func:`fit`) serves every trainer in skellm. It takes a prepared model, optimizer, dataloader
and a ``step_fn(batch) -> dict`` callback that computes the loss, calls ``accelerator.backward`` and
returns scalars to log; :func:`fit` owns the epoch/step bookkeeping, the LR schedule step, periodic
atomic checkpoints and resume. The same code runs on one CPU (default) and on several GPUs under
``accelerate launch`` with an accelerate config.

Resume is exact: a checkpoint holds model, optimizer, scheduler and RNG states (accelerate
``save_state`` with safetensors weights) plus ``trainer_state.json`` (epoch, global step, batch within
the epoch). The shuffle order of an epoch depends only on ``(seed, epoch)`` (accelerate's seedable
sampler), global RNGs are reseeded from ``(seed, step)`` before every step (dropout), and data
augmentation should be seeded per ``(seed, epoch, index)`` (see
:class:`skellm.encoder.dataset.SkeletonDataset`), so a run killed anywhere and resumed ends with the same
weights and metrics as an uninterrupted one.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skellm.io import write_text

STATE_FILE = "trainer_state.json"
LAST_FILE = "last"


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) RNGs."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def step_seed(seed: int, step: int) -> int:
    """A 32-bit seed derived from (run seed, step) for per-step reseeding."""
    return int(np.random.SeedSequence([seed, step]).generate_state(1)[0])


def make_accelerator(device: str = "auto", seed: int = 0, mixed_precision: str = "no", grad_accum: int = 1):
    """Build an :class:`accelerate.Accelerator`.

    device: ``auto`` (GPU when one is visible or under ``accelerate launch``, else CPU), ``cpu`` or
    ``cuda``. The dataloader sampler is made seedable with ``seed`` so the shuffle order of every
    epoch is reproducible and identical across processes.
    """
    import torch
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration

    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {device!r}")
    cpu = device == "cpu" or (device == "auto" and not torch.cuda.is_available())
    return Accelerator(
        cpu=cpu,
        mixed_precision=mixed_precision,
        gradient_accumulation_steps=grad_accum,
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=seed),
    )


def warmup_step_decay(
    total_steps: int,
    warmup_steps: int,
    milestones: Sequence[float] = (0.5, 0.75, 0.875),
    gamma: float = 0.1,
) -> Callable[[int], float]:
    """LR multiplier per optimizer step: linear warm-up, then x``gamma`` at each milestone fraction.

    The paper's schedule (200 epochs, /10 at 100/150/175, 5 warm-up epochs) is
    ``warmup_step_decay(200 * spe, 5 * spe)`` with ``spe`` steps per epoch; it scales to any length.
    """
    bounds = [int(round(f * total_steps)) for f in milestones]

    def factor(step: int) -> float:
        if warmup_steps > 0 and step < warmup_steps:
            return (step + 1) / warmup_steps
        return gamma ** sum(step >= b for b in bounds)

    return factor


def make_scheduler(optimizer, total_steps: int, warmup_steps: int, **kw: Any):
    """A LambdaLR over :func:`warmup_step_decay`, stepped once per optimizer step."""
    from torch.optim.lr_scheduler import LambdaLR

    return LambdaLR(optimizer, warmup_step_decay(total_steps, warmup_steps, **kw))


class CurveLogger:
    """Training curves as a CSV that ``dvc plots`` reads (one row per logged step, union of columns).

    The whole file is rewritten atomically on every :meth:`log` (curves are small). ``resume(step)``
    keeps only rows up to ``step`` so a resumed run continues the same curve without duplicates.
    """

    def __init__(self, path: str | os.PathLike, enabled: bool = True):
        self.path = Path(path)
        self.enabled = enabled
        self.rows: list[dict[str, Any]] = []

    def resume(self, step: int) -> None:
        """Reload rows logged up to ``step`` (inclusive) from an earlier, interrupted run."""
        if not self.path.exists():
            return
        with open(self.path, newline="") as f:
            self.rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]

    def log(self, step: int, **values: Any) -> None:
        """Append a row and rewrite the file."""
        row = {"step": step}
        # floats kept as written (6 significant digits), so a resumed run, which reads the earlier rows
        # back from the file, holds exactly the rows an uninterrupted one does
        row.update(
            {
                k: (float(_fmt(float(v))) if isinstance(v, float | np.floating) else v)
                for k, v in values.items()
            }
        )
        self.rows.append(row)
        if self.enabled:
            self.flush()

    def flush(self) -> None:
        cols: list[str] = []
        for r in self.rows:
            cols += [k for k in r if k not in cols]
        lines = [",".join(cols)]
        for r in self.rows:
            lines.append(",".join(_fmt(r.get(c, "")) for c in cols))
        write_text(self.path, "\n".join(lines) + "\n")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


@dataclass
class TrainState:
    """Where a run is: ``epoch`` in progress, optimizer ``step`` count, batches done in this epoch."""

    epoch: int = 0
    step: int = 0
    batch: int = 0


def save_checkpoint(accelerator, ckpt_dir: str | os.PathLike, state: TrainState, keep: int = 2) -> Path:
    """Atomically write ``ckpt_dir/step-XXXXXXXX`` (accelerate state + trainer_state.json).

    The directory is written under a temporary name and renamed, then ``ckpt_dir/last`` is pointed at
    it, so a kill at any moment leaves the previous checkpoint usable. Keeps the newest ``keep``.
    """
    ckpt_dir = Path(ckpt_dir)
    name = f"step-{state.step:08d}"
    final = ckpt_dir / name
    if accelerator.is_main_process:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
    tmp = ckpt_dir / f".{name}.tmp"
    if accelerator.is_main_process and tmp.exists():
        shutil.rmtree(tmp)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp), safe_serialization=True)
    if accelerator.is_main_process:
        (tmp / STATE_FILE).write_text(json.dumps(asdict(state)) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        write_text(ckpt_dir / LAST_FILE, name + "\n")
        old = sorted(p for p in ckpt_dir.glob("step-*") if p.is_dir() and p.name != name)
        for p in old[: max(0, len(old) - (keep - 1))]:
            shutil.rmtree(p, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def last_checkpoint(ckpt_dir: str | os.PathLike) -> Path | None:
    """The checkpoint ``ckpt_dir/last`` points at, or None."""
    ptr = Path(ckpt_dir) / LAST_FILE
    if not ptr.exists():
        return None
    path = Path(ckpt_dir) / ptr.read_text().strip()
    return path if (path / STATE_FILE).exists() else None


def load_checkpoint(accelerator, path: str | os.PathLike) -> TrainState:
    """Restore accelerate state (model, optimizer, scheduler, RNG) from ``path``; return its TrainState."""
    accelerator.load_state(str(path))
    return TrainState(**json.loads((Path(path) / STATE_FILE).read_text()))


def prepare(accelerator, model, optimizer, dataloader, scheduler_fn: Callable[[int], Any] | None = None):
    """Prepare model, optimizer and dataloader; build the scheduler from the per-process loader length.

    ``scheduler_fn(steps_per_epoch)`` returns an LR scheduler (e.g. :func:`make_scheduler`); it is
    registered for checkpointing rather than prepared, so it steps exactly once per optimizer step on
    any number of processes. Returns ``(model, optimizer, dataloader, scheduler)``.
    """
    model, optimizer, dataloader = accelerator.prepare(model, optimizer, dataloader)
    scheduler = None
    if scheduler_fn is not None:
        scheduler = scheduler_fn(len(dataloader))
        accelerator.register_for_checkpointing(scheduler)
    return model, optimizer, dataloader, scheduler


def fit(
    accelerator,
    dataloader: Iterable,
    step_fn: Callable[[Any], dict[str, float]],
    epochs: int,
    *,
    seed: int,
    scheduler=None,
    ckpt_dir: str | os.PathLike | None = None,
    ckpt_every_steps: int = 0,
    resume: bool = True,
    curves: CurveLogger | None = None,
    log_every: int = 10,
    on_epoch_end: Callable[[int, int], dict[str, float] | None] | None = None,
    on_epoch_start: Callable[[int], None] | None = None,
    progress: bool = True,
    desc: str = "train",
) -> TrainState:
    """Run ``epochs`` epochs of ``step_fn`` over the prepared ``dataloader``; resumable.

    step_fn(batch) does forward, ``accelerator.backward``, ``optimizer.step`` and ``zero_grad`` and
    returns scalar metrics (``loss`` at least). ``scheduler`` (from :func:`prepare`) is stepped after
    each call. A checkpoint is written every ``ckpt_every_steps`` optimizer steps (0: only at epoch
    ends) and after the last epoch; with ``resume`` the newest one in ``ckpt_dir`` is loaded first and
    the run continues from that exact batch; each step reseeds from ``seed`` (params ``seed``) and the
    step number. on_epoch_start(epoch) runs before an epoch's batches
    (e.g. ``dataset.set_epoch``); on_epoch_end(epoch, step) may return metrics to log on the curve.
    """
    from tqdm.auto import tqdm

    state = TrainState()
    if ckpt_dir is not None and resume and (path := last_checkpoint(ckpt_dir)) is not None:
        state = load_checkpoint(accelerator, path)
        accelerator.print(f"resumed from {path} (epoch {state.epoch}, step {state.step})")
    if curves is not None:
        curves.enabled = accelerator.is_main_process
        curves.resume(state.step)

    n_batches = len(dataloader) if hasattr(dataloader, "__len__") else None
    bar = tqdm(
        total=(n_batches * epochs if n_batches else None),
        initial=state.epoch * (n_batches or 0) + state.batch,
        desc=desc,
        disable=not (progress and accelerator.is_local_main_process),
        dynamic_ncols=True,
    )
    while state.epoch < epochs:
        epoch = state.epoch
        if on_epoch_start is not None:
            on_epoch_start(epoch)
        if hasattr(dataloader, "set_epoch"):
            dataloader.set_epoch(epoch)
        loader = dataloader
        if state.batch:
            loader = accelerator.skip_first_batches(dataloader, state.batch)
            if hasattr(loader, "set_epoch"):
                loader.set_epoch(epoch)
        for batch in loader:
            # Reseed per step: dropout etc. then never depend on how many batches the loader
            # prefetched or skipped, so a resumed run draws the same numbers as an uninterrupted one.
            set_seed(step_seed(seed, state.step))
            metrics = step_fn(batch)
            if scheduler is not None:
                scheduler.step()
            state.step += 1
            state.batch += 1
            bar.update(1)
            if curves is not None and (state.step % max(1, log_every) == 0):
                lr = scheduler.get_last_lr()[0] if scheduler is not None else math.nan
                curves.log(state.step, epoch=epoch, lr=lr, **{f"train_{k}": v for k, v in metrics.items()})
                bar.set_postfix({k: f"{v:.3g}" for k, v in metrics.items()})
            # (the epoch-end checkpoint below covers an epoch's last batch)
            due = ckpt_every_steps and state.step % ckpt_every_steps == 0 and state.batch < (n_batches or 0)
            if ckpt_dir is not None and due:
                save_checkpoint(accelerator, ckpt_dir, state)
        state.epoch += 1
        state.batch = 0
        if on_epoch_end is not None:
            extra = on_epoch_end(epoch, state.step)
            if extra and curves is not None:
                curves.log(state.step, epoch=epoch, **extra)
        if ckpt_dir is not None:
            save_checkpoint(accelerator, ckpt_dir, state)
    bar.close()
    return state
