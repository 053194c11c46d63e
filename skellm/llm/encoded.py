"""The skeleton encoder trained with the LoRA adapter (``lora.encoder: finetune``).

With a frozen encoder the LoRA stages read the encode_tokens stage's tokens. Fine-tuned, the joint
encoder becomes a submodule of :class:`skellm.llm.model.SkeletonLM`: batches then carry the encoder's
inputs (:func:`encoder_inputs`) instead of tokens, the encoder is saved in the adapter's folder
(``encoder/``), and whoever reads that model re-encodes its takes with it (:func:`model_tokens`).
Import this module only inside functions: it imports torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from skellm.config import PATHS

ENCODER_DIR = "encoder"  # in a LoRA stage's output folder when the encoder was fine-tuned


def set_encoder_trainable(model, trainable: bool) -> list[torch.nn.Parameter]:
    """Make the encoder weights that feed ``model.token_kind``'s tokens trainable (or freeze all);
    returns the trainable ones. The classifier head and text projection stay frozen: the LM never
    reads them, and parameters without gradients would stall distributed training."""
    from skellm.llm.model import TOKEN_PARTS

    enc = model.encoder
    enc.requires_grad_(False)
    if not trainable:
        return []
    parts = [enc.input_bn, enc.backbone]
    parts += [getattr(enc.tokenizer, name) for name in TOKEN_PARTS[model.token_kind]]
    for module in parts:
        module.requires_grad_(True)
    return [p for module in parts for p in module.parameters()]


def joint_encoder_dir(encoder_out: str | Path) -> Path:
    """The one encoder folder under ``encoder.out`` that serves every corpus (``index.json``)."""
    import json

    root = Path(encoder_out)
    names = sorted(set(json.loads((root / "index.json").read_text()).values()))
    if len(names) != 1:
        raise ValueError(
            f"{root}/index.json: one encoder per corpus ({', '.join(names)}); lora.encoder finetune "
            "needs the joint one (encoder.training joint)"
        )
    return root / names[0]


def split_set(split_dir: str | Path, split: str, table, n_joints: int):
    """``split_dir``/<split>.parquet as a SkeletonSet (labels.json beside it), in the order of the
    token ``table`` (checked)."""
    from skellm.data.labelspace import LabelSpace
    from skellm.encoder.dataset import load_split

    split_file = Path(split_dir) / f"{split}.parquet"
    data = load_split(split_file, LabelSpace.load(Path(split_dir) / "labels.json"), n_joints)
    ids = [m["take_id"] for m in data.meta]
    if ids != table["take_id"].to_list():
        raise ValueError(f"{split_file}: takes differ from the encoder tokens' (re-run encode_tokens)")
    return data


def encoder_inputs(data) -> dict[str, torch.Tensor]:
    """Every take's encoder inputs (no augmentation), stacked: ``x, adj, joint_mask, time_mask, fps``."""
    from skellm.encoder.dataset import MODEL_INPUTS, SkeletonDataset

    ds = SkeletonDataset(data)
    items = [ds[i] for i in range(len(ds))]
    return {k: torch.stack([it[k] for it in items]) for k in MODEL_INPUTS}


def model_tokens(
    model,
    tokens_dir: str | Path,
    split: str,
    split_dir: str | Path = PATHS.split,
) -> tuple[dict[str, Any], Any]:
    """``(tensors, table)`` of ``split`` as ``model`` reads them: the encode_tokens stage's tokens, or,
    when the model carries a fine-tuned encoder, that encoder's tokens of the same takes. ``logits``
    stay the pretrained encoder's (evaluate's encoder_classifier mode)."""
    from skellm.llm.data import load_tokens

    tensors, table = load_tokens(tokens_dir, split, model.token_kind)
    if model.encoder is None:
        return tensors, table
    return retokenize(model, tensors, split_set(split_dir, split, table, tensors["spatial"].shape[1])), table


def retokenize(model, tensors: dict[str, Any], data) -> dict[str, Any]:
    """``tensors`` with every token but ``logits`` recomputed by ``model.encoder`` from the takes of
    ``data`` (the SkeletonSet :func:`split_set` gives for the same rows). The encoder stays in eval
    mode whatever the model's (:meth:`skellm.llm.model.SkeletonLM.train`), as ``infer`` leaves it."""
    from skellm.encoder.infer import infer

    new = infer(model.encoder, data, device=str(model.device))
    return {**tensors, **{k: torch.from_numpy(v) for k, v in new.items() if k != "logits"}}
