"""The packaged SmolLM2-135M-Instruct: GGUF -> HF folder, then generation through the projector."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")


@pytest.mark.slow
def test_prepare_packaged_smollm2_and_generate_through_projector(tmp_path, monkeypatch):
    from skellm.config import LLMConfig, LoraConfig
    from skellm.llm.generate import greedy
    from skellm.llm.model import load_base, new_model, select_tokens
    from skellm.llm.prepare import prepare_llm
    from skellm.llm.scoring import score_labels, score_labels_naive

    cache = tmp_path / "cache"
    out = prepare_llm(tmp_path / "llm", cache_dir=cache)  # a real conversion (a fresh cache misses)
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    _reuse_is_verified_and_identical(out, cache, tmp_path, monkeypatch)
    assert json.loads((out / "source.json").read_text())["gguf"].endswith(".gguf")
    llm, tok = load_base(out)
    assert llm.config.model_type == "llama" and llm.config.hidden_size == 576
    torch.manual_seed(0)
    lora = LoraConfig(rank=64, alpha=16, dropout=0.05, target_modules=("q_proj", "v_proj"))
    model = new_model(llm, tok, 32, LLMConfig(projector="linear", tokens="semantic"), lora).eval()
    tensors = {"semantic": torch.randn(2, 32)}
    feats, fmask = select_tokens(tensors, "semantic")
    texts = greedy(model, feats, fmask, ["Can you tell me the emotion of this person?"] * 2, 6)
    assert len(texts) == 2 and all(isinstance(t, str) and t for t in texts)
    # the pretrained LM still speaks English after the spliced tokens: the prompt's own words are likely
    labels = ["joy", "sadness", "xqzv"]
    fast = score_labels(model, feats, fmask, "Is this person happy or sad?", labels)
    naive = score_labels_naive(model, feats, fmask, "Is this person happy or sad?", labels)
    assert torch.allclose(fast, naive, atol=1e-3)
    assert (fast[:, 2] < fast[:, :2].min(1).values).all()  # a non-word is less likely than real labels


def _reuse_is_verified_and_identical(first, cache, tmp_path, monkeypatch) -> None:
    """A second prepare copies the cached conversion byte for byte without converting; a corrupted entry
    is not reused."""
    from skellm.io import sha256_file
    from skellm.llm import prepare

    def files(folder):
        return {f.name: sha256_file(f) for f in sorted(folder.iterdir())}

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted although a verified conversion was cached")

    with monkeypatch.context() as m:
        m.setattr(prepare, "convert_gguf", no_conversion)
        again = prepare.prepare_llm(tmp_path / "again", cache_dir=cache)
    assert files(again) == files(first) and files(first)  # identical bytes, manifest not copied
    (entry,) = cache.iterdir()
    with open(entry / "config.json", "a") as f:
        f.write(" ")
    assert not prepare._verified(entry)  # the next prepare would convert again and replace the entry
