"""NumPy files for ``train`` / ``predict``: an ``.npz`` archive with arrays ``X`` and ``y``,
or one ``.npy`` array laid out like a CSV without its header (features, then the target
last), memory-mapped rather than read.

Shapes and dtypes are checked from the headers before any data is read: an archive's few
bytes can declare any amount of data, and NumPy allocates what a header says.
"""
from __future__ import annotations

import zipfile
from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import CLIError
from .tables import check_fits_in_memory, whole_numbers_as_int

__all__ = ["read_npz", "read_npy"]

_NPY_MAGIC = b"\x93NUMPY"
# Rows checked for NaN at a time: a memory-mapped array is never held whole, nor is a
# full-size mask of it.
_CHECK_ROWS = 65536
_INT64_MAX = np.iinfo(np.int64).max


def _npz_headers(path: str, names: Iterable[str],
                 ) -> tuple[dict[str, tuple[tuple[int, ...], np.dtype[Any]]], list[str]]:
    """{name: (shape, dtype)} for the members `names` of the .npz at `path` that exist,
    from their .npy headers alone, refusing a header that claims more bytes than its
    member holds: NumPy allocates what the header says before reading a byte."""
    headers: dict[str, tuple[tuple[int, ...], np.dtype[Any]]] = {}
    with zipfile.ZipFile(path) as zf:
        present = set(zf.namelist())
        for name in names:
            if name + ".npy" not in present:
                continue
            info = zf.getinfo(name + ".npy")
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(f)
            claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if claimed > info.file_size:
                raise ValueError(f"member {name!r} claims {claimed} bytes but holds "
                                 f"{info.file_size}")
            headers[name] = (shape, dtype)
    return headers, sorted(n[:-4] if n.endswith(".npy") else n for n in present)


def _npz_target(y: np.ndarray, path: str) -> np.ndarray:
    """y as an array scikit-learn takes, or CLIError: byte strings are decoded (UTF-8),
    complex values and other non-label dtypes are refused rather than cast."""
    if y.dtype.kind == "S":
        try:
            return np.char.decode(y, "utf-8")
        except UnicodeDecodeError:
            raise CLIError(f"y in {path} holds byte strings that are not UTF-8 text") from None
    if y.dtype.kind == "c":
        raise CLIError(f"y in {path} is complex (dtype {y.dtype}); targets must be real "
                       f"numbers or labels")
    if y.dtype.kind not in "biufU":
        raise CLIError(f"y in {path} has dtype {y.dtype}; targets must be numbers or "
                       f"text labels")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise CLIError(f"y in {path} holds NaN or infinite values")
    return y


def read_npz(path: str, need_target: bool) -> tuple[np.ndarray, np.ndarray | None, list[str], str | None]:
    """Read the .npz archive at `path`: X (m, d) and, when `need_target`, y (m,). Returns
    what :func:`~nnfast.cli.readers.read_table` returns; raises CLIError."""
    # Shapes and dtypes are checked from the headers, before any array is read: an
    # archive's few bytes can declare any amount of data.
    try:
        headers, members = _npz_headers(path, ("X", "y") if need_target else ("X",))
    except Exception as exc:
        raise CLIError(f"cannot read {path} as an .npz archive ({exc})") from None
    if "X" not in headers:
        raise CLIError(f"{path} has no array 'X' (it has: {', '.join(members) or 'none'})")
    shape, dtype = headers["X"]
    if len(shape) != 2:
        raise CLIError(f"X in {path} must be 2-D (examples x features); got shape {shape}")
    if dtype.kind not in "biuf":
        raise CLIError(f"X in {path} is not numeric (dtype {dtype})")
    if 0 in shape:
        raise CLIError(f"X in {path} is empty (shape {shape})")
    if need_target and "y" not in headers:
        raise CLIError(f"{path} has no target array 'y'")
    if need_target and (len(headers["y"][0]) != 1 or headers["y"][0][0] != shape[0]):
        raise CLIError(f"y in {path} must be 1-D with one value per row of X; got shape "
                       f"{headers['y'][0]} for X of shape {shape}")
    # X is also converted to float64: room for that copy too.
    check_fits_in_memory(path, sum(int(np.prod(s, dtype=object)) * d.itemsize
                                    for s, d in headers.values())
                          + 8 * shape[0] * shape[1])
    try:
        with np.load(path, allow_pickle=False) as data:
            X = data["X"]
            y = data["y"] if need_target else None
    except Exception as exc:
        raise CLIError(f"cannot read {path} as an .npz archive ({exc})") from None
    X = X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        raise CLIError(f"X in {path} holds NaN or infinite values")
    if y is not None:
        y = _npz_target(y, path)
    names = [f"x{j}" for j in range(X.shape[1])]
    return X, y, names, ("y" if y is not None else None)




def _first_non_finite(X: np.ndarray) -> tuple[int, int] | None:
    """(row, column) of the first NaN or infinity in the 2-D float array `X`, or None;
    `X` is checked a block of rows at a time."""
    for start in range(0, X.shape[0], _CHECK_ROWS):
        block = np.asarray(X[start:start + _CHECK_ROWS])
        finite = np.isfinite(block)
        if not finite.all():
            i, j = np.argwhere(~finite)[0]
            return start + int(i), int(j)
    return None


def _npy_target(path: str, column: np.ndarray) -> np.ndarray:
    """The target column (m,) of an .npy array as labels or numbers: bool as is, integers
    as int64 (float64 beyond its range), floats as int64 when all are whole numbers
    float64 holds exactly (as a CSV's are), else float64."""
    if column.dtype.kind == "b":
        return np.array(column)
    if column.dtype.kind in "iu":
        if column.dtype.kind == "u" and column.size and column.max() > _INT64_MAX:
            return column.astype(np.float64)
        return column.astype(np.int64)
    y = column.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise CLIError(f"{path} row {bad[0] + 1}: target value {float(y[bad[0]])!r} (last column) "
                       f"is not a finite number")
    return whole_numbers_as_int(y)


def read_npy(path: str, need_target: bool, n_features: int | None,
             ) -> tuple[np.ndarray, np.ndarray | None, list[str], str | None]:
    """Read the 2-D .npy array at `path` memory-mapped: its last column is the target
    when training (`need_target`), or for prediction when the array has one column
    more than the model's `n_features`. X is a read-only view of the map when the
    array is float32 or float64 (converted to float64 otherwise). Returns what
    :func:`~nnfast.cli.readers.read_table` returns; raises CLIError."""
    try:
        with open(path, "rb") as f:
            magic = f.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}") from None
    if magic != _NPY_MAGIC:
        raise CLIError(f"{path} is not an .npy file (no NumPy array header)")
    try:
        # A memory map, not a read: the file's pages come in as they are used, and a
        # header that claims more data than the file holds fails here, allocating nothing.
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CLIError(f"cannot read {path} as an .npy array ({msg})") from None
    if data.ndim != 2:
        raise CLIError(f"the array in {path} must be 2-D (examples x columns); got shape "
                       f"{data.shape}")
    if data.dtype.kind not in "biuf":
        raise CLIError(f"the array in {path} is not numeric (dtype {data.dtype})")
    if 0 in data.shape:
        raise CLIError(f"the array in {path} is empty (shape {data.shape})")
    m, columns = data.shape
    has_target = need_target or (n_features is not None and columns == n_features + 1)
    if need_target and columns < 2:
        raise CLIError(f"{path} needs at least one feature column and a target column "
                       f"(the last); got shape {data.shape}")
    X = data[:, :-1] if has_target else data
    if X.dtype not in (np.float32, np.float64):
        check_fits_in_memory(path, 8 * X.size)
        X = X.astype(np.float64)
    if X.dtype.kind == "f":
        bad = _first_non_finite(X)
        if bad is not None:
            i, j = bad
            raise CLIError(f"{path} row {i + 1}, column {j + 1}: value {float(X[i, j])!r} is not "
                           f"a finite number")
    y = _npy_target(path, data[:, -1]) if need_target else None
    names = [f"x{j}" for j in range(X.shape[1])]
    return X, y, names, ("y" if need_target else None)
