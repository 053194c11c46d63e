"""Label-prompt text features: real MiniLM, and a real open_clip checkpoint the test builds itself."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from skellm.config import TextConfig
from skellm.text import features as text


def test_minilm_features_separate_labels_and_cache_per_prompt(tmp_path):
    cfg = TextConfig(backend="minilm")
    classes = ["anger", "joy", "sadness"]
    feats, man = text.text_features(classes, ["This is a {label} person."], cfg, tmp_path / "cache")
    assert feats.shape == (1, 3, 384) and man["encoded_now"] == 3
    f = feats[0] / np.linalg.norm(feats[0], axis=1, keepdims=True)
    sim = f @ f.T
    assert np.all(sim[~np.eye(3, dtype=bool)] < 0.99)  # distinct prompts, distinct vectors
    feats2, man2 = text.text_features(
        classes, ["This is a {label} person.", "The body shows {label}."], cfg, tmp_path / "cache"
    )
    assert man2["encoded_now"] == 3  # only the new template's prompts
    np.testing.assert_allclose(feats2[0], feats[0], rtol=1e-6)
    assert man2["key"] != man["key"]
    text.write_text_features(tmp_path / "out" / "features", feats2, man2)
    got = text.load_class_text(tmp_path / "out" / "features", ["sadness", "anger"])
    np.testing.assert_allclose(got, feats2.mean(0)[[2, 0]], rtol=1e-6)
    with pytest.raises(ValueError, match="fear"):
        text.load_class_text(tmp_path / "out" / "features", ["fear"])


@pytest.mark.slow
def test_open_clip_from_local_checkpoint(tmp_path):
    import open_clip
    import torch
    from safetensors.torch import save_file

    cfg_file = tmp_path / "tiny-clip.json"
    cfg_file.write_text(
        json.dumps(
            {
                "embed_dim": 16,
                "vision_cfg": {
                    "image_size": 32,
                    "layers": 1,
                    "width": 32,
                    "head_width": 16,
                    "patch_size": 16,
                },
                "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
            }
        )
    )
    open_clip.add_model_config(cfg_file)
    torch.manual_seed(0)
    model = open_clip.create_model("tiny-clip")
    ckpt = tmp_path / "tiny.safetensors"
    save_file(model.state_dict(), str(ckpt))
    cfg = TextConfig(
        backend="open_clip",
        open_clip_model="tiny-clip",
        open_clip_config=str(cfg_file),
        open_clip_checkpoint=str(ckpt),
    )
    feats, man = text.text_features(["joy", "fear"], ["This is a {label} person."], cfg)
    assert feats.shape == (1, 2, 16) and man["identity"]["backend"] == "open_clip"
    expect = model.eval().encode_text(open_clip.get_tokenizer("tiny-clip")(["This is a joy person."]))
    np.testing.assert_allclose(feats[0, 0], expect[0].detach().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(FileNotFoundError, match="open_clip_checkpoint"):
        text.text_features(["joy"], ["{label}"], replace(cfg, open_clip_checkpoint=str(tmp_path / "none.pt")))


def test_action_classes_get_action_prompts_as_words():
    cfg = TextConfig()
    table = text.prompts(
        ["drink_water", "joy"],
        cfg.templates,
        cfg.action_templates,
        {"drink_water": "action", "joy": "emotion"},
    )
    assert table[0] == ["A person is doing the action: drink water.", "This is a joy person."]
    assert len(table) == len(cfg.templates)


def test_read_knowledge_names_the_file_and_row(tmp_path):
    good = tmp_path / "k.csv"
    row = b"drink_water,hand,The hand lifts a cup to the mouth.\r\n"
    good.write_bytes(b"\xef\xbb\xbflabel,part,text\r\n" + row)  # BOM and CRLF, as Excel writes

    assert text.read_knowledge(good) == [("drink_water", "hand", "The hand lifts a cup to the mouth.")]
    bad = tmp_path / "bad.csv"
    bad.write_text("label,part,text\ndrink_water,elbow,The elbow bends.\n")
    with pytest.raises(ValueError, match=r"bad.csv: row 2: part 'elbow'"):
        text.read_knowledge(bad)
    (tmp_path / "cols.csv").write_text("class,text\nx,y\n")
    with pytest.raises(ValueError, match="columns label, part, text"):
        text.read_knowledge(tmp_path / "cols.csv")
    with pytest.raises(FileNotFoundError, match="class knowledge file not found"):
        text.read_knowledge(tmp_path / "none.csv")


def test_text_knowledge_selects_the_parts_of_the_bank():
    """text.knowledge: SUGAR's ablation of the pre-training texts (both, motion, visual, none)."""
    from skellm.config import ConfigError

    rows = [("wave", p, f"{p} text") for p in ("head", "hand", "arm", "hip", "leg", "foot", "visual")]
    assert text.select_knowledge(rows, "both") == rows
    assert text.select_knowledge(rows, "motion") == rows[:6]
    assert text.select_knowledge(rows, "visual") == rows[6:]
    assert text.select_knowledge(rows, "none") == []
    with pytest.raises(ConfigError, match="text.knowledge must be one of both, motion, visual, none"):
        TextConfig(knowledge="audio")
