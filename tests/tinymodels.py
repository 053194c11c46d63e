"""Tiny trained-artefact stand-ins for prediction tests and benchmarks, in the layout the stages write.

``write_tiny_llm``: a 2-layer LLaMA (random weights) with the real SmolLM2 tokenizer as a prepared-LLM
folder. ``make_tiny_repo``: a skellm repo as `dvc repro` leaves it (params.yaml, data/split, layouts,
models/encoder, models/llm, models/lora_recognize, metrics/) with a random tiny encoder and adapter.
``write_every_format``: one real raw file per reader format.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from skellm.config import Config, config_from_dict
from skellm.layouts import KINECT_V2, XSENS23

FIXTURES = Path(__file__).parent / "fixtures"
LABEL_SETS = {
    "A": ["neutral", "joy", "anger", "panic", "fear", "anxiety", "sadness", "shame"],
    "C": ["happiness", "sadness", "neutral", "anger", "disgust", "fear", "surprise"],
}
TOKEN_DIM = 16
LORA = {
    "rank": 4,
    "alpha": 8,
    "dropout": 0.0,
    "target_modules": ["q_proj", "v_proj"],
    "answer_format": "A",
    "describe_validation": 0,
}


def extract_tokenizer(out: Path) -> Path:
    """The SmolLM2 tokenizer from the packaged GGUF, saved as an HF tokenizer folder (once)."""
    from transformers import AutoTokenizer

    from skellm.llm.prepare import packaged_gguf

    if not (out / "tokenizer.json").exists():
        gguf = packaged_gguf()
        AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name).save_pretrained(out)
    return out


def write_tiny_llm(out: Path, tokenizer_dir: Path) -> Path:
    """A prepared-LLM folder holding a 2-layer LLaMA (random weights) and the SmolLM2 tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from skellm.io import write_json

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        eos_token_id=tok.eos_token_id,
        tie_word_embeddings=True,
        # large enough embeddings that a frozen tied head can express a peaked answer distribution
        initializer_range=0.3,
    )
    LlamaForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    write_json(out / "source.json", {"external": None})
    return out


# ---- raw files ----------------------------------------------------------------------------------
def _xsens_positions(frames: int = 40) -> np.ndarray:
    """(frames, 23, 3) Xsens-segment positions in metres, Z up, of the Xsens fixture BVH."""
    from skellm.readers import read_motion

    m = read_motion(FIXTURES / "xsens_mvn.bvh")
    idx = [m.joint_names.index(n) for n in XSENS23.joint_names]
    y_up = m.positions[:frames, idx] / 100.0  # cm -> m
    return np.stack([y_up[..., 0], -y_up[..., 2], y_up[..., 1]], -1)


SAMPLES = {
    "bvh": "walker.bvh",  # LAFAN1 rig: no corpus's skeleton
    "bvh_xsens": "xsens_mvn.bvh",  # corpus A's rig
    "kinect": "P01_001.txt",  # corpus C's rig, with NotTracked frames
    "mvnx": "take.mvnx",
    "ntu": "S001C001P001R001A001.skeleton",
    "c3d": "take.c3d",
    "npy": "take.npy",
}


def sample_files(folder: Path) -> dict[str, Path]:
    """{format: path} of the files :func:`write_every_format` wrote in ``folder``."""
    return {k: folder / v for k, v in SAMPLES.items()}


def run_cli(argv: list, monkeypatch, capsys, cwd: Path) -> tuple[int, str, str]:
    """Run ``skellm ARGV`` in-process from ``cwd``: (exit status, stdout, stderr)."""
    from skellm.apps.cli import main

    monkeypatch.chdir(cwd)
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def write_every_format(folder: Path) -> dict[str, Path]:
    """One real file per format: {format: path}. The Kinect-rig ones share corpus C's skeleton."""
    import ezc3d
    from datafix import kinect_positions, write_kinect, write_walker_bvh

    from skellm.readers.mvnx import write_mvnx

    folder.mkdir(parents=True, exist_ok=True)
    files = sample_files(folder)
    write_walker_bvh(files["bvh"], frames=60)
    write_kinect(files["kinect"], frames=50, yaw_deg=30, seed=1, lost=4)
    shutil.copy(FIXTURES / "xsens_mvn.bvh", files["bvh_xsens"])
    write_mvnx(files["mvnx"], list(XSENS23.joint_names), _xsens_positions(), None, 60.0)
    kin = kinect_positions(frames=45, yaw_deg=-20, seed=2)
    lines = [str(len(kin))]
    for frame in kin:  # NTU RGB+D text: body count, body line, joint count, 25 joint lines
        lines += ["1", "72057594037931101 0 1 1 1 1 0 0.02 0.1 2", "25"]
        lines += [f"{x:.6f} {y:.6f} {z:.6f} 250 200 900 500 1 0 0 0 2" for x, y, z in frame]
    files["ntu"].write_text("\n".join(lines) + "\n")
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [100.0]
    c["parameters"]["POINT"]["LABELS"]["value"] = list(KINECT_V2.joint_names)
    c["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    pts = np.ones((4, 25, len(kin)))
    pts[:3] = np.stack([kin[..., 0], -kin[..., 2], kin[..., 1]], -1).transpose(2, 1, 0) * 1000  # Z up, mm
    c["data"]["points"] = pts
    c.write(str(files["c3d"]))
    np.save(files["npy"], kinect_positions(frames=30, seed=3).astype(np.float32))
    side = {"joint_names": list(KINECT_V2.joint_names), "parents": list(KINECT_V2.parents), "fps": 30}
    files["npy"].with_suffix(".json").write_text(json.dumps(side))
    return files


# ---- the repo -----------------------------------------------------------------------------------
def _params() -> dict:
    return {
        "seed": 0,
        "data": {
            "source": "synth",
            "synth": {"size": "tiny"},
            "corpora": {
                "A": {"root": "data/raw/A", "label_field": "emotion", "label_set": LABEL_SETS["A"]},
                "C": {
                    "root": "data/raw/C",
                    "label_field": "emotion",
                    "fps": 30,
                    "label_set": LABEL_SETS["C"],
                },
            },
        },
        "harmonize": {"target_fps": 30, "frames": 64, "joints": "native", "center": "first_frame"},
        "encoder": {
            "model": "ctrgcn",
            "base_channels": 4,
            "stage_blocks": [1, 1, 1],
            "token_dim": TOKEN_DIM,
            "training": "joint",
            "out": "models/encoder",
        },
        "llm": {
            "path": None,
            "out": "models/llm",
            "projector": "linear",
            "tokens": "both",
            "dtype": "float32",
        },
        "lora": {**LORA, "order": "DR"},
        "eval": {"describe_max_new_tokens": 6},
    }


def _harmonized_rows(files: dict[str, Path], cfg: Config, ingested: Path) -> tuple[list[dict], dict]:
    """Take-table rows (harmonized as the pipeline does) for corpus A and C training takes."""
    from skellm.data.harmonize import harmonize_table
    from skellm.data.ingest import ingest_files, read_options
    from skellm.data.table import concat_takes, read_takes

    tables, layouts = [], {}
    for corpus, key in (("A", "bvh_xsens"), ("C", "kinect")):
        out = ingested / f"{corpus}.parquet"
        opts = read_options(cfg.data.corpora[corpus])
        label = {files[key].name: {"emotion": LABEL_SETS[corpus][1]}}
        ingest_files([files[key]], corpus, out, labels=label, read_opts=opts)
        table, lay = harmonize_table(read_takes(out), cfg.harmonize)
        tables.append(table)
        layouts.update(lay)
    return concat_takes(tables), layouts


def make_tiny_repo(root: Path, llm_dir: Path, samples: Path) -> Path:
    """A repo as `dvc repro` leaves it, with random tiny models; ``samples`` from write_every_format."""
    import pyarrow as pa
    import torch
    import yaml

    from skellm.data.table import write_takes
    from skellm.encoder import SkeletonEncoder
    from skellm.encoder.infer import save_encoder
    from skellm.encoder.train import model_config
    from skellm.io import write_json
    from skellm.llm.model import load_base, new_model, save_trained

    params = _params()
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    files = {k: Path(v) for k, v in write_every_format(samples).items()}
    cfg = config_from_dict(params)
    table, layouts = _harmonized_rows(files, cfg, root / "data/ingested")
    classes = sorted({x for v in LABEL_SETS.values() for x in v})
    write_json(
        root / "data/split/labels.json", {"label_field": "emotion", "classes": classes, "corpora": LABEL_SETS}
    )
    write_json(root / "data/harmonized/layouts.json", layouts)
    split = pa.array(["train"] * table.num_rows, type=pa.string())
    write_takes(table.append_column("split", split), root / "data/split/train.parquet")

    torch.manual_seed(0)
    text_dim = 8
    enc = SkeletonEncoder(model_config(cfg.encoder, len(classes), text_dim)).eval()
    info = {"classes": classes, "label_field": "emotion", "corpora": ["A", "C"], "training": "joint"}
    save_encoder(root / "models/encoder/joint", enc, torch.randn(len(classes), text_dim), info)
    write_json(root / "models/encoder/index.json", {"A": "joint", "C": "joint"})

    shutil.copytree(llm_dir, root / "models/llm")
    llm, tok = load_base(root / "models/llm")
    model = new_model(llm, tok, TOKEN_DIM, cfg.llm, cfg.lora)
    with torch.no_grad():  # peft starts LoRA B at zero; make the adapter matter
        for n, p in model.llm.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.05)
    save_trained(model, root / "models/lora_recognize")
    # label-score statistics as lora_recognize writes them (made-up values: each label its own level)
    from skellm.llm.label_norm import write_label_norm
    from skellm.llm.prompts import recognition_question

    question = recognition_question("emotion", prompt=cfg.llm.prompt)
    stats = {
        c: {question: {lab: [-4.0 - i, 1.0 + 0.5 * i] for i, lab in enumerate(labs)}}
        for c, labs in LABEL_SETS.items()
    }
    write_label_norm(root / "models/lora_recognize", {"takes": {c: 10 for c in LABEL_SETS}, "stats": stats})

    write_json(
        root / "metrics/data.json", {"takes": {"A": 250, "C": 140, "total": 390}, "quarantined": {"total": 0}}
    )
    acc = {"n": 10, "accuracy": 0.6, "error_rate": 0.1}
    rec = {"score": {"overall": acc, "A": acc, "C": acc}}
    write_json(root / "metrics/llm.json", {"recognition": rec, "description": {"rougeL": 0.21}})
    write_json(root / "metrics/encoder.json", {"accuracy": {"A": 0.5, "C": 0.7, "all": 0.6}})
    return root


def dying_make_step(real, kill_at: int):
    """A stand-in for ``skellm.llm.train.make_step`` whose step ``kill_at`` (1-based) raises
    KeyboardInterrupt, as a killed run would stop; the steps before it run as ``real``'s."""

    def make_step(accelerator, model, optimizer, max_grad_norm):
        step, calls = real(accelerator, model, optimizer, max_grad_norm), []

        def wrapped(batch):
            calls.append(1)
            if len(calls) == kill_at:
                raise KeyboardInterrupt
            return step(batch)

        return wrapped

    return make_step
