"""The take table on disk: the one place that knows its Arrow schema and Parquet layout.

One row per take. ``positions`` is a flat float32 list (frames x joints x 3) written with
byte-stream-split and no dictionary (dictionary encoding would win and silently disable it);
zstd everywhere; row groups of a few hundred takes so a reader can fetch a few takes cheaply.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from skellm.io import atomic_path

TAKE_SCHEMA = pa.schema(
    [
        pa.field("take_id", pa.string(), nullable=False),
        pa.field("corpus", pa.string(), nullable=False),
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("source_sha256", pa.string(), nullable=False),
        pa.field("format", pa.string(), nullable=False),
        pa.field("layout", pa.string()),
        pa.field("subject", pa.string()),
        pa.field("emotion", pa.string()),
        pa.field("action", pa.string()),
        pa.field("intensity", pa.float32()),
        pa.field("description", pa.string()),
        # what the take is recognised as: the value of its corpus's label_field, and that field's name
        pa.field("label", pa.string()),
        pa.field("task", pa.string()),
        pa.field("camera", pa.string()),  # NTU-style capture metadata (cross-view / cross-setup splits)
        pa.field("setup", pa.string()),
        pa.field("fps", pa.float64(), nullable=False),
        pa.field("n_frames", pa.int32(), nullable=False),
        pa.field("n_joints", pa.int32(), nullable=False),
        pa.field("joint_names", pa.list_(pa.string()), nullable=False),
        pa.field("parents", pa.list_(pa.int32()), nullable=False),
        pa.field("units", pa.string(), nullable=False),
        pa.field("up_axis", pa.string(), nullable=False),
        pa.field("positions", pa.list_(pa.float32()), nullable=False),
        pa.field("tracked", pa.list_(pa.bool_())),
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("corpus", pa.string()),
        pa.field("take_id", pa.string()),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
    ]
)

ROW_GROUP_SIZE = 256
_POSITIONS_LEAF = "positions.list.element"  # Parquet column path of the flat position floats
_ARRAYS = ("positions", "tracked")  # per-frame data: no dictionary, no statistics


def quarantine_path(out: str | os.PathLike) -> str:
    """``x/A.parquet`` -> ``x/A.quarantine.parquet``."""
    out = os.fspath(out)
    stem = out[: -len(".parquet")] if out.endswith(".parquet") else out
    return f"{stem}.quarantine.parquet"


def take_row(positions: np.ndarray, tracked: np.ndarray | None = None, **fields: Any) -> dict[str, Any]:
    """A take-table row from a (frames, joints, 3) array and the scalar/list fields of TAKE_SCHEMA."""
    pos = np.ascontiguousarray(positions, dtype=np.float32)
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise ValueError(f"positions must be (frames, joints, 3), got {pos.shape}")
    row = {name: fields.get(name) for name in TAKE_SCHEMA.names}
    row.update(
        n_frames=int(pos.shape[0]),
        n_joints=int(pos.shape[1]),
        positions=pos.reshape(-1),
        tracked=None if tracked is None else np.asarray(tracked, dtype=bool).reshape(-1),
    )
    unknown = set(fields) - set(TAKE_SCHEMA.names)
    if unknown:
        raise ValueError(f"unknown take-table fields: {sorted(unknown)}")
    return row


def rows_to_table(rows: Sequence[Mapping[str, Any]], extra: pa.Schema | None = None) -> pa.Table:
    """Build a take table (TAKE_SCHEMA columns, plus ``extra`` columns) from row dicts."""
    schema = TAKE_SCHEMA if extra is None else pa.unify_schemas([TAKE_SCHEMA, extra])
    cols = {}
    for field in schema:
        values = [r.get(field.name) for r in rows]
        if field.name in ("positions", "tracked"):
            cols[field.name] = _flat_list_array(values, field.type)
        else:
            cols[field.name] = pa.array(values, type=field.type)
    return pa.table(cols, schema=schema)


def _flat_list_array(values: list[np.ndarray | None], type_: pa.DataType) -> pa.Array:
    """A list array built from numpy arrays in one concatenation (fast for long float lists)."""
    lengths = np.array([0 if v is None else len(v) for v in values], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int32)
    present = [v for v in values if v is not None]
    dtype = type_.value_type.to_pandas_dtype()
    flat = np.concatenate(present).astype(dtype, copy=False) if present else np.zeros(0, dtype)
    mask = pa.array([v is None for v in values]) if len(present) < len(values) else None
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat), type=type_, mask=mask)


def empty_takes() -> pa.Table:
    """A take table with no rows."""
    return TAKE_SCHEMA.empty_table()


def conform(table: pa.Table) -> pa.Table:
    """Cast ``table`` to TAKE_SCHEMA column order and types; columns beyond the schema are kept after."""
    missing = [n for n in TAKE_SCHEMA.names if n not in table.column_names]
    if missing:
        raise ValueError(f"take table lacks columns: {missing}")
    extra = [n for n in table.column_names if n not in TAKE_SCHEMA.names]
    core = table.select(TAKE_SCHEMA.names).cast(TAKE_SCHEMA)
    for name in extra:
        core = core.append_column(table.schema.field(name), table.column(name))
    return core


def write_takes(table: pa.Table, path: str | os.PathLike, row_group_size: int = ROW_GROUP_SIZE) -> None:
    """Write a take table atomically with the project's Parquet layout."""
    table = conform(table)
    with atomic_path(path) as tmp:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            use_dictionary=[_leaf(table.schema.field(n)) for n in table.column_names if n not in _ARRAYS],
            use_byte_stream_split=[_POSITIONS_LEAF],
            row_group_size=row_group_size,
            write_statistics=[_leaf(table.schema.field(n)) for n in table.column_names if n not in _ARRAYS],
        )


def _leaf(field: pa.Field) -> str:
    """Parquet column path of a top-level field (list columns store their values one level down)."""
    return f"{field.name}.list.element" if pa.types.is_list(field.type) else field.name


def read_takes(
    path: str | os.PathLike, columns: Sequence[str] | None = None, filters: Any = None
) -> pa.Table:
    """Read a take table (all or some columns, optional pyarrow ``filters``)."""
    return pq.read_table(path, columns=list(columns) if columns else None, filters=filters)


def concat_takes(tables: Iterable[pa.Table]) -> pa.Table:
    """Concatenate take tables (schemas conformed); an empty input gives an empty table."""
    tables = [conform(t) for t in tables]
    return pa.concat_tables(tables) if tables else empty_takes()


def positions_list(table: pa.Table) -> list[np.ndarray]:
    """Every row's positions as a (frames, joints, 3) float32 view, without per-row Arrow calls."""
    col = table.column("positions").combine_chunks()
    flat = col.values.to_numpy(zero_copy_only=False)
    offsets = col.offsets.to_numpy()
    nf = table.column("n_frames").to_numpy()
    nj = table.column("n_joints").to_numpy()
    bad = np.flatnonzero(np.diff(offsets) != nf.astype(np.int64) * nj * 3)
    if len(bad):
        i = int(bad[0])
        name = table.column("take_id")[i].as_py() if "take_id" in table.column_names else f"row {i}"
        raise ValueError(_size_error(name, int(offsets[i + 1] - offsets[i]), int(nf[i]), int(nj[i])))
    return [
        flat[offsets[i] : offsets[i + 1]].reshape(int(nf[i]), int(nj[i]), 3) for i in range(table.num_rows)
    ]


def tracked_list(table: pa.Table) -> list[np.ndarray | None]:
    """Every row's tracking flags as (frames, joints) bool, or None where the row has none."""
    col = table.column("tracked").combine_chunks()
    if col.null_count == len(col):
        return [None] * len(col)
    flat = col.values.to_numpy(zero_copy_only=False).astype(bool)
    offsets = col.offsets.to_numpy()
    valid = col.is_valid().to_numpy(zero_copy_only=False)
    nf = table.column("n_frames").to_numpy()
    nj = table.column("n_joints").to_numpy()
    return [
        flat[offsets[i] : offsets[i + 1]].reshape(int(nf[i]), int(nj[i])) if valid[i] else None
        for i in range(len(col))
    ]


def take_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Every row as a dict, ``positions`` as (frames, joints, 3) float32 and ``tracked`` as (frames,
    joints) bool or None, where the table has those columns (no per-value Python objects)."""
    arrays = [n for n in _ARRAYS if n in table.column_names]
    rows = table.drop_columns(arrays).to_pylist()
    per_row = {"positions": positions_list, "tracked": tracked_list}
    for name in arrays:
        for row, value in zip(rows, per_row[name](table), strict=True):
            row[name] = value
    return rows


def row_positions(row: Mapping[str, Any], dtype: Any = np.float32) -> np.ndarray:
    """One take-table row's positions (flat or already shaped) as a (frames, joints, 3) ``dtype`` array."""
    nf, nj = int(row["n_frames"]), int(row["n_joints"])
    pos = np.asarray(row["positions"], dtype=dtype)
    if pos.size != nf * nj * 3:
        raise ValueError(_size_error(row.get("take_id"), pos.size, nf, nj))
    return pos.reshape(nf, nj, 3)


def _size_error(take_id: Any, size: int, n_frames: int, n_joints: int) -> str:
    return f"{take_id}: positions has {size} values, expected {n_frames}x{n_joints}x3"


def max_joints(paths: Iterable[str | os.PathLike]) -> int:
    """The largest ``n_joints`` over the take tables at ``paths`` (reads only that column)."""
    return max(max(read_takes(p, ["n_joints"])["n_joints"].to_pylist()) for p in paths)


def write_quarantine(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> None:
    """Write quarantine rows (source_path, corpus, take_id, kind, reason, stage) atomically."""
    table = pa.Table.from_pylist(
        [{n: r.get(n) for n in QUARANTINE_SCHEMA.names} for r in rows], QUARANTINE_SCHEMA
    )
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_quarantine(path: str | os.PathLike) -> pa.Table:
    """Read a quarantine table."""
    return pq.read_table(path).cast(QUARANTINE_SCHEMA)
