"""Run a trained skeleton encoder: save/load it, batch inference, token export, single-take encoding.

The model folder holds ``model.safetensors`` (weights plus the class text features as ``class_text``)
and ``config.json`` (architecture, classes, label field, the corpora it was trained on). Token export
writes ``data/tokens/<split>.safetensors`` + ``.parquet`` as docs/contracts.md specifies.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from skellm.config import PATHS, Config, Paths
from skellm.encoder.dataset import MODEL_INPUTS, SkeletonDataset, SkeletonSet, from_rows
from skellm.io import atomic_path, write_json

TOKEN_KEYS = ("semantic", "spatial", "spatial_mask", "temporal", "temporal_mask", "logits")


def save_encoder(folder: str | os.PathLike, model, class_text, info: dict[str, Any]) -> None:
    """Write the encoder's weights (safetensors) and config atomically."""
    from safetensors.torch import save_file

    folder = Path(folder)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    state["class_text"] = class_text.detach().cpu().contiguous()
    with atomic_path(folder / "model.safetensors") as tmp:
        save_file(state, str(tmp))
    write_json(folder / "config.json", {"model": model.config, **info})


def load_encoder(folder: str | os.PathLike):
    """(model in eval mode, class_text tensor, config dict) from a folder written by :func:`save_encoder`."""
    from safetensors.torch import load_file

    from skellm.encoder import SkeletonEncoder

    folder = Path(folder)
    cfg = json.loads((folder / "config.json").read_text())
    state = load_file(str(folder / "model.safetensors"))
    class_text = state.pop("class_text")
    model = SkeletonEncoder(cfg["model"])
    model.load_state_dict(state)
    return model.eval(), class_text, cfg


def infer(model, data: SkeletonSet, batch_size: int = 32, device: str = "cpu") -> dict[str, np.ndarray]:
    """Tokens and logits for every take of ``data`` (no augmentation), as numpy arrays."""
    import torch

    ds = SkeletonDataset(data)
    out: dict[str, list] = {k: [] for k in TOKEN_KEYS}
    model.eval()
    with torch.inference_mode():
        for s in range(0, len(ds), batch_size):
            items = [ds[i] for i in range(s, min(s + batch_size, len(ds)))]
            tok = model(*(torch.stack([it[k] for it in items]).to(device) for k in MODEL_INPUTS))
            for k in TOKEN_KEYS:
                out[k].append(getattr(tok, k).float().cpu().numpy())
    res = {k: np.concatenate(v) for k, v in out.items()}
    res["spatial_mask"] = res["spatial_mask"].astype(np.uint8)
    res["temporal_mask"] = res["temporal_mask"].astype(np.uint8)
    return res


def zero_shot_scores(model, semantic: np.ndarray, class_text) -> np.ndarray:
    """Cosine similarity (N, n_classes) of semantic tokens to the projected label-prompt features."""
    import torch

    with torch.inference_mode():
        t = torch.nn.functional.normalize(model.text_proj(class_text.float()), dim=-1)
        s = torch.nn.functional.normalize(torch.from_numpy(semantic), dim=-1)
        return (s @ t.T).numpy()


def encode_take(model_dir: str | os.PathLike, take: dict[str, Any], loaded=None) -> dict[str, np.ndarray]:
    """Encode one harmonized take (a take-table row: positions flat, n_frames, n_joints, joint_names,
    parents) with the encoder in ``model_dir``; returns the token arrays for a batch of one.

    Pass ``loaded`` (the tuple :func:`load_encoder` returns) to avoid reloading across calls. For
    separately trained encoders (one per corpus) ``model_dir`` is that corpus's folder.
    """
    model, _, cfg = loaded or load_encoder(model_dir)
    data = from_rows([take], cfg["classes"], cfg["label_field"])
    return infer(model, data, 1)


def export_tokens(
    path: str | os.PathLike, tokens: dict[str, np.ndarray], data: SkeletonSet, classes: list[str]
) -> None:
    """Write ``<path>.safetensors`` (token tensors) and ``<path>.parquet`` (one row per take, same order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from safetensors.numpy import save_file

    path = Path(path)
    with atomic_path(path.with_suffix(".safetensors")) as tmp:
        save_file({k: np.ascontiguousarray(tokens[k]) for k in TOKEN_KEYS}, str(tmp))
    table = pa.table(
        {
            "take_id": [m["take_id"] for m in data.meta],
            "corpus": [m["corpus"] for m in data.meta],
            "label": [m["label"] for m in data.meta],
            "intensity": pa.array([m["intensity"] for m in data.meta], type=pa.float32()),
            "description": pa.array([m["description"] for m in data.meta], type=pa.string()),
            "split": [m["split"] for m in data.meta],
        }
    )
    with atomic_path(path.with_suffix(".parquet")) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def run_stage(cfg: Config, paths: Paths = PATHS) -> None:
    """encode_tokens stage: frozen encoder tokens of every split -> ``paths.tokens``/<split>.*

    Each take is encoded by the model its corpus was trained with (``index.json``); all splits share
    one Jmax so the token tensors line up.
    """
    from skellm.cpus import set_torch_threads
    from skellm.data.table import max_joints
    from skellm.encoder.dataset import LabelSpace, load_split

    set_torch_threads(cfg.encoder.threads)
    split_dir, out_dir = Path(paths.split), Path(paths.tokens)
    model_root = Path(cfg.encoder.out)
    index = json.loads((model_root / "index.json").read_text())
    labels = LabelSpace.load(paths.labels_json)
    splits = ("train", "test")
    n_max = max_joints(split_dir / f"{s}.parquet" for s in splits)
    loaded = {name: load_encoder(model_root / name) for name in sorted(set(index.values()))}
    for split in splits:
        data = load_split(split_dir / f"{split}.parquet", labels, n_max)
        corpora = data.corpora
        unknown = sorted(set(corpora) - set(index))
        if unknown:
            raise ValueError(
                f"no encoder was trained for corpus {', '.join(unknown)} ({model_root}/index.json)"
            )
        parts: dict[str, np.ndarray] = {}
        for name, (model, _, _) in loaded.items():
            idx = np.flatnonzero([index[c] == name for c in corpora])
            if not len(idx):
                continue
            tok = infer(model, data.subset(idx))
            for k, v in tok.items():
                parts.setdefault(k, np.zeros((len(data), *v.shape[1:]), dtype=v.dtype))[idx] = v
        export_tokens(out_dir / split, parts, data, labels.classes)
        print(f"{split}: {len(data)} takes -> {out_dir}/{split}.safetensors")
