"""DATA files for ``train`` and ``predict``: a CSV with a header row, or an .npz archive.

Every problem with a file (missing, unreadable, ragged, non-numeric, NaN) is raised as a
:class:`~nnfast.cli.errors.CLIError` naming the file, the line and the column, since the
command line reports it as one line; the tests pin these messages.
"""
from __future__ import annotations

import csv
import os
import re
import stat
import zipfile

import numpy as np

from .errors import CLIError

__all__ = ["read_table", "physical_memory", "format_bytes"]

# Integers up to 2**53 are exact in float64, which is how a CSV cell is parsed: a
# whole-number target beyond that is kept as float rather than cast to a wrong int64.
_EXACT_INT = 2**53
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# An integer as a CSV writes one (ASCII digits: _parse_number has vetted the rest).
_INTEGER = re.compile(r"[+-]?[0-9]+")
# How much memory reading a file may take, as a multiple of its size: a CSV held as
# Python strings takes several times its bytes.
_CSV_MEMORY_FACTOR = 8


def physical_memory():
    """This machine's memory in bytes, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def format_bytes(n):
    """`n` bytes as a short figure: '512 B', '3.2 MiB', '7.3 TiB'."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024


def _check_fits_in_memory(path, needed):
    memory = physical_memory()
    if memory is not None and needed > memory:
        raise CLIError(f"{path} needs about {format_bytes(needed)} of memory to read; "
                       f"this machine has {format_bytes(memory)}")


def _parse_number(text):
    # None rather than an exception: a non-numeric cell is an error in a feature column
    # but makes a target column categorical, and only the caller knows which it is.
    # float() also takes '1_000' and digits of other scripts ('\u0661'): a CSV number
    # is written in ASCII without separators, anything else is text.
    if not text.isascii() or "_" in text:
        return None
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
    # Only a regular file has an end and a size to check first: /dev/zero never ends,
    # a FIFO blocks until someone writes to it.
    try:
        st = os.stat(path)
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}") from None
    size = st.st_size
    if not stat.S_ISREG(st.st_mode):
        raise CLIError(f"{path} is not a regular file (a device, FIFO or socket); "
                       f"DATA must be a .csv or .npz file")
    if path.lower().endswith(".npz"):
        if target is not None:  # silently ignored, it would train on another column
            raise CLIError(f"--target names a CSV column; {path} is an .npz archive, whose "
                           f"target is its array 'y'")
        return _read_npz(path, need_target)
    _check_fits_in_memory(path, size * _CSV_MEMORY_FACTOR)
    return _read_csv(path, target, need_target, n_features, size)


def _npz_headers(path, names):
    """{name: (shape, dtype)} for the members `names` of the .npz at `path` that exist,
    from their .npy headers alone, refusing a header that claims more bytes than its
    member holds: NumPy allocates what the header says before reading a byte."""
    headers = {}
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


def _npz_target(y, path):
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


def _read_npz(path, need_target):
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
    _check_fits_in_memory(path, sum(int(np.prod(s, dtype=object)) * d.itemsize
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


def _bounded_lines(f, path, limit):
    """The lines of `f`, raising CLIError once they pass `limit` characters: a file that
    grows while it is read cannot take more memory than its size was allowed."""
    total = 0
    for line in f:
        total += len(line)
        if total > limit:
            raise CLIError(f"{path} grew past {format_bytes(limit)} while being read")
        yield line


def _is_blank(row):
    # An empty line, or one of spaces; a row of several empty cells (",,") is not blank:
    # as the first line it is a header that names nothing.
    return not row or (len(row) == 1 and not row[0].strip())


def _check_header(path, header, line):
    if not any(header):
        raise CLIError(f"{path} line {line}: the header row names no columns (the first "
                       f"line must be the column names)")
    seen = {}
    for j, name in enumerate(header):
        if name in seen:
            raise CLIError(f"{path} line {line}: duplicate column name {name!r} (columns "
                           f"{seen[name] + 1} and {j + 1})")
        seen[name] = j


def _read_csv(path, target, need_target, n_features, size):
    memory = physical_memory()
    limit = max(size, memory // _CSV_MEMORY_FACTOR) if memory is not None else 2 * size + 2**20
    rows, lines = [], []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(_bounded_lines(f, path, limit))
            for row in reader:
                if rows:  # after the header a row of empty cells is a blank spreadsheet row
                    if not any(cell.strip() for cell in row):
                        continue
                elif _is_blank(row):
                    continue
                rows.append(row)
                lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise CLIError(f"{path} is not a UTF-8 text (CSV) file") from None
    except (OSError, csv.Error) as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise CLIError(f"{path} is empty")
    header = [h.strip() for h in rows[0]]
    _check_header(path, header, lines[0])
    body, lines = rows[1:], lines[1:]
    if not body:
        raise CLIError(f"{path} has a header but no data rows")
    for row, line in zip(body, lines):
        if len(row) != len(header):
            raise CLIError(f"{path} line {line}: {len(row)} fields, but the header has "
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
    for i, (row, line) in enumerate(zip(body, lines)):
        for k, j in enumerate(feature_cols):
            cell = row[j].strip()
            if cell == "":
                raise CLIError(f"{path} line {line}: missing value in column {header[j]!r}")
            value = _parse_number(cell)
            if value is None:
                raise CLIError(f"{path} line {line}: non-numeric value {cell!r} in feature "
                               f"column {header[j]!r}")
            if not np.isfinite(value):  # 'nan', 'inf', or beyond float64 ('1e999')
                raise CLIError(f"{path} line {line}: value {cell!r} in feature column "
                               f"{header[j]!r} is not a finite number")
            X[i, k] = value
    y = None
    if t is not None and need_target:
        y = _csv_target(path, header[t], [row[t].strip() for row in body], lines)
    return (X, y, [header[j] for j in feature_cols],
            header[t] if t is not None else None)


def _csv_target(path, name, cells, lines):
    """The target column's cells as int64 (integers written as such within int64's range,
    or whole numbers that float64 holds exactly), float64 (other numbers) or object
    (text labels: any cell not a number)."""
    for cell, line in zip(cells, lines):
        if cell == "":
            raise CLIError(f"{path} line {line}: missing target value in column {name!r}")
    numbers = [_parse_number(c) for c in cells]
    if any(v is None for v in numbers):
        return np.array(cells, dtype=object)
    if all(_INTEGER.fullmatch(c) for c in cells):
        # Read exactly: through float64, 9007199254740993 would become ...992.
        integers = [int(c) for c in cells]
        if all(_INT64_MIN <= v <= _INT64_MAX for v in integers):
            return np.array(integers, dtype=np.int64)
    y = np.array(numbers, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise CLIError(f"{path} line {lines[bad[0]]}: target value {cells[bad[0]]!r} in "
                       f"column {name!r} is not a finite number")
    if np.all(y == np.round(y)) and np.all(np.abs(y) <= _EXACT_INT):
        y = y.astype(np.int64)
    return y
