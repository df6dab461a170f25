"""est.to_sklearn() and from_sklearn(model): the same model on both sides."""
import warnings

import numpy as np
import pytest

sk_nn = pytest.importorskip("sklearn.neural_network")
pd = pytest.importorskip("pandas")

import nnfast
from nnfast import MLPClassifier, MLPRegressor

RNG = np.random.RandomState(3)
X = RNG.normal(size=(80, 6))
NAMES = [f"c{i}" for i in range(6)]
TARGETS = {
    "binary": np.where(X[:, 0] > 0, "yes", "no").astype(object),
    "multiclass": np.digitize(X[:, 1], [-0.5, 0.5]),
    "multilabel": (X[:, :3] > 0).astype(int),
    "single": X @ np.arange(6.0),
    "multi": np.c_[X @ np.arange(6.0), np.cos(X[:, 0])],
}
CASES = [(MLPClassifier, "binary"), (MLPClassifier, "multiclass"),
         (MLPClassifier, "multilabel"), (MLPRegressor, "single"), (MLPRegressor, "multi")]
RTOL = {np.float64: 1e-12, np.float32: 1e-5}


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


def _agree(a, b, Xin, dtype):
    pa, pb = a.predict(Xin), b.predict(Xin)
    if np.issubdtype(np.asarray(pa).dtype, np.floating):
        np.testing.assert_allclose(pa, pb, rtol=RTOL[dtype], atol=RTOL[dtype] * 10)
    else:
        assert np.array_equal(pa, pb)
    if hasattr(a, "predict_proba"):
        np.testing.assert_allclose(a.predict_proba(Xin), b.predict_proba(Xin),
                                   rtol=RTOL[dtype], atol=RTOL[dtype])


def _attrs_equal(a, b):
    for name in ("n_features_in_", "n_outputs_", "n_layers_", "out_activation_", "n_iter_",
                 "t_", "loss_", "best_loss_", "loss_curve_", "validation_scores_",
                 "best_validation_score_"):
        assert getattr(a, name, None) == getattr(b, name, None), name
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    assert np.array_equal(a.feature_names_in_, b.feature_names_in_)
    if hasattr(a, "classes_"):
        assert np.array_equal(a.classes_, b.classes_)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("cls,kind", CASES)
def test_to_sklearn(cls, kind, dtype):
    Xin = pd.DataFrame(X.astype(dtype), columns=NAMES)
    est = _quiet(cls(hidden_layer_sizes=(9,), max_iter=20, random_state=0, alpha=1e-3).fit,
                 Xin, TARGETS[kind])
    sk = est.to_sklearn()
    assert type(sk).__name__ == cls.__name__ and type(sk).__module__.startswith("sklearn")
    _attrs_equal(est, sk)
    _agree(est, sk, Xin, dtype)
    assert sk.get_params()["alpha"] == 1e-3
    assert sk.coefs_[0] is not est.coefs_[0]
    # scikit-learn's own partial_fit continues it, with the same optimizer state
    for _ in range(2):
        _quiet(sk.partial_fit, Xin, TARGETS[kind])
        _quiet(est.partial_fit, Xin, TARGETS[kind])
    assert sk.t_ == est.t_ and len(sk.loss_curve_) == len(est.loss_curve_)
    np.testing.assert_allclose(sk.loss_curve_, est.loss_curve_, rtol=1e-4)
    for x, y in zip(sk.coefs_, est.coefs_):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("cls,kind", CASES)
def test_from_sklearn(cls, kind, dtype):
    Xin = pd.DataFrame(X.astype(dtype), columns=NAMES)
    skcls = getattr(sk_nn, cls.__name__)
    sk = _quiet(skcls(hidden_layer_sizes=(9,), max_iter=20, random_state=0,
                      solver="sgd").fit, Xin, TARGETS[kind])
    est = cls.from_sklearn(sk)
    assert type(est) is cls
    _attrs_equal(sk, est)
    _agree(sk, est, Xin, dtype)
    est2 = nnfast.from_sklearn(sk)
    assert type(est2) is cls
    _agree(sk, est2, Xin, dtype)
    # nnfast continues it with partial_fit, as scikit-learn would
    _quiet(sk.partial_fit, Xin, TARGETS[kind])
    _quiet(est.partial_fit, Xin, TARGETS[kind])
    np.testing.assert_allclose(est.loss_curve_, sk.loss_curve_, rtol=1e-4)
    # and the round trip back is the same model
    back = est.to_sklearn()
    _attrs_equal(est, back)


def test_lbfgs_and_early_stopping():
    y = TARGETS["multiclass"]
    est = _quiet(MLPClassifier((5,), solver="lbfgs", max_iter=30, random_state=0).fit, X, y)
    sk = est.to_sklearn()
    assert np.array_equal(sk.predict(X), est.predict(X))
    assert not hasattr(sk, "feature_names_in_")
    sk = _quiet(sk_nn.MLPRegressor(hidden_layer_sizes=(5,), early_stopping=True, max_iter=15,
                                   random_state=0).fit, X, TARGETS["single"])
    est = MLPRegressor.from_sklearn(sk)
    assert est.validation_scores_ == sk.validation_scores_
    assert est.best_validation_score_ == sk.best_validation_score_
    _agree(sk, est, X, np.float64)


def test_refusals():
    y = TARGETS["binary"]
    est = _quiet(MLPClassifier((4,), activation="leaky_relu", max_iter=5).fit, X, y)
    with pytest.raises(ValueError, match="leaky_relu"):
        est.to_sklearn()
    sk = _quiet(sk_nn.MLPClassifier((4,), max_iter=5).fit, X, y)
    with pytest.raises(TypeError, match="MLPClassifier, not MLPRegressor"):
        MLPRegressor.from_sklearn(sk)
    with pytest.raises(TypeError, match="scikit-learn MLPClassifier or MLPRegressor"):
        nnfast.from_sklearn(est)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MLPClassifier().to_sklearn()
    with pytest.raises(NotFittedError):
        MLPClassifier.from_sklearn(sk_nn.MLPClassifier())


def test_extras_dropped():
    est = _quiet(MLPClassifier((4,), max_iter=5, class_weight="balanced", n_jobs=1,
                               time_budget=10.0).fit, X, TARGETS["binary"])
    params = est.to_sklearn().get_params()
    assert not {"class_weight", "n_jobs", "time_budget", "callbacks"} & set(params)
