"""CSV files for ``train`` / ``predict``: pandas' C parser reads them; the strict reader
here, on Python's csv module, defines what a file means and says what is wrong with one.

The rules: the first non-blank line is the header and names every column once (after
stripping spaces); blank lines, and after the header rows of empty cells, are skipped;
every row has the header's number of fields; every feature cell is a finite number as a
CSV writes one (ASCII, no digit separators: ``1_000`` and ``١٢`` are text); the target
is text labels when any of its cells is not a number, else int64 (integers within
int64, read exactly, or whole numbers float64 holds exactly) or float64.

pandas reads the file first (:func:`_read_fast`), and its result is taken only when it is
what the strict reader would return: every feature column numeric and finite, the target
numeric or non-empty text, the rows aligned with the header. Anything else (a ragged row,
an empty cell, a word among numbers, ``nan``, ``True``) sends the file to the strict
reader, whose message names the line and the column. tests/test_cli_readers.py checks on
generated files that the two agree. Without pandas the strict reader reads every file.
"""
from __future__ import annotations

import csv
import io
import re
import sys
import warnings
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any

import numpy as np

from . import tables
from .errors import DATA_EXTRA, CLIError
from .tables import choose_target, first_duplicate, format_bytes, whole_numbers_as_int

__all__ = ["read_csv", "read_csv_strict", "parse_number"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# An integer as a CSV writes one (ASCII digits: parse_number has vetted the rest).
_INTEGER = re.compile(r"[+-]?[0-9]+")
# Without pandas, a file above this size gets a note that the built-in reader is slow.
_NOTE_ABOVE_BYTES = 2**24


def parse_number(text: str) -> float | None:
    """The float value of the stripped cell `text`, or None when it is not a number."""
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


def read_csv(path: str, target: str | None, need_target: bool, n_features: int | None,
             size: int) -> tuple[np.ndarray, np.ndarray | None, list[str], str | None]:
    """Read the CSV file at `path` (`size` bytes) by the rules above: through pandas when it
    is installed, else (or when pandas' result is not the strict reader's) through
    :func:`read_csv_strict`. Returns what :func:`~nnfast.cli.readers.read_table`
    returns; raises CLIError."""
    try:
        import pandas
    except ImportError:
        if size > _NOTE_ABOVE_BYTES:
            print(f"nnfast: note: pandas is not installed, so {path} is read by the slower "
                  f"built-in reader (pip install 'nnfast[{DATA_EXTRA}]')", file=sys.stderr)
    else:
        result = _read_fast(pandas, path, target, need_target, n_features, size)
        if result is not None:
            return result
    return read_csv_strict(path, target, need_target, n_features, size)


def _read_limit(size: int) -> int:
    """How many bytes (or characters) reading a file of `size` bytes may take in: its size,
    or more where memory allows, but never without end (a file that grows as it is read)."""
    memory = tables.physical_memory()
    return (max(size, memory // tables.CSV_MEMORY_FACTOR) if memory is not None
            else 2 * size + 2**20)


# ---------------------------------------------------------------------------
# pandas: the fast path
# ---------------------------------------------------------------------------

def _header_row(path: str) -> list[str] | None:
    """The first non-blank row of `path` as the csv module splits it (the header), or
    None: pandas renames empty and repeated names, so they are checked on this row."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            for row in csv.reader(f):
                if not _is_blank(row):
                    return row
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    return None


def _text_labels(column: Any) -> np.ndarray | None:
    """The stripped cells of the pandas text column `column` as an object array, or None
    when one is empty (a missing value, or a short row pandas filled in) or when every
    cell is a number by :func:`parse_number` (pandas' parser refused one that Python's
    takes, such as 'nan': the strict reader decides)."""
    # Python's strip, as the strict reader's: pandas' may know other spaces.
    try:
        stripped = [cell.strip() for cell in column.to_numpy(dtype=object)]
    except AttributeError:  # a cell that is not text: booleans, or numbers mixed in
        return None        # across the chunks pandas parses separately
    labels = set(stripped)
    if "" in labels or all(parse_number(label) is not None for label in labels):
        return None
    return np.array(stripped, dtype=object)


def _pandas_read(pd: ModuleType, path: str, size: int, **options: Any) -> Any:
    """pandas.read_csv of `path` (`size` bytes) through a bounded file object, every cell
    that is not a number kept as text ("", "NA", "nan" too: the strict reader's errors)."""
    if int(pd.__version__.split(".")[0]) < 3:  # pandas 3 parses floats exactly by default
        options["float_precision"] = "round_trip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DtypeWarning: such a column is refused or re-read
        with open(path, "rb", buffering=0) as binary:
            handle = io.BufferedReader(_BoundedFile(binary, _read_limit(size)), 2**20)
            return pd.read_csv(handle, engine="c", na_filter=False, encoding="utf-8",
                               **options)


def _target_as_text(pd: ModuleType, path: str, j: int, size: int, rows: int) -> Any:
    """Column `j` of `path` read again with every cell as text, or None: for a target
    pandas read as booleans ('True' / 'False' labels), or as numbers in some of the
    chunks it parses separately and as text in others."""
    try:
        column = _pandas_read(pd, path, size, usecols=[j], dtype=str).iloc[:, 0]
    except MemoryError:
        raise
    except Exception:
        return None
    return column if len(column) == rows else None


class _BoundedFile(io.RawIOBase):
    """The binary file `raw`, raising OSError once more than `limit` bytes are read."""

    def __init__(self, raw: Any, limit: int) -> None:
        self._raw, self._left = raw, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        n = self._raw.readinto(buffer)
        self._left -= n or 0
        if self._left < 0:
            raise OSError("the file grew while being read")
        return n


def _read_fast(pd: ModuleType, path: str, target: str | None, need_target: bool,
               n_features: int | None, size: int,
               ) -> tuple[np.ndarray, np.ndarray | None, list[str], str | None] | None:
    """What :func:`read_csv_strict` would return, read by pandas' C parser; None when the
    file is not a clean numeric table (then the strict reader reads it)."""
    raw = _header_row(path)
    if raw is None:
        return None
    header = [h.strip() for h in raw]
    if not any(header) or len(set(header)) < len(header):
        return None
    try:
        t = choose_target(path, header, target, need_target, n_features)
    except CLIError:
        return None
    try:
        df = _pandas_read(pd, path, size)
    except MemoryError:
        raise
    except Exception:  # ragged, not UTF-8, unreadable: the strict reader says where
        return None
    # A first data row longer than the header makes pandas take the first column as an
    # index, silently: only a plain range index means every row had the header's fields.
    if (len(df) == 0 or len(df.columns) != len(raw)
            or not isinstance(df.index, pd.RangeIndex)
            or any(name.strip() and str(col) != name for col, name in zip(df.columns, raw))):
        return None
    dtypes = df.dtypes
    features = [j for j in range(len(header)) if j != t]
    if any(dtypes.iloc[j].kind not in "iuf" for j in features):
        return None
    X = np.empty((len(df), len(features)))
    for k, j in enumerate(features):
        X[:, k] = df.iloc[:, j].to_numpy()
    if not np.isfinite(X).all():
        return None
    y = None
    if t is not None and need_target:
        column = df.iloc[:, t]
        kind = dtypes.iloc[t].kind
        if kind == "i":  # integers within int64, each read exactly
            y = column.to_numpy(dtype=np.int64)
        elif kind == "f":
            y = column.to_numpy(dtype=np.float64)
            if not np.isfinite(y).all():
                return None
            y = whole_numbers_as_int(y)
        else:
            if pd.api.types.infer_dtype(column, skipna=False) != "string":
                column = _target_as_text(pd, path, t, size, len(df))
            y = _text_labels(column) if column is not None else None
            if y is None:
                return None
    elif t is not None and dtypes.iloc[t].kind not in "iufb" and (df.iloc[:, t] == "").any():
        return None  # maybe a short row whose missing last field pandas filled in
    return X, y, [header[j] for j in features], header[t] if t is not None else None


# ---------------------------------------------------------------------------
# The strict reader: the rules' definition, and the messages
# ---------------------------------------------------------------------------

def _bounded_lines(f: Iterable[str], path: str, limit: int) -> Iterator[str]:
    """The lines of `f`, raising CLIError once they pass `limit` characters: a file that
    grows while it is read cannot take more memory than its size was allowed."""
    total = 0
    for line in f:
        total += len(line)
        if total > limit:
            raise CLIError(f"{path} grew past {format_bytes(limit)} while being read")
        yield line


def _is_blank(row: list[str]) -> bool:
    # An empty line, or one of spaces; a row of several empty cells (",,") is not blank:
    # as the first line it is a header that names nothing.
    return not row or (len(row) == 1 and not row[0].strip())


def _check_header(path: str, header: list[str], line: int) -> None:
    if not any(header):
        raise CLIError(f"{path} line {line}: the header row names no columns (the first "
                       f"line must be the column names)")
    dup = first_duplicate(header)
    if dup:
        raise CLIError(f"{path} line {line}: duplicate column name {dup[0]!r} (columns "
                       f"{dup[1]} and {dup[2]})")


def read_csv_strict(path: str, target: str | None, need_target: bool, n_features: int | None,
                    size: int) -> tuple[np.ndarray, np.ndarray | None, list[str], str | None]:
    """Read the CSV file at `path` (`size` bytes) cell by cell in Python, by the rules
    above; CLIError names the line and column of the first problem."""
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(_bounded_lines(f, path, _read_limit(size)))
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
    t = choose_target(path, header, target, need_target, n_features)
    feature_cols = [j for j in range(len(header)) if j != t]
    X = np.empty((len(body), len(feature_cols)))
    for i, (row, line) in enumerate(zip(body, lines)):
        for k, j in enumerate(feature_cols):
            cell = row[j].strip()
            if cell == "":
                raise CLIError(f"{path} line {line}: missing value in column {header[j]!r}")
            value = parse_number(cell)
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


def _csv_target(path: str, name: str, cells: list[str], lines: list[int]) -> np.ndarray:
    """The target column's cells as int64 (integers written as such within int64's range,
    or whole numbers that float64 holds exactly), float64 (other numbers) or object
    (text labels: any cell not a number)."""
    for cell, line in zip(cells, lines):
        if cell == "":
            raise CLIError(f"{path} line {line}: missing target value in column {name!r}")
    numbers = [parse_number(c) for c in cells]
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
    return whole_numbers_as_int(y)
