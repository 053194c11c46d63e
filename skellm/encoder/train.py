"""Pre-train the skeleton encoder against label-prompt text features, evaluate it, write metrics.

``encoder.training``: ``joint`` trains one model on every corpus (the paper's UST joint training);
``separate`` trains one model per corpus. Models go to ``<encoder.out>/<name>/`` (name ``joint`` or
the corpus) with ``index.json`` mapping each corpus to its model folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from skellm.config import PATHS, Config, EncoderConfig, Paths, as_dict
from skellm.cpus import set_torch_threads
from skellm.encoder.dataset import (
    MODEL_INPUTS,
    LabelSpace,
    LayoutBatchSampler,
    SkeletonDataset,
    SkeletonSet,
    load_split,
)
from skellm.io import sha256_file, write_json


def model_config(enc: EncoderConfig, n_classes: int, text_dim: int) -> dict[str, Any]:
    """The architecture part of params ``encoder`` (what :class:`SkeletonEncoder` needs, saved with it)."""
    return {
        "model": enc.model,
        "input": enc.input,
        "base_channels": enc.base_channels,
        "stage_blocks": list(enc.stage_blocks),
        "token_dim": enc.token_dim,
        "n_classes": n_classes,
        "text_dim": text_dim,
        "dropout": enc.dropout,
        "temperature": enc.temperature,
    }


def _collate(items: list[dict]):
    """Stack items, trimming joint padding beyond the batch's largest rig (exact: padding is masked)."""
    import torch

    v = max(int(it["joint_mask"].sum()) for it in items)
    out = {k: torch.stack([it[k] for it in items]) for k in MODEL_INPUTS}
    out["x"], out["joint_mask"] = out["x"][..., :v], out["joint_mask"][:, :v]
    out["adj"] = out["adj"][:, :, :v, :v]
    out["label"] = torch.tensor([it["label"] for it in items])
    out["index"] = torch.tensor([it["index"] for it in items])
    return out


def train(
    train_set: SkeletonSet,
    class_text: np.ndarray,
    enc: EncoderConfig,
    seed: int = 0,
    ckpt_dir: str | Path | None = None,
    curves_path: str | Path | None = None,
    eval_fn=None,
    progress: bool = True,
    desc: str = "encoder",
    labels: LabelSpace | None = None,
    text_bank: tuple[np.ndarray, np.ndarray] | None = None,
):
    """Train one encoder on ``train_set``; returns (model, class_text tensor, seconds, takes seen).

    With ``labels`` and ``encoder.ce_labels: corpus`` (the default), each take's cross-entropy runs over
    its own corpus's label set only. ``text_bank`` (texts (M, D), their class (M,)) is what
    ``encoder.text_loss: milnce`` contrasts against; its candidates are each take's corpus's seen labels.
    """
    import torch

    from skellm import training
    from skellm.encoder import SkeletonEncoder
    from skellm.encoder.losses import masked_logits, pretrain_loss, soft_targets

    set_torch_threads(enc.threads)
    keep = train_set.labels >= 0
    train_set = train_set.subset(np.flatnonzero(keep))
    allowed = seen = None
    if labels is not None:
        seen = torch.from_numpy(np.stack([labels.corpus_mask(c) for c in train_set.corpora]))
        allowed = seen if enc.ce_labels == "corpus" else None
    bank = None
    if enc.text_loss == "milnce":
        if text_bank is None:
            raise ValueError("encoder.text_loss milnce needs the text bank (data/text/features: texts)")
        bank = tuple(torch.from_numpy(np.asarray(a)) for a in text_bank)
    training.set_seed(seed)
    acc = training.make_accelerator(enc.device, seed=seed)
    cfg = model_config(enc, class_text.shape[0], class_text.shape[1])
    model = SkeletonEncoder(cfg)
    ctext = torch.from_numpy(np.asarray(class_text, dtype=np.float32))
    decay = [p for n, p in model.named_parameters() if n != "logit_scale"]
    opt = torch.optim.SGD(
        [
            {"params": decay, "weight_decay": enc.weight_decay},
            {"params": [model.logit_scale], "weight_decay": 0.0},
        ],
        lr=enc.lr,
        momentum=enc.momentum,
        nesterov=enc.nesterov,
    )
    dataset = SkeletonDataset(train_set, enc.augment, seed)
    bs = min(enc.batch_size, len(dataset))
    if enc.batch_by_layout:
        sampler = LayoutBatchSampler(dataset, bs, seed)
        loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=_collate)
    else:
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=bs, shuffle=True, drop_last=True, collate_fn=_collate
        )
    epochs, warm = enc.epochs, enc.warmup_epochs
    model, opt, loader, sched = training.prepare(
        acc,
        model,
        opt,
        loader,
        lambda spe: training.make_scheduler(opt, epochs * spe, int(round(warm * spe))),
    )
    ctext = ctext.to(acc.device)
    eps = None
    if enc.soft_labels > 0:
        inten = np.array([np.nan if m.get("intensity") is None else m["intensity"] for m in train_set.meta])
        eps = torch.from_numpy(enc.soft_labels * np.where(np.isnan(inten), 0.5, 1.0 - np.clip(inten, 0, 1)))
    if bank is not None:
        bank = (bank[0].float().to(acc.device), bank[1].to(acc.device))
    form = enc.loss
    raw = acc.unwrap_model(model)

    def step(batch):
        model.train()
        tok = model(*(batch[k] for k in MODEL_INPUTS))
        rows = batch["index"].cpu()
        mask = None if allowed is None else allowed[rows].to(tok.logits.device)
        texts = None
        if bank is not None:
            cand = None if seen is None else seen[rows].to(tok.logits.device)
            texts = (raw.text_proj(bank[0]), bank[1], cand)
        target = None
        if eps is not None:
            target = soft_targets(batch["label"], eps[rows].to(ctext.device), ctext, mask)
        parts = pretrain_loss(
            form,
            tok,
            batch["label"],
            raw.text_proj(ctext[batch["label"]]),
            raw.logit_scale,
            mask,
            texts,
            target,
        )
        acc.backward(parts["loss"])
        opt.step()
        opt.zero_grad()
        hit = (masked_logits(tok.logits, mask).argmax(1) == batch["label"]).float().mean()
        return {k: v.item() for k, v in parts.items()} | {"acc": hit.item()}

    def on_epoch_end(epoch, step_no):
        if eval_fn is None or not enc.eval_every or (epoch + 1) % enc.eval_every:
            return None
        return eval_fn(raw.eval(), ctext.cpu())

    curves = training.CurveLogger(curves_path) if curves_path else None
    t0 = time.perf_counter()
    state = training.fit(
        acc,
        loader,
        step,
        epochs,
        scheduler=sched,
        ckpt_dir=ckpt_dir,
        ckpt_every_steps=enc.ckpt_every_steps,
        curves=curves,
        log_every=enc.log_every,
        on_epoch_end=on_epoch_end,
        on_epoch_start=dataset.set_epoch,
        progress=progress,
        desc=desc,
        seed=seed,
    )
    seconds = time.perf_counter() - t0
    if enc.bn_recalibrate:
        recalibrate_bn(raw, train_set, bs, acc.device)
    return raw.eval().cpu(), ctext.cpu(), seconds, state.step * bs


def class_means(texts: np.ndarray, text_class: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, D): the mean of each class's texts (templates and knowledge), its zero-shot vector."""
    out = np.zeros((n_classes, texts.shape[1]), dtype=np.float32)
    for c in range(n_classes):
        rows = texts[text_class == c]
        if len(rows):
            out[c] = rows.mean(0)
    return out


def recalibrate_bn(model, data: SkeletonSet, batch_size: int, device="cpu") -> None:
    """Re-estimate BatchNorm running statistics with the final weights (one pass, no augmentation).

    Running averages collected while the weights moved lag behind them; on short CPU schedules this gap
    makes eval-mode predictions collapse, so the statistics are recomputed as a plain average.
    """
    import torch

    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    saved = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    ds = SkeletonDataset(data)
    # shuffled batches: averaging per-batch variances of corpus-sorted batches would miss the
    # between-corpus variance and shrink the statistics
    order = np.random.default_rng(0).permutation(len(ds))
    model.train()
    with torch.no_grad():
        for s in range(0, len(ds), batch_size):
            b = _collate([ds[int(i)] for i in order[s : s + batch_size]])
            model(*(b[k].to(device) for k in MODEL_INPUTS))
    for bn, m in zip(bns, saved, strict=True):
        bn.momentum = m
    model.eval()


def evaluate(model, class_text, data: SkeletonSet, labels: LabelSpace, topk: int = 3) -> dict[str, Any]:
    """Per-corpus accuracy (predictions restricted to the corpus's seen labels), top-k, text-similarity
    accuracy, confusion; and zero-shot top-1/top-5 on the takes of unseen classes (``unseen``), ranked
    by the nearest class text among the corpus's unseen classes only."""
    from skellm.encoder.infer import infer, zero_shot_scores

    tok = infer(model, data)
    zs = zero_shot_scores(model, tok["semantic"], class_text)
    corpora = data.corpora
    res: dict[str, Any] = {"accuracy": {}, f"top{topk}": {}, "zero_shot": {}, "n_test": {}, "confusion": {}}
    hits = {"accuracy": [], f"top{topk}": [], "zero_shot": []}
    for c in sorted(str(x) for x in set(corpora)):
        allowed = labels.corpus_mask(c)
        idx = np.flatnonzero((corpora == c) & (data.labels >= 0))
        idx = idx[allowed[data.labels[idx]]]  # unseen classes are scored apart, below
        if not len(idx):
            continue
        y = data.labels[idx]
        lg = np.where(allowed, tok["logits"][idx], -np.inf)
        pred = lg.argmax(1)
        k = min(topk, int(allowed.sum()))
        top = np.argsort(-lg, axis=1)[:, :k]
        zpred = np.where(allowed, zs[idx], -np.inf).argmax(1)
        per = {"accuracy": pred == y, f"top{topk}": (top == y[:, None]).any(1), "zero_shot": zpred == y}
        for key, h in per.items():
            res[key][c] = round(float(h.mean()), 4)
            hits[key].append(h)
        res["n_test"][c] = len(idx)
        res["confusion"][c] = [
            {"actual": labels.classes[a], "predicted": labels.classes[p]}
            for a, p in zip(y, pred, strict=True)
        ]
    for key, h in hits.items():
        if h:
            res[key]["all"] = round(float(np.concatenate(h).mean()), 4)
    unseen = zero_shot_topk(zs, data, labels)
    if unseen:
        res["unseen"] = unseen
    return res


def zero_shot_topk(scores: np.ndarray, data: SkeletonSet, labels: LabelSpace, ks=(1, 5)) -> dict[str, Any]:
    """Zero-shot top-k accuracy per corpus on takes of its unseen classes, candidates = those classes.

    ``scores`` (N, n_classes): higher is more likely. Returns per corpus with unseen test takes
    :func:`skellm.eval.stats.topk_summary`'s n, classes, top-k with bootstrap interval and chance.
    """
    import torch

    from skellm.eval.stats import topk_summary, true_ranks

    out: dict[str, Any] = {}
    corpora = data.corpora
    for c in sorted(labels.unseen):
        cand = labels.unseen_mask(c)
        idx = np.flatnonzero((corpora == c) & (data.labels >= 0))
        idx = idx[cand[data.labels[idx]]]
        if not len(idx):
            continue
        s = np.where(cand, scores[idx], -np.inf)
        out[c] = topk_summary(true_ranks(torch.from_numpy(s), data.labels[idx].tolist()), int(cand.sum()), ks)
    return out


def _write_confusion(path: Path, rows: list[dict]) -> None:
    from skellm.io import write_text

    write_text(path, "actual,predicted\n" + "".join(f"{r['actual']},{r['predicted']}\n" for r in rows))


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_stage(cfg: Config, paths: Paths = PATHS, progress: bool = True) -> dict[str, Any]:
    """pretrain_encoder stage: train (joint or separate), evaluate on the test split, write metrics."""
    from skellm.data.table import max_joints
    from skellm.text.features import load_class_text, load_text_bank

    enc, seed = cfg.encoder, cfg.seed
    split_dir, text_path = Path(paths.split), Path(paths.text_features)
    curves_dir, plots_dir = Path(paths.curves), Path(paths.plots)
    labels = LabelSpace.load(paths.labels_json)
    class_text = load_class_text(text_path, labels.classes)
    bank = None
    if enc.text_loss == "milnce":
        bank = load_text_bank(text_path, labels.classes)
        class_text = class_means(*bank, len(labels.classes))
    n_max = max_joints(split_dir / f"{s}.parquet" for s in ("train", "test"))
    train_all = load_split(split_dir / "train.parquet", labels, n_max)
    test_all = load_split(split_dir / "test.parquet", labels, n_max)
    mode = enc.training
    groups = (
        {"joint": sorted(set(train_all.corpora))}
        if mode == "joint"
        else {c: [c] for c in sorted(set(train_all.corpora))}
    )
    out = Path(enc.out)
    fp_data = [
        sha256_file(split_dir / "train.parquet"),
        sha256_file(text_path.with_suffix(".safetensors")),
    ]
    metrics: dict[str, Any] = {"model": enc.model, "loss": enc.loss, "training": mode, "seed": seed}
    merged: dict[str, Any] = {}
    index, seconds, seen = {}, 0.0, 0
    for name, corpora in groups.items():
        tr = train_all.subset(np.flatnonzero(np.isin(train_all.corpora, corpora)))
        te = test_all.subset(np.flatnonzero(np.isin(test_all.corpora, corpora)))
        ckpt = Path(enc.checkpoint_dir) / _fingerprint(as_dict(enc), seed, fp_data, name)

        def eval_fn(model, ctext, te=te):
            r = evaluate(model, ctext, te, labels, enc.topk)
            return {
                "test_acc": r["accuracy"].get("all", float("nan")),
                "test_zero_shot": r["zero_shot"].get("all", float("nan")),
            }

        model, ctext, secs, n = train(
            tr,
            class_text,
            enc,
            seed,
            ckpt,
            curves_dir / "encoder" / f"{name}.csv",
            eval_fn,
            progress,
            desc=f"encoder[{name}]",
            labels=labels,
            text_bank=bank,
        )
        seconds += secs
        seen += n
        from skellm.encoder.infer import save_encoder

        save_encoder(
            out / name,
            model,
            ctext,
            {"classes": labels.classes, "label_field": labels.field, "corpora": corpora, "training": mode},
        )
        index.update({c: name for c in corpora})
        if not enc.keep_checkpoints:  # the run is complete: nothing left to resume
            shutil.rmtree(ckpt, ignore_errors=True)
        r = evaluate(model, ctext, te, labels, enc.topk)
        for key, val in r.items():
            merged.setdefault(key, {}).update({k: v for k, v in val.items() if k != "all"})
    write_json(out / "index.json", index)
    for stale in (curves_dir / "encoder").glob("*.csv"):  # curves of the other training mode
        if stale.stem not in groups:
            stale.unlink()
    shutil.rmtree(plots_dir / "encoder_confusion", ignore_errors=True)
    # overall figures over all test takes (separate mode: each corpus by its own model)
    n_test = merged["n_test"]
    for key in ("accuracy", f"top{enc.topk}", "zero_shot"):
        merged[key]["all"] = round(
            sum(merged[key][c] * n_test[c] for c in n_test) / max(1, sum(n_test.values())), 4
        )
    confusion = merged.pop("confusion")
    metrics.update(merged)
    metrics["train_seconds"] = round(seconds, 1)
    metrics["train_takes_per_s"] = round(seen / max(seconds, 1e-9), 2)
    import torch

    metrics["threads"] = torch.get_num_threads()
    for c, rows in confusion.items():
        _write_confusion(plots_dir / "encoder_confusion" / f"{c}.csv", rows)
    write_json(paths.metrics_json("encoder"), metrics)
    return metrics
