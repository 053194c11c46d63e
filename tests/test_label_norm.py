"""Label scores standardised per label on training takes (skellm.llm.label_norm)."""

from __future__ import annotations

import pytest
import torch

from skellm.config import ConfigError, config_from_dict
from skellm.data.labelspace import LabelSpace
from skellm.llm.label_norm import scored_sets, standardize
from skellm.llm.prompts import recognition_question

SPEC = LabelSpace.from_dict(
    {
        "label_field": "label",
        "classes": ["anger", "joy", "clapping", "kicking", "hopping"],
        "corpora": {"A": ["anger", "joy"], "D": ["clapping", "kicking"]},
        "unseen": {"D": ["hopping"]},
        "tasks": {"A": "emotion", "D": "action"},
    }
)


def _norm(corpus: str, question: str, stats: dict[str, list[float]]) -> dict:
    return {"takes": {corpus: 3}, "stats": {corpus: {question: stats}}}


def test_standardize_is_each_labels_z_score_by_hand():
    q = "Q?"
    norm = _norm("A", q, {"anger": [-2.0, 0.5], "joy": [-6.0, 2.0]})
    ll = torch.tensor([[-2.5, -4.0], [-1.0, -9.0]])
    z = standardize(ll, norm, "A", q, ["anger", "joy"])
    assert torch.allclose(z, torch.tensor([[-1.0, 1.0], [2.0, -1.5]]))
    # the raw argmax (anger, anger) becomes (joy, anger): joy's -4 is high for joy
    assert z.argmax(1).tolist() == [1, 0] and ll.argmax(1).tolist() == [0, 0]
    # labels in another order follow their own statistics
    assert torch.allclose(standardize(ll.flip(1), norm, "A", q, ["joy", "anger"]), z.flip(1))


@pytest.mark.parametrize(
    "corpus, question, labels",
    [("B", "Q?", ["anger", "joy"]), ("A", "other?", ["anger", "joy"]), ("A", "Q?", ["anger", "fear"])],
)
def test_standardize_without_statistics_is_none(corpus, question, labels):
    """Another corpus, another question or a label it never scored: no statistics, never a guess."""
    norm = _norm("A", "Q?", {"anger": [-2.0, 0.5], "joy": [-6.0, 2.0]})
    assert standardize(torch.zeros(1, len(labels)), norm, corpus, question, labels) is None
    assert standardize(torch.zeros(1, 2), None, "A", "Q?", ["anger", "joy"]) is None
    with pytest.raises(ValueError, match=f"label_norm.json: no statistics for corpus {corpus}'s labels"):
        standardize(torch.zeros(1, len(labels)), norm, corpus, question, labels, required=True)


def test_scored_sets_are_the_questions_evaluate_asks():
    """EAI-LLM's questions do not list labels: one question scores the label set and the unseen
    classes alike. SUGAR's lists them: the unseen ranking has its own question."""
    eai = scored_sets(SPEC, "D", "eai")
    assert eai == {recognition_question("action"): ["clapping", "kicking", "hopping"]}
    assert scored_sets(SPEC, "A", "eai") == {recognition_question("emotion"): ["anger", "joy"]}
    sugar = scored_sets(SPEC, "D", "sugar")
    assert sugar == {
        recognition_question("action", prompt="sugar", candidates=["clapping", "kicking"]): [
            "clapping",
            "kicking",
        ],
        recognition_question("action", prompt="sugar", candidates=["hopping"]): ["hopping"],
    }


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("lora.norm_takes", -1, "lora.norm_takes"),
        ("eval.score_norm", "zscore", "eval.score_norm"),
        ("eval.generate", "beam", "eval.generate"),
    ],
)
def test_bad_norm_params_are_refused(key, value, message):
    section, name = key.split(".")
    with pytest.raises(ConfigError, match=message):
        config_from_dict({section: {name: value}})
