"""nnfast.to_onnx and ``nnfast export``: the exported graph, run in onnxruntime on float32
input, gives the labels of ``predict`` and the probabilities / values of ``predict_proba``
/ ``predict`` to float32 rounding, for every kind of target the estimators fit."""
import subprocess
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from cli_files import digest, one_error_line, train_model

import nnfast
from nnfast import MLPClassifier, MLPRegressor
from nnfast.cli import main

TOL = 1e-5


def _data(n=120, d=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d).astype(np.float32)
    return X, X @ rng.randn(d, 3)  # three linear scores to derive targets from


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a short fit does not converge, on purpose
        return est.fit(X, y)


def _run(proto, X):
    """{output name: array} of the ONNX model `proto` on float32 `X`, after checking that
    the graph is valid and its declared output shapes are what it computes."""
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["X"]
    outputs = session.get_outputs()
    values = session.run(None, {"X": X})
    for declared, value in zip(outputs, values):
        assert len(declared.shape) == value.ndim, declared
        assert all(not isinstance(d, int) or d == n for d, n in zip(declared.shape, value.shape))
    return {o.name: v for o, v in zip(outputs, values)}


def _classifier_targets(scores):
    top = scores.argmax(1)
    return {"binary": (scores[:, 0] > 0).astype(int),
            "multiclass": top,
            "strings": np.array(["cat", "dog", "emu"])[top],
            "multilabel-2": (scores[:, :2] > 0).astype(int),
            "multilabel-3": (scores > 0).astype(int)}


@pytest.mark.parametrize("kind", list(_classifier_targets(np.zeros((1, 3)))))
@pytest.mark.parametrize("hidden", [(), (7,), (6, 4)])
def test_classifier_labels_equal_and_probabilities_within_1e_5(kind, hidden):
    X, scores = _data()
    y = _classifier_targets(scores)[kind]
    est = _fit(MLPClassifier(hidden_layer_sizes=hidden, activation="tanh", max_iter=30,
                             random_state=0), X, y)
    out = _run(nnfast.to_onnx(est, X[:1]), X)
    proba = est.predict_proba(X)
    assert out["probabilities"].shape == proba.shape
    err = np.abs(out["probabilities"] - proba).max()
    assert err <= TOL, err
    np.testing.assert_array_equal(out["label"], est.predict(X))


@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize("activation", ["relu", "logistic", "identity"])
def test_regressor_values_within_float32_rounding(n_outputs, activation):
    X, scores = _data(seed=1)
    y = scores[:, 0] if n_outputs == 1 else scores[:, :2]
    est = _fit(MLPRegressor(hidden_layer_sizes=(8,), activation=activation, max_iter=50,
                            random_state=0), X, y)
    pred = est.predict(X)
    values = _run(nnfast.to_onnx(est, X[:1]), X)["variable"]
    assert values.shape == (len(X), n_outputs)
    err = np.abs(values.reshape(pred.shape) - pred).max()
    assert err <= TOL * max(1.0, np.abs(pred).max()), err


def test_float64_weights_are_exported_as_float32_within_1e_5():
    X, scores = _data(seed=2)
    est = _fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0),
               X.astype(np.float64), scores.argmax(1))
    assert est.coefs_[0].dtype == np.float64
    out = _run(nnfast.to_onnx(est, X[:1]), X)
    assert np.abs(out["probabilities"] - est.predict_proba(X)).max() <= TOL
    np.testing.assert_array_equal(out["label"], est.predict(X))


def test_leaky_relu_is_refused():
    X, scores = _data()
    est = _fit(MLPClassifier(hidden_layer_sizes=(4,), activation="leaky_relu", max_iter=5,
                             random_state=0), X, scores.argmax(1))
    with pytest.raises(ValueError, match="activation='leaky_relu' cannot be exported to ONNX"):
        nnfast.to_onnx(est, X[:1])


def test_unfitted_model_and_wrong_width_are_refused():
    X, scores = _data()
    with pytest.raises(ValueError, match="not fitted"):
        nnfast.to_onnx(MLPClassifier(), X[:1])
    est = _fit(MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0), X,
               scores.argmax(1))
    with pytest.raises(ValueError, match=r"X_sample must have shape \(n_samples, 5\)"):
        nnfast.to_onnx(est, X[:1, :3])


def test_missing_skl2onnx_names_the_extra(monkeypatch):
    X, scores = _data()
    est = _fit(MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0), X,
               scores.argmax(1))
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # makes `import skl2onnx` fail
    with pytest.raises(ImportError, match=r"pip install 'nnfast\[onnx\]'"):
        nnfast.to_onnx(est, X[:1])


# ---------------------------------------------------------------------------
# nnfast export MODEL OUT.onnx
# ---------------------------------------------------------------------------

def test_export_command_writes_a_model_onnxruntime_runs(tmp_path, capsys):
    model_path = train_model(tmp_path)
    out = tmp_path / "m.onnx"
    assert main(["export", str(model_path), str(out)]) == 0
    assert "written to" in capsys.readouterr().err
    proto = onnx.load(str(out))
    est = nnfast.load(model_path)
    X = np.random.RandomState(3).randn(10, est.n_features_in_).astype(np.float32)
    got = _run(proto, X)
    np.testing.assert_array_equal(got["label"], est.predict(X))
    assert np.abs(got["probabilities"] - est.predict_proba(X)).max() <= TOL


def test_export_refuses_the_model_as_its_output(tmp_path, capsys):
    model_path = train_model(tmp_path)
    before = digest(model_path)
    assert main(["export", str(model_path), str(model_path)]) == 2
    one_error_line(capsys, "export", "is the input MODEL file")
    assert digest(model_path) == before


def test_export_of_a_leaky_relu_model_is_one_error_line(tmp_path, capsys):
    X, scores = _data()
    path = tmp_path / "leaky.nnfast"
    _fit(MLPClassifier(hidden_layer_sizes=(4,), activation="leaky_relu", max_iter=5,
                       random_state=0), X, scores.argmax(1)).save(path)
    assert main(["export", str(path), str(tmp_path / "leaky.onnx")]) == 2
    one_error_line(capsys, "export", "leaky_relu")
    assert not (tmp_path / "leaky.onnx").exists()


def test_export_of_a_missing_model_is_one_error_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "none.nnfast"), str(tmp_path / "x.onnx")]) == 2
    one_error_line(capsys, "export", "no such model file")


def test_import_nnfast_and_its_to_onnx_attribute_import_no_skl2onnx():
    code = ("import sys, nnfast; nnfast.to_onnx; "
            "print(sorted(m for m in ('skl2onnx', 'onnx', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]"
