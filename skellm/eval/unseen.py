"""Zero-shot recognition of unseen classes (never in encoder or LoRA training), ranked among the
corpus's unseen classes only, as the NTU 55/5 and 110/10 protocols do.

Two LLM rankings:
  label     each unseen label's answer log-likelihood after the recognition question (label scoring),
            standardised by that label's scores on training takes when the model has them
            (:mod:`skellm.llm.label_norm`; the raw ranking is then reported as ``raw``)
  knowledge how much the skeleton raises the likelihood of each class's knowledge sentences after the
            description prompt: for class c, the mean over its sentences s of
            log P(s | skeleton, "The action ... is [c] ...") - log P(s | zeroed skeleton, same prompt).
            Subtracting the zeroed-token likelihood removes what the prompt and the sentence alone
            make likely, so the ranking says which class's described motion the body explains best.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from skellm.eval.stats import topk_summary, true_ranks

RANKINGS = ("label", "knowledge")


def knowledge_scores(
    model,
    feats,
    fmask,
    cands: Sequence[str],
    knowledge: Mapping[str, Sequence[str]],
    task: str,
    rows: int = 128,
):
    """(B, C) mean pointwise information each candidate's knowledge sentences get from the skeleton
    (module docstring); about ``rows`` sentence continuations per forward pass. A candidate without
    sentences scores -inf."""
    import torch

    from skellm.llm.prompts import describe_question
    from skellm.llm.scoring import prompt_pass, score_ids_after_prompt

    # the zeroed-token likelihood depends on the take only through its mask: once per distinct mask
    masks, which = torch.unique(fmask, dim=0, return_inverse=True)
    zeros = torch.zeros((len(masks), *feats.shape[1:]), dtype=feats.dtype)

    def mean_ll(f, m, question, ids):
        step = max(1, rows // len(ids))  # takes per pass: bounds the (rows, length, vocabulary) logits
        parts = []
        for s in range(0, f.shape[0], step):
            out = prompt_pass(model, f[s : s + step], m[s : s + step], question)
            parts.append(score_ids_after_prompt(model, *out, ids))
        return torch.cat(parts)

    cols = []
    for c in cands:
        texts = knowledge.get(c, ())
        if not texts:
            cols.append(torch.full((feats.shape[0],), float("-inf")))
            continue
        ids = [model.answer_ids(" " + t.strip(), eos=False) for t in texts]
        question = describe_question(c, task)
        pmi = mean_ll(feats, fmask, question, ids) - mean_ll(zeros, masks, question, ids)[which]
        cols.append(pmi.mean(1))
    return torch.stack(cols, 1)


def unseen_topk(
    model,
    tensors,
    table,
    spec,
    fmt: str,
    bs: int,
    knowledge: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    ks: Iterable[int] = (1, 5),
    norm: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """{corpus: {top1, top5, ... (label scoring), "knowledge": {top1, ...}}} on the test takes of each
    corpus's unseen classes (``knowledge``: corpus -> class -> sentences; a corpus without them gets
    the label ranking only). ``norm``: label-score statistics (:func:`skellm.llm.label_norm.label_norm`)
    that standardise the label ranking; the raw one is then kept as ``"raw"``."""
    from tqdm.auto import tqdm

    from skellm.llm.label_norm import standardize
    from skellm.llm.model import select_tokens
    from skellm.llm.prompts import recognition_question
    from skellm.llm.scoring import score_labels

    corpora, labels = table["corpus"].to_list(), table["label"].to_list()
    out: dict[str, Any] = {}
    for corpus, cands in sorted(spec.unseen.items()):
        idx = [
            i for i, (c, lab) in enumerate(zip(corpora, labels, strict=True)) if c == corpus and lab in cands
        ]
        if not idx:
            continue
        task = spec.task(corpus)
        question = recognition_question(task, prompt=model.prompt, candidates=cands)
        known = (knowledge or {}).get(corpus)
        ranks: dict[str, list[int]] = {"label": []}
        ranks |= {"raw": []} if norm is not None else {}
        ranks |= {"knowledge": []} if known else {}
        bar = tqdm(total=len(idx), desc=f"unseen {corpus} ({', '.join(ranks)})", dynamic_ncols=True)
        for start in range(0, len(idx), bs):
            chunk = idx[start : start + bs]
            feats, fmask = select_tokens(tensors, model.token_kind, chunk)
            truth = [cands.index(labels[i]) for i in chunk]
            ll = score_labels(model, feats, fmask, question, cands, fmt, task)
            if norm is not None:
                ranks["raw"] += true_ranks(ll, truth)
                ll = standardize(ll, norm, corpus, question, cands, required=True)
            ranks["label"] += true_ranks(ll, truth)
            if known:
                ranks["knowledge"] += true_ranks(
                    knowledge_scores(model, feats, fmask, cands, known, task), truth
                )
            bar.update(len(chunk))
        bar.close()
        out[corpus] = topk_summary(ranks.pop("label"), len(cands), ks)
        out[corpus] |= {name: topk_summary(r, len(cands), ks) for name, r in ranks.items()}
    return out


def knowledge_by_class(rows: Iterable[tuple[str, str, str]]) -> dict[str, list[str]]:
    """class -> its sentences, from (label, part, text) rows of a class-knowledge file."""
    out: dict[str, list[str]] = {}
    for label, _, text in rows:
        out.setdefault(label, []).append(text)
    return out
