"""Fuzzing nnfast.load (metadata fields, member arrays, bytes): it returns a valid model or
raises ValueError, nothing else; and the loader's worst case on bomb-like files, measured
(peak memory by tracemalloc, time) and bounded by the file's own size."""
import json
import os
import warnings
import zipfile

import numpy as np
import pytest

pytest.importorskip("sklearn")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_files import (
    PEAK_CONSTANT,
    PEAK_PER_BYTE,
    crafted,
    edit,
    fit,
    forgeries,
    load_bytes,
    measure,
    npy,
    outcome_ok,
    parts,
    raw_meta,
    save_bytes,
    set_at,
    zip_entries,
    zip_of,
)

from nnfast import MLPClassifier

# ---------------------------------------------------------------------------
# fuzzing: load returns a valid model or raises ValueError, nothing else
# ---------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=12) | st.sampled_from(["identity", "exp", "softmax", "logistic",
                                              "<U500000000", "|i1", "object", "sgd", "adam",
                                              "binary", "multiclass", "relu", "str"])
    | st.fixed_dictionaries({"__float__": st.sampled_from(["nan", "inf", "-inf", "x"])}),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3)
    | st.fixed_dictionaries({"__tuple__": st.lists(inner, max_size=3)}),
    max_leaves=8)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


# a fixed sample by default (the suite stays reproducible); NNFAST_FUZZ_EXAMPLES=N draws N
# fresh examples per test
_FRESH = int(os.environ.get("NNFAST_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=_FRESH or 150, deadline=None, derandomize=not _FRESH,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.data())
def test_fuzz_metadata_fields(clf_bytes, reg_bytes, data):
    source = data.draw(st.sampled_from([clf_bytes, reg_bytes]))
    meta, members = parts(source)
    paths = [p for p in _paths(meta) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        node = meta
        for k in path[:-1]:
            node = node[k]
        if isinstance(node, dict) and data.draw(st.booleans()):
            node.pop(path[-1], None)
        else:
            node[path[-1]] = data.draw(JSON)
        paths = [p for p in _paths(meta) if p]
    outcome_ok(lambda: load_bytes(crafted(meta, members)))


@FUZZ
@given(data=st.data())
def test_fuzz_member_arrays(clf_bytes, reg_bytes, data):
    source = data.draw(st.sampled_from([clf_bytes, reg_bytes]))
    meta, members = parts(source)
    key = data.draw(st.sampled_from(sorted(members)))
    dtype = data.draw(st.sampled_from(["<f8", "<f4", "<i8", "|i1", "|b1", "<U3", "|S2",
                                       ">f8", "<f2"]))
    shape = data.draw(st.lists(st.integers(0, 6), max_size=3))
    values = data.draw(st.sampled_from([0, 1, -1, 300, np.nan, np.inf, 1e300]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        members[key] = np.full(shape, values).astype(dtype)
    if data.draw(st.booleans()):
        meta["arrays"][key] = [members[key].dtype.str, list(members[key].shape)]
    outcome_ok(lambda: load_bytes(crafted(meta, members)))


@FUZZ
@given(data=st.data())
def test_fuzz_bytes(clf_bytes, data):
    """Byte edits anywhere, with each member's CRC made right again where an edit hits a
    member's .npy header, so that the checks past the archive are reached too."""
    raw = bytearray(clf_bytes)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    outcome_ok(lambda: load_bytes(bytes(raw)))
    entries = zip_entries(clf_bytes)
    k = data.draw(st.integers(0, len(entries) - 1))
    name, body = entries[k]
    body = bytearray(body)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, min(len(body), 128) - 1))
        body[i] = data.draw(st.integers(0, 255))
    entries[k] = (name, bytes(body))
    outcome_ok(lambda: load_bytes(zip_of(entries)))


# ---------------------------------------------------------------------------
# the loader's worst case, measured
# ---------------------------------------------------------------------------

def _bombs(clf_bytes):
    meta, members = parts(clf_bytes)
    dense = {}
    for inner in ("[]", "{}", '"ab"', "1.5", "1" * 18):
        m = json.loads(json.dumps(meta))
        m["feature_names_in_"] = json.loads("[" + ",".join([inner] * 200_000) + "]")
        dense[f"JSON of {inner}"] = crafted(m, members)
    # the most JSON the members can justify: lists as dense as JSON allows, two per class
    # of a (forged) bool classes_ member
    justified = json.loads(json.dumps(meta))
    justified["feature_names_in_"] = [[]] * 200_000
    dense["JSON the members justify"] = crafted(justified, dict(
        members, classes_=np.zeros(100_000, bool)))
    wide = dict(members, coefs_0=np.zeros((4, 5000)))
    return {
        **dense,
        "deflate bomb": zip_of([("__metadata__.npy", npy(np.zeros(30_000_000, np.uint8)))],
                             zipfile.ZIP_DEFLATED),
        "bzip2 bomb": zip_of([("__metadata__.npy", npy(np.zeros(30_000_000, np.uint8)))],
                           zipfile.ZIP_BZIP2),
        "deep JSON": raw_meta(clf_bytes, b"[" * 1_000_000),
        "many members": zip_of([(f"m{i}.npy", npy(np.zeros(1, np.uint8)))
                              for i in range(20_000)]),
        "huge class dtype": edit(clf_bytes, set_at(["classes", "dtype"], "<U500000000")),
        "forged sizes": forgeries(clf_bytes)["huge member size"][0],
        "wide layer": crafted(meta, wide),
        "a real model": clf_bytes,
        # 4 MB of weights and optimizer state: the file's bytes, then the arrays' copies
        "a bigger real model": save_bytes(fit(hidden_layer_sizes=(500, 500), max_iter=1,
                                              solver="sgd")),
    }


def test_the_loaders_worst_case_is_bounded_by_the_file(clf_bytes):
    report = []
    for name, data in _bombs(clf_bytes).items():
        out, peak, seconds = measure(data)
        report.append((name, len(data), peak, seconds, type(out).__name__))
        assert isinstance(out, (ValueError, MLPClassifier)), (name, repr(out))
        # a real model costs the file's bytes and its arrays' copies: under 3x the file
        bound = (3 if "real model" in name else PEAK_PER_BYTE) * len(data) + PEAK_CONSTANT
        assert peak < bound, (name, len(data), peak)
        assert seconds < 10, (name, seconds)
    worst = max(peak / size for _, size, peak, _, _ in report)
    print("\n".join(f"{n:18s} {s:9d} B -> peak {p:10d} B ({p / s:5.2f}x) {t:.3f} s {o}"
                    for n, s, p, t, o in report) + f"\nworst {worst:.2f}x")
