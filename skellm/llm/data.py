"""Training examples from encoder tokens: recognition and description prompts, answer-only labels."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skellm.config import LoraConfig
from skellm.llm.prompts import describe_question, format_answer, recognition_question

TASKS = ("describe", "recognize")


@dataclass(frozen=True)
class Example:
    """One prompt/answer pair about the take in row ``row`` of the token tensors."""

    row: int
    question: str
    answer: str


def load_tokens(tokens_dir: str | Path, split: str, kind: str | None = None):
    """``(tensors, table)`` for one split: the safetensors dict and the parquet rows (polars).

    ``kind`` ``vqvae`` adds the VQ-VAE's token vectors and mask as ``vqvae``/``vqvae_mask`` (what
    :func:`skellm.llm.model.select_tokens` reads), checked to be the table's takes in its order."""
    import polars as pl
    from safetensors.torch import load_file

    base = Path(tokens_dir) / split
    for ext in (".safetensors", ".parquet"):
        if not base.with_suffix(ext).exists():
            raise FileNotFoundError(f"{base.with_suffix(ext)}: missing encoder tokens (run pretrain_encoder)")
    tensors = load_file(base.with_suffix(".safetensors"))
    table = pl.read_parquet(base.with_suffix(".parquet"))
    n = tensors["semantic"].shape[0]
    if table.height != n:
        raise ValueError(f"{base}.parquet: {table.height} rows but {n} token rows")
    if kind == "vqvae":
        from skellm.vqvae.export import load_vq_tokens, vq_tokens_path

        vq = load_vq_tokens(vq_tokens_path(tokens_dir, split), table["take_id"].to_list())
        tensors = {**tensors, "vqvae": vq["vectors"], "vqvae_mask": vq["mask"]}
    return tensors, table


def label_tasks(table, tasks: dict[str, str] | None) -> list[str]:
    """Per row, what its label names (``emotion`` | ``action``), from its corpus."""
    tasks = tasks or {}
    return [tasks.get(c, "emotion") for c in table["corpus"].to_list()]


def corpus_candidates(table, label_sets: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Per corpus, the labels a recognition question may offer: ``label_sets`` (labels.json's
    ``corpora``) where given, else the sorted labels the table's takes of that corpus carry."""
    label_sets = label_sets or {}
    out: dict[str, list[str]] = {}
    for corpus, label in zip(table["corpus"].to_list(), table["label"].to_list(), strict=True):
        out.setdefault(corpus, [])
        if label is not None and label not in out[corpus]:
            out[corpus].append(label)
    return {c: list(label_sets.get(c) or sorted(labs)) for c, labs in out.items()}


def recognition_examples(
    table,
    answer_format: str = "A",
    holdout: tuple[str, ...] = (),
    tasks: dict[str, str] | None = None,
    prompt: str = "eai",
    label_sets: dict[str, list[str]] | None = None,
) -> list[Example]:
    """One example per labelled take, cycling through the question phrasings of its corpus's task
    (``prompt`` eai), or SUGAR's question listing the corpus's candidate labels (sugar; see
    :func:`corpus_candidates`)."""
    cands = corpus_candidates(table, label_sets) if prompt == "sugar" else {}
    rows = zip(table["label"].to_list(), table["corpus"].to_list(), label_tasks(table, tasks), strict=True)
    out = []
    for i, (label, corpus, task) in enumerate(rows):
        if label is None or label in holdout:
            continue
        question = recognition_question(task, i, prompt, cands.get(corpus, ()))
        out.append(Example(i, question, format_answer(label, answer_format, task)))
    return out


def stratified_sample(corpora: list[str], labels: list[str], eligible: list[int], n: int) -> list[int]:
    """Up to ``n`` of the ``eligible`` row indices, stratified: an equal share per corpus (what a corpus
    cannot fill goes to the others) and, within a corpus, its labels in turn; sorted."""
    by: dict[str, dict[str, list[int]]] = {}
    for i in eligible:
        by.setdefault(corpora[i], {}).setdefault(labels[i], []).append(i)
    queues = {}
    for corpus, per_label in sorted(by.items()):
        lists, order = list(per_label.values()), []
        for k in range(max(map(len, lists))):
            order += [lst[k] for lst in lists if k < len(lst)]
        queues[corpus] = order
    picked: list[int] = []
    while len(picked) < n and any(queues.values()):
        for order in queues.values():
            if order and len(picked) < n:
                picked.append(order.pop(0))
    return sorted(picked)


def described_rows(table) -> list[int]:
    """Indices of the labelled rows that have a (non-blank) description."""
    rows = zip(table["label"].to_list(), table["description"].to_list(), strict=True)
    return [i for i, (label, d) in enumerate(rows) if label is not None and d and d.strip()]


def validation_rows(table, n: int) -> list[int]:
    """The ``n`` described training rows whose descriptions LoRA keeps out (``lora.describe_validation``):
    :func:`stratified_sample` of :func:`described_rows`, so a script can find them again."""
    if n <= 0:
        return []
    described = described_rows(table)
    if n >= len(described):
        raise ValueError(
            f"lora.describe_validation {n} keeps all {len(described)} described training takes out of "
            "description training: lower it"
        )
    return stratified_sample(table["corpus"].to_list(), table["label"].to_list(), described, n)


def description_examples(
    table,
    holdout: tuple[str, ...] = (),
    tasks: dict[str, str] | None = None,
    exclude: tuple[int, ...] | list[int] = (),
) -> list[Example]:
    """One example per take that has a description: the label in the prompt, the description as answer.
    Rows in ``exclude`` (the validation descriptions) are left out."""
    labels, descs, skip = table["label"].to_list(), table["description"].to_list(), set(exclude)
    tasks_of = label_tasks(table, tasks)
    return [
        Example(i, describe_question(labels[i], tasks_of[i]), " " + descs[i].strip())
        for i in described_rows(table)
        if i not in skip and labels[i] not in holdout
    ]


def _examples_of(task: str, table, lora: LoraConfig, tasks, prompt, label_sets) -> list[Example]:
    holdout = tuple(lora.holdout_labels)
    if task == "describe":
        return description_examples(table, holdout, tasks, validation_rows(table, lora.describe_validation))
    if task == "recognize":
        return recognition_examples(table, lora.answer_format, holdout, tasks, prompt, label_sets)
    raise ValueError(f"task must be one of {TASKS}, not {task!r}")


def task_examples(
    task: str,
    table,
    lora: LoraConfig,
    tasks: dict[str, str] | None = None,
    prompt: str = "eai",
    label_sets: dict[str, list[str]] | None = None,
) -> list[Example]:
    """Examples of ``task`` (describe | recognize) under the ``lora`` params; ``prompt`` and
    ``label_sets`` pick the recognition question (:func:`recognition_examples`).

    ``lora.<task>.rehearse`` (a fraction) mixes in that share of the other task's examples, so the second
    stage does not forget the first (recognition-only training makes the model answer every prompt with
    a bare label). They are spread evenly over the other task's examples (:func:`evenly`): the table is
    sorted by corpus, so its first rows would be one or two corpora only. ``lora.<task>.balance`` label
    first evens out the classes (:func:`balance_labels`); the rehearsal share is of the balanced set.
    """
    main = _examples_of(task, table, lora, tasks, prompt, label_sets)
    if getattr(lora, task).balance == "label":
        main = balance_labels(main, table)
    share = getattr(lora, task).rehearse
    if share <= 0:
        return main
    other = _examples_of(next(t for t in TASKS if t != task), table, lora, tasks, prompt, label_sets)
    return main + evenly(other, round(share * len(main)))


def balance_labels(examples: list[Example], table) -> list[Example]:
    """Each (corpus, label) class's examples repeated in turn until it has as many as the largest class:
    every example is kept, and each class is drawn about equally often (``lora.<task>.balance``)."""
    corpora, labels = table["corpus"].to_list(), table["label"].to_list()
    by: dict[tuple[str, str], list[Example]] = {}
    for ex in examples:
        by.setdefault((corpora[ex.row], labels[ex.row]), []).append(ex)
    most = max(map(len, by.values()), default=0)
    return [group[k % len(group)] for group in by.values() for k in range(most)]


def evenly(items: list, n: int) -> list:
    """``n`` of ``items`` at evenly spaced positions, in order (all of them when ``n`` >= their number)."""
    if n >= len(items):
        return list(items)
    return [items[j * len(items) // n] for j in range(n)]


def encode(model, ex: Example) -> tuple[list[int], list[int]]:
    """Token-id tail (prompt after the skeleton tokens + answer + EOS) and its labels.

    Prompt and answer are tokenised separately and concatenated, so the labelled positions are exactly
    the answer's tokens (tokenising the joined text can merge tokens across the boundary).
    """
    prompt = model.prompt_ids(ex.question)
    answer = model.answer_ids(ex.answer)
    return prompt + answer, [-100] * len(prompt) + answer


def step_order(
    n_examples: int,
    steps: int,
    batch_size: int,
    seed: int,
    lengths: list[int] | None = None,
    window: int = 50,
) -> list[int]:
    """Example indices for ``steps`` batches: seeded reshuffles of all examples, concatenated.

    With ``lengths`` (tokens per example), each run of ``window`` batches is sorted by length before it
    is cut into batches, and those batches are shuffled: a batch then holds rows of about one length
    (recognition rows with recognition rows), so little is padding and a long description row does not
    swamp the few answer tokens of the short rows in the batch's mean loss (``lora.group_by_length``).
    """
    if n_examples == 0:
        raise ValueError("no training examples (no labelled takes, or no descriptions for the describe task)")
    rng = random.Random(seed)
    order: list[int] = []
    while len(order) < steps * batch_size:
        perm = list(range(n_examples))
        rng.shuffle(perm)
        order += perm
    order = order[: steps * batch_size]
    if lengths is None:
        return order
    size = window * batch_size
    grouped: list[int] = []
    for start in range(0, len(order), size):
        chunk = sorted(order[start : start + size], key=lengths.__getitem__)
        batches = [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
        rng.shuffle(batches)
        grouped += [i for b in batches for i in b]
    return grouped


class Collator:
    """Turns a list of example indices into ``feats, fmask, tails, tail_labels`` for SkeletonLM.

    With ``inputs`` (every take's encoder inputs, :func:`skellm.llm.encoded.encoder_inputs`) ``feats``
    is the batch's encoder inputs and ``fmask`` None: the model's fine-tuned encoder makes the tokens."""

    def __init__(
        self,
        model,
        tensors: dict[str, Any],
        examples: list[Example],
        token_kind: str,
        inputs: dict[str, Any] | None = None,
    ):
        from skellm.llm.model import select_tokens

        self.examples = examples
        rows = [ex.row for ex in examples]
        if inputs is None:
            self.feats, self.fmask = select_tokens(tensors, token_kind, rows)
        else:
            self.feats, self.fmask = {k: v[rows] for k, v in inputs.items()}, None
        self.encoded = [encode(model, ex) for ex in examples]

    def __call__(self, idx: list[int]) -> dict[str, Any]:
        if isinstance(self.feats, dict):
            feats, fmask = {k: v[idx] for k, v in self.feats.items()}, None
        else:
            feats, fmask = self.feats[idx], self.fmask[idx]
        return {
            "feats": feats,
            "fmask": fmask,
            "tails": [self.encoded[i][0] for i in idx],
            "tail_labels": [self.encoded[i][1] for i in idx],
        }
