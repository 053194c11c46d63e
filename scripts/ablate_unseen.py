"""The LLM's zero-shot ranking of unseen classes by class knowledge, one row per knowledge selection.

Reads the last `dvc repro`'s trained LoRA model and test tokens (nothing is trained) and ranks each
unseen class's test takes among the unseen classes with ``skellm.eval.unseen.unseen_topk``, once per
``eval.unseen_knowledge`` value given; label scoring is the same in every row. Prints a Markdown table
and writes the rows as JSON.

Usage:
  python scripts/ablate_unseen.py --knowledge both motion visual -o metrics/ablations/unseen_knowledge.json
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from skellm.config import KNOWLEDGE_USE, PATHS, stage_config
    from skellm.cpus import set_torch_threads
    from skellm.data.labelspace import LabelSpace
    from skellm.eval.evaluate import unseen_knowledge
    from skellm.eval.unseen import unseen_topk
    from skellm.io import write_json
    from skellm.llm.encoded import model_tokens
    from skellm.llm.model import load_trained

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--knowledge", nargs="+", default=["visual"], choices=sorted(KNOWLEDGE_USE))
    ap.add_argument("-o", "--out", type=Path, help="JSON file for the rows")
    args = ap.parse_args(argv)

    cfg = stage_config()
    set_torch_threads(cfg.eval.threads)
    model = load_trained(cfg.llm.out, PATHS.models / "lora_recognize").eval()
    tensors, table = model_tokens(model, PATHS.tokens, "test")
    spec = LabelSpace.load(PATHS.labels_json)
    rows = {}
    for use in args.knowledge:
        c = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, unseen_knowledge=use))
        rows[use] = unseen_topk(
            model, tensors, table, spec, cfg.lora.answer_format, cfg.eval.batch_size, unseen_knowledge(c)
        )
    head = ("knowledge", "corpus", "n", "label scoring top-1 / 5", "knowledge top-1 [95% CI] / 5", "chance")
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for use, res in rows.items():
        for corpus, r in res.items():
            k = r.get("knowledge")
            kn = "-"
            if k:
                ci = f"[{k['top1_ci95_low']:.2f}, {k['top1_ci95_high']:.2f}]"
                kn = f"{k['top1']:.3f} {ci} / {k['top5']:.3f}"
            print(
                f"| {use} | {corpus} | {r['n']} | {r['top1']:.3f} / {r['top5']:.3f} | {kn} "
                f"| {r['chance_top1']:.3f} / {r['chance_top5']:.3f} |"
            )
    if args.out:
        write_json(args.out, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
