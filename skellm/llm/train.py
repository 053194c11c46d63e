"""LoRA stages: description then recognition (paper order D->R), through skellm.training.

Each stage trains the LoRA adapter and the projector for a fixed number of optimizer steps; the base LM
stays frozen, and so does the encoder unless ``lora.encoder`` is finetune (:mod:`skellm.llm.encoded`).
It checkpoints every ``checkpoint_every`` steps so a killed run resumes exactly, logs a loss curve for
``dvc plots``, and writes ``adapter/`` (peft, safetensors), ``projector.safetensors`` and
``skeleton_lm.json``. The second stage starts from the first's output.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from skellm.config import PATHS, Config, LLMConfig, LoraConfig, Paths, as_dict
from skellm.cpus import set_torch_threads
from skellm.io import write_json

FINGERPRINT = "fingerprint.json"


def stage_task(position: int, order: str) -> str:
    """The task of LoRA stage 1 or 2 under ``lora.order`` (``DR`` paper default, or ``RD``)."""
    order = order.upper().replace("->", "").replace("-", "")
    if order not in ("DR", "RD"):
        raise ValueError(f"lora.order must be DR or RD, not {order!r}")
    return {"D": "describe", "R": "recognize"}[order[position - 1]]


def _fingerprint(ckpt_dir: Path, spec: dict[str, Any]) -> None:
    """Wipe ``ckpt_dir`` when it belongs to a run with other params or inputs; record this run's."""
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
    fp = ckpt_dir / FINGERPRINT
    if ckpt_dir.exists() and (not fp.exists() or json.loads(fp.read_text()).get("sha256") != digest):
        shutil.rmtree(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    write_json(fp, {"sha256": digest})


def make_step(accelerator, model, optimizer, max_grad_norm: float):
    """The per-batch training step: forward on answer tokens, backward, clip, step."""

    def step(batch: dict[str, Any]) -> dict[str, float]:
        out = model(batch["feats"], batch["fmask"], batch["tails"], batch["tail_labels"])
        accelerator.backward(out.loss)
        if max_grad_norm:
            accelerator.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], max_grad_norm)
        optimizer.step()
        optimizer.zero_grad()
        return {"loss": float(out.loss.detach())}

    return step


def train_stage(
    task: str,
    *,
    tokens_dir: str | Path,
    llm_dir: str | Path,
    out_dir: str | Path,
    llm_cfg: LLMConfig,
    lora: LoraConfig,
    seed: int,
    init_dir: str | Path | None = None,
    ckpt_dir: str | Path | None = None,
    curves_path: str | Path | None = None,
    tasks: dict[str, str] | None = None,
    label_sets: dict[str, list[str]] | None = None,
    norm_spec=None,
    encoder_dir: str | Path | None = None,
    split_dir: str | Path = PATHS.split,
) -> dict[str, Any]:
    """Train one LoRA stage on ``task`` (describe | recognize); return a summary dict. ``tasks`` says
    what each corpus's labels name (labels.json; default emotion), which picks the questions;
    ``label_sets`` (labels.json ``corpora``) are the candidates the sugar prompt lists. With
    ``norm_spec`` (a LabelSpace) the trained model's label-score statistics on training takes are saved
    beside it (:mod:`skellm.llm.label_norm`). ``lora.encoder`` finetune trains the encoder in
    ``encoder_dir`` (or the one ``init_dir`` carries) on the takes of ``split_dir``/train.parquet."""
    import torch
    from torch.utils.data import DataLoader

    from skellm import training
    from skellm.io import sha256_file
    from skellm.llm.data import Collator, load_tokens, step_order, task_examples
    from skellm.llm.encoded import encoder_inputs, retokenize, set_encoder_trainable, split_set
    from skellm.llm.model import load_base, load_trained, new_model, save_trained, select_tokens

    cfg = getattr(lora, task)
    steps, batch_size = cfg.steps, cfg.batch_size
    training.set_seed(seed)
    set_torch_threads(lora.threads)
    accelerator = training.make_accelerator(lora.device, seed, mixed_precision=lora.mixed_precision)
    tensors, table = load_tokens(tokens_dir, "train", llm_cfg.tokens)
    dtype = llm_cfg.dtype
    if init_dir:
        model = load_trained(llm_dir, init_dir, trainable=True, dtype=dtype)
    else:
        llm, tok = load_base(llm_dir, dtype)
        in_dim = select_tokens(tensors, llm_cfg.tokens, [0])[0].shape[-1]
        model = new_model(llm, tok, in_dim, llm_cfg, lora)
        if llm_cfg.projector_init == "labels" and llm_cfg.projector == "linear":
            anchor_projector(model, tensors, table, lora, tasks)
    finetune = lora.encoder == "finetune"
    if finetune and model.encoder is None:
        if encoder_dir is None:
            raise ValueError("lora.encoder finetune: no encoder folder given")
        model.attach_encoder(encoder_dir)
    encoder_params, data = [], None
    if model.encoder is not None:
        encoder_params = set_encoder_trainable(model, finetune)
        # the training takes as the encoder reads them: its inputs while it trains, its tokens for label_norm
        data = split_set(split_dir, "train", table, tensors["spatial"].shape[1])
    inputs = encoder_inputs(data) if finetune else None
    examples = task_examples(task, table, lora, tasks, model.prompt, label_sets)
    collate = Collator(model, tensors, examples, model.token_kind, inputs)
    # ``steps`` counts optimizer steps: each of the N processes takes its own batch per step
    lengths = [len(tail) for tail, _ in collate.encoded] if lora.group_by_length else None
    order = step_order(len(examples), steps * accelerator.num_processes, batch_size, seed, lengths)
    loader = DataLoader(order, batch_size=batch_size, shuffle=False, collate_fn=collate)

    lora_params = [p for n, p in model.llm.named_parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": lora_params, "lr": cfg.lr},
            {"params": list(model.projector.parameters()), "lr": cfg.projector_lr},
        ]
        + ([{"params": encoder_params, "lr": cfg.encoder_lr}] if encoder_params else []),
        weight_decay=0.0,
    )
    warmup = cfg.warmup_steps
    model.train()
    model, optimizer, loader, scheduler = training.prepare(
        accelerator,
        model,
        optimizer,
        loader,
        lambda spe: training.make_scheduler(optimizer, steps, warmup, milestones=()),
    )
    if ckpt_dir is not None:
        ckpt_dir = Path(ckpt_dir)
        spec = {
            "task": task,
            "lora": as_dict(lora),
            "llm": as_dict(llm_cfg),
            "seed": seed,
            "init": str(init_dir),
        }
        spec["tokens"] = sha256_file(Path(tokens_dir) / "train.safetensors")
        if encoder_dir is not None and finetune:
            spec["encoder"] = sha256_file(Path(encoder_dir) / "model.safetensors")
        if llm_cfg.tokens == "vqvae":
            spec["vqvae_tokens"] = sha256_file(Path(tokens_dir) / "vqvae_train.safetensors")
        if accelerator.is_main_process:
            _fingerprint(ckpt_dir, spec)
        accelerator.wait_for_everyone()
    curves = training.CurveLogger(curves_path) if curves_path else None
    step = make_step(accelerator, model, optimizer, lora.max_grad_norm)
    state = training.fit(
        accelerator,
        loader,
        step,
        epochs=1,
        scheduler=scheduler,
        ckpt_dir=ckpt_dir,
        ckpt_every_steps=lora.checkpoint_every,
        curves=curves,
        log_every=lora.log_every,
        desc=f"lora {task}",
        seed=seed,
    )
    losses = [
        float(r["train_loss"])
        for r in (curves.rows if curves else [])
        if r.get("train_loss") not in (None, "")
    ]
    summary = {
        "task": task,
        "steps": state.step,
        "examples": len(examples),
        "batch_size": batch_size,
        "first_loss": losses[0] if losses else None,
        "final_loss": sum(losses[-5:]) / len(losses[-5:]) if losses else None,
    }
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        extra = {"lora": as_dict(lora), "summary": summary}
        trained = accelerator.unwrap_model(model)
        save_trained(trained, out_dir, extra=extra)
        if norm_spec is not None:
            from skellm.llm.label_norm import label_norm, write_label_norm

            trained.eval()
            if trained.encoder is not None:  # the label scores of the tokens it now reads
                tensors = retokenize(trained, tensors, data)
            norm = label_norm(trained, tensors, table, norm_spec, lora.answer_format, lora.norm_takes)
            write_label_norm(out_dir, norm)
        if ckpt_dir is not None:
            shutil.rmtree(ckpt_dir, ignore_errors=True)  # done: a re-run must not resume a finished run
    return summary


def anchor_projector(model, tensors, table, lora: LoraConfig, tasks: dict[str, str] | None = None) -> None:
    """Start the linear projector at the ridge map from each labelled training take's skeleton tokens
    to the LM's mean input embedding of its label's words (``llm.projector_init: labels``), so the
    first step already shows the LM a token near its label. ``lora.holdout_labels`` stay out."""
    import torch

    from skellm.llm.data import label_tasks
    from skellm.llm.model import select_tokens
    from skellm.llm.projector import fit_linear
    from skellm.llm.prompts import format_answer

    holdout = set(lora.holdout_labels)
    rows = [
        (i, label, task)
        for i, (label, task) in enumerate(
            zip(table["label"].to_list(), label_tasks(table, tasks), strict=True)
        )
        if label is not None and label not in holdout
    ]
    if not rows:
        raise ValueError("llm.projector_init labels: no labelled training take to fit the projector on")
    emb = model.llm.get_input_embeddings().weight.detach().float().cpu()
    word = {}
    for _, label, task in rows:
        if (label, task) not in word:
            word[label, task] = emb[model.answer_ids(format_answer(label, "A", task), eos=False)].mean(0)
    feats, fmask = select_tokens(tensors, model.token_kind, [i for i, _, _ in rows])
    target = torch.stack([word[label, task] for _, label, task in rows])[:, None].expand(
        -1, fmask.shape[1], -1
    )
    fit_linear(model.projector, feats[fmask], target[fmask])


STAGES = {1: "lora_describe", 2: "lora_recognize"}


def run_stage(position: int, cfg: Config, paths: Paths = PATHS) -> dict[str, Any]:
    """Run pipeline LoRA stage 1 (lora_describe) or 2 (lora_recognize).

    Stage 1 trains the first task of ``lora.order`` from a fresh adapter; stage 2 the second task,
    starting from stage 1's adapter and projector.
    """
    from skellm.data.labelspace import LabelSpace
    from skellm.llm.encoded import joint_encoder_dir

    lora = cfg.lora
    spec = LabelSpace.load(paths.labels_json)
    name = STAGES[position]
    task = stage_task(position, lora.order)
    summary = train_stage(
        task,
        tokens_dir=paths.tokens,
        llm_dir=Path(cfg.llm.out),
        out_dir=paths.models / name,
        llm_cfg=cfg.llm,
        lora=lora,
        seed=cfg.seed,
        init_dir=paths.models / STAGES[1] if position == 2 else None,
        ckpt_dir=Path(lora.checkpoint_dir) / name,
        curves_path=paths.curves / f"{name}.csv",
        tasks=spec.tasks,
        label_sets=spec.corpora,
        norm_spec=spec if position == 2 else None,  # the model evaluate and predict read
        encoder_dir=joint_encoder_dir(cfg.encoder.out) if lora.encoder == "finetune" else None,
        split_dir=paths.split,
    )
    import torch

    # in the metrics, not the model folder: the weights' bytes must not depend on the machine's cores
    summary = {**summary, "seed": cfg.seed, "threads": torch.get_num_threads()}
    write_json(paths.metrics_json(name), summary)
    return summary
