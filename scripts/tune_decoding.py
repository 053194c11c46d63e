"""Tune the explanations' decoding on the LoRA validation descriptions, never on the test split.

``lora.describe_validation`` keeps that many described training takes out of LoRA's description
training (:func:`skellm.llm.data.validation_rows`). This script explains them with the trained model
of the last `dvc repro` (true label in the prompt, as evaluate does) under each decoding setting of a
grid, and scores the texts with the faithfulness metrics. The pick: the fewest texts with a repeated
clause, then the highest cue F1, then the plainest setting. Prints a Markdown table and writes JSON;
the pick goes into params.yaml by hand (eval.describe_no_repeat_ngram, eval.describe_repetition_penalty).

Usage:
  python scripts/tune_decoding.py -o metrics/ablations/decoding.json
  python scripts/tune_decoding.py --ngram 0 3 4 --penalty 1.0 1.1
  python scripts/tune_decoding.py --trained runs/NAME/models/lora_recognize   # an ablate_llm.py --keep run
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def tune(
    params_path: Path, ngrams: list[int], penalties: list[float], trained: Path | None = None
) -> dict[str, Any]:
    """Faithfulness of the validation explanations under every (no-repeat n-gram, penalty) pair, with the
    trained model in ``trained`` (default: the pipeline's models/lora_recognize)."""
    from skellm.config import PATHS, load_config
    from skellm.cpus import set_torch_threads
    from skellm.data.labelspace import LabelSpace
    from skellm.eval.evaluate import describe_decoding, explanations, faithfulness_by_corpus
    from skellm.llm.data import validation_rows
    from skellm.llm.encoded import model_tokens
    from skellm.llm.model import load_trained

    cfg = load_config(params_path)
    if cfg.lora.describe_validation <= 0:
        raise SystemExit("lora.describe_validation is 0: no validation descriptions to tune on")
    set_torch_threads(cfg.eval.threads)
    model = load_trained(cfg.llm.out, trained or PATHS.models / "lora_recognize")
    model.eval()
    tensors, table = model_tokens(model, PATHS.tokens, "train")
    idx = validation_rows(table, cfg.lora.describe_validation)
    spec = LabelSpace.load(PATHS.labels_json)
    truth = [table["description"][i].strip() for i in idx]
    where = [table["corpus"][i] for i in idx]
    runs = []
    for ngram, penalty in itertools.product(ngrams, penalties):
        t0 = time.perf_counter()
        ev = dataclasses.replace(
            cfg.eval, describe_no_repeat_ngram=ngram, describe_repetition_penalty=penalty
        )
        decoding = describe_decoding(ev)
        texts, _ = explanations(
            model, tensors, table, idx, spec, decoding, cfg.eval.batch_size, control=False
        )
        runs.append({
            "no_repeat_ngram": ngram, "repetition_penalty": penalty,
            "faithfulness": faithfulness_by_corpus(texts, truth, where),
            "seconds": round(time.perf_counter() - t0, 1), "examples": texts[:3],
        })  # fmt: skip
    best = min(runs, key=pick_key)
    pick = {k: best[k] for k in ("no_repeat_ngram", "repetition_penalty")}
    return {"n": len(idx), "corpora": sorted(set(where)), "runs": runs, "pick": pick}


def pick_key(run: dict[str, Any]) -> tuple:
    """Sort key of a run: fewest repeated clauses, then highest cue F1, then the plainest setting."""
    f = run["faithfulness"]["overall"]
    plain = (abs(run["repetition_penalty"] - 1.0), -(run["no_repeat_ngram"] or 10**6))
    return (round(f["repeated_clause"], 6), -round(f["cue_f1"] or 0.0, 6), *plain)


def table(result: dict[str, Any]) -> str:
    """The runs as a Markdown table (overall faithfulness, validation split)."""
    cols = ("no-repeat n-gram", "repetition penalty", "repeated clause", "cue P", "cue R", "cue F1",
            "action named", "distinct-2", "s")  # fmt: skip
    lines = ["| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]
    keys = ("repeated_clause", "cue_precision", "cue_recall", "cue_f1", "action_named", "distinct_2")
    for r in result["runs"]:
        f = r["faithfulness"]["overall"]
        fmt = [f"{f[k]:.3f}" if f[k] is not None else "-" for k in keys]
        lines.append(
            f"| {r['no_repeat_ngram']} | {r['repetition_penalty']} | "
            + " | ".join(fmt)
            + f" | {r['seconds']} |"
        )
    return "\n".join(lines)


def main() -> None:
    from skellm.io import write_json

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    ap.add_argument("--ngram", type=int, nargs="+", default=[0, 3, 4, 5])
    ap.add_argument("--penalty", type=float, nargs="+", default=[1.0, 1.2])
    ap.add_argument("--trained", type=Path, help="a lora_recognize folder (scripts/ablate_llm.py --keep)")
    ap.add_argument("-o", "--out", type=Path, default=ROOT / "metrics/ablations/decoding.json")
    args = ap.parse_args()
    result = tune(args.params, args.ngram, args.penalty, args.trained)
    result["table"] = table(result)
    print(result["table"])
    print(f"pick (validation, n={result['n']}): {result['pick']}")
    write_json(args.out, result)


if __name__ == "__main__":
    main()
