"""DATA files for ``train`` and ``predict``, chosen by the file's extension:

* ``.csv`` (and any other name): text with a header row, read by pandas' C parser
  (:mod:`.read_csv`; without pandas, by the strict built-in reader, slower);
* ``.parquet`` / ``.pq``: a Parquet file, read by pyarrow (:mod:`.read_parquet`);
* ``.npy``: one 2-D numeric array, memory-mapped, features then the target last;
* ``.npz``: arrays ``X`` (m, d) and ``y`` (m,) (:mod:`.read_arrays`).

Every problem with a file (missing, unreadable, ragged, non-numeric, NaN, a reader's
package not installed) is raised as a :class:`~nnfast.cli.errors.CLIError` naming the
file, the line or row, and the column, since the command line reports it as one line;
the tests pin these messages. This module holds what the formats share: the dispatch, the
memory check, which column is the target, and how a numeric target becomes labels.
"""
from __future__ import annotations

import os
import stat

import numpy as np

from .errors import CLIError

__all__ = ["read_table", "physical_memory", "format_bytes", "PARQUET_SUFFIXES"]

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


def _regular_file(path: str) -> int:
    """CLIError unless `path` is an existing regular file: /dev/zero never ends, a FIFO
    blocks until someone writes to it; only a regular file has an end and a size."""
    if not os.path.exists(path):
        raise CLIError(f"no such file: {path}")
    if os.path.isdir(path):
        raise CLIError(f"{path} is a directory, not a data file")
    try:
        st = os.stat(path)
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise CLIError(f"{path} is not a regular file (a device, FIFO or socket); DATA must "
                       f"be a .csv, .parquet, .npy or .npz file")
    return st.st_size


def read_table(path: str, target: str | None = None, need_target: bool = True,
               n_features: int | None = None,
               ) -> tuple[np.ndarray, np.ndarray | None, list[str], str | None]:
    """Read DATA for ``train`` / ``predict``.

    The format follows the extension (see the module's docstring). In a CSV or Parquet
    file the target is the column named `target`, by default the last one, and every
    other column is a numeric feature; an ``.npy`` array's target is its last column; an
    ``.npz`` archive's is its array ``y``. For prediction (``need_target=False``) the
    target column is dropped when named (or, with `n_features` known, when the file has
    exactly one column more than the model has features).

    Returns (X (m, d) float64, or float32 from an .npy of float32 (then a read-only
    memory map), y (m,) or None, feature names, target name or None).
    Raises CLIError naming the problem.
    """
    path = os.fspath(path)
    size = _regular_file(path)
    lower = path.lower()
    if lower.endswith((".npz", ".npy")):
        if target is not None:  # silently ignored, it would train on another column
            what = ("an .npz archive, whose target is its array 'y'" if lower.endswith(".npz")
                    else "an .npy array, whose target is its last column")
            raise CLIError(f"--target names a CSV or Parquet column; {path} is {what}")
        from .read_arrays import read_npy, read_npz

        if lower.endswith(".npz"):
            return read_npz(path, need_target)
        return read_npy(path, need_target, n_features)
    if lower.endswith(PARQUET_SUFFIXES):
        from .read_parquet import read_parquet

        return read_parquet(path, target, need_target, n_features)
    check_fits_in_memory(path, size * CSV_MEMORY_FACTOR)
    from .read_csv import read_csv

    return read_csv(path, target, need_target, n_features, size)
