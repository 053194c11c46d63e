"""Cue-level faithfulness: the lexicon round trip (generator cue -> phrase -> parsed cue) for the
emotion and the action generators, and each metric against hand-counted examples."""

from __future__ import annotations

import numpy as np
import pytest

from skellm.eval import faithfulness as fa
from skellm.synth import actions
from skellm.synth.body import sample_actor
from skellm.synth.describe import _ACTION, describe, salient_cues
from skellm.synth.emotions import PROFILES, sample_cues


@pytest.mark.parametrize("noise", [1.0, 1.6])
def test_emotion_descriptions_read_back_to_the_cues_the_generator_stated(noise):
    rng = np.random.default_rng(7)
    checked = 0
    for k in range(300):
        emotion = sorted(PROFILES)[k % len(PROFILES)]
        actor = sample_actor(rng, f"a{k}", "F" if k % 2 else "M")
        cues = sample_cues(rng, emotion, actor, noise=noise)
        action = sorted(_ACTION)[k % len(_ACTION)]
        text = describe(cues, action, np.random.default_rng(k), noise)
        truth = {(c, d) for c, d, _ in salient_cues(cues, noise)[:4]}
        truth |= {(f"touch_{cues.touch}", 1)} if cues.touch else set()
        truth |= {("raise_arms", 1)} if cues.raise_arms else set()
        assert fa.stated_cues(text) == truth, text
        assert fa.named_action(text) == action, text
        assert not fa.repeated_clause(text), text
        checked += bool(truth)
    assert checked > 200  # most takes state cues; the rest are said to be ordinary (empty set)


def test_action_descriptions_read_back_to_every_move_and_the_manner():
    rng = np.random.default_rng(3)
    for cls in actions.CLASSES:
        own = {(actions.move_cue(m), 1) for m in cls.moves}
        partner = {(actions.move_cue(m), 1) for m in cls.partner}
        for dom, tempo, amp in (("r", 1.3, 1.3), ("l", 0.8, 0.8), ("r", 1.0, 1.0)):
            text = actions.describe_take(cls, dom, tempo, amp, rng)
            manner = {("tempo", 1 if tempo > 1 else -1), ("amplitude", 1 if amp > 1 else -1)}
            manner = manner if tempo != 1.0 else set()
            stated = fa.stated_cues(text)
            assert own | manner <= stated <= own | partner | manner, (cls.name, text, stated)


def test_cue_spans_point_into_the_text_as_written():
    # an exporter's or a model's spacing and case: CRLF, tabs, capitals, a character whose lower case
    # is two characters (U+0130) before the cue
    text = "\u0130t went:\r\nThe  Head\tis bowed,   and THE SHOULDERS ARE RAISED.\r\nthe head is bowed"
    spans = fa.cue_spans(text)
    assert [(text[a:b], cue) for a, b, cue in spans] == [
        ("The  Head\tis bowed", ("head_flex", 1)),
        ("THE SHOULDERS ARE RAISED", ("shoulder_raise", 1)),
        ("the head is bowed", ("head_flex", 1)),  # every occurrence has a span
    ]
    assert fa.stated_cues(text) == {("head_flex", 1), ("shoulder_raise", 1)}
    # a phrase inside a longer one is matched once, as the longer one
    long = "the head turns from side to side three times"  # the action lexicon's head shake
    assert fa.stated_cues("the head turns from side to side") == {("scan", 1)}
    assert [cue for *_, cue in fa.cue_spans(long)] == [("head_shake", 1)]
    assert fa.cue_spans("nothing here") == [] and fa.cue_label(("tempo", -1)) == "tempo-"


def test_cue_scores_by_hand():
    truth = {("head_flex", 1), ("tempo", -1), ("curl", 1)}
    stated = {("head_flex", 1), ("tempo", 1), ("scan", 1), ("expand", 1)}
    s = fa.cue_scores(stated, truth)
    # 1 hit of 4 stated, of 3 true; tempo stated fast where it was slow
    assert s["precision"] == 0.25 and s["recall"] == pytest.approx(1 / 3)
    assert s["f1"] == pytest.approx(2 * 0.25 * (1 / 3) / (0.25 + 1 / 3)) and s["contradictions"] == 1
    assert fa.cue_scores(set(), set())["f1"] == 1.0  # an ordinary take said to be ordinary
    assert fa.cue_scores(set(), truth) == {"precision": None, "recall": 0.0, "f1": 0.0, "contradictions": 0}


def test_text_metrics_by_hand():
    pred = [
        "While walking, the head is bowed, the motion is jerky and abrupt, the motion is jerky and abrupt.",
        "While walking, the head is bowed.",
        "while walking,  the head is bowed.",
    ]
    ref = [
        "While knocking, the head is bowed, the fists are tight.",
        "While walking, the head hangs low and movements are slow.",
        "As the person walks, nothing unusual shows in the posture or movement.",
    ]
    m = fa.faithfulness(pred, ref)
    # F1 per text: P 1/2 R 1/2 -> 0.5; P 1 R 1/2 -> 2/3; stated 1, truth empty -> 0
    assert m["cue_f1"] == pytest.approx((0.5 + 2 / 3 + 0.0) / 3)
    assert m["cue_precision"] == pytest.approx((0.5 + 1 + 0) / 3) and m["cue_recall"] == pytest.approx(0.5)
    assert m["action_named"] == pytest.approx(2 / 3) and m["action_n"] == 3  # knock missed
    assert m["repeated_clause"] == pytest.approx(1 / 3)
    assert m["distinct_texts"] == pytest.approx(2 / 3)  # the last two differ in case and spaces only
    words = [w for p in pred for w in p.lower().replace(",", " ").replace(".", " ").split()]
    assert m["distinct_1"] == pytest.approx(len(set(words)) / len(words))
    assert fa.distinct_n(["a b a b"], 2) == pytest.approx(2 / 3)  # (a b), (b a), (a b)
    with pytest.raises(ValueError, match="differ in length"):
        fa.faithfulness(pred, ref[:1])


def test_describe_sample_is_stratified_by_corpus_then_label():
    from skellm.llm.data import stratified_sample

    corpora = ["A"] * 6 + ["B"] * 2 + ["C"] * 4
    labels = ["joy", "joy", "joy", "sad", "sad", "anger", "x", "y", "p", "p", "p", "q"]
    eligible = [i for i in range(12) if i != 1]
    picked = stratified_sample(corpora, labels, eligible, 6)
    # 2 per corpus; within A joy, sad in turn; within C p then q
    assert picked == [0, 3, 6, 7, 8, 11]
    # B runs out: its share goes to A and C
    assert stratified_sample(corpora, labels, eligible, 9) == [0, 2, 3, 5, 6, 7, 8, 9, 11]
    assert stratified_sample(corpora, labels, eligible, 100) == eligible
