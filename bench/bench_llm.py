"""Benchmark the skeleton-aware LM: LoRA training tokens/s, recognition latency, peak memory.

Recognition latency per take: free greedy generation vs closed-set label scoring with the shared
prompt prefix computed once, against naive scoring (one full sequence per take and label, the peer).
Runs the prepared LLM (models/llm, else the packaged SmolLM2 converted to a temp folder) on CPU, or on
the GPU when one is visible. Usage: python bench/bench_llm.py [--takes 16] [--steps 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

LABELS = ["neutral", "joy", "anger", "panic", "fear", "anxiety", "sadness", "shame"]
# corpus D's 20 seen actions: multi-token answers, several sharing their first word
ACTIONS = [
    "drink water", "eat meal", "pickup", "throw", "sitting down", "clapping", "cheer up", "hand waving",
    "kicking something", "jump up", "pointing to something", "nod head bow", "shake head", "salute",
    "falling", "touch head", "touch chest", "punching", "pushing", "handshaking",
]  # fmt: skip
DESC = (
    " The head hangs low and the shoulders slump forward; the steps are short and slow, the arms stay close"
    " to the body and the trunk bends, a withdrawn posture."
)


def _tokens(n: int, c: int, j: int = 28, t: int = 16):
    import torch

    g = torch.Generator().manual_seed(0)
    return {
        "semantic": torch.randn(n, c, generator=g),
        "spatial": torch.randn(n, j, c, generator=g),
        "spatial_mask": torch.ones(n, j, dtype=torch.uint8),
        "temporal": torch.randn(n, t, c, generator=g),
        "temporal_mask": torch.ones(n, t, dtype=torch.uint8),
    }


def main(argv: list[str] | None = None) -> int:
    import torch

    import skellm  # noqa: F401  (offline env)
    from skellm.config import LLMConfig, LoraConfig
    from skellm.llm.data import Example, encode
    from skellm.llm.generate import greedy
    from skellm.llm.model import load_base, new_model, select_tokens
    from skellm.llm.prepare import prepare_llm
    from skellm.llm.prompts import RECOGNITION_QUESTIONS, describe_question, format_answer
    from skellm.llm.scoring import score_labels, score_labels_naive

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llm", default="models/llm")
    ap.add_argument("--takes", type=int, default=16)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--rank", type=int, default=64)
    ap.add_argument("--tokens", default="semantic")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="bench/results/bench_llm.json")
    args = ap.parse_args(argv)
    dev = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    dev = "cpu" if dev == "auto" else dev
    torch.set_num_threads(args.threads)
    llm_dir = Path(args.llm)
    if not (llm_dir / "source.json").exists():
        llm_dir = prepare_llm(Path(tempfile.mkdtemp()) / "llm")
    llm, tok = load_base(llm_dir)
    c = 256
    lora = LoraConfig(rank=args.rank, alpha=16, dropout=0.05, target_modules=("q_proj", "v_proj"))
    model = new_model(llm, tok, c, LLMConfig(projector="linear", tokens=args.tokens), lora).to(dev)
    tensors = _tokens(max(args.takes, args.batch), c)
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    res: dict = {
        "device": dev,
        "model": str(llm_dir),
        "threads": args.threads,
        "tokens": args.tokens,
        "lora_rank": args.rank,
        "batch": args.batch,
    }

    # ---- LoRA training throughput (recognition format A and description examples) -------------
    # fp32, then bf16 autocast (what lora.mixed_precision: bf16 runs through accelerate), side by side
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    for precision in ("fp32", "bf16"):
        suffix = "" if precision == "fp32" else "_bf16"
        for task, ex in (
            ("recognize", Example(0, RECOGNITION_QUESTIONS[0], format_answer("joy", "A"))),
            ("describe", Example(0, describe_question("sadness"), DESC)),
        ):
            tail, labels = encode(model, ex)
            feats, fmask = select_tokens(tensors, args.tokens, list(range(args.batch)))
            seq = len(model.prefix_ids) + feats.shape[1] + len(tail)
            times = []
            for i in range(args.steps + 1):
                sync()
                t0 = time.perf_counter()
                with torch.autocast(dev, dtype=torch.bfloat16, enabled=precision == "bf16"):
                    out = model(feats, fmask, [tail] * args.batch, [labels] * args.batch)
                out.loss.backward()
                opt.step()
                opt.zero_grad()
                sync()
                if i:  # first step warms up
                    times.append(time.perf_counter() - t0)
            step_s = sum(times) / len(times)
            key = f"train_{task}{suffix}"
            res[key] = {"seq_len": seq, "step_s": step_s, "tokens_per_s": seq * args.batch / step_s}
            print(f"train {task} {precision}: {res[key]}", flush=True)

    # ---- recognition latency per take ------------------------------------------------------------
    model.eval()
    q = RECOGNITION_QUESTIONS[0]
    feats, fmask = select_tokens(tensors, args.tokens, list(range(args.takes)))

    def per_take(fn) -> float:
        fn(feats[: args.batch], fmask[: args.batch])  # warm-up
        sync()
        t0 = time.perf_counter()
        for i in range(0, args.takes, args.batch):
            fn(feats[i : i + args.batch], fmask[i : i + args.batch])
        sync()
        return 1000 * (time.perf_counter() - t0) / args.takes

    with torch.no_grad():
        res["latency_ms_per_take"] = {
            "generate_8_tokens": per_take(lambda f, m: greedy(model, f, m, [q] * len(f), 8))
        }
        for name, labels in (("emotions_8", LABELS), ("actions_20", ACTIONS)):
            res["latency_ms_per_take"] |= {
                f"score_tree_{name}": per_take(lambda f, m, labs=labels: score_labels(model, f, m, q, labs)),
                f"score_naive_peer_{name}": per_take(
                    lambda f, m, labs=labels: score_labels_naive(model, f, m, q, labs)
                ),
            }
    lat = res["latency_ms_per_take"]
    res["ratios"] = {
        f"{kind}_over_tree_scoring_{name}": lat[key] / lat[f"score_tree_{name}"]
        for name in ("emotions_8", "actions_20")
        for kind, key in (("naive", f"score_naive_peer_{name}"), ("generate", "generate_8_tokens"))
    }
    res["ratios"] |= {
        f"train_{task}_fp32_over_bf16": res[f"train_{task}"]["step_s"] / res[f"train_{task}_bf16"]["step_s"]
        for task in ("recognize", "describe")
    }
    res["n_labels"] = {"emotions_8": len(LABELS), "actions_20": len(ACTIONS)}
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if dev == "cuda":
        res["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
        res["gpu"] = torch.cuda.get_device_name()
    print(json.dumps(res, indent=2))
    out = Path(args.out)
    from skellm.io import write_json

    write_json(out, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
