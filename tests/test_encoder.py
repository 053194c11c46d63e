"""Encoder: token shapes and masks for mixed rigs, the KL contrastive loss by hand, training, resume,
augmentation (crops in real time, left-right mirror)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from encoder_synth import make_split

from skellm.config import AugmentConfig, config_from_dict
from skellm.encoder import SkeletonEncoder
from skellm.encoder.dataset import MODEL_INPUTS, LabelSpace, SkeletonDataset, load_split, mirror_permutation
from skellm.encoder.losses import kl_contrastive, pretrain_loss
from skellm.encoder.train import evaluate, train
from skellm.layouts import CANONICAL, CMU_BVH, KINECT_V2, MIXAMO, PERCEPTION_NEURON, XSENS_BVH

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"base_channels": 8, "stage_blocks": [1, 1, 1], "token_dim": 24, "n_classes": 4, "text_dim": 10}


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    root = make_split(tmp_path_factory.mktemp("split"), n_per_label=8)
    labels = LabelSpace.load(root / "labels.json")
    return root, labels, load_split(root / "train.parquet", labels), load_split(root / "test.parquet", labels)


def _batch(data, idx):
    items = [SkeletonDataset(data)[i] for i in idx]
    return {k: torch.stack([it[k] for it in items]) for k in MODEL_INPUTS}


@pytest.mark.parametrize("name", ["ctrgcn", "stgcn"])
def test_tokens_and_masks_for_mixed_joint_counts(split, name):
    _, _, train_set, _ = split
    a = int(np.flatnonzero(train_set.joint_mask.sum(1) == 23)[0])  # Xsens rig, padded
    c = int(np.flatnonzero(train_set.joint_mask.sum(1) == 25)[0])  # Kinect rig
    torch.manual_seed(0)
    model = SkeletonEncoder({"model": name, **TINY}).eval()
    b = _batch(train_set, [a, c])
    with torch.no_grad():
        tok = model(b["x"], b["adj"], b["joint_mask"], b["time_mask"])
    assert tok.semantic.shape == (2, 24) and tok.logits.shape == (2, 4)
    assert tok.spatial.shape == (2, 25, 24) and tok.temporal.shape == (2, 16, 24)
    assert tok.spatial_mask.tolist() == [[True] * 23 + [False] * 2, [True] * 25]
    assert tok.temporal_mask.all()
    assert (
        torch.count_nonzero(tok.spatial[0, 23:]) == 0
        and torch.count_nonzero(tok.spatial[0, :23].abs().sum(-1)) == 23
    )
    # padded joints carry nothing: garbage there changes no output, and the padded take's tokens equal
    # those of the same take run alone at its own 23 joints
    b2 = dict(b, x=b["x"].clone())
    b2["x"][0, :, :, 23:] = 5.0
    with torch.no_grad():
        tok2 = model(b2["x"], b2["adj"], b2["joint_mask"], b2["time_mask"])
        alone = model(
            b["x"][:1, :, :, :23], b["adj"][:1, :, :23, :23], b["joint_mask"][:1, :23], b["time_mask"][:1]
        )
    torch.testing.assert_close(tok2.semantic, tok.semantic)
    torch.testing.assert_close(alone.semantic, tok.semantic[:1], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(alone.spatial, tok.spatial[:1, :23], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(alone.temporal, tok.temporal[:1], rtol=1e-4, atol=1e-5)


def test_kl_contrastive_matches_hand_computation():
    zs = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    zt = torch.tensor([[2.0, 0.0], [2.0, 0.0], [0.0, 3.0]])  # samples 0 and 1 share label 0's text
    labels = torch.tensor([0, 0, 1])
    tau = 0.5
    got = kl_contrastive(zs, zt, labels, torch.tensor(math.log(1 / tau)))
    # by hand: cosines s_ij = cos(zs_i, zt_j); rows of s: [1, 1, 0], [.6, .6, .8], [0, 0, 1]
    s = np.array([[1, 1, 0], [0.6, 0.6, 0.8], [0, 0, 1]]) / tau
    y = np.array([[0.5, 0.5, 0], [0.5, 0.5, 0], [0, 0, 1]])

    def kl(logits):
        p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(y > 0, y * np.log(y / p), 0.0)
        return terms.sum() / 3

    expect = 0.5 * (kl(s) + kl(s.T))
    assert got.item() == pytest.approx(expect, rel=1e-5)
    # a skeleton equal to its label's text (and orthogonal to the others) scores lower than a wrong one
    good = kl_contrastive(zt, zt, labels, torch.tensor(math.log(10.0)))
    bad = kl_contrastive(zt.flip(0), zt, labels, torch.tensor(math.log(10.0)))
    assert good < bad


def test_milnce_matches_hand_computation():
    from skellm.encoder.losses import milnce

    zs = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    # text bank: two texts of class 0, one of class 1, one of class 2 (unseen: never a candidate), one of none
    texts = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0], [5.0, 5.0]])
    text_class = torch.tensor([0, 0, 1, 2, -1])
    labels = torch.tensor([0, 1])
    seen = torch.tensor([[True, True, False], [True, True, False]])
    tau = 0.5
    got = milnce(zs, texts, labels, text_class, torch.tensor(math.log(1 / tau)), seen)
    cos = np.array([[1.0, 0.6, 0.0], [0.0, 0.8, 1.0]]) / tau  # against texts 0, 1, 2 (the candidates)
    l0 = -np.log((np.exp(cos[0, 0]) + np.exp(cos[0, 1])) / np.exp(cos[0]).sum())  # two positives
    l1 = -np.log(np.exp(cos[1, 2]) / np.exp(cos[1]).sum())
    assert got.item() == pytest.approx((l0 + l1) / 2, rel=1e-5)
    # without a candidate mask every text with a class is a candidate (the unseen one too)
    all_c = milnce(zs, texts, labels, text_class, torch.tensor(math.log(1 / tau)))
    assert all_c.item() > got.item()


def test_soft_targets_spread_to_textual_neighbours_of_the_corpus():
    from skellm.encoder.losses import soft_targets

    text = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.8, 0.2]])  # 0 ~ 1 ~ 3, far from 2
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    t = soft_targets(torch.tensor([0, 0]), torch.tensor([0.2, 0.3]), text, mask)
    torch.testing.assert_close(t.sum(1), torch.ones(2))
    assert t[0, 0].item() == pytest.approx(0.8) and t[0, 3].item() == 0.0  # class 3 not in the corpus
    assert t[0, 1] > t[0, 2] > 0  # the nearer label takes more
    torch.testing.assert_close(t[1], torch.tensor([1.0, 0.0, 0.0, 0.0]))  # no other label: one-hot


def test_loss_forms(split):
    _, _, train_set, _ = split
    torch.manual_seed(0)
    model = SkeletonEncoder({"model": "ctrgcn", **TINY})
    b = _batch(train_set, range(6))
    tok = model(b["x"], b["adj"], b["joint_mask"], b["time_mask"])
    y = torch.tensor(train_set.labels[:6])
    text = torch.randn(4, 24)[y]
    parts = {
        f: pretrain_loss(f, tok, y, text, model.logit_scale)
        for f in ("se", "st", "ce_only", "contrastive_only")
    }
    ce = torch.nn.functional.cross_entropy(tok.logits, y)
    assert parts["ce_only"]["loss"].item() == pytest.approx(ce.item())
    assert parts["se"]["loss"].item() == pytest.approx(
        ce.item() + parts["contrastive_only"]["loss"].item(), rel=1e-5
    )
    assert parts["st"]["con"].item() != pytest.approx(parts["se"]["con"].item())
    # class_mask: each sample's CE over its own corpus's labels only, by hand with log-softmax per row
    mask = torch.ones(6, 4, dtype=torch.bool)
    mask[:3, 3] = False  # the first three samples' corpus has no class 3
    mask[:3, y[:3]] = True
    masked = pretrain_loss("ce_only", tok, y, text, model.logit_scale, mask)["ce"]
    rows = [-torch.log_softmax(tok.logits[i][mask[i]], 0)[int(mask[i][: y[i]].sum())] for i in range(6)]
    assert masked.item() == pytest.approx(torch.stack(rows).mean().item(), rel=1e-5)
    assert masked.item() < ce.item()  # removing a competing class can only raise each true-class share
    with pytest.raises(ValueError, match="encoder.loss"):
        pretrain_loss("mse", tok, y, text, model.logit_scale)


def _enc(**kw):
    base = {
        "model": "ctrgcn",
        "base_channels": 8,
        "stage_blocks": [1, 1, 1],
        "token_dim": 24,
        "epochs": 10,
        "batch_size": 8,
        "lr": 0.1,
        "warmup_epochs": 1,
        "augment": {"rotate": 0.1, "crop_min": 0.9},
        "log_every": 1,
        "ckpt_every_steps": 3,
        "device": "cpu",
        "text_loss": "kl",  # these tests pass one text per class, no MIL-NCE text bank
    }
    return config_from_dict({"encoder": base | kw}).encoder


class _Kill(Exception):
    pass


def test_training_learns_and_resumes_exactly(split, tmp_path):
    _, labels, train_set, test_set = split
    text = np.random.default_rng(0).normal(size=(len(labels.classes), 10)).astype(np.float32)
    model, ctext, _, _ = train(
        train_set, text, _enc(), 0, tmp_path / "ref", tmp_path / "ref.csv", progress=False
    )
    import csv

    with open(tmp_path / "ref.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("train_loss")]
    first, last = (
        np.mean([float(r["train_loss"]) for r in rows[:4]]),
        np.mean([float(r["train_loss"]) for r in rows[-4:]]),
    )
    assert last < 0.7 * first
    ref = evaluate(model, ctext, test_set, labels)
    assert ref["accuracy"]["all"] > 0.5  # 3 labels per corpus: chance is 1/3

    calls = []

    def boom(m, c):  # kills the run at the end of epoch 1 (4 batches per epoch), before its checkpoint
        calls.append(1)
        if len(calls) == 2:
            raise _Kill
        return {}

    with pytest.raises(_Kill):
        train(train_set, text, _enc(eval_every=1), 0, tmp_path / "cut", None, boom, progress=False)
    from skellm.training import last_checkpoint

    assert last_checkpoint(tmp_path / "cut").name == "step-00000006"  # mid-epoch 1
    model2, ctext2, _, _ = train(train_set, text, _enc(), 0, tmp_path / "cut", None, progress=False)
    for (k, v), v2 in zip(model.state_dict().items(), model2.state_dict().values(), strict=True):
        torch.testing.assert_close(v2, v, rtol=0, atol=0, msg=k)
    assert evaluate(model2, ctext2, test_set, labels) == ref


def test_layout_batches_hold_one_rig_and_repeat_per_epoch(split):
    from skellm.encoder.dataset import LayoutBatchSampler

    _, _, train_set, _ = split
    ds = SkeletonDataset(train_set)
    sampler = LayoutBatchSampler(ds, 4, seed=0)
    e0 = list(sampler)
    assert all(len({int(train_set.layout[i]) for i in b}) == 1 for b in e0)
    assert len(e0) == len(sampler) == sum(len(g) // 4 for g in sampler.groups)
    assert e0 == list(sampler)  # same epoch, same order (resume)
    ds.set_epoch(1)
    assert list(sampler) != e0


def test_motion_channels_are_in_real_time_through_crops(split):
    """A take stored at a lower frame rate moves further per frame: its motion input is scaled back to
    per-1/30 s, and a crop that stretches frames raises the item's frame rate by the same factor."""
    _, _, train_set, _ = split
    torch.manual_seed(0)
    model = SkeletonEncoder({"model": "ctrgcn", **TINY}).eval()
    seen = {}
    model.input_bn.register_forward_pre_hook(lambda _, args: seen.__setitem__("x", args[0].clone()))
    b = _batch(train_set, [0])
    with torch.no_grad():
        model(b["x"], b["adj"], b["joint_mask"], b["time_mask"], torch.tensor([30.0]))
        at30 = seen["x"]
        model(b["x"], b["adj"], b["joint_mask"], b["time_mask"], torch.tensor([15.0]))
    torch.testing.assert_close(seen["x"][:, 3:], at30[:, 3:] / 2)  # motion halves
    torch.testing.assert_close(seen["x"][:, :3], at30[:, :3])  # pose does not change
    n_valid = int(train_set.time_mask[0].sum())
    item = SkeletonDataset(train_set, AugmentConfig(crop_min=0.5), seed=3)[0]
    length = round((n_valid - 1) / (float(item["fps"]) / float(train_set.fps[0]))) + 1
    assert n_valid // 2 <= length < n_valid  # the crop kept part of the take, stretched to n_valid frames


@pytest.mark.parametrize(
    ("layout", "prefix", "pair", "midline"),
    [
        (CANONICAL, "", ("l_wrist", "r_wrist"), "head"),
        (XSENS_BVH, "", ("LeftHand", "RightHand"), "L5"),
        (PERCEPTION_NEURON, "", ("LeftHandThumb1", "RightHandThumb1"), "Spine3"),
        (KINECT_V2, "", ("HandTipLeft", "HandTipRight"), "SpineShoulder"),
        (CMU_BVH, "", ("LHipJoint", "RHipJoint"), "LowerBack"),
        (MIXAMO, "mixamorig:", ("LeftForeArm", "RightForeArm"), "Spine2"),
    ],
)
def test_mirror_pairs_left_and_right_joints_of_every_rig(layout, prefix, pair, midline):
    names = [prefix + n for n in layout.joint_names]
    perm = mirror_permutation(names)
    assert (perm[perm] == np.arange(len(perm))).all()  # an involution
    a, b = names.index(prefix + pair[0]), names.index(prefix + pair[1])
    assert perm[a] == b and perm[b] == a
    assert perm[names.index(prefix + midline)] == names.index(prefix + midline) and perm[0] == 0
    assert (perm != np.arange(len(perm))).sum() >= 8  # both arms and legs at least


def test_mirrored_take_swaps_sides_and_negates_the_lateral_axis(split):
    _, _, train_set, _ = split
    i = int(np.flatnonzero(train_set.corpora == "C")[0])
    names = train_set.layouts[train_set.layout[i]][0]
    plain = SkeletonDataset(train_set)[i]["x"].numpy()  # (3, T, V)
    flipped = SkeletonDataset(train_set, AugmentConfig(mirror=1.0, crop_min=1.0))[i]["x"].numpy()
    left, right = names.index("WristLeft"), names.index("WristRight")
    np.testing.assert_allclose(flipped[0, :, left], -plain[0, :, right])  # X is lateral: negated
    np.testing.assert_allclose(flipped[1:, :, left], plain[1:, :, right])  # height and depth kept
    assert not np.allclose(flipped, plain)
    never = SkeletonDataset(train_set, AugmentConfig(crop_min=0.9), seed=1)
    half = SkeletonDataset(train_set, AugmentConfig(crop_min=0.9, mirror=0.5), seed=1)
    flips = [
        np.allclose(half[k]["x"][0].sum(), -never[k]["x"][0].sum(), atol=1e-3) for k in range(len(train_set))
    ]
    assert 0.2 < np.mean(flips) < 0.8  # about half the takes mirrored, the crop unchanged


def test_unseen_topk_ranks_only_the_unseen_classes():
    from types import SimpleNamespace

    from skellm.data.labelspace import LabelSpace
    from skellm.encoder.train import zero_shot_topk

    classes = ["a", "b", "c", "d", "e", "f", "g"]
    labels = LabelSpace(
        "label", classes, {"D": ["a", "b"]}, {"D": ["c", "d", "e", "f", "g"]}, {"D": "action"}
    )
    y = np.array([2, 3, 4, 0])  # three unseen takes and one seen take
    data = SimpleNamespace(corpora=np.array(["D"] * 4), labels=y)
    scores = np.zeros((4, 7))
    scores[:, 0] = 9.0  # a seen class scores highest everywhere: it is not a candidate
    scores[0, 2] = 1.0  # take 0: true class first among the unseen
    scores[1, [2, 4, 5, 6]] = [4.0, 3.0, 2.0, 1.0]  # take 1: true class (3) last of five
    scores[2, [2, 3]] = [2.0, 1.0]  # take 2: true class (4) third (ties broken by class order)
    r = zero_shot_topk(scores, data, labels)["D"]
    assert (r["n"], r["classes"]) == (3, 5)
    assert r["top1"] == pytest.approx(1 / 3) and r["top5"] == 1.0
    assert r["top1_ci95_low"] <= r["top1"] <= r["top1_ci95_high"]
    assert r["chance_top1"] == 0.2 and r["chance_top5"] == 1.0
