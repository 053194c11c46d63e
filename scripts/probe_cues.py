"""How much of an explanation's cues the skeleton tokens carry: linear probes, the ceiling for issue 14.

The generator writes each reference from the cues it applied, and the faithfulness metrics read them back
(:mod:`skellm.eval.faithfulness`). A logistic regression per cue, trained on the described training
takes, predicts each described test take's cue set from (a) its label alone (what the description
prompt already says), (b) its exported semantic token alone, (c) both. Its cue F1 against the reference
bounds what a linear reader of the same inputs explains; (b) against (a) is the body's share. Test takes
of classes held out of training (split.unseen) are left out. A second
probe reads corpus A's action (the lead phrase, "While knocking") from the token, against the most
frequent action. The decision threshold is picked by 5-fold cross-validation on the training takes, never
on the test takes.

Usage: python scripts/probe_cues.py -o metrics/ablations/cue_probe.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6)


def _mean_f1(pred: list[set], truth: list[set]) -> float:
    from skellm.eval.faithfulness import cue_scores

    return sum(cue_scores(p, t)["f1"] for p, t in zip(pred, truth, strict=True)) / len(truth)


def cue_probe(xtr, cues_tr: list[set], xte, c: float = 0.05) -> tuple[list[set], float]:
    """Predicted cue sets of the rows of ``xte`` from a per-cue logistic regression on ``xtr``; and the
    threshold, chosen by 5-fold cross-validated cue F1 on the training rows."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    names = sorted({k for s in cues_tr for k in s})
    p_cv = np.zeros((len(xtr), len(names)))
    p_te = np.zeros((len(xte), len(names)))
    for j, name in enumerate(names):
        y = np.array([name in s for s in cues_tr])
        if y.sum() < 5 or y.all():
            p_cv[:, j] = p_te[:, j] = y.mean()
            continue
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))
        p_cv[:, j] = cross_val_predict(clf, xtr, y, cv=5, method="predict_proba")[:, 1]
        p_te[:, j] = clf.fit(xtr, y).predict_proba(xte)[:, 1]

    def sets(p, thr):
        return [{names[j] for j in np.flatnonzero(row > thr)} for row in p]

    thr = max(THRESHOLDS, key=lambda t: _mean_f1(sets(p_cv, t), cues_tr))
    return sets(p_te, thr), thr


def probe(tokens_dir: Path) -> dict[str, Any]:
    """Cue F1 of the three probes per corpus (and over A-C), and corpus A's action from the token."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skellm.eval.faithfulness import named_action, stated_cues
    from skellm.llm.data import described_rows, load_tokens

    (ttr, tab_tr), (tte, tab_te) = (load_tokens(tokens_dir, s, "semantic") for s in ("train", "test"))
    labels = sorted(set(tab_tr["label"].drop_nulls().to_list()))

    def inputs(tensors, table, rows):
        sem = tensors["semantic"].float().numpy()[rows]
        onehot = np.array([[lab == x for x in labels] for lab in table["label"].to_list()], float)[rows]
        return {"label": onehot, "token": sem, "token+label": np.concatenate([sem, onehot], 1)}

    out: dict[str, Any] = {"cue_f1": {}, "threshold": {}}
    rows_tr, rows_te = described_rows(tab_tr), described_rows(tab_te)
    for group in ("A", "B", "C", "D", "ABC"):
        rtr = [i for i in rows_tr if tab_tr["corpus"][i] in group]
        rte = [i for i in rows_te if tab_te["corpus"][i] in group and tab_te["label"][i] in labels]
        cues_tr = [stated_cues(tab_tr["description"][i]) for i in rtr]
        cues_te = [stated_cues(tab_te["description"][i]) for i in rte]
        xtr, xte = inputs(ttr, tab_tr, rtr), inputs(tte, tab_te, rte)
        out["cue_f1"][group] = {"n": len(rte)}
        for kind in xtr:
            pred, thr = cue_probe(xtr[kind], cues_tr, xte[kind])
            out["cue_f1"][group][kind] = round(_mean_f1(pred, cues_te), 3)
            out["threshold"][f"{group} {kind}"] = thr
    # corpus A's action (the reference's lead phrase) from the semantic token
    acts_tr = [(i, named_action(tab_tr["description"][i])) for i in rows_tr if tab_tr["corpus"][i] == "A"]
    acts_te = [(i, named_action(tab_te["description"][i])) for i in rows_te if tab_te["corpus"][i] == "A"]
    acts_tr, acts_te = [a for a in acts_tr if a[1]], [a for a in acts_te if a[1]]
    sem_tr, sem_te = ttr["semantic"].float().numpy(), tte["semantic"].float().numpy()
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=3000))
    clf.fit(sem_tr[[i for i, _ in acts_tr]], [a for _, a in acts_tr])
    hit = clf.predict(sem_te[[i for i, _ in acts_te]]) == np.array([a for _, a in acts_te])
    common = max({a for _, a in acts_tr}, key=[a for _, a in acts_tr].count)
    out["action_A"] = {
        "n": len(acts_te),
        "token": round(float(hit.mean()), 3),
        "most_frequent": round(sum(a == common for _, a in acts_te) / len(acts_te), 3),
    }
    return out


def main() -> None:
    from skellm.io import write_json

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=Path, default=ROOT / "data/tokens")
    ap.add_argument("-o", "--out", type=Path, default=ROOT / "metrics/ablations/cue_probe.json")
    args = ap.parse_args()
    result = probe(args.tokens)
    lines = [
        "| test takes | n | label only | token only | token + label |",
        "| --- | --- | --- | --- | --- |",
    ]
    for g, r in result["cue_f1"].items():
        lines.append(f"| {g} | {r['n']} | {r['label']:.3f} | {r['token']:.3f} | {r['token+label']:.3f} |")
    result["table"] = "\n".join(lines)
    print(result["table"])
    print(f"corpus A action from the token: {result['action_A']}")
    write_json(args.out, result)


if __name__ == "__main__":
    main()
