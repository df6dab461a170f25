"""DATA files for ``train`` and ``predict``, chosen by the file's extension:

* ``.csv`` (and any other name): text with a header row, read by pandas' C parser
  (:mod:`.read_csv`; without pandas, by the strict built-in reader, slower);
* ``.parquet`` / ``.pq``: a Parquet file, read by pyarrow (:mod:`.read_parquet`);
* ``.npy``: one 2-D numeric array, memory-mapped, features then the target last;
* ``.npz``: arrays ``X`` (m, d) and ``y`` (m,) (:mod:`.read_arrays`).

Every problem with a file (missing, unreadable, ragged, non-numeric, NaN, a reader's
package not installed) is raised as a :class:`~nnfast.cli.errors.CLIError` naming the
file, the line or row, and the column, since the command line reports it as one line;
the tests pin these messages. This module dispatches; what the formats share is in
:mod:`.tables`.
"""
from __future__ import annotations

import os
import stat

import numpy as np

from .errors import CLIError
from .tables import CSV_MEMORY_FACTOR, PARQUET_SUFFIXES, check_fits_in_memory

__all__ = ["read_table"]

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
