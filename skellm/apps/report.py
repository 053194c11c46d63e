"""One self-contained HTML page of what the pipeline measured: open it in any browser, offline.

The page is built from the files that dvc.yaml declares: every ``metrics`` entry (JSON/YAML/TOML,
any nested dict of numbers, drawn as tables), every ``plots`` entry (rows with actual/predicted
fields become confusion heatmaps, rows with a step/epoch column become training curves, PNG/JPEG/SVG
plots are embedded as they are), plus a few example explanations beside stick-figure renders when a
predictions file (take_id, label, prediction, explanation) exists under metrics/ or data/. CSS is
inline and every image is a base64 data URI: the page fetches nothing and runs no script. Anything
not produced yet is listed as such instead of failing. When params.yaml says ``data.source: synth``
the header says the numbers come from the synthetic corpus.
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import html
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skellm.config import PATHS, Config

MISSING = "not produced yet (run dvc repro)"
DEFAULT_OUT = (PATHS.metrics / "report.html").as_posix()

_PLOT_DATA = (".csv", ".tsv", ".json", ".yaml", ".yml")
_PLOT_IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
_STEP_COLUMNS = ("step", "epoch", "iteration")
_TOTAL_KEYS = ("overall", "all", "total")
# column aliases in a predictions file (the evaluate stage calls the closed-set prediction "score")
_PRED_ALIASES = {"prediction": ("prediction", "predicted", "score"), "explanation": ("explanation",)}
_TAKE_TABLES = tuple(
    (folder / name).as_posix()
    for folder, name in (
        (PATHS.split, "test.parquet"),
        (PATHS.harmonized, "takes.parquet"),
        (PATHS.validated, "takes.parquet"),
    )
)


@dataclass(frozen=True)
class PlotSpec:
    """One ``plots`` entry of dvc.yaml: a path (file, folder or pattern) and its x/y/template."""

    path: str
    x: str | None = None
    y: str | None = None
    template: str | None = None


# ----------------------------------------------------------------------------- dvc.yaml


def declared_outputs(dvc_yaml: Mapping[str, Any]) -> tuple[list[str], list[PlotSpec]]:
    """Metrics paths and plot specs declared in a parsed dvc.yaml (stages and top level), in order."""
    metrics: list[str] = []
    plots: list[PlotSpec] = []
    bodies = []
    for stage in (dvc_yaml.get("stages") or {}).values():
        if isinstance(stage, Mapping):
            bodies += [stage, stage.get("do") or {}]
    bodies.append(dvc_yaml)
    for body in bodies:
        for entry in body.get("metrics") or []:
            metrics += list(entry) if isinstance(entry, Mapping) else [str(entry)]
        for entry in body.get("plots") or []:
            plots += _plot_specs(entry)
    return list(dict.fromkeys(metrics)), list(dict.fromkeys(plots))


def _plot_specs(entry: Any) -> list[PlotSpec]:
    if not isinstance(entry, Mapping):
        return [PlotSpec(str(entry))]
    specs = []
    for key, conf in entry.items():
        conf = conf if isinstance(conf, Mapping) else {}
        x, y = conf.get("x"), conf.get("y")
        files = [f for v in (x, y) if isinstance(v, Mapping) for f in v]
        if files:  # a top-level plot id whose x/y name the data files
            fx = next(iter(x)) if isinstance(x, Mapping) else None
            for f in dict.fromkeys(files):
                xs = _first_field(x[f]) if isinstance(x, Mapping) and f in x else (x if fx is None else None)
                ys = _first_field(y[f]) if isinstance(y, Mapping) and f in y else None
                specs.append(PlotSpec(str(f), xs, ys, conf.get("template")))
        else:
            specs.append(PlotSpec(str(key), _first_field(x), _first_field(y), conf.get("template")))
    return specs


def _first_field(v: Any) -> str | None:
    if isinstance(v, list | tuple):
        return str(v[0]) if v else None
    return None if v is None or isinstance(v, Mapping) else str(v)


def expand(repo: Path, pattern: str, suffixes: Sequence[str] | None = None) -> list[Path]:
    """Existing files for a declared path: ``${...}`` interpolations match anything, folders recurse."""
    pattern = re.sub(r"\$\{[^}]*\}", "*", pattern)
    hits = sorted(repo.glob(pattern)) if "*" in pattern else [repo / pattern]
    out: list[Path] = []
    for p in hits:
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        elif p.is_file():
            out.append(p)
    return [p for p in out if suffixes is None or p.suffix.lower() in suffixes]


# ----------------------------------------------------------------------------- reading


def load_metrics(path: Path) -> Any:
    """A metrics file (JSON, YAML or TOML) as Python objects."""
    text = path.read_text()
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_load(text)
    if suffix == ".toml":
        import tomllib

        return tomllib.loads(text)
    return json.loads(text)


def load_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a data plot: CSV/TSV with a header, or JSON/YAML holding a list of records."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with open(path, newline="") as f:
            return [dict(r) for r in csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ",")]
    data = load_metrics(path)
    if isinstance(data, Mapping):  # DVC also accepts {"name": [records]}
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if len(lists) == 1 else []
    return [dict(r) for r in data if isinstance(r, Mapping)] if isinstance(data, list) else []


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def format_number(v: Any) -> str:
    """Numbers as people read them: ints as is, floats to at most 4 decimals, None as a dash."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.4f}".rstrip("0").rstrip(".") if abs(v) < 1e6 else f"{v:.4g}"
    if isinstance(v, list | tuple) and all(not isinstance(x, Mapping | list) for x in v):
        return ", ".join(format_number(x) for x in v)
    return str(v)


# ----------------------------------------------------------------------------- metrics as tables


def _is_scalar(v: Any) -> bool:
    if isinstance(v, Mapping):
        return False
    if isinstance(v, list | tuple):
        return all(not isinstance(x, Mapping | list | tuple) for x in v)
    return True


def _is_flat(v: Any) -> bool:
    return isinstance(v, Mapping) and bool(v) and all(_is_scalar(x) for x in v.values())


def _td(v: Any) -> str:
    cls = ' class="num"' if isinstance(v, int | float) and not isinstance(v, bool) else ""
    return f"<td{cls}>{html.escape(format_number(v))}</td>"


def _kv_table(items: Sequence[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th>{_td(v)}</tr>" for k, v in items)
    return f'<table class="kv">{rows}</table>'


def _matrix_table(
    rows: Mapping[str, Mapping[str, Any]], first: Sequence[str] = (), last: Sequence[str] = ()
) -> str:
    seen = dict.fromkeys(c for r in rows.values() for c in r)
    cols = [c for c in first if c in seen] + [c for c in seen if c not in (*first, *last)]
    cols += [c for c in last if c in seen]
    head = "<tr><th></th>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in cols) + "</tr>"
    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th>" + "".join(_td(r.get(c)) for c in cols) + "</tr>"
        for k, r in rows.items()
    )
    return f"<table>{head}{body}</table>"


def metrics_html(obj: Any, path: tuple[str, ...] = ()) -> str:
    """Any nested dict/list of numbers as HTML tables: scalars as key/value rows, sibling dicts of
    scalars as one matrix (rows = their keys), lists of records as row tables, deeper dicts recursed
    under a heading that names their path."""
    heading = f"<h4>{html.escape(' › '.join(path))}</h4>" if path else ""
    if _is_scalar(obj):
        return heading + _kv_table([("value", obj)])
    if isinstance(obj, list):
        recs = [r for r in obj if isinstance(r, Mapping)]
        return heading + _matrix_table({str(i + 1): r for i, r in enumerate(recs)}) if recs else ""
    scalars = [(str(k), v) for k, v in obj.items() if _is_scalar(v)]
    flats = {str(k): v for k, v in obj.items() if _is_flat(v)}
    parts = [heading] if heading and (scalars or flats) else []
    if scalars:
        parts.append(_kv_table(scalars))
    if flats:
        parts.append(_matrix_table(flats))
    for k, v in obj.items():
        if not _is_scalar(v) and not _is_flat(v):
            parts.append(metrics_html(v, (*path, str(k))))
    return "".join(parts)


def accuracy_rows(name: str, obj: Any, corpora: Sequence[str]) -> list[tuple[str, dict[str, float]]]:
    """Per-corpus accuracy found anywhere in a metrics object, as (row name, {corpus: accuracy}).

    Two shapes count: ``{"accuracy": {corpus: x}}`` and ``{corpus: {"accuracy": x}}``; corpus keys
    are the params' corpora plus overall/all/total (any key when no corpora are known).
    """
    keys = set(corpora) | set(_TOTAL_KEYS)
    out: list[tuple[str, dict[str, float]]] = []

    def ok(k: str) -> bool:
        return not corpora or k in keys

    def col(k: Any) -> str:
        return "all" if str(k) in _TOTAL_KEYS else str(k)

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if not isinstance(node, Mapping):
            return
        label = " › ".join((name, *path))
        acc = node.get("accuracy")
        if isinstance(acc, Mapping):
            vals = {col(k): _num(v) for k, v in acc.items() if ok(str(k)) and _num(v) is not None}
            if vals:
                out.append((label, vals))
        if corpora:
            vals = {
                col(k): _num(v["accuracy"])
                for k, v in node.items()
                if str(k) in keys and isinstance(v, Mapping) and _num(v.get("accuracy")) is not None
            }
            if set(vals) & set(corpora):
                out.append((label, vals))
        for k, v in node.items():
            if k != "accuracy":
                walk(v, (*path, str(k)))

    walk(obj, ())
    return out


# ----------------------------------------------------------------------------- figures


_TEXT_METRICS = {"rougeL": "ROUGE-L", "bleu": "BLEU", "meteor": "METEOR"}
_FAITH_METRICS = {
    "cue_precision": "cue P",
    "cue_recall": "cue R",
    "cue_f1": "cue F1",
    "contradictions_per_text": "contradictions / text",
    "action_named": "action named",
    "repeated_clause": "repeated clause",
    "distinct_2": "distinct-2",
    "distinct_texts": "distinct texts",
    "n": "n",
}
_FAITH_SOURCES = {"faithfulness": "skeleton", "faithfulness_zero_tokens": "zeroed tokens"}


def explanation_rows(name: str, obj: Any) -> dict[str, dict[str, Any]]:
    """Rows of the explanation table from every description block in a metrics object (one that holds
    ``faithfulness``, as the evaluate stage writes): per source (the skeleton, the zeroed-token
    control) and corpus, the faithfulness metrics; ROUGE-L/BLEU/METEOR on the skeleton's overall row."""
    rows: dict[str, dict[str, Any]] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if not isinstance(node, Mapping):
            return
        if isinstance(node.get("faithfulness"), Mapping):
            where = " › ".join((name, *path))
            for key, source in _FAITH_SOURCES.items():
                for corpus, m in (node.get(key) or {}).items():
                    if not isinstance(m, Mapping):
                        continue
                    row = {}
                    if key == "faithfulness" and corpus in _TOTAL_KEYS:
                        row = {label: node.get(k) for k, label in _TEXT_METRICS.items()}
                    row |= {label: m.get(k) for k, label in _FAITH_METRICS.items()}
                    rows[f"{where} · {source} · {corpus}"] = row
            return
        for k, v in node.items():
            walk(v, (*path, str(k)))

    walk(obj, ())
    return rows


def _png_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _fig_png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def confusion_png(rows: Sequence[Mapping[str, Any]], actual: str, predicted: str, title: str) -> bytes:
    """A confusion-matrix heatmap (colour = share of the actual row, text = count) as PNG bytes."""
    import numpy as np
    from matplotlib.figure import Figure

    act = [str(r.get(actual)) for r in rows]
    pred = [str(r.get(predicted)) for r in rows]
    row_labels = sorted(set(act))
    col_labels = row_labels + sorted(set(pred) - set(row_labels))
    m = np.zeros((len(row_labels), len(col_labels)), dtype=np.int64)
    for a, p in zip(act, pred, strict=True):
        m[row_labels.index(a), col_labels.index(p)] += 1
    share = m / np.maximum(m.sum(1, keepdims=True), 1)
    fig = Figure(figsize=(1.6 + 0.55 * len(col_labels), 1.2 + 0.5 * len(row_labels)), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                colour = "white" if share[i, j] > 0.55 else "#202020"
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(len(col_labels)), col_labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(row_labels)), row_labels, fontsize=8)
    ax.set_xlabel(predicted)
    ax.set_ylabel(actual)
    ax.set_title(title, fontsize=9)
    return _fig_png(fig)


def curves_png(rows: Sequence[Mapping[str, Any]], x: str, title: str) -> bytes | None:
    """One small line plot per numeric column against ``x`` (None when nothing is numeric)."""
    from matplotlib.figure import Figure

    cols = [c for c in dict.fromkeys(k for r in rows for k in r) if c != x and c not in _STEP_COLUMNS]
    series = []
    for c in cols:
        pts = [(_num(r.get(x)), _num(r.get(c))) for r in rows]
        pts = [(a, b) for a, b in pts if a is not None and b is not None and math.isfinite(b)]
        if pts:
            series.append((c, pts))
    if not series:
        return None
    series = series[:9]
    ncol = min(3, len(series))
    nrow = math.ceil(len(series) / ncol)
    fig = Figure(figsize=(3.2 * ncol, 2.3 * nrow), layout="constrained")
    fig.suptitle(title, fontsize=9)
    for k, (c, pts) in enumerate(series):
        ax = fig.add_subplot(nrow, ncol, k + 1)
        xs, ys = zip(*pts, strict=True)
        ax.plot(xs, ys, marker="o" if len(pts) <= 12 else None, markersize=3, linewidth=1.2)
        ax.set_title(c, fontsize=8)
        ax.set_xlabel(x, fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    return _fig_png(fig)


# ----------------------------------------------------------------------------- examples


def find_predictions(repo: Path) -> Path | None:
    """The first predictions file (take_id, label, prediction[, explanation]) under metrics/ or data/."""
    for top in (PATHS.metrics.as_posix(), "data"):
        root = repo / top
        if not root.is_dir():
            continue
        for p in sorted(root.rglob("*prediction*")):
            if p.suffix.lower() in (".parquet", ".jsonl", ".json", ".csv") and _prediction_columns(p):
                return p
    return None


def _read_table_rows(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return load_rows(path)


def _prediction_columns(path: Path) -> dict[str, str] | None:
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        names = set(pq.read_schema(path).names)
    else:
        rows = _read_table_rows(path)[:1]
        names = set(rows[0]) if rows else set()
    if not {"take_id", "label"} <= names:
        return None
    cols = {"take_id": "take_id", "label": "label"}
    for want, aliases in _PRED_ALIASES.items():
        hit = next((a for a in aliases if a in names), None)
        if hit:
            cols[want] = hit
    return cols if "prediction" in cols else None


def pick_examples(rows: Sequence[Mapping[str, Any]], n: int) -> list[Mapping[str, Any]]:
    """Up to ``n`` rows taken round-robin over corpora, those with an explanation first, so every
    corpus shows up."""
    groups: dict[Any, list[Mapping[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: (not r.get("explanation"), str(r.get("label")), str(r["take_id"]))):
        groups.setdefault(r.get("corpus", str(r["take_id"]).split("/")[0]), []).append(r)
    picked: list[Mapping[str, Any]] = []
    queues = [list(v) for _, v in sorted(groups.items(), key=lambda kv: str(kv[0]))]
    while len(picked) < n and any(queues):
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop(0))
    return picked


def _take_rows(repo: Path, take_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    import pyarrow.compute as pc

    from skellm.data.table import read_takes

    found: dict[str, dict[str, Any]] = {}
    for rel in _TAKE_TABLES:
        path = repo / rel
        todo = [t for t in take_ids if t not in found]
        if not todo or not path.is_file():
            continue
        table = read_takes(path, filters=pc.field("take_id").isin(todo))
        found.update({r["take_id"]: r for r in table.to_pylist()})
    return found


def _render_strip(row: Mapping[str, Any], keyframes: int = 4, size: int = 180) -> bytes | None:
    """Key frames of a take side by side as PNG bytes, or None when the renderer is not available."""
    try:
        from skellm.apps.render import render_frames
    except ImportError:
        return None
    import imageio.v3 as iio
    import numpy as np

    t = int(row["n_frames"])
    idx = np.minimum(((np.arange(keyframes) + 0.5) * t / keyframes).astype(np.int64), t - 1)
    frames = render_frames(row, frames=idx, size=size)
    return iio.imwrite("<bytes>", np.concatenate(list(frames), axis=1), extension=".png")


def generated_examples(obj: Any) -> dict[str, str]:
    """take_id -> text from lists of records with take_id and explanation/generated anywhere in a
    metrics object (the evaluate stage keeps a few generated descriptions under ``examples``)."""
    found: dict[str, str] = {}
    if isinstance(obj, Mapping):
        for v in obj.values():
            found.update(generated_examples(v))
    elif isinstance(obj, list):
        for r in obj:
            if isinstance(r, Mapping) and "take_id" in r:
                text = r.get("explanation") or r.get("generated")
                if text:
                    found[str(r["take_id"])] = str(text)
            else:
                found.update(generated_examples(r))
    return found


def described_takes(predictions: Path) -> dict[str, dict[str, Any]]:
    """take_id -> {explanation, reference} from the evaluate stage's descriptions.parquet beside the
    predictions file (generated description and the take's reference text); empty when absent."""
    path = predictions.with_name("descriptions.parquet")
    if not path.is_file():
        return {}
    return {
        str(r["take_id"]): {"explanation": r.get("generated"), "reference": r.get("reference")}
        for r in _read_table_rows(path)
        if r.get("take_id") is not None
    }


_CUE_TITLES = {
    "ok": "stated as in the reference",
    "contra": "opposite to the reference",
    "extra": "not in the reference",
}


def _marked(text: str, truth: set | None) -> tuple[str, list]:
    """HTML of ``text`` with each cue it states in a <mark> (classed against ``truth`` when given),
    and the cues it states."""
    from skellm.eval.faithfulness import cue_label, cue_spans

    parts, at, stated = [], 0, []
    for start, end, cue in cue_spans(text):
        kind = (
            "truth"
            if truth is None
            else "ok"
            if cue in truth
            else "contra"
            if (cue[0], -cue[1]) in truth
            else "extra"
        )
        title = cue_label(cue) + (f": {_CUE_TITLES[kind]}" if kind in _CUE_TITLES else "")
        parts += [html.escape(text[at:start]), f'<mark class="cue {kind}" title="{html.escape(title)}">']
        parts += [html.escape(text[start:end]), "</mark>"]
        at = end
        stated.append(cue)
    parts.append(html.escape(text[at:]))
    return "".join(parts), stated


def explanation_html(text: str, reference: str | None = None) -> str:
    """An explanation with its body cues highlighted, read through the faithfulness lexicon.

    With the take's reference, each stated cue is marked right (the reference states it), wrong (the
    reference states the opposite) or unsupported (the reference does not state it); the reference
    follows with its own cues marked, then the cues the explanation missed and its cue F1."""
    from skellm.eval.faithfulness import cue_label, cue_scores

    if not reference:
        return f'<p class="expl">{_marked(text, None)[0]}</p>'
    ref, truth_cues = _marked(reference, None)
    truth = set(truth_cues)
    body, stated = _marked(text, truth)
    out = f'<p class="expl">{body}</p>'
    said = set(stated)
    missed = sorted(c for c in truth if c not in said and (c[0], -c[1]) not in said)
    score = cue_scores(said, truth)
    out += f'<p class="ref"><span class="k">reference</span> {ref}</p>'
    facts = [f"cue F1 {format_number(score['f1'])}"]
    if score["contradictions"]:
        facts.append(f"{score['contradictions']} contradicted")
    if missed:
        facts.append("missed: " + ", ".join(map(cue_label, missed)))
    return out + f'<p class="cues">{html.escape(" · ".join(facts))}</p>'


def examples_html(repo: Path, n: int, explanations: Mapping[str, str] | None = None) -> str:
    """Example predictions and explanations, each beside key frames of its take, cues highlighted.

    Explanations come from the predictions row, else the descriptions.parquet beside it (which also
    gives the reference the cues are checked against), else ``explanations`` (take_id -> text)."""
    path = find_predictions(repo)
    if path is None or n <= 0:
        return _missing("predictions file (take_id, label, prediction, explanation) under metrics/ or data/")
    cols = _prediction_columns(path) or {}
    rows = [
        {k: r.get(v) for k, v in cols.items()} | {"corpus": r.get("corpus")} for r in _read_table_rows(path)
    ]
    rows = [r for r in rows if r.get("take_id") is not None]
    described = described_takes(path)
    for r in rows:
        d = described.get(str(r["take_id"]), {})
        r["explanation"] = (
            r.get("explanation") or d.get("explanation") or (explanations or {}).get(str(r["take_id"]))
        )
        r["reference"] = d.get("reference")
    if not rows:
        return f'<p class="missing">{html.escape(_rel(path, repo))} has no rows</p>'
    picked = pick_examples(rows, n)
    takes = _take_rows(repo, [str(r["take_id"]) for r in picked])
    cards = []
    for r in picked:
        ok = str(r.get("prediction")) == str(r.get("label"))
        img = ""
        take = takes.get(str(r["take_id"]))
        try:
            png = _render_strip(take) if take is not None else None
        except (ValueError, IndexError, KeyError):  # a row the renderer cannot draw: text only
            png = None
        if png is not None:
            alt = html.escape(f"key frames of {r['take_id']}")
            img = f'<img class="take" alt="{alt}" src="{_png_uri(png)}">'
        expl = r.get("explanation")
        cards.append(
            f'<div class="example">{img}<div class="caption">'
            f'<div class="take-id">{html.escape(str(r["take_id"]))}</div>'
            f"<div>label <b>{html.escape(str(r.get('label')))}</b> · predicted "
            f'<b class="{"ok" if ok else "bad"}">{html.escape(str(r.get("prediction")))}</b></div>'
            + (explanation_html(str(expl), r.get("reference")) if expl else "")
            + "</div></div>"
        )
    return f'<p class="src">from {html.escape(_rel(path, repo))}</p>' + "".join(cards)


# ----------------------------------------------------------------------------- page


def _rel(path: Path, repo: Path) -> str:
    try:
        return str(path.relative_to(repo))
    except ValueError:
        return str(path)


def _missing(what: str | None = None) -> str:
    text = f"{what}: {MISSING}" if what else MISSING
    return f'<p class="missing">{html.escape(text)}</p>'


def _figure(uri: str, caption: str) -> str:
    cap = html.escape(caption)
    return f'<figure><img alt="{cap}" src="{uri}"><figcaption>{cap}</figcaption></figure>'


def _plot_section(repo: Path, specs: Sequence[PlotSpec]) -> tuple[str, str, str]:
    """HTML of (confusion matrices, training curves, other plots) from the declared plots."""
    conf, curves, other = [], [], []
    for spec in specs:
        files = expand(repo, spec.path, (*_PLOT_DATA, *_PLOT_IMAGES))
        if not files:
            kind = conf if spec.template == "confusion" else curves if spec.x in _STEP_COLUMNS else other
            kind.append(_missing(spec.path))
            continue
        for f in files:
            rel = _rel(f, repo)
            mime = _PLOT_IMAGES.get(f.suffix.lower())
            if mime:
                other.append(_figure(_png_uri(f.read_bytes(), mime), rel))
                continue
            try:
                rows = load_rows(f)
            except Exception as exc:  # a broken file is shown as such on the page, never fatal
                other.append(
                    f'<p class="missing">{html.escape(rel)}: could not read ({html.escape(str(exc))})</p>'
                )
                continue
            fields = set(rows[0]) if rows else set()
            # rows = actual, columns = predicted; other field names follow DVC's axes (y rows, x columns)
            actual, predicted = "actual", "predicted"
            if not {actual, predicted} <= fields and spec.template == "confusion" and spec.x and spec.y:
                actual, predicted = spec.y, spec.x
            step = spec.x if spec.x in fields and spec.template != "confusion" else None
            step = step or next((c for c in _STEP_COLUMNS if c in fields), None)
            if {actual, predicted} <= fields:
                groups: dict[str, list[dict[str, Any]]] = {}
                for r in rows:
                    groups.setdefault(str(r.get("corpus") or ""), []).append(r)
                for corpus, grp in sorted(groups.items()):
                    hits = sum(str(r[actual]) == str(r[predicted]) for r in grp)
                    title = f"{rel}" + (f" · corpus {corpus}" if corpus else "")
                    cap = f"{title} — {hits}/{len(grp)} correct ({format_number(hits / len(grp))})"
                    short = f"corpus {corpus}" if corpus else f.stem  # the caption names the file
                    conf.append(_figure(_png_uri(confusion_png(grp, actual, predicted, short)), cap))
            elif step and rows:
                png = curves_png(rows, step, f"{f.parent.name}/{f.stem}")
                if png:
                    curves.append(_figure(_png_uri(png), f"{rel} — {len(rows)} logged {step}s"))
            else:
                other.append(
                    f'<p class="missing">{html.escape(rel)}: no figure for columns '
                    f"{html.escape(', '.join(sorted(fields)) or '(none)')}</p>"
                )
    return "".join(conf), "".join(curves), "".join(other)


def _header(repo: Path, cfg: Config | None, problem: str | None) -> str:
    source = cfg.data.source if cfg else None
    lines = [
        f'<h1>skellm report</h1><p class="meta">{html.escape(str(repo.resolve()))} · generated '
        f"{_dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    ]
    if source:
        lines.append(f" · data.source: <b>{html.escape(str(source))}</b>")
    lines.append("</p>")
    if problem:
        lines.append(f'<p class="missing">params: {html.escape(problem)}</p>')
    if cfg and source == "synth":
        size = cfg.data.synth.size
        lines.append(
            '<div class="synthetic"><b>Synthetic data.</b> Every number on this page was measured on '
            "the synthetic emotional-mocap corpus that skellm generates itself "
            f"(size: {html.escape(str(size))}), not on recordings of people. Use it to check the "
            "pipeline, not to judge how well real bodies are read."
            "</div>"
        )
    return "".join(lines)


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1180px;
padding:16px 24px;color:#1d1d1f;background:#fff}
h1{margin:0 0 4px}h2{border-bottom:2px solid #e5e5e5;padding-bottom:4px;margin-top:32px}
h3{margin:20px 0 6px}h4{margin:12px 0 4px;color:#444;font-weight:600}
.meta{color:#666;margin:0 0 12px}.src{color:#666;font-size:12px}
.synthetic{background:#fff4d6;border:1px solid #e8b730;border-radius:6px;padding:10px 14px;margin:8px 0}
table{border-collapse:collapse;margin:6px 0 10px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:3px 9px;text-align:left}th{background:#f5f5f7;font-weight:600}
td.num{text-align:right}table.kv th{min-width:140px}
.missing{color:#8a5a00;background:#fafafa;border-left:3px solid #e8b730;padding:4px 10px}
figure{display:inline-block;margin:8px 14px 8px 0;vertical-align:top}
figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:12px;color:#555;max-width:560px}
.example{display:flex;gap:14px;align-items:flex-start;border:1px solid #eee;border-radius:6px;
padding:8px;margin:8px 0}.example img.take{flex:0 0 auto;max-width:60%;border:1px solid #eee}
.take-id{font-family:ui-monospace,monospace;font-size:12px;color:#555}.expl{margin:6px 0 0}
.ok{color:#18794e}.bad{color:#c4320a}
mark.cue{border-radius:3px;padding:0 2px;color:inherit}mark.truth{background:#e8eefc}
mark.ok{background:#cdeed9}mark.contra{background:#f8c9bb}
mark.extra{background:#fbe7a8}.ref{margin:4px 0 0;color:#555;font-size:13px}
.ref .k,.cues{color:#666;font-size:12px}.cues{margin:2px 0 0}
"""


def build_report(repo: str | Path = ".", out: str | Path | None = None, examples: int = 6) -> Path:
    """Write the report page for the DVC repo at ``repo``; returns the path written."""
    from skellm.config import ConfigError, load_config
    from skellm.io import write_text

    repo = Path(repo)
    out = Path(out) if out is not None else repo / DEFAULT_OUT
    cfg, problem = None, None
    if (repo / "params.yaml").is_file():
        try:
            cfg = load_config(repo / "params.yaml")
        except ConfigError as exc:  # shown on the page: a report is where a user looks for what is wrong
            problem = str(exc)
    corpora = [str(c) for c in cfg.data.corpora] if cfg else []
    dvc_path = repo / "dvc.yaml"
    if dvc_path.is_file():
        import yaml

        metric_paths, plot_specs = declared_outputs(yaml.safe_load(dvc_path.read_text()) or {})
    else:
        metric_paths, plot_specs = [], []
    declared = {f for m in metric_paths for f in expand(repo, m)}
    metric_paths += [
        _rel(p, repo) for p in sorted((repo / PATHS.metrics).glob("*.json")) if p not in declared
    ]

    summary: list[tuple[str, dict[str, float]]] = []
    faith_rows: dict[str, dict[str, Any]] = {}
    explanations: dict[str, str] = {}
    blocks = []
    for m in metric_paths:
        files = expand(repo, m)
        if not files:
            blocks.append(f"<h3>{html.escape(m)}</h3>" + _missing())
        for f in files:
            rel = _rel(f, repo)
            try:
                obj = load_metrics(f)
            except Exception as exc:  # a broken file is shown as such on the page, never fatal
                blocks.append(
                    f"<h3>{html.escape(rel)}</h3>"
                    f'<p class="missing">could not read: {html.escape(str(exc))}</p>'
                )
                continue
            summary += accuracy_rows(f.stem, obj, corpora)
            faith_rows |= explanation_rows(f.stem, obj)
            explanations.update(generated_examples(obj))
            blocks.append(f"<h3>{html.escape(rel)}</h3>" + (metrics_html(obj) or "<p>(empty)</p>"))

    conf, curves, other = _plot_section(repo, plot_specs)
    parts = [_header(repo, cfg, problem), "<h2>Accuracy per corpus</h2>"]
    if summary:
        parts.append(_matrix_table(dict(summary), first=corpora, last=["all"]))
    else:
        parts.append(_missing("per-corpus accuracy (metrics with an accuracy per corpus)"))
    parts.append("<h2>Explanations</h2>")
    if faith_rows:
        parts.append(
            '<p class="src">text overlap with the reference beside cue faithfulness: the body cues an '
            "explanation states, read back through the generator's lexicon and checked against the "
            "reference's; the zeroed-token rows are the control that cannot see the body</p>"
            + _matrix_table(faith_rows, first=[*_TEXT_METRICS.values(), *_FAITH_METRICS.values()])
        )
    else:
        parts.append(_missing("description metrics with faithfulness (the evaluate stage)"))
    parts += ["<h2>Metrics</h2>", "".join(blocks) or _missing("metrics declared in dvc.yaml")]
    parts += ["<h2>Confusion matrices</h2>", conf or _missing("confusion-matrix plots (actual, predicted)")]
    parts += ["<h2>Training curves</h2>", curves or _missing("training-curve plots (step or epoch column)")]
    parts += ["<h2>Example explanations</h2>", examples_html(repo, examples, explanations)]
    if other:
        parts += ["<h2>Other plots</h2>", other]
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>skellm report</title><style>{_CSS}</style></head><body>{''.join(parts)}</body></html>\n"
    )
    write_text(out, page)
    out.chmod(0o644)  # a page to open and share: not the private mode of the temp file
    return out
