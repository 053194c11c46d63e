"""Skeleton tokens spliced into a frozen causal LM's prompt, with LoRA adapters and a projector.

A sequence is ``prefix ("Human: <Skeleton>") + K projected skeleton tokens + tail`` where the tail is
the rest of the prompt (`` </Skeleton> question #Assistant:``) and, for training, the answer and EOS.
Skeleton slots that the unified-token masks mark as padding get attention-mask 0. Batches are
left-padded so generation and scoring continue every row at its last position; position ids count only
attended tokens, so a row's result does not depend on what it is batched with.
Import this module only inside functions: it imports torch.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from skellm.config import PROMPTS, TOKEN_KINDS, LLMConfig, LoraConfig
from skellm.io import write_json
from skellm.llm.projector import is_sequence_projector, make_projector, projector_in_dim, projector_options
from skellm.llm.prompts import split_template

# vqvae: LLM-AR's action sentences (skellm.vqvae.tokens), merged into the tensors by llm.data.load_tokens
# the encoder token groups each llm.tokens kind (but vqvae, the VQ-VAE's own) feeds the LM, in order
TOKEN_PARTS = {
    "semantic": ("semantic",),
    "spatial": ("spatial",),
    "temporal": ("temporal",),
    "spatiotemporal": ("spatial", "temporal"),
    "both": ("semantic", "spatial", "temporal"),
}
IGNORE = -100
META_FILE = "skeleton_lm.json"
PROJECTOR_FILE = "projector.safetensors"
ADAPTER_DIR = "adapter"


def select_tokens(tensors: dict[str, Any], kind: str, index=None):
    """Skeleton tokens of one kind as ``(feats (B, K, C) float32, mask (B, K) bool)``.

    semantic: the one global token; spatial: the per-joint tokens; temporal: the per-segment tokens only
    (SUGAR's time series for the tqp projector); spatiotemporal: spatial then temporal tokens with their
    masks; both: semantic, spatial, temporal (:data:`TOKEN_PARTS`); vqvae: the VQ-VAE's W code vectors
    with their PAD mask (keys ``vqvae``/``vqvae_mask``). ``index`` selects rows (a slice, list or tensor).
    """
    import torch

    def rows(name):
        t = tensors[name]
        return t if index is None else t[index]

    if kind == "vqvae":
        return rows("vqvae").float(), rows("vqvae_mask").bool()

    if kind not in TOKEN_PARTS:
        raise ValueError(f"llm.tokens must be one of {TOKEN_KINDS}, not {kind!r}")
    parts, masks = [], []
    for name in TOKEN_PARTS[kind]:
        if name == "semantic":
            parts.append(rows("semantic").float()[:, None, :])
            masks.append(torch.ones(parts[-1].shape[:2], dtype=torch.bool, device=parts[-1].device))
        else:
            parts.append(rows(name).float())
            masks.append(rows(f"{name}_mask").bool())
    return torch.cat(parts, 1), torch.cat(masks, 1)


class SkeletonLM(nn.Module):
    """A causal LM (optionally peft-wrapped) reading projected skeleton tokens.

    ``state_dict()`` holds only the trainable weights (projector and LoRA); the frozen base comes from
    the prepared LLM folder, so checkpoints stay small even for a 7B model.
    """

    def __init__(self, llm, projector, tokenizer, token_kind: str, projector_kind: str, prompt: str = "eai"):
        super().__init__()
        if token_kind not in TOKEN_KINDS:
            raise ValueError(f"llm.tokens must be one of {TOKEN_KINDS}, not {token_kind!r}")
        if prompt not in PROMPTS:
            raise ValueError(f"llm.prompt must be one of {', '.join(PROMPTS)}, not {prompt!r}")
        self.llm = llm
        self.projector = projector
        self.projector_kind = projector_kind  # saved with the weights: load_trained rebuilds this kind
        self.tokenizer = tokenizer
        self.token_kind = token_kind
        self.prompt = prompt  # the recognition question it was trained with: evaluate and predict ask it
        # lora.encoder finetune: the skeleton encoder (skellm.llm.encoded), with the class texts and
        # config its folder is saved with
        self.encoder: nn.Module | None = None
        self.encoder_info: tuple[Any, dict[str, Any]] | None = None
        before, _ = split_template("")
        self.prefix_ids = tokenizer(before, add_special_tokens=True).input_ids
        eos = tokenizer.eos_token_id
        self.eos_id = int(eos if eos is not None else 0)
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else self.eos_id)
        self.register_state_dict_post_hook(_keep_trainable)
        self.register_load_state_dict_post_hook(_ignore_frozen_missing)

    # ---- text ---------------------------------------------------------------------------------
    def prompt_ids(self, question: str) -> list[int]:
        """Token ids of the prompt after the skeleton tokens (no special tokens)."""
        _, after = split_template(question)
        return self.tokenizer(after, add_special_tokens=False).input_ids

    def answer_ids(self, answer: str, eos: bool = True) -> list[int]:
        """Token ids of an answer, tokenised on its own (so labels align exactly), plus EOS."""
        ids = self.tokenizer(answer, add_special_tokens=False).input_ids
        return ids + [self.eos_id] if eos else ids

    # ---- tensors ------------------------------------------------------------------------------
    @property
    def device(self):
        return next(self.projector.parameters()).device

    def build(self, feats, fmask, tails: list[list[int]], tail_labels: list[list[int]] | None = None):
        """Model inputs for skeleton tokens ``feats``/``fmask`` (B, K, C)/(B, K) and token-id tails.

        Returns a dict with ``inputs_embeds``, ``attention_mask``, ``position_ids`` and, when
        ``tail_labels`` is given, ``labels`` (IGNORE everywhere but the answer tokens).
        """
        import torch

        dev = self.device
        proj, fmask = self.project(feats, fmask)
        b, k = fmask.shape
        p = len(self.prefix_ids)
        length = p + k + max(len(t) for t in tails)
        ids = torch.full((b, length), self.pad_id, dtype=torch.long)
        attn = torch.zeros((b, length), dtype=torch.long)
        skel = torch.zeros((b, length), dtype=torch.bool)
        labels = torch.full((b, length), IGNORE, dtype=torch.long)
        for i, tail in enumerate(tails):
            start = length - (p + k + len(tail))
            s = start + p  # first skeleton slot
            ids[i, start:s] = torch.tensor(self.prefix_ids)
            ids[i, s + k :] = torch.tensor(tail, dtype=torch.long)
            attn[i, start:s] = 1
            attn[i, s : s + k] = fmask[i].long()
            attn[i, s + k :] = 1
            skel[i, s : s + k] = True
            if tail_labels is not None:
                labels[i, s + k :] = torch.tensor(tail_labels[i], dtype=torch.long)
        ids, attn, skel = ids.to(dev), attn.to(dev), skel.to(dev)
        emb = self.llm.get_input_embeddings()(ids)
        emb = emb.masked_scatter(skel[..., None], proj.to(emb.dtype))
        out = {
            "inputs_embeds": emb,
            "attention_mask": attn,
            "position_ids": (attn.cumsum(-1) - 1).clamp(min=0),
        }
        if tail_labels is not None:
            out["labels"] = labels.to(dev)
        return out

    def project(self, feats, fmask):
        """Projected skeleton tokens (B, K', H) and their mask (B, K') on the model's device: one per
        input token (linear, mlp), or the query projector's own (tqp, qformer). ``feats`` may be the
        encoder's inputs (a mapping, ``fmask`` None) when the model carries a fine-tuned encoder."""
        dev = self.device
        if isinstance(feats, Mapping):
            feats, fmask = self.encode(feats)
        x = feats.to(dev, dtype=self.projector_dtype())
        if is_sequence_projector(self.projector):
            proj, mask = self.projector(x, fmask.to(dev))
            return proj, mask.cpu()
        return self.projector(x), fmask

    def encode(self, inputs: Mapping[str, Any]):
        """The fine-tuned encoder's tokens of one batch of encoder inputs, as :func:`select_tokens`."""
        from skellm.encoder.dataset import MODEL_INPUTS

        if self.encoder is None:
            raise ValueError("encoder inputs given, but this model has no encoder (lora.encoder frozen)")
        tok = self.encoder(*(inputs[k].to(self.device) for k in MODEL_INPUTS))
        feats, fmask = select_tokens(vars(tok), self.token_kind)
        return feats, fmask.cpu()

    def attach_encoder(self, folder: str | Path) -> None:
        """Load the skeleton encoder saved in ``folder`` (:func:`skellm.encoder.infer.save_encoder`) as a
        frozen submodule; :func:`skellm.llm.encoded.set_encoder_trainable` makes it train."""
        from skellm.encoder.infer import load_encoder

        encoder, class_text, cfg = load_encoder(folder)
        self.encoder = encoder.to(self.device).requires_grad_(False)
        self.encoder_info = (class_text, {k: v for k, v in cfg.items() if k != "model"})

    def train(self, mode: bool = True):
        super().train(mode)
        if self.encoder is not None:  # BatchNorm keeps its pretrained statistics: LoRA batches are
            self.encoder.eval()  # small and of one length group, and dropout would differ at test
        return self

    def projector_dtype(self):
        return next(self.projector.parameters()).dtype

    def forward(self, feats, fmask, tails, tail_labels=None):
        """The LM output for a batch; with ``tail_labels``, ``.loss`` is the mean CE over answer tokens.

        Rows are left-padded, so every answer ends the sequence: only the last positions' logits are
        computed (the LM head over a 50k-150k vocabulary is a large share of a small model's cost).
        """
        import torch.nn.functional as F

        inputs = self.build(feats, fmask, tails, tail_labels)
        if tail_labels is None:
            return self.llm(**inputs)
        labels = inputs.pop("labels")
        keep = 1 + max(len(lab) - next(i for i, x in enumerate(lab) if x != IGNORE) for lab in tail_labels)
        out = self.llm(**inputs, logits_to_keep=keep)
        logits = out.logits[:, :-1].float()
        target = labels[:, labels.shape[1] - keep + 1 :]
        out.loss = F.cross_entropy(logits.flatten(0, 1), target.flatten(), ignore_index=IGNORE)
        return out

    def sequence_logprob(self, feats, fmask, tails, tail_labels):
        """Sum of log-probabilities of the labelled tokens, one value per row (naive scoring)."""
        import torch

        inputs = self.build(feats, fmask, tails, tail_labels)
        labels = inputs.pop("labels")
        logits = self.llm(**inputs).logits[:, :-1].float()
        target = labels[:, 1:]
        logp = torch.log_softmax(logits, -1).gather(-1, target.clamp(min=0)[..., None])[..., 0]
        return (logp * (target != IGNORE)).sum(-1)


def _trainable_names(module) -> set[str]:
    return {n for n, p in module.named_parameters() if p.requires_grad}


def _keep_trainable(module, state_dict, prefix, local_metadata):
    keep = {prefix + n for n in _trainable_names(module)}
    for key in [k for k in state_dict if k.startswith(prefix) and k not in keep]:
        del state_dict[key]


def _ignore_frozen_missing(module, incompatible_keys):
    trainable = _trainable_names(module)
    missing = incompatible_keys.missing_keys
    missing[:] = [k for k in missing if any(k.endswith(n) for n in trainable)]


# ---- building and loading ------------------------------------------------------------------------
def llm_weights_dir(llm_dir: str | Path) -> Path:
    """The HF folder holding the weights: ``llm_dir`` itself or the external path it points to."""
    from skellm.llm.prepare import resolve_llm_dir

    return resolve_llm_dir(llm_dir)


def load_base(llm_dir: str | Path, dtype: str = "float32"):
    """The frozen base causal LM and its tokenizer from a prepared folder (local files only)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = llm_weights_dir(llm_dir)
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    llm = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype), local_files_only=True)
    llm.requires_grad_(False)
    return llm, tok


def lora_config(lora: LoraConfig):
    """A peft LoraConfig from the ``lora`` params section."""
    import peft

    return peft.LoraConfig(
        r=lora.rank,
        lora_alpha=float(lora.alpha),
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        task_type="CAUSAL_LM",
    )


def new_model(llm, tokenizer, in_dim: int, llm_cfg: LLMConfig, lora: LoraConfig) -> SkeletonLM:
    """Wrap a base LM with fresh LoRA adapters and a fresh projector."""
    from peft import get_peft_model

    llm.requires_grad_(False)
    peft_llm = get_peft_model(llm, lora_config(lora))
    hidden = llm.get_input_embeddings().weight.shape[1]
    proj = make_projector(llm_cfg.projector, in_dim, hidden, dataclasses.asdict(llm_cfg.tqp))
    return SkeletonLM(peft_llm, proj, tokenizer, llm_cfg.tokens, llm_cfg.projector, llm_cfg.prompt)


def save_trained(model: SkeletonLM, out_dir: str | Path, extra: dict[str, Any] | None = None) -> None:
    """Write the LoRA adapter (peft, safetensors), the projector, a small JSON description and, when
    the model carries a fine-tuned encoder, that encoder (``encoder/``)."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.llm.save_pretrained(out / ADAPTER_DIR, safe_serialization=True)
    _stable_adapter_config(out / ADAPTER_DIR / "adapter_config.json")
    state = {k: v.detach().cpu().contiguous() for k, v in model.projector.state_dict().items()}
    save_file(state, out / PROJECTOR_FILE)
    meta = {
        "token_kind": model.token_kind,
        "projector": model.projector_kind,
        "in_dim": projector_in_dim(model.projector),
    }
    if model.prompt != "eai":  # absent: EAI-LLM's questions (folders written before llm.prompt existed)
        meta["prompt"] = model.prompt
    if opts := projector_options(model.projector):
        meta["projector_options"] = opts
    if model.encoder is not None:
        from skellm.encoder.infer import save_encoder
        from skellm.llm.encoded import ENCODER_DIR

        class_text, info = model.encoder_info
        save_encoder(out / ENCODER_DIR, model.encoder, class_text, info)
    write_json(out / META_FILE, {**meta, **(extra or {})})


def _stable_adapter_config(path: Path) -> None:
    """peft writes ``target_modules`` from a set, in an order that changes with PYTHONHASHSEED: sort it
    (and the keys) so the same training writes the same bytes in every process."""
    cfg = json.loads(path.read_text())
    for key in ("target_modules", "modules_to_save", "exclude_modules"):
        if isinstance(cfg.get(key), list):
            cfg[key] = sorted(cfg[key])
    path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")


def load_trained(
    llm_dir: str | Path, trained_dir: str | Path, trainable: bool = False, dtype: str = "float32"
) -> SkeletonLM:
    """Base LM + saved adapter + saved projector (+ the fine-tuned encoder, frozen, where one was
    saved), as written by :func:`save_trained`."""
    from peft import PeftModel
    from safetensors.torch import load_file

    trained = Path(trained_dir)
    meta = json.loads((trained / META_FILE).read_text())
    llm, tok = load_base(llm_dir, dtype)
    peft_llm = PeftModel.from_pretrained(llm, trained / ADAPTER_DIR, is_trainable=trainable)
    hidden = llm.get_input_embeddings().weight.shape[1]
    proj = make_projector(meta["projector"], meta["in_dim"], hidden, meta.get("projector_options"))
    proj.load_state_dict(load_file(trained / PROJECTOR_FILE))
    proj.requires_grad_(trainable)
    model = SkeletonLM(peft_llm, proj, tok, meta["token_kind"], meta["projector"], meta.get("prompt", "eai"))
    from skellm.llm.encoded import ENCODER_DIR

    if (trained / ENCODER_DIR / "model.safetensors").exists():  # trained with lora.encoder finetune
        model.attach_encoder(trained / ENCODER_DIR)
    return model
