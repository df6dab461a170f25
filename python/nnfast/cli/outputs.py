"""Files the command line writes: never one of its inputs, never half written.

:func:`refuse_input_as_output` runs before any work, so a refused command has written
nothing; :func:`atomic_output` writes through a temporary file in the output's own folder
and renames it over the output only once the content is complete, so an interrupted or
failed write leaves the previous file (or none) whole. :func:`write_table` writes a table
of predictions as CSV, or as Parquet when the output's name ends in .parquet / .pq.
"""
from __future__ import annotations

import csv
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any

from .errors import CLIError, require
from .tables import PARQUET_SUFFIXES

__all__ = ["refuse_input_as_output", "check_writable", "atomic_output", "check_table_format", "write_csv",
           "write_table"]


def _same_file(a: str, b: str) -> bool:
    """True when paths `a` and `b` name one file: the same normalised path, or (both
    existing) the same inode, which also catches hard links and symbolic links."""
    if os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b)):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): no inode to share
        return False


def refuse_input_as_output(output: str, inputs: Mapping[str, str], option: str = "--out") -> None:
    """Raise CLIError when the path `output` is one of `inputs`, a dict
    {role (e.g. 'DATA'): path}; `option` names where the output path came from."""
    for role, path in inputs.items():
        if _same_file(output, path):
            raise CLIError(f"{option} {output} is the input {role} file; refusing to "
                           f"overwrite it (name another output file)")


def _new_file_mode() -> int:
    # mkstemp creates 0600; a file the command writes should get what open() would give.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def check_writable(path: str) -> os.stat_result | None:
    """os.stat of the output `path` (None when it does not exist yet), or CLIError when it
    cannot be written: a directory, a read-only file, a missing folder. Called before
    the work too, so that a long training never ends in 'cannot write'."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise CLIError(f"cannot write {path}: it is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        return st  # a device or a FIFO: written in place, whatever its folder
    # Renaming over a read-only file would succeed where open() fails: keep open's answer.
    if st is not None and not os.access(path, os.W_OK):
        raise CLIError(f"cannot write {path}: permission denied")
    folder = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"cannot write {path}: no such folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):  # the temporary file goes there
        raise CLIError(f"cannot write {path}: the folder {folder} is not writable")
    return st


@contextmanager
def atomic_output(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open `path` for writing (`mode` "w": text, UTF-8, newline=""; "wb": binary) through a
    temporary file in the same folder, renamed over `path` when the block ends without an
    exception; on an exception (Ctrl-C included) the temporary file is removed and `path`
    is untouched. A symbolic link is written through (its target is replaced); an
    existing non-regular file (/dev/null, a FIFO) is written directly, since it cannot be
    replaced. OSError while opening is raised as CLIError naming `path`."""
    path = os.fspath(path)
    binary = mode == "wb"
    st = check_writable(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        # Opened by its own name: /dev/stdout resolves to a pipe that has no path.
        handle: IO[Any] | None
        try:
            handle = (open(path, "wb") if binary
                      else open(path, "w", newline="", encoding="utf-8"))
        except OSError as exc:
            raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
        with handle:
            yield handle
        return
    target = os.path.realpath(path)  # through a symbolic link: the file it names
    folder, name = os.path.split(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder or ".")
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
    handle = None
    try:
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else _new_file_mode())
        handle = (os.fdopen(fd, "wb") if binary
                  else os.fdopen(fd, "w", newline="", encoding="utf-8"))
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        if handle is None:  # fdopen never took the descriptor over
            os.close(fd)
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(exc, OSError):  # a full disk, a vanished folder: the user's problem
            raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def _is_parquet(path: str | os.PathLike[str]) -> bool:
    return os.fspath(path).lower().endswith(PARQUET_SUFFIXES)


def check_table_format(path: str) -> None:
    """CLIError, before any work, when a table written to `path` would need a package that
    is not installed (pyarrow, for a .parquet / .pq name)."""
    if _is_parquet(path):
        require("pyarrow.parquet", "writing Parquet files")


def write_csv(stream: IO[str], header: Sequence[str], columns: Sequence[Any]) -> None:
    """Write `columns` (1-D arrays of one length m) under `header` (their names) as CSV
    to the text `stream`: floats as Python's repr, so they read back exactly."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    # tolist: Python numbers, whose str is the shortest repr that reads back the same.
    writer.writerows(zip(*(column.tolist() for column in columns)))


def write_table(path: str, header: Sequence[str], columns: Sequence[Any]) -> None:
    """Write `columns` (1-D arrays of one length) named by `header` to the file `path`,
    whole or not at all (:func:`atomic_output`): Parquet for a .parquet / .pq name (one
    column each, its type from its dtype: text labels as strings), CSV otherwise."""
    if not _is_parquet(path):
        with atomic_output(path, "w") as handle:
            write_csv(handle, header, columns)
        return
    pa = require("pyarrow", "writing Parquet files")
    pq = require("pyarrow.parquet", "writing Parquet files")
    arrays = [pa.array(c.tolist() if c.dtype == object else c) for c in columns]
    table = pa.Table.from_arrays(arrays, names=list(header))
    with atomic_output(path, "wb") as handle:
        pq.write_table(table, handle)
