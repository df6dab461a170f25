"""Parquet files for ``train`` / ``predict``, read by pyarrow.

A Parquet column has a type, which is kept: features must be integers, floating-point
numbers or booleans (0 / 1), without nulls, NaN or infinities; the target may also be text
(or dictionary-encoded text), and a floating-point target stays float64 (as an .npz's
does: ``--task classify`` takes whole numbers as labels). Sizes are checked from the
file's metadata before a column is read, and only the columns used are read.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from .errors import CLIError, require
from .tables import check_fits_in_memory, choose_target, first_duplicate

__all__ = ["read_parquet"]


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _first_null_row(column: Any) -> int | None:
    """The 1-based row of the first null of the pyarrow ChunkedArray `column`."""
    offset = 0
    for chunk in column.chunks:
        if chunk.null_count:
            nulls = np.flatnonzero(~np.asarray(chunk.is_valid()))
            return offset + int(nulls[0]) + 1
        offset += len(chunk)
    return None


def _feature(pa: ModuleType, path: str, name: str, column: Any) -> np.ndarray:
    """The feature `column` (a ChunkedArray) as float64 (m,), or CLIError."""
    types = pa.types
    kind = column.type
    if not (types.is_integer(kind) or types.is_floating(kind) or types.is_boolean(kind)):
        raise CLIError(f"column {name!r} in {path} has type {kind}; features must be numbers "
                       f"(integer, floating point or boolean)")
    if column.null_count:
        raise CLIError(f"{path} row {_first_null_row(column)}: missing value in column "
                       f"{name!r}")
    values = column.to_numpy().astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise CLIError(f"{path} row {bad[0] + 1}: value {float(values[bad[0]])!r} in feature column "
                       f"{name!r} is not a finite number")
    return values


def _target(pa: ModuleType, path: str, name: str, column: Any) -> np.ndarray:
    """The target `column` as labels (bool, int64, text) or numbers (float64), or
    CLIError."""
    types = pa.types
    if types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    kind = column.type
    if column.null_count:
        raise CLIError(f"{path} row {_first_null_row(column)}: missing target value in column "
                       f"{name!r}")
    if types.is_string(kind) or types.is_large_string(kind):
        return column.to_numpy(zero_copy_only=False).astype(object)
    if types.is_boolean(kind):
        return column.to_numpy()
    if types.is_integer(kind):
        y = column.to_numpy()
        if y.dtype == np.uint64 and y.size and y.max() > np.iinfo(np.int64).max:
            return y.astype(np.float64)
        return y.astype(np.int64)
    if types.is_floating(kind):
        y = column.to_numpy().astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise CLIError(f"{path} row {bad[0] + 1}: target value {float(y[bad[0]])!r} in column "
                           f"{name!r} is not a finite number")
        return y
    raise CLIError(f"column {name!r} in {path} has type {kind}; a target must be numbers or "
                   f"text labels")


def read_parquet(path: str, target: str | None, need_target: bool, n_features: int | None,
                 ) -> tuple[np.ndarray, np.ndarray | None, list[str], str | None]:
    """Read the Parquet file at `path`; the target column is chosen as in a CSV file
    (:func:`~nnfast.cli.tables.choose_target`). Returns what
    :func:`~nnfast.cli.readers.read_table` returns; raises CLIError (also when pyarrow is
    not installed)."""
    pa = require("pyarrow", "reading Parquet files")
    pq = require("pyarrow.parquet", "reading Parquet files")
    try:
        meta = pq.ParquetFile(path)
        schema = meta.schema_arrow
        metadata = meta.metadata
    except Exception as exc:
        raise CLIError(f"cannot read {path} as a Parquet file ({_first_line(exc)})") from None
    header = list(schema.names)
    if not header:
        raise CLIError(f"{path} has no columns")
    dup = first_duplicate(header)
    if dup:
        raise CLIError(f"{path}: duplicate column name {dup[0]!r} (columns {dup[1]} and {dup[2]})")
    if metadata.num_rows == 0:
        raise CLIError(f"{path} has no rows")
    t = choose_target(path, header, target, need_target, n_features)
    features = [j for j in range(len(header)) if j != t]
    used = [header[j] for j in features] + ([header[t]] if need_target and t is not None
                                            else [])
    # What the file declares (uncompressed), and X as float64: a small file can declare
    # any amount of data.
    declared = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    check_fits_in_memory(path, declared + 8 * metadata.num_rows * len(features))
    try:
        table = pq.read_table(path, columns=used)
    except Exception as exc:
        raise CLIError(f"cannot read {path} as a Parquet file ({_first_line(exc)})") from None
    X = np.empty((table.num_rows, len(features)))
    for k, j in enumerate(features):
        X[:, k] = _feature(pa, path, header[j], table.column(header[j]))
    y = None
    if need_target and t is not None:  # choose_target gives a column when one is needed
        y = _target(pa, path, header[t], table.column(header[t]))
    return X, y, [header[j] for j in features], header[t] if t is not None else None
