"""Bootstrap intervals and exact McNemar tests: against hand-computed values and their defining properties."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

from skellm.eval.evaluate import paired_tests, recognition_metrics
from skellm.eval.stats import bootstrap_ci, mcnemar


def test_mcnemar_exact_against_the_binomial_by_hand():
    a = np.array([True] * 10 + [False] * 2 + [True] * 30 + [False] * 8)
    b = np.array([False] * 10 + [True] * 2 + [True] * 30 + [False] * 8)
    out = mcnemar(a, b)
    by_hand = 2 * sum(comb(12, k) for k in range(3)) / 2**12  # 2 P(X <= 2), X ~ Bin(12, 1/2)
    assert out == {"a_only": 10, "b_only": 2, "p": round(by_hand, 4)}
    assert mcnemar(b, a)["p"] == out["p"]  # symmetric
    assert mcnemar(a, a) == {"a_only": 0, "b_only": 0, "p": 1.0}
    with pytest.raises(ValueError, match="same shape"):
        mcnemar(a, b[:-1])


def test_bootstrap_interval_brackets_the_accuracy_and_narrows_with_n():
    rng = np.random.default_rng(1)
    small = rng.random(60) < 0.7
    big = rng.random(6000) < 0.7
    lo, hi = bootstrap_ci(small)
    assert lo < small.mean() < hi and 0.1 < hi - lo < 0.35  # ~2 x 1.96 x sqrt(.21 / 60) = 0.23
    blo, bhi = bootstrap_ci(big)
    assert bhi - blo < (hi - lo) / 5
    assert bootstrap_ci(small) == (lo, hi)  # fixed seed: the same interval every run
    assert bootstrap_ci([]) == (None, None)
    assert bootstrap_ci([True] * 20) == (1.0, 1.0)


def test_recognition_metrics_carry_intervals_and_paired_tests():
    rows = [
        {
            "corpus": c,
            "label": "x",
            "score": "x" if i % 3 else "y",
            "encoder_classifier": "x" if i % 2 else "y",
        }
        for c in "AB"
        for i in range(30)
    ]
    rec = recognition_metrics(rows, modes=("score", "encoder_classifier"))
    a = rec["score"]["A"]
    assert a["ci95_low"] <= a["accuracy"] <= a["ci95_high"] and a["n"] == 30
    paired = paired_tests(rows, pairs=(("score", "encoder_classifier"),))["score_vs_encoder_classifier"]
    assert set(paired) == {"overall", "A", "B"}
    hits_a = np.array([r["score"] == "x" for r in rows if r["corpus"] == "A"])
    hits_b = np.array([r["encoder_classifier"] == "x" for r in rows if r["corpus"] == "A"])
    assert paired["A"] == mcnemar(hits_a, hits_b)
