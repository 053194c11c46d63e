"""Skeleton-aware LM on a tiny LLaMA built from a config, with the real SmolLM2 tokenizer."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

torch = pytest.importorskip("torch")

from tinymodels import dying_make_step  # noqa: E402

from skellm.config import TOKEN_KINDS, EvalConfig, LLMConfig, config_from_dict  # noqa: E402
from skellm.eval.labels import parse_label  # noqa: E402
from skellm.llm import data as lldata  # noqa: E402
from skellm.llm.generate import greedy_ids  # noqa: E402
from skellm.llm.model import (  # noqa: E402
    IGNORE,
    TOKEN_PARTS,
    load_base,
    load_trained,
    new_model,
    save_trained,
    select_tokens,
)
from skellm.llm.prompts import format_answer, split_template  # noqa: E402
from skellm.llm.scoring import score_labels, score_labels_naive  # noqa: E402

C = 16
LORA_PARAMS = {
    "rank": 8,
    "alpha": 16,
    "dropout": 0.0,
    "target_modules": ["q_proj", "v_proj", "o_proj", "down_proj"],
    "answer_format": "A",
    "checkpoint_every": 3,
    "describe_validation": 0,
    "threads": 1,
    "device": "cpu",
    "describe": {"steps": 4, "batch_size": 4, "lr": 3e-3, "projector_lr": 3e-3, "warmup_steps": 0},
    "recognize": {
        "steps": 6,
        "batch_size": 4,
        "lr": 2e-2,
        "projector_lr": 2e-2,
        "warmup_steps": 0,
        "rehearse": 0.0,
    },
}
LORA = config_from_dict({"lora": LORA_PARAMS}).lora
LABELS = {"A": ["neutral", "joy", "anger"], "B": ["happiness", "sadness"]}


def _tokens(n: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    sm = torch.ones(n, 6, dtype=torch.uint8)
    sm[::2, 4:] = 0  # every other take has 4 of 6 joints (a smaller skeleton)
    tm = torch.ones(n, 4, dtype=torch.uint8)
    tm[1::3, 3:] = 0
    return {
        "semantic": torch.randn(n, C, generator=g),
        "spatial": torch.randn(n, 6, C, generator=g),
        "spatial_mask": sm,
        "temporal": torch.randn(n, 4, C, generator=g),
        "temporal_mask": tm,
        "logits": torch.randn(n, 5, generator=g),
    }


@pytest.fixture(scope="session")
def tokens_dir(tmp_path_factory):
    """data/tokens-like files (train/test safetensors + parquet) and labels.json, random tokens."""
    import polars as pl
    from safetensors.torch import save_file

    out = tmp_path_factory.mktemp("tokens")
    for split, n, seed in (("train", 20, 1), ("test", 10, 2)):
        corpus = ["A" if i % 2 else "B" for i in range(n)]
        label = [LABELS[c][i % len(LABELS[c])] for i, c in enumerate(corpus)]
        desc = [
            f"The person moves {'fast' if i % 3 else 'slowly'} with open arms." if i % 2 else None
            for i in range(n)
        ]
        save_file(_tokens(n, seed), out / f"{split}.safetensors")
        pl.DataFrame(
            {
                "take_id": [f"{c}/take{i:03d}" for i, c in enumerate(corpus)],
                "corpus": corpus,
                "label": label,
                "intensity": [0.5] * n,
                "description": desc,
                "split": [split] * n,
            }
        ).write_parquet(out / f"{split}.parquet")
    classes = sorted({x for v in LABELS.values() for x in v})
    (out / "labels.json").write_text(
        json.dumps({"label_field": "emotion", "classes": classes, "corpora": LABELS})
    )
    return out


@pytest.fixture()
def model(tiny_llm_dir):
    torch.manual_seed(0)
    llm, tok = load_base(tiny_llm_dir)
    m = new_model(llm, tok, C, LLMConfig(projector="linear", tokens="both"), LORA)
    # peft initialises LoRA B to zero; perturb it so adapters change outputs in these tests
    with torch.no_grad():
        for n, p in m.llm.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.05)
    return m.eval()


def _batch(n=3, kind="both"):
    return select_tokens(_tokens(n), kind)


def test_select_tokens_kinds_and_masks():
    t = _tokens(4)
    f, m = select_tokens(t, "semantic")
    assert f.shape == (4, 1, C) and m.all()
    f, m = select_tokens(t, "spatiotemporal")
    assert f.shape == (4, 10, C)
    assert torch.equal(m[:, :6], t["spatial_mask"].bool()) and torch.equal(
        m[:, 6:], t["temporal_mask"].bool()
    )
    f, m = select_tokens(t, "both")
    assert f.shape == (4, 11, C) and torch.equal(f[:, 0], t["semantic"])
    assert torch.equal(f[:, 1:7], t["spatial"]) and torch.equal(f[:, 7:], t["temporal"])
    for kind, k in (("spatial", 6), ("temporal", 4)):
        f, m = select_tokens(t, kind)
        assert torch.equal(f, t[kind]) and torch.equal(m, t[f"{kind}_mask"].bool()) and f.shape[1] == k
    with pytest.raises(ValueError, match="llm.tokens"):
        select_tokens(t, "global")
    assert set(TOKEN_PARTS) | {"vqvae"} == set(TOKEN_KINDS)  # config's list, every kind but vqvae built here


def test_splice_places_projected_tokens_and_masks(model):
    feats, fmask = _batch()
    tails = [model.prompt_ids("Short?"), model.prompt_ids("A much longer question about this person?")]
    tails.append(tails[0])
    inp = model.build(feats, fmask, tails)
    emb, attn = inp["inputs_embeds"], inp["attention_mask"]
    proj = model.projector(feats)
    embed = model.llm.get_input_embeddings()
    p, k = len(model.prefix_ids), feats.shape[1]
    for i, tail in enumerate(tails):
        start = emb.shape[1] - (p + k + len(tail))
        assert attn[i, :start].sum() == 0  # left padding
        assert torch.allclose(emb[i, start : start + p], embed(torch.tensor(model.prefix_ids)))
        s = start + p
        assert torch.allclose(emb[i, s : s + k], proj[i])
        assert torch.equal(attn[i, s : s + k], fmask[i].long())
        assert torch.allclose(emb[i, s + k :], embed(torch.tensor(tail)))
        # position ids count attended tokens only
        assert inp["position_ids"][i, -1] == attn[i].sum() - 1
    # the prompt text around the tokens is the paper's template
    before, after = split_template("Short?")
    assert before == "Human: <Skeleton>" and after == " </Skeleton> Short? #Assistant:"


def test_masked_tokens_and_batch_padding_do_not_change_outputs(model):
    feats, fmask = _batch()
    tails = [model.prompt_ids("Q?"), model.prompt_ids("A longer question here?"), model.prompt_ids("Q?")]
    with torch.no_grad():
        batched = model.llm(**model.build(feats, fmask, tails)).logits[:, -1]
        noisy = feats.clone()
        noisy[~fmask] = 100.0  # content under a 0 mask must be invisible
        masked = model.llm(**model.build(noisy, fmask, tails)).logits[:, -1]
        alone = [
            model.llm(**model.build(feats[i : i + 1], fmask[i : i + 1], [tails[i]])).logits[0, -1]
            for i in range(3)
        ]
    assert torch.allclose(batched, masked, atol=1e-5)
    for i in range(3):
        assert torch.allclose(batched[i], alone[i], atol=1e-4)


@pytest.mark.parametrize("fmt", ["A", "B", "C"])
def test_label_positions_are_exactly_the_answer_tokens(model, tokens_dir, fmt):
    tensors, table = lldata.load_tokens(tokens_dir, "train")
    examples = lldata.recognition_examples(table, fmt) + lldata.description_examples(table)
    assert {ex.question for ex in examples} > {"Can you tell me the emotion of this person?"}
    feats, fmask = select_tokens(tensors, "both", [ex.row for ex in examples])
    enc = [lldata.encode(model, ex) for ex in examples]
    inp = model.build(feats, fmask, [t for t, _ in enc], [lab for _, lab in enc])
    embed = model.llm.get_input_embeddings()
    tok = model.tokenizer
    for i, ex in enumerate(examples):
        lab = inp["labels"][i]
        pos = torch.nonzero(lab != IGNORE).flatten()
        target = lab[pos]
        # the labelled ids are the input ids at the same positions (HF shifts them internally) ...
        assert torch.allclose(inp["inputs_embeds"][i, pos], embed(target))
        # ... they are the answer's tokens plus EOS, contiguous at the end of the sequence ...
        assert target[-1] == model.eos_id and pos[-1] == lab.shape[0] - 1
        assert torch.equal(pos, torch.arange(pos[0], pos[0] + len(pos)))
        assert tok.decode(target[:-1]) == ex.answer
        # ... and what precedes them decodes to the prompt ending in "#Assistant:"
        prev = inp["inputs_embeds"][i, pos[0] - 1]
        assert torch.allclose(prev, embed(torch.tensor(tok(":", add_special_tokens=False).input_ids[-1])))
    assert format_answer("anger", "B") == " This is an anger person."


def test_scoring_with_shared_prefix_equals_naive_scoring(model):
    feats, fmask = _batch(4)
    labels = ["neutral", "joy", "anger", "surprise", "sadness"]  # surprise: never trained on
    for fmt in ("A", "B"):
        fast = score_labels(model, feats, fmask, "How does this person feel?", labels, fmt)
        naive = score_labels_naive(model, feats, fmask, "How does this person feel?", labels, fmt)
        assert fast.shape == (4, 5)
        assert torch.allclose(fast, naive, atol=1e-4)
        assert (fast < 0).all()


def test_candidate_tree_by_hand():
    from skellm.llm.scoring import candidate_tree

    tokens, depth, ancestor, pairs = candidate_tree([[5, 6, 9], [5, 7, 9], [8, 9], [4]])
    # nodes: (5,) (5,6) (5,7) (8,); the one-token candidate [4] needs none
    assert tokens.tolist() == [5, 6, 7, 8] and depth.tolist() == [0, 1, 1, 0]
    assert ancestor.int().tolist() == [[1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]]
    assert pairs == [[(0, 6), (1, 9)], [(0, 7), (2, 9)], [(3, 9)], []]


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_tree_scoring_of_shared_and_nested_prefixes_equals_naive(model, attn):
    """Labels that share first words, nest ("touch" in "touch head") and differ in length: the trie
    pass (bool tree mask under sdpa, additive float mask under eager) gives the naive scores."""
    model.llm.config._attn_implementation = attn
    feats, fmask = _batch(3)
    labels = ["touch head", "touch chest", "touch", "sit", "sitting down", "pointing to something"]
    for fmt in ("A", "B", "C"):
        fast = score_labels(model, feats, fmask, "What is this person doing?", labels, fmt)
        naive = score_labels_naive(model, feats, fmask, "What is this person doing?", labels, fmt)
        assert torch.allclose(fast, naive, atol=1e-4), fmt
    model.llm.config._attn_implementation = "sdpa"


def test_one_shared_prompt_pass_gives_the_same_texts_and_scores(model):
    """evaluate runs the prompt once for generation and scoring: nothing may change but the time."""
    from skellm.llm.generate import greedy, greedy_and_scores

    feats, fmask = _batch(3)
    labels = ["neutral", "joy", "anger"]
    q = "How does this person feel?"
    texts, scores, secs = greedy_and_scores(
        model, feats, fmask, q, labels, "A", 4, decodings=("free", "labels")
    )
    assert texts["free"] == greedy(model, feats, fmask, [q] * 3, 4)
    assert texts["labels"] == [labels[i] for i in _trie_greedy(model, feats, fmask, q, labels, "A")]
    assert torch.equal(scores, score_labels(model, feats, fmask, q, labels, "A"))
    assert set(secs) == {"prompt", "decode_free", "decode_labels", "candidates"}
    assert all(v >= 0 for v in secs.values())
    with pytest.raises(ValueError, match="decodings"):
        greedy_and_scores(model, feats, fmask, q, labels, "A", 4, decodings=("beam",))


def _trie_greedy(model, feats, fmask, question, labels, fmt, task="emotion") -> list[int]:
    """By hand, one full forward pass per step: the label index that greedy decoding restricted to
    tokens continuing some label's answer (+ EOS) ends on, per row."""
    cands = [model.answer_ids(format_answer(lab, fmt, task)) for lab in labels]
    out = []
    for i in range(feats.shape[0]):
        prefix: list[int] = []
        while prefix not in cands:
            allowed = sorted({c[len(prefix)] for c in cands if c[: len(prefix)] == prefix})
            with torch.no_grad():
                inp = model.build(feats[i : i + 1], fmask[i : i + 1], [model.prompt_ids(question) + prefix])
                logits = model.llm(**inp).logits[0, -1]
            prefix.append(allowed[int(logits[allowed].argmax())])
        out.append(cands.index(prefix))
    return out


@pytest.mark.parametrize("fmt", ["A", "C"])
def test_label_constrained_generation_spells_a_label_by_hand(model, fmt):
    """Labels sharing first tokens, nesting and of several words, in the short and the long answer
    format (longer than max_new_tokens: the trie's depth decides how far decoding goes)."""
    from skellm.llm.generate import TrieConstraint, greedy_and_scores

    feats, fmask = _batch(4)
    labels = ["touch head", "touch chest", "touch", "sit", "sitting down", "pointing to something"]
    q = "What is this person doing?"
    texts, _, _ = greedy_and_scores(model, feats, fmask, q, labels, fmt, 2, "action", ("labels",))
    assert texts == {
        "labels": [labels[i] for i in _trie_greedy(model, feats, fmask, q, labels, fmt, "action")]
    }
    trie = TrieConstraint([model.answer_ids(format_answer(lab, fmt, "action")) for lab in labels])
    assert trie.pick(model.answer_ids(format_answer("sit", fmt, "action"), eos=False), model.eos_id) == 3
    assert trie.pick([1, 2, 3], model.eos_id) is None
    # a finished row (its prefix left the trie) is not restricted
    logits = torch.randn(2, model.llm.config.vocab_size)
    first = trie(torch.zeros((2, 0), dtype=torch.long), logits)
    assert set(torch.nonzero(first[0].isfinite()).flatten().tolist()) == {c[0] for c in trie.cands}
    done = torch.tensor([[*trie.cands[0], 5]])
    assert torch.equal(trie(done, logits[:1]), logits[:1])


def test_greedy_with_cache_equals_full_recompute(model):
    feats, fmask = _batch(2)
    tails = [model.prompt_ids("Q?"), model.prompt_ids("Another question?")]
    inputs = model.build(feats, fmask, tails)
    got = greedy_ids(model, inputs, 5)
    for i in range(2):
        ids = []
        for _ in range(5):
            with torch.no_grad():
                inp = model.build(feats[i : i + 1], fmask[i : i + 1], [tails[i] + ids])
                nxt = int(model.llm(**inp).logits[0, -1].argmax())
            if nxt == model.eos_id:
                break
            ids.append(nxt)
        assert got[i] == ids


def test_adapter_and_projector_save_reload_identical(model, tiny_llm_dir, tmp_path):
    feats, fmask = _batch(2)
    tails = [model.prompt_ids("Q?")] * 2
    with torch.no_grad():
        before = model.llm(**model.build(feats, fmask, tails)).logits
    save_trained(model, tmp_path / "stage")
    assert (tmp_path / "stage/adapter/adapter_model.safetensors").exists()
    assert (tmp_path / "stage/projector.safetensors").exists()
    again = load_trained(tiny_llm_dir, tmp_path / "stage").eval()
    assert again.token_kind == "both"
    with torch.no_grad():
        after = again.llm(**again.build(feats, fmask, tails)).logits
    assert torch.equal(before, after)
    # the saved state is the trainable part only, not the frozen base
    keys = set(model.state_dict())
    assert keys and all("lora_" in k or k.startswith("projector.") for k in keys)


def _train(task, tokens_dir, tiny_llm_dir, tmp_path, init=None, lora=LORA):
    from skellm.llm.train import train_stage

    return train_stage(
        task,
        tokens_dir=tokens_dir,
        llm_dir=tiny_llm_dir,
        out_dir=tmp_path / task,
        llm_cfg=LLMConfig(projector="linear", tokens="semantic"),
        lora=lora,
        seed=0,
        init_dir=init,
        ckpt_dir=tmp_path / f"{task}.ckpt",
        curves_path=tmp_path / f"{task}.csv",
    )


def _answer_loss(tokens_dir, llm_dir, trained_dir, task="recognize"):
    tensors, table = lldata.load_tokens(tokens_dir, "train")
    if trained_dir is None:
        llm, tok = load_base(llm_dir)
        torch.manual_seed(0)
        m = new_model(llm, tok, C, LLMConfig(projector="linear", tokens="semantic"), LORA)
    else:
        m = load_trained(llm_dir, trained_dir)
    m.eval()
    ex = lldata.task_examples(task, table, LORA)
    col = lldata.Collator(m, tensors, ex, m.token_kind)
    with torch.no_grad():
        return float(m(**col(list(range(len(ex))))).loss)


def test_describe_then_recognize_lowers_loss_and_resumes(tokens_dir, tiny_llm_dir, tmp_path, monkeypatch):
    from skellm.llm import train

    d = _train("describe", tokens_dir, tiny_llm_dir, tmp_path)
    assert d["steps"] == 4 and d["examples"] == 10
    assert not (tmp_path / "describe.ckpt").exists()  # a finished run leaves no checkpoint to resume
    before = _answer_loss(tokens_dir, tiny_llm_dir, tmp_path / "describe")
    r = _train("recognize", tokens_dir, tiny_llm_dir, tmp_path, init=tmp_path / "describe")
    after = _answer_loss(tokens_dir, tiny_llm_dir, tmp_path / "recognize")
    assert after < before - 1.0
    curve = (tmp_path / "recognize.csv").read_text().splitlines()
    assert curve[0].startswith("step,") and len(curve) == 1 + r["steps"]

    # kill the recognize stage after step 4 (checkpoint at 3), then resume: same weights as uninterrupted
    real = train.make_step
    other = tmp_path / "again"
    other.mkdir()
    monkeypatch.setattr(train, "make_step", dying_make_step(real, 5))
    with pytest.raises(KeyboardInterrupt):
        _train("recognize", tokens_dir, tiny_llm_dir, other, init=tmp_path / "describe")
    assert (other / "recognize.ckpt" / "last").read_text().strip() == "step-00000003"
    monkeypatch.setattr(train, "make_step", real)
    _train("recognize", tokens_dir, tiny_llm_dir, other, init=tmp_path / "describe")
    from safetensors.torch import load_file

    for f in ("adapter/adapter_model.safetensors", "projector.safetensors"):
        a, b = load_file(tmp_path / "recognize" / f), load_file(other / "recognize" / f)
        assert a.keys() == b.keys()
        assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_prepare_rejects_missing_and_non_causal_folders(tmp_path, tiny_llm_dir):
    from transformers import BertConfig, ViTConfig

    from skellm.llm.prepare import LLMSourceError, prepare_llm, resolve_llm_dir

    with pytest.raises(LLMSourceError, match="not an existing folder") as e:
        prepare_llm(tmp_path / "out", str(tmp_path / "nope"))
    assert "\n" not in str(e.value)
    small = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32}
    BertConfig(architectures=["BertForMaskedLM"], **small).save_pretrained(tmp_path / "bert")
    ViTConfig(**small).save_pretrained(tmp_path / "vit")
    for folder in ("bert", "vit"):
        with pytest.raises(LLMSourceError, match="is not a causal language model"):
            prepare_llm(tmp_path / "out", str(tmp_path / folder))
    (tmp_path / "empty").mkdir()
    with pytest.raises(LLMSourceError, match="no config.json"):
        prepare_llm(tmp_path / "out", str(tmp_path / "empty"))
    out = prepare_llm(tmp_path / "out", str(tiny_llm_dir))
    assert resolve_llm_dir(out) == tiny_llm_dir.resolve()
    assert list(out.iterdir()) == [out / "source.json"]  # points at the folder, copies nothing


def run_evaluate(params, lora, tokens_dir, llm_dir, trained_dir, out):
    """The evaluate stage's function on ``tokens_dir``, writing llm.json, plots/ and pred.parquet
    under ``out``; its metrics."""
    from skellm.eval.evaluate import evaluate

    return evaluate(
        params,
        lora,
        tokens_dir=tokens_dir,
        labels_json=tokens_dir / "labels.json",
        llm_dir=llm_dir,
        trained_dir=trained_dir,
        metrics_path=out / "llm.json",
        plots_dir=out / "plots",
        predictions_path=out / "pred.parquet",
    )


def test_evaluate_writes_every_mode_and_baseline(model, tiny_llm_dir, tokens_dir, tmp_path):
    import polars as pl

    from skellm.data.labelspace import LabelSpace
    from skellm.eval.evaluate import MODES
    from skellm.llm.label_norm import NORM_FILE, label_norm, write_label_norm

    save_trained(model, tmp_path / "trained")
    params = EvalConfig(batch_size=4, max_new_tokens=3, describe_max_new_tokens=6, threads=1)
    lora = replace(LORA, holdout_labels=("sadness",))
    with pytest.raises(FileNotFoundError, match=NORM_FILE):  # eval.score_norm train needs the statistics
        run_evaluate(params, lora, tokens_dir, tiny_llm_dir, tmp_path / "trained", tmp_path)
    train_tensors, train_table = lldata.load_tokens(tokens_dir, "train")
    spec = LabelSpace.load(tokens_dir / "labels.json")
    write_label_norm(tmp_path / "trained", label_norm(model.eval(), train_tensors, train_table, spec, "A"))
    metrics = run_evaluate(params, lora, tokens_dir, tiny_llm_dir, tmp_path / "trained", tmp_path)
    assert json.loads((tmp_path / "llm.json").read_text())["recognition"].keys() == set(MODES)
    rec = metrics["recognition"]
    assert rec["score"]["overall"]["error_rate"] == 0.0  # scoring never yields an Error
    assert rec["generate"]["overall"]["error_rate"] == 0.0  # nor label-constrained generation
    assert {"A", "B", "overall"} == set(rec["generate"])
    # the encoder baseline is the argmax of its logits over the corpus's labels
    tensors, table = lldata.load_tokens(tokens_dir, "test")
    classes = sorted({x for v in LABELS.values() for x in v})
    hits = 0
    for i, (c, lab) in enumerate(zip(table["corpus"], table["label"], strict=True)):
        cols = [classes.index(x) for x in LABELS[c]]
        hits += LABELS[c][int(tensors["logits"][i, cols].argmax())] == lab
    assert rec["encoder_classifier"]["overall"]["accuracy"] == pytest.approx(hits / table.height)
    pred = pl.read_parquet(tmp_path / "pred.parquet")
    assert pred.height == table.height and pred["p_true"].is_between(0, 1).all()
    # by hand: score standardises each label by its mean and spread over the corpus's training takes,
    # score_raw is the raw argmax, score_calibrated the argmax of log P(label | skeleton) - log P(label |
    # zeroed skeleton)
    loaded = load_trained(tiny_llm_dir, tmp_path / "trained").eval()
    question = "Can you tell me the emotion of this person?"
    stats = {}
    for c, labs in LABELS.items():
        rows = [i for i, x in enumerate(train_table["corpus"]) if x == c]
        train_ll = score_labels(
            loaded, *select_tokens(train_tensors, loaded.token_kind, rows), question, labs
        )
        stats[c] = train_ll.mean(0), train_ll.std(0)
    row = {t: i for i, t in enumerate(table["take_id"])}
    for r in pred.iter_rows(named=True):
        feats, fmask = select_tokens(tensors, loaded.token_kind, [row[r["take_id"]]])
        labs = LABELS[r["corpus"]]
        ll = score_labels(loaded, feats, fmask, question, labs, "A")
        ll0 = score_labels(loaded, torch.zeros_like(feats), fmask, question, labs, "A")
        mean, std = stats[r["corpus"]]
        assert r["score"] == labs[int(((ll - mean) / std).argmax())]
        assert r["score_raw"] == labs[int(ll.argmax())]
        assert r["score_calibrated"] == labs[int((ll - ll0).argmax())]
        assert r["generate"] == labs[_trie_greedy(loaded, feats, fmask, question, labs, "A")[0]]
        zeros = torch.zeros_like(feats)
        assert r["generate_zero_tokens"] == labs[_trie_greedy(loaded, zeros, fmask, question, labs, "A")[0]]
        assert r["generate_free"] == (parse_label(r["generated"], labs) or "Error")
    assert (pred["score"] != pred["score_raw"]).any()  # the standardisation changes some answers here
    free = run_evaluate(
        replace(params, generate="free"), lora, tokens_dir, tiny_llm_dir, tmp_path / "trained", tmp_path / "f"
    )
    assert free["recognition"]["generate"] == free["recognition"]["generate_free"] == rec["generate_free"]
    assert metrics["zero_shot"]["score"]["n"] == sum(x == "sadness" for x in table["label"])
    assert metrics["description"]["n"] == sum(d is not None for d in table["description"])
    faith = metrics["description"]["faithfulness"]
    described = pl.read_parquet(tmp_path / "descriptions.parquet")
    assert set(faith) == {"overall", *described["corpus"].unique()}
    assert faith["overall"]["n"] == described.height == metrics["description"]["n"]
    assert 0.0 <= faith["overall"]["cue_f1"] <= 1.0 and faith["overall"]["distinct_texts"] > 0
    assert metrics["description"]["faithfulness_zero_tokens"]["overall"]["n"] == described.height
    assert described.columns[-3:] == ["generated_zero_tokens", "reference_cues", "generated_cues"]
    conf = pl.read_csv(tmp_path / "plots/confusion_score.csv")
    assert conf.columns == ["corpus", "actual", "predicted"] and conf.height == table.height


def test_answer_only_loss_equals_full_sequence_loss(model, tokens_dir):
    tensors, table = lldata.load_tokens(tokens_dir, "train")
    examples = lldata.recognition_examples(table, "B")[:3] + lldata.description_examples(table)[:3]
    col = lldata.Collator(model, tensors, examples, model.token_kind)
    batch = col(list(range(len(examples))))
    with torch.no_grad():
        fast = model(**batch).loss
        full = model.llm(**model.build(**batch)).loss  # HF loss over the whole sequence's logits
    assert torch.allclose(fast, full, atol=1e-5)


def test_rehearse_mixes_the_other_tasks_examples(tokens_dir):
    _, table = lldata.load_tokens(tokens_dir, "train")
    plain = lldata.task_examples("recognize", table, LORA)
    lora = replace(LORA, recognize=replace(LORA.recognize, rehearse=0.5))
    mixed = lldata.task_examples("recognize", table, lora)
    described = lldata.description_examples(table)
    assert mixed[: len(plain)] == plain
    extra = mixed[len(plain) :]
    assert len(extra) == min(len(described), round(0.5 * len(plain))) > 0
    assert all(e in described for e in extra)  # description prompts and answers, not labels
    assert [e.row for e in extra] == sorted(e.row for e in extra)


def test_balance_repeats_each_class_up_to_the_largest(tokens_dir):
    """lora.recognize.balance label: every take kept, each (corpus, label) class as often as the largest
    one, and the rehearsal share taken of the balanced set."""
    from collections import Counter

    _, table = lldata.load_tokens(tokens_dir, "train")
    plain = lldata.task_examples(
        "recognize", table, replace(LORA, recognize=replace(LORA.recognize, balance="none"))
    )
    lora = replace(LORA, recognize=replace(LORA.recognize, balance="label"))
    balanced = lldata.task_examples("recognize", table, lora)
    key = {i: (c, lab) for i, (c, lab) in enumerate(zip(table["corpus"], table["label"], strict=True))}
    before, after = Counter(key[e.row] for e in plain), Counter(key[e.row] for e in balanced)
    assert len(set(before.values())) > 1  # the fixture's classes differ in size
    assert set(after) == set(before) and set(after.values()) == {max(before.values())}
    assert set(balanced) == set(plain)
    per_row = Counter(e.row for e in balanced)
    for cls in before:  # a class's takes are repeated in turn: counts differ by at most one
        counts = [per_row[i] for i in key if key[i] == cls]
        assert max(counts) - min(counts) <= 1 and sum(counts) == max(before.values())
    both = replace(lora, recognize=replace(lora.recognize, rehearse=0.1))
    mixed = lldata.task_examples("recognize", table, both)
    assert mixed[: len(balanced)] == balanced and len(mixed) - len(balanced) == round(0.1 * len(balanced))


def test_rehearsal_is_spread_over_the_table_not_its_first_rows():
    """The train table is sorted by corpus: a rehearsal share must reach its last corpus too."""
    assert lldata.evenly(list(range(10)), 5) == [0, 2, 4, 6, 8]
    assert lldata.evenly(list(range(10)), 3) == [0, 3, 6]
    assert lldata.evenly(list(range(4)), 9) == [0, 1, 2, 3]
    assert lldata.evenly(list(range(4)), 0) == []
    rows = ["A"] * 40 + ["D"] * 20
    picked = lldata.evenly(rows, 15)
    assert picked.count("D") == 5 and picked.count("A") == 10  # proportional, where rows[:15] had no D


def test_validation_descriptions_are_kept_out_of_description_training(tokens_dir):
    """lora.describe_validation: those described train takes never appear as description examples,
    in the describe stage or as rehearsal, and they are found again by validation_rows alone."""
    _, table = lldata.load_tokens(tokens_dir, "train")
    described = lldata.described_rows(table)
    assert described == [i for i, d in enumerate(table["description"].to_list()) if d]
    lora = replace(LORA, describe_validation=4, recognize=replace(LORA.recognize, rehearse=1.0))
    val = lldata.validation_rows(table, 4)
    assert len(val) == 4 and set(val) <= set(described)
    assert lldata.validation_rows(table, 0) == []
    with pytest.raises(ValueError, match="keeps all"):
        lldata.validation_rows(table, len(described))
    for task in ("describe", "recognize"):
        rows = {ex.row for ex in lldata.task_examples(task, table, lora) if "please tell me" in ex.question}
        assert rows == set(described) - set(val)


def test_saved_adapter_config_is_the_same_bytes_whatever_the_hash_seed(model, tmp_path):
    """peft lists target_modules from a set (order follows PYTHONHASHSEED); skellm sorts it."""
    from skellm.llm.model import save_trained

    save_trained(model, tmp_path / "a")
    cfg = json.loads((tmp_path / "a" / "adapter" / "adapter_config.json").read_text())
    assert cfg["target_modules"] == sorted(cfg["target_modules"]) and len(cfg["target_modules"]) >= 2
    assert list(cfg) == sorted(cfg)


def test_fit_linear_recovers_an_exact_map_and_ignores_the_tokens_scale():
    from torch import nn

    from skellm.llm.projector import fit_linear

    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 6, generator=g)
    a, b = torch.randn(6, 4, generator=g), torch.randn(4, generator=g)
    proj = nn.Linear(6, 4)
    fit_linear(proj, x, x @ a + b, ridge=1e-9)
    assert torch.allclose(proj.weight.T, a, atol=1e-4) and torch.allclose(proj.bias, b, atol=1e-4)
    fit_linear(proj, x, x @ a + b, ridge=0.5)  # shrunk: no longer exact ...
    shrunk = proj(x)
    assert not torch.allclose(shrunk, x @ a + b, atol=1e-2)
    fit_linear(proj, 10 * x, x @ a + b, ridge=0.5)  # ... and the same map whatever the tokens' scale
    assert torch.allclose(proj(10 * x), shrunk, atol=1e-4)
    fit_linear(proj, torch.ones(5, 6), x[:5] @ a)  # constant tokens: every take maps to the mean target
    assert torch.allclose(proj(torch.ones(1, 6))[0], (x[:5] @ a).mean(0), atol=1e-5)
    with pytest.raises(ValueError, match="only a linear projector"):
        fit_linear(nn.Sequential(nn.Linear(6, 4)), x, x @ a + b)


def test_anchored_projector_maps_each_take_nearest_its_label_word(model, tokens_dir):
    """llm.projector_init labels: on separable tokens every training take lands nearest its own label's
    word embedding among its corpus's labels; held-out labels take no part in the fit."""
    from skellm.llm.data import load_tokens
    from skellm.llm.prompts import format_answer
    from skellm.llm.train import anchor_projector

    tensors, table = load_tokens(tokens_dir, "train", "semantic")
    labels = table["label"].to_list()
    classes = sorted(set(labels))
    g = torch.Generator().manual_seed(3)
    centres = 3 * torch.randn(len(classes), C, generator=g)
    tensors = {
        **tensors,
        "semantic": centres[[classes.index(x) for x in labels]] + 0.1 * torch.randn(len(labels), C),
    }
    model.token_kind = "semantic"
    anchor_projector(model, tensors, table, LORA)
    emb = model.llm.get_input_embeddings().weight.detach()
    word = {c: emb[model.answer_ids(format_answer(c), eos=False)].mean(0) for c in classes}
    with torch.no_grad():
        out = model.projector(tensors["semantic"])
    for i, (label, corpus) in enumerate(zip(labels, table["corpus"].to_list(), strict=True)):
        dist = {c: float((out[i] - word[c]).norm()) for c in LABELS[corpus] if c in word}
        assert min(dist, key=dist.get) == label

    held = replace(LORA, holdout_labels=("joy",))
    anchor_projector(model, tensors, table, held)
    with_holdout = model.projector.weight.detach().clone()
    keep = [i for i, x in enumerate(labels) if x != "joy"]
    anchor_projector(model, {k: v[keep] for k, v in tensors.items()}, table[keep], LORA)
    assert torch.allclose(model.projector.weight, with_holdout, atol=1e-5)
    with pytest.raises(ValueError, match="no labelled training take"):
        anchor_projector(model, tensors, table, replace(LORA, holdout_labels=tuple(classes)))


def test_step_order_grouped_by_length_keeps_the_examples_and_batches_like_rows():
    lengths = [30 if i % 4 else 70 for i in range(40)]  # a quarter are long (description) rows
    plain = lldata.step_order(40, 25, 4, seed=1)
    grouped = lldata.step_order(40, 25, 4, seed=1, lengths=lengths, window=5)
    assert sorted(grouped) == sorted(plain) and len(grouped) == 100
    # every window of 5 batches holds the same examples, re-cut by length
    for w in range(0, 100, 20):
        assert sorted(grouped[w : w + 20]) == sorted(plain[w : w + 20])
    batches = [grouped[i : i + 4] for i in range(0, 100, 4)]
    mixed = sum(len({lengths[i] for i in b}) > 1 for b in batches)
    assert mixed <= 5  # at most one batch per window straddles the two lengths
    assert sum(len({lengths[i] for i in plain[i : i + 4]}) > 1 for i in range(0, 100, 4)) > mixed
    assert grouped == lldata.step_order(40, 25, 4, seed=1, lengths=lengths, window=5)


@pytest.mark.parametrize(("ngram", "penalty"), [(0, 1.0), (1, 1.0), (3, 1.0), (2, 1.3), (0, 1.5)])
def test_greedy_anti_loop_decoding_equals_transformers_generate(model, ngram, penalty):
    """no_repeat_ngram / repetition_penalty give what transformers' own generate gives for the same
    embeddings (its processors there see only the generated tokens, as ours do)."""
    feats, fmask = _batch(2)
    fmask = torch.ones_like(fmask)  # no holes: generate derives positions from the attention mask
    for i in range(2):
        inputs = model.build(feats[i : i + 1], fmask[i : i + 1], [model.prompt_ids("Describe it.")])
        got = greedy_ids(model, inputs, 24, no_repeat_ngram=ngram, repetition_penalty=penalty)[0]
        with torch.no_grad():
            ref = model.llm.generate(
                inputs_embeds=inputs["inputs_embeds"], attention_mask=inputs["attention_mask"],
                max_new_tokens=24, do_sample=False, no_repeat_ngram_size=ngram or None,
                repetition_penalty=penalty, eos_token_id=model.eos_id, pad_token_id=model.pad_id,
            )[0].tolist()  # fmt: skip
        ref = ref[: ref.index(model.eos_id)] if model.eos_id in ref else ref
        assert got == ref
        if ngram:
            grams = [tuple(got[k : k + ngram]) for k in range(len(got) - ngram + 1)]
            assert len(grams) == len(set(grams))


def test_plain_greedy_repeats_where_no_repeat_ngram_does_not(model):
    """The test above is not vacuous: plain greedy repeats a token here, and the ban changes the text."""
    feats, fmask = _batch(2)
    inputs = model.build(feats, fmask, [model.prompt_ids("Describe it.")] * 2)
    plain = greedy_ids(model, inputs, 24)
    banned = greedy_ids(model, inputs, 24, no_repeat_ngram=1)
    assert any(len(set(ids)) < len(ids) for ids in plain)
    assert all(len(set(ids)) == len(ids) for ids in banned)
    assert banned != plain
