"""Ingest raw mocap files into the take table (one row per take) plus a quarantine table.

Every input file ends in exactly one of the two tables. Quarantine reasons (``kind``):
``unreadable`` (the reader's one-line ReadError), ``duplicate`` (same bytes as an earlier file),
``missing_label`` / ``label_outside_set`` (corpus label set), ``missing_joint`` (a joint with no
finite position in any frame). NaN positions mark joints the reader lost: they become ``tracked``
False and are filled by interpolation over time so the table holds finite values only.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skellm.config import PATHS, Config, CorpusConfig, Paths
from skellm.cpus import resolve_threads
from skellm.readers.base import Motion

LABEL_FIELDS = ("subject", "emotion", "action", "intensity", "description", "camera", "setup")


@dataclass
class IngestResult:
    """What an ingest run produced: rows kept and rows quarantined (with reasons)."""

    n_files: int
    n_takes: int
    quarantine: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_quarantined(self) -> int:
        return len(self.quarantine)

    def summary(self, corpus: str) -> str:
        kinds = Counter(q["kind"] for q in self.quarantine)
        detail = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        return (
            f"ingest {corpus}: {self.n_files} files = {self.n_takes} takes + "
            f"{self.n_quarantined} quarantined" + (f" ({detail})" if detail else "")
        )


def find_files(root: str | os.PathLike, patterns: Sequence[str]) -> list[Path]:
    """Files under ``root`` matching any glob pattern, sorted (the order decides which duplicate is first)."""
    root = Path(root)
    found: set[Path] = set()
    for pat in patterns:
        found.update(p for p in root.glob(pat) if p.is_file())
    return sorted(found)


def _display_path(path: Path) -> str:
    """Path relative to the working directory when inside it (keeps tables machine-independent)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _read_one(path: str, opts: Mapping[str, Any]) -> tuple[str, str, Any]:
    """Worker: hash and read one file. Returns (status, sha256, Motion or reason)."""
    from skellm.io import sha256_file
    from skellm.readers import read_motion
    from skellm.readers.base import ReadError

    try:
        sha = sha256_file(path)
    except OSError as exc:
        return "error", "", f"{path}: cannot read file ({exc.strerror})"
    try:
        return "ok", sha, read_motion(path, **opts)
    except ReadError as exc:
        return "error", sha, str(exc)


def _map_files(
    files: Sequence[Path], opts: Mapping[str, Any], workers: int, desc: str
) -> list[tuple[str, str, Any]]:
    from tqdm import tqdm

    paths = [str(p) for p in files]
    workers = resolve_threads(workers)
    bar = dict(total=len(paths), desc=desc, unit="file", disable=None, file=sys.stderr)
    if workers <= 1 or len(paths) < 2:
        return [_read_one(p, opts) for p in tqdm(paths, **bar)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        chunk = max(1, min(16, len(paths) // (4 * workers)))
        it = pool.map(_read_one, paths, [opts] * len(paths), chunksize=chunk)
        return list(tqdm(it, **bar))


def _label_lookup(labels: Mapping[Any, Mapping[str, Any]], path: Path) -> dict[str, Any]:
    for key in (path, str(path), path.as_posix(), path.name, path.stem):
        if key in labels:
            return dict(labels[key])
    return {}


def _clean_labels(raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in LABEL_FIELDS:
        v = raw.get(k)
        if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
            out[k] = None
        elif k == "intensity":
            out[k] = float(v)
        else:
            out[k] = str(v).strip()
    return out


class MissingJointError(ValueError):
    """A joint has no finite position in any frame: the take cannot be used (quarantine missing_joint)."""


def motion_row(motion: Motion, **fields: Any) -> dict[str, Any]:
    """The take-table row of a read motion, as ingest stores it and predict prepares it.

    Lost samples (NaN) are filled from the joint's other frames and marked untracked; ``fields`` are the
    row's identity and label columns. Raises :class:`MissingJointError` for a joint never seen.
    """
    from skellm.data.body import fill_gaps
    from skellm.data.table import take_row

    pos = np.asarray(motion.positions, dtype=np.float32)
    tracked = None if motion.tracked is None else np.asarray(motion.tracked, dtype=bool)
    lost = np.isnan(pos).any(axis=2)
    if lost.any():
        never = np.flatnonzero(lost.all(axis=0)) if pos.shape[0] else []
        if len(never):
            names = ", ".join(motion.joint_names[j] for j in never[:3])
            raise MissingJointError(f"joint(s) {names} have no finite position in any frame")
        pos = fill_gaps(pos, lost)
        tracked = ~lost if tracked is None else tracked & ~lost
    return take_row(
        pos,
        tracked,
        format=motion.fmt,
        layout=motion.layout,
        fps=float(motion.fps),
        joint_names=list(motion.joint_names),
        parents=[int(p) for p in motion.parents],
        units=motion.units,
        up_axis=motion.up_axis,
        **fields,
    )


def ingest_files(
    files: Sequence[Path],
    corpus: str,
    out: str | os.PathLike,
    *,
    root: str | os.PathLike | None = None,
    labels: Mapping[Any, Mapping[str, Any]] | None = None,
    label_field: str = "emotion",
    label_set: Sequence[str] | None = None,
    read_opts: Mapping[str, Any] | None = None,
    workers: int = 1,
    reader: Callable[..., tuple[str, str, Any]] | None = None,
) -> IngestResult:
    """Read ``files`` and write the take table ``out`` and its quarantine table beside it.

    ``labels`` maps a file (path, name or stem) to label fields; ``label_set`` (if given) is the
    corpus's allowed values of ``label_field``. ``root`` anchors take ids (``<corpus>/<relative path>``).
    """
    from skellm.data.table import quarantine_path, rows_to_table, write_quarantine, write_takes

    labels = labels or {}
    allowed = set(label_set) if label_set else None
    files = [Path(f) for f in files]
    root_path = Path(root) if root is not None else None
    results = (
        [reader(str(f), dict(read_opts or {})) for f in files]
        if reader
        else _map_files(files, dict(read_opts or {}), workers, f"ingest {corpus}")
    )

    rows: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    first_by_sha: dict[str, str] = {}
    for path, (status, sha, payload) in zip(files, results, strict=True):
        src = _display_path(path)
        take_id = f"{corpus}/{_relative_stem(path, root_path)}"

        def reject(kind: str, reason: str, src: str = src, take_id: str = take_id) -> None:
            quarantine.append(
                dict(
                    source_path=src, corpus=corpus, take_id=take_id, kind=kind, reason=reason, stage="ingest"
                )
            )

        if status != "ok":
            reject("unreadable", payload)
            continue
        if sha in first_by_sha:
            reject("duplicate", f"{src}: duplicate of {first_by_sha[sha]} (same sha256)")
            continue
        first_by_sha[sha] = src
        lab = _clean_labels(_label_lookup(labels, path))
        value = lab.get(label_field)
        if allowed is not None and value is None:
            reject("missing_label", f"{src}: no {label_field} label from any label source")
            continue
        if allowed is not None and value not in allowed:
            reject(
                "label_outside_set", f"{src}: {label_field} {value!r} is not in corpus {corpus}'s label set"
            )
            continue
        try:
            row = motion_row(
                payload,
                take_id=take_id,
                corpus=corpus,
                source_path=src,
                source_sha256=sha,
                label=value,
                task=label_field,
                **lab,
            )
        except MissingJointError as exc:
            reject("missing_joint", f"{src}: {exc}")
            continue
        rows.append(row)
    write_takes(rows_to_table(rows), out)
    write_quarantine(quarantine, quarantine_path(out))
    result = IngestResult(n_files=len(files), n_takes=len(rows), quarantine=quarantine)
    assert result.n_takes + result.n_quarantined == result.n_files
    return result


def _relative_stem(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).with_suffix("").as_posix()
        except ValueError:
            pass
    return path.stem


def ingest_corpus(corpus: str, cfg: CorpusConfig, out: str | os.PathLike, workers: int = 1) -> IngestResult:
    """Ingest one corpus as configured in params ``data.corpora.<corpus>`` (root, patterns, labels...)."""
    root = Path(cfg.root)
    if not root.is_dir():
        raise FileNotFoundError(f"corpus {corpus}: root folder {root} does not exist")
    files = find_files(root, cfg.patterns)
    labels = load_corpus_labels(files, root, cfg.labels)
    return ingest_files(
        files,
        corpus,
        out,
        root=root,
        labels=labels,
        label_field=cfg.label_field,
        label_set=cfg.label_set or None,
        read_opts=read_options(cfg),
        workers=workers,
    )


def read_options(cfg: CorpusConfig) -> dict[str, Any]:
    """Reader options of a corpus config: its ``read`` mapping, plus ``fps`` when declared."""
    opts = dict(cfg.read or {})
    if cfg.fps is not None:
        opts.setdefault("fps", float(cfg.fps))
    return opts


def load_corpus_labels(
    files: Sequence[Path], root: Path, sources: Sequence[Mapping[str, Any]]
) -> dict[Any, dict[str, Any]]:
    """Labels per file from the corpus's label sources (skellm.data.labels); none when no sources."""
    if not sources:
        return {}
    from skellm.data.labels import load_labels

    return load_labels(list(files), root, list(sources))


def run_stage(cfg: Config, corpus: str, paths: Paths = PATHS) -> IngestResult:
    """ingest stage for one corpus of ``data.corpora``: raw files -> ``<paths.ingested>/<corpus>.parquet``."""
    if corpus not in cfg.data.corpora:
        raise ValueError(f"unknown corpus {corpus!r}; params data.corpora has {sorted(cfg.data.corpora)}")
    result = ingest_corpus(
        corpus, cfg.data.corpora[corpus], paths.ingested / f"{corpus}.parquet", cfg.data.workers
    )
    print(result.summary(corpus))
    return result
