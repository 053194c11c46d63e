"""The label space of a split (labels.json) and labels as words; imports nothing heavy, so every stage
that reads labels.json can depend on this file alone."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


def label_text(label: str) -> str:
    """A label as words (``drink_water`` -> ``drink water``): what text encoders and the LLM read."""
    return label.replace("_", " ")


@dataclass
class LabelSpace:
    """labels.json: the label field, the sorted union of classes, each corpus's own (seen) labels, the
    classes held out unseen per corpus, and what each corpus's labels are (``emotion``, ``action``)."""

    field: str
    classes: list[str]
    corpora: dict[str, list[str]] = field(default_factory=dict)
    unseen: dict[str, list[str]] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LabelSpace:
        """Read ``labels.json`` (as :func:`labels_json` writes it)."""
        return cls.from_dict(json.loads(Path(path).read_text()))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabelSpace:
        """From the ``labels.json`` mapping."""
        return cls(
            d["label_field"],
            list(d["classes"]),
            {c: list(v) for c, v in d.get("corpora", {}).items()},
            {c: list(v) for c, v in d.get("unseen", {}).items()},
            dict(d.get("tasks", {})),
        )

    def corpus_mask(self, corpus: str) -> np.ndarray:
        """Bool (n_classes,) of the labels a corpus uses (all classes if the corpus is not listed)."""
        allowed = self.corpora.get(corpus)
        if not allowed:
            return np.ones(len(self.classes), dtype=bool)
        return np.isin(np.array(self.classes), allowed)

    def unseen_mask(self, corpus: str) -> np.ndarray:
        """Bool (n_classes,) of the corpus's classes held out for zero-shot recognition."""
        return np.isin(np.array(self.classes), self.unseen.get(corpus, []))

    def class_tasks(self) -> dict[str, str]:
        """What each class names (``emotion`` | ``action``), from the corpora that use it."""
        out: dict[str, str] = {}
        for c in sorted(set(self.corpora) | set(self.unseen)):
            for lab in [*self.corpora.get(c, []), *self.unseen.get(c, [])]:
                out.setdefault(lab, self.task(c))
        return out

    def task(self, corpus: str) -> str:
        """What the corpus's labels name (``emotion`` unless labels.json says otherwise)."""
        return self.tasks.get(corpus, "emotion")
