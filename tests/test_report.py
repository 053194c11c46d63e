"""The report page: built from a small DVC repo of real metrics/plots files (written by the project's
own metric functions and writers), loaded in headless Chromium, and checked for what it shows."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from datafix import kinect_positions

from skellm.apps.cli import main
from skellm.apps.report import MISSING, declared_outputs, format_number
from skellm.data.table import rows_to_table, take_row, write_takes
from skellm.io import write_json
from skellm.layouts import KINECT_V2

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)"
)

LABELS = {"A": ["anger", "joy", "sadness"], "C": ["fear", "happiness", "neutral", "surprise"]}
N_EXAMPLES = 3
C_TAKE, C_TEXT = "C/surprise/t03", "The person jerks back and both hands fly up."

DVC_YAML = {
    "stages": {
        "validate": {
            "cmd": "python stages/validate.py",
            "metrics": [{"metrics/data.json": {"cache": False}}],
        },
        "baseline": {
            "cmd": "python stages/baseline.py",
            "metrics": [{"metrics/baseline.json": {"cache": False}}],
        },
        "pretrain_encoder": {
            "cmd": "python stages/pretrain_encoder.py",
            "metrics": [{"metrics/encoder.json": {"cache": False}}],
            "plots": [
                {"metrics/plots/encoder_curves": {"x": "step", "cache": False}},
                {
                    "metrics/plots/encoder_confusion": {
                        "template": "confusion",
                        "x": "actual",
                        "y": "predicted",
                        "cache": False,
                    }
                },
            ],
        },
        "evaluate": {
            "cmd": "python stages/evaluate.py",
            "metrics": [{"metrics/eval.json": {"cache": False}}],
            "plots": [
                {
                    "metrics/plots/confusion_score.csv": {
                        "template": "confusion",
                        "x": "predicted",
                        "y": "actual",
                    }
                }
            ],
        },
        # declared but never run: the page must say so instead of failing
        "lora_recognize": {
            "cmd": "python stages/lora_recognize.py",
            "metrics": [{"metrics/lora.json": {"cache": False}}],
            "plots": [{"metrics/plots/lora_curves.csv": {"x": "step"}}],
        },
    }
}


def _predict(rng: np.random.Generator, y: list[str], labels: list[str], p_right: float) -> list[str]:
    return [t if rng.random() < p_right else str(rng.choice(labels)) for t in y]


def _make_repo(root: Path, source: str = "synth") -> dict:
    """A repo with params.yaml, dvc.yaml, a test split of real takes, and the metrics/plots files the
    pipeline writes, in their real formats. Returns the accuracies the page must show."""
    from skellm.data.table import read_quarantine, write_quarantine
    from skellm.data.validate import data_metrics
    from skellm.eval.baseline import evaluate as baseline_evaluate
    from skellm.eval.evaluate import recognition_metrics
    from skellm.training import CurveLogger

    rng = np.random.default_rng(7)
    params = {
        "seed": 0,
        "data": {
            "source": source,
            "synth": {"size": "tiny"},
            "corpora": {c: {"root": f"data/raw/{c}"} for c in LABELS},
        },
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    (root / "dvc.yaml").write_text(yaml.safe_dump(DVC_YAML, sort_keys=False))

    takes = []
    for corpus, labels in LABELS.items():
        for k in range(6):
            lab = labels[k % len(labels)]
            takes.append(
                take_row(
                    kinect_positions(frames=64, yaw_deg=15.0 * k, seed=k),
                    take_id=f"{corpus}/{lab}/t{k:02d}",
                    corpus=corpus,
                    source_path=f"data/raw/{corpus}/{lab}/t{k:02d}.txt",
                    source_sha256="0" * 64,
                    format="kinect",
                    layout="kinect_v2",
                    emotion=lab,
                    fps=30.0,
                    joint_names=list(KINECT_V2.joint_names),
                    parents=list(KINECT_V2.parents),
                    units="m",
                    up_axis="y",
                )
            )
    table = rows_to_table(takes)
    write_takes(table, root / "data/split/test.parquet")
    corpora = np.array(table["corpus"].to_pylist())
    y = table["emotion"].to_pylist()

    write_quarantine(
        [
            {
                "source_path": "data/raw/C/x.txt",
                "corpus": "C",
                "kind": "unreadable",
                "reason": "x",
                "stage": "ingest",
            }
        ],
        root / "data/validated/quarantine.parquet",
    )
    write_json(
        root / "metrics/data.json",
        data_metrics(table, read_quarantine(root / "data/validated/quarantine.parquet")),
    )

    x = rng.normal(size=(len(y), 5))
    base = baseline_evaluate(x, np.array(y), x + rng.normal(0, 2, x.shape), np.array(y), corpora, LABELS)
    write_json(root / "metrics/baseline.json", base)

    # encoder: random predictions, except each corpus's last label always right (a dark heatmap cell)
    enc_acc = {}
    for c in LABELS:
        truth = [t for t, cc in zip(y, corpora, strict=True) if cc == c]
        pred = [
            t if t == LABELS[c][-1] else p
            for t, p in zip(truth, _predict(rng, truth, LABELS[c], 0.6), strict=True)
        ]
        enc_acc[c] = round(float(np.mean(np.array(pred) == np.array(truth))), 4)
        write_json(
            root / f"metrics/plots/encoder_confusion/{c}.json",
            [{"actual": a, "predicted": p} for a, p in zip(truth, pred, strict=True)],
        )
    enc_acc["all"] = round(float(np.mean(list(enc_acc.values()))), 4)
    write_json(
        root / "metrics/encoder.json",
        {"model": "ctrgcn", "training": "joint", "accuracy": enc_acc, "n_test": {c: 6 for c in LABELS}},
    )
    curves = CurveLogger(root / "metrics/plots/encoder_curves/joint.csv")
    for step in range(1, 21):
        extra = {"test_acc": 0.3 + 0.02 * step} if step % 5 == 0 else {}
        curves.log(step, loss=2.0 / step, lr=0.1, **extra)

    rows = []
    for i, (t, c) in enumerate(zip(y, corpora, strict=True)):
        gen = _predict(rng, [t], LABELS[c] + ["Error"], 0.5)[0]
        sc = _predict(rng, [t], LABELS[c], 0.7)[0]
        rows.append(
            {"take_id": table["take_id"][i].as_py(), "corpus": c, "label": t, "generate": gen, "score": sc}
        )
    ev = {
        "recognition": recognition_metrics(rows, modes=("generate", "score")),
        # the evaluate stage keeps a few generated descriptions here: they fill in missing explanations
        "description": {"rouge1": 0.21, "bleu": 0.11, "examples": [{"take_id": C_TAKE, "generated": C_TEXT}]},
    }
    write_json(root / "metrics/eval.json", ev)
    import polars as pl

    pl.DataFrame(
        {
            "corpus": [r["corpus"] for r in rows],
            "actual": [r["label"] for r in rows],
            "predicted": [r["score"] for r in rows],
        }
    ).write_csv(root / "metrics/plots/confusion_score.csv")
    preds = pa.table(
        {
            "take_id": [r["take_id"] for r in rows],
            "corpus": [r["corpus"] for r in rows],
            "label": [r["label"] for r in rows],
            "prediction": [r["score"] for r in rows],
            "explanation": [
                f"The arms stay close to the trunk and the head drops ({r['take_id']})."
                if r["corpus"] == "A"
                else None
                for r in rows
            ],
        }
    )
    pq.write_table(preds, root / "metrics/predictions.parquet")
    return {"baseline": {c: base[c]["accuracy"] for c in base}, "encoder": enc_acc, "eval": ev["recognition"]}


class _Tables(HTMLParser):
    """Every <table> as a list of rows of cell texts, and every <img> src."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.imgs: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.imgs.append(dict(attrs).get("src", ""))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp / 'chromium-profile'}",
    ]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=True)


def _summary_row(tables: list[list[list[str]]], name: str) -> dict[str, str]:
    summary = tables[0]  # "Accuracy per corpus" is the first table on the page
    head = summary[0]
    row = next(r for r in summary[1:] if r[0] == name)
    return dict(zip(head[1:], row[1:], strict=True))


@needs_chromium
def test_report_in_headless_chromium(tmp_path, capsys):
    repo = tmp_path / "repo"
    repo.mkdir()
    want = _make_repo(repo)
    assert main(["report", "--repo", str(repo), "--examples", str(N_EXAMPLES)]) == 0
    out = Path(capsys.readouterr().out.strip())
    assert out == repo / "metrics/report.html" and out.is_file()

    # the browser decodes every image to the pixels we encoded: a copy of the page with a test-only
    # load-time script counts each image's non-white pixels on a canvas
    probe = tmp_path / "probe.html"
    script = (
        "<script>addEventListener('load',()=>{const r=[...document.images].map(i=>{"
        "const c=document.createElement('canvas');c.width=i.naturalWidth;c.height=i.naturalHeight;"
        "const x=c.getContext('2d');x.drawImage(i,0,0);const d=x.getImageData(0,0,c.width,c.height).data;"
        "let n=0;for(let k=0;k<d.length;k+=4){if(d[k+3]>0&&(d[k]<250||d[k+1]<250||d[k+2]<250))n++}return n});"
        "document.body.dataset.inked=JSON.stringify(r)})</script></body>"
    )
    probe.write_text(out.read_text().replace("</body>", script))
    dom = _chromium(tmp_path, "--dump-dom", probe.as_uri()).stdout
    page = _Tables()
    page.feed(dom)
    text = " ".join(dom.split())
    assert "Synthetic data." in text and "size: tiny" in text

    # per-corpus accuracy summary: the numbers of the test's own metrics files
    for c in LABELS:
        assert _summary_row(page.tables, "baseline")[c] == format_number(want["baseline"][c])
        assert _summary_row(page.tables, "encoder")[c] == format_number(want["encoder"][c])
        for mode in ("generate", "score"):
            row = _summary_row(page.tables, f"eval › recognition › {mode}")
            assert row[c] == format_number(want["eval"][mode][c]["accuracy"])
    assert _summary_row(page.tables, "encoder")["all"] == format_number(want["encoder"]["all"])
    # the nested recognition metrics also appear as their own table (rows per corpus, Error rate and the
    # bootstrap interval as columns)
    head = ["n", "accuracy", "error_rate", "ci95_low", "ci95_high"]
    rec = next(t for t in page.tables if t[0][1:] == head and t[1][0] == "overall")
    overall = want["eval"]["generate"]["overall"]
    assert rec[1][3] == format_number(overall["error_rate"])
    assert rec[1][4] == format_number(overall["ci95_low"])

    # declared but not produced: said so, not failed
    assert text.count(MISSING) >= 2 and "metrics/plots/lora_curves.csv" in text

    # images: 2 encoder confusion files + confusion_score.csv split per corpus (2) + 1 curve file + examples
    assert len(page.imgs) == 2 + 2 + 1 + N_EXAMPLES
    assert all(src.startswith("data:image/png;base64,") for src in page.imgs)
    source = out.read_text()  # the page itself: nothing fetched, no script
    assert "http://" not in source and "https://" not in source and "<script" not in source.lower()
    # examples: round-robin over corpora, A's from the predictions file, C's from eval.json's examples
    assert "The arms stay close to the trunk and the head drops (A/anger/t00)." in text
    assert C_TAKE in text and C_TEXT in text

    # every image as the browser drew it has the ink of the PNG we encoded (and has some)
    inked = json.loads(re.search(r'data-inked="([^"]*)"', dom).group(1))
    for src, n in zip(page.imgs, inked, strict=True):
        png = iio.imread(base64.b64decode(src.split(",", 1)[1]), extension=".png")
        ink = (png[..., :3] < 250).any(-1) & (png[..., 3] > 0 if png.shape[-1] == 4 else True)
        assert ink.sum() > 1000 and abs(n - int(ink.sum())) <= 0.02 * ink.sum()

    # the screenshot shows the synthetic banner and the Blues heatmaps
    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,5000", out.as_uri())
    img = iio.imread(shot)[..., :3].astype(int)
    banner = (np.abs(img - np.array([255, 244, 214])).sum(-1) < 6).sum()
    # the dark end of matplotlib's Blues (a row predicted all right); the bones' tab:blue has red > 30
    dark_blue = ((img[..., 0] < 20) & (img[..., 2] > 90) & (img[..., 2] > img[..., 1] + 40)).sum()
    assert banner > 20_000 and dark_blue > 2_000


def test_missing_pieces_are_listed_not_fatal(tmp_path, capsys):
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(DVC_YAML))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"data": {"source": "files", "corpora": {"A": {}}}}))
    out = tmp_path / "site" / "r.html"
    assert main(["report", "--repo", str(tmp_path), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    html = out.read_text()
    for m in ("metrics/data.json", "metrics/baseline.json", "metrics/encoder.json", "metrics/eval.json"):
        assert f'<h3>{m}</h3><p class="missing">{MISSING}</p>' in html
    assert "Synthetic data." not in html  # data.source: files
    assert "<img" not in html


def test_unreadable_metrics_file_is_reported_in_the_page(tmp_path, capsys):
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(DVC_YAML))
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/data.json").write_text('{"takes": {"A": 3,')  # a stage killed mid-write
    write_json(tmp_path / "metrics/extra.json", {"accuracy": {"A": 0.625}})  # not declared: still shown
    assert main(["report", "--repo", str(tmp_path)]) == 0
    html = (tmp_path / "metrics/report.html").read_text()
    assert '<h3>metrics/data.json</h3><p class="missing">could not read:' in html
    assert "<h3>metrics/extra.json</h3>" in html and ">0.625<" in html


def test_evaluate_shaped_predictions_and_custom_confusion_fields(tmp_path, capsys):
    """The evaluate stage's predictions table (label scoring in ``score``, no take table to render)
    and a confusion plot whose fields are named by dvc.yaml's x/y."""
    dvc = {
        "stages": {
            "evaluate": {
                "cmd": "x",
                "plots": [{"metrics/plots/cm.csv": {"template": "confusion", "x": "guess", "y": "truth"}}],
            }
        }
    }
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(dvc))
    (tmp_path / "metrics/plots").mkdir(parents=True)
    (tmp_path / "metrics/plots/cm.csv").write_text("truth,guess\njoy,joy\njoy,anger\nanger,anger\n")
    (tmp_path / "data/eval").mkdir(parents=True)
    rows = {
        "take_id": ["B/F01A0V1"],
        "corpus": ["B"],
        "label": ["anger"],
        "generate": ["Error"],
        "score": ["joy"],
    }
    pq.write_table(pa.table(rows), tmp_path / "data/eval/predictions.parquet")
    assert main(["report", "--repo", str(tmp_path), "--examples", "1"]) == 0
    html = (tmp_path / "metrics/report.html").read_text()
    assert "metrics/plots/cm.csv — 2/3 correct (0.6667)" in html and html.count("<img") == 1
    assert "B/F01A0V1" in html and '<b class="bad">joy</b>' in html  # no take table: text only


def test_bad_repo_is_one_line(tmp_path, capsys):
    assert main(["report", "--repo", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope" in err


def test_declared_outputs_foreach_and_top_level_plots(tmp_path):
    dvc = yaml.safe_load(
        """
stages:
  ingest:
    foreach: ${data.corpora}
    do:
      cmd: python stages/ingest.py ${key}
      metrics:
        - metrics/ingest/${key}.json:
            cache: false
  train:
    cmd: python train.py
    plots:
      - curves.tsv
plots:
  - Accuracy:
      x: step
      y:
        metrics/plots/a.csv: [acc, loss]
  - metrics/plots/cm.json:
      template: confusion
      x: actual
      y: predicted
"""
    )
    metrics, plots = declared_outputs(dvc)
    assert metrics == ["metrics/ingest/${key}.json"]
    assert [(p.path, p.x, p.y, p.template) for p in plots] == [
        ("curves.tsv", None, None, None),
        ("metrics/plots/a.csv", "step", "acc", None),
        ("metrics/plots/cm.json", "actual", "predicted", "confusion"),
    ]
    # ${key} entries resolve to every corpus's file that exists
    from skellm.apps.report import expand

    for c in ("A", "B"):
        write_json(tmp_path / f"metrics/ingest/{c}.json", {"takes": 1})
    assert [p.name for p in expand(tmp_path, metrics[0])] == ["A.json", "B.json"]


def test_format_number():
    assert [format_number(v) for v in (0.5, 2 / 3, 85.44, 12, None, True, [1, 0.25])] == [
        "0.5",
        "0.6667",
        "85.44",
        "12",
        "—",
        "true",
        "1, 0.25",
    ]


def test_explanations_highlight_cues_against_the_reference_and_faithfulness_sits_by_rouge(tmp_path):
    """The evaluate stage's files (predictions.parquet, descriptions.parquet beside it, metrics with
    description.faithfulness from the real metric functions): example cards mark each stated cue
    right, contradicted or unsupported, list the missed ones, and the explanation table shows the
    faithfulness numbers beside ROUGE/BLEU/METEOR for the skeleton and the zeroed-token control."""
    from skellm.apps.report import build_report
    from skellm.eval.faithfulness import faithfulness
    from skellm.eval.text_metrics import description_scores

    ref = "While knocking, the shoulders are raised, the head is bowed and everything is done in a hurry."
    gen = "While knocking, THE SHOULDERS ARE RAISED, the head is held high & the fists are tight."
    zero = "While walking, the arms are held out."
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"evaluate": {"cmd": "x"}}}))
    (tmp_path / "data/eval").mkdir(parents=True)
    ids = ["A/S01_knock_anxiety_T001", "B/F01A0V1"]
    pq.write_table(
        pa.table(
            {"take_id": ids, "corpus": ["A", "B"], "label": ["anxiety", "anger"], "score": ["anxiety"] * 2}
        ),
        tmp_path / "data/eval/predictions.parquet",
    )
    pq.write_table(
        pa.table({"take_id": ids[:1], "corpus": ["A"], "reference": [ref], "generated": [gen]}),
        tmp_path / "data/eval/descriptions.parquet",
    )
    desc = description_scores([gen], [ref])
    desc["faithfulness"] = {"overall": faithfulness([gen], [ref]), "A": faithfulness([gen], [ref])}
    desc["faithfulness_zero_tokens"] = {"overall": faithfulness([zero], [ref])}
    write_json(tmp_path / "metrics/llm.json", {"description": desc})

    page_path = build_report(tmp_path, examples=2)
    source = page_path.read_text()
    assert (
        '<mark class="cue ok" title="shoulder_raise+: stated as in the reference">THE SHOULDERS ARE RAISED'
        in source
    )
    assert (
        '<mark class="cue contra" title="head_flex-: opposite to the reference">the head is held high'
        in source
    )
    assert '<mark class="cue extra" title="curl+: not in the reference">the fists are tight' in source
    assert "&amp; " in source  # the text around the marks is escaped
    assert "missed: tempo+" in source and "1 contradicted" in source
    # hand count: stated {shoulder_raise+, head_flex-, curl+}, truth {shoulder_raise+, head_flex+, tempo+}
    assert "cue F1 0.3333" in source
    b_card = source.split('<div class="take-id">B/F01A0V1</div>', 1)[1].split('<div class="example">')[0]
    assert 'class="expl"' not in b_card  # B has no description: its card has no explanation

    page = _Tables()
    page.feed(source)
    table = next(t for t in page.tables if t[0][1:4] == ["ROUGE-L", "BLEU", "METEOR"])
    head, rows = table[0], {r[0]: dict(zip(table[0][1:], r[1:], strict=True)) for r in table[1:]}
    skel, ctrl = (
        rows["llm › description · skeleton · overall"],
        rows["llm › description · zeroed tokens · overall"],
    )
    assert skel["ROUGE-L"] == format_number(desc["rougeL"]) and skel["METEOR"] == format_number(
        desc["meteor"]
    )
    assert skel["cue F1"] == "0.3333" and skel["contradictions / text"] == "1" and skel["action named"] == "1"
    assert ctrl["cue F1"] == "0" and ctrl["ROUGE-L"] == "—" and ctrl["action named"] == "0"
    assert "llm › description · skeleton · A" in rows and "cue P" in head
