"""DATA files for ``train`` and ``predict``: a CSV with a header row, or an .npz archive.

Every problem with a file (missing, unreadable, ragged, non-numeric, NaN) is raised as a
:class:`~nnfast.cli.errors.CLIError` naming the file, the line and the column, since the
command line reports it as one line; the tests pin these messages.
"""
from __future__ import annotations

import csv
import os

import numpy as np

from .errors import CLIError

__all__ = ["read_table"]


def _parse_number(text):
    # None rather than an exception: a non-numeric cell is an error in a feature column
    # but makes a target column categorical, and only the caller knows which it is.
    try:
        return float(text)
    except ValueError:
        return None


def read_table(path, target=None, need_target=True, n_features=None):
    """Read DATA for ``train`` / ``predict``.

    * ``.npz``: arrays ``X`` (m, d) and, when needed, ``y`` (m,);
    * anything else: a CSV file with a header row; the target is the column named
      `target`, by default the last one. Every feature must be numeric.

    For prediction (``need_target=False``) with `n_features` known: the `target` column
    is dropped when named; otherwise a file with exactly one column more than the model
    has features is taken to be laid out like the training file and its last column is
    dropped.

    Returns (X float64 (m, d), y (m,) or None, feature names, target name or None).
    Raises CLIError naming the problem.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CLIError(f"no such file: {path}")
    if os.path.isdir(path):
        raise CLIError(f"{path} is a directory, not a data file")
    if path.lower().endswith(".npz"):
        return _read_npz(path, need_target)
    return _read_csv(path, target, need_target, n_features)


def _read_npz(path, need_target):
    try:
        with np.load(path, allow_pickle=False) as data:
            members = {k: data[k] for k in data.files}
    except Exception as exc:
        raise CLIError(f"cannot read {path} as an .npz archive ({exc})") from None
    if "X" not in members:
        raise CLIError(f"{path} has no array 'X' (it has: {', '.join(sorted(members)) or 'none'})")
    X = members["X"]
    if X.ndim != 2:
        raise CLIError(f"X in {path} must be 2-D (examples x features); got shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise CLIError(f"X in {path} is not numeric (dtype {X.dtype})")
    X = X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        raise CLIError(f"X in {path} holds NaN or infinite values")
    y = members.get("y")
    if y is None:
        if need_target:
            raise CLIError(f"{path} has no target array 'y'")
    else:
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise CLIError(f"y in {path} must be 1-D with one value per row of X; got shape "
                           f"{y.shape} for X of shape {X.shape}")
    names = [f"x{j}" for j in range(X.shape[1])]
    return X, y, names, ("y" if y is not None else None)


def _read_csv(path, target, need_target, n_features):
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    except UnicodeDecodeError:
        raise CLIError(f"{path} is not a UTF-8 text (CSV) file") from None
    except (OSError, csv.Error) as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise CLIError(f"{path} is empty")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    if not body:
        raise CLIError(f"{path} has a header but no data rows")
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise CLIError(f"{path} line {i + 2}: {len(row)} fields, but the header has "
                           f"{len(header)}")
    if target is not None and target not in header:
        raise CLIError(f"unknown column {target!r} in {path} (columns: {', '.join(header)})")
    if need_target:
        if len(header) < 2:
            raise CLIError(f"{path} needs at least one feature column and a target column")
        t = header.index(target) if target is not None else len(header) - 1
    elif target is not None:
        t = header.index(target)
    elif n_features is not None and len(header) == n_features + 1:
        t = len(header) - 1
    else:
        t = None
    feature_cols = [j for j in range(len(header)) if j != t]
    X = np.empty((len(body), len(feature_cols)))
    for i, row in enumerate(body):
        for k, j in enumerate(feature_cols):
            cell = row[j].strip()
            if cell == "":
                raise CLIError(f"{path} line {i + 2}: missing value in column {header[j]!r}")
            value = _parse_number(cell)
            if value is None or not np.isfinite(value):
                raise CLIError(f"{path} line {i + 2}: non-numeric value {cell!r} in feature "
                               f"column {header[j]!r}")
            X[i, k] = value
    y = None
    if t is not None and need_target:
        cells = [row[t].strip() for row in body]
        for i, cell in enumerate(cells):
            if cell == "":
                raise CLIError(f"{path} line {i + 2}: missing target value in column "
                               f"{header[t]!r}")
        numbers = [_parse_number(c) for c in cells]
        if all(v is not None for v in numbers):
            y = np.array(numbers, dtype=np.float64)
            if np.all(np.isfinite(y)) and np.all(y == np.round(y)):
                y = y.astype(np.int64)
        else:
            y = np.array(cells, dtype=object)
    return (X, y, [header[j] for j in feature_cols],
            header[t] if t is not None else None)
