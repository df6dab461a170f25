"""The command line against hostile and careless input: outputs that are its inputs,
Ctrl-C, extreme options, files that are not files, and values that would be read wrong.

Each case ends in the correct result or in one line ``nnfast <command>: error: ...`` with
exit code 2 (130 for Ctrl-C), never a traceback, and never a destroyed input.
"""
import csv
import hashlib
import os
import re
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("sklearn")

import nnfast  # noqa: E402
from nnfast.cli import main  # noqa: E402
from nnfast.cli.commands.train import training_memory  # noqa: E402
from nnfast.cli.outputs import atomic_output  # noqa: E402
from nnfast.cli.parser import build_parser  # noqa: E402
from nnfast.cli.readers import _parse_number, read_table  # noqa: E402


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _blobs(path, n=40):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(n // 2, 2) + 2, rng.randn(n // 2, 2) - 2])
    return _write_csv(path, ["f1", "f2", "y"],
                      [[f"{a:.6f}", f"{b:.6f}", t] for (a, b), t
                       in zip(X, [0] * (n // 2) + [1] * (n // 2))])


def _digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _one_error_line(capsys, command, message):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"nnfast {command}: error: "), err
    assert message in err, err
    assert "Traceback" not in err


def _subprocess(args, timeout=60, **kwargs):
    return subprocess.run([sys.executable, "-m", "nnfast", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    # A command that failed to refuse would save DATA's name with .nnfast in the current
    # folder: let that be the test's own folder.
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("model")
    path = d / "m.nnfast"
    assert main(["train", str(_blobs(d / "train.csv")), "--epochs", "2", "--out",
                 str(path)]) == 0
    return path


# ---------------------------------------------------------------------------
# Never destroy an input
# ---------------------------------------------------------------------------

def _alias(kind, path, tmp_path):
    """Another name for `path`: itself, a hard link, a symbolic link, a detour."""
    if kind == "same":
        return path
    if kind == "detour":
        (tmp_path / "sub").mkdir(exist_ok=True)
        return tmp_path / "sub" / ".." / path.name
    alias = tmp_path / f"alias-{kind}"
    (os.link if kind == "hardlink" else os.symlink)(path, alias)
    return alias


@pytest.mark.parametrize("kind", ["same", "hardlink", "symlink", "detour"])
@pytest.mark.parametrize("command", ["train", "predict-data", "predict-model"])
def test_an_output_that_is_an_input_is_refused_and_nothing_is_written(
        kind, command, model, tmp_path, capsys):
    data = _blobs(tmp_path / "d.csv")
    local_model = tmp_path / "m.nnfast"
    local_model.write_bytes(model.read_bytes())
    victim = local_model if command == "predict-model" else data
    out = _alias(kind, victim, tmp_path)
    before = {p.name: _digest(p) for p in tmp_path.iterdir() if p.is_file()}
    argv = (["train", str(data), "--epochs", "1", "--out", str(out)] if command == "train"
            else ["predict", str(local_model), str(data), "--out", str(out)])
    assert main(argv) == 2
    _one_error_line(capsys, argv[0], "is the input")
    after = {p.name: _digest(p) for p in tmp_path.iterdir() if p.is_file()}
    assert after == before


def test_train_refuses_a_default_model_path_that_is_the_data(tmp_path, capsys, monkeypatch):
    data = _blobs(tmp_path / "data.nnfast")  # a CSV so named: DATA's name with .nnfast
    digest = _digest(data)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "data.nnfast", "--epochs", "1"]) == 2
    _one_error_line(capsys, "train", "the default model path")
    assert _digest(data) == digest and sorted(os.listdir(tmp_path)) == ["data.nnfast"]


@pytest.mark.parametrize("out, message", [
    ("no/m.nnfast", "no such folder"),
    (".", "it is a directory"),
    ("read-only.nnfast", "permission denied"),
])
def test_train_checks_its_output_before_training(out, message, tmp_path, capsys):
    data = _blobs(tmp_path / "d.csv")
    (tmp_path / "read-only.nnfast").write_bytes(b"keep")
    os.chmod(tmp_path / "read-only.nnfast", 0o444)
    if message == "permission denied" and os.access(tmp_path / "read-only.nnfast", os.W_OK):
        pytest.skip("running as root: every file is writable")
    assert main(["train", str(data), "--epochs", "1", "--out", out]) == 2
    cap = capsys.readouterr()
    assert f"cannot write {out}: {message}" in cap.err and "epoch" not in cap.out
    assert (tmp_path / "read-only.nnfast").read_bytes() == b"keep"


def test_predict_writes_to_dev_stdout_even_when_it_is_a_pipe(model, tmp_path):
    if not os.path.exists("/dev/stdout"):
        pytest.skip("no /dev/stdout")
    proc = _subprocess(["predict", model, _blobs(tmp_path / "d.csv"), "--out", "/dev/stdout"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "prediction" and len(proc.stdout.splitlines()) == 41


def _half_writing_save(est, file):
    """A save that writes a few bytes, then is interrupted."""
    if hasattr(file, "write"):
        file.write(b"half a model")
    else:
        with open(file, "wb") as f:
            f.write(b"half a model")
    raise KeyboardInterrupt


def test_an_interrupted_model_write_leaves_the_old_file_whole(model, tmp_path, monkeypatch,
                                                              capsys):
    from nnfast.io import persistence

    out = tmp_path / "m.nnfast"
    out.write_bytes(model.read_bytes())
    digest = _digest(out)
    monkeypatch.setattr(persistence, "save", _half_writing_save)
    assert main(["train", str(_blobs(tmp_path / "d.csv")), "--epochs", "1", "--out",
                 str(out)]) == 130
    capsys.readouterr()
    assert _digest(out) == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "m.nnfast"]


def test_an_interrupted_prediction_write_leaves_the_old_file_whole(model, tmp_path,
                                                                   monkeypatch, capsys):
    out = tmp_path / "pred.csv"
    out.write_text("old predictions\n")
    data = _blobs(tmp_path / "d.csv")
    real_writer = csv.writer

    def failing_writer(stream, **kwargs):
        w = real_writer(stream, **kwargs)

        class Writer:
            rows = 0

            def writerow(self, row):
                self.rows += 1
                if self.rows == 3:
                    raise KeyboardInterrupt
                w.writerow(row)
        return Writer()

    monkeypatch.setattr(csv, "writer", failing_writer)
    assert main(["predict", str(model), str(data), "--out", str(out)]) == 130
    capsys.readouterr()
    assert out.read_text() == "old predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "pred.csv"]


def test_atomic_output_replaces_whole_keeps_the_mode_and_writes_devices(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("old")
    os.chmod(path, 0o640)
    with atomic_output(path) as f:
        f.write("new")
    assert path.read_text() == "new" and (os.stat(path).st_mode & 0o777) == 0o640
    with pytest.raises(RuntimeError):
        with atomic_output(path) as f:
            f.write("partial")
            raise RuntimeError
    assert path.read_text() == "new" and os.listdir(tmp_path) == ["f.csv"]
    link = tmp_path / "link.csv"
    link.symlink_to(path)
    with atomic_output(link) as f:  # written through the link, which stays a link
        f.write("via link")
    assert link.is_symlink() and path.read_text() == "via link"
    if os.path.exists(os.devnull):
        with atomic_output(os.devnull, "wb") as f:  # a device is written, never replaced
            f.write(b"x")
        assert not os.path.isfile(os.devnull)


# ---------------------------------------------------------------------------
# Ctrl-C during training
# ---------------------------------------------------------------------------

def _restore_default_sigint():
    # A child started with SIGINT ignored (a background job of a non-interactive shell)
    # keeps it ignored and never sees KeyboardInterrupt: give it Python's usual handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(os.name != "posix", reason="needs SIGINT delivery")
@pytest.mark.parametrize("save", [False, True])
def test_ctrl_c_during_train_exits_130_and_saves_only_on_request(save, tmp_path):
    rng = np.random.RandomState(0)
    X = rng.randn(2000, 20)
    _write_csv(tmp_path / "d.csv", [f"f{j}" for j in range(20)] + ["y"],
               [[*map(str, x), str(int(x[0] > 0))] for x in X])
    out = tmp_path / "m.nnfast"
    argv = [sys.executable, "-m", "nnfast", "train", str(tmp_path / "d.csv"), "--epochs",
            "1000000", "--hidden", "32", "--out", str(out)]
    if save:
        argv.append("--save-on-interrupt")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_restore_default_sigint)
    watchdog = threading.Timer(120, proc.kill)  # readline below would wait for ever
    watchdog.start()
    try:
        seen = 0
        while seen < 3:  # a few epochs in, then Ctrl-C
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            seen += "epoch" in line
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    match = re.match(r"nnfast train: interrupted after (\d+) epochs?", lines[0])
    assert match, stderr
    epochs = int(match.group(1))
    assert epochs >= 3
    assert "model saved" not in stdout and "held-out" not in stdout
    if save:
        assert f"saved to {out}" in lines[0]
        est = nnfast.load(out)
        assert est.n_iter_ == epochs
    else:
        assert "nothing saved" in lines[0]
        assert os.listdir(tmp_path) == ["d.csv"]


def _interrupt_at_epoch(monkeypatch, epoch):
    """Make every MLPClassifier fit raise KeyboardInterrupt in its callback after `epoch`
    epochs, where a Ctrl-C between epochs lands."""
    fit = nnfast.MLPClassifier.fit

    def interrupted_fit(self, X, y, **kwargs):
        def ctrl_c(est, info):
            if info["epoch"] == epoch:
                raise KeyboardInterrupt
            return False
        self.callbacks = [*(self.callbacks or []), ctrl_c]
        return fit(self, X, y, **kwargs)

    monkeypatch.setattr(nnfast.MLPClassifier, "fit", interrupted_fit)


@pytest.mark.parametrize("save, loads", [(False, True), (True, True), (True, False)])
def test_an_interrupted_training_saves_only_on_request_and_only_what_loads(
        save, loads, tmp_path, monkeypatch, capsys):
    _interrupt_at_epoch(monkeypatch, 2)
    if not loads:
        def refuse(file):
            raise ValueError("invalid model")
        monkeypatch.setattr(nnfast, "load", refuse)
    out = tmp_path / "m.nnfast"
    argv = ["train", str(_blobs(tmp_path / "d.csv")), "--epochs", "50", "--out", str(out)]
    assert main(argv + (["--save-on-interrupt"] if save else [])) == 130
    cap = capsys.readouterr()
    assert cap.err.count("\n") == 1
    assert cap.err.startswith("nnfast train: interrupted after 2 epochs; ")
    assert "held-out" not in cap.out and "model saved" not in cap.out
    if save and loads:
        assert f"saved to {out}" in cap.err
        monkeypatch.undo()
        assert nnfast.load(out).n_iter_ == 2
    else:
        assert ("does not load back" if save else "nothing saved") in cap.err
        assert not out.exists()


# ---------------------------------------------------------------------------
# Extreme options and files that are not files: one line, exit 2
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", ["-1", "99999999999", str(2**32), "1.5", "x"])
def test_out_of_range_seeds_are_usage_errors(seed, tmp_path, capsys):
    data = _blobs(tmp_path / "d.csv")
    assert main(["train", str(data), "--seed", seed, "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "Traceback" not in err
    assert not (tmp_path / "d.nnfast").exists()


@pytest.mark.parametrize("seed", [0, 2**32 - 1])
def test_the_seed_range_is_numpys(seed):
    args = build_parser().parse_args(["train", "x.csv", "--seed", str(seed)])
    assert args.seed == seed
    np.random.RandomState(seed)  # what scikit-learn makes of it


def test_a_network_too_big_for_memory_is_refused_with_the_figure(tmp_path, capsys):
    data = _blobs(tmp_path / "d.csv")
    assert main(["train", str(data), "--hidden", "1000000,1000000", "--epochs", "1",
                 "--out", str(tmp_path / "m")]) == 2
    _one_error_line(capsys, "train", "1,000,005,000,001 parameters")
    assert not (tmp_path / "m").exists()


def test_training_memory_counts_parameters_and_solver_copies():
    n, adam = training_memory([2, 3, 1], "adam", batch_rows=10)
    assert n == 3 * 3 + 4 * 1
    assert adam == 8 * (4 * n + 2 * 10 * 6)
    assert training_memory([2, 3, 1], "sgd", 10)[1] < adam < training_memory(
        [2, 3, 1], "lbfgs", 10)[1]
    assert training_memory([2, 3, 1], "adam", 10, early_stopping=True)[1] == adam + 8 * n


def test_running_out_of_memory_is_one_line(model, tmp_path, monkeypatch, capsys):
    from nnfast.cli.commands import predict

    message = "Unable to allocate 8.00 TiB for an array with shape (1099511627776,)"

    def exhausted(*args, **kwargs):
        raise MemoryError(message)

    monkeypatch.setattr(predict, "read_table", exhausted)
    assert main(["predict", str(model), str(_blobs(tmp_path / "d.csv"))]) == 2
    _one_error_line(capsys, "predict", f"out of memory: {message}")


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
        args, message = ["predict", path, _blobs(tmp_path / "d.csv")], "not a regular file"
    else:
        args, message = ["train", path, "--out", tmp_path / "m"], "not a regular file"
    proc = _subprocess(args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and proc.stderr.count("\n") == 1


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
    _one_error_line(capsys, "train", "not UTF-8")


@pytest.mark.parametrize("y, message", [
    (np.arange(40) + 1j, "complex"),
    (np.array([np.datetime64("2020-01-01")] * 40), "dtype datetime64"),
    (np.r_[np.nan, np.arange(39.0)], "NaN"),
])
def test_npz_targets_that_are_not_labels_or_reals_are_refused(y, message, tmp_path, capsys):
    np.savez(tmp_path / "t.npz", X=np.random.RandomState(0).randn(40, 2), y=y)
    assert main(["train", str(tmp_path / "t.npz"), "--out", str(tmp_path / "m")]) == 2
    _one_error_line(capsys, "train", message)


def test_npz_member_claiming_more_than_it_holds_is_refused_before_allocation(tmp_path, capsys):
    import zipfile

    header = {"descr": "<f8", "fortran_order": False, "shape": (10**9, 10**4)}
    buf = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w") as zf:
        zf.writestr("X.npy", buf.getvalue() + b"\0" * 64)
        zf.writestr("y.npy", b"")
    assert main(["train", str(tmp_path / "bomb.npz"), "--out", str(tmp_path / "m")]) == 2
    _one_error_line(capsys, "train", "claims")


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
    _one_error_line(capsys, "train", message.format(path))


# ---------------------------------------------------------------------------
# Values that would be read wrong
# ---------------------------------------------------------------------------

def _csv_with_target(path, cells):
    return _write_csv(path, ["f", "y"], [[str(i), c] for i, c in enumerate(cells)])


def test_whole_number_targets_beyond_float64s_integers_stay_floats(tmp_path):
    _, y, _, _ = read_table(_csv_with_target(tmp_path / "t.csv", ["0", "1e19"]))
    assert y.dtype == np.float64 and y.tolist() == [0.0, 1e19]
    _, y, _, _ = read_table(_csv_with_target(tmp_path / "t.csv", ["0", str(2**53)]))
    assert y.dtype == np.int64 and y.tolist() == [0, 2**53]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-2**80, 2**80),
                          st.floats(allow_nan=False, allow_infinity=False)),
                min_size=1, max_size=5))
def test_numeric_targets_are_read_as_their_float_value(tmp_path_factory, values):
    path = _csv_with_target(tmp_path_factory.mktemp("t") / "t.csv", [repr(v) for v in values])
    _, y, _, _ = read_table(path)
    expected = [float(repr(v)) for v in values]
    assert y.dtype.kind in "if"
    assert y.astype(np.float64).tolist() == expected
    if y.dtype.kind == "i":  # an int64 target holds each value exactly
        assert [int(v) for v in y] == [int(e) for e in expected]


@pytest.mark.parametrize("cells, message", [
    (["0", "nan"], "line 3: target value 'nan'"),
    (["0", "-inf"], "is not a finite number"),
])
def test_non_finite_targets_are_refused_with_their_line(cells, message, tmp_path, capsys):
    assert main(["train", str(_csv_with_target(tmp_path / "t.csv", cells))]) == 2
    _one_error_line(capsys, "train", message)


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
    path = _write_csv(tmp_path / "d.csv", ["a", "y"], [[cell, "0"], ["2", "1"]])
    assert main(["train", str(path)]) == 2
    _one_error_line(capsys, "train", f"non-numeric value {cell!r} in feature column 'a'")


@pytest.mark.parametrize("cell", ["nan", "-inf", "1e999"])
def test_non_finite_features_are_named_as_such(cell, tmp_path, capsys):
    path = _write_csv(tmp_path / "d.csv", ["a", "y"], [["1", "0"], [cell, "1"]])
    assert main(["train", str(path)]) == 2
    _one_error_line(capsys, "train", f"line 3: value {cell!r} in feature column 'a' is not "
                                     f"a finite number")


def test_a_header_row_of_empty_cells_is_an_error_not_skipped(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text(",,\n1,2,0\n3,4,1\n5,6,0\n")
    assert main(["train", str(path)]) == 2
    _one_error_line(capsys, "train", "line 1: the header row names no columns")
    path.write_text("\n\n,,\n1,2,0\n")  # blank lines before it change nothing but the line
    assert main(["train", str(path)]) == 2
    _one_error_line(capsys, "train", "line 3: the header row names no columns")


@pytest.mark.parametrize("header, message", [
    (["a", "a", "y"], "duplicate column name 'a' (columns 1 and 2)"),
    (["a", "b", "a"], "duplicate column name 'a' (columns 1 and 3)"),
    (["", "b", " "], "duplicate column name '' (columns 1 and 3)"),
])
def test_duplicate_column_names_are_refused(header, message, tmp_path, capsys):
    path = _write_csv(tmp_path / "d.csv", header, [["1", "2", "0"], ["3", "4", "1"]])
    assert main(["train", str(path)]) == 2
    _one_error_line(capsys, "train", message)


def test_line_numbers_count_the_blank_lines_too(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n\n1,2,0\n\n\n1,2\n")
    assert main(["train", str(path)]) == 2
    _one_error_line(capsys, "train", "line 6: 2 fields")


def test_a_reader_that_stops_reading_ends_predict_quietly(model, tmp_path):
    # `nnfast predict ... | head -1`: the pipe closes under predict's writes.
    X = np.random.RandomState(0).randn(50000, 2)
    np.savez(tmp_path / "d.npz", X=X)
    proc = subprocess.Popen([sys.executable, "-m", "nnfast", "predict", str(model),
                             str(tmp_path / "d.npz")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"prediction\n"
        proc.stdout.close()
        stderr = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 141, stderr
    assert stderr == b""


def test_a_file_name_with_a_line_break_is_still_one_error_line(tmp_path, capsys):
    assert main(["train", str(tmp_path / "no\nsuch.csv")]) == 2
    _one_error_line(capsys, "train", "no\\nsuch.csv")


def test_text_labels_cannot_be_regressed_nor_fractions_classified(tmp_path, capsys):
    np.savez(tmp_path / "u.npz", X=np.zeros((30, 2)), y=np.array(["\u00e9", "b"] * 15))
    assert main(["train", str(tmp_path / "u.npz"), "--task", "regress"]) == 2
    _one_error_line(capsys, "train", "is not numeric: it cannot be regressed")
    path = _csv_with_target(tmp_path / "f.csv", [str(0.5 + i) for i in range(30)])
    assert main(["train", str(path), "--task", "classify"]) == 2
    _one_error_line(capsys, "train", "holds fractional numbers: they are not class labels")


def test_a_model_that_would_not_load_back_is_not_written(tmp_path, monkeypatch, capsys):
    def refuse(file):
        raise ValueError("invalid model: coefs_0 holds NaN or infinite values\nmore")

    monkeypatch.setattr(nnfast, "load", refuse)
    out = tmp_path / "m.nnfast"
    assert main(["train", str(_blobs(tmp_path / "d.csv")), "--epochs", "1", "--out",
                 str(out)]) == 2
    _one_error_line(capsys, "train", "does not load back (invalid model: coefs_0 holds")
    assert not out.exists() and sorted(os.listdir(tmp_path)) == ["d.csv"]


@pytest.mark.parametrize("options", [["--alpha", "1e300"], ["--batch-size", "1"]])
def test_whatever_train_writes_loads_back(options, tmp_path, capsys):
    # Features near float64's limit overflow the solver's running averages.
    path = _write_csv(tmp_path / "d.csv", ["a", "y"],
                      [[str(1e300 * (i % 2)), str(i % 2)] for i in range(30)])
    out = tmp_path / "m.nnfast"
    code = main(["train", str(path), "--epochs", "3", "--out", str(out), *options])
    err = capsys.readouterr().err
    if code == 0:
        nnfast.load(out)
    else:
        assert code == 2 and err.count("\n") == 1 and not out.exists(), err
