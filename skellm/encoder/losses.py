"""Pre-training losses: cross-entropy and EAI-LLM's KL-divergence skeleton-text contrastive loss.

``L_con(z_s, z_t)``: with s_ij = cos(z_s_i, z_t_j) / tau over a batch, where z_t_j is the text feature
of sample j's label, p_s2t = softmax over each row of s and p_t2s over each row of s^T; the target
y_ij = 1 when samples i and j share a label (every same-label pair is positive), rows normalised to
sum to 1. L_con = 1/2 [KL(y || p_s2t) + KL(y || p_t2s)], averaged over the batch rows.
Forms (``encoder.loss``): ``se`` = CE + L_con(z_g); ``st`` = CE + 1/2 (L_con(spatial) + L_con(temporal))
with each token set reduced to one vector by its masked mean; ``ce_only``; ``contrastive_only``
(L_con(z_g) without CE, the paper's "semantic guidance only" ablation).
``milnce(z_s, texts, labels, text_class, cand)`` (SUGAR, after Miech et al.'s MIL-NCE): every text
of sample i's label is a positive, so with s_im = cos(z_s_i, t_m) / tau over the text bank,
L_i = logsumexp_{m: class(m) = y_i} s_im - logsumexp_{m in cand_i} s_im negated, where cand_i are the
texts of the classes sample i may take (its corpus's seen labels). ``encoder.text_loss: milnce``
uses it in place of L_con in every form.
``class_mask`` (N, n_classes) restricts each sample's cross-entropy to the labels its corpus uses, so
joint training over corpora with different label sets never pits "joy" (one corpus) against "happiness"
(another) for a take that could only ever be one of them; evaluation restricts predictions the same way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from skellm.encoder.tokens import SkeletonTokens, masked_mean

LOSSES = ("se", "st", "ce_only", "contrastive_only")


def masked_logits(logits: torch.Tensor, class_mask: torch.Tensor | None) -> torch.Tensor:
    """Logits with the classes outside ``class_mask`` (same shape, bool) set to the lowest float."""
    if class_mask is None:
        return logits
    return logits.masked_fill(~class_mask, torch.finfo(logits.dtype).min)


def soft_targets(
    labels: torch.Tensor,
    eps: torch.Tensor,
    class_text: torch.Tensor,
    class_mask: torch.Tensor | None = None,
    tau: float = 0.1,
) -> torch.Tensor:
    """(N, n_classes) soft CE targets: 1 - eps_i on the label, eps_i over the other allowed labels in
    proportion to exp(cos(text_label, text_k) / tau), so neighbouring classes (by their prompts' text)
    share more. Rows with no other allowed label stay one-hot."""
    t = F.normalize(class_text.float(), dim=-1)
    near = torch.exp((t @ t.T) / tau)[labels]  # (N, C)
    allowed = torch.ones_like(near, dtype=torch.bool) if class_mask is None else class_mask.bool()
    onehot = F.one_hot(labels, near.shape[1]).to(near.dtype)
    near = near * allowed * (1 - onehot)
    total = near.sum(1, keepdim=True)
    spread = torch.where(total > 0, near / total.clamp_min(1e-12), torch.zeros_like(near))
    eps = torch.where(total[:, 0] > 0, eps.to(near.dtype), torch.zeros_like(eps, dtype=near.dtype))
    return (1 - eps)[:, None] * onehot + eps[:, None] * spread


def same_label_target(labels: torch.Tensor) -> torch.Tensor:
    """(N, N) target distribution: uniform over the samples that share row i's label."""
    t = (labels[:, None] == labels[None, :]).to(torch.float32)
    return t / t.sum(1, keepdim=True)


def kl_contrastive(z_s: torch.Tensor, z_t: torch.Tensor, labels: torch.Tensor, logit_scale: torch.Tensor):
    """L_con for skeleton vectors z_s (N, D), their labels' text vectors z_t (N, D), labels (N,)."""
    scale = logit_scale.exp().clamp(max=100.0)
    sim = scale * F.normalize(z_s, dim=-1) @ F.normalize(z_t, dim=-1).T
    target = same_label_target(labels)
    s2t = F.kl_div(F.log_softmax(sim, 1), target, reduction="batchmean")
    t2s = F.kl_div(F.log_softmax(sim.T, 1), target.T, reduction="batchmean")
    return 0.5 * (s2t + t2s)


def milnce(
    z_s: torch.Tensor,
    texts: torch.Tensor,
    labels: torch.Tensor,
    text_class: torch.Tensor,
    logit_scale: torch.Tensor,
    class_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """MIL-NCE of skeleton vectors z_s (N, D) against a text bank (M, D) whose texts belong to
    ``text_class`` (M,) (-1: no class); the candidates of row i are the texts of ``class_mask[i]``."""
    scale = logit_scale.exp().clamp(max=100.0)
    sim = scale * F.normalize(z_s, dim=-1) @ F.normalize(texts, dim=-1).T  # (N, M)
    known = text_class >= 0
    pos = (text_class[None, :] == labels[:, None]) & known[None, :]
    if class_mask is None:
        cand = known[None, :].expand_as(pos)
    else:
        cand = class_mask[:, text_class.clamp(min=0)] & known[None, :]
    cand = cand | pos
    low = torch.finfo(sim.dtype).min
    num = torch.logsumexp(sim.masked_fill(~pos, low), 1)
    den = torch.logsumexp(sim.masked_fill(~cand, low), 1)
    return (den - num).mean()


def pretrain_loss(
    form: str,
    tokens: SkeletonTokens,
    labels: torch.Tensor,
    text: torch.Tensor,
    logit_scale: torch.Tensor,
    class_mask: torch.Tensor | None = None,
    bank: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | None = None,
    target: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """The selected loss (``loss``) and its parts; ``text`` is (N, D) text features per sample,
    ``class_mask`` (N, n_classes) bool the labels each sample's CE may take (None: all). With ``bank``
    ((M, D) projected texts, (M,) their classes, (N, n_classes) each sample's candidate classes or None)
    the contrastive part is :func:`milnce`, else L_con. ``target`` (N, n_classes): soft CE targets
    (:func:`soft_targets`) in place of the hard labels."""

    def con(z: torch.Tensor) -> torch.Tensor:
        if bank is not None:
            return milnce(z, bank[0], labels, bank[1], logit_scale, bank[2])
        return kl_contrastive(z, text, labels, logit_scale)

    if form not in LOSSES:
        raise ValueError(f"encoder.loss must be one of {', '.join(LOSSES)}, not {form!r}")
    out: dict[str, torch.Tensor] = {}
    total = tokens.logits.new_zeros(())
    if form != "contrastive_only":
        out["ce"] = F.cross_entropy(
            masked_logits(tokens.logits, class_mask), labels if target is None else target
        )
        total = total + out["ce"]
    if form in ("se", "contrastive_only"):
        out["con"] = con(tokens.semantic)
        total = total + out["con"]
    elif form == "st":
        sp = masked_mean(tokens.spatial, tokens.spatial_mask[..., None], 1)
        tp = masked_mean(tokens.temporal, tokens.temporal_mask[..., None], 1)
        out["con"] = 0.5 * (con(sp) + con(tp))
        total = total + out["con"]
    out["loss"] = total
    return out
