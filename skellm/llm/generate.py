"""Batched greedy generation through the skeleton-aware model, with a KV cache; free, or held to the
token trie of a label set's answers (constrained decoding: the text always spells one label's answer)."""

from __future__ import annotations

from typing import Any


def greedy(
    model,
    feats,
    fmask,
    questions: list[str],
    max_new_tokens: int = 8,
    no_repeat_ngram: int = 0,
    repetition_penalty: float = 1.0,
) -> list[str]:
    """Greedy continuation of each prompt (one question per row), decoded without special tokens.

    ``no_repeat_ngram`` > 0 never completes an n-gram of that length twice in a row's continuation,
    ``repetition_penalty`` > 1 damps tokens it already generated (both: :func:`greedy_ids`)."""
    tails = [model.prompt_ids(q) for q in questions]
    inputs = model.build(feats, fmask, tails)
    ids = greedy_ids(model, inputs, max_new_tokens, no_repeat_ngram=no_repeat_ngram,
                     repetition_penalty=repetition_penalty)  # fmt: skip
    return _texts(model, ids)


def _processors(no_repeat_ngram: int, repetition_penalty: float) -> list:
    """transformers' logits processors for the two anti-loop settings (none at 0 and 1.0)."""
    from transformers.generation.logits_process import (
        NoRepeatNGramLogitsProcessor,
        RepetitionPenaltyLogitsProcessor,
    )

    out: list = []
    if repetition_penalty != 1.0:
        out.append(RepetitionPenaltyLogitsProcessor(repetition_penalty))
    if no_repeat_ngram > 0:
        out.append(NoRepeatNGramLogitsProcessor(no_repeat_ngram))
    return out


def _texts(model, ids: list[list[int]]) -> list[str]:
    return [model.tokenizer.decode(row, skip_special_tokens=True).strip() for row in ids]


class TrieConstraint:
    """A logits processor that keeps each row's continuation on the token trie of ``cands`` (token ids
    of the label answers, each ending in EOS): a row may only emit a token that extends its prefix
    towards some candidate, so greedy decoding ends on exactly one of them. A row whose prefix is no
    longer in the trie (it already ended) is left free; greedy decoding ignores it from then on."""

    def __init__(self, cands: list[list[int]]):
        self.cands = cands
        self.next: dict[tuple[int, ...], list[int]] = {}
        for c in cands:
            for k in range(len(c)):
                allowed = self.next.setdefault(tuple(c[:k]), [])
                if c[k] not in allowed:
                    allowed.append(c[k])
        self.depth = max(map(len, cands))

    def __call__(self, generated, logits):
        import torch

        mask = torch.zeros_like(logits, dtype=torch.bool)
        for i, row in enumerate(generated.tolist()):
            allowed = self.next.get(tuple(row))
            if allowed is None:
                mask[i] = True
            else:
                mask[i, allowed] = True
        return logits.masked_fill(~mask, float("-inf"))

    def pick(self, ids: list[int], eos_id: int) -> int | None:
        """The index of the candidate ``ids`` (a greedy row, EOS stripped) spells, or None."""
        return next((j for j, c in enumerate(self.cands) if c == [*ids, eos_id]), None)


def greedy_and_scores(
    model,
    feats,
    fmask,
    question: str,
    labels: list[str],
    answer_format: str,
    max_new_tokens: int,
    task: str = "emotion",
    decodings: tuple[str, ...] = ("free",),
) -> tuple[dict[str, list[str]], Any, dict[str, float]]:
    """Greedy answers and label log-likelihoods (B, L) from one shared prompt pass.

    ``decodings``: ``free`` gives the texts of :func:`greedy`; ``labels`` decodes on the token trie of
    the labels' answers (:class:`TrieConstraint`, as many steps as the longest answer needs) and gives
    the label each row's answer spells. The scores are those of
    :func:`skellm.llm.scoring.score_labels`, with the prompt run once for everything. Returns
    ``(texts by decoding, scores, seconds)``; seconds of the prompt, of each decoding
    (``decode_free``, ``decode_labels``) and of the candidate pass.
    """
    import copy
    import time
    from types import SimpleNamespace

    from skellm.config import GENERATIONS
    from skellm.llm.scoring import candidate_ids, prompt_pass, score_ids_after_prompt

    bad = [d for d in decodings if d not in GENERATIONS]
    if bad:
        raise ValueError(f"decodings must be among {GENERATIONS}, not {bad}")
    cands = candidate_ids(model, labels, answer_format, task)  # the trie's and the scores' answers
    t0 = time.perf_counter()
    inputs, out = prompt_pass(model, feats, fmask, question)
    secs = {"prompt": time.perf_counter() - t0}
    texts: dict[str, list[str]] = {}
    for decoding in decodings:
        t1 = time.perf_counter()
        mine = SimpleNamespace(logits=out.logits, cache=copy.deepcopy(out.cache))  # decoding extends it
        if decoding == "free":
            texts["free"] = _texts(model, greedy_ids(model, inputs, max_new_tokens, mine))
        else:
            trie = TrieConstraint(cands)
            ids = greedy_ids(model, inputs, trie.depth, mine, constraint=trie)
            texts["labels"] = [labels[trie.pick(row, model.eos_id)] for row in ids]
        secs[f"decode_{decoding}"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    scores = score_ids_after_prompt(model, inputs, out, cands)
    secs["candidates"] = time.perf_counter() - t2
    return texts, scores, secs


def greedy_ids(
    model,
    inputs: dict[str, Any],
    max_new_tokens: int,
    prompt_out: Any = None,
    no_repeat_ngram: int = 0,
    repetition_penalty: float = 1.0,
    constraint: TrieConstraint | None = None,
) -> list[list[int]]:
    """Token ids generated greedily after ``inputs`` (from ``model.build``), stopping at EOS.

    ``prompt_out``: the output of the prompt's forward pass where the caller already ran it
    (:func:`skellm.llm.scoring.prompt_pass`); its cache is extended in place. ``no_repeat_ngram`` and
    ``repetition_penalty`` act on the generated tokens only: the prompt is skeleton embeddings and the
    question, whose words an explanation may well repeat. ``constraint`` keeps the rows on a label
    trie (:class:`TrieConstraint`).
    """
    import torch

    processors = _processors(no_repeat_ngram, repetition_penalty)
    if constraint is not None:
        processors.append(constraint)

    with torch.no_grad():
        out = prompt_out if prompt_out is not None else model.llm(**inputs, use_cache=True, logits_to_keep=1)
        cache = out.cache
        logits = out.logits[:, -1]
        attn = inputs["attention_mask"]
        pos = inputs["position_ids"][:, -1]
        b = attn.shape[0]
        done = torch.zeros(b, dtype=torch.bool, device=attn.device)
        result: list[list[int]] = [[] for _ in range(b)]
        generated = torch.zeros((b, 0), dtype=torch.long, device=attn.device)
        for step in range(max_new_tokens):
            for proc in processors:
                logits = proc(generated, logits)
            nxt = logits.argmax(-1)
            generated = torch.cat([generated, nxt[:, None]], 1)
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
