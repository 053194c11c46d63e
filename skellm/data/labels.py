"""Labels of raw takes (emotion, action, subject, intensity, description) from declared sources.

Source kinds, merged in the order given (a later source overrides the fields it sets; empty values
set nothing):

- ``{"kind": "regex", "pattern": "..."}``: named groups of the pattern searched in the file stem.
- ``{"kind": "csv", "path": "...", "key": "filename", "columns": {field: csv column}, "optional": false}``:
  rows keyed by file name, with or without extension (or path relative to the corpus root).
  ``columns`` renames CSV columns to fields (e.g. KDAE's ``{subject: actor_ID}``); other columns keep
  their names. ``path`` is relative to the working directory, else to the corpus root.
- ``{"kind": "folder", "field": "emotion"}``: the parent folder's name is the value of ``field``.

``intensity`` is converted to float; every other value stays a string.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from skellm.readers.base import ReadError

FLOAT_FIELDS = ("intensity",)


def _resolve(path: str, corpus_root: Path) -> Path:
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    for cand in (corpus_root / p, corpus_root / p.name):
        if cand.exists():
            return cand
    return p


def _typed(field: str, value: str, where: str) -> Any:
    if field in FLOAT_FIELDS:
        try:
            return float(value)
        except ValueError:
            raise ReadError(where, f"{field} {value!r} is not a number") from None
    return value


def _read_csv(src: dict, corpus_root: Path) -> dict[str, dict[str, Any]]:
    path = _resolve(str(src["path"]), corpus_root)
    if not path.is_file():
        if src.get("optional"):
            return {}
        raise ReadError(path, "label CSV not found")
    key = src.get("key", "filename")
    rename = {col: field for field, col in (src.get("columns") or {}).items()}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ReadError(path, "label CSV is not UTF-8 text") from None
    rows = list(csv.reader(text.splitlines()))
    rows = [r for r in rows if any(v.strip() for v in r)]
    if not rows:
        raise ReadError(path, "label CSV is empty")
    header = [rename.get(h.strip(), h.strip()) for h in rows[0]]
    if key not in header:
        raise ReadError(path, f"label CSV has no {key!r} column (columns: {', '.join(header)})")
    out: dict[str, dict[str, Any]] = {}
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ReadError(path, f"row {n} has {len(row)} fields, header has {len(header)}")
        rec = dict(zip(header, (v.strip() for v in row), strict=True))
        name = rec.pop(key)
        if not name:
            raise ReadError(path, f"row {n} has an empty {key!r}")
        k = _norm(name)
        if k in out:
            raise ReadError(path, f"row {n}: {name!r} listed twice")
        out[k] = {f: _typed(f, v, f"{path}:{n}") for f, v in rec.items() if v != ""}
    return out


_MOCAP_EXT = (".bvh", ".mvnx", ".txt", ".csv", ".skeleton", ".c3d", ".npy", ".npz")


def _norm(name: str) -> str:
    """CSV key of a file name: forward slashes, a mocap extension dropped ("F01A0V1.bvh" -> "F01A0V1")."""
    name = name.replace("\\", "/").strip("/")
    stem, dot, ext = name.rpartition(".")
    return stem if dot and f".{ext.lower()}" in _MOCAP_EXT else name


def _keys(file: Path, corpus_root: Path) -> list[str]:
    keys = [_norm(file.name), file.name]
    try:
        rel = file.resolve().relative_to(corpus_root.resolve())
        keys = [_norm(rel.as_posix()), *keys]
    except ValueError:
        pass
    return keys


def load_labels(files: list[Path], corpus_root: Path, sources: list[dict]) -> dict[Path, dict[str, Any]]:
    """Labels of each file (keyed by the path as given) merged from ``sources`` in order."""
    corpus_root = Path(corpus_root)
    out: dict[Path, dict[str, Any]] = {f: {} for f in files}
    for src in sources:
        kind = src.get("kind")
        if kind == "regex":
            try:
                rx = re.compile(src["pattern"])
            except (KeyError, re.error) as exc:
                raise ReadError("params", f"bad label regex ({exc})") from None
            for f in files:
                m = rx.search(Path(f).stem)
                if m:
                    vals = {k: v for k, v in m.groupdict().items() if v}
                    out[f].update({k: _typed(k, v, str(f)) for k, v in vals.items()})
        elif kind == "csv":
            table = _read_csv(src, corpus_root)
            for f in files:
                rec = next((table[k] for k in _keys(Path(f), corpus_root) if k in table), None)
                if rec:
                    out[f].update(rec)
        elif kind == "folder":
            field = src.get("field")
            if not field:
                raise ReadError("params", "folder label source needs a 'field'")
            for f in files:
                parent = Path(f).parent
                if parent.resolve() != corpus_root.resolve():
                    out[f][field] = parent.name
        else:
            raise ReadError("params", f"unknown label source kind {kind!r} (regex, csv, folder)")
    return out
