"""Corpus D (NTU RGB+D-like): real .skeleton files, three views of one performance, labels and knowledge."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from skellm.io import sha256_file
from skellm.layouts import KINECT_V2
from skellm.readers.ntu import NtuBody, read_ntu, write_ntu
from skellm.synth.actions import CLASSES, PARTS
from skellm.synth.corpora import generate
from skellm.synth.ntu import _camera, make_performers, plan_ntu, setup_geometry

NAME = re.compile(r"S(?P<setup>\d{3})C(?P<camera>\d{3})P(?P<subject>\d{3})R(?P<rep>\d{3})(?P<code>A\d{3})")
N_PERF = 4  # performers in the module corpus: every class once per performer
CODES = {c.code: c for c in CLASSES}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ntu")
    generate(out, size={"D": 3 * N_PERF * len(CLASSES)}, seed=5, workers=1, progress=False)
    return out / "D"


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _raw_states(path: Path) -> np.ndarray:
    """Every joint line's trackingState, read straight from the text."""
    lines = path.read_text().splitlines()
    return np.array([int(ln.split()[11]) for ln in lines if len(ln.split()) == 12])


def test_write_read_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    T = 20

    def body(bid: int, frames: np.ndarray, x0: float) -> NtuBody:
        n = len(frames)
        xyz = rng.normal(0, 0.3, (n, 25, 3)) + [x0, 0.0, 3.0]
        quat = rng.normal(size=(n, 25, 4))
        quat /= np.linalg.norm(quat, axis=-1, keepdims=True)
        state = rng.integers(0, 3, (n, 25))
        info = np.zeros((n, 9))
        info[:, 1:5] = [1, 2, 0, 3]
        info[:, 6:8] = rng.uniform(-0.2, 0.2, (n, 2))
        info[:, 8] = 2
        return NtuBody(bid, frames, xyz, quat, state, info)

    a = body(72057594037931101, np.arange(T), -0.4)
    b = body(72057594037931102, np.arange(T), 0.5)
    noise = body(72057594037931999, np.arange(3, 7), 1.5)
    path = tmp_path / "S001C001P001R001A050.skeleton"
    write_ntu(path, T, [a, b, noise])
    lines = path.read_text().splitlines()
    assert lines[0] == str(T) and lines[1] == "2"
    head = lines[2].split()
    assert len(head) == 10 and head[0] == "72057594037931101" and head[1:5] == ["0", "1", "2", "0"]
    assert lines[3] == "25" and all(len(ln.split()) == 12 for ln in lines[4:29])
    assert sum(ln == "3" for ln in lines) == 4  # the noise body's frames hold three bodies
    m = read_ntu(path)
    assert m.meta["n_bodies_seen"] == 3 and m.n_joints == 50  # the 4-frame body is dropped as noise
    assert sorted(m.meta["body_ids"]) == ["72057594037931101", "72057594037931102"]
    got = {bid: slice(25 * k, 25 * (k + 1)) for k, bid in enumerate(m.meta["body_ids"])}
    for src in (a, b):
        sl = got[str(src.body_id)]
        assert np.allclose(m.positions[:, sl], src.xyz, atol=1e-5)
        assert np.allclose(m.orientations[:, sl], src.quat, atol=1e-6)
        assert np.array_equal(m.tracked[:, sl], src.state > 0)
    assert np.array_equal(_raw_states(path)[:25], a.state[0])


def test_file_names_and_annotations(corpus):
    files = sorted(corpus.glob("*.skeleton"))
    assert len(files) == 3 * N_PERF * len(CLASSES)
    assert all(NAME.fullmatch(f.stem) for f in files)
    rows = _csv(corpus / "annotations.csv")
    assert list(rows[0]) == ["filename", "action", "description"]
    assert sorted(r["filename"] for r in rows) == [f.stem for f in files]
    for r in rows:
        assert CODES[NAME.fullmatch(r["filename"])["code"]].name == r["action"]
        assert r["description"]
    cams = {NAME.fullmatch(f.stem)["camera"] for f in files}
    assert cams == {"001", "002", "003"}
    per_class = {}
    for f in files:
        m = NAME.fullmatch(f.stem)
        per_class.setdefault(m["code"], set()).add(m["subject"])
    assert all(len(s) == N_PERF for s in per_class.values())  # every class by every performer


def test_three_cameras_see_the_same_performance(corpus):
    stem = sorted(corpus.glob("*C001*A023.skeleton"))[0].stem
    setup = int(stem[1:4])
    cams = setup_geometry(setup, seed=5)
    world = []
    for k in (1, 2, 3):
        m = read_ntu(corpus / f"{stem.replace('C001', f'C00{k}')}.skeleton")
        R, c = _camera(cams[k - 1])
        world.append(
            (R.inv().apply(m.positions.reshape(-1, 3).astype(np.float64)) + c).reshape(m.positions.shape)
        )
        if k == 1:
            ok = m.tracked.copy()
        else:
            ok &= m.tracked
    assert world[0].shape == world[1].shape == world[2].shape
    for w in world[1:]:
        d = np.linalg.norm(w - world[0], axis=-1)[ok]
        assert np.median(d) < 0.03 and np.percentile(d, 95) < 0.12
    # the camera-space coordinates themselves differ (three views, not one copied thrice)
    raw = [read_ntu(corpus / f"{stem.replace('C001', f'C00{k}')}.skeleton").positions for k in (1, 2, 3)]
    assert np.abs(raw[0] - raw[1]).mean() > 0.1


def test_two_person_classes_have_two_bodies_and_sensor_loses_joints(corpus):
    states = []
    for f in sorted(corpus.glob("*C002*.skeleton")):
        cls = CODES[NAME.fullmatch(f.stem)["code"]]
        m = read_ntu(f)
        assert m.n_joints == 25 * cls.persons, f.name
        states.append(_raw_states(f))
    s = np.concatenate(states)
    assert (s == 1).mean() > 0.005 and (s == 0).mean() > 0.0005 and (s == 2).mean() > 0.8
    assert any(
        read_ntu(f).meta["n_bodies_seen"] > read_ntu(f).n_joints // 25 for f in corpus.glob("*.skeleton")
    )


def test_knowledge_covers_every_class_and_part(corpus):
    rows = _csv(corpus / "knowledge.csv")
    assert list(rows[0]) == ["label", "part", "text"]
    count: dict[tuple[str, str], int] = {}
    for r in rows:
        count[r["label"], r["part"]] = count.get((r["label"], r["part"]), 0) + 1
    for c in CLASSES:
        for part in PARTS:
            assert count.get((c.name, part), 0) >= 2, (c.name, part)
    assert {r["part"] for r in rows} == set(PARTS)


def test_descriptions_follow_the_dominant_hand(corpus):
    performers = make_performers(N_PERF, seed=5)
    lefty = {f"{i + 1:03d}" for i, p in enumerate(performers) if p.dominant == "l"}
    assert lefty == {"002"}
    one_handed = {"drink_water", "hand_waving", "salute", "pointing_to_something", "kicking_something"}
    for r in _csv(corpus / "annotations.csv"):
        if r["action"] not in one_handed:
            continue
        side = "left" if NAME.fullmatch(r["filename"])["subject"] in lefty else "right"
        other = {"left": "right", "right": "left"}[side]
        assert side in r["description"] and other not in r["description"], r


def test_bytes_do_not_depend_on_workers(tmp_path):
    generate(tmp_path / "w1", size={"D": 12}, seed=1, workers=1, progress=False)
    generate(tmp_path / "w2", size={"D": 12}, seed=1, workers=2, progress=False)
    a, b = sorted((tmp_path / "w1" / "D").iterdir()), sorted((tmp_path / "w2" / "D").iterdir())
    assert [p.name for p in a] == [p.name for p in b] and len(a) == 12 + 2
    assert [sha256_file(p) for p in a] == [sha256_file(p) for p in b]
    assert not (tmp_path / "w1" / "A").exists() or not any((tmp_path / "w1" / "A").iterdir())


def test_plan_sizes():
    assert plan_ntu(0, 0) == []
    assert len(plan_ntu(10, 0)) == 4  # files round up to whole performances
    paper = plan_ntu(6240, 0)
    assert len({p.performer for p in paper}) == 40 and {p.replication for p in paper} == {1, 2}
    assert len({(p.action, p.performer, p.replication) for p in paper}) == len(paper)


def _features(path: Path, n: int = 16) -> np.ndarray:
    """Resampled joint positions of the main body, centred on the first frame's spine base."""
    m = read_ntu(path, max_bodies=1)
    p = m.positions.astype(np.float64)
    p = p - p[0, KINECT_V2.index("SpineBase")]
    idx = np.linspace(0, len(p) - 1, n).round().astype(int)
    return p[idx].ravel()


def test_classes_are_recognisable_but_not_trivially(corpus):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    files = sorted(corpus.glob("*.skeleton"))
    X = np.stack([_features(f) for f in files])
    y = np.array([NAME.fullmatch(f.stem)["code"] for f in files])
    subj = np.array([NAME.fullmatch(f.stem)["subject"] for f in files])
    test = subj == f"{N_PERF:03d}"  # performer-disjoint: the last performer is held out
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=300))
    clf.fit(X[~test], y[~test])
    acc = float((clf.predict(X[test]) == y[test]).mean())
    assert 0.3 < acc < 0.99, acc


def test_emotion_corpora_get_knowledge_too(tmp_path):
    generate(tmp_path, size={"C": 7}, seed=0, workers=1, progress=False, corpora=("C",))
    rows = _csv(tmp_path / "C" / "knowledge.csv")
    emotions = {r["label"] for r in rows}
    assert emotions == {"happiness", "sadness", "neutral", "anger", "disgust", "fear", "surprise"}
    for e in emotions:
        for part in PARTS:
            assert sum(r["label"] == e and r["part"] == part for r in rows) >= 2 or part == "visual", (
                e,
                part,
            )
    sad = {r["text"] for r in rows if r["label"] == "sadness" and r["part"] == "head"}
    assert any("head" in t and ("bowed" in t or "low" in t) for t in sad)


def test_config_declares_the_classes_the_generator_makes():
    """params.yaml/config list D's labels by hand (config stays light); they must be the generator's."""
    from skellm.config import NTU_ACTIONS, UNSEEN_ACTIONS

    assert tuple(c.name for c in CLASSES) == NTU_ACTIONS
    assert set(UNSEEN_ACTIONS) < set(NTU_ACTIONS)
