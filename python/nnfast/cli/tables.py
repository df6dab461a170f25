"""What the DATA readers share (:mod:`.readers` dispatches to :mod:`.read_csv`,
:mod:`.read_parquet` and :mod:`.read_arrays`, which all import this module, never the
dispatcher): the memory check, which column is the target, and how a numeric target
becomes labels."""
from __future__ import annotations

import os

import numpy as np

from .errors import CLIError

__all__ = ["physical_memory", "format_bytes", "check_fits_in_memory", "choose_target",
           "whole_numbers_as_int", "first_duplicate", "PARQUET_SUFFIXES", "CSV_MEMORY_FACTOR", "EXACT_INT"]

# Integers up to 2**53 are exact in float64: a whole-number float target beyond that is
# kept as float rather than cast to an int64 the text did not say.
EXACT_INT = 2**53
# How much memory reading a text file may take, as a multiple of its size: a CSV held as
# Python strings takes several times its bytes, and pandas' columns of short cells (8
# bytes for "1,") about four times.
CSV_MEMORY_FACTOR = 8
PARQUET_SUFFIXES = (".parquet", ".pq")


def physical_memory() -> int | None:
    """This machine's memory in bytes, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def format_bytes(n: float) -> str:
    """`n` bytes as a short figure: '512 B', '3.2 MiB', '7.3 TiB'."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"


def check_fits_in_memory(path: str, needed: float) -> None:
    """CLIError when reading `path` needs `needed` bytes, more than this machine has."""
    memory = physical_memory()
    if memory is not None and needed > memory:
        raise CLIError(f"{path} needs about {format_bytes(needed)} of memory to read; "
                       f"this machine has {format_bytes(memory)}")


def choose_target(path: str, header: list[str], target: str | None, need_target: bool,
                  n_features: int | None) -> int | None:
    """The index of the target column among `header` (column names), or None.

    Training (`need_target`): the column named `target`, by default the last one. For
    prediction: the column named `target` when given; otherwise, with `n_features` known,
    a table with exactly one column more than the model has features is taken to be laid
    out like the training file and its last column is the target; else None.
    """
    if target is not None and target not in header:
        raise CLIError(f"unknown column {target!r} in {path} (columns: {', '.join(header)})")
    if need_target:
        if len(header) < 2:
            raise CLIError(f"{path} needs at least one feature column and a target column")
        return header.index(target) if target is not None else len(header) - 1
    if target is not None:
        return header.index(target)
    if n_features is not None and len(header) == n_features + 1:
        return len(header) - 1
    return None


def whole_numbers_as_int(y: np.ndarray) -> np.ndarray:
    """float64 `y` (finite) as int64 when every value is a whole number that float64
    holds exactly (|y| <= 2**53), so that 0.0 / 1.0 are class labels; else `y`."""
    if np.all(y == np.round(y)) and np.all(np.abs(y) <= EXACT_INT):
        return y.astype(np.int64)
    return y


def first_duplicate(names: list[str]) -> tuple[str, int, int] | None:
    """The first column name given twice, with its two (1-based) positions, or None."""
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if name in seen:
            return name, seen[name] + 1, j + 1
        seen[name] = j
    return None
