"""Label scores standardised per label on training takes (``eval.score_norm: train``).

A label's answer log-likelihood has its own level and spread whatever the body: a short word the LM
likes scores high for every take, a long multi-word label low, and an unseen class's words were never
trained on at all. :func:`label_norm` measures each label's mean and standard deviation over training
takes of its corpus, after the very question that scores it; :func:`standardize` turns a take's scores
into z-scores, so the label chosen is the one this skeleton raises most above its usual score.

Only training takes are read, and no label of theirs: unseen classes' statistics come from the seen
classes' takes, so zero-shot stays inductive. The statistics belong to the trained adapter and are
written beside it (``label_norm.json``), so evaluate, export and ``skellm predict`` use the same ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from skellm.io import write_json

NORM_FILE = "label_norm.json"
MIN_STD = 1e-3


def scored_sets(spec, corpus: str, prompt: str) -> dict[str, list[str]]:
    """question -> labels that evaluate scores after it for ``corpus``: its label set, and its unseen
    classes (ranked among themselves). With EAI-LLM's questions both share one question."""
    from skellm.llm.prompts import recognition_question

    task = spec.task(corpus)
    out: dict[str, list[str]] = {}
    for cands in (spec.corpora.get(corpus) or spec.classes, spec.unseen.get(corpus, [])):
        if cands:
            labels = out.setdefault(recognition_question(task, prompt=prompt, candidates=cands), [])
            labels += [c for c in cands if c not in labels]
    return out


def label_norm(
    model,
    tensors,
    table,
    spec,
    answer_format: str,
    takes: int = 0,
    batch_size: int = 16,
) -> dict[str, Any]:
    """``{"takes": {corpus: n}, "stats": {corpus: {question: {label: [mean, std]}}}}`` of the label
    scores of up to ``takes`` evenly spaced training takes per corpus (rows of ``table``; 0: all)."""
    import torch

    from skellm.llm.data import evenly
    from skellm.llm.model import select_tokens
    from skellm.llm.scoring import score_labels

    corpora = table["corpus"].to_list()
    out: dict[str, Any] = {"takes": {}, "stats": {}}
    for corpus in sorted(set(corpora) & set(spec.corpora)):
        rows = [i for i, c in enumerate(corpora) if c == corpus]
        rows = evenly(rows, takes) if takes > 0 else rows
        out["takes"][corpus] = len(rows)
        per_q = out["stats"].setdefault(corpus, {})
        task = spec.task(corpus)
        for question, labels in scored_sets(spec, corpus, model.prompt).items():
            parts = []
            with torch.inference_mode():
                for s in range(0, len(rows), batch_size):
                    feats, fmask = select_tokens(tensors, model.token_kind, rows[s : s + batch_size])
                    parts.append(score_labels(model, feats, fmask, question, labels, answer_format, task))
            ll = torch.cat(parts).double()
            std = ll.std(0) if len(rows) > 1 else torch.ones(len(labels), dtype=torch.float64)
            per_q[question] = {
                lab: [round(float(m), 6), round(max(float(s), MIN_STD), 6)]
                for lab, m, s in zip(labels, ll.mean(0), std, strict=True)
            }
    return out


def write_label_norm(trained_dir: str | Path, norm: dict[str, Any]) -> None:
    write_json(Path(trained_dir) / NORM_FILE, norm)


def load_label_norm(trained_dir: str | Path) -> dict[str, Any] | None:
    """The statistics saved beside a trained adapter, or None (folders trained before they existed)."""
    path = Path(trained_dir) / NORM_FILE
    return json.loads(path.read_text()) if path.exists() else None


def standardize(
    ll,
    norm: dict[str, Any] | None,
    corpus: str | None,
    question: str,
    labels: list[str],
    required: bool = False,
):
    """``ll`` (B, L) as z-scores by each label's training statistics for (corpus, question), or None
    when any label has none (another corpus's label, an unknown corpus, no statistics); with
    ``required`` that case raises a ValueError naming the corpus and the labels."""
    import torch

    stats = ((norm or {}).get("stats", {}).get(corpus) or {}).get(question) or {}
    missing = [lab for lab in labels if lab not in stats]
    if missing and required:
        raise ValueError(
            f"{NORM_FILE}: no statistics for corpus {corpus}'s labels {', '.join(missing)} after the "
            f"question {question!r} (re-run lora_recognize, or set eval.score_norm: none)"
        )
    if missing:
        return None
    mean, std = torch.tensor([stats[lab] for lab in labels], dtype=ll.dtype).unbind(1)
    return (ll - mean.to(ll.device)) / std.to(ll.device)
