"""Label parsing from generated text and offline description metrics."""

from __future__ import annotations

import pytest

from skellm.eval.evaluate import ERROR, recognition_metrics
from skellm.eval.labels import consistent, labels_in, parse_label
from skellm.eval.text_metrics import description_scores

EMILYA = ["neutral", "joy", "anger", "panic", "fear", "anxiety", "sadness", "shame"]
KDAE = ["happiness", "sadness", "neutral", "anger", "disgust", "fear", "surprise"]


@pytest.mark.parametrize(
    ("text", "label_set", "expected"),
    [
        ("joy", EMILYA, "joy"),
        ("This is a joyful person.", EMILYA, "joy"),
        ("The person looks happy.", EMILYA, "joy"),  # synonym maps to the corpus's own label
        ("happiness", EMILYA, "joy"),
        ("This is a joyful person.", KDAE, "happiness"),  # same word, other label set
        ("JOY!", KDAE, "happiness"),
        ("an angry person", KDAE, "anger"),
        ("She seems ashamed.", EMILYA, "shame"),
        ("panicked", EMILYA, "panic"),
        ("anxious and nervous", EMILYA, "anxiety"),  # two words, one label: not an Error
        ("an unhappy person", KDAE, "sadness"),  # 'unhappy' is not 'happy'
        ("surprised", KDAE, "surprise"),
        ("surprised", EMILYA, None),  # not in Emilya's label set: no label found
        ("happy but also angry", EMILYA, None),  # several labels: Error
        ("fear or panic", EMILYA, None),
        ("This is a person.", EMILYA, None),  # none: Error
        ("", KDAE, None),
    ],
)
def test_parse_label(text, label_set, expected):
    assert parse_label(text, label_set) == expected


def test_labels_in_and_consistency():
    assert labels_in("sad and afraid", KDAE) == {"sadness", "fear"}
    assert consistent("The head hangs low, the person seems sad.", "sadness", KDAE)
    assert consistent("The head hangs low and steps are slow.", "sadness", KDAE)  # names nothing else
    assert not consistent("The person is clearly happy.", "sadness", KDAE)


def test_description_scores_identity_and_disjoint():
    refs = ["the person walks slowly with the head down and shoulders slumped"]
    same = description_scores(refs, refs)
    assert same["rouge1"] == pytest.approx(1.0) and same["rougeL"] == pytest.approx(1.0)
    assert same["bleu"] == pytest.approx(1.0) and same["meteor"] > 0.99
    other = description_scores(["quick jumping arms raised"], refs)
    assert other["rouge1"] == 0.0 and other["bleu"] == 0.0 and other["meteor"] == 0.0
    partial = description_scores(["the person walks slowly, head down"], refs)
    assert 0 < partial["rouge1"] < 1 and 0 < partial["meteor"] < 1
    # stems match in METEOR without WordNet: 'walking' vs 'walks'
    stem = description_scores(["person walking slowly"], ["person walks slowly"])
    assert stem["meteor"] > description_scores(["person running slowly"], ["person walks slowly"])["meteor"]
    with pytest.raises(ValueError):
        description_scores(["a"], [])


def test_recognition_metrics_counts_errors_per_corpus():
    rows = [
        {"corpus": "A", "label": "joy", "generate": "joy"},
        {"corpus": "A", "label": "joy", "generate": ERROR},
        {"corpus": "B", "label": "anger", "generate": "sadness"},
        {"corpus": "B", "label": "anger", "generate": "anger"},
    ]
    m = recognition_metrics(rows, modes=("generate",))["generate"]
    counts = ("n", "accuracy", "error_rate")
    assert {k: m["overall"][k] for k in counts} == {"n": 4, "accuracy": 0.5, "error_rate": 0.25}
    assert {k: m["A"][k] for k in counts} == {"n": 2, "accuracy": 0.5, "error_rate": 0.5}
    assert m["A"]["ci95_low"] == 0.0 and m["A"]["ci95_high"] == 1.0  # two takes: anything is possible
    assert m["B"]["error_rate"] == 0.0


NTU = ["drink_water", "sitting_down", "standing_up", "hand_waving", "kicking_something"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("drink water", "drink_water"),
        ("The person is sitting down.", "sitting_down"),
        ("drink_water", "drink_water"),
        ("water", None),  # one word of a several-word label names nothing
        ("standing up after sitting down", None),  # two labels: Error
        ("kicking something hard", "kicking_something"),
    ],
)
def test_parse_several_word_action_labels(text, expected):
    assert parse_label(text, NTU) == expected


def test_prompts_follow_the_corpus_task():
    from skellm.llm.data import recognition_examples
    from skellm.llm.prompts import describe_question, format_answer, recognition_question

    assert "emotion" in recognition_question("emotion") and "action" in recognition_question("action")
    assert format_answer("drink_water", "A", "action") == " drink water"
    assert format_answer("drink_water", "C", "action").endswith("their action is drink water.")
    assert describe_question("hand_waving", "action").startswith("The action of this person is [hand waving]")
    with pytest.raises(ValueError, match="task must be one of"):
        recognition_question("gesture")
    import polars as pl

    table = pl.DataFrame({"corpus": ["A", "D"], "label": ["joy", "drink_water"]})
    ex = recognition_examples(table, "A", tasks={"A": "emotion", "D": "action"})
    assert "emotion" in ex[0].question and ex[0].answer == " joy"
    assert "action" in ex[1].question and ex[1].answer == " drink water"
