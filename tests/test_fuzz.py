"""Fuzzing the two readers of untrusted files: the model loader (nnfast.load) and the data
reader of the command line (CSV / npz). Malformed input must give the documented clear error
(ValueError for model files, CLIError for data files), never a crash, a hang or another
exception. Runs a bounded number of hypothesis examples (NNFAST_FUZZ_EXAMPLES, default 150
per test); each example must finish within hypothesis' deadline, so a hang fails the test."""
import io
import os
import zipfile

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import nnfast  # noqa: E402
from nnfast.cli.errors import CLIError  # noqa: E402
from nnfast.cli.readers import read_table  # noqa: E402

EXAMPLES = int(os.environ.get("NNFAST_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=2000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    from nnfast import MLPClassifier

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 3, 40)
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    path = tmp_path_factory.mktemp("fuzz") / "model.npz"
    est.save(path)
    return path.read_bytes(), est, X


def _load_bytes(tmp_path, data):
    path = tmp_path / "m.npz"
    path.write_bytes(data)
    return nnfast.load(path)


@FUZZ
@given(data=st.data())
def test_mutated_model_files_are_refused_or_identical(model_bytes, tmp_path, data):
    original, est, X = model_bytes
    raw = bytearray(original)
    kind = data.draw(st.sampled_from(["flip", "truncate", "splice", "garbage"]))
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
    elif kind == "splice":
        i = data.draw(st.integers(0, len(raw)))
        raw[i:i] = data.draw(st.binary(min_size=1, max_size=64))
    else:
        raw = bytearray(data.draw(st.binary(max_size=512)))
    try:
        loaded = _load_bytes(tmp_path, bytes(raw))
    except ValueError:
        return  # the documented refusal
    # Accepted: only if nothing that matters changed (e.g. a flip in zip padding).
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


@FUZZ
@given(members=st.dictionaries(
    st.sampled_from(["__metadata__", "__sha256__", "coefs_0", "intercepts_0", "classes_"]),
    st.one_of(st.binary(max_size=64).map(lambda b: np.frombuffer(b, np.uint8)),
              st.lists(st.floats(allow_nan=True), max_size=8).map(np.array),
              st.text(max_size=20).map(lambda s: np.array([s]))), max_size=5))
def test_well_formed_archives_with_wrong_content_are_refused(tmp_path, members):
    buf = io.BytesIO()
    np.savez(buf, **members)
    with pytest.raises(ValueError):
        _load_bytes(tmp_path, buf.getvalue())


CELL = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.integers(-10**6, 10**6).map(str),
                 st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6))


@FUZZ
@given(rows=st.lists(st.lists(CELL, min_size=0, max_size=4), max_size=6),
       sep=st.sampled_from([",", ";", "\t"]), target=st.sampled_from([None, "c0", "zz"]))
def test_csv_reader_gives_clear_errors(tmp_path, rows, sep, target):
    text = "\n".join(sep.join(r) for r in rows)
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    try:
        X, y, names, tname = read_table(path, target=target)
    except CLIError as e:
        assert str(e)  # a message for the user
        return
    assert X.ndim == 2 and np.isfinite(X).all() and len(y) == X.shape[0]


@FUZZ
@given(blob=st.binary(max_size=300))
def test_data_reader_survives_arbitrary_bytes(tmp_path, blob):
    for name in ("data.csv", "data.npz"):
        path = tmp_path / name
        path.write_bytes(blob)
        try:
            read_table(path)
        except CLIError:
            pass


def test_zip_bomb_shaped_member_is_refused(tmp_path):
    """A member that claims a huge array must not be allocated blindly."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        header = ("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,), }"
                  .ljust(117) + "\n")
        z.writestr("coefs_0.npy", b"\x93NUMPY\x01\x00" + bytes([118, 0]) + header.encode())
    with pytest.raises(ValueError):
        _load_bytes(tmp_path, buf.getvalue())
