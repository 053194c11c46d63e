"""Batched greedy generation through the skeleton-aware model, with a KV cache."""

from __future__ import annotations

from typing import Any


def greedy(model, feats, fmask, questions: list[str], max_new_tokens: int = 8) -> list[str]:
    """Greedy continuation of each prompt (one question per row), decoded without special tokens."""
    tails = [model.prompt_ids(q) for q in questions]
    ids = greedy_ids(model, model.build(feats, fmask, tails), max_new_tokens)
    return [model.tokenizer.decode(row, skip_special_tokens=True).strip() for row in ids]


def greedy_ids(model, inputs: dict[str, Any], max_new_tokens: int) -> list[list[int]]:
    """Token ids generated greedily after ``inputs`` (from ``model.build``), stopping at EOS."""
    import torch

    with torch.no_grad():
        out = model.llm(**inputs, use_cache=True, logits_to_keep=1)
        cache = out.cache
        logits = out.logits[:, -1]
        attn = inputs["attention_mask"]
        pos = inputs["position_ids"][:, -1]
        b = attn.shape[0]
        done = torch.zeros(b, dtype=torch.bool, device=attn.device)
        result: list[list[int]] = [[] for _ in range(b)]
        for step in range(max_new_tokens):
            nxt = logits.argmax(-1)
            for i in torch.nonzero(~done).flatten().tolist():
                if int(nxt[i]) != model.eos_id:
                    result[i].append(int(nxt[i]))
            done |= nxt == model.eos_id
            if bool(done.all()) or step == max_new_tokens - 1:
                break
            attn = torch.cat([attn, torch.ones_like(attn[:, :1])], 1)
            pos = pos + 1
            out = model.llm(
                input_ids=nxt[:, None],
                attention_mask=attn,
                position_ids=pos[:, None],
                cache=cache,
                use_cache=True,
            )
            cache = out.cache
            logits = out.logits[:, -1]
    return result
