"""Description metrics offline: ROUGE-1/2/L (rouge-score), BLEU (sacrebleu), METEOR (nltk).

METEOR's synonym stage needs WordNet, which is not installed offline; NLTK applies its Porter stemmer
first, which makes the synonym stage a no-op in practice, so an empty WordNet stand-in is passed
(``_NoWordNet``). Scores are therefore exact+stem METEOR, slightly below WordNet METEOR at most.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


class _NoWordNet:
    """Stand-in for nltk's WordNet reader: no synsets, so METEOR matches exact words and stems only."""

    @staticmethod
    def synsets(*args, **kwargs) -> list:
        return []


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (no NLTK data needed)."""
    return _TOKEN.findall(text.lower())


def description_scores(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F1, corpus BLEU (0-1) and mean METEOR over paired texts."""
    import sacrebleu
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer

    if len(predictions) != len(references):
        raise ValueError("predictions and references differ in length")
    n = len(predictions)
    if n == 0:
        return {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0, "bleu": 0.0, "meteor": 0.0, "n": 0}
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    rouge = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    meteor = 0.0
    for pred, ref in zip(predictions, references, strict=True):
        s = scorer.score(ref, pred)
        for k in rouge:
            rouge[k] += s[k].fmeasure / n
        meteor += meteor_score([tokenize(ref)], tokenize(pred), wordnet=_NoWordNet()) / n
    bleu = sacrebleu.corpus_bleu(predictions, [references]).score / 100.0
    return {**rouge, "bleu": bleu, "meteor": meteor, "n": n}
