"""The command line's train / predict / bench commands and their error paths.

Every bad input (file, column, value, model) must give a one-line error and exit code 2,
never a traceback.
"""
import csv
import subprocess
import sys
import types

import numpy as np
import pytest

pytest.importorskip("sklearn")

import nnfast  # noqa: E402
from nnfast.cli import main  # noqa: E402
from nnfast.cli.commands import train as train_command  # noqa: E402


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    rng = np.random.RandomState(0)
    # two well separated blobs with string labels
    X = np.vstack([rng.randn(60, 2) + [2, 2], rng.randn(60, 2) - [2, 2]])
    labels = np.array(["cat"] * 60 + ["dog"] * 60)
    _write_csv(d / "blobs.csv", ["f1", "f2", "animal"],
               [[f"{a:.6f}", f"{b:.6f}", t] for (a, b), t in zip(X, labels)])
    # the target in the first column, named
    _write_csv(d / "first.csv", ["animal", "f1", "f2"],
               [[t, f"{a:.6f}", f"{b:.6f}"] for (a, b), t in zip(X, labels)])
    Xr = rng.randn(150, 3)
    yr = Xr @ np.array([1.0, -2.0, 0.5]) + 0.05 * rng.randn(150)
    np.savez(d / "reg.npz", X=Xr, y=yr)
    np.savez(d / "noy.npz", X=Xr)
    np.savez(d / "noX.npz", y=yr)
    _write_csv(d / "reg.csv", ["a", "b", "c", "target"],
               [[*map(str, x), str(t)] for x, t in zip(Xr, yr)])
    _write_csv(d / "text_feature.csv", ["f1", "colour", "y"], [["1.0", "red", "0"],
                                                               ["2.0", "blue", "1"]])
    _write_csv(d / "missing_target.csv", ["f1", "y"], [["1.0", "0"], ["2.0", ""]])
    _write_csv(d / "missing_feature.csv", ["f1", "f2", "y"], [["1.0", "", "0"],
                                                              ["2.0", "3", "1"]])
    (d / "ragged.csv").write_text("a,b,y\n1,2,0\n1,2\n")
    (d / "empty.csv").write_text("")
    (d / "header_only.csv").write_text("a,b,y\n")
    (d / "binary.csv").write_bytes(b"\xff\xfe\x00\x81garbage\x00")
    (d / "garbage.model").write_bytes(b"not a model")
    return d


def _train(args, capsys):
    code = main(["train", *map(str, args)])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_train_classifier_csv_then_predict(data, tmp_path, capsys):
    model = tmp_path / "blobs.model"
    code, out, err = _train([data / "blobs.csv", "--hidden", "8", "--epochs", "30", "--lr",
                             "0.05", "--out", model], capsys)
    assert code == 0, err
    assert "classify 'animal' from 2 features" in out
    assert "epoch  1/30" in out and "epoch 30/30" in out  # progress per epoch
    assert "accuracy 1.0000" in out
    assert "cat" in out and "dog" in out and "precision" in out  # the per-class report
    assert model.exists() and f"model saved to {model}" in out
    est = nnfast.load(model)
    assert list(est.classes_) == ["cat", "dog"]
    assert [w.shape for w in est.coefs_] == [(2, 8), (8, 1)]
    assert est.callbacks is None

    # predict: the training file's layout (target as last column) is accepted
    assert main(["predict", str(model), str(data / "blobs.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "prediction" and len(lines) == 121
    assert lines[1:61] == ["cat"] * 60 and lines[61:] == ["dog"] * 60
    # --proba and --out
    out_csv = tmp_path / "pred.csv"
    assert main(["predict", str(model), str(data / "blobs.csv"), "--proba", "--out",
                 str(out_csv)]) == 0
    rows = list(csv.reader(open(out_csv)))
    assert rows[0] == ["prediction", "proba_cat", "proba_dog"]
    p = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert "120 predictions written" in capsys.readouterr().err
    # the target named in another column
    assert main(["predict", str(model), str(data / "first.csv"), "--target", "animal"]) == 0
    assert capsys.readouterr().out.splitlines()[1:61] == ["cat"] * 60


def test_train_regressor_npz_reports_r2_and_rmse(data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _train([data / "reg.npz", "--hidden", "16,8", "--solver", "lbfgs",
                             "--epochs", "200", "--alpha", "0", "--seed", "1", "--threads",
                             "1"], capsys)
    assert code == 0, err
    assert "regress 'y'" in out and "R^2" in out and "RMSE" in out
    r2 = float(out.split("R^2")[1].split()[0])
    assert r2 > 0.95
    assert (tmp_path / "reg.nnfast").exists()  # the default model name
    est = nnfast.load(tmp_path / "reg.nnfast")
    assert [w.shape for w in est.coefs_] == [(3, 16), (16, 8), (8, 1)]
    assert main(["predict", "reg.nnfast", str(data / "reg.npz")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "prediction" and len(lines) == 151
    Xr = np.load(data / "reg.npz")["X"]
    np.testing.assert_allclose([float(v) for v in lines[1:]], est.predict(Xr), rtol=1e-12)


def test_train_options(data, tmp_path, capsys):
    model = tmp_path / "m"
    code, out, err = _train([data / "reg.csv", "--task", "regress", "--hidden", "0",
                             "--activation", "identity", "--solver", "sgd", "--epochs", "5",
                             "--batch-size", "16", "--lr", "0.01", "--test-size", "0",
                             "--early-stopping", "--out", model], capsys)
    assert code == 0, err
    assert "held-out" not in out  # --test-size 0
    est = nnfast.load(model)
    assert est.hidden_layer_sizes == () and est.batch_size == 16 and est.early_stopping
    assert est.solver == "sgd" and est.learning_rate_init == 0.01
    assert "validation score" in out


def test_infer_task():
    assert train_command.infer_task(np.array(["a", "b"], dtype=object)) == "classify"
    assert train_command.infer_task(np.array([0, 1, 2, 1])) == "classify"
    assert train_command.infer_task(np.arange(100)) == "regress"
    assert train_command.infer_task(np.array([0.5, 1.5])) == "regress"


@pytest.mark.parametrize("args, message", [
    (["train", "{d}/nope.csv"], "no such file"),
    (["train", "{d}"], "is a directory"),
    (["train", "{d}/blobs.csv", "--target", "colour"], "unknown column 'colour'"),
    (["train", "{d}/text_feature.csv"], "non-numeric value 'red' in feature column 'colour'"),
    (["train", "{d}/missing_target.csv"], "missing target value"),
    (["train", "{d}/missing_feature.csv"], "missing value in column 'f2'"),
    (["train", "{d}/ragged.csv"], "line 3: 2 fields"),
    (["train", "{d}/empty.csv"], "is empty"),
    (["train", "{d}/header_only.csv"], "no data rows"),
    (["train", "{d}/binary.csv"], "not a UTF-8"),
    (["train", "{d}/noy.npz"], "no target array 'y'"),
    (["train", "{d}/noX.npz"], "no array 'X'"),
    (["train", "{d}/garbage.model.npz"], "no such file"),
    (["train", "{d}/blobs.csv", "--task", "regress"], "not numeric"),
    (["predict", "{d}/nope.model", "{d}/blobs.csv"], "no such model file"),
    (["predict", "{d}/garbage.model", "{d}/blobs.csv"], "cannot load model"),
    (["predict", "{d}/blobs.csv", "{d}/blobs.csv"], "cannot load model"),
    (["predict", "{m}", "{d}/nope.csv"], "no such file"),
    (["predict", "{m}", "{d}/reg.npz"], "3 feature columns, the model expects 2"),
    (["predict", "{m}", "{d}/text_feature.csv"], "non-numeric value 'red'"),
    (["predict", "{m}", "{d}/blobs.csv", "--target", "nope"], "unknown column 'nope'"),
    (["predict", "{r}", "{d}/reg.npz", "--proba"], "--proba needs a classifier"),
    (["predict", "{m}", "{d}/blobs.csv", "--out", "{d}/no/such/dir/x.csv"], "cannot write"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, data, tmp_path_factory, capsys):
    models = tmp_path_factory.mktemp("models")
    m, r = models / "clf.model", models / "reg.model"
    assert main(["train", str(data / "blobs.csv"), "--epochs", "2", "--out", str(m)]) == 0
    assert main(["train", str(data / "reg.npz"), "--epochs", "2", "--out", str(r)]) == 0
    capsys.readouterr()
    argv = [a.format(d=data, m=m, r=r) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1 and err.startswith(f"nnfast {argv[0]}: error: ")
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [
    ["train"], ["train", "x.csv", "--hidden", "a,b"], ["train", "x.csv", "--hidden", "-3"],
    ["train", "x.csv", "--task", "cluster"], ["train", "x.csv", "--test-size", "1.5"],
    ["train", "x.csv", "--lr", "0"], ["train", "x.csv", "--alpha", "-1"],
    ["train", "x.csv", "--epochs", "0"], ["train", "x.csv", "--solver", "newton"],
    ["predict", "model-only"],
])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "usage" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["info", "demo", "train", "predict", "bench"])
def test_every_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"nnfast {command}" in out


def test_subprocess_errors_have_no_traceback(data):
    proc = subprocess.run([sys.executable, "-m", "nnfast", "train",
                           str(data / "text_feature.csv")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("nnfast train: error:")


def test_bench_help_is_the_packaged_benchmark_help(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no source tree in sight: the benchmark ships in the package
    assert main(["bench", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--quick" in out and "--workloads" in out
    proc = subprocess.run([sys.executable, "-m", "nnfast", "bench", "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "--quick" in proc.stdout


def test_bench_usage_error_is_the_packaged_benchmark_usage_error(capsys):
    assert main(["bench", "--no-such-option"]) == 2
    err = capsys.readouterr().err
    assert "usage" in err and "--no-such-option" in err and "Traceback" not in err


def _fake_bench(monkeypatch, behaviour):
    """Stand nnfast.bench in with a module whose main(argv) records argv, then does
    `behaviour(argv)` (its return value is the exit code)."""
    calls = []

    def fake_main(argv):
        calls.append(list(argv))
        return behaviour(argv)

    fake = types.ModuleType("nnfast.bench")
    fake.main = fake_main
    monkeypatch.setitem(sys.modules, "nnfast.bench", fake)
    return calls


@pytest.mark.parametrize("argv", [
    [],
    ["--quick"],
    ["--help"],
    ["-h"],
    ["digits", "--quick", "--threads", "1"],
    ["--threads", "1", "--quick"],
    ["--quick", "--workloads", "xor,digits", "--threads=1,2"],
    ["--version"],  # the top-level option's name, but bench's argument here
])
def test_bench_passes_every_argument_to_the_package_in_order(argv, monkeypatch):
    calls = _fake_bench(monkeypatch, lambda argv: 0)
    assert main(["bench", *argv]) == 0
    assert calls == [argv]


def test_bench_returns_the_package_exit_code_and_writes_to_out(monkeypatch, capsys):
    import io

    def behaviour(argv):
        print("RATIOS", argv)
        return 1  # the suite's own status (1: a disagreement) is passed on

    _fake_bench(monkeypatch, behaviour)
    out = io.StringIO()
    assert main(["bench", "--quick"], out=out) == 1
    assert out.getvalue() == "RATIOS ['--quick']\n"
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("exit_code, expected", [(None, 0), (0, 0), (2, 2), (3, 3)])
def test_bench_argparse_exits_become_exit_codes(exit_code, expected, monkeypatch):
    def behaviour(argv):
        raise SystemExit(exit_code)

    _fake_bench(monkeypatch, behaviour)
    assert main(["bench", "--help"]) == expected


def test_bench_exit_with_a_message_is_one_error_line(monkeypatch, capsys):
    def behaviour(argv):
        raise SystemExit("no workload named 'nope'")

    _fake_bench(monkeypatch, behaviour)
    assert main(["bench", "nope"]) == 2
    err = capsys.readouterr().err
    assert err == "nnfast bench: error: no workload named 'nope'\n"
