"""Helpers of the model-file tests (test_persistence_hostile, test_persistence_fuzz): a
small fitted model's file, the parts of a file and files crafted from them (with a valid
hash: anyone can recompute it), hand-made archives, forged archive structures, and the
loader's cost measured by tracemalloc."""
import io
import json
import struct
import time
import tracemalloc
import warnings
import zipfile

import numpy as np

import nnfast
from nnfast import MLPClassifier
from nnfast.io import persistence

RNG = np.random.RandomState(3)
X = RNG.normal(size=(40, 4))
LABELS = np.array(["a", "b", "c"])[np.digitize(X[:, 0], [-0.4, 0.4])]
# what the loader may allocate on any input: this multiple of the file's size, plus a
# constant for the interpreter's own bookkeeping (see test_persistence_fuzz's worst case)
PEAK_PER_BYTE, PEAK_CONSTANT = 24, 2 << 20


def fit(cls=MLPClassifier, y=LABELS, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = {"hidden_layer_sizes": (5,), "max_iter": 5, "random_state": 0, **kw}
        return cls(**kw).fit(X, y)


def save_bytes(est):
    buf = io.BytesIO()
    est.save(buf)
    return buf.getvalue()


def parts(data):
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        members = {k: npz[k] for k in npz.files}
    meta = json.loads(members.pop("__metadata__").tobytes())
    members.pop("__sha256__")
    return meta, members


def crafted(meta, members):
    """A file with a valid hash over the given content (anyone can recompute it)."""
    buf = io.BytesIO()
    persistence._write(buf, meta, members)
    return buf.getvalue()


def load_bytes(data):
    return nnfast.load(io.BytesIO(data))


def npy(a):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(a), allow_pickle=False)
    return buf.getvalue()


def zip_of(entries, compression=zipfile.ZIP_STORED):
    """An archive of (name, bytes) entries."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, body in entries:
            zf.writestr(name, body)
    return buf.getvalue()


def zip_entries(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def measure(data):
    """(outcome, peak bytes allocated, seconds) of loading `data`; outcome is the model or
    the exception raised."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        out = load_bytes(data)
    except Exception as exc:  # noqa: BLE001  (the caller judges the type)
        out = exc
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, peak, seconds


def check_valid(model):
    """A model load returned must predict sensibly (the whole point of the checks)."""
    if hasattr(model, "classes_"):
        proba = model.predict_proba(X)
        assert np.all(np.isfinite(proba)) and proba.min() >= 0 and proba.max() <= 1
        assert np.allclose(proba.sum(axis=1), 1) or model.n_outputs_ != len(model.classes_) \
            or model._label_binarizer.y_type_ == "multilabel-indicator"
        pred = model.predict(X)
        if model._label_binarizer.y_type_ != "multilabel-indicator":
            assert set(np.asarray(pred).tolist()) <= set(model.classes_.tolist())
    else:
        assert np.all(np.isfinite(model.predict(X)))


def outcome_ok(load):
    """load() must return a valid model or raise ValueError (nothing else)."""
    try:
        model = load()
    except ValueError:
        return
    check_valid(model)

def central(data):
    """Offsets of the central directory entries, and of the end record."""
    end = len(data) - 22
    cd_size, cd_offset = struct.unpack_from("<2L", data, end + 12)
    offsets, pos = [], cd_offset
    while pos < cd_offset + cd_size:
        offsets.append(pos)
        n, m, k = struct.unpack_from("<3H", data, pos + 28)
        pos += 46 + n + m + k
    return offsets, end


def patched(data, offset, fmt, *values):
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


def forgeries(data):
    entries, end = central(data)
    first, second = entries[0], entries[1]
    cd_size, cd_offset = struct.unpack_from("<2L", data, end + 12)
    local1, = struct.unpack_from("<L", data, first + 42)
    dup = data[second:entries[2]]  # one whole central entry, repeated
    duplicated = (data[:end] + dup + patched(data[end:], 8, "<2H2L", len(entries) + 1,
                                              len(entries) + 1, cd_size + len(dup), cd_offset))
    return {
        "huge member size": (patched(data, first + 20, "<2L", 2**31 - 1, 2**31 - 1),
                             "declares"),
        "zip64 sizes without their field": (patched(data, first + 20, "<2L", 2**32 - 1,
                                                     2**32 - 1), "zip64"),
        "central directory size": (patched(data, end + 12, "<L", cd_size + 10_000),
                                   "central directory"),
        "member count": (patched(data, end + 8, "<2H", 65000, 65000), "central directory"),
        "members overlap": (patched(data, second + 42, "<L", local1), "overlap|local header"),
        "member listed twice": (duplicated, "twice|overlap"),
        "non-ASCII name": (patched(data, first + 46, "<B", 0xFF), "ASCII"),
        "crc": (patched(data, first + 16, "<L", 12345), "CRC"),
        "compressed in the directory": (patched(data, first + 10, "<H", 8), "compressed"),
        "encrypted": (patched(data, first + 8, "<H", 1), "encrypted"),
        "archive comment": (patched(data, end + 20, "<H", 0), None),
        "prefix": (b"PK\x03\x04" + data, "central directory|not a valid npz"),
        "trailing bytes": (data + b"\0" * 100, "end-of-archive"),
    }

def edit(data, change):
    meta, members = parts(data)
    change(meta, members)
    return crafted(meta, members)


def set_at(path, value):
    def change(meta, members):
        *keys, last = path
        node = meta
        for k in keys:
            node = node[k]
        node[last] = value
    return change


def member(name, edit):
    def change(meta, members):
        members[name] = edit(members[name].copy())
        meta["arrays"][name] = [members[name].dtype.str, list(members[name].shape)]
    return change


def poke(value, index=0):
    def edit(a):
        a.reshape(-1)[index] = value
        return a
    return edit

def raw_meta(data, text):
    """The file with its metadata replaced by `text` (bytes), hash recomputed."""
    _, members = parts(data)
    raw = np.frombuffer(text, dtype=np.uint8)
    digest = persistence._digest(text, members).encode()
    return zip_of([(f"{k}.npy", npy(a)) for k, a in members.items()]
                + [("__metadata__.npy", npy(raw)),
                   ("__sha256__.npy", npy(np.frombuffer(digest, np.uint8)))])
