"""`skellm predict` on real files of every format, against a tiny repo laid out as `dvc repro` leaves it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from tinymodels import LABEL_SETS, make_tiny_repo, run_cli, sample_files

from skellm.apps.cli import main
from skellm.apps.predict import repo_config


@pytest.fixture(scope="session")
def repo(tmp_path_factory, tiny_llm_dir):
    base = tmp_path_factory.mktemp("predict")
    make_tiny_repo(base / "repo", tiny_llm_dir, base / "samples")
    return base / "repo"


def _files(repo) -> dict[str, Path]:
    return sample_files(repo.parent / "samples")


@pytest.fixture(scope="session")
def predictor(repo):
    from skellm.apps.predict import Predictor, repo_artefacts

    return Predictor(repo_artefacts(repo))


def _predict(argv, monkeypatch, capsys, cwd):
    return run_cli(["predict", *argv], monkeypatch, capsys, cwd)


def test_every_format_in_the_repo_json(repo, monkeypatch, capsys):
    files = _files(repo)
    rc, out, err = _predict(["--json", *files.values()], monkeypatch, capsys, repo)
    assert rc == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["file"] for r in rows] == [str(p) for p in files.values()]
    classes = sorted({x for v in LABEL_SETS.values() for x in v})
    by = dict(zip(files, rows, strict=True))
    for name, r in by.items():
        probs = r["probabilities"]
        assert r["label"] == max(probs, key=probs.get)
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
        assert isinstance(r["explanation"], str)
        assert r["format"] == {"bvh_xsens": "bvh"}.get(name, name)
        # corpus from the skeleton: the Kinect rig is corpus C's, the Xsens BVH rig corpus A's
        expected = {"kinect": "C", "ntu": "C", "npy": "C", "bvh_xsens": "A"}.get(name)
        assert r["corpus"] == expected, name
        assert sorted(probs) == sorted(LABEL_SETS[expected] if expected else classes)
    assert by["kinect"]["frames"] == 50 and by["kinect"]["joints"] == 25 and by["kinect"]["fps"] == 30


def test_text_output_corpus_option_and_labels(repo, monkeypatch, capsys):
    f = _files(repo)["bvh"]
    rc, out, err = _predict([f, "--corpus", "A"], monkeypatch, capsys, repo)
    assert rc == 0, err
    head, probs, why, *cues = out.splitlines()  # a cues line only when the text states a cue
    assert all(c.startswith("  cues: ") for c in cues)
    label = head.split(": ")[1].split()[0]
    assert head.startswith(f"{f}: ") and "(corpus A)" in head and label in LABEL_SETS["A"]
    assert {p for p in probs.split() if p.isalpha()} == set(LABEL_SETS["A"]) and why.startswith("  why: ")
    rc, out, _ = _predict(
        [f, "--labels", "calm, furious", "--json", "--no-explain"], monkeypatch, capsys, repo
    )
    r = json.loads(out)
    assert rc == 0 and set(r["probabilities"]) == {"calm", "furious"} and r["explanation"] is None


def test_explain_label_asks_about_that_label_and_lists_the_stated_cues(repo, monkeypatch, capsys):
    from skellm.llm import generate, prompts
    from skellm.synth import describe

    phrase, cue = next((p, c) for p, c in describe.lexicon()[0].items() if c[1] < 0)
    asked: list[str] = []
    real = prompts.describe_question
    monkeypatch.setattr(prompts, "describe_question", lambda lab, task: asked.append(lab) or real(lab, task))
    decodings: list[tuple] = []
    monkeypatch.setattr(
        generate,
        "greedy",
        lambda lm, f, m, qs, *dec: decodings.append(dec) or [f"The person walks; {phrase}."] * len(qs),
    )
    f = _files(repo)["bvh"]
    for other in LABEL_SETS["A"][:2]:  # at least one of them is not the predicted label
        asked.clear()
        argv = [f, "--corpus", "A", "--json", "--explain-label", other]
        rc, out, err = _predict(argv, monkeypatch, capsys, repo)
        r = json.loads(out)
        assert rc == 0, err
        assert asked == [other] and r["explained_label"] == other and r["label"] in LABEL_SETS["A"]
        assert r["explanation"] == f"The person walks; {phrase}." and [cue[0], cue[1]] in r["cues"]
    asked.clear()
    rc, out, err = _predict([f, "--corpus", "A"], monkeypatch, capsys, repo)
    lines = out.splitlines()
    assert rc == 0 and asked == [lines[0].split(": ")[1].split()[0]]  # the predicted label by default
    ev = repo_config(repo).eval  # explanations decode with evaluate's settings (eval.describe_*)
    assert set(decodings) == {
        (ev.describe_max_new_tokens, ev.describe_no_repeat_ngram, ev.describe_repetition_penalty)
    }
    assert lines[2].startswith("  why: ") and f"{cue[0]}-" in lines[3] and lines[3].startswith("  cues: ")


def test_explain_label_errors(repo, monkeypatch, capsys):
    f = _files(repo)["bvh"]
    rc, _, err = _predict([f, "--explain-label", "no-such-label"], monkeypatch, capsys, repo)
    assert rc == 2 and "no-such-label" in err and len(err.strip().splitlines()) == 1
    rc, _, err = _predict(
        [f, "--explain-label", LABEL_SETS["A"][0], "--no-explain"], monkeypatch, capsys, repo
    )
    assert rc == 2 and "--no-explain" in err


def test_file_in_a_corpus_folder_takes_its_labels(repo, monkeypatch, capsys):
    dst = repo / "data/raw/A/S01_walk_joy_T001.bvh"  # the LAFAN rig of no corpus, but in A's folder
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(_files(repo)["bvh"], dst)
    rc, out, _ = _predict(["--json", dst.relative_to(repo)], monkeypatch, capsys, repo)
    r = json.loads(out)
    assert rc == 0 and r["corpus"] == "A" and set(r["probabilities"]) == set(LABEL_SETS["A"])


def test_bad_file_one_line_others_predicted(repo, tmp_path, monkeypatch, capsys):
    bad = tmp_path / "broken.bvh"
    bad.write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0\n")
    missing = tmp_path / "nothere.c3d"
    good = _files(repo)["kinect"]
    rc, out, err = _predict(["--json", bad, good, missing], monkeypatch, capsys, repo)
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(str(bad)) and lines[1].startswith(str(missing))
    assert "Traceback" not in err
    assert [json.loads(x)["file"] for x in out.splitlines()] == [str(good)]


def test_missing_artefacts_and_bad_model_folder(tmp_path, monkeypatch, capsys):
    rc, out, err = _predict([tmp_path / "x.bvh"], monkeypatch, capsys, tmp_path)
    assert rc == 1 and out == "" and len(err.strip().splitlines()) == 1 and "params.yaml" in err
    rc, _, err = _predict(["--model", tmp_path, tmp_path / "x.bvh"], monkeypatch, capsys, tmp_path)
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "skellm.json" in err


def test_help_shows_example(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["predict", "--help"])
    assert exc.value.code == 0 and "example:\n  skellm predict" in capsys.readouterr().out


def test_preprocessing_is_the_pipelines(repo, predictor, tmp_path):
    """A file through predict's preparation equals the same file through ingest then harmonize."""
    from skellm.config import HarmonizeConfig
    from skellm.data.harmonize import harmonize_table
    from skellm.data.ingest import ingest_files
    from skellm.data.table import positions_list, read_takes

    f = _files(repo)["kinect"]  # has NotTracked wrist frames: exercises the gap filling
    ingest_files([f], "C", tmp_path / "C.parquet", read_opts={"fps": 30.0})
    table, _ = harmonize_table(read_takes(tmp_path / "C.parquet"), HarmonizeConfig(joints="native"))
    take = predictor.prepare(f)
    np.testing.assert_array_equal(take.row["positions"], positions_list(table)[0].reshape(-1))
    assert take.row["joint_names"] == table["joint_names"][0].as_py() and take.corpus == "C"


def test_label_scores_are_standardised_where_the_corpus_has_statistics(repo, predictor):
    """A take of a known corpus: probabilities are the softmax of its label log-likelihoods z-scored by
    the adapter's label_norm.json; a take of no corpus (labels of all corpora) gets the raw ones."""
    import torch

    from skellm.llm.label_norm import NORM_FILE, standardize
    from skellm.llm.prompts import recognition_question
    from skellm.llm.scoring import score_labels

    assert (predictor.artefacts.trained_dir / NORM_FILE).exists() and predictor.label_norm is not None
    files = _files(repo)
    for name, corpus in (("kinect", "C"), ("bvh", None)):
        take = predictor.prepare(files[name])
        assert take.corpus == corpus
        got = predictor.predict([take], explain=False)[0]["probabilities"]
        labels = predictor.label_set(corpus)
        question = recognition_question("emotion", prompt=predictor.lm.prompt, candidates=labels)
        feats, fmask = predictor._stack(predictor.encode([take]))
        with torch.inference_mode():
            ll = score_labels(predictor.lm, feats, fmask, question, labels, predictor.answer_format)
        z = standardize(ll, predictor.label_norm, corpus, question, labels)
        assert (z is None) == (corpus is None)
        want = torch.softmax(ll if z is None else z, -1)[0].numpy()
        np.testing.assert_allclose([got[lab] for lab in labels], want, atol=1e-5)
        if z is not None:  # the made-up statistics move the probabilities far from the raw ones
            assert not np.allclose(want, torch.softmax(ll, -1)[0].numpy(), atol=1e-2)


def test_batches_do_not_change_answers(repo, predictor):
    files = list(_files(repo).values())
    one = [r for _, r, _ in predictor.predict_files(files, batch_size=1, explain=False)]
    many = [r for _, r, _ in predictor.predict_files(files, batch_size=7, explain=False)]
    for a, b in zip(one, many, strict=True):
        assert a["label"] == b["label"]
        np.testing.assert_allclose(
            list(a["probabilities"].values()), list(b["probabilities"].values()), atol=1e-5
        )


def test_separate_encoders_need_a_corpus_for_an_unknown_rig(repo, tmp_path, monkeypatch, capsys):
    sep = tmp_path / "repo"
    shutil.copytree(repo, sep)
    enc = sep / "models/encoder"
    shutil.copytree(enc / "joint", enc / "A")
    (enc / "joint").rename(enc / "C")
    (enc / "index.json").write_text(json.dumps({"A": "A", "C": "C"}))
    files = _files(repo)
    rc, out, err = _predict(["--json", files["kinect"], files["bvh"]], monkeypatch, capsys, sep)
    assert rc == 1 and json.loads(out)["corpus"] == "C"
    assert err.startswith(f"{files['bvh']}: ") and "--corpus" in err and len(err.strip().splitlines()) == 1
    rc, out, _ = _predict(["--json", "--corpus", "A", files["bvh"]], monkeypatch, capsys, sep)
    assert rc == 0 and json.loads(out)["corpus"] == "A"
