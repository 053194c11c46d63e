"""Zero-shot ranking of unseen classes: label scoring and the class-knowledge ranking."""

# ruff: noqa: F811  (model and tokens_dir are test_llm fixtures, named as parameters)

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from test_llm import _batch, model, tokens_dir  # noqa: E402, F401  (fixtures)

from skellm.data.labelspace import LabelSpace  # noqa: E402
from skellm.eval.unseen import knowledge_by_class, knowledge_scores, topk_summary, true_ranks, unseen_topk  # noqa: E402
from skellm.llm import data as lldata  # noqa: E402
from skellm.llm.prompts import describe_question  # noqa: E402

KNOWLEDGE = {
    "joy": ["The arms swing wide and high.", "The head is raised."],
    "anger": ["The fists are clenched.", "The body leans forward and the steps are heavy and fast."],
    "neutral": ["The arms hang still."],
}


def _naive_pmi(model, feats, fmask, label, sentences):
    """The knowledge score by whole sequences: one row per (take, sentence), skeleton minus zeros."""
    tail = model.prompt_ids(describe_question(label, "emotion"))
    cols = []
    for s in sentences:
        ids = model.answer_ids(" " + s, eos=False)
        tails, labs = [tail + ids] * feats.shape[0], [[-100] * len(tail) + ids] * feats.shape[0]
        with torch.no_grad():
            ll = model.sequence_logprob(feats, fmask, tails, labs)
            ll0 = model.sequence_logprob(torch.zeros_like(feats), fmask, tails, labs)
        cols.append(ll - ll0)
    return torch.stack(cols, 1).mean(1)


@pytest.mark.parametrize("rows", [64, 3])  # 3: fewer rows than one take's sentences, several passes
def test_knowledge_scores_equal_whole_sequence_scoring(model, rows):
    feats, fmask = _batch(4)
    cands = ["joy", "anger", "neutral", "surprise"]  # surprise has no knowledge sentences
    got = knowledge_scores(model, feats, fmask, cands, KNOWLEDGE, "emotion", rows=rows)
    assert got.shape == (4, 4) and torch.isinf(got[:, 3]).all() and (got[:, 3] < 0).all()
    for j, c in enumerate(cands[:3]):
        assert torch.allclose(got[:, j], _naive_pmi(model, feats, fmask, c, KNOWLEDGE[c]), atol=1e-4)
    # the zeroed skeleton explains nothing: its own scores are zero
    zero = knowledge_scores(model, torch.zeros_like(feats), fmask, cands[:3], KNOWLEDGE, "emotion")
    assert torch.allclose(zero, torch.zeros_like(zero), atol=1e-4)  # batch shapes differ: last bits


def test_true_ranks_and_topk_by_hand():
    scores = torch.tensor([[0.1, 0.9, 0.5], [0.3, 0.3, 0.0], [0.0, 0.2, 0.4]])
    assert true_ranks(scores, [1, 1, 0]) == [0, 1, 2]  # a tie goes to the earlier column
    s = topk_summary([0, 1, 2, 0], classes=3, ks=(1, 2))
    assert (s["n"], s["top1"], s["top2"], s["chance_top1"], s["chance_top2"]) == (4, 0.5, 0.75, 1 / 3, 2 / 3)
    assert s["top1_ci95_low"] <= 0.5 <= s["top1_ci95_high"]


def test_unseen_topk_ranks_both_ways_over_the_unseen_classes_only(model, tokens_dir, tmp_path):
    tensors, table = lldata.load_tokens(tokens_dir, "test")
    spec_json = json.loads((tokens_dir / "labels.json").read_text())
    spec_json["unseen"] = {"A": ["joy", "anger"]}
    (tmp_path / "labels.json").write_text(json.dumps(spec_json))
    spec = LabelSpace.load(tmp_path / "labels.json")
    n = sum(
        c == "A" and lab in ("joy", "anger") for c, lab in zip(table["corpus"], table["label"], strict=True)
    )
    got = unseen_topk(model, tensors, table, spec, "A", 2, {"A": KNOWLEDGE})
    assert set(got) == {"A"} and got["A"]["n"] == got["A"]["knowledge"]["n"] == n > 0
    assert got["A"]["classes"] == 2 and got["A"]["chance_top1"] == 0.5 and got["A"]["top5"] == 1.0
    assert 0 <= got["A"]["knowledge"]["top1"] <= 1
    # without knowledge sentences the corpus gets the label ranking only, the same numbers
    plain = unseen_topk(model, tensors, table, spec, "A", 4)
    assert "knowledge" not in plain["A"] and plain["A"]["top1"] == got["A"]["top1"]
    # with label-score statistics the label ranking is standardised and the raw one kept as "raw"
    from skellm.llm.label_norm import label_norm, scored_sets, standardize
    from skellm.llm.model import select_tokens
    from skellm.llm.scoring import score_labels

    train_tensors, train_table = lldata.load_tokens(tokens_dir, "train")
    norm = label_norm(model.eval(), train_tensors, train_table, spec, "A")
    (question, labels), *_ = scored_sets(spec, "A", model.prompt).items()
    assert labels[-2:] == ["joy", "anger"] and set(norm["stats"]["A"][question]) == set(labels)
    normed = unseen_topk(model, tensors, table, spec, "A", 4, norm=norm)
    assert normed["A"]["raw"]["top1"] == plain["A"]["top1"]
    idx = [
        i
        for i, (c, lab) in enumerate(zip(table["corpus"], table["label"], strict=True))
        if c == "A" and lab in ("joy", "anger")
    ]
    ll = score_labels(model, *select_tokens(tensors, model.token_kind, idx), question, ["joy", "anger"])
    z = standardize(ll, norm, "A", question, ["joy", "anger"])
    hits = sum(["joy", "anger"][int(k)] == table["label"][i] for i, k in zip(idx, z.argmax(1), strict=True))
    assert normed["A"]["top1"] == pytest.approx(hits / n)


def test_knowledge_by_class_keeps_file_order():
    rows = [("joy", "arm", "a"), ("anger", "hand", "b"), ("joy", "visual", "c")]
    assert knowledge_by_class(rows) == {"joy": ["a", "c"], "anger": ["b"]}


def test_unseen_knowledge_reads_the_parts_eval_asks_for(tmp_path):
    from skellm.config import ConfigError, config_from_dict
    from skellm.eval.evaluate import unseen_knowledge

    csv = tmp_path / "knowledge.csv"
    csv.write_text(
        "label,part,text\r\nhopping,leg,One leg is lifted.\r\nhopping,visual,A person hops.\r\n"
        "hugging,visual,Two people hug.\r\nclapping,visual,Hands clap.\r\n",
        encoding="utf-8",
    )
    corpora = {"D": {"root": str(tmp_path), "label_field": "action", "knowledge": str(csv),
                     "label_set": ["hopping", "hugging", "clapping"]}}  # fmt: skip

    def cfg(use):
        return config_from_dict(
            {
                "data": {"corpora": corpora},
                "split": {"unseen": {"D": ["hopping", "hugging"]}},
                "eval": {"unseen_knowledge": use},
            }  # fmt: skip
        )

    # every class's sentences are read (ranking looks up the unseen ones only)
    assert unseen_knowledge(cfg("visual")) == {
        "D": {"hopping": ["A person hops."], "hugging": ["Two people hug."], "clapping": ["Hands clap."]}
    }
    assert unseen_knowledge(cfg("both"))["D"]["hopping"] == ["One leg is lifted.", "A person hops."]
    assert unseen_knowledge(cfg("motion"))["D"] == {"hopping": ["One leg is lifted."]}
    assert unseen_knowledge(cfg("none")) == {}
    with pytest.raises(ConfigError, match="eval.unseen_knowledge"):
        cfg("all")
