"""Reading an uncompressed ``.npz`` (a zip archive of ``.npy`` members, as ``np.savez``
writes it) within bounds that the file's own size sets.

The reader holds the file's bytes once and never inflates anything: only stored
(uncompressed) members are accepted, so no member can be larger than the file. Every length
the archive declares (central directory, member sizes and offsets, ``.npy`` headers and
shapes) is checked against the bytes actually present before it is used, members may not
overlap (one stored block named twice would multiply on copy), and arrays are zero-copy
views of the file's bytes. Nothing is unpickled: a member whose dtype holds objects is
refused.

:func:`read_bytes` reads a path (regular files only: a FIFO or ``/dev/zero`` would never end)
or a seekable binary file object; :func:`members` splits the bytes into ``{name: bytes of the
.npy}``; :func:`npy_header` and :func:`npy_array` read one member. Every malformed input
raises ValueError naming what is wrong.
"""
from __future__ import annotations

import io
import os
import stat
import struct
import zlib
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    from ._typing import FileLike

__all__ = ["NpyHeader", "members", "npy_array", "npy_header", "read_bytes"]

_LOCAL = struct.Struct("<4s5H3L2H")       # local file header, 30 bytes
_CENTRAL = struct.Struct("<4s6H3L5H2L")   # central directory header, 46 bytes
_END = struct.Struct("<4s4H2LH")          # end of central directory, 22 bytes
_END64_LOC = struct.Struct("<4sLQL")      # zip64 end locator, 20 bytes
_END64 = struct.Struct("<4sQ2H2L4Q")      # zip64 end of central directory, 56 bytes
_STORED = 0
# flag bits a stored member may carry: 0x08 (sizes after the data, as zipfile writes to an
# unseekable stream) and 0x800 (UTF-8 name); anything else (encryption, ...) is refused
_FLAGS_OK = 0x0808
_NPY_MAGIC = b"\x93NUMPY"
# numpy's own limit on an .npy header; nnfast's headers are about 128 bytes
_MAX_HEADER = 10_000
_DTYPE_KINDS = "biufUS"


def _bad(msg: str) -> ValueError:
    return ValueError(f"not a valid npz archive ({msg})")


# ---------------------------------------------------------------------------
# the file's bytes
# ---------------------------------------------------------------------------

def _read_exactly(f: BinaryIO, size: int) -> bytes:
    """`size` bytes from f; a raw file's read may return less than asked (Linux stops one
    read at 2 GiB), so it loops, and refuses a file that ends early or was not binary."""
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = f.read(left)
        if not chunk or not isinstance(chunk, bytes) or len(chunk) > left:
            raise ValueError("the model file changed size while it was read")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _check_ends(head: bytes, tail: bytes) -> None:
    """The archive's first 4 bytes (a local header) and last 4 (the end record's
    signature, or fewer for a short file)."""
    if head != b"PK\x03\x04":
        raise ValueError("not an nnfast model file: not an npz (zip) archive"
                         + (" (empty or truncated file)" if len(head) < 4 else ""))
    if tail != b"PK\x05\x06":
        raise _bad("truncated, or not a zip file: no end-of-archive record")


def _check_file_ends(f: BinaryIO, start: int, size: int) -> None:
    """_check_ends before the whole file is read, so that a huge (or sparse) file that is
    no archive costs nothing."""
    f.seek(start)
    head = f.read(min(size, 4))
    if not isinstance(head, bytes):
        raise ValueError("the model file object must be opened in binary mode ('rb')")
    tail = b""
    if size >= _END.size:
        f.seek(start + size - _END.size)
        tail = f.read(4)
    _check_ends(head, tail)
    f.seek(start)


def read_bytes(file: FileLike) -> bytes:
    """The bytes of `file`: a path (str / PathLike) to a regular file, or a seekable binary
    file object (read from its current position to its end).

    Raises FileNotFoundError (no such path), IsADirectoryError (a directory), ValueError
    (not a regular file; a file object that is not seekable or not binary; no zip end
    record at the end)."""
    if hasattr(file, "read"):  # duck-typed, as numpy does: the cast tells the checker
        file = cast("BinaryIO", file)
        try:
            start = file.tell()
            size = file.seek(0, os.SEEK_END) - start
        except (OSError, ValueError, AttributeError) as exc:
            raise ValueError(f"the model file object must be seekable ({exc})") from None
        if size < 0:
            raise ValueError("the model file object reports a negative size")
        _check_file_ends(file, start, size)
        return _read_exactly(file, size)
    path = os.fspath(file)
    if os.path.isdir(path):
        raise IsADirectoryError(f"is a directory, not a model file: {path!r}")
    if not os.path.lexists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {path!r}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(f"is a directory, not a model file: {path!r}")
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"not a regular file: {path!r} (a model is read from a regular "
                             "file only, not a pipe, device or socket)")
        _check_file_ends(f, 0, st.st_size)
        return _read_exactly(f, st.st_size)


# ---------------------------------------------------------------------------
# the archive
# ---------------------------------------------------------------------------

def _unpack(fmt: struct.Struct, data: bytes, offset: int, what: str) -> tuple[Any, ...]:
    if offset < 0 or offset + fmt.size > len(data):
        raise _bad(f"{what} lies outside the file (truncated)")
    return fmt.unpack_from(data, offset)


def _directory_bounds(data: bytes) -> tuple[int, int, int]:
    """(offset, size, count) of the central directory, which must end where the end
    records begin (no prefix, no gap, no comment)."""
    end = len(data) - _END.size
    sig, disk, cd_disk, n_disk, count, cd_size, cd_offset, comment = _unpack(
        _END, data, end, "the end-of-archive record")
    if sig != b"PK\x05\x06":
        raise _bad("truncated, or not a zip file: no end-of-archive record")
    if disk or cd_disk or n_disk != count or comment:
        raise _bad("a multi-part archive or an archive comment")
    loc = end - _END64_LOC.size
    if loc >= 0 and data[loc:loc + 4] == b"PK\x06\x07":
        _, disk64, end64, n_disks = _unpack(_END64_LOC, data, loc, "the zip64 locator")
        (sig, rec_size, _, _, disk, cd_disk, n_disk, count, cd_size,
         cd_offset) = _unpack(_END64, data, end64, "the zip64 end record")
        if (sig != b"PK\x06\x06" or disk64 or n_disks != 1 or disk or cd_disk
                or n_disk != count or end64 + 12 + rec_size != loc):
            raise _bad("a malformed zip64 end record")
        end = end64
    if cd_offset + cd_size != end or count * _CENTRAL.size > cd_size:
        raise _bad(f"the central directory ({count} entries, {cd_size} bytes at {cd_offset}) "
                   f"does not end where the end record begins ({end}): truncated or forged")
    return cd_offset, cd_size, count


def _zip64_extra(extra: bytes, size: int, csize: int, offset: int) -> tuple[int, int, int]:
    """The 64-bit values the zip64 extra field holds for the fields set to 0xFFFFFFFF."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, n = struct.unpack_from("<2H", extra, pos)
        body = extra[pos + 4:pos + 4 + n]
        if len(body) != n:
            raise _bad("a truncated extra field")
        if tag == 1:
            values = [v for v in (size, csize, offset) if v == 0xFFFFFFFF]
            if len(body) < 8 * len(values):
                raise _bad("a truncated zip64 extra field")
            wide = iter(struct.unpack_from(f"<{len(values)}Q", body))
            size, csize, offset = (next(wide) if v == 0xFFFFFFFF else v
                                   for v in (size, csize, offset))
        pos += 4 + n
    if 0xFFFFFFFF in (size, csize, offset):
        raise _bad("a zip64 size or offset without its zip64 extra field")
    return size, csize, offset


def members(data: bytes) -> dict[str, memoryview]:
    """{name: memoryview of the member's bytes} of the .npy members of the archive `data`
    (bytes), in archive order; names without their ".npy". Checks every entry of the central
    directory and its local header (stored, not encrypted, ASCII name ending in .npy, unique,
    sizes within the file, no two members overlapping) and each member's CRC-32."""
    _check_ends(data[:4], data[-_END.size:][:4])
    view = memoryview(data)
    cd_offset, cd_size, count = _directory_bounds(data)
    entries, pos = [], cd_offset
    for _ in range(count):
        (sig, _, _, flags, method, _, _, crc, csize, size, n_name, n_extra, n_comment,
         disk, _, _, offset) = _unpack(_CENTRAL, data, pos, "a central directory entry")
        name_at = pos + _CENTRAL.size
        pos = name_at + n_name + n_extra + n_comment
        if sig != b"PK\x01\x02" or pos > cd_offset + cd_size:
            raise _bad("a malformed central directory entry (truncated or forged)")
        raw = bytes(view[name_at:name_at + n_name])
        extra = bytes(view[name_at + n_name:name_at + n_name + n_extra])
        size, csize, offset = _zip64_extra(extra, size, csize, offset)
        if not raw.isascii() or not raw.endswith(b".npy") or len(raw) <= 4:
            raise _bad(f"member name {raw[:80]!r} is not an ASCII name ending in .npy")
        name = raw[:-4].decode("ascii")
        if method != _STORED:
            raise _bad(f"member {name!r} is compressed (method {method}); nnfast writes "
                       "uncompressed members only and reads nothing else")
        if flags & ~_FLAGS_OK or disk:
            raise _bad(f"member {name!r} is encrypted or uses unsupported zip features "
                       f"(flags {flags:#x})")
        if csize != size or size > cd_offset:
            raise _bad(f"member {name!r} declares {size} bytes ({csize} stored) in a "
                       f"{len(data)}-byte file (truncated or forged)")
        entries.append((offset, name, raw, size, crc))
    if pos != cd_offset + cd_size:
        raise _bad("the central directory holds more than its entries")
    out, used_to = {}, 0
    for offset, name, raw, size, crc in sorted(entries):
        if name in out:
            raise _bad(f"member {name!r} appears twice")
        if offset < used_to:
            raise _bad(f"member {name!r} overlaps the member before it (forged)")
        sig, _, flags, method, _, _, _, _, _, n_name, n_extra = _unpack(
            _LOCAL, data, offset, f"member {name!r}'s header")
        start = offset + _LOCAL.size + n_name + n_extra
        if (sig != b"PK\x03\x04" or method != _STORED or flags & ~_FLAGS_OK
                or view[offset + _LOCAL.size:offset + _LOCAL.size + n_name] != raw):
            raise _bad(f"member {name!r}'s local header does not match the directory")
        if start + size > cd_offset:
            raise _bad(f"member {name!r} runs past the end of the data (truncated)")
        body = view[start:start + size]
        if zlib.crc32(body) != crc:
            raise _bad(f"member {name!r} fails its CRC-32 check (corrupted)")
        out[name] = body
        used_to = start + size
    return out


# ---------------------------------------------------------------------------
# one .npy member
# ---------------------------------------------------------------------------

class NpyHeader:
    """What an .npy member declares: dtype, shape, Fortran order, and where the data
    starts; nbytes is the size the data must have (checked against the member)."""

    __slots__ = ("dtype", "fortran", "nbytes", "offset", "shape")

    def __init__(self, dtype: np.dtype[Any], shape: tuple[int, ...], fortran: bool,
                 offset: int) -> None:
        self.dtype, self.shape, self.fortran, self.offset = dtype, shape, fortran, offset
        n = 1
        for d in shape:
            n *= d
        self.nbytes = n * dtype.itemsize


def npy_header(body: memoryview, name: str) -> NpyHeader:
    """The header of the .npy member `name` whose bytes are `body` (a memoryview); refuses
    object dtypes (pickle), structured / sub-array / zero-size dtypes, and a header whose
    shape does not match the data the member holds, before anything is allocated."""
    head = io.BytesIO(bytes(body[:min(len(body), 12 + _MAX_HEADER)]))
    try:
        version = np.lib.format.read_magic(head)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                head, max_header_size=_MAX_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                head, max_header_size=_MAX_HEADER)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    # numpy parses the header with ast and, for old headers, tokenize: a forged one can
    # raise from deep inside either (SyntaxError, tokenize.TokenError, RecursionError, ...)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"member {name!r} is not a valid .npy array ({exc})") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"member {name!r} declares a negative shape {list(shape)}")
    if dtype.hasobject:
        raise ValueError(f"member {name!r} needs pickle to load (its dtype holds objects); "
                         "nnfast model files never do, refusing it")
    if (dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in _DTYPE_KINDS
            or dtype.itemsize == 0):
        raise ValueError(f"member {name!r} has dtype {dtype}, which no nnfast model holds")
    header = NpyHeader(dtype, tuple(shape), bool(fortran), head.tell())
    if header.offset + header.nbytes != len(body):
        raise ValueError(f"member {name!r} declares {header.nbytes} bytes of data (dtype "
                         f"{dtype.str}, shape {list(shape)}) but holds "
                         f"{len(body) - header.offset} (truncated or forged)")
    return header


def npy_array(body: memoryview, header: NpyHeader) -> npt.NDArray[Any]:
    """A read-only view of the member's data as the array its `header` describes."""
    count = header.nbytes // header.dtype.itemsize
    flat = np.frombuffer(body, dtype=header.dtype, count=count, offset=header.offset)
    if header.fortran:
        return flat.reshape(header.shape[::-1]).T
    return flat.reshape(header.shape)
