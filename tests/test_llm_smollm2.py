"""The packaged SmolLM2-135M-Instruct: GGUF -> HF folder, then generation through the projector."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")


@pytest.mark.slow
def test_prepare_packaged_smollm2_and_generate_through_projector(tmp_path):
    from skellm.config import LLMConfig, LoraConfig
    from skellm.llm.generate import greedy
    from skellm.llm.model import load_base, new_model, select_tokens
    from skellm.llm.prepare import prepare_llm
    from skellm.llm.scoring import score_labels, score_labels_naive

    out = prepare_llm(tmp_path / "llm")
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
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
