"""Pandera (polars) schema of the take table, and the ``skellm validate`` command.

Every row-level check has a name (the quarantine ``kind``) and a one-line message, so a failure
names each offending take and why. Table-level problems (missing columns, wrong types) are not a
take's fault: they raise :class:`TableError`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from skellm.config import PATHS, Config, HarmonizeConfig, Paths, ValidateConfig


class TableError(Exception):
    """The table as a whole does not have the take-table shape (columns or types)."""


@dataclass(frozen=True)
class ValidationRules:
    """What a valid take is: plausible height (params ``validate``), labels in each corpus's label set and,
    for canonical harmonisation, a joint map onto the canonical skeleton (params ``harmonize``)."""

    label_sets: Mapping[str, Sequence[str]] | None = None  # per corpus, the allowed ``label`` values
    min_height_m: float = ValidateConfig.min_height_m
    max_height_m: float = ValidateConfig.max_height_m
    # canonical harmonisation needs a usable joint map (params harmonize); native does not
    harmonize: HarmonizeConfig | None = None


def _map_problems(df: Any, cfg: HarmonizeConfig) -> list[str | None]:
    """Per row, why its rig has no usable canonical map (None: it has one, or the row is malformed)."""
    from skellm.data.harmonize import rig_map

    out: list[str | None] = []
    for pos, nj, names, parents, layout in zip(
        df["positions"].to_list(),
        df["n_joints"].to_list(),
        df["joint_names"].to_list(),
        df["parents"].to_list(),
        df["layout"].to_list() if "layout" in df.columns else [None] * df.height,
        strict=True,
    ):
        if pos is None or not nj or names is None or parents is None or len(pos) < nj * 3 or len(names) != nj:
            out.append(None)  # the shape checks report it
            continue
        first = np.asarray(pos[: nj * 3], dtype=np.float64).reshape(1, nj, 3)
        try:
            rig_map(first, names, layout, parents, cfg)
            out.append(None)
        except ValueError as exc:
            out.append(str(exc))
    return out


def _heights(df: Any) -> np.ndarray:
    """Estimated height (m) per row; NaN where the row's shape is inconsistent."""
    from skellm.data.body import estimate_height_m

    out = np.full(df.height, np.nan)
    for i, (pos, nf, nj, units, up, tracked) in enumerate(
        zip(
            df["positions"].to_list(),
            df["n_frames"].to_list(),
            df["n_joints"].to_list(),
            df["units"].to_list(),
            df["up_axis"].to_list(),
            df["tracked"].to_list(),
            strict=True,
        )
    ):
        if (
            pos is None
            or nf is None
            or nj is None
            or len(pos) != nf * nj * 3
            or nf < 1
            or up not in ("y", "z")
        ):
            continue
        arr = np.asarray(pos, dtype=np.float32).reshape(nf, nj, 3)
        trk = np.asarray(tracked, dtype=bool).reshape(nf, nj) if tracked and len(tracked) == nf * nj else None
        with np.errstate(invalid="ignore"):
            out[i] = estimate_height_m(arr, units, up, trk)
    return out


def take_schema(
    cfg: ValidationRules, heights: np.ndarray | None = None, map_problems: Sequence[str | None] | None = None
):
    """The pandera DataFrameSchema of the take table under ``cfg``.

    ``heights`` (one per row, metres) enables the plausible-height check and ``map_problems`` (one
    per row, None when fine) the canonical joint-map check; :func:`validate_takes` computes both
    because they need the positions as arrays.
    """
    import pandera.polars as pa
    import polars as pl

    from skellm.data.table import TAKE_SCHEMA
    from skellm.readers.units import UNIT_SCALE

    UNITS = [*UNIT_SCALE, "unknown"]

    def row_check(expr: pl.Expr, name: str, error: str) -> pa.Check:
        return pa.Check(lambda data: data.lazyframe.select(expr.fill_null(False)), name=name, error=error)

    shape_ok = pl.col("positions").list.len() == pl.col("n_frames") * pl.col("n_joints") * 3
    checks = [
        row_check(~pl.col("take_id").is_duplicated(), "duplicate_take_id", "take_id appears more than once"),
        row_check(
            ~pl.col("source_sha256").is_duplicated(),
            "duplicate",
            "duplicate source_sha256 (same file bytes as another take)",
        ),
        row_check(pl.col("fps").is_finite() & (pl.col("fps") > 0), "fps", "fps must be finite and > 0"),
        row_check(pl.col("n_frames") >= 2, "too_few_frames", "fewer than 2 frames"),
        row_check(pl.col("n_joints") >= 1, "no_joints", "no joints"),
        row_check(shape_ok, "shape", "positions length != n_frames * n_joints * 3"),
        row_check(
            (pl.col("joint_names").list.len() == pl.col("n_joints"))
            & (pl.col("parents").list.len() == pl.col("n_joints")),
            "graph",
            "joint_names/parents length != n_joints",
        ),
        row_check(
            pl.col("tracked").is_null()
            | (pl.col("tracked").list.len() == pl.col("n_frames") * pl.col("n_joints")),
            "tracked_shape",
            "tracked length != n_frames * n_joints",
        ),
        row_check(
            pl.col("positions").list.eval(pl.element().is_finite()).list.all(),
            "non_finite",
            "non-finite values (NaN or inf) in positions",
        ),
        row_check(
            pl.col("intensity").is_null() | pl.col("intensity").is_between(0.0, 1.0),
            "intensity",
            "intensity outside [0, 1]",
        ),
        row_check(pl.col("units").is_in(UNITS), "units", f"units not one of {', '.join(UNITS)}"),
        row_check(pl.col("up_axis").is_in(["y", "z"]), "up_axis", "up_axis not 'y' or 'z'"),
    ]
    if cfg.label_sets is not None:
        pairs = [f"{c}\x1f{lab}" for c, labs in cfg.label_sets.items() for lab in labs]
        checks.append(
            row_check(
                pl.concat_str([pl.col("corpus"), pl.col("label")], separator="\x1f").is_in(pairs),
                "label_outside_set",
                "label missing or not in its corpus's label set",
            )
        )
    if heights is not None:
        ok = (heights >= cfg.min_height_m) & (heights <= cfg.max_height_m)
        checks.append(
            pa.Check(
                lambda data: pl.LazyFrame({"ok": ok}),
                name="height",
                error=f"estimated body height outside [{cfg.min_height_m}, {cfg.max_height_m}] m",
            )
        )
    if map_problems is not None:
        mapped = np.array([p is None for p in map_problems], dtype=bool)
        checks.append(
            pa.Check(
                lambda data: pl.LazyFrame({"ok": mapped}),
                name="joint_map",
                error="no usable joint map onto the canonical skeleton",
            )
        )
    # column types and nullability come from the Arrow schema, so the two cannot drift apart
    dtypes = pl.from_arrow(TAKE_SCHEMA.empty_table()).schema
    return pa.DataFrameSchema(
        {f.name: pa.Column(dtypes[f.name], nullable=f.nullable) for f in TAKE_SCHEMA},
        checks=checks,
        strict=False,
        name="take_table",
    )


def validate_takes(table: Any, cfg: ValidationRules) -> tuple[Any, list[dict[str, Any]]]:
    """Validate a take table (pyarrow Table). Returns (valid rows, one failure dict per offending take).

    A failure dict has take_id, source_path, corpus, kind (first failed check), reason (one line,
    naming the take and every check it failed).
    """
    import pandera.polars as pa
    import polars as pl
    import pyarrow as pyarrow

    df = pl.from_arrow(table)
    if not isinstance(df, pl.DataFrame):
        raise TableError("not a table")
    missing = [
        c for c in ("positions", "n_frames", "n_joints", "units", "up_axis", "tracked") if c not in df.columns
    ]
    if missing:
        raise TableError(f"take table lacks columns: {', '.join(missing)}")
    heights = _heights(df)
    h = cfg.harmonize
    map_problems = _map_problems(df, h) if h is not None and h.joints == "canonical" else None
    schema = take_schema(cfg, heights, map_problems)
    try:
        schema.validate(df, lazy=True)
        return table, []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    table_level = cases.filter(pl.col("index").is_null())
    if table_level.height:
        raise TableError(
            "; ".join(
                f"{r['column']}: {r['check']} (got {r['failure_case']})"
                for r in table_level.iter_rows(named=True)
            )
        )
    by_row: dict[int, list[str]] = {}
    kinds = {c.error: c.name for c in schema.checks}
    for r in cases.iter_rows(named=True):
        msg = r["check"] if r["schema_context"] == "DataFrameSchema" else f"{r['column']}: {r['check']}"
        by_row.setdefault(int(r["index"]), [])
        if msg not in by_row[int(r["index"])]:
            by_row[int(r["index"])].append(msg)
    failures = []
    for i in sorted(by_row):
        row = df.row(i, named=True)
        msgs = by_row[i]
        detail = "; ".join(_detail(m, kinds.get(m), heights[i], row["units"], map_problems, i) for m in msgs)
        failures.append(
            dict(
                take_id=row["take_id"],
                source_path=row["source_path"],
                corpus=row["corpus"],
                kind=kinds.get(msgs[0], "schema"),
                reason=f"{row['take_id']} ({row['source_path']}): {detail}",
                stage="validate",
            )
        )
    keep = np.ones(df.height, dtype=bool)
    keep[sorted(by_row)] = False
    return table.filter(pyarrow.array(keep)), failures


def _detail(
    msg: str, kind: str | None, height: float, units: str, map_problems: Sequence[str | None] | None, i: int
) -> str:
    """A failed check's message with what was measured: the height, or why the joint map failed."""
    if kind == "height":
        return (
            f"{msg} (got {height:.2f} m)"
            if np.isfinite(height)
            else f"{msg} (cannot estimate it; units {units!r})"
        )
    if kind == "joint_map" and map_problems is not None:
        return f"{msg}: {map_problems[i]}"
    return msg


def validation_rules(cfg: Config) -> ValidationRules:
    """The rules of params ``validate`` and ``data.corpora`` (each corpus's label set)."""
    corpora = cfg.data.corpora
    sets = {c: list(cc.label_set) for c, cc in corpora.items() if cc.label_set}
    return ValidationRules(
        label_sets=sets or None,
        min_height_m=cfg.validate.min_height_m,
        max_height_m=cfg.validate.max_height_m,
        harmonize=cfg.harmonize,
    )


def data_metrics(takes: Any, quarantine: Any) -> dict[str, Any]:
    """metrics/data.json: takes per corpus and quarantined files per corpus and kind."""
    from collections import Counter

    per_corpus = Counter(takes.column("corpus").to_pylist())
    q = Counter(
        zip(quarantine.column("corpus").to_pylist(), quarantine.column("kind").to_pylist(), strict=True)
    )
    quarantined: dict[str, dict[str, int]] = {}
    for (corpus, kind), n in sorted(q.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        quarantined.setdefault(str(corpus), {})[kind] = n
    return {
        "takes": {**dict(sorted(per_corpus.items())), "total": takes.num_rows},
        "quarantined": {**quarantined, "total": quarantine.num_rows},
    }


def validate_stage(cfg: Config, paths: Paths = PATHS) -> int:
    """Merge every ``<paths.ingested>/*.parquet`` (and quarantine), validate, write the validated tables.

    ``validate.on_error: fail`` prints one line per offending take and returns 1 without writing.
    """
    from pathlib import Path

    import pyarrow as pyarrow

    from skellm.data.table import (
        QUARANTINE_SCHEMA,
        concat_takes,
        quarantine_path,
        read_quarantine,
        read_takes,
        write_quarantine,
        write_takes,
    )
    from skellm.io import write_json

    tables = sorted(
        p for p in Path(paths.ingested).glob("*.parquet") if not p.name.endswith(".quarantine.parquet")
    )
    if not tables:
        print(f"validate: no take tables in {paths.ingested}/", file=sys.stderr)
        return 1
    takes = concat_takes(read_takes(p) for p in tables)
    earlier = [read_quarantine(q) for p in tables if Path(q := quarantine_path(p)).exists()]
    valid, failures = validate_takes(takes, validation_rules(cfg))
    if failures and cfg.validate.on_error == "fail":
        for f in failures:
            print(f["reason"], file=sys.stderr)
        print(
            f"validate: {len(failures)} of {takes.num_rows} takes failed (validate.on_error: fail)",
            file=sys.stderr,
        )
        return 1
    quarantine = pyarrow.concat_tables(earlier + [pyarrow.Table.from_pylist(failures, QUARANTINE_SCHEMA)])
    write_takes(valid, Path(paths.validated) / "takes.parquet")
    write_quarantine(quarantine.to_pylist(), Path(paths.validated) / "quarantine.parquet")
    metrics = data_metrics(valid, quarantine)
    write_json(paths.metrics_json("data"), metrics)
    print(
        f"validate: {takes.num_rows} ingested takes = {valid.num_rows} valid + {len(failures)} quarantined; "
        f"{quarantine.num_rows} files quarantined in all"
    )
    return 0
