"""Parse a label from generated text: synonyms and inflections count, per label set.

Words map to an emotion *concept*; a concept maps to whichever label of the corpus's label set
expresses it (corpus A says ``joy``, B and C say ``happiness``). Text naming no concept of the label set,
or several different ones, is an Error (None), as in the EAI-LLM protocol.
Labels of several words (actions such as ``drink_water``) are found by their words in order.
"""

from __future__ import annotations

import re

# concept -> words (lower case, whole words). Labels themselves are added automatically.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "joy": (
        "joy",
        "joyful",
        "joyfully",
        "joyous",
        "happy",
        "happiness",
        "happily",
        "glad",
        "cheerful",
        "delighted",
        "elated",
    ),
    "anger": ("anger", "angry", "angrily", "angered", "mad", "furious", "rage", "enraged", "irritated"),
    "sadness": ("sad", "sadness", "sadly", "unhappy", "sorrow", "sorrowful", "depressed", "grief", "gloomy"),
    "fear": ("fear", "fearful", "fearfully", "afraid", "scared", "frightened", "terrified"),
    "panic": ("panic", "panicked", "panicking", "panicky", "panics"),
    "anxiety": ("anxiety", "anxious", "anxiously", "nervous", "nervously", "worried", "uneasy"),
    "shame": ("shame", "ashamed", "shameful", "embarrassed", "embarrassment"),
    "neutral": ("neutral", "neutrality", "calm", "emotionless"),
    "disgust": ("disgust", "disgusted", "disgusting", "repulsed", "revulsion"),
    "surprise": ("surprise", "surprised", "surprising", "astonished", "amazed", "startled"),
}
_ALIASES = {"happiness": "joy", "happy": "joy", "sad": "sadness", "angry": "anger", "afraid": "fear"}


def concept_of(label: str) -> str:
    """The concept a label names (``happiness`` -> ``joy``); unknown labels are their own concept."""
    low = label.lower()
    if low in CONCEPTS:
        return low
    if low in _ALIASES:
        return _ALIASES[low]
    for concept, words in CONCEPTS.items():
        if low in words:
            return concept
    return low


def _word_map(label_set: list[str]) -> dict[str, str]:
    words: dict[str, str] = {}
    for label in label_set:
        concept = concept_of(label)
        for w in (*CONCEPTS.get(concept, ()), label.lower()):
            words[w] = label
    return words


_WORD = re.compile(r"[a-z]+")


def _phrase(text: str) -> str:
    return " " + " ".join(_WORD.findall(text.lower())) + " "


def labels_in(text: str, label_set: list[str]) -> set[str]:
    """Every label of ``label_set`` that ``text`` names: one-word labels by any synonym or inflection,
    several-word labels (``drink_water``) by the words in order."""
    words = _word_map(label_set)
    found = {words[w] for w in _WORD.findall(text.lower()) if w in words}
    said = _phrase(text)
    found |= {lab for lab in label_set if len(_WORD.findall(lab.lower())) > 1 and _phrase(lab) in said}
    return found


def parse_label(text: str, label_set: list[str]) -> str | None:
    """The one label ``text`` names, or None (Error) when it names none or several."""
    found = labels_in(text, label_set)
    return next(iter(found)) if len(found) == 1 else None


def consistent(explanation: str, label: str, label_set: list[str]) -> bool:
    """True when an explanation names no emotion of the label set other than ``label``."""
    return labels_in(explanation, label_set) <= {label}
