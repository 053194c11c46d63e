"""Closed-set recognition: each candidate label's log-likelihood after the prompt.

The prompt (prefix, skeleton tokens, question) is run once per take; the L candidate answers are then
scored in one pass over their token trie, which attends to the prompt's KV cache through a tree mask.
Scoring cannot produce an Error and gives per-label probabilities (softmax of the summed
log-likelihoods over the label set).
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


def candidate_tree(cands: list[list[int]]):
    """The token trie of ``cands`` as the candidate pass reads it.

    Returns ``(tokens, depth, ancestor, pairs)``: one node per distinct proper prefix of a candidate
    (``tokens[i]`` its last token, ``depth[i]`` its length - 1), ``ancestor (T, T)`` bool (node j is
    node i or one of its ancestors: what node i may attend to), and per candidate the
    ``(node, next token)`` pairs whose log-probabilities sum to its likelihood after its first token.
    """
    import torch

    nodes: dict[tuple[int, ...], int] = {}
    tokens: list[int] = []
    parent: list[int] = []
    pairs: list[list[tuple[int, int]]] = []
    for c in cands:
        mine = []
        for k in range(1, len(c)):
            prefix = tuple(c[:k])
            if prefix not in nodes:
                nodes[prefix] = len(tokens)
                tokens.append(c[k - 1])
                parent.append(nodes.get(prefix[:-1], -1))
            mine.append((nodes[prefix], c[k]))
        pairs.append(mine)
    t = len(tokens)
    ancestor = torch.eye(t, dtype=torch.bool)
    depth = [0] * t
    for i in range(t):  # parents come before children
        if parent[i] >= 0:
            ancestor[i] |= ancestor[parent[i]]
            depth[i] = depth[parent[i]] + 1
    return torch.tensor(tokens, dtype=torch.long), torch.tensor(depth), ancestor, pairs


def score_ids_after_prompt(model, inputs, out, cands: list[list[int]]):
    """Log-likelihood (B, N) of each token-id continuation in ``cands`` after a :func:`prompt_pass`.

    Each candidate's first token is read off the prompt's last logits. The rest come from one pass
    over the candidates' token trie per take: every distinct prefix is fed once, attending to the
    prompt's cache and to its own ancestors only (a tree attention mask), so shared prefixes and
    padding cost nothing and the cache is never repeated. The cache is consumed.
    """
    import torch

    b = out.logits.shape[0]
    with torch.no_grad():
        first = torch.log_softmax(out.logits[:, -1].float(), -1)  # (B, V)
        dev = first.device
        heads = torch.tensor([c[0] for c in cands], device=dev)
        total = first[:, heads]
        tokens, depth, ancestor, pairs = candidate_tree(cands)
        if len(tokens):
            t = len(tokens)
            prompt_attn = inputs["attention_mask"].bool()
            mask = torch.cat(
                [
                    prompt_attn[:, None, None, :].expand(b, 1, t, -1),
                    ancestor.to(dev)[None, None].expand(b, 1, t, t),
                ],
                -1,
            )
            if model.llm.config._attn_implementation != "sdpa":  # eager and others add a float mask
                dtype = model.llm.get_input_embeddings().weight.dtype
                mask = torch.zeros(mask.shape, dtype=dtype, device=dev).masked_fill(
                    ~mask, torch.finfo(dtype).min
                )
            pos = inputs["position_ids"][:, -1:] + 1 + depth.to(dev)[None]
            logits = model.llm(
                input_ids=tokens.to(dev)[None].expand(b, t),
                attention_mask=mask,
                position_ids=pos,
                cache=out.cache,
                use_cache=False,
            ).logits.float()
            # every (candidate, node, next token) step at once, summed into its candidate's column
            flat = torch.tensor([(j, n, x) for j, mine in enumerate(pairs) for n, x in mine], device=dev)
            cand, node, nxt = flat.unbind(1)
            logp = logits[:, node, nxt] - torch.logsumexp(logits, -1)[:, node]  # norm once per node
            total.index_add_(1, cand, logp)
    return total


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
