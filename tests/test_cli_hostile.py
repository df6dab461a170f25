"""The command line against hostile and careless input: extreme options, files that are
not files, and values that would be read wrong.

Each case ends in the correct result or in one line ``nnfast <command>: error: ...`` with
exit code 2, never a traceback. What the command line writes is tests/test_cli_outputs.py.
"""
import os
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("sklearn")

from cli_files import blobs, one_error_line, run_nnfast, train_model, write_csv  # noqa: E402

import nnfast  # noqa: E402
from nnfast.cli import CLIError, main  # noqa: E402
from nnfast.cli.commands.train import training_memory  # noqa: E402
from nnfast.cli.parser import build_parser  # noqa: E402
from nnfast.cli.read_csv import parse_number as _parse_number  # noqa: E402
from nnfast.cli.readers import read_table  # noqa: E402


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    # A command that failed to refuse would save DATA's name with .nnfast in the current
    # folder: let that be the test's own folder.
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train_model(tmp_path_factory.mktemp("model"))


# ---------------------------------------------------------------------------
# Extreme options and files that are not files: one line, exit 2
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", ["-1", "99999999999", str(2**32), "1.5", "x"])
def test_out_of_range_seeds_are_usage_errors(seed, tmp_path, capsys):
    data = blobs(tmp_path / "d.csv")
    assert main(["train", str(data), "--seed", seed, "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "Traceback" not in err
    assert not (tmp_path / "d.nnfast").exists()


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.integers(-2**70, 2**70), st.sampled_from([0, 2**32 - 1, -1, 2**32])))
def test_the_seed_range_is_numpys(seed):
    try:
        np.random.RandomState(seed)  # what scikit-learn makes of a random_state
    except ValueError:
        with pytest.raises(SystemExit):
            build_parser().parse_args(["train", "x.csv", "--seed", str(seed)])
    else:
        assert build_parser().parse_args(["train", "x.csv", "--seed", str(seed)]).seed == seed


def test_a_network_too_big_for_memory_is_refused_with_the_figure(tmp_path, capsys):
    data = blobs(tmp_path / "d.csv")
    assert main(["train", str(data), "--hidden", "1000000,1000000", "--epochs", "1",
                 "--out", str(tmp_path / "m")]) == 2
    one_error_line(capsys, "train", "1,000,005,000,001 parameters")
    assert not (tmp_path / "m").exists()


def test_training_memory_counts_parameters_and_solver_copies():
    n, adam = training_memory([2, 3, 1], "adam", batch_rows=10)
    assert n == 3 * 3 + 4 * 1
    assert adam == 8 * (4 * n + 2 * 10 * 6)
    assert training_memory([2, 3, 1], "sgd", 10)[1] < adam < training_memory(
        [2, 3, 1], "lbfgs", 10)[1]
    assert training_memory([2, 3, 1], "adam", 10, early_stopping=True)[1] == adam + 8 * n


@pytest.mark.parametrize("name", ["d.csv", "d.npz"])
def test_data_too_big_for_memory_is_refused_before_reading(name, tmp_path, monkeypatch,
                                                            capsys):
    from nnfast.cli import tables

    path = tmp_path / name
    if name.endswith(".csv"):
        blobs(path)
    else:
        np.savez(path, X=np.zeros((40, 2)), y=np.arange(40) % 2)
    memory = path.stat().st_size // 2  # a machine smaller than the file itself

    monkeypatch.setattr(tables, "physical_memory", lambda: memory)
    assert main(["train", str(path)]) == 2
    one_error_line(capsys, "train", f"of memory to read; this machine has {memory} B")


def test_running_out_of_memory_is_one_line(model, tmp_path, monkeypatch, capsys):
    from nnfast.cli.commands import predict

    message = "Unable to allocate 8.00 TiB for an array with shape (1099511627776,)"

    def exhausted(*args, **kwargs):
        raise MemoryError(message)

    monkeypatch.setattr(predict, "read_table", exhausted)
    assert main(["predict", str(model), str(blobs(tmp_path / "d.csv"))]) == 2
    one_error_line(capsys, "predict", f"out of memory: {message}")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("what", ["fifo", "dev-zero", "fifo-model"])
def test_data_that_is_not_a_regular_file_is_refused_without_reading(what, model, tmp_path):
    if what == "dev-zero":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero")
        path = "/dev/zero"
    else:
        path = tmp_path / "pipe"
        os.mkfifo(path)  # nobody writes to it: opening it would block for ever
    if what == "fifo-model":
        args, message = ["predict", path, blobs(tmp_path / "d.csv")], "not a regular file"
    else:
        args, message = ["train", path, "--out", tmp_path / "m"], "not a regular file"
    proc = run_nnfast(args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.parametrize("command", ["train", "predict"])
def test_target_with_an_npz_is_refused_not_ignored(command, model, tmp_path, capsys):
    np.savez(tmp_path / "d.npz", X=np.zeros((4, 2)), y=np.arange(4) % 2)
    argv = ([command, str(tmp_path / "d.npz")] if command == "train"
            else [command, str(model), str(tmp_path / "d.npz")])
    assert main([*argv, "--target", "label"]) == 2
    one_error_line(capsys, command, "--target names a CSV or Parquet column")


def test_npz_byte_string_labels_are_decoded(tmp_path, capsys):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(20, 2) + 2, rng.randn(20, 2) - 2])
    np.savez(tmp_path / "b.npz", X=X, y=np.array([b"cat"] * 20 + [b"dog"] * 20))
    assert main(["train", str(tmp_path / "b.npz"), "--epochs", "2", "--out",
                 str(tmp_path / "m")]) == 0
    capsys.readouterr()
    assert list(nnfast.load(tmp_path / "m").classes_) == ["cat", "dog"]
    np.savez(tmp_path / "bad.npz", X=X, y=np.array([b"\xff"] * 20 + [b"dog"] * 20))
    assert main(["train", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "m2")]) == 2
    one_error_line(capsys, "train", "not UTF-8")


@pytest.mark.parametrize("y, message", [
    (np.arange(40) + 1j, "complex"),
    (np.array([np.datetime64("2020-01-01")] * 40), "dtype datetime64"),
    (np.r_[np.nan, np.arange(39.0)], "NaN"),
])
def test_npz_targets_that_are_not_labels_or_reals_are_refused(y, message, tmp_path, capsys):
    np.savez(tmp_path / "t.npz", X=np.random.RandomState(0).randn(40, 2), y=y)
    assert main(["train", str(tmp_path / "t.npz"), "--out", str(tmp_path / "m")]) == 2
    one_error_line(capsys, "train", message)


def test_npz_member_claiming_more_than_it_holds_is_refused_before_allocation(tmp_path, capsys):
    import zipfile

    header = {"descr": "<f8", "fortran_order": False, "shape": (10**9, 10**4)}
    buf = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w") as zf:
        zf.writestr("X.npy", buf.getvalue() + b"\0" * 64)
        zf.writestr("y.npy", b"")
    assert main(["train", str(tmp_path / "bomb.npz"), "--out", str(tmp_path / "m")]) == 2
    one_error_line(capsys, "train", "claims")


@pytest.mark.parametrize("X_shape, y_shape, message", [
    ((0, 10**12), (0,), "X in {} is empty"),
    ((4, 2), (5,), "one value per row of X"),
])
def test_npz_shapes_are_checked_from_the_headers(X_shape, y_shape, message, tmp_path,
                                                 capsys):
    import io
    import zipfile

    path = tmp_path / "s.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, shape in (("X", X_shape), ("y", y_shape)):
            buf = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
            zf.writestr(name + ".npy", buf.getvalue() + bytes(8 * int(np.prod(shape))))
    assert main(["train", str(path), "--out", str(tmp_path / "m")]) == 2
    one_error_line(capsys, "train", message.format(path))


# ---------------------------------------------------------------------------
# Values that would be read wrong
# ---------------------------------------------------------------------------

def _csv_with_target(path, cells):
    return write_csv(path, ["f", "y"], [[str(i), c] for i, c in enumerate(cells)])


def test_whole_number_targets_beyond_float64s_integers_stay_floats(tmp_path):
    _, y, _, _ = read_table(_csv_with_target(tmp_path / "t.csv", ["0", "1e19"]))
    assert y.dtype == np.float64 and y.tolist() == [0.0, 1e19]
    _, y, _, _ = read_table(_csv_with_target(tmp_path / "t.csv", ["0.0", str(2.0**53)]))
    assert y.dtype == np.int64 and y.tolist() == [0, 2**53]
    _, y, _, _ = read_table(_csv_with_target(tmp_path / "t.csv", ["0", str(2**53 + 1)]))
    assert y.dtype == np.int64 and y.tolist() == [0, 2**53 + 1]
    _, y, _, _ = read_table(_csv_with_target(tmp_path / "t.csv", ["0", str(2**63)]))
    assert y.dtype == np.float64 and y.tolist() == [0.0, 2.0**63]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-2**80, 2**80),
                          st.floats(allow_nan=False, allow_infinity=False)),
                min_size=1, max_size=5))
def test_numeric_targets_are_read_as_their_float_value(tmp_path_factory, values):
    path = _csv_with_target(tmp_path_factory.mktemp("t") / "t.csv", [repr(v) for v in values])
    _, y, _, _ = read_table(path)
    assert y.dtype.kind in "if"
    assert y.astype(np.float64).tolist() == [float(repr(v)) for v in values]
    if y.dtype.kind == "i":  # an int64 target holds each value exactly as written
        assert y.tolist() == [int(v) if isinstance(v, int) else int(float(repr(v)))
                              for v in values]


@pytest.mark.parametrize("cells, message", [
    (["0", "nan"], "line 3: target value 'nan'"),
    (["0", "-inf"], "is not a finite number"),
])
def test_non_finite_targets_are_refused_with_their_line(cells, message, tmp_path, capsys):
    assert main(["train", str(_csv_with_target(tmp_path / "t.csv", cells))]) == 2
    one_error_line(capsys, "train", message)


# What a CSV number is: ASCII, no digit separators, what float() reads otherwise.
_NUMBER = re.compile(r"[+-]?((\d+\.?\d*|\.\d+)(e[+-]?\d+)?|inf|infinity|nan)",
                     re.ASCII | re.IGNORECASE)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789+-.eE_ ninfaty\u0661\u0663\uff11\u00b2\u0966\u2007",
               max_size=8))
def test_a_cell_is_a_number_exactly_when_it_is_an_ascii_decimal(text):
    value = _parse_number(text.strip())
    if _NUMBER.fullmatch(text.strip()):
        assert value == float(text) or (np.isnan(value) and np.isnan(float(text)))
    else:
        assert value is None


@pytest.mark.parametrize("cell", ["1_000", "\u0661\u0662", "\uff11", "\u0967.5"])
def test_separators_and_other_scripts_digits_are_not_numbers(cell, tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["a", "y"], [[cell, "0"], ["2", "1"]])
    assert main(["train", str(path)]) == 2
    one_error_line(capsys, "train", f"non-numeric value {cell!r} in feature column 'a'")


@pytest.mark.parametrize("cell", ["nan", "-inf", "1e999"])
def test_non_finite_features_are_named_as_such(cell, tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["a", "y"], [["1", "0"], [cell, "1"]])
    assert main(["train", str(path)]) == 2
    one_error_line(capsys, "train", f"line 3: value {cell!r} in feature column 'a' is not "
                                     f"a finite number")


def test_a_header_row_of_empty_cells_is_an_error_not_skipped(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text(",,\n1,2,0\n3,4,1\n5,6,0\n")
    assert main(["train", str(path)]) == 2
    one_error_line(capsys, "train", "line 1: the header row names no columns")
    path.write_text("\n\n,,\n1,2,0\n")  # blank lines before it change nothing but the line
    assert main(["train", str(path)]) == 2
    one_error_line(capsys, "train", "line 3: the header row names no columns")


@pytest.mark.parametrize("header, message", [
    (["a", "a", "y"], "duplicate column name 'a' (columns 1 and 2)"),
    (["a", "b", "a"], "duplicate column name 'a' (columns 1 and 3)"),
    (["", "b", " "], "duplicate column name '' (columns 1 and 3)"),
])
def test_duplicate_column_names_are_refused(header, message, tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", header, [["1", "2", "0"], ["3", "4", "1"]])
    assert main(["train", str(path)]) == 2
    one_error_line(capsys, "train", message)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["", " ", "a", " a", "b", "y", "\u00e9", "1"]), min_size=2,
                max_size=4))
def test_the_header_row_is_always_the_header_and_its_names_unique(tmp_path_factory, header):
    path = write_csv(tmp_path_factory.mktemp("h") / "d.csv", header,
                     [[str(j + i) for j in range(len(header))] for i in range(3)])
    names = [h.strip() for h in header]
    try:
        X, y, features, target = read_table(path)
    except CLIError as exc:
        assert "\n" not in str(exc)
        assert not any(names) or len(set(names)) < len(names), str(exc)
        return
    assert any(names) and len(set(names)) == len(names)
    assert [*features, target] == names and X.shape == (3, len(names) - 1)


def test_line_numbers_count_the_blank_lines_too(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n\n1,2,0\n\n\n1,2\n")
    assert main(["train", str(path)]) == 2
    one_error_line(capsys, "train", "line 6: 2 fields")




def test_a_file_name_with_a_line_break_is_stillone_error_line(tmp_path, capsys):
    assert main(["train", str(tmp_path / "no\nsuch.csv")]) == 2
    one_error_line(capsys, "train", "no\\nsuch.csv")


def test_text_labels_cannot_be_regressed_nor_fractions_classified(tmp_path, capsys):
    np.savez(tmp_path / "u.npz", X=np.zeros((30, 2)), y=np.array(["\u00e9", "b"] * 15))
    assert main(["train", str(tmp_path / "u.npz"), "--task", "regress"]) == 2
    one_error_line(capsys, "train", "is not numeric: it cannot be regressed")
    path = _csv_with_target(tmp_path / "f.csv", [str(0.5 + i) for i in range(30)])
    assert main(["train", str(path), "--task", "classify"]) == 2
    one_error_line(capsys, "train", "holds fractional numbers: they are not class labels")




@pytest.mark.parametrize("options", [["--alpha", "1e300"], ["--batch-size", "1"]])
def test_whatever_train_writes_loads_back(options, tmp_path, capsys):
    # Features near float64's limit overflow the solver's running averages.
    path = write_csv(tmp_path / "d.csv", ["a", "y"],
                      [[str(1e300 * (i % 2)), str(i % 2)] for i in range(30)])
    out = tmp_path / "m.nnfast"
    code = main(["train", str(path), "--epochs", "3", "--out", str(out), *options])
    err = capsys.readouterr().err
    if code == 0:
        nnfast.load(out)
    else:
        assert code == 2 and err.count("\n") == 1 and not out.exists(), err
