"""SUGAR's Temporal Query Projection: shapes and masks, padding, weight sharing along the chain, the
single Q-Former ablation, a tiny LoRA run through it with SUGAR's prompt, save/reload, the candidate
list of that prompt, and the config's checks."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from test_llm import LORA, _tokens, run_evaluate, tokens_dir  # noqa: E402, F401  (tokens_dir: a fixture)

from skellm.config import ConfigError, LLMConfig, TQPConfig, config_from_dict  # noqa: E402
from skellm.data.labelspace import LabelSpace  # noqa: E402
from skellm.llm import data as lldata  # noqa: E402
from skellm.llm.model import load_base, load_trained, new_model, save_trained, select_tokens  # noqa: E402
from skellm.llm.tqp import QueryProjector  # noqa: E402

C, H = 16, 24
SMALL = {"query_len": 2, "depth": 1, "heads": 4, "width": 32}


def _proj(chain: bool = True, seed: int = 0, **kw) -> QueryProjector:
    torch.manual_seed(seed)
    return QueryProjector(C, H, chain=chain, **{**SMALL, **kw}).eval()


def test_output_is_query_len_tokens_with_a_mask():
    p = _proj()
    x, m = torch.randn(3, 7, C), torch.ones(3, 7, dtype=torch.bool)
    m[2] = False  # a take with no valid step at all
    out, mask = p(x, m)
    assert out.shape == (3, SMALL["query_len"], H) and mask.shape == (3, SMALL["query_len"])
    assert mask[:2].all() and not mask[2].any()
    assert torch.isfinite(out).all()  # an all-masked take gives no NaN


def test_padding_steps_and_empty_segments_change_nothing():
    p = _proj()
    x = torch.randn(2, 5, C)
    short, _ = p(x, torch.ones(2, 5, dtype=torch.bool))
    padded_x = torch.cat([x, torch.randn(2, 4, C)], 1)  # garbage after the take ends
    padded_m = torch.zeros(2, 9, dtype=torch.bool)
    padded_m[:, :5] = True
    long, _ = p(padded_x, padded_m)
    assert torch.allclose(short, long, atol=1e-6)


def test_one_set_of_weights_along_the_chain_whatever_the_length():
    p = _proj()
    n_params = sum(t.numel() for t in p.parameters())
    assert n_params == sum(t.numel() for t in _proj(chain=False).parameters())  # the ablation's size
    short = p(torch.randn(1, 4, C), torch.ones(1, 4, dtype=torch.bool))[0]
    long = p(torch.randn(1, 40, C), torch.ones(1, 40, dtype=torch.bool))[0]
    assert short.shape == long.shape and sum(t.numel() for t in p.parameters()) == n_params
    # the chain reads segments in order: swapping two segments changes the result
    x = torch.randn(1, 4, C)
    m = torch.ones(1, 4, dtype=torch.bool)
    swapped = torch.cat([x[:, 2:], x[:, :2]], 1)
    assert not torch.allclose(p(x, m)[0], p(swapped, m)[0], atol=1e-4)
    # one Q-Former over all tokens (no positional information) does not see the order
    q = _proj(chain=False)
    assert torch.allclose(q(x, m)[0], q(swapped, m)[0], atol=1e-5)


def test_chain_equals_the_block_applied_segment_by_segment():
    p = _proj()
    x, m = torch.randn(2, 6, C), torch.ones(2, 6, dtype=torch.bool)
    keys = p.inp(x)
    q = p.query.expand(2, -1, -1)
    for s in range(0, 6, 2):
        q = p.blocks[0](q, keys[:, s : s + 2], m[:, s : s + 2])
    assert torch.allclose(p(x, m)[0], p.out(p.norm_out(q)), atol=1e-6)


def test_config_rejects_one_token_for_a_query_projector_and_bad_widths():
    with pytest.raises(ConfigError, match="llm.tokens to temporal"):
        config_from_dict({"llm": {"projector": "tqp", "tokens": "semantic"}})
    with pytest.raises(ConfigError, match="divisible by heads"):
        config_from_dict({"llm": {"projector": "tqp", "tokens": "temporal", "tqp": {"width": 30}}})
    cfg = config_from_dict({"llm": {"projector": "tqp", "tokens": "temporal", "tqp": {"query_len": 8}}})
    assert cfg.llm.tqp.query_len == 8 and cfg.llm.tqp.depth == TQPConfig.depth
    with pytest.raises(ConfigError, match="llm.prompt must be one of eai, sugar, got 'llava'"):
        config_from_dict({"llm": {"prompt": "llava"}})


def _tqp_model(tiny_llm_dir, kind="tqp"):
    torch.manual_seed(0)
    llm, tok = load_base(tiny_llm_dir)
    cfg = LLMConfig(projector=kind, tokens="temporal", tqp=TQPConfig(**SMALL))
    return new_model(llm, tok, C, cfg, LORA).eval()


def test_splice_save_and_reload_through_tqp(tiny_llm_dir, tmp_path):
    model = _tqp_model(tiny_llm_dir)
    feats, fmask = select_tokens(_tokens(3), "temporal")
    assert feats.shape[1] == 4  # the temporal tokens only
    tails = [model.prompt_ids("Q?")] * 3
    # MultiheadAttention picks its kernel by whether weights require grad (a reloaded frozen projector
    # does not), and the kernels differ in the last bits: compare like with like
    model.projector.requires_grad_(False)
    with torch.no_grad():
        inputs = model.build(feats, fmask, tails)
        before = model.llm(**inputs).logits
    # k = query_len skeleton slots, not one per temporal token
    assert inputs["attention_mask"].shape[1] == len(model.prefix_ids) + SMALL["query_len"] + len(tails[0])
    save_trained(model, tmp_path / "stage")
    again = load_trained(tiny_llm_dir, tmp_path / "stage").eval()
    assert isinstance(again.projector, QueryProjector) and again.projector.config["query_len"] == 2
    with torch.no_grad():
        assert torch.equal(before, again.llm(**again.build(feats, fmask, tails)).logits)


def test_tiny_lora_run_through_tqp_lowers_the_answer_loss(
    tokens_dir,  # noqa: F811
    tiny_llm_dir,
    tmp_path,
    monkeypatch,
):
    from skellm.llm.train import train_stage

    cfg = LLMConfig(projector="tqp", tokens="temporal", tqp=TQPConfig(**SMALL), prompt="sugar")

    def loss(model) -> float:
        tensors, table = lldata.load_tokens(tokens_dir, "train")
        ex = lldata.task_examples("recognize", table, LORA, prompt="sugar")
        col = lldata.Collator(model.eval(), tensors, ex, model.token_kind)
        with torch.no_grad():
            return float(model(**col(list(range(len(ex))))).loss)

    before = loss(_tqp_model(tiny_llm_dir))
    train_stage(
        "recognize",
        tokens_dir=tokens_dir,
        llm_dir=tiny_llm_dir,
        out_dir=tmp_path / "recognize",
        llm_cfg=cfg,
        lora=LORA,
        seed=0,
        ckpt_dir=tmp_path / "ckpt",
        curves_path=tmp_path / "curve.csv",
        norm_spec=LabelSpace.load(tokens_dir / "labels.json"),  # label-score statistics, as stage 2 writes
    )
    trained = load_trained(tiny_llm_dir, tmp_path / "recognize")
    assert trained.projector_kind == "tqp" and trained.prompt == "sugar"
    assert loss(trained) < before - 1.0

    # evaluate reads the saved projector kind and prompt, and answers in both modes (and on zeroed tokens)
    from skellm.config import EvalConfig
    from skellm.eval.evaluate import MODES
    from skellm.llm import generate

    asked = []
    real = generate.greedy_and_scores

    def spy(model, feats, fmask, question, *args, **kw):
        asked.append(question)
        return real(model, feats, fmask, question, *args, **kw)

    monkeypatch.setattr(generate, "greedy_and_scores", spy)

    params = EvalConfig(batch_size=4, max_new_tokens=3, describe_max_new_tokens=4, max_describe=2, threads=1)
    metrics = run_evaluate(params, LORA, tokens_dir, tiny_llm_dir, tmp_path / "recognize", tmp_path)
    assert set(metrics["recognition"]) == set(MODES)
    assert metrics["recognition"]["score"]["overall"]["error_rate"] == 0.0
    assert asked and all(q.startswith("Given a sequence of action tokens, please choose") for q in asked)


def test_sugar_prompt_lists_the_corpus_candidates():
    import polars as pl

    table = pl.DataFrame({"corpus": ["A", "D", "A"], "label": ["joy", "drink_water", "anger"]})
    sets = {"A": ["neutral", "joy", "anger"], "D": ["drink_water", "hand_waving"]}
    tasks = {"A": "emotion", "D": "action"}
    ex = lldata.recognition_examples(table, "A", tasks=tasks, prompt="sugar", label_sets=sets)
    assert ex[0].question == (
        "Given a sequence of action tokens, please choose the most compatible emotion from: "
        "[neutral, joy, anger], and describe the emotion."
    )
    assert "action from: [drink water, hand waving], and describe the action." in ex[1].question
    assert ex[0].question == ex[2].question and ex[0].answer == " joy"
    # without labels.json's sets, a corpus offers the labels its takes carry
    assert "[anger, joy]" in lldata.recognition_examples(table, prompt="sugar")[0].question
    # the default stays EAI-LLM's questions
    assert lldata.recognition_examples(table, tasks=tasks)[0].question.startswith("Can you tell me")
