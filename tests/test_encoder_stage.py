"""The three encoder stages end to end on a small split: text features, pre-training, token export."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from encoder_synth import make_split
from safetensors.numpy import load_file

from skellm.config import Paths, config_from_dict
from skellm.encoder import infer as encode
from skellm.encoder import train as train_encoder
from skellm.text import features as text

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.slow
def test_stages_write_contract_outputs(tmp_path):
    split = make_split(tmp_path / "split", n_per_label=6)
    know = tmp_path / "knowledge.csv"
    know.write_text("label,part,text\r\nanger,arm,fists swing hard\r\nsadness,head,the head hangs low\r\n")
    corpora = {c: {"root": str(tmp_path), "knowledge": str(know) if c == "A" else None} for c in "AC"}
    params = config_from_dict(
        {
            "seed": 0,
            "data": {"corpora": corpora},
            "text": {
                "backend": "minilm",
                "templates": ["This is a {label} person."],
                "cache_dir": str(tmp_path / "tc"),
            },
            "encoder": {
                "model": "ctrgcn",
                "base_channels": 8,
                "stage_blocks": [1, 1, 1],
                "token_dim": 32,
                "epochs": 3,
                "batch_size": 6,
                "lr": 0.05,
                "warmup_epochs": 1,
                "training": "separate",
                "device": "cpu",
                "eval_every": 1,
                "log_every": 1,
                "out": str(tmp_path / "models"),
                "checkpoint_dir": str(tmp_path / "ckpt"),
            },
        }
    )
    paths = Paths(
        split=split,
        text_features=tmp_path / "text" / "features",
        metrics=tmp_path / "m",
        plots=tmp_path / "plots",
        curves=tmp_path / "curves",
        tokens=tmp_path / "tokens",
    )
    text.run_stage(params, paths)
    bank = json.loads((tmp_path / "text" / "features.json").read_text())
    assert bank["n_texts"] == 4 + 2 and bank["knowledge_parts"] == {"head": 1, "arm": 1}  # C has no file
    metrics = train_encoder.run_stage(params, paths, progress=False)
    assert json.loads((tmp_path / "m" / "encoder.json").read_text()) == metrics
    assert set(metrics["accuracy"]) == {"A", "C", "all"} and set(metrics["zero_shot"]) == {"A", "C", "all"}
    assert all(0 <= v <= 1 for v in metrics["top3"].values()) and metrics["training"] == "separate"
    assert json.loads((tmp_path / "models" / "index.json").read_text()) == {"A": "A", "C": "C"}
    conf = (tmp_path / "plots" / "encoder_confusion" / "C.csv").read_text().splitlines()
    assert conf[0] == "actual,predicted" and len(conf) == 1 + metrics["n_test"]["C"]
    assert (tmp_path / "curves" / "encoder" / "A.csv").read_text().startswith("step,")

    encode.run_stage(params, paths)
    for s in ("train", "test"):
        t = load_file(str(tmp_path / "tokens" / f"{s}.safetensors"))
        meta = pq.read_table(tmp_path / "tokens" / f"{s}.parquet")
        n = meta.num_rows
        assert meta.column_names == ["take_id", "corpus", "label", "intensity", "description", "split"]
        assert t["semantic"].shape == (n, 32) and t["logits"].shape == (n, 4)
        assert t["spatial"].shape == (n, 25, 32) and t["spatial_mask"].dtype == np.uint8
        assert t["temporal"].shape == (n, 16, 32) and t["temporal_mask"].dtype == np.uint8
        a = np.array(meta["corpus"].to_pylist()) == "A"
        assert (t["spatial_mask"].sum(1)[a] == 23).all() and (t["spatial_mask"].sum(1)[~a] == 25).all()
        assert not t["spatial"][a][:, 23:].any()
    # one take through encode_take equals its row in the exported test tokens
    row = pq.read_table(split / "test.parquet").slice(0, 1).to_pylist()[0]
    one = encode.encode_take(tmp_path / "models" / row["corpus"], row)
    test = load_file(str(tmp_path / "tokens" / "test.safetensors"))
    np.testing.assert_allclose(one["semantic"][0], test["semantic"][0], rtol=1e-4, atol=1e-5)
    j = row["n_joints"]
    np.testing.assert_allclose(one["spatial"][0], test["spatial"][0, :j], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_milnce_with_class_knowledge_and_unseen_classes(tmp_path):
    import pyarrow.compute as pc

    split = make_split(tmp_path / "split", n_per_label=6)
    unseen = ["happiness", "sadness"]
    train = pq.read_table(split / "train.parquet")
    keep = pc.invert(pc.and_(pc.equal(train["corpus"], "C"), pc.is_in(train["emotion"], pa.array(unseen))))
    pq.write_table(train.filter(keep), split / "train.parquet")
    labels = json.loads((split / "labels.json").read_text())
    labels["corpora"]["C"] = ["anger"]
    labels["unseen"] = {"C": unseen}
    (split / "labels.json").write_text(json.dumps(labels))
    know = tmp_path / "knowledge.csv"
    know.write_text(
        "label,part,text\n"
        "happiness,arm,The arms swing loosely and rise.\n"
        "happiness,head,The head is held up.\n"
        "sadness,head,The head hangs forward.\n"
        "sadness,leg,The steps are short and slow.\n"
        "anger,hand,The fists are clenched.\n"
        "boredom,hand,A class no corpus uses is ignored.\n"
    )
    params = config_from_dict(
        {
            "text": {"templates": ["This is a {label} person."], "cache_dir": str(tmp_path / "tc")},
            "data": {"corpora": {"C": {"root": str(tmp_path), "knowledge": str(know)}}},
            "encoder": {
                "base_channels": 8, "token_dim": 32, "epochs": 2, "batch_size": 6, "warmup_epochs": 1,
                "text_loss": "milnce", "soft_labels": 0.5, "device": "cpu", "eval_every": 0,
                "out": str(tmp_path / "models"), "checkpoint_dir": str(tmp_path / "ckpt"),
            },
        }
    )  # fmt: skip
    paths = Paths(
        split=split,
        text_features=tmp_path / "text" / "features",
        metrics=tmp_path / "m",
        plots=tmp_path / "plots",
        curves=tmp_path / "curves",
        tokens=tmp_path / "tokens",
    )
    text.run_stage(params, paths)
    manifest = json.loads((tmp_path / "text" / "features.json").read_text())
    n_classes = len(labels["classes"])
    assert manifest["n_texts"] == n_classes + 5 and manifest["knowledge_parts"]["head"] == 2
    texts, text_class = text.load_text_bank(tmp_path / "text" / "features", labels["classes"])
    assert texts.shape[0] == n_classes + 5
    assert sorted(text_class[n_classes:].tolist()) == sorted(labels["classes"].index(c) for c in
        ["happiness", "happiness", "sadness", "sadness", "anger"])  # fmt: skip
    metrics = train_encoder.run_stage(params, paths, progress=False)
    z = metrics["unseen"]["C"]
    assert (z["n"], z["classes"], z["chance_top1"]) == (2 * 2, 2, 0.5)  # 2 test takes per unseen class
    assert z["top5"] == 1.0 and 0.0 <= z["top1"] <= 1.0
    assert metrics["n_test"]["C"] == 2  # the seen class's test takes only
