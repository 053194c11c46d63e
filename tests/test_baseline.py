"""Hand-crafted motion features and the sanity baseline, on takes from the real generator."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skellm.config import HarmonizeConfig
from skellm.data.harmonize import harmonize_motion
from skellm.eval.baseline import evaluate, run_baseline
from skellm.eval.hand_features import FEATURE_NAMES, motion_features
from skellm.layouts import CANONICAL, KINECT_V2
from skellm.synth.corpora import CORPORA, make_actors, plan_corpus, simulate

CFG = HarmonizeConfig(joints="canonical")


def _row(take) -> dict:
    """A take-table-like row of a simulated take, as ingest would give (Kinect view for corpus C)."""
    if take.plan.fmt == "kinect":
        e = take.extra
        return dict(positions=e["kinect_pos"], n_frames=len(e["kinect_pos"]), n_joints=25,
                    joint_names=list(KINECT_V2.joint_names), parents=list(KINECT_V2.parents), fps=take.fps,
                    units="m", up_axis="y", layout="kinect_v2", tracked=e["kinect_state"] > 0)  # fmt: skip
    return dict(positions=take.positions, n_frames=len(take.positions), n_joints=take.rig.n_joints,
                joint_names=take.rig.joint_names, parents=take.rig.parents, fps=take.fps, units="m",
                up_axis="y", layout=None, tracked=None)  # fmt: skip


@pytest.fixture(scope="module")
def corpus_c():
    spec = CORPORA["C"]
    actors = make_actors(spec, 0)
    plans = plan_corpus(spec, 12 * len(spec.emotions), 0, actors)
    takes = [simulate(p, actors[p.actor]) for p in plans]
    harmonized = [harmonize_motion(_row(t), CFG)[0] for t in takes]
    return takes, harmonized


def _canonical(take) -> np.ndarray:
    return harmonize_motion(_row(take), CFG)[0]


def test_features_are_finite_and_named(corpus_c):
    _, harmonized = corpus_c
    x = np.stack([motion_features(h, 30.0) for h in harmonized])
    assert x.shape == (len(harmonized), len(FEATURE_NAMES))
    assert np.isfinite(x).all()
    assert (x.std(0) > 0).sum() > len(FEATURE_NAMES) - 2  # nearly every feature varies across takes
    with pytest.raises(ValueError, match="expects"):
        motion_features(np.zeros((10, 25, 3)), 30.0)


def test_features_read_the_cues_the_generator_applied(corpus_c):
    takes, harmonized = corpus_c
    f = {n: i for i, n in enumerate(FEATURE_NAMES)}
    x = np.stack([motion_features(h, 30.0) for h in harmonized])
    touch = np.array([t.cues.touch in ("face", "mouth", "head") for t in takes])
    assert touch.any() and (~touch).any()
    assert x[touch, f["hand_face_min"]].mean() < x[~touch, f["hand_face_min"]].mean()
    still = np.array([t.plan.action != "walk" for t in takes])  # a walk's own travel dwarfs the cue
    ap = np.array([t.cues["approach"] for t in takes])
    assert np.corrcoef(ap[still], x[still, f["displacement_forward"]])[0, 1] > 0.5
    head = np.array([t.cues["head_flex"] for t in takes])
    assert np.corrcoef(head, x[:, f["head_pitch_mean"]])[0, 1] > 0.5


def test_baseline_beats_chance_and_stays_below_perfect(corpus_c):
    from sklearn.model_selection import StratifiedKFold

    takes, harmonized = corpus_c
    x = np.stack([motion_features(h, 30.0) for h in harmonized])
    y = np.array([t.plan.emotion for t in takes])
    labels = {"C": list(CORPORA["C"].emotions)}
    accs = []
    for tr, te in StratifiedKFold(4, shuffle=True, random_state=0).split(x, y):
        accs.append(evaluate(x[tr], y[tr], x[te], y[te], np.array(["C"] * len(te)), labels)["C"]["accuracy"])
    chance = 1.0 / len(labels["C"])
    assert 2 * chance < np.mean(accs) < 0.95


def test_run_baseline_on_split_parquet(tmp_path):
    """The stage's path: real Parquet split tables and labels.json in, metrics per corpus out."""
    import polars as pl

    rows = []
    for corpus in ("B", "C"):
        spec = CORPORA[corpus]
        actors = make_actors(spec, 1)
        for p in plan_corpus(spec, 3 * len(spec.emotions), 1, actors):
            pos, names, _, _ = harmonize_motion(
                _row(simulate(p, actors[p.actor])), HarmonizeConfig(joints="native")
            )
            rows.append(dict(take_id=f"{corpus}/{p.index}", corpus=corpus, emotion=p.emotion,
                             n_frames=pos.shape[0], n_joints=pos.shape[1],
                             joint_names=names, fps=30.0, positions=pos.ravel().tolist(),
                             split="test" if p.index % 3 == 0 else "train"))  # fmt: skip
    df = pl.DataFrame(rows)
    for split in ("train", "test"):
        df.filter(pl.col("split") == split).write_parquet(tmp_path / f"{split}.parquet")
    emotions = sorted(CORPORA["B"].emotions)
    (tmp_path / "labels.json").write_text(
        json.dumps({"label_field": "emotion", "classes": emotions, "corpora": {"B": emotions, "C": emotions}})
    )
    metrics = run_baseline(tmp_path, predictions_path=tmp_path / "pred.parquet")
    assert set(metrics) == {"B", "C"}
    for m in metrics.values():
        assert 0.0 <= m["accuracy"] <= 1.0 and m["chance"] == pytest.approx(1 / 7, abs=1e-3)
        assert m["ci95_low"] <= m["accuracy"] <= m["ci95_high"]
    pred = pl.read_parquet(tmp_path / "pred.parquet")
    test = df.filter(pl.col("split") == "test")
    assert pred["take_id"].to_list() == test["take_id"].to_list()
    c = pred.filter(pl.col("corpus") == "C")
    assert round((c["baseline"] == c["label"]).mean(), 4) == metrics["C"]["accuracy"]
    assert sum(m["n_test"] for m in metrics.values()) == df.filter(pl.col("split") == "test").height
    assert CANONICAL.n_joints == 19
