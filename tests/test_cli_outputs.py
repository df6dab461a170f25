"""What the command line writes: never one of its inputs, never half a file, nothing on
Ctrl-C unless asked, nothing nnfast.load would refuse, and quiet when its reader goes.

A refused command ends in one line ``nnfast <command>: error: ...`` and exit code 2
(130 for Ctrl-C, 141 for a closed pipe), with every input byte for byte as it was.
"""
import csv
import os
import re
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

pytest.importorskip("sklearn")

from cli_files import blobs, digest, one_error_line, run_nnfast, train_model, write_csv  # noqa: E402

import nnfast  # noqa: E402
from nnfast.cli import main  # noqa: E402
from nnfast.cli.outputs import atomic_output  # noqa: E402


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    # A command that failed to refuse would save DATA's name with .nnfast in the current
    # folder: let that be the test's own folder.
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train_model(tmp_path_factory.mktemp("model"))


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
    data = blobs(tmp_path / "d.csv")
    local_model = tmp_path / "m.nnfast"
    local_model.write_bytes(model.read_bytes())
    victim = local_model if command == "predict-model" else data
    out = _alias(kind, victim, tmp_path)
    before = {p.name: digest(p) for p in tmp_path.iterdir() if p.is_file()}
    argv = (["train", str(data), "--epochs", "1", "--out", str(out)] if command == "train"
            else ["predict", str(local_model), str(data), "--out", str(out)])
    assert main(argv) == 2
    one_error_line(capsys, argv[0], "is the input")
    after = {p.name: digest(p) for p in tmp_path.iterdir() if p.is_file()}
    assert after == before


def test_train_refuses_a_default_model_path_that_is_the_data(tmp_path, capsys, monkeypatch):
    data = blobs(tmp_path / "data.nnfast")  # a CSV so named: DATA's name with .nnfast
    before = digest(data)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "data.nnfast", "--epochs", "1"]) == 2
    one_error_line(capsys, "train", "the default model path")
    assert digest(data) == before and sorted(os.listdir(tmp_path)) == ["data.nnfast"]


@pytest.mark.parametrize("out, message", [
    ("no/m.nnfast", "no such folder"),
    (".", "it is a directory"),
    ("read-only.nnfast", "permission denied"),
    ("read-only/m.nnfast", "the folder"),
])
def test_train_checks_its_output_before_training(out, message, tmp_path, capsys):
    data = blobs(tmp_path / "d.csv")
    (tmp_path / "read-only.nnfast").write_bytes(b"keep")
    os.chmod(tmp_path / "read-only.nnfast", 0o444)
    (tmp_path / "read-only").mkdir()
    os.chmod(tmp_path / "read-only", 0o555)
    try:
        if "read-only" in out and os.access(tmp_path / out.split("/")[0], os.W_OK):
            pytest.skip("running as root: everything is writable")
        assert main(["train", str(data), "--epochs", "1", "--out", out]) == 2
    finally:
        os.chmod(tmp_path / "read-only", 0o755)  # or pytest cannot clean it up
    cap = capsys.readouterr()
    assert f"cannot write {out}: {message}" in cap.err and "epoch" not in cap.out
    assert (tmp_path / "read-only.nnfast").read_bytes() == b"keep"
    assert os.listdir(tmp_path / "read-only") == []


def test_predict_writes_to_dev_stdout_even_when_it_is_a_pipe(model, tmp_path):
    if not os.path.exists("/dev/stdout"):
        pytest.skip("no /dev/stdout")
    proc = run_nnfast(["predict", model, blobs(tmp_path / "d.csv"), "--out", "/dev/stdout"])
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
    before = digest(out)
    monkeypatch.setattr(persistence, "save", _half_writing_save)
    assert main(["train", str(blobs(tmp_path / "d.csv")), "--epochs", "1", "--out",
                 str(out)]) == 130
    capsys.readouterr()
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "m.nnfast"]


def test_an_interrupted_prediction_write_leaves_the_old_file_whole(model, tmp_path,
                                                                   monkeypatch, capsys):
    out = tmp_path / "pred.csv"
    out.write_text("old predictions\n")
    data = blobs(tmp_path / "d.csv")
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

            def writerows(self, rows):
                for row in rows:
                    self.writerow(row)
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
    write_csv(tmp_path / "d.csv", [f"f{j}" for j in range(20)] + ["y"],
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
    argv = ["train", str(blobs(tmp_path / "d.csv")), "--epochs", "50", "--out", str(out)]
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



def test_a_model_that_would_not_load_back_is_not_written(tmp_path, monkeypatch, capsys):
    def refuse(file):
        raise ValueError("invalid model: coefs_0 holds NaN or infinite values\nmore")

    monkeypatch.setattr(nnfast, "load", refuse)
    out = tmp_path / "m.nnfast"
    assert main(["train", str(blobs(tmp_path / "d.csv")), "--epochs", "1", "--out",
                 str(out)]) == 2
    one_error_line(capsys, "train", "does not load back (invalid model: coefs_0 holds")
    assert not out.exists() and sorted(os.listdir(tmp_path)) == ["d.csv"]
