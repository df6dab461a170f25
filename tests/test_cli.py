"""The command line (python -m nnfast), the lecture demo it runs, and the datasets it uses.

The demo (nnfast.lecture) is built as functions returning result dicts (run_xor,
run_digits) and a formatting layer (format_xor, format_digits); the tests check the
numbers in the dicts, and only check the printout for the lines a user reads.
"""
import copy
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from nnfast import datasets
from nnfast.cli import main
from nnfast.lecture import format_digits, format_xor, run_digits, run_xor


def _run_module(*args):
    return subprocess.run([sys.executable, "-m", "nnfast", *args], capture_output=True,
                          text=True, timeout=120)


# ---------------------------------------------------------------------------
# The demo's computations
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def xor_result():
    return run_xor()


def test_xor_demo_learns_xor_with_both_implementations(xor_result):
    r = xor_result
    X, y = datasets.logic_gate("xor")
    assert_array_equal(r["X"], X)
    assert_array_equal(r["y"], y)
    assert r["layer_sizes"] == [2, 3, 1]
    for name in ("nnfast", "reference"):
        res = r[name]
        assert res["proba"].shape == (4,)
        assert res["accuracy"] == 1.0
        assert_array_equal(res["predicted"], y)
        assert res["loss_curve"].shape == (r["epochs"],)
        assert res["loss"] == res["loss_curve"][-1]
        assert res["loss"] < 0.05
        assert res["fit_time"] > 0
    np.testing.assert_allclose(r["nnfast"]["proba"], r["reference"]["proba"], rtol=1e-9)
    assert r["losses_agree"]
    assert r["loss_rel_diff"] <= r["loss_rtol"]
    assert r["speedup"] == pytest.approx(r["reference"]["fit_time"] / r["nnfast"]["fit_time"])


def test_digits_demo_defaults_reach_95_percent():
    r = run_digits()
    assert r["layer_sizes"] == [64, 100, 10]
    assert (r["n_train"], r["n_test"]) == (1347, 450)
    for name in ("nnfast", "reference"):
        assert r[name]["test_accuracy"] >= 0.95
        assert r[name]["loss_curve"].shape == (r["epochs"],)
    assert r["nnfast"]["test_accuracy"] == r["reference"]["test_accuracy"]
    assert r["losses_agree"]
    text = format_digits(r, part=4)
    assert text.startswith("Part 4  handwritten digits") and "64-100-10 network" in text
    assert "1347 training / 450 test images" in text
    accuracy = f"{100 * r['nnfast']['test_accuracy']:.1f} %"
    assert f"  {'test accuracy':<14}  {accuracy:>12}  {accuracy:>12}\n" in text
    assert "final losses agree: yes" in text and "WARNING" not in text


def test_format_xor_lists_the_truth_table_and_the_comparison(xor_result):
    text = format_xor(xor_result)
    for row in ("0   0 |   0", "0   1 |   1", "1   0 |   1", "1   1 |   0"):
        assert row in text
    assert "accuracy" in text and "100.0 %" in text
    assert "final loss" in text and "fit time" in text and "speed-up" in text
    assert "WARNING" not in text


def test_format_warns_instead_of_failing_when_losses_differ(xor_result):
    bad = copy.deepcopy(xor_result)
    bad["losses_agree"] = False
    bad["loss_rel_diff"] = 1e-3
    assert "WARNING: final losses differ" in format_xor(bad)


# ---------------------------------------------------------------------------
# main()
# ---------------------------------------------------------------------------

def test_main_demo_runs_quickly_and_prints_accuracies(capsys, tmp_path):
    figures = tmp_path / "figs"
    code = main(["demo", "--epochs-xor", "3000", "--epochs-digits", "3",
                 "--figures", str(figures)])
    out = capsys.readouterr().out
    assert code == 0
    for part in ("Part 1", "Part 2", "Part 3", "Part 4"):
        assert part in out
    assert "perceptron" in out and "Logistic regression" in out
    assert "test accuracy" in out
    assert out.count("accuracy") >= 3
    assert out.count("speed-up") == 3  # XOR and digits vs the reference, digits vs sklearn
    assert "scikit-learn" in out and "NumPy reference" in out
    assert "epoch 3/3" in out  # progress of the digits training
    assert "WARNING" not in out
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "pip install 'nnfast[plot]'" in out
    else:
        names = sorted(p.name for p in figures.iterdir())
        assert names == ["digits_confusion_matrix.png", "digits_loss_curve.png",
                         "xor_decision_boundaries.png"]
        for name in names:
            assert name in out
            assert (figures / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_main_demo_threads_option(capsys):
    import nnfast

    before = nnfast.config()["max_threads"]
    code = main(["demo", "--threads", "1", "--epochs-xor", "10", "--epochs-digits", "1",
                 "--no-figures"])
    out = capsys.readouterr().out
    assert code == 0
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        assert "OMP_NUM_THREADS" in out
    else:
        if nnfast.config()["openmp"]:
            assert "OpenMP threads: 1" in out
    assert nnfast.config()["max_threads"] == before  # the limit ends with the command


def test_main_info_prints_the_build(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "OpenMP" in out
    assert "GEMM kernel" in out


@pytest.mark.parametrize("argv", [
    ["bogus"],
    ["demo", "--no-such-option"],
    ["demo", "--epochs-xor", "0"],
    ["demo", "--epochs-digits", "ten"],
    ["demo", "--threads", "-1"],
    [],
])
def test_main_usage_errors_return_2(argv, capsys):
    assert main(argv) == 2
    assert "usage" in capsys.readouterr().err


def test_main_help_returns_0(capsys):
    assert main(["--help"]) == 0
    assert "demo" in capsys.readouterr().out
    assert main(["demo", "--help"]) == 0
    assert "--epochs-digits" in capsys.readouterr().out


def test_python_m_nnfast_help():
    proc = _run_module("--help")
    assert proc.returncode == 0, proc.stderr
    assert "demo" in proc.stdout and "info" in proc.stdout


def test_python_m_nnfast_bad_subcommand_exits_2():
    proc = _run_module("no-such-command")
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_importing_the_cli_and_the_package_runs_nothing_and_skips_sklearn():
    code = ("import sys, nnfast, nnfast.datasets, nnfast.__main__, nnfast.lecture, "
            "nnfast.cli.commands.info, nnfast.cli.commands.demo, nnfast.cli.commands.train, "
            "nnfast.cli.commands.predict; "
            "assert 'sklearn' not in sys.modules, 'sklearn imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""


# ---------------------------------------------------------------------------
# nnfast.datasets
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, op", [("and", lambda a, b: a & b), ("or", lambda a, b: a | b),
                                      ("xor", lambda a, b: a ^ b)])
def test_logic_gate_matches_python_operators(name, op):
    X, y = datasets.logic_gate(name)
    assert X.shape == (4, 2) and y.shape == (4,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert sorted(map(tuple, X.astype(int).tolist())) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for (a, b), t in zip(X.astype(int), y):
        assert t == op(int(a), int(b))
    X2, y2 = datasets.logic_gate(name.upper())
    assert_array_equal(X2, X)
    assert_array_equal(y2, y)


def test_logic_gate_rejects_unknown_names():
    with pytest.raises(ValueError, match="nand"):
        datasets.logic_gate("nand")
    with pytest.raises(TypeError):
        datasets.logic_gate(1)


def test_one_hot():
    y = np.array([2, 0, 1, 2])
    Y = datasets.one_hot(y)
    assert Y.shape == (4, 3) and Y.dtype == np.float64
    assert_array_equal(Y, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert_array_equal(Y.argmax(axis=1), y)
    assert_array_equal(Y.sum(axis=1), 1)
    Y5 = datasets.one_hot(y, n_classes=5, dtype=np.float32)
    assert Y5.shape == (4, 5) and Y5.dtype == np.float32
    assert_array_equal(Y5[:, 3:], 0)
    assert datasets.one_hot([1.0, 0.0]).tolist() == [[0, 1], [1, 0]]
    assert datasets.one_hot(np.array([], dtype=int), n_classes=3).shape == (0, 3)


@pytest.mark.parametrize("y, kwargs, exc", [
    ([0, -1], {}, ValueError),
    ([0, 3], {"n_classes": 3}, ValueError),
    ([[0, 1]], {}, ValueError),
    ([0.5, 1.0], {}, TypeError),
])
def test_one_hot_rejects_bad_labels(y, kwargs, exc):
    with pytest.raises(exc):
        datasets.one_hot(y, **kwargs)


def test_load_digits_split_shapes_scaling_and_stratification():
    sk_datasets = pytest.importorskip("sklearn.datasets")
    X_train, X_test, y_train, y_test = datasets.load_digits_split()
    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64)
    assert y_train.shape == (1347,) and y_test.shape == (450,)
    assert X_train.dtype == np.float64
    assert X_train.min() >= 0 and X_train.max() == 1.0 and X_test.max() <= 1.0
    # Every image comes from scikit-learn's digits, scaled by 1/16, and none is lost.
    full = sk_datasets.load_digits()
    assert_array_equal(np.sort(np.concatenate([y_train, y_test])), np.sort(full.target))
    assert_array_equal(np.sort(np.concatenate([X_train, X_test]).sum(axis=1)),
                       np.sort(full.data.sum(axis=1) / 16))
    # Stratified: each class's share of the test set matches its share of the whole set.
    counts = np.bincount(full.target, minlength=10)
    test_counts = np.bincount(y_test, minlength=10)
    assert np.all(np.abs(test_counts - counts * 450 / 1797) <= 1)
    assert_array_equal(np.bincount(y_train, minlength=10) + test_counts, counts)
    # Reproducible for a seed, different for another; dtype honoured.
    again = datasets.load_digits_split()
    assert_array_equal(again[0], X_train)
    assert not np.array_equal(datasets.load_digits_split(random_state=1)[3], y_test)
    X32 = datasets.load_digits_split(dtype=np.float32)[0]
    assert X32.dtype == np.float32
    assert_array_equal(X32, X_train.astype(np.float32))
    Xa, Xb, _, _ = datasets.load_digits_split(test_size=0.5)
    assert Xa.shape[0] + Xb.shape[0] == 1797 and abs(Xa.shape[0] - Xb.shape[0]) <= 1


# ---------------------------------------------------------------------------
# The demo's lecture parts: perceptron, logistic regression, scikit-learn, figures
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gates_result():
    pytest.importorskip("sklearn")
    from nnfast.lecture import run_gates

    return run_gates()


def test_gates_demo_perceptron_and_logistic_claims(gates_result):
    r = gates_result
    for model in ("perceptron", "logistic"):
        for gate in ("and", "or"):
            assert r[model][gate]["accuracy"] == 1.0
            assert_array_equal(r[model][gate]["predicted"], r["targets"][gate])
        assert r[model]["xor"]["accuracy"] <= 0.75
    for gate in ("and", "or"):
        assert r["perceptron"][gate]["converged"] and not r["perceptron"][gate]["warned"]
        assert r["perceptron"][gate]["n_iter"] <= 10
    assert not r["perceptron"]["xor"]["converged"] and r["perceptron"]["xor"]["warned"]
    assert r["perceptron"]["xor"]["n_iter"] == r["perceptron_epochs"]


def test_format_gates(gates_result):
    from nnfast.lecture import format_gates

    text = format_gates(gates_result)
    assert "Part 1" in text and "Part 2" in text
    assert "XOR   0 1 1 0" in text
    assert text.count("100.0 %") == 4  # AND and OR, both models
    assert "NO  (ConvergenceWarning" in text


def test_sklearn_digits_matches_nnfast_estimator():
    pytest.importorskip("sklearn")
    from nnfast.lecture import format_sklearn_digits, run_sklearn_digits

    r = run_sklearn_digits(epochs=3)
    p = r["params"]
    assert p["solver"] == "sgd" and p["momentum"] == 0 and p["shuffle"] is False
    for name in ("nnfast", "sklearn"):
        assert r[name]["loss_curve"].shape == (3,)
        assert r[name]["fit_time"] > 0
    assert r["losses_agree"], r["loss_rel_diff"]
    np.testing.assert_allclose(r["nnfast"]["loss_curve"], r["sklearn"]["loss_curve"],
                               rtol=1e-6)
    assert r["nnfast"]["test_accuracy"] == r["sklearn"]["test_accuracy"]
    text = format_sklearn_digits(r)
    assert "scikit-learn" in text and "speed-up" in text


def test_run_digits_progress_is_the_same_computation():
    calls = []
    a = run_digits(epochs=3, progress=lambda *args: calls.append(args))
    b = run_digits(epochs=3)
    assert [c[:3] for c in calls] == [(n, e, 3) for n in ("nnfast", "reference")
                                      for e in (1, 2, 3)]
    for name in ("nnfast", "reference"):
        np.testing.assert_allclose(a[name]["loss_curve"], b[name]["loss_curve"], rtol=1e-12)
        assert a[name]["test_accuracy"] == b[name]["test_accuracy"]
        assert_array_equal(a[name]["test_predicted"], b[name]["test_predicted"])
    assert calls[-1][3] == pytest.approx(a["reference"]["loss"])


def test_demo_without_matplotlib_says_how_to_get_figures(tmp_path):
    # a matplotlib that cannot be imported, shadowing the installed one
    fake = tmp_path / "fake"
    (fake / "matplotlib").mkdir(parents=True)
    (fake / "matplotlib" / "__init__.py").write_text("raise ImportError('no matplotlib')\n")
    import os

    env = dict(os.environ, PYTHONPATH=str(fake) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "nnfast", "demo", "--epochs-xor", "10",
                           "--epochs-digits", "1", "--figures", str(tmp_path / "figs")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "pip install 'nnfast[plot]'" in proc.stdout
    assert not (tmp_path / "figs").exists()


def test_plots_write_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    from nnfast.lecture import plots

    X, y = datasets.logic_gate("xor")
    path = plots.save_decision_boundaries(
        tmp_path / "a" / "b.png", [("xor", lambda Z: (Z[:, 0] != Z[:, 1]) * 1.0)], X, y)
    assert open(path, "rb").read(4) == b"\x89PNG"
    C = plots.confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2])
    assert_array_equal(C, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    assert plots.save_loss_curve(tmp_path / "l.png", {"a": [1.0, 0.5]}).endswith("l.png")
    assert plots.save_confusion_matrix(tmp_path / "c.png", [0, 1], [0, 1]).endswith("c.png")


def test_demo_help_lists_figures_option(capsys):
    assert main(["demo", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--figures" in out and "--no-figures" in out
