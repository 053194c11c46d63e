"""Closed-set recognition: each candidate label's log-likelihood after the prompt.

The prompt (prefix, skeleton tokens, question) is run once per take; its KV cache is repeated for the
L candidates and all candidate answers are scored in one batched pass. Scoring cannot produce an
Error and gives per-label probabilities (softmax of the summed log-likelihoods over the label set).
"""

from __future__ import annotations

from skellm.llm.prompts import format_answer


def candidate_ids(
    model, labels: list[str], answer_format: str = "A", task: str = "emotion"
) -> list[list[int]]:
    """Token ids of each label's answer (as trained: format + EOS)."""
    return [model.answer_ids(format_answer(lab, answer_format, task)) for lab in labels]


def prompt_pass(model, feats, fmask, question: str):
    """(inputs, output) of the recognition prompt for every take: one forward pass that keeps the KV
    cache and the last position's logits, shared by label scoring and greedy generation."""
    import torch

    inputs = model.build(feats, fmask, [model.prompt_ids(question)] * feats.shape[0])
    with torch.no_grad():
        out = model.llm(**inputs, use_cache=True, logits_to_keep=1)
    return inputs, out


def score_after_prompt(
    model, inputs, out, labels: list[str], answer_format: str = "A", task: str = "emotion"
):
    """Log-likelihood (B, L) of each label's answer, from a :func:`prompt_pass` (its cache is consumed:
    repeated in place for the L candidates)."""
    return score_ids_after_prompt(model, inputs, out, candidate_ids(model, labels, answer_format, task))


def score_ids_after_prompt(model, inputs, out, cands: list[list[int]]):
    """Log-likelihood (B, N) of each token-id continuation in ``cands`` after a :func:`prompt_pass`,
    all in one batched pass over the repeated cache (consumed)."""
    import torch

    n = len(cands)
    b = out.logits.shape[0]
    with torch.no_grad():
        first = torch.log_softmax(out.logits[:, -1].float(), -1)  # (B, V): each candidate's first token
        cache = out.cache
        cache.batch_repeat_interleave(n)
        dev = first.device
        m = max(len(c) for c in cands)
        cand = torch.full((n, m), model.pad_id, dtype=torch.long)
        valid = torch.zeros((n, m), dtype=torch.long)
        for j, c in enumerate(cands):
            cand[j, : len(c)] = torch.tensor(c)
            valid[j, : len(c)] = 1
        cand, valid = cand.to(dev).repeat(b, 1), valid.to(dev).repeat(b, 1)  # row = take * n + candidate
        total = first.repeat_interleave(n, 0).gather(1, cand[:, :1])[:, 0]
        if m > 1:
            # the last candidate token is only predicted, never read: feed tokens 0..m-2
            inp, inp_valid = cand[:, :-1], valid[:, :-1]
            attn = torch.cat([inputs["attention_mask"].repeat_interleave(n, 0), inp_valid], 1)
            last = inputs["position_ids"][:, -1].repeat_interleave(n, 0)
            pos = last[:, None] + 1 + torch.arange(m - 1, device=dev)[None]
            logits = model.llm(
                input_ids=inp, attention_mask=attn, position_ids=pos, cache=cache, use_cache=False
            ).logits
            logp = torch.log_softmax(logits.float(), -1).gather(-1, cand[:, 1:, None])[..., 0]
            total = total + (logp * valid[:, 1:]).sum(-1)
    return total.view(b, n)


def score_labels(
    model, feats, fmask, question: str, labels: list[str], answer_format: str = "A", task: str = "emotion"
):
    """Log-likelihood (B, L) of each label's answer after the prompt, prompt computed once per take."""
    inputs, out = prompt_pass(model, feats, fmask, question)
    return score_after_prompt(model, inputs, out, labels, answer_format, task)


def score_labels_naive(model, feats, fmask, question: str, labels: list[str], answer_format: str = "A"):
    """The same log-likelihoods, one full sequence per (take, label): the reference and the peer."""
    import torch

    cands = candidate_ids(model, labels, answer_format)
    tail = model.prompt_ids(question)
    cols = []
    with torch.no_grad():
        for c in cands:
            tails = [tail + c] * feats.shape[0]
            tl = [[-100] * len(tail) + c] * feats.shape[0]
            cols.append(model.sequence_logprob(feats, fmask, tails, tl))
    return torch.stack(cols, 1)
