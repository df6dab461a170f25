"""Fits on memory-mapped data: X is read from the map, never copied.

A read-only ``np.load(path, mmap_mode="r")`` / ``np.memmap`` X (float32 or float64,
C-contiguous) goes to the epoch loop as it is: the loop gathers each mini-batch from the
map. So a fit adds no anonymous memory in proportion to X's size (n · d), only to its row
count (labels, weights, shuffle indices: bytes per row, not per value). The memory test
runs in a fresh interpreter and reads the process's own counters (Linux /proc): the
mapped file's pages are RssFile (RssShmem on a tmpfs), everything the fit allocates is
RssAnon. The full-size
figures (1.5 million rows) come from benchmarks/memmap.py.
"""
import hashlib
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import nnfast

# The child: makes the memory-mapped files, then for each case warms up (imports, lazy
# modules) on a few in-memory rows, measures one fit on the map, and repeats the same fit on
# an in-memory copy for the digests. Anonymous memory is sampled by a thread every ms
# (the GIL is released in the loop) and bounded below again by the peak RSS (VmHWM, reset
# before the fit) less the file pages; tracemalloc counts every NumPy allocation exactly
# (nnfast.bench.memory.measure, which benchmarks/memmap.py uses too).
_CHILD = r"""
import hashlib, json, os, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
import nnfast
from nnfast.bench.memory import measure

def digest(est):
    h = hashlib.sha256()
    for a in est.coefs_ + est.intercepts_:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()

folder, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cases = json.loads(sys.argv[4])
results = []
for case in cases:
    path = os.path.join(folder, case["dtype"] + ".npy")
    if not os.path.exists(path):
        X = np.lib.format.open_memmap(path, mode="w+", dtype=case["dtype"], shape=(n, d))
        rng = np.random.default_rng(0)
        for s in range(0, n, 50000):
            X[s:s + 50000] = rng.standard_normal((min(50000, n - s), d))
        X.flush()
        del X
    X = np.load(path, mmap_mode="r")
    classes = case.get("classes", 0)
    Est = nnfast.MLPClassifier if classes else nnfast.MLPRegressor
    y = (np.arange(n) * 7 % classes) if classes else np.linspace(-1.0, 1.0, n)
    kw = {}
    if case.get("sample_weight"):
        kw["sample_weight"] = np.linspace(0.5, 1.5, n)
    params = dict(hidden_layer_sizes=(16,), batch_size=500, max_iter=1, tol=0.0,
                  random_state=0, **case["params"])
    method = case.get("method", "fit")
    if method == "partial_fit" and classes:
        kw["classes"] = np.arange(classes)
    getattr(Est(**params), method)(np.array(X[:600]), y[:600],
                                   **{k: v[:600] if k == "sample_weight" else v
                                      for k, v in kw.items()})
    est = Est(**params)
    mem = measure(lambda: getattr(est, method)(X, y, **kw), numpy=True)
    again = Est(**params)
    getattr(again, method)(np.array(X), y, **kw)
    results.append({"case": case, "X_bytes": X.nbytes, **mem, "digest": digest(est),
                    "digest_in_memory": digest(again)})
print(json.dumps(results))
"""

# glibc's malloc raises its mmap threshold (up to 32 MB) each time a large block is freed,
# after which blocks below it come from the heap, whose freed pages a later fit reuses
# unseen; a fixed threshold gives every block of 128 kB or more fresh pages, counted.
_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}

_CASES = [
    {"dtype": "float32", "classes": 3, "params": {"solver": "adam"}},
    {"dtype": "float32", "classes": 10, "params": {"solver": "sgd"}, "method": "partial_fit"},
    {"dtype": "float32", "params": {"solver": "sgd", "shuffle": False}, "sample_weight": True},
    {"dtype": "float64", "classes": 2, "params": {"solver": "adam"}, "sample_weight": True},
]


@pytest.mark.skipif(not os.path.exists("/proc/self/status"),
                    reason="reads the process's memory counters from Linux's /proc")
def test_a_fit_on_a_memory_map_adds_far_less_than_a_copy_of_X(tmp_path):
    # 300000 x 100: 114 MB in float32, 229 MB in float64; a fit of one epoch takes well under
    # a second on one core. Half of X is a generous bound: the fit's own arrays are a few
    # bytes a row (~7 MB here), any copy of X is all of it.
    n, d = 300_000, 100
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path), str(n), str(d),
                           json.dumps(_CASES)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **_MALLOC_ENV})
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(results) == len(_CASES)
    for r in results:
        case, bound = r["case"], r["X_bytes"] / 2
        what = f"{case}: anon +{r['added'] / 2**20:.1f} MB, NumPy peak " \
               f"{r['numpy'] / 2**20:.1f} MB, X {r['X_bytes'] / 2**20:.0f} MB"
        assert r["added"] < bound, what
        assert r["numpy"] < bound, what
        # the fit did read X, from the file's pages
        assert r["file_pages"] > r["X_bytes"] / 2, what
        # and computed exactly what the same fit on an in-memory X computes
        assert r["digest"] == r["digest_in_memory"], what


def _digest(est):
    h = hashlib.sha256()
    for a in est.coefs_ + est.intercepts_:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["np.load", "np.memmap"])
def test_memory_mapped_X_y_and_weights_fit_the_same_model(tmp_path, monkeypatch, dtype, kind):
    # Small enough for every platform: the same bits from maps (X, y and sample_weight all
    # read-only maps) as from in-memory arrays, for fit, partial_fit and L-BFGS, with the
    # row blocks of the label encoding crossed (the block size lowered to 128 rows).
    from nnfast import _checks

    monkeypatch.setattr(_checks, "LABEL_BLOCK_ROWS", 128)
    rng = np.random.default_rng(1)
    n, d = 1000, 7
    X, y = rng.standard_normal((n, d)).astype(dtype), rng.integers(0, 4, n)
    w, yr = rng.uniform(0.5, 2.0, n), rng.standard_normal(n)
    maps = {}
    for name, a in (("X", X), ("y", y), ("w", w), ("yr", yr)):
        path = tmp_path / f"{name}.npy"
        np.save(path, a)
        if kind == "np.load":
            maps[name] = np.load(path, mmap_mode="r")
        else:
            offset = len(path.read_bytes()) - a.nbytes  # past the .npy header
            maps[name] = np.memmap(path, dtype=a.dtype, mode="r", offset=offset, shape=a.shape)
        assert not maps[name].flags.writeable
        np.testing.assert_array_equal(maps[name], a)
    fits = [
        (nnfast.MLPClassifier, dict(solver="sgd", batch_size=50), "fit", True),
        (nnfast.MLPClassifier, dict(solver="adam", batch_size=64), "partial_fit", False),
        (nnfast.MLPClassifier, dict(solver="lbfgs"), "fit", True),
        (nnfast.MLPRegressor, dict(solver="adam", batch_size=100), "fit", True),
    ]
    for Est, params, method, weighted in fits:
        est = {}
        for source, (Xs, ys, yrs, ws) in (("map", (maps["X"], maps["y"], maps["yr"], maps["w"])),
                                           ("memory", (X, y, yr, w))):
            kw = {"sample_weight": ws} if weighted else {}
            if method == "partial_fit":
                kw["classes"] = np.arange(4)
            e = Est(hidden_layer_sizes=(5,), max_iter=3, random_state=0, **params)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                getattr(e, method)(Xs, yrs if Est is nnfast.MLPRegressor else ys, **kw)
            assert e.coefs_[0].dtype == dtype
            est[source] = e
        assert _digest(est["map"]) == _digest(est["memory"]), (Est.__name__, params)
        np.testing.assert_array_equal(est["map"].predict(maps["X"]), est["memory"].predict(X))


@pytest.mark.parametrize("y_kind", ["multiclass", "binary", "multilabel", "strings"])
def test_labels_are_encoded_in_row_blocks_as_in_one_call(y_kind):
    from sklearn.preprocessing import LabelBinarizer

    from nnfast import _checks

    rng = np.random.default_rng(2)
    n = 1000
    y = {"multiclass": rng.integers(0, 5, n), "binary": rng.integers(0, 2, n),
         "multilabel": rng.integers(0, 2, (n, 3)),
         "strings": rng.choice(np.array(["a", "b", "c"], dtype=object), n)}[y_kind]
    lb = LabelBinarizer().fit(y)
    # blocks of a single class (the first block of a sorted y) are encoded alike
    for ys in (y, np.sort(y, axis=0) if y_kind != "strings" else y):
        want = lb.transform(ys).astype(bool)
        got = _checks.binarize_labels(lb, ys, block_rows=97)
        assert got.dtype == bool and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_label_encoding_refuses_what_the_binarizer_refuses():
    from sklearn.preprocessing import LabelBinarizer

    from nnfast import _checks

    lb = LabelBinarizer().fit(np.arange(300) % 3)
    y = np.arange(300) % 3 + 0.5  # continuous: the binarizer's own error, from the whole y
    with pytest.raises(ValueError) as whole:
        lb.transform(y)
    with pytest.raises(ValueError) as blocks:
        _checks.binarize_labels(lb, y, block_rows=64)
    assert str(blocks.value) == str(whole.value)
