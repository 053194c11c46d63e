"""LLM-stage ablations on the pipeline's own tokens: each variant re-runs lora_describe,
lora_recognize and evaluate, with the data, split and encoder tokens of the last `dvc repro` fixed.

A row is what `dvc exp run -S KEY=VALUE` computes for a param of the LoRA stages or evaluate (llm.*,
lora.*, eval.*), without the experiment bookkeeping: the three stages' own run_stage functions write
into a temporary folder. Prints a Markdown table (label scoring and generation accuracy per corpus,
generation Error rate, unseen top-1, description ROUGE-L and cue F1, seconds) with exact McNemar tests
of each variant's label scoring against the committed run's (data/eval/predictions.parquet) on the
same test takes, and writes the runs as JSON.

Usage:
  python scripts/ablate_llm.py -o metrics/ablations/llm.json \\
      --variant format-B:lora.answer_format=B --variant rank-8:lora.rank=8 --variant order-RD:lora.order=RD
A variant is NAME:KEY=VALUE,KEY=VALUE (values parsed as YAML). ``seed=N`` re-seeds the two LoRA stages
(shuffle, adapter init) on the same encoder tokens: a training-seed repeat of the LLM stage alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from ablate_encoder import parse_variant  # noqa: E402

STAGE_SECTIONS = ("llm.", "lora.", "eval.")


def run_one(params: dict[str, Any], sets: dict[str, Any], keep: Path | None = None) -> dict[str, Any]:
    """One variant: the two LoRA stages and evaluate in a temporary folder; llm.json, seconds and each
    test take's label-scoring outcome. ``keep``: a folder the variant's trained models and evaluate
    outputs are copied to (e.g. for scripts/tune_decoding.py --trained)."""
    import copy
    import shutil

    from skellm.config import PATHS, config_from_dict, set_dotted
    from skellm.eval.evaluate import run_stage as evaluate
    from skellm.llm.train import run_stage as lora_stage

    bad = [k for k in sets if not k.startswith(STAGE_SECTIONS) and k != "seed"]  # seed: the LoRA stages' only
    if bad:
        raise SystemExit(f"{', '.join(bad)}: not a param of the LoRA stages or evaluate (use dvc exp run)")
    p = copy.deepcopy(params)
    for key, value in sets.items():
        set_dotted(p, key, value)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        set_dotted(p, "lora.checkpoint_dir", str(t / "ckpt"))
        cfg = config_from_dict(p)
        paths = dataclasses.replace(
            PATHS, models=t / "models", metrics=t / "m", curves=t / "curves", plots=t / "plots",
            predictions=t / "eval" / "predictions.parquet",
        )  # fmt: skip
        t0 = time.perf_counter()
        lora_stage(1, cfg, paths)
        lora_stage(2, cfg, paths)
        metrics = evaluate(cfg, paths)
        seconds = time.perf_counter() - t0
        correct = score_correct(paths.predictions)
        if keep is not None:
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(paths.models, keep / "models")
            shutil.copytree(paths.predictions.parent, keep / "eval")
    return {"sets": sets, "seconds": round(seconds, 1), "llm": metrics, "score_correct": correct}


def score_correct(predictions: Path) -> dict[str, bool]:
    """take_id -> whether label scoring named the take's label, from an evaluate predictions file."""
    import polars as pl

    pred = pl.read_parquet(predictions)
    return dict(zip(pred["take_id"], (pred["score"] == pred["label"]).to_list(), strict=True))


def committed_run() -> dict[str, Any]:
    """The committed run's llm.json and label-scoring outcomes, as :func:`run_one` returns them."""
    llm = json.loads((ROOT / "metrics/llm.json").read_text())
    correct = score_correct(ROOT / "data/eval/predictions.parquet")
    return {"sets": {}, "seconds": None, "llm": llm, "score_correct": correct}


def table(runs: dict[str, dict[str, Any]]) -> str:
    """Markdown: one row per variant."""
    corpora = sorted(c for c in runs["default"]["llm"]["recognition"]["score"] if c != "overall")
    head = ["variant", *(f"score {c}" for c in corpora), "score all", "generate all", "Error",
            "unseen top-1 label / knowledge", "ROUGE-L", "cue F1", "vs default (score)", "s"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, run in runs.items():
        rec, llm = run["llm"]["recognition"], run["llm"]
        test = paired(runs, "default", name)
        unseen = "; ".join(
            f"{u['top1']:.3f} / {u.get('knowledge', {}).get('top1', float('nan')):.3f}"
            for u in llm.get("unseen", {}).values()
        )
        desc = llm.get("description", {})
        cue = desc.get("faithfulness", {}).get("overall", {}).get("cue_f1", float("nan"))
        cells = [
            name,
            *(f"{rec['score'][c]['accuracy']:.3f}" for c in corpora),
            f"{rec['score']['overall']['accuracy']:.3f} [{rec['score']['overall']['ci95_low']:.2f}, "
            f"{rec['score']['overall']['ci95_high']:.2f}]",
            f"{rec['generate']['overall']['accuracy']:.3f}",
            f"{rec['generate']['overall']['error_rate']:.3f}",
            unseen,
            f"{desc.get('rougeL', float('nan')):.3f}",
            f"{cue:.3f}",
            "" if name == "default" else f"+{test['b_only']} / -{test['a_only']}, p {test['p']:.3f}",
            "" if run["seconds"] is None else f"{run['seconds']:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from skellm.io import load_params, write_json

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", action="append", required=True, help="NAME:KEY=VALUE,... (repeat)")
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("-o", "--out", type=Path, default=ROOT / "metrics/ablations/llm.json")
    ap.add_argument(
        "--pair", action="append", default=[], help="A:B, two variant names: McNemar of B against A"
    )
    ap.add_argument("--keep", type=Path, help="copy each variant's models and eval outputs to KEEP/NAME")
    args = ap.parse_args(argv)
    params = load_params(args.params)
    runs = {"default": committed_run()}
    for text in args.variant:
        name, sets = parse_variant(text)
        print(f"{name}: {sets}", flush=True)
        runs[name] = run_one(params, sets, args.keep / name if args.keep else None)
        md = table(runs)  # written after every variant: a later failure keeps the finished ones
        write_json(args.out, {"variants": args.variant, "runs": runs, "table": md})
        print(md, flush=True)
    if args.pair:
        pairs = {p: paired(runs, *p.split(":")) for p in args.pair}
        write_json(args.out, {"variants": args.variant, "runs": runs, "table": md, "pairs": pairs})
        print(json.dumps(pairs, indent=1), flush=True)


def paired(runs: dict[str, dict[str, Any]], a: str, b: str) -> dict[str, Any]:
    """Exact McNemar of variant ``b``'s label scoring against ``a``'s on the same takes; both accuracies."""
    from skellm.eval.stats import mcnemar

    ids = sorted(runs[a]["score_correct"])
    xa = [runs[a]["score_correct"][i] for i in ids]
    xb = [runs[b]["score_correct"][i] for i in ids]
    return {
        "a": a,
        "b": b,
        "accuracy_a": sum(xa) / len(xa),
        "accuracy_b": sum(xb) / len(xb),
        **mcnemar(xa, xb),
    }


if __name__ == "__main__":
    main()
