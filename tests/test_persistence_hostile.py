"""nnfast.load on hostile files: compression bombs, forged sizes, counts and dtypes, paths
that are no regular file, models that would load and predict wrongly, malformed metadata.
Every malformed file is a ValueError naming the problem, and costs no more memory than its
own size justifies (fuzzing and the measured worst case: test_persistence_fuzz)."""
import io
import os
import re
import struct
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest

pytest.importorskip("sklearn")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_files import (
    LABELS,
    PEAK_CONSTANT,
    PEAK_PER_BYTE,
    X,
    check_valid,
    crafted,
    edit,
    fit,
    forgeries,
    load_bytes,
    measure,
    member,
    npy,
    parts,
    poke,
    raw_meta,
    save_bytes,
    set_at,
    zip_entries,
    zip_of,
)

import nnfast
from nnfast import MLPClassifier, MLPRegressor

# ---------------------------------------------------------------------------
# 1. bombs: compression, forged sizes, counts, overlaps
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_compressed_members_are_refused_before_inflating(clf_bytes, method):
    data = zip_of(zip_entries(clf_bytes), method)
    with pytest.raises(ValueError, match="compressed"):
        load_bytes(data)
    # 20 MB of zeros in a few KB: refused without inflating a byte of it
    bomb = zip_of([("__metadata__.npy", npy(np.zeros(20_000_000, np.uint8)))], method)
    out, peak, seconds = measure(bomb)
    assert isinstance(out, ValueError) and "compressed" in str(out)
    assert peak < 10 * len(bomb) + PEAK_CONSTANT, peak



@pytest.mark.parametrize("case", ["huge member size", "zip64 sizes without their field",
                                  "central directory size", "member count", "members overlap",
                                  "member listed twice", "non-ASCII name", "crc",
                                  "compressed in the directory", "encrypted", "prefix",
                                  "trailing bytes"])
def test_forged_archive_structure_is_refused(clf_bytes, case):
    data, message = forgeries(clf_bytes)[case]
    out, peak, _ = measure(data)
    assert isinstance(out, ValueError), repr(out)
    assert message is None or re.search(message, str(out)), str(out)
    assert peak < 3 * len(data) + PEAK_CONSTANT, peak


def test_zip64_archives_load(monkeypatch):
    """Past 2 GiB or 65535 members zipfile writes zip64 records: a model saved with those
    limits made tiny (so every record is zip64) loads, the same model."""
    est = fit(MLPClassifier, solver="adam")
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 16)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
    data = save_bytes(est)
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data
    got = load_bytes(data)
    assert got.predict_proba(X).tobytes() == est.predict_proba(X).tobytes()


def test_many_members_cost_a_bounded_multiple_of_the_file(clf_bytes):
    data = zip_of([(f"m{i}.npy", npy(np.zeros(1, np.uint8))) for i in range(20_000)])
    out, peak, _ = measure(data)
    assert isinstance(out, ValueError) and "no __metadata__" in str(out), repr(out)
    assert peak < PEAK_PER_BYTE * len(data) + PEAK_CONSTANT, (peak, len(data))


@pytest.mark.parametrize("header,body,message", [
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }", b"\0" * 8, "declares"),
    ("{'descr': '<U0', 'fortran_order': False, 'shape': (1000000000000000,), }", b"", "dtype"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, -2), }", b"\0" * 16, "negative"),
    ("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8, "needs pickle"),
    ("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", b"\0" * 8,
     "dtype"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", b"\0" * 9, "declares"),
    ("[" * 5000 + "]" * 5000, b"", "not a valid .npy"),
])
def test_npy_headers_cannot_claim_what_the_member_does_not_hold(header, body, message):
    text = header.encode("latin1")
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + body
    out, peak, _ = measure(zip_of([("__metadata__.npy", member)]))
    assert isinstance(out, ValueError) and re.search(message, str(out)), out
    assert peak < PEAK_CONSTANT, peak


def _load_in_thread(path, seconds=20):
    result = []

    def run():
        try:
            result.append(nnfast.load(path))
        except Exception as exc:  # noqa: BLE001
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"load({path!r}) did not return within {seconds} s"
    return result[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "model.nnf"
    os.mkfifo(fifo)
    out = _load_in_thread(fifo)
    assert isinstance(out, ValueError) and "not a regular file" in str(out), repr(out)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_is_refused_at_once():
    out = _load_in_thread("/dev/zero")
    assert isinstance(out, ValueError) and "not a regular file" in str(out), repr(out)


def test_paths_that_are_no_model(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        nnfast.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        nnfast.load(tmp_path / "nope.nnf")
    sparse = tmp_path / "sparse.nnf"
    with open(sparse, "wb") as f:
        f.write(b"PK\x03\x04")
        try:
            f.truncate(2**36)  # 64 GiB that occupy no disk: only its ends are read
        except OSError:
            pytest.skip("no sparse files here")
    tracemalloc.start()
    with pytest.raises(ValueError, match="no end-of-archive record"):
        nnfast.load(sparse)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < PEAK_CONSTANT


def test_file_objects_must_be_seekable_and_binary(clf_bytes, tmp_path):
    r, w = os.pipe()
    os.close(w)
    with open(r, "rb") as pipe, pytest.raises(ValueError, match="seekable"):
        nnfast.load(pipe)
    text = tmp_path / "m.nnf"
    text.write_bytes(clf_bytes)
    with open(text, encoding="latin1") as f, pytest.raises(ValueError, match="binary mode"):
        nnfast.load(f)
    # and one that is loads from where it stands
    buf = io.BytesIO(b"junk" + clf_bytes)
    buf.seek(4)
    check_valid(nnfast.load(buf))


# ---------------------------------------------------------------------------
# 2. the metadata names no allocation
# ---------------------------------------------------------------------------

def test_a_huge_class_dtype_is_refused_without_allocating(clf_bytes):
    meta, members = parts(clf_bytes)
    meta["classes"]["dtype"] = "<U500000000"
    data = crafted(meta, members)
    out, peak, _ = measure(data)
    assert isinstance(out, ValueError) and "classes dtype" in str(out), repr(out)
    assert peak < 3 * len(data) + PEAK_CONSTANT, peak


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from("<|>"), code=st.sampled_from("UiufSbcOVMm"),
       size=st.one_of(st.integers(0, 16), st.integers(0, 10**12)),
       field=st.sampled_from(["classes", "manifest", "shape"]))
def test_no_dtype_or_shape_the_metadata_names_allocates(clf_bytes, kind, code, size, field):
    meta, members = parts(clf_bytes)
    dtype = f"{kind}{code}{size}"
    if field == "classes":
        meta["classes"]["dtype"] = dtype
    elif field == "manifest":
        meta["arrays"]["classes_"][0] = dtype
    else:
        meta["arrays"]["coefs_0"][1] = [size, size]
        meta["layer_shapes"][0][0] = size
    data = crafted(meta, members)
    out, peak, _ = measure(data)
    assert isinstance(out, (ValueError, nnfast.MLPClassifier)), repr(out)
    assert peak < 3 * len(data) + PEAK_CONSTANT, (dtype, peak)


# ---------------------------------------------------------------------------
# 3. models that would load and predict wrongly
# ---------------------------------------------------------------------------


CLASSIFIER_CASES = {
    "identity head": (set_at(["fitted", "out_activation_"], "identity"), "out_activation_"),
    "exp head": (set_at(["fitted", "out_activation_"], "exp"), "out_activation_"),
    "logistic head on multiclass": (set_at(["fitted", "out_activation_"], "logistic"),
                                    "out_activation_"),
    "multiclass as binary": (set_at(["classes", "y_type"], "binary"), "classes"),
    "int8 wraps 300": (lambda m, a: (member("classes_", lambda c: np.array([0, 300, 301]))(m, a),
                                     m["classes"].update(kind="int", dtype="|i1")),
                       "classes dtype"),
    "duplicate classes": (member("classes_", lambda c: np.array(["a", "a", "c"])), "unique"),
    "unsorted classes": (member("classes_", lambda c: np.array(["c", "b", "a"])), "sorted"),
    "nan weight": (member("coefs_0", poke(np.nan)), "NaN or infinite"),
    "inf intercept": (member("intercepts_1", poke(np.inf)), "NaN or infinite"),
    "nan velocity": (member("opt_s1_0", poke(np.nan)), "NaN"),
    "activation evil": (set_at(["params", "activation"], "evil"), "'activation' parameter"),
    "n_jobs x": (set_at(["params", "n_jobs"], "x"), "'n_jobs' parameter"),
    "negative alpha": (set_at(["params", "alpha"], -1.0), "'alpha' parameter"),
    "solver x": (set_at(["params", "solver"], "x"), "'solver' parameter"),
    "zero hidden units": (set_at(["params", "hidden_layer_sizes"], [0]), "hidden_layer_sizes"),
    "negative n_iter_": (set_at(["fitted", "n_iter_"], -3), "n_iter_"),
    "bool n_features_in_": (set_at(["fitted", "n_layers_"], True), "n_layers_"),
    "string loss_": (set_at(["fitted", "loss_"], "x"), "loss_"),
    "negative rate": (set_at(["optimizer", "learning_rate"], -1.0), "learning_rate"),
}


@pytest.mark.parametrize("case", sorted(CLASSIFIER_CASES))
def test_a_classifier_that_would_predict_wrongly_is_refused(clf_bytes, case):
    change, message = CLASSIFIER_CASES[case]
    with pytest.raises(ValueError, match=message):
        load_bytes(edit(clf_bytes, change))


REGRESSOR_CASES = {
    "logistic head": (set_at(["fitted", "out_activation_"], "logistic"), "out_activation_"),
    "softmax head": (set_at(["fitted", "out_activation_"], "softmax"), "out_activation_"),
    "exp head with squared error": (set_at(["fitted", "out_activation_"], "exp"),
                                    "out_activation_"),
    "identity head with poisson": (set_at(["params", "loss"], "poisson"), "out_activation_"),
    "nan adam moment": (member("opt_s2_1", poke(np.nan)), "NaN"),
    "loss evil": (set_at(["params", "loss"], "evil"), "'loss' parameter"),
}


@pytest.mark.parametrize("case", sorted(REGRESSOR_CASES))
def test_a_regressor_that_would_predict_wrongly_is_refused(reg_bytes, case):
    change, message = REGRESSOR_CASES[case]
    with pytest.raises(ValueError, match=message):
        load_bytes(edit(reg_bytes, change))


def test_the_checks_accept_every_model_a_fit_makes():
    y_bin, y_int = (X[:, 1] > 0), np.digitize(X[:, 0], [-0.4, 0.4]).astype(np.int8) - 1
    models = [fit(y=y_bin), fit(y=y_int), fit(y=(X[:, :3] > 0).astype(int)),
              fit(y=LABELS.astype(object)), fit(y=np.where(y_bin, 1.0, -2.0)),
              fit(MLPRegressor, np.exp(X[:, 0]), loss="poisson"),
              fit(MLPRegressor, X[:, :2], solver="lbfgs")]
    for est in models:
        got = load_bytes(save_bytes(est))
        check_valid(got)
        assert np.array_equal(got.predict(X), est.predict(X))


# ---------------------------------------------------------------------------
# 4. malformed metadata: ValueError, whatever the kind of damage
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("text,message", [
    (b"[" * 100_000 + b"]" * 100_000, "JSON lists and objects"),
    (b"[" + b"0," * 100_000 + b"0]", "values"),
    (b"[" * 1050 + b"]" * 1050, "nested too deeply"),
    (b'{"format": NaN}', "NaN is not JSON"),
    (b'{"format": "nnfast-mlp", "format": "nnfast-mlp"}', "repeats a key"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b'{"a": {"__float__": "1e999"}}', "tagged float"),
    (b'{"a": {"__dict__": [[[1], 2]]}}', "not a label"),
    (b'{"a": {"__dict__": [[1, 2], [1, 3]]}}', "repeats a key"),
    (b'{"a": {"__tuple__": 3}}', "tagged tuple"),
    (b"[]", "not a JSON object"),
    (b'{"format": "nnfast-mlp", "format_version": true}', "invalid format version"),
    (b"1" * 5000, "malformed metadata"),
])
def test_malformed_json_is_a_value_error(clf_bytes, text, message):
    with pytest.raises(ValueError, match=message):
        load_bytes(raw_meta(clf_bytes, text))


@pytest.mark.parametrize("path,value", [
    (["fitted"], []), (["lists"], "x"), (["params"], 3), (["classes"], []),
    (["classes", "kind"], ["str"]), (["optimizer", "t"], "x"), (["optimizer"], 5),
    (["layer_shapes"], [[1.5, 5]]), (["layer_shapes", 0], 4), (["arrays", "coefs_0"], "x"),
    (["feature_names_in_"], [1, 2, 3, 4]), (["estimator"], ["MLPClassifier"]),
    (["nnfast_version"], [[]] * 10), (["payload"], 1), (["dtype"], {"a": 1}),
    (["fitted", "evil"], 1), (["lists", "loss_curve_"], "yes"), (["params", "evil"], 1),
])
def test_a_field_of_the_wrong_type_is_a_value_error(clf_bytes, path, value):
    with pytest.raises(ValueError):
        load_bytes(edit(clf_bytes, set_at(path, value)))


@pytest.mark.parametrize("case", ["nan weight", "identity head", "fifo"])
def test_predict_refuses_such_a_model_with_exit_2(clf_bytes, tmp_path, capsys, case):
    """The command line loads through nnfast.load: a refused model is one line and exit 2
    (a NaN-weight model used to predict class 0 with NaN probabilities and exit 0)."""
    from nnfast.cli import main

    path = tmp_path / "m.nnf"
    if case == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this platform")
        os.mkfifo(path)
    else:
        change = {"nan weight": member("coefs_0", poke(np.nan)),
                  "identity head": set_at(["fitted", "out_activation_"], "identity")}[case]
        path.write_bytes(edit(clf_bytes, change))
    data = tmp_path / "d.csv"
    data.write_text("a,b,c,d\n" + "\n".join(",".join(map(str, row)) for row in X[:3]) + "\n")
    assert main(["predict", str(path), str(data)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search("cannot load model|not a regular file", err), err
