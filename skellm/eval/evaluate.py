"""The evaluate stage: recognition by free generation and by label scoring, baselines, descriptions.

Recognition modes (each reported per corpus as accuracy and Error rate, predictions restricted to the
corpus's label set):
  generate              greedy generation as ``eval.generate`` says: ``labels`` (default) decodes on the
                        token trie of the corpus's label answers, so the answer always spells one
                        label (constrained decoding; no Error possible); ``free`` is generate_free
  generate_free         free greedy text, label parsed with synonyms; none or several labels = Error
  score                 closed-set label scoring (never an Error), with per-label probabilities; each
                        label's log-likelihood standardised by its mean and spread over training takes
                        (``eval.score_norm: train``, :mod:`skellm.llm.label_norm`)
  score_raw             the same scoring on the raw log-likelihoods (``score`` under score_norm none)
  generate_zero_tokens  generate with the skeleton tokens replaced by zeros (what the tokens carry)
  score_zero_tokens     idem, label scoring
  score_calibrated      label scoring calibrated by the zeroed-token scores: argmax of
                        log P(label | skeleton) - log P(label | zeroed skeleton), which removes the
                        LLM's prior for each label's words (contextual calibration, Zhao et al. 2021)
  encoder_classifier    argmax of the encoder's own classifier logits over the corpus's labels
Descriptions: generated for test takes that have a reference description, prompted with the true
label (the paper's protocol), scored by ROUGE-1/2/L, BLEU, METEOR, and checked for consistency (the
explanation names no other label of the label set). Zero-shot: test takes whose label was held out
of LoRA training (``lora.holdout_labels``), recognised by label scoring over the corpus's labels; and
takes of unseen classes (``split.unseen``: never in encoder or LoRA training), ranked by label scoring
over the corpus's unseen classes only (``unseen``: top-1 and top-5, as the NTU zero-shot protocol).
The question asked follows each corpus's task (labels.json ``tasks``: emotion or action) and the
prompt the model was trained with (``llm.prompt``; sugar lists the labels being chosen from: the
corpus's, or its unseen classes in the zero-shot ranking).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from skellm.config import PATHS, Config, EvalConfig, LoraConfig, Paths
from skellm.cpus import set_torch_threads
from skellm.eval.labels import consistent, parse_label
from skellm.eval.stats import bootstrap_ci, mcnemar
from skellm.eval.unseen import knowledge_by_class, unseen_topk
from skellm.io import atomic_path, write_json

MODES = (
    "generate",
    "generate_free",
    "score",
    "score_raw",
    "generate_zero_tokens",
    "score_zero_tokens",
    "score_calibrated",
    "encoder_classifier",
)
ERROR = "Error"


PAIRED = (
    ("score", "encoder_classifier"),
    ("generate", "encoder_classifier"),
    ("score_calibrated", "encoder_classifier"),
    ("score_calibrated", "score"),
    ("score", "score_raw"),
    ("generate", "generate_free"),
)
# with the baseline stage's per-take predictions: each model against the hand-feature baseline
PAIRED_BASELINE = (("encoder_classifier", "baseline"), ("score", "baseline"))


def _summary(rows: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    n = len(rows)
    if n == 0:
        return {"n": 0, "accuracy": None, "error_rate": None, "ci95_low": None, "ci95_high": None}
    hits = [r[mode] == r["label"] for r in rows]
    errors = sum(r[mode] == ERROR for r in rows)
    lo, hi = bootstrap_ci(hits)
    return {"n": n, "accuracy": sum(hits) / n, "error_rate": errors / n, "ci95_low": lo, "ci95_high": hi}


def _groups(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    corpora = sorted({r["corpus"] for r in rows})
    return {"overall": rows, **{c: [r for r in rows if r["corpus"] == c] for c in corpora}}


def recognition_metrics(rows: list[dict[str, Any]], modes=MODES) -> dict[str, Any]:
    """{mode: {"overall": {n, accuracy, error_rate, ci95_low, ci95_high}, corpus: {...}}} from per-take
    prediction rows (the interval: :func:`skellm.eval.stats.bootstrap_ci` over the takes)."""
    return {mode: {g: _summary(rs, mode) for g, rs in _groups(rows).items()} for mode in modes}


def paired_tests(rows: list[dict[str, Any]], pairs=PAIRED) -> dict[str, Any]:
    """{"<a>_vs_<b>": {group: {a_only, b_only, p}}}: exact McNemar tests of two modes on the same takes."""
    return {
        f"{a}_vs_{b}": {
            g: mcnemar([r[a] == r["label"] for r in rs], [r[b] == r["label"] for r in rs])
            for g, rs in _groups(rows).items()
        }
        for a, b in pairs
    }


def _batches(idx: list[int], size: int):
    for i in range(0, len(idx), size):
        yield idx[i : i + size]


def evaluate(
    eval_cfg: EvalConfig,
    lora: LoraConfig,
    *,
    tokens_dir: str | Path,
    labels_json: str | Path,
    llm_dir: str | Path,
    trained_dir: str | Path,
    metrics_path: str | Path,
    plots_dir: str | Path,
    predictions_path: str | Path | None = None,
    baseline_path: str | Path | None = None,
    knowledge: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> dict[str, Any]:
    """Run every recognition mode, the description metrics and zero-shot scoring; write metrics/plots.

    ``baseline_path``: the baseline stage's per-take predictions; the same takes then get the baseline
    as a mode and paired tests against it. ``knowledge``: corpus -> class -> knowledge sentences, for
    the knowledge ranking of unseen classes (:mod:`skellm.eval.unseen`)."""
    import polars as pl
    import torch
    from tqdm.auto import tqdm

    from skellm.data.labelspace import LabelSpace
    from skellm.llm.encoded import model_tokens
    from skellm.llm.generate import greedy_and_scores
    from skellm.llm.label_norm import NORM_FILE, load_label_norm, standardize
    from skellm.llm.model import load_trained, select_tokens
    from skellm.llm.prompts import recognition_question

    threads = set_torch_threads(eval_cfg.threads)
    model = load_trained(llm_dir, trained_dir)
    model.eval()
    # the tokens the model was trained on (llm.tokens at LoRA time, saved with it; its own encoder's
    # when that was fine-tuned: the split's test.parquet beside labels.json)
    tensors, table = model_tokens(model, tokens_dir, "test", Path(labels_json).parent)
    spec = LabelSpace.load(labels_json)
    classes, label_sets = spec.classes, spec.corpora
    fmt = lora.answer_format
    bs, max_new = eval_cfg.batch_size, eval_cfg.max_new_tokens
    corpora, labels = table["corpus"].to_list(), table["label"].to_list()
    logits = tensors["logits"].float()
    holdout = set(lora.holdout_labels)
    norm = load_label_norm(trained_dir) if eval_cfg.score_norm == "train" else None
    if eval_cfg.score_norm == "train" and norm is None:
        raise FileNotFoundError(
            f"{Path(trained_dir) / NORM_FILE}: no label-score statistics (lora_recognize writes them); "
            "re-run that stage or set eval.score_norm: none"
        )
    decodings = tuple(dict.fromkeys(("free", eval_cfg.generate)))

    rows: list[dict[str, Any]] = []
    timing = dict.fromkeys(["prompt", "candidates", *(f"decode_{d}" for d in decodings)], 0.0)
    unseen_of = {c: set(v) for c, v in spec.unseen.items()}
    todo = [i for i, lab in enumerate(labels) if lab is not None and lab not in unseen_of.get(corpora[i], ())]
    bar = tqdm(total=len(todo), desc="evaluate recognition", dynamic_ncols=True)
    for corpus in sorted({corpora[i] for i in todo}):
        label_set = label_sets.get(corpus) or classes
        cls_idx = [classes.index(lab) for lab in label_set]
        task = spec.task(corpus)
        question = recognition_question(task, prompt=model.prompt, candidates=label_set)
        for idx in _batches([i for i in todo if corpora[i] == corpus], bs):
            feats, fmask = select_tokens(tensors, model.token_kind, idx)
            zeros = torch.zeros_like(feats)
            args = (question, label_set, fmt, max_new, task, decodings)
            texts, ll, secs = greedy_and_scores(model, feats, fmask, *args)
            z = standardize(ll, norm, corpus, question, label_set, required=True) if norm is not None else ll
            probs = torch.softmax(z, -1)
            for k, v in secs.items():
                timing[k] += v
            texts0, ll0, _ = greedy_and_scores(model, zeros, fmask, *args)
            free = [parse_label(t, label_set) or ERROR for t in texts["free"]]
            free0 = [parse_label(t, label_set) or ERROR for t in texts0["free"]]
            gen = free if eval_cfg.generate == "free" else texts["labels"]
            gen0 = free0 if eval_cfg.generate == "free" else texts0["labels"]
            probs0 = torch.softmax(ll0, -1)
            calibrated = (ll - ll0).argmax(-1)
            enc = logits[idx][:, cls_idx].argmax(-1)
            for j, i in enumerate(idx):
                rows.append(
                    {
                        "take_id": table["take_id"][i],
                        "corpus": corpus,
                        "label": labels[i],
                        "generated": texts["free"][j],
                        "generate": gen[j],
                        "generate_free": free[j],
                        "score": label_set[int(probs[j].argmax())],
                        "score_raw": label_set[int(ll[j].argmax())],
                        "p_true": float(probs[j, label_set.index(labels[i])])
                        if labels[i] in label_set
                        else None,
                        "generated_zero_tokens": texts0["free"][j],
                        "generate_zero_tokens": gen0[j],
                        "score_zero_tokens": label_set[int(probs0[j].argmax())],
                        "score_calibrated": label_set[int(calibrated[j])],
                        "encoder_classifier": label_set[int(enc[j])],
                        "held_out": labels[i] in holdout,
                    }
                )
            bar.update(len(idx))
    bar.close()

    modes, pairs = MODES, PAIRED
    if baseline_path is not None and Path(baseline_path).exists():
        base = pl.read_parquet(baseline_path)
        by_id = dict(zip(base["take_id"].to_list(), base["baseline"].to_list(), strict=True))
        for r in rows:
            r["baseline"] = by_id.get(r["take_id"]) or ERROR
        modes, pairs = (*MODES, "baseline"), PAIRED + PAIRED_BASELINE
    metrics: dict[str, Any] = {
        "recognition": recognition_metrics(rows, modes),
        "paired": paired_tests(rows, pairs),
    }
    n = max(1, len(rows))
    ms = {k: 1000 * v / n for k, v in timing.items()}
    # generate / score: what each costs alone (prompt + its own part); score_after_generate: what label
    # scoring adds once generation has run the shared prompt (as evaluate and predict do)
    metrics["latency_ms_per_take"] = {
        "generate": ms["prompt"] + ms[f"decode_{eval_cfg.generate}"],
        "generate_free": ms["prompt"] + ms["decode_free"],
        "score": ms["prompt"] + ms["candidates"],
        "score_after_generate": ms["candidates"],
        "prompt": ms["prompt"],
    }
    p_true = [r["p_true"] for r in rows if r["p_true"] is not None]
    metrics["threads"] = threads
    metrics["score_mean_p_true"] = sum(p_true) / len(p_true) if p_true else None
    held = [r for r in rows if r["held_out"]]
    metrics["zero_shot"] = {
        "labels": " ".join(sorted(holdout)),
        "score": _summary(held, "score"),
        "generate": _summary(held, "generate"),
    }
    metrics["unseen"] = unseen_topk(model, tensors, table, spec, fmt, bs, knowledge, norm=norm)
    metrics["description"], described = _describe(model, tensors, table, spec, eval_cfg)
    write_json(metrics_path, metrics)

    plots = Path(plots_dir)
    for mode in ("generate", "score"):
        frame = pl.DataFrame(
            {
                "corpus": [r["corpus"] for r in rows],
                "actual": [r["label"] for r in rows],
                "predicted": [r[mode] for r in rows],
            }
        )
        with atomic_path(plots / f"confusion_{mode}.csv") as tmp:
            frame.write_csv(tmp)
    if predictions_path is not None:
        with atomic_path(predictions_path) as tmp:
            pl.DataFrame(rows).write_parquet(tmp, compression="zstd")
        with atomic_path(Path(predictions_path).with_name("descriptions.parquet")) as tmp:
            cols = [
                "take_id",
                "corpus",
                "label",
                "reference",
                "generated",
                "generated_zero_tokens",
                "reference_cues",
                "generated_cues",
            ]
            pl.DataFrame(described, schema=cols, orient="row").write_parquet(tmp)
    return metrics


def describe_decoding(eval_cfg: EvalConfig) -> tuple[int, int, float]:
    """:func:`skellm.llm.generate.greedy`'s settings for explanations: max new tokens, no-repeat n-gram
    size, repetition penalty."""
    return (
        eval_cfg.describe_max_new_tokens,
        eval_cfg.describe_no_repeat_ngram,
        eval_cfg.describe_repetition_penalty,
    )


def _cue_text(cues) -> str:
    from skellm.eval.faithfulness import cue_label

    return " ".join(map(cue_label, sorted(cues)))


def explanations(
    model,
    tensors,
    table,
    idx: list[int],
    spec,
    decoding: tuple[int, int, float],
    batch_size: int,
    control: bool = True,
) -> tuple[list[str], list[str]]:
    """Explanations of ``table`` rows ``idx`` with their true label in the prompt (the paper's
    description prompt), decoded with ``decoding`` (:func:`describe_decoding`); and, with ``control``,
    the same prompts with the skeleton tokens zeroed (else an empty list)."""
    import torch
    from tqdm.auto import tqdm

    from skellm.llm.generate import greedy
    from skellm.llm.model import select_tokens
    from skellm.llm.prompts import describe_question

    labels, corpora = table["label"].to_list(), table["corpus"].to_list()
    preds: list[str] = []
    zero_preds: list[str] = []
    for chunk in tqdm(list(_batches(idx, batch_size)), desc="explanations", dynamic_ncols=True):
        feats, fmask = select_tokens(tensors, model.token_kind, chunk)
        qs = [describe_question(labels[i], spec.task(corpora[i])) for i in chunk]
        preds += greedy(model, feats, fmask, qs, *decoding)
        if control:
            zero_preds += greedy(model, torch.zeros_like(feats), fmask, qs, *decoding)
    return preds, zero_preds


def faithfulness_by_corpus(texts: list[str], truth: list[str], corpora: list[str]) -> dict[str, Any]:
    """:func:`skellm.eval.faithfulness.faithfulness` overall and per corpus (``corpora``: each text's)."""
    from skellm.eval.faithfulness import faithfulness

    groups: dict[str, list[int]] = {"overall": list(range(len(texts)))}
    for k, c in enumerate(corpora):
        groups.setdefault(c, []).append(k)
    return {g: faithfulness([texts[k] for k in ks], [truth[k] for k in ks]) for g, ks in groups.items()}


def _describe(model, tensors, table, spec, eval_cfg: EvalConfig) -> tuple[dict[str, Any], list]:
    """Description metrics (text overlap, cue faithfulness per corpus, the same on zeroed skeleton
    tokens), explanation/label consistency, and the generated texts (as rows)."""
    from skellm.eval.faithfulness import stated_cues
    from skellm.eval.text_metrics import description_scores
    from skellm.llm.data import described_rows, stratified_sample

    classes, label_sets = spec.classes, spec.corpora
    refs = table["description"].to_list()
    labels, corpora = table["label"].to_list(), table["corpus"].to_list()
    idx = stratified_sample(corpora, labels, described_rows(table), eval_cfg.max_describe)
    decoding = describe_decoding(eval_cfg)
    preds, zero_preds = explanations(model, tensors, table, idx, spec, decoding, eval_cfg.batch_size)
    truth = [refs[i].strip() for i in idx]
    scores = description_scores(preds, truth)
    ok = [
        consistent(p, labels[i], label_sets.get(corpora[i]) or classes)
        for p, i in zip(preds, idx, strict=True)
    ]
    scores["consistency"] = sum(ok) / len(ok) if ok else None
    where = [corpora[i] for i in idx]
    scores["faithfulness"] = faithfulness_by_corpus(preds, truth, where)
    scores["faithfulness_zero_tokens"] = faithfulness_by_corpus(zero_preds, truth, where)
    ids = table["take_id"].to_list()
    described = [
        (ids[i], corpora[i], labels[i], ref, p, z, _cue_text(stated_cues(ref)), _cue_text(stated_cues(p)))
        for p, z, ref, i in zip(preds, zero_preds, truth, idx, strict=True)
    ]
    return scores, described


def unseen_knowledge(cfg: Config) -> dict[str, dict[str, list[str]]]:
    """corpus -> class -> knowledge sentences (the parts ``eval.unseen_knowledge`` keeps), for corpora
    with unseen classes and a knowledge file."""
    from skellm.text.features import read_knowledge, select_knowledge

    out = {}
    for corpus in cfg.split.unseen:
        cc = cfg.data.corpora.get(corpus)
        if cc is not None and cc.knowledge and cfg.eval.unseen_knowledge != "none":
            rows = select_knowledge(read_knowledge(cc.knowledge), cfg.eval.unseen_knowledge)
            out[corpus] = knowledge_by_class(rows)
    return out


def run_stage(cfg: Config, paths: Paths = PATHS) -> dict[str, Any]:
    """evaluate stage: the trained LoRA model on the test tokens -> metrics/llm.json, plots, predictions."""
    metrics = evaluate(
        cfg.eval,
        cfg.lora,
        tokens_dir=paths.tokens,
        labels_json=paths.labels_json,
        llm_dir=cfg.llm.out,
        trained_dir=paths.models / "lora_recognize",
        metrics_path=paths.metrics_json("llm"),
        plots_dir=paths.plots,
        predictions_path=paths.predictions,
        baseline_path=paths.baseline_predictions,
        knowledge=unseen_knowledge(cfg),
    )
    for mode, res in metrics["recognition"].items():
        o = res["overall"]
        print(
            f"{mode:22s} accuracy {o['accuracy']:.3f} [{o['ci95_low']:.3f}, {o['ci95_high']:.3f}]"
            f"  error {o['error_rate']:.3f}"
        )
    for name, test in metrics["paired"].items():
        print(f"{name}: McNemar p {test['overall']['p']:.3f} ({test['overall']})")
    return metrics
