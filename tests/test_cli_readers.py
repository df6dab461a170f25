"""The command line's data readers: CSV through pandas (checked against the strict reader
that defines the rules), Parquet through pyarrow, memory-mapped .npy, and predictions
written as CSV or Parquet.

The hostile-input cases that every reader shares (missing files, FIFOs, memory) are in
tests/test_cli_hostile.py; the CSV's line-numbered messages there run through these
readers too.
"""
import csv
import io
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("sklearn")
# CI installs nnfast[test], which has both: a missing one is a failure, not a skip.
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from cli_files import blobs, one_error_line, train_model, write_csv  # noqa: E402

import nnfast  # noqa: E402
from nnfast.cli import CLIError, main  # noqa: E402
from nnfast.cli import read_csv as csv_reader  # noqa: E402
from nnfast.cli.readers import read_table  # noqa: E402


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train_model(tmp_path_factory.mktemp("model"))


def _strict(path, target=None, need_target=True, n_features=None):
    import os

    return csv_reader.read_csv_strict(str(path), target, need_target, n_features,
                                      os.path.getsize(path))


def _outcome(read):
    """('ok', X, y, names, target) or ('error', message) of calling `read`."""
    try:
        X, y, names, target = read()
    except CLIError as exc:
        return ("error", str(exc))
    return ("ok", X, y, names, target)


def _assert_same(fast, strict):
    assert fast[0] == strict[0], (fast, strict)
    if fast[0] == "error":
        assert fast[1] == strict[1]
        return
    _, X, y, names, target = fast
    _, X2, y2, names2, target2 = strict
    assert X.dtype == X2.dtype == np.float64 and X.shape == X2.shape
    assert np.array_equal(X, X2)
    assert (names, target) == (names2, target2)
    if y2 is None:
        assert y is None
    else:
        assert y.dtype == y2.dtype and y.tolist() == y2.tolist()


@pytest.fixture
def no_strict_reader(monkeypatch):
    """Fail the test if the strict reader is called: the file must take pandas' path."""
    def strict(*args):
        raise AssertionError("the strict reader read a file pandas should have taken")

    monkeypatch.setattr(csv_reader, "read_csv_strict", strict)


# ---------------------------------------------------------------------------
# CSV: pandas reads what the strict reader would, or hands the file to it
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("rows, target", [
    ([["1.5", "2", "0"], ["-3e-5", " 4 ", "1"], ["5", "6.25", "1"]], None),
    ([["1", "2", "cat"], ["3", "4", " dog "], ["5", "6", "cat"]], None),
    ([["0.1", "2", str(2**53 + 1)], ["3", "4", "-7"]], None),    # int64, read exactly
    ([["0.1", "2", "1.0"], ["3", "4", "0.0"]], None),            # whole floats: int64
    ([["0.1", "2", "1e19"], ["3", "4", "0.5"]], None),
    ([["0.1", "2", "0"], ["3", "4", "1"]], "a"),                 # the target named
])
def test_clean_files_take_pandas_path_and_read_as_the_strict_reader(rows, target, tmp_path,
                                                                    monkeypatch):
    path = write_csv(tmp_path / "d.csv", ["a", "b", "y"], rows)
    strict = _outcome(lambda: _strict(path, target))
    monkeypatch.setattr(csv_reader, "read_csv_strict", None)  # must not be needed
    _assert_same(_outcome(lambda: read_table(path, target)), strict)


@pytest.mark.parametrize("labels", [
    ["True", "False", "TRUE", "false"],                 # pandas reads booleans
    ["1", "2"] * 50_000 + ["cat"] * 100_000,  # pandas 2: numbers in its first chunks
])
def test_text_labels_pandas_reads_as_other_types_still_take_its_path(labels, tmp_path,
                                                                   monkeypatch):
    path = write_csv(tmp_path / "d.csv", ["a", "y"], [[str(i % 7), c] for i, c in enumerate(labels)])
    strict = _outcome(lambda: _strict(path))
    monkeypatch.setattr(csv_reader, "read_csv_strict", None)  # must not be needed
    fast = _outcome(lambda: read_table(path))
    _assert_same(fast, strict)
    assert fast[2].dtype == object and fast[2].tolist() == labels


@pytest.mark.parametrize("text", [
    "a,b\n1,2,3\n4,5\n",          # a first data row longer than the header (pandas: index)
    "a,b\n1,2,\n3,4,\n",          # trailing commas
    "a,b\n1,2\n4\n",              # a short row
    "a,y\n1,True\n2,False\n",     # pandas' booleans: labels 'True' / 'False' here
    "a,y\n1,nan\n2,1\n",          # pandas' text, Python's number
    "a,y\n1,-nan\n2,+nan\n",
    "a,y\n1_000,0\n2,1\n",
    "a,y\n1,0\n,,\n2,1\n",        # a row of empty cells: skipped
    "a,y\n1,0\n \n2,1\n",
    "\ufeffa,y\n1,0\n2,1\n",      # a byte-order mark
    "a,y\r1,0\r2,1\r",
    '"a","y"\n"1","0"\n"2","1"\n',
    "a,y\n1,0\n2,\n",
    "a,a,y\n1,2,0\n",
    ",,\n1,2,0\n",
    ", ,y\n1,2,0\n",               # empty names are names, once each
    " a ,y\n1,0\n2,1\n",
    "a,y\n1,x\x00y\n2,z\n",
    "a,y\n1,\"x\"y\n2,z\n",
    "a,y\n1,1\n2," + str(2**63) + "\n",
    "a,y\n1,1\n2," + str(2**64) + "\n",
    "a,y\n\x0c\n1,0\n2,1\n",
    "a,y\ninf,0\n2,1\n",
    "a,y\n1e999,0\n2,1\n",
    "a,y\n1,0\n2,1e999\n",
    "a,y\n1,1\n2,٣\n",
])
@pytest.mark.parametrize("need_target", [True, False])
def test_awkward_files_read_as_the_strict_reader_reads_them(text, need_target, tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(text.encode("utf-8"))
    n_features = None if need_target else 1
    _assert_same(_outcome(lambda: read_table(path, None, need_target, n_features)),
                 _outcome(lambda: _strict(path, None, need_target, n_features)))


_NUMBERS = ["0", "1", "-2", "3.5", "1e3", " 4 ", "+.5", "5.", "-0", "\t8", '"7"',
            "0.1", "1e-320", "123456789.123456789", str(2**53 + 1), str(2**63), "1e19"]
_LABELS = ["cat", "dog", " cat", "True", "1"]
_ANYTHING = _NUMBERS + _LABELS + ["", " ", "1e999", "inf", "nan", "1_0", "\u0661", "0x1",
                                  "1d2", "x\x00"]


@st.composite
def _csv_texts(draw):
    """CSV text whose columns are numbers, labels or anything (blank, short and long rows
    among them), so that pandas' path is taken often and refused often."""
    width = draw(st.integers(1, 4))
    names = st.sampled_from(["a", "b", "y", "", " c", "d"])
    header = draw(st.lists(names, min_size=width, max_size=width, unique=draw(st.booleans())))
    pools = [draw(st.sampled_from([_NUMBERS] * 3 + [_LABELS, _ANYTHING])) for _ in header]
    lines = [",".join(header)]
    for _ in range(draw(st.integers(0, 6)) or draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["row"] * 12 + ["blank", "short", "long"]))
        n = {"row": width, "blank": 0, "short": max(width - 1, 0), "long": width + 1}[kind]
        lines.append(",".join(draw(st.sampled_from(pools[min(j, width - 1)]))
                              for j in range(n)))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    return ending.join(lines) + draw(st.sampled_from(["", ending]))


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_csv_texts(), need_target=st.booleans(), target=st.sampled_from([None, "a", "y"]))
def test_pandas_and_the_strict_reader_agree_on_generated_files(text, need_target, target,
                                                              tmp_path):
    path = tmp_path / "g.csv"
    path.write_text(text, newline="")
    n_features = None if need_target else 1
    _assert_same(_outcome(lambda: read_table(path, target, need_target, n_features)),
                 _outcome(lambda: _strict(path, target, need_target, n_features)))


def test_without_pandas_the_strict_reader_reads_with_a_note_for_big_files(tmp_path, monkeypatch,
                                                                         capsys):
    path = blobs(tmp_path / "d.csv")
    expected = _strict(path)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    X, y, _, _ = read_table(path)
    assert np.array_equal(X, expected[0]) and y.tolist() == expected[1].tolist()
    assert capsys.readouterr().err == ""  # a small file: no note
    monkeypatch.setattr(csv_reader, "_NOTE_ABOVE_BYTES", 0)
    read_table(path)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pandas is not installed" in err and "nnfast[data]" in err


def test_importing_the_commands_imports_no_data_package():
    code = ("import sys, nnfast.cli, nnfast.cli.commands.train, nnfast.cli.commands.predict; "
            "bad = [m for m in ('pandas', 'pyarrow') if m in sys.modules]; "
            "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------
# Parquet
# ---------------------------------------------------------------------------

def _blob_table(n=40):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(n // 2, 2) + 2, rng.randn(n // 2, 2) - 2])
    return pa.table({"f1": X[:, 0], "f2": pa.array((X[:, 1] * 100).astype(np.int32)),
                     "animal": pa.array(["cat"] * (n // 2) + ["dog"] * (n // 2)).dictionary_encode()})


def test_parquet_trains_and_predicts_like_the_same_csv(tmp_path, capsys):
    table = _blob_table()
    pq.write_table(table, tmp_path / "d.parquet")
    pd.DataFrame(table.to_pandas()).assign(animal=lambda d: d["animal"].astype(str)).to_csv(
        tmp_path / "d.csv", index=False)
    X, y, names, target = read_table(tmp_path / "d.parquet")
    Xc, yc, names_c, target_c = read_table(tmp_path / "d.csv")
    assert np.array_equal(X, Xc) and y.tolist() == yc.tolist() == ["cat"] * 20 + ["dog"] * 20
    assert (names, target) == (names_c, target_c) == (["f1", "f2"], "animal")
    X, y, names, target = read_table(tmp_path / "d.parquet", "animal", need_target=False)
    assert np.array_equal(X, Xc) and (names, target, y) == (["f1", "f2"], "animal", None)
    assert main(["train", str(tmp_path / "d.parquet"), "--epochs", "30", "--lr", "0.05",
                 "--out", str(tmp_path / "m")]) == 0
    assert "classify 'animal' from 2 features" in capsys.readouterr().out
    assert list(nnfast.load(tmp_path / "m").classes_) == ["cat", "dog"]
    assert main(["predict", str(tmp_path / "m"), str(tmp_path / "d.parquet")]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["cat"] * 20 + ["dog"] * 20


def test_parquet_targets_keep_their_type(tmp_path):
    X = np.arange(6.0)
    for values, dtype in [(np.array([0.0, 1.0] * 3), np.float64), (np.arange(6), np.int64),
                          (np.array([True, False] * 3), np.bool_),
                          (np.array([0, 2**64 - 1] * 3, dtype=np.uint64), np.float64)]:
        pq.write_table(pa.table({"x": X, "y": values}), tmp_path / "t.parquet")
        y = read_table(tmp_path / "t.parquet")[1]
        assert y.dtype == dtype and y.tolist() == values.astype(dtype).tolist()


@pytest.mark.parametrize("columns, message", [
    ({"x": pa.array([1.0, None, 3.0]), "y": [0, 1, 0]}, "row 2: missing value in column 'x'"),
    ({"x": [1.0, np.nan, 3.0], "y": [0, 1, 0]},
     "row 2: value nan in feature column 'x' is not a finite number"),
    ({"x": ["a", "b", "c"], "y": [0, 1, 0]}, "column 'x' in {} has type string; features"),
    ({"x": [1, 2, 3], "y": pa.array([0, None, 1])}, "row 2: missing target value in column 'y'"),
    ({"x": [1, 2, 3], "y": [0.5, np.inf, 1]}, "row 2: target value inf in column 'y'"),
    ({"x": [1, 2, 3], "y": pa.array([[1], [2], [3]])}, "a target must be numbers or text labels"),
    ({"x": [1, 2, 3]}, "needs at least one feature column and a target column"),
])
def test_bad_parquet_files_are_one_line_naming_row_and_column(columns, message, tmp_path,
                                                             capsys):
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table(columns), path)
    assert main(["train", str(path), "--out", str(tmp_path / "m")]) == 2
    one_error_line(capsys, "train", message.format(path))


def test_parquet_duplicate_names_garbage_and_memory_are_refused(tmp_path, monkeypatch, capsys):
    from nnfast.cli import tables

    path = tmp_path / "dup.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array([1, 2]), pa.array([3, 4]), pa.array([0, 1])],
                                        names=["a", "a", "y"]), path)
    assert main(["train", str(path)]) == 2
    one_error_line(capsys, "train", "duplicate column name 'a' (columns 1 and 2)")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    assert main(["train", str(tmp_path / "junk.parquet")]) == 2
    one_error_line(capsys, "train", "as a Parquet file (")
    pq.write_table(pa.table({"x": np.zeros(1000), "y": np.arange(1000) % 2}),
                   tmp_path / "big.parquet")
    monkeypatch.setattr(tables, "physical_memory", lambda: 1000)
    assert main(["train", str(tmp_path / "big.parquet")]) == 2
    one_error_line(capsys, "train", "of memory to read; this machine has 1000 B")


@pytest.mark.parametrize("args", [["train", "{d}"], ["predict", "{m}", "{d}"],
                                  ["predict", "{m}", "{c}", "--out", "{o}"]])
def test_a_missing_pyarrow_is_one_line_naming_the_extra(args, model, tmp_path, monkeypatch,
                                                        capsys):
    pq.write_table(_blob_table(), tmp_path / "d.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    out = tmp_path / "p.parquet"
    argv = [a.format(d=tmp_path / "d.parquet", m=model, c=blobs(tmp_path / "c.csv"), o=out)
            for a in args]
    assert main(argv) == 2
    one_error_line(capsys, argv[0], "Parquet files needs pyarrow, which is not installed: "
                                    "pip install 'nnfast[data]'")
    assert not out.exists()


# ---------------------------------------------------------------------------
# .npy, memory-mapped
# ---------------------------------------------------------------------------

def test_npy_is_memory_mapped_with_the_target_last(model, tmp_path, capsys):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(20, 2) + 2, rng.randn(20, 2) - 2]).astype(np.float32)
    data = np.column_stack([X, np.r_[np.zeros(20), np.ones(20)]]).astype(np.float32)
    np.save(tmp_path / "d.npy", data)
    Xr, y, names, target = read_table(tmp_path / "d.npy")
    assert Xr.dtype == np.float32 and not Xr.flags.writeable
    assert isinstance(Xr.base, np.memmap) or isinstance(Xr, np.memmap)
    assert np.array_equal(Xr, X) and y.dtype == np.int64 and y.tolist() == [0] * 20 + [1] * 20
    assert (names, target) == (["x0", "x1"], "y")
    assert main(["train", str(tmp_path / "d.npy"), "--epochs", "2", "--out",
                 str(tmp_path / "m")]) == 0
    assert "classify 'y' from 2 features" in capsys.readouterr().out
    for array in (data, X):  # laid out like the training file, or features only
        np.save(tmp_path / "p.npy", array)
        assert main(["predict", str(model), str(tmp_path / "p.npy")]) == 0
        assert len(capsys.readouterr().out.splitlines()) == 41


@pytest.mark.parametrize("array, message", [
    (np.zeros(5), "must be 2-D (examples x columns)"),
    (np.zeros((4, 2), dtype=complex), "is not numeric (dtype complex128)"),
    (np.zeros((0, 3)), "is empty (shape (0, 3))"),
    (np.zeros((4, 1)), "needs at least one feature column and a target column"),
    (np.array([[1.0, 0], [np.nan, 1]]), "row 2, column 1: value nan is not a finite number"),
    (np.array([[1.0, 0], [2.0, np.inf]]), "row 2: target value inf (last column)"),
])
def test_bad_npy_arrays_are_one_line(array, message, tmp_path, capsys):
    np.save(tmp_path / "a.npy", array)
    assert main(["train", str(tmp_path / "a.npy"), "--out", str(tmp_path / "m")]) == 2
    one_error_line(capsys, "train", message)


def test_npy_files_that_lie_or_are_not_npy_are_refused(tmp_path, capsys):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 10**4)})
    (tmp_path / "bomb.npy").write_bytes(buf.getvalue() + b"\0" * 64)
    assert main(["train", str(tmp_path / "bomb.npy")]) == 2
    one_error_line(capsys, "train", "as an .npy array (")
    np.savez(tmp_path / "z.npy", X=np.zeros((2, 2)))  # an archive under another name
    (tmp_path / "z.npy.npz").rename(tmp_path / "z.npy")
    assert main(["train", str(tmp_path / "z.npy")]) == 2
    one_error_line(capsys, "train", "is not an .npy file")
    np.save(tmp_path / "ok.npy", np.zeros((4, 2)))
    assert main(["train", str(tmp_path / "ok.npy"), "--target", "y"]) == 2
    one_error_line(capsys, "train", "is an .npy array, whose target is its last column")


# ---------------------------------------------------------------------------
# predict writes CSV or Parquet by the output's extension
# ---------------------------------------------------------------------------

def test_predict_writes_parquet_by_extension_with_the_csv_values(model, tmp_path, capsys):
    data = blobs(tmp_path / "d.csv")
    assert main(["predict", str(model), str(data), "--proba", "--out",
                 str(tmp_path / "p.csv")]) == 0
    assert main(["predict", str(model), str(data), "--proba", "--out",
                 str(tmp_path / "p.parquet")]) == 0
    assert capsys.readouterr().err.count("40 predictions written") == 2
    table = pq.read_table(tmp_path / "p.parquet")
    rows = list(csv.reader(open(tmp_path / "p.csv")))
    assert table.column_names == rows[0] == ["prediction", "proba_0", "proba_1"]
    assert table.column("prediction").type == pa.int64()
    assert table.column("prediction").to_pylist() == [int(r[0]) for r in rows[1:]]
    for j in (1, 2):  # the CSV's repr reads back exactly
        assert table.column(j).to_pylist() == [float(r[j]) for r in rows[1:]]


def test_predict_parquet_keeps_text_labels(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["f", "animal"],
                     [[str(i), "cat" if i < 10 else "dog"] for i in range(20)])
    assert main(["train", str(path), "--epochs", "2", "--out", str(tmp_path / "m")]) == 0
    assert main(["predict", str(tmp_path / "m"), str(path), "--out",
                 str(tmp_path / "p.pq")]) == 0
    labels = pq.read_table(tmp_path / "p.pq").column("prediction")
    assert labels.type == pa.string() and set(labels.to_pylist()) <= {"cat", "dog"}


def test_a_file_that_grows_while_read_is_bounded_on_both_paths(tmp_path, monkeypatch):
    path = blobs(tmp_path / "d.csv")
    monkeypatch.setattr(csv_reader, "_read_limit", lambda size: 100)  # as if it had grown
    assert csv_reader._read_fast(pd, str(path), None, True, None, 100) is None
    with pytest.raises(CLIError, match="grew past 100 B while being read"):
        read_table(path)


def test_predictions_of_several_outputs_are_one_column_each(tmp_path, capsys):
    rng = np.random.RandomState(0)
    X = rng.randn(30, 3)
    np.save(tmp_path / "x.npy", X)
    models = {"reg": nnfast.MLPRegressor(hidden_layer_sizes=(4,), max_iter=3),
              "multilabel": nnfast.MLPClassifier(hidden_layer_sizes=(4,), max_iter=3)}
    targets = {"reg": rng.randn(30, 2), "multilabel": (rng.rand(30, 3) > 0.5).astype(int)}
    for name, est in models.items():
        with pytest.warns(Warning):  # not converged in 3 epochs
            est.fit(X, targets[name]).save(tmp_path / name)
        out = tmp_path / f"{name}.parquet"
        assert main(["predict", str(tmp_path / name), str(tmp_path / "x.npy"), "--out",
                     str(out)]) == 0
        table = pq.read_table(out)
        k = targets[name].shape[1]
        assert table.column_names == [f"prediction_{j}" for j in range(k)]
        assert np.array_equal(np.column_stack([c.to_numpy() for c in table.columns]),
                              est.predict(X))
        assert main(["predict", str(tmp_path / name), str(tmp_path / "x.npy")]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == ",".join(table.column_names) and len(lines) == 31
