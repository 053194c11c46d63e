"""The shared accelerate loop: schedule, curves, and exact resume after an interrupted run."""

from __future__ import annotations

import csv

import pytest
import torch

from skellm import training


class _Stop(Exception):
    pass


def _run(tmp_path, kill_at: int | None = None, ckpt_every: int = 3, epochs: int = 4):
    training.set_seed(0)
    acc = training.make_accelerator("cpu", seed=0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(40, 5, generator=g)
    y = (x[:, 0] > 0).long()
    ds = torch.utils.data.TensorDataset(x, y)
    dl = torch.utils.data.DataLoader(ds, batch_size=8, shuffle=True)
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Dropout(0.3), torch.nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    model, opt, dl, sched = training.prepare(
        acc, model, opt, dl, lambda spe: training.make_scheduler(opt, epochs * spe, spe)
    )
    seen = []

    def step(batch):
        xb, yb = batch
        if kill_at is not None and len(seen) == kill_at:
            raise _Stop
        seen.append(yb.tolist())
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        acc.backward(loss)
        opt.step()
        opt.zero_grad()
        return {"loss": loss.item()}

    curves = training.CurveLogger(tmp_path / "curve.csv")
    state = training.fit(
        acc,
        dl,
        step,
        epochs,
        seed=0,
        scheduler=sched,
        ckpt_dir=tmp_path / "ckpt",
        ckpt_every_steps=ckpt_every,
        curves=curves,
        log_every=1,
        progress=False,
    )
    return state, [p.detach().clone() for p in model.parameters()], seen


def test_resume_after_kill_gives_identical_weights(tmp_path):
    ref_state, ref_w, _ = _run(tmp_path / "ref")
    with pytest.raises(_Stop):
        _run(tmp_path / "cut", kill_at=7)  # mid-epoch 2 (5 batches per epoch), after a step-6 checkpoint
    assert training.last_checkpoint(tmp_path / "cut" / "ckpt").name == "step-00000006"
    state, w, seen = _run(tmp_path / "cut")
    assert state == ref_state
    assert len(seen) == ref_state.step - 6
    for a, b in zip(w, ref_w, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    with open(tmp_path / "cut" / "curve.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == list(range(1, ref_state.step + 1))
    assert (tmp_path / "cut" / "ckpt" / "step-00000020" / "model.safetensors").exists()


def test_warmup_step_decay_follows_paper_schedule():
    f = training.warmup_step_decay(total_steps=200, warmup_steps=5)
    assert [f(s) for s in range(5)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert f(99) == 1.0 and f(100) == pytest.approx(0.1)
    assert f(150) == pytest.approx(0.01) and f(175) == pytest.approx(0.001) and f(199) == pytest.approx(0.001)
