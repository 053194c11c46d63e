"""Cue-level faithfulness of explanations, which a template cannot game.

A text is read back into the body cues it states through the synthetic generator's own lexicon
(:func:`skellm.synth.describe.lexicon` for the emotion corpora, :func:`skellm.synth.actions.lexicon`
for the action corpus): a cue is ``(name, direction)``, e.g. ``("head_flex", 1)`` for "the head is
bowed", ``("reach@mouth", 1)`` for "the right hand rises to the mouth". The truth of a take is the
cue set its reference states: the generator writes the reference from the cues it applied (the most
salient ones, a touch, raised arms; for actions every move and the manner), and the lexicon round
trip is exact (tests/test_faithfulness.py), so reading the reference recovers them.

Per text: cue precision, recall and F1 against the truth; contradictions (a cue stated with the
opposite direction to the applied one); the action named (the lead phrase of the emotion corpora,
"While knocking"), where the reference names one; repeated clauses. Over a set of texts:
distinct-1/2 (unique n-grams over all n-grams) and the share of distinct texts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

Cue = tuple[str, int]

_CLAUSE_SPLIT = re.compile(r"[.,;]|\band\b|\bthen\b|\bwhile\b")


@lru_cache(maxsize=1)
def _lexicon() -> tuple[tuple[tuple[str, Cue], ...], tuple[tuple[str, str], ...]]:
    from skellm.synth import actions, describe

    cues, leads = describe.lexicon()
    cues = {**actions.lexicon(), **cues}

    # longest phrases first, so a phrase inside a longer one is not counted twice
    def longest_first(d: dict) -> tuple:
        return tuple(sorted(((p.lower(), v) for p, v in d.items()), key=lambda pv: -len(pv[0])))

    return longest_first(cues), longest_first(leads)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _norm_with_offsets(text: str) -> tuple[str, list[int]]:
    """:func:`_norm` of ``text`` and, for each of its characters, the index in ``text`` it came from."""
    chars: list[str] = []
    where: list[int] = []
    for m in re.finditer(r"\S+", text):
        if chars:
            chars.append(" ")
            where.append(m.start() - 1)
        for i, ch in enumerate(m.group(), start=m.start()):
            low = ch.lower()  # may be longer than one character ("İ"): each maps back to ch
            chars.extend(low)
            where.extend([i] * len(low))
    return "".join(chars), where


def cue_label(cue: Cue) -> str:
    """``("head_flex", 1)`` -> ``"head_flex+"``: a cue as the tables and the CLI print it."""
    return f"{cue[0]}{'+' if cue[1] > 0 else '-'}"


def cue_spans(text: str) -> list[tuple[int, int, Cue]]:
    """Where ``text`` states each cue: ``(start, end, cue)`` character spans into ``text``, in order.

    Phrases match case- and whitespace-insensitively, longest first, and a matched stretch is not
    matched again, so a phrase inside a longer one is not counted twice."""
    s, where = _norm_with_offsets(text)
    spans: list[tuple[int, int, Cue]] = []
    for phrase, cue in _lexicon()[0]:
        start = s.find(phrase)
        while start >= 0:
            end = start + len(phrase)
            spans.append((where[start], where[end - 1] + 1, cue))
            s = s[:start] + "\0" * len(phrase) + s[end:]  # same length: offsets stay valid
            start = s.find(phrase, end)
    return sorted(spans)


def stated_cues(text: str) -> set[Cue]:
    """The cues a text states, by the generator's lexicon."""
    return {cue for _, _, cue in cue_spans(text)}


def named_action(text: str) -> str | None:
    """The action the text's lead phrase names ("While knocking" -> knock), or None."""
    s = _norm(text)
    for phrase, action in _lexicon()[1]:
        if s.startswith(phrase):
            return action
    return None


def repeated_clause(text: str) -> bool:
    """Whether some clause (split at punctuation, "and", "then", "while") occurs twice."""
    clauses = [c.strip() for c in _CLAUSE_SPLIT.split(_norm(text))]
    clauses = [c for c in clauses if len(c.split()) >= 2]
    return len(clauses) != len(set(clauses))


def cue_scores(stated: set[Cue], truth: set[Cue]) -> dict[str, float | int | None]:
    """Precision, recall, F1 of ``stated`` against ``truth`` and the number of contradicted cues.

    Empty sets: precision is None with nothing stated, recall None with nothing true, F1 1 when both
    are empty (a neutral take said to be ordinary) and 0 when one is."""
    hit = len(stated & truth)
    p = hit / len(stated) if stated else None
    r = hit / len(truth) if truth else None
    if not stated and not truth:
        f1 = 1.0
    elif not hit:
        f1 = 0.0
    else:
        f1 = 2 * p * r / (p + r)
    contra = sum(1 for name, d in stated if (name, -d) in truth)
    return {"precision": p, "recall": r, "f1": f1, "contradictions": contra}


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Unique n-grams over all n-grams of ``texts`` (Li et al.'s distinct-n); 0 for no n-grams."""
    from skellm.eval.text_metrics import tokenize

    grams = [tuple(t[i : i + n]) for t in map(tokenize, texts) for i in range(len(t) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def _mean(xs: Sequence[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return sum(vals) / len(vals) if vals else None


def faithfulness(predictions: Sequence[str], references: Sequence[str]) -> dict[str, Any]:
    """Faithfulness metrics of paired generated and reference texts (see the module docstring):
    mean cue precision/recall/F1, contradictions per text, action accuracy where the reference names
    an action, the share of texts with a repeated clause, distinct-1/2 and distinct texts."""
    if len(predictions) != len(references):
        raise ValueError("predictions and references differ in length")
    rows = [cue_scores(stated_cues(p), stated_cues(r)) for p, r in zip(predictions, references, strict=True)]
    acts = [(named_action(p), named_action(r)) for p, r in zip(predictions, references, strict=True)]
    acts = [(p, r) for p, r in acts if r is not None]
    n = len(predictions)
    return {
        "n": n,
        "cue_precision": _mean([r["precision"] for r in rows]),
        "cue_recall": _mean([r["recall"] for r in rows]),
        "cue_f1": _mean([r["f1"] for r in rows]),
        "contradictions_per_text": sum(r["contradictions"] for r in rows) / n if n else None,
        "action_named": sum(p == r for p, r in acts) / len(acts) if acts else None,
        "action_n": len(acts),
        "repeated_clause": sum(map(repeated_clause, predictions)) / n if n else None,
        "distinct_1": distinct_n(predictions, 1),
        "distinct_2": distinct_n(predictions, 2),
        "distinct_texts": len(set(map(_norm, predictions))) / n if n else None,
    }
