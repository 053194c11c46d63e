"""The synthetic corpora: real files in the contract's layout, readable by the real readers, deterministic."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from skellm.config import DataConfig, SynthConfig
from skellm.io import load_params, sha256_file
from skellm.synth.corpora import CORPORA, generate, make_actors, plan_corpus, simulate, write_raw

COUNTS = {"A": 10, "B": 8, "C": 8}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("raw")
    generate(out, size=COUNTS, seed=3, workers=1, progress=False)
    return out


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_same_seed_gives_identical_bytes_whatever_the_workers(raw, tmp_path):
    again = tmp_path / "again"
    generate(again, size=COUNTS, seed=3, workers=2, progress=False)
    a, b = _files(raw), _files(again)
    assert [p.relative_to(raw) for p in a] == [p.relative_to(again) for p in b]
    assert [sha256_file(p) for p in a] == [sha256_file(p) for p in b]
    other = tmp_path / "other"
    generate(other, size={"C": 8}, seed=4, workers=1, progress=False)
    assert sha256_file(other / "C" / "annotations.csv") != sha256_file(raw / "C" / "annotations.csv")


def test_layout_and_label_files_follow_the_contract(raw):
    params = load_params(ROOT / "params.yaml")
    corpora = params["data"]["corpora"]
    a_files = sorted((raw / "A").glob("*.bvh")) + sorted((raw / "A").glob("*.mvnx"))
    assert len(a_files) == COUNTS["A"]
    rx = re.compile(corpora["A"]["labels"][0]["pattern"])
    for f in a_files:
        m = rx.search(f.stem)
        assert m and m["emotion"] in corpora["A"]["label_set"], f.name
    b_files = sorted((raw / "B").glob("*.bvh"))
    assert len(b_files) == COUNTS["B"]
    assert all(re.fullmatch(r"[FM]\d{2}(A|D|F|H|N|SA|SU)[0-2]V\d+", f.stem) for f in b_files)
    info = _csv(raw / "B" / "file-info.csv")
    assert sorted(r["filename"] for r in info) == sorted(f.stem for f in b_files)
    for r in info:
        assert r["emotion"] in corpora["B"]["label_set"] and r["filename"].startswith(r["actor_ID"])
    c_files = sorted((raw / "C").rglob("*.txt"))
    assert len(c_files) == COUNTS["C"]
    assert {f.parent.name for f in c_files} <= set(corpora["C"]["label_set"])
    for corpus, files in (("A", a_files), ("B", b_files), ("C", c_files)):
        rows = _csv(raw / corpus / "annotations.csv")
        names = {r["filename"] for r in rows}
        assert names == {f.relative_to(raw / corpus).as_posix() for f in files}
        assert all(0.0 <= float(r["intensity"]) <= 1.0 for r in rows)


def test_every_file_parses_with_the_real_readers(raw):
    from skellm.readers import read_motion

    seen = set()
    for f in _files(raw):
        if f.suffix not in (".bvh", ".mvnx", ".txt"):
            continue
        m = read_motion(f)
        corpus = f.relative_to(raw).parts[0]
        seen.add((corpus, m.fmt))
        assert np.isfinite(m.positions).all() and m.n_frames > 30
        if m.fmt == "bvh" and corpus == "A":
            assert (m.layout, m.n_joints, m.fps, m.units) == ("xsens_bvh", 28, 120.0, "cm")
        elif m.fmt == "mvnx":
            assert (m.n_joints, m.fps, m.up_axis) == (23, 120.0, "z")
        elif m.fmt == "bvh":
            assert (m.layout, m.fps) == ("perception_neuron", 125.0)
            assert m.n_joints == 59 + 13  # 59 joints + End Sites on head, feet and fingertips
        else:
            assert (m.layout, m.n_joints, m.fps) == ("kinect_v2", 25, 30.0)
        height = np.nanmax(m.positions[0, :, 2 if m.up_axis == "z" else 1]) - np.nanmin(
            m.positions[0, :, 2 if m.up_axis == "z" else 1]
        )
        scale = 0.01 if m.units == "cm" else 1.0
        assert 1.3 < height * scale < 2.1, f"{f.name}: standing height {height * scale:.2f} m"
    assert {("A", "bvh"), ("B", "bvh"), ("C", "kinect")} <= seen


def test_labels_load_through_the_pipeline_label_sources(raw):
    from skellm.data.labels import load_labels

    params = load_params(ROOT / "params.yaml")
    for corpus in ("A", "B", "C"):
        cfg = params["data"]["corpora"][corpus]
        sources = [
            dict(s, path=str(raw / corpus / Path(s["path"]).name)) if "path" in s else s
            for s in cfg["labels"]
        ]
        files = sorted(p for p in (raw / corpus).rglob("*") if p.suffix in (".bvh", ".mvnx", ".txt"))
        labels = load_labels(files, raw / corpus, sources)
        for f in files:
            rec = labels[f]
            assert rec["emotion"] in cfg["label_set"], f
            assert rec.get("subject"), f
            assert 0.0 <= rec["intensity"] <= 1.0
    described = [r for c in "ABC" for r in _csv(raw / c / "annotations.csv") if r["description"]]
    assert 0 < len(described) < sum(COUNTS.values())


def test_kinect_takes_lose_tracking_sometimes(raw):
    from skellm.readers import read_motion

    lost = [1.0 - read_motion(f).tracked.mean() for f in sorted((raw / "C").rglob("*.txt"))]
    assert max(lost) > 0.0 and np.mean(lost) < 0.2


def _sim(corpus: str, emotion: str, n: int, seed: int = 0):
    spec = CORPORA[corpus]
    actors = make_actors(spec, seed)
    plans = [p for p in plan_corpus(spec, n * len(spec.emotions), seed, actors) if p.emotion == emotion]
    return [simulate(p, actors[p.actor]) for p in plans[:n]]


def test_emotions_show_in_the_body():
    """Sad takes carry the head lower and move slower than joyful ones (same generator, real FK)."""

    def head_drop_and_speed(take):
        p = take.positions
        names = take.rig.joint_names
        head, neck, pelvis = (p[:, names.index(n)] for n in ("Head_End", "Neck", "Pelvis"))
        v = head - neck
        fwd_tilt = np.degrees(np.arctan2(np.hypot(v[:, 0], v[:, 2]), v[:, 1])).mean()
        hand = p[:, names.index("RightHand")] - pelvis
        speed = np.linalg.norm(np.diff(hand, axis=0), axis=-1).mean() * take.fps
        return fwd_tilt, speed

    sad = np.array([head_drop_and_speed(t) for t in _sim("A", "sadness", 6)])
    joy = np.array([head_drop_and_speed(t) for t in _sim("A", "joy", 6)])
    assert sad[:, 0].mean() > joy[:, 0].mean() + 8.0
    assert sad[:, 1].mean() < joy[:, 1].mean()


def test_descriptions_name_applied_cues_not_the_emotion():
    from skellm.synth.describe import _PHRASES, salient_cues

    takes = [t for e in ("sadness", "anger", "fear") for t in _sim("A", e, 5)]
    texts = [t for t in takes if t.description]
    assert texts
    for t in texts:
        assert t.cues.emotion not in t.description.lower()
        top = salient_cues(t.cues)[:1]
        if top:
            cue, d, _ = top[0]
            assert any(ph in t.description for ph in _PHRASES[(cue, d)]), t.description
    assert len({t.description for t in texts}) == len(texts)


def test_other_sources_leave_an_empty_raw_folder(tmp_path):
    out = tmp_path / "raw"
    (out / "old").mkdir(parents=True)
    assert write_raw(DataConfig(source="files", synth=SynthConfig(out=str(out))), 0) == {}
    assert [p.name for p in out.iterdir()] == ["README.md"]
