"""nnfast.MLPClassifier / MLPRegressor as a scikit-learn user meets them: attributes, label
and input types, float32, sparse input, pickling and cloning, assigned weights, bad input
(rejected with scikit-learn's exception types), and the extras scikit-learn lacks
(class_weight, validation loss curve, callbacks, time_budget, n_jobs, leaky_relu, verbose)."""
import io
import pickle
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", minversion="1.7")  # sample_weight, loss="poisson"
from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402

import nnfast  # noqa: E402
import nnfast.reference as ref  # noqa: E402
from nnfast import MLPClassifier, MLPRegressor, _core  # noqa: E402

FAST = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)


@pytest.fixture(autouse=True)
def _no_convergence_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _clf_data(n=120, classes=3, seed=0):
    return make_classification(n_samples=n, n_features=6, n_informative=4, n_classes=classes,
                               random_state=seed)


def _reg_data(n=120, targets=1, seed=0):
    X, y = make_regression(n_samples=n, n_features=6, n_targets=targets, noise=1.0,
                           random_state=seed)
    return X, y / np.std(y, axis=0)


# ---------------------------------------------------------------------------
# the package and the surface
# ---------------------------------------------------------------------------

def test_estimators_are_exported_lazily():
    import subprocess
    import sys

    code = ("import sys, nnfast; a = 'sklearn' in sys.modules; "
            "from nnfast import MLPClassifier; print(a, 'sklearn' in sys.modules, "
            "MLPClassifier.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "nnfast.mlp"]
    assert "MLPRegressor" in dir(nnfast) and nnfast.MLPRegressor is MLPRegressor
    with pytest.raises(AttributeError):
        nnfast.NoSuchEstimator  # noqa: B018


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_constructor_is_sklearns_plus_the_extras(name):
    """Same parameters, defaults and order as scikit-learn 1.9; the extras come last and
    default to off."""
    theirs = getattr(sk_nn, name)().get_params()
    ours = getattr(nnfast, name)().get_params()
    extras = {"callbacks": None, "time_budget": None, "n_jobs": None, "reduction_chunks": None}
    if name == "MLPClassifier":
        extras["class_weight"] = None
    assert ours == {**theirs, **extras}
    import inspect

    ours_sig = list(inspect.signature(getattr(nnfast, name)).parameters)
    theirs_sig = list(inspect.signature(getattr(sk_nn, name)).parameters)
    assert ours_sig[:len(theirs_sig)] == theirs_sig


def test_fitted_attributes_classifier():
    X, y = _clf_data()
    clf = MLPClassifier(hidden_layer_sizes=(8, 4), max_iter=5, random_state=0).fit(X, y)
    assert clf.n_features_in_ == 6 and clf.n_layers_ == 4 and clf.n_outputs_ == 3
    assert clf.out_activation_ == "softmax"
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert [c.shape for c in clf.coefs_] == [(6, 8), (8, 4), (4, 3)]
    assert [b.shape for b in clf.intercepts_] == [(8,), (4,), (3,)]
    assert clf.n_iter_ == 5 and clf.t_ == 5 * 120 and len(clf.loss_curve_) == 5
    assert clf.loss_ == clf.loss_curve_[-1] and clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert clf.validation_loss_curve_ is None
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert 0 <= clf.score(X, y) <= 1


def test_binary_string_and_int_labels():
    X, y = _clf_data(classes=2)
    for labels in (np.array(["no", "yes"]), np.array([-3, 7]), np.array(["no", "yes"], object)):
        clf = MLPClassifier(**FAST).fit(X, labels[y])
        assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
        assert clf.predict_proba(X).shape == (120, 2)
        pred = clf.predict(X)
        assert set(pred) <= set(labels)
        assert pred.dtype == sk_nn.MLPClassifier(**FAST).fit(X, labels[y]).predict(X).dtype


def _label_cases():
    rng = np.random.default_rng(5)
    base = rng.integers(0, 4, 50)
    cases = {f"{dt}-{k}": (base % k).astype(dt) * (-3 if dt[0] in "if" else 3) + 1
             for dt in ("int8", "int32", "int64", "uint8", "uint64", "float32", "float64")
             for k in (1, 2, 3, 4)}
    cases.update({
        "big-uint64": np.array([2**64 - 1, 0, 2**63, 0], dtype=np.uint64),
        "byteswapped": (base % 3).astype(">i8"),
        "half-floats": base / 2,                       # continuous: scikit-learn's error
        "nan": np.where(base == 1, np.nan, base),
        "inf": np.where(base == 1, np.inf, base * 1.0),
        "negative-zero": np.where(base == 1, -0.0, base * 1.0),
        "huge-floats": base * 1e300,
        "strings": np.array(["b", "a", "c"])[base % 3],
        "bools": base > 1,
        "2-D": np.stack([base % 2, base % 3], axis=1),
    })
    return cases


@pytest.mark.parametrize("name", list(_label_cases()))
def test_labels_are_encoded_as_label_binarizer_does(name):
    """The classifier's direct label encoding (plain whole-number y) against scikit-learn's
    LabelBinarizer itself: the same classes_ (values and dtype), y_type_ and indicator
    matrix, or the same error, for y itself, reversed, and a y holding some of the classes
    (the estimators encode no label outside the classes: they refuse such y first)."""
    from sklearn.preprocessing import LabelBinarizer

    from nnfast import _checks

    y = _label_cases()[name]
    # the direct path is taken for whole numbers, and only for them
    plain = name.split("-")[0] in ("int8", "int32", "int64", "uint8", "uint64", "float32",
                                   "float64", "big")
    assert _checks._plain_labels(y) == plain

    def outcome(fit, encode, y_fit, y_enc):
        try:
            lb = fit(LabelBinarizer(), y_fit)
            got = (lb.classes_, lb.classes_.dtype, lb.y_type_, lb.sparse_input_)
            return got, encode(lb, y_enc)
        except ValueError as e:
            return "error", str(e)

    def ours():
        return (_checks.fit_binarizer, lambda lb, y: _checks.binarize_labels(lb, y, 16))

    def theirs():
        return (lambda lb, y: lb.fit(y), lambda lb, y: lb.transform(y).astype(bool))

    other = np.r_[y[:10], y[:3]] if y.ndim == 1 else y  # a subset of the classes
    for y_fit, y_enc in ((y, y), (y, y[::-1].copy()), (y, other)):
        a, b = outcome(*ours(), y_fit, y_enc), outcome(*theirs(), y_fit, y_enc)
        if b[0] == "error":
            assert a == b
            continue
        assert a[0] != "error", a[1]
        (ca, da, ta, sa), Ya = a
        (cb, db, tb, sb), Yb = b
        np.testing.assert_array_equal(ca, cb)
        assert (da, ta, sa) == (db, tb, sb)
        assert Ya.dtype == Yb.dtype == bool and Ya.shape == Yb.shape
        np.testing.assert_array_equal(Ya, Yb)


def test_multilabel_and_multioutput():
    X, y = _clf_data()
    Y = np.column_stack([y == 0, y == 1, (y == 2) | (X[:, 0] > 0)]).astype(int)
    clf = MLPClassifier(**FAST).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    assert clf.predict(X).shape == (120, 3) and set(np.unique(clf.predict(X))) <= {0, 1}
    X, Y = _reg_data(targets=2)
    reg = MLPRegressor(**FAST).fit(X, Y)
    assert reg.predict(X).shape == (120, 2) and reg.out_activation_ == "identity"
    reg = MLPRegressor(loss="poisson", **FAST).fit(X, np.abs(Y))
    assert reg.out_activation_ == "exp" and (reg.predict(X) > 0).all()


def test_dataframes_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _clf_data()
    df = pd.DataFrame(X, columns=list("abcdef"))
    clf = MLPClassifier(**FAST).fit(df, pd.Series(y))
    np.testing.assert_array_equal(clf.feature_names_in_, list("abcdef"))
    with pytest.warns(UserWarning, match="feature names"):
        np.testing.assert_array_equal(clf.predict(df), clf.predict(X))
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df.rename(columns={"a": "z"}))


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_float32_is_kept(solver):
    X, y = _reg_data()
    reg = MLPRegressor(solver=solver, **FAST).fit(X.astype(np.float32), y)
    assert all(a.dtype == np.float32 for a in reg.coefs_ + reg.intercepts_)
    assert reg.predict(X.astype(np.float32)).dtype == np.float32
    assert reg.predict(X).dtype == np.float64  # float64 X with float32 weights, as scikit-learn
    reg64 = MLPRegressor(solver=solver, **FAST).fit(X, y)
    np.testing.assert_allclose(reg.predict(X), reg64.predict(X), rtol=1e-3, atol=1e-3)
    # a later partial_fit keeps the model's precision
    if solver == "adam":
        reg.partial_fit(X, y)
        assert reg.coefs_[0].dtype == np.float32


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_sparse_equals_dense(fmt, solver, monkeypatch):
    import scipy.sparse as sp

    from nnfast import _inference

    monkeypatch.setattr(_inference, "SPARSE_CHUNK_ROWS", 50)  # several chunks
    X, y = _clf_data()
    X[np.abs(X) < 1] = 0
    dense = MLPClassifier(solver=solver, **FAST).fit(X, y)
    sparse = MLPClassifier(solver=solver, **FAST).fit(getattr(sp, f"{fmt}_matrix")(X), y)
    for a, b in zip(dense.coefs_ + dense.intercepts_, sparse.coefs_ + sparse.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X),
                               rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------
# persistence, cloning, assigned weights
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_pickle_and_clone(Est):
    X, y = _clf_data() if Est is MLPClassifier else _reg_data()
    est = Est(**FAST).fit(X, y)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    # the unpickled model keeps training exactly as the original would
    est.partial_fit(X, y)
    back.partial_fit(X, y)
    for a, b in zip(est.coefs_, back.coefs_):
        np.testing.assert_array_equal(a, b)
    fresh = clone(est)
    assert fresh.get_params() == est.get_params() and not hasattr(fresh, "coefs_")


def test_assigned_coefs_are_the_model():
    X, y = _clf_data()
    clf = MLPClassifier(solver="sgd", **FAST).fit(X, y)
    Ws, bs = ref.init_params([6, 8, 3], "relu", random_state=5)
    clf.coefs_, clf.intercepts_ = [W.copy() for W in Ws], [b.copy() for b in bs]
    np.testing.assert_allclose(clf.predict_proba(X),
                               ref.predict(X, Ws, bs, "relu", "softmax"), rtol=1e-12)
    # lists, Fortran order, float32: accepted and converted
    clf.coefs_ = [np.asfortranarray(Ws[0]), Ws[1].tolist()]
    clf.partial_fit(X, y)
    assert clf.coefs_[0].flags.c_contiguous and clf.coefs_[1].dtype == np.float64
    # a hand-worked SGD step (scikit-learn's test_fit): one sample, logistic units
    mlp = MLPClassifier(solver="sgd", learning_rate_init=0.1, alpha=0.1, activation="logistic",
                        random_state=1, max_iter=1, hidden_layer_sizes=2, momentum=0)
    mlp.coefs_ = [np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0]]), np.array([[0.1], [0.2]])]
    mlp.intercepts_ = [np.array([0.1, 0.1]), np.array([1.0])]
    mlp.n_outputs_, mlp.n_layers_, mlp.n_features_in_ = 1, 3, 3
    mlp.n_iter_, mlp.t_, mlp.out_activation_ = 0, 0, "logistic"
    mlp.best_loss_, mlp.loss_curve_, mlp._no_improvement_count = np.inf, [], 0
    mlp.partial_fit(np.array([[0.6, 0.8, 0.7]]), np.array([0]), classes=[0, 1])
    np.testing.assert_allclose(mlp.coefs_[0], [[0.098, 0.195756], [0.2956664, 0.096008],
                                               [0.4939998, -0.002244]], atol=1e-3)
    np.testing.assert_allclose(mlp.intercepts_[1], [0.9235], atol=1e-3)


def test_assigned_coefs_of_the_wrong_shape_raise_value_error():
    X, y = _clf_data()
    clf = MLPClassifier(**FAST).fit(X, y)
    good = [c.copy() for c in clf.coefs_]
    for bad in ([good[0][:5], good[1]], [good[0], good[1][:, :2]], [good[0]], [good[0].T, good[1]],
                [good[0], np.zeros((8, 3, 1))], "weights"):
        clf.coefs_ = bad
        for call in (lambda: clf.predict(X), lambda: clf.partial_fit(X, y)):
            with pytest.raises(ValueError):
                call()
    clf.coefs_ = good
    clf.intercepts_ = [clf.intercepts_[0][:3], clf.intercepts_[1]]
    with pytest.raises(ValueError, match=r"intercepts_\[0\]"):
        clf.predict(X)


# ---------------------------------------------------------------------------
# bad input: the same exception types as scikit-learn
# ---------------------------------------------------------------------------

def _raises_like_sklearn(name, call):
    """`call(Estimator)` raises in scikit-learn and in nnfast, with the same type."""
    with pytest.raises(Exception) as theirs:
        call(getattr(sk_nn, name))
    with pytest.raises(type(theirs.value)) as ours:
        call(getattr(nnfast, name))
    assert str(ours.value)
    return ours.value


BAD_FIT = {
    "nan": lambda X, y: (np.where(X > 1.5, np.nan, X), y),
    "inf": lambda X, y: (np.where(X > 1.5, np.inf, X), y),
    "X 1-D": lambda X, y: (X[:, 0], y),
    "X 3-D": lambda X, y: (X[:, :, None], y),
    "empty": lambda X, y: (X[:0], y[:0]),
    "lengths": lambda X, y: (X[:-3], y),
    "complex": lambda X, y: (X + 1j, y),
    "y None": lambda X, y: (X, None),
    "strings X": lambda X, y: (np.full(X.shape, "a"), y),
}


@pytest.mark.parametrize("case", list(BAD_FIT))
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_bad_fit_input_raises_like_sklearn(case, name):
    X, y = _clf_data()
    Xb, yb = BAD_FIT[case](X, y)
    _raises_like_sklearn(name, lambda E: E(**FAST).fit(Xb, yb))


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_bad_predict_input_raises_like_sklearn(name):
    X, y = _clf_data()
    _raises_like_sklearn(name, lambda E: E(**FAST).predict(X))  # NotFittedError
    assert isinstance(_raises_like_sklearn(name, lambda E: E(**FAST).predict(X)), NotFittedError)
    _raises_like_sklearn(name, lambda E: E(**FAST).fit(X, y).predict(X[:, :4]))
    _raises_like_sklearn(name, lambda E: E(**FAST).fit(X, y).predict(np.where(X > 1, np.nan, X)))
    _raises_like_sklearn(name, lambda E: E(**FAST).fit(X, y).partial_fit(X[:, :5], y))
    _raises_like_sklearn(name, lambda E: E(**FAST).fit(X, y, sample_weight=np.ones(3)))
    _raises_like_sklearn(name, lambda E: E(**FAST).fit(X, y, sample_weight=np.zeros(len(y))))
    _raises_like_sklearn(name, lambda E: E(early_stopping=True).fit(X[:5], y[:5]))


def test_partial_fit_label_errors_like_sklearn():
    X, y = _clf_data()
    name = "MLPClassifier"
    _raises_like_sklearn(name, lambda E: E(**FAST).partial_fit(X, y))  # no classes
    _raises_like_sklearn(name, lambda E: E(**FAST).partial_fit(X, y, classes=[0, 1]))
    _raises_like_sklearn(name, lambda E: E(**FAST).partial_fit(X, y, classes=[0, 1, 2])
                         .partial_fit(X, y + 1))  # an unknown label
    _raises_like_sklearn(name, lambda E: E(**FAST).partial_fit(X, y, classes=[0, 1, 2])
                         .partial_fit(X, y, classes=[0, 1, 5]))
    _raises_like_sklearn(name, lambda E: E(warm_start=True, **FAST).fit(X, y).fit(X, y % 2))
    _raises_like_sklearn(name, lambda E: E(early_stopping=True, **FAST).fit(X, y)
                         .partial_fit(X, y))
    _raises_like_sklearn(name, lambda E: E(**FAST).fit(X, X[:, 0]))  # continuous labels
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")


def test_shuffling_with_another_bit_generator_is_a_clear_type_error():
    X, y = _clf_data()
    est = MLPClassifier(**{**FAST, "random_state": np.random.RandomState(np.random.PCG64(1))})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the TypeError alone, no NumPy warning first
        with pytest.raises(TypeError, match="MT19937.*PCG64"):
            est.fit(X, y)
    # without shuffling the generator only draws the initial weights, as in scikit-learn
    est.set_params(shuffle=False).fit(X, y)
    assert all(np.isfinite(w).all() for w in est.coefs_ + est.intercepts_)


BAD_PARAMS = [dict(hidden_layer_sizes=0), dict(hidden_layer_sizes=(4, -1)), dict(activation="elu"),
              dict(solver="newton"), dict(alpha=-1), dict(batch_size=0), dict(learning_rate="x"),
              dict(learning_rate_init=0), dict(max_iter=0), dict(momentum=1.5), dict(beta_1=1),
              dict(validation_fraction=1.0), dict(epsilon=0), dict(n_iter_no_change=0),
              dict(max_fun=0), dict(tol=-1), dict(shuffle="yes"), dict(power_t=-1)]


@pytest.mark.parametrize("params", BAD_PARAMS,
                         ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()))
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_invalid_hyperparameters_raise_like_sklearn(params, name):
    X, y = _clf_data(n=30)
    _raises_like_sklearn(name, lambda E: E(**params).fit(X, y))


def test_invalid_extras_are_rejected():
    X, y = _clf_data(n=30)
    for params in (dict(class_weight="auto"), dict(time_budget=0), dict(n_jobs=1.5),
                   dict(callbacks="print"), dict(callbacks=[1])):
        with pytest.raises(InvalidParameterError):
            MLPClassifier(**params).fit(X, y)
    with pytest.raises(ValueError, match="n_jobs"):
        MLPClassifier(n_jobs=0, **FAST).fit(X, y)
    with pytest.raises(InvalidParameterError):
        MLPRegressor(loss="huber").fit(X, y)


# ---------------------------------------------------------------------------
# the extras
# ---------------------------------------------------------------------------

def test_class_weight():
    X, y = _clf_data(classes=2)
    keep = (y == 1) | (np.arange(len(y)) % 4 == 0)  # class 0 rare
    X, y = X[keep], y[keep]
    plain = MLPClassifier(**FAST).fit(X, y)
    same = MLPClassifier(class_weight={0: 1.0, 1: 1.0}, **FAST).fit(X, y)
    np.testing.assert_array_equal(same.coefs_[0], plain.coefs_[0])
    balanced = MLPClassifier(class_weight="balanced", **FAST).fit(X, y)
    assert balanced.predict_proba(X)[:, 0].mean() > plain.predict_proba(X)[:, 0].mean()
    # with sample weights, the two multiply
    sw = np.linspace(0.5, 2, len(y))
    a = MLPClassifier(class_weight={0: 3.0, 1: 1.0}, **FAST).fit(X, y, sample_weight=sw)
    b = MLPClassifier(**FAST).fit(X, y, sample_weight=sw * np.where(y == 0, 3.0, 1.0))
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-12)
    with pytest.raises(ValueError, match="partial_fit"):
        MLPClassifier(class_weight="balanced", **FAST).partial_fit(X, y, classes=[0, 1])
    MLPClassifier(class_weight={0: 2.0, 1: 1.0}, **FAST).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="multi-label"):
        MLPClassifier(class_weight="balanced", **FAST).fit(X, np.column_stack([y, 1 - y]))
    with pytest.raises(ValueError):
        MLPClassifier(class_weight={5: 1.0}, **FAST).fit(X, y)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_validation_set_and_validation_loss_curve(Est):
    X, y = _clf_data(n=200) if Est is MLPClassifier else _reg_data(n=200)
    Xt, yt, Xv, yv = X[:150], y[:150], X[150:], y[150:]
    est = Est(hidden_layer_sizes=(8,), max_iter=6, random_state=0, solver="sgd",
              learning_rate_init=0.05, tol=0).fit(Xt, yt, X_val=Xv, y_val=yv)
    assert est.validation_scores_ is None  # monitoring only: no early stopping
    curve = est.validation_loss_curve_
    assert len(curve) == est.n_iter_ == 6 and all(np.isfinite(curve))
    # the last entry is the validation loss of the final model, in loss_curve_'s convention
    probe = Est(hidden_layer_sizes=(8,), max_iter=1, random_state=0)
    probe.fit(Xv, yv)
    probe.coefs_, probe.intercepts_ = est.coefs_, est.intercepts_
    theta = np.hstack([p.ravel() for p in est.coefs_ + est.intercepts_])
    Yv = yv if Est is MLPRegressor else est._label_binarizer.transform(yv)
    data_loss, _ = probe.set_params(alpha=0.0)._loss_grad_lbfgs(theta, Xv, Yv)
    assert curve[-1] == pytest.approx(data_loss, rel=1e-10)
    # with early stopping, the given set replaces the internal split (no rows set aside)
    es = Est(hidden_layer_sizes=(8,), max_iter=30, random_state=0, early_stopping=True,
             n_iter_no_change=2, tol=1e-2).fit(Xt, yt, X_val=Xv, y_val=yv)
    assert es.t_ == 150 * es.n_iter_
    assert len(es.validation_scores_) == len(es.validation_loss_curve_) == es.n_iter_
    np.testing.assert_allclose(es.best_validation_score_, max(es.validation_scores_))
    assert es.best_validation_score_ == pytest.approx(es.score(Xv, yv))
    # internal split: validation_loss_curve_ too
    es2 = Est(hidden_layer_sizes=(8,), max_iter=4, random_state=0, early_stopping=True).fit(X, y)
    assert len(es2.validation_loss_curve_) == 4
    with pytest.raises(ValueError, match="y_val"):
        Est(**FAST).fit(Xt, yt, X_val=Xv)
    with pytest.raises(ValueError):
        Est(**FAST).fit(Xt, yt, X_val=Xv[:, :3], y_val=yv)


def test_callbacks_and_time_budget():
    X, y = _clf_data()
    seen = []

    def record(est, info):
        seen.append(dict(info))
        assert est.n_iter_ == info["epoch"] and est.loss_curve_[-1] == info["loss"]
        return info["epoch"] == 3

    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0,
                        callbacks=[record], early_stopping=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a callback stop is no warning
        clf.fit(X, y)
    assert clf.n_iter_ == 3 and [s["epoch"] for s in seen] == [1, 2, 3]
    assert set(seen[0]) == {"epoch", "loss", "t", "validation_score", "validation_loss",
                            "elapsed"}
    assert seen[-1]["validation_score"] == clf.validation_scores_[-1]
    clf2 = MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0,
                         callbacks=(lambda est, info: False,))
    np.testing.assert_array_equal(clf2.fit(X, y).coefs_[0],
                                  MLPClassifier(hidden_layer_sizes=(8,), max_iter=50,
                                                random_state=0).fit(X, y).coefs_[0])
    slow = MLPClassifier(hidden_layer_sizes=(8,), max_iter=1000, random_state=0, tol=0,
                         n_iter_no_change=1000, time_budget=0.05,
                         callbacks=[lambda est, info: __import__("time").sleep(0.02)])
    with pytest.warns(ConvergenceWarning, match="time_budget"):
        slow.fit(X, y)
    assert 1 <= slow.n_iter_ <= 10


def test_n_jobs_sets_threads_for_the_call_only():
    X, y = _clf_data(n=400)
    before = _core.get_num_threads()
    seen = []
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=3, random_state=0, n_jobs=1,
                        callbacks=[lambda est, info: seen.append(_core.get_num_threads())])
    a = clf.fit(X, y)
    assert _core.get_num_threads() == before
    if nnfast.config()["openmp"]:
        assert seen == [1, 1, 1]
    b = clone(clf).set_params(n_jobs=2, callbacks=None).fit(X, y)
    c = clone(clf).set_params(n_jobs=-1, callbacks=None).fit(X, y)
    # the kernels are bitwise deterministic at any thread count
    for m in (b, c):
        for p, q in zip(a.coefs_ + a.intercepts_, m.coefs_ + m.intercepts_):
            np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert _core.get_num_threads() == before


def test_leaky_relu_trains_as_the_reference_computes():
    """Full-batch SGD without momentum, shuffle or L2: each epoch is one reference step."""
    X, y = _clf_data()
    clf = MLPClassifier(hidden_layer_sizes=(7,), activation="leaky_relu", solver="sgd",
                        momentum=0, learning_rate_init=0.1, alpha=0, batch_size=120,
                        shuffle=False, max_iter=4, random_state=0, tol=0).fit(X, y)
    Ws, bs = ref.init_params([6, 7, 3], "leaky_relu", random_state=0)
    Y = np.eye(3)[y]
    for _ in range(4):
        _, dWs, dbs = ref.loss_and_gradients(X, Y, Ws, bs, "leaky_relu", "softmax")
        Ws, bs = ref.sgd_step(Ws, bs, dWs, dbs, 0.1)
    for got, want in zip(clf.coefs_ + clf.intercepts_, Ws + bs):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_verbose_prints_sklearns_lines(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    X, y = _clf_data()
    MLPClassifier(verbose=True, early_stopping=True, **FAST).fit(X, y)
    MLPClassifier(verbose=2, solver="sgd", tol=10, n_iter_no_change=1, **FAST).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Validation score: " in out
    assert "Training loss did not improve more than tol=10.000000 for 1 consecutive epochs." in out


def test_verbose_progress_bar_with_tqdm():
    pytest.importorskip("tqdm")
    X, y = _clf_data()
    buf = io.StringIO()
    with redirect_stdout(buf):
        MLPClassifier(verbose=True, **FAST).fit(X, y)
    assert "Iteration 1" not in buf.getvalue()  # the bar (on stderr) replaces the lines


def test_convergence_warning_and_nonfinite_weights():
    X, y = _clf_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning, match="Maximum iterations"):
            MLPClassifier(**FAST).fit(X, y)
    big = np.abs(X) / np.abs(X).max() * np.finfo(np.float64).max  # finite, but huge
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="non-finite parameter weights"):
            MLPRegressor(**FAST).fit(big, X[:, 0])


def test_loss_grad_matches_finite_differences():
    X, y = _clf_data(n=20)
    for activation in ("identity", "logistic", "tanh", "relu", "leaky_relu"):
        clf = MLPClassifier(hidden_layer_sizes=(5,), activation=activation, solver="lbfgs",
                            alpha=1e-2, max_iter=1, random_state=1).fit(X, y)
        Y = clf._label_binarizer.transform(y)
        theta = np.hstack([p.ravel() for p in clf.coefs_ + clf.intercepts_])
        f, g = clf._loss_grad_lbfgs(theta, X, Y)
        eps, E = 1e-6, np.eye(theta.size)
        num = [(clf._loss_grad_lbfgs(theta + eps * e, X, Y)[0]
                - clf._loss_grad_lbfgs(theta - eps * e, X, Y)[0]) / (2 * eps) for e in E]
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)


# ---------------------------------------------------------------------------
# arrays at odd addresses (C-contiguous, not aligned to the element size)
# ---------------------------------------------------------------------------

def _misaligned(a, offset=1):
    """`a` as a C-contiguous array `offset` bytes past an aligned address, as ``distributed``
    workers and np.frombuffer over a byte payload hand arrays over."""
    a = np.ascontiguousarray(a)
    out = np.frombuffer(bytearray(a.nbytes + offset), dtype=a.dtype, offset=offset,
                        count=a.size)
    out = out.reshape(a.shape)
    out[...] = a
    assert out.flags.c_contiguous and not out.flags.aligned
    return out


def _entry_points():
    """(name, run(wrap) -> arrays): each way data reaches the kernels, with `wrap` applied to
    every array it is given."""
    from scipy import sparse

    Xc, yc = _clf_data(n=60)
    Xr, yr = _reg_data(n=60, targets=2)
    w = np.linspace(0.5, 1.5, 60)

    def fitted(est, X, y, wrap, **kw):
        return est.fit(wrap(X), y if y.dtype.kind == "i" else wrap(y), **kw)

    def params(est):
        return est.coefs_ + est.intercepts_ + [np.array(getattr(est, "loss_curve_", None)
                                                        or [est.loss_])]

    def clf(**kw):
        return MLPClassifier(**dict(FAST, **kw))

    def reg(**kw):
        return MLPRegressor(**dict(FAST, **kw))

    return {
        "fit-adam": lambda wrap: params(fitted(clf(), Xc, yc, wrap)),
        "fit-sgd-f32": lambda wrap: params(fitted(reg(solver="sgd"), Xr.astype(np.float32),
                                                  yr.astype(np.float32), wrap)),
        "fit-sample-weight": lambda wrap: params(clf().fit(Xc, yc, sample_weight=wrap(w))),
        "fit-lbfgs": lambda wrap: params(fitted(reg(solver="lbfgs"), Xr, yr, wrap,
                                                sample_weight=wrap(w))),
        "fit-lbfgs-f32": lambda wrap: params(fitted(clf(solver="lbfgs"), Xc.astype(np.float32),
                                                    yc, wrap)),
        "early-stopping": lambda wrap: params(fitted(clf(early_stopping=True, max_iter=8),
                                                     Xc, yc, wrap)),
        "validation-set": lambda wrap: params(clf().fit(Xc, yc, X_val=wrap(Xc[:20]),
                                                        y_val=yc[:20],
                                                        sample_weight_val=wrap(w[:20]))),
        "partial-fit": lambda wrap: params(clf().partial_fit(wrap(Xc), yc, classes=[0, 1, 2],
                                                             sample_weight=wrap(w))),
        "partial-fit-reg": lambda wrap: params(reg().partial_fit(wrap(Xr), wrap(yr))),
        "sparse-data": lambda wrap: params(clf().fit(
            sparse.csr_matrix((wrap(Xc.ravel()), wrap(np.tile(np.arange(6), 60)),
                               wrap(np.arange(0, 361, 6))), shape=Xc.shape), yc)),
        "predict": lambda wrap: [clf().fit(Xc, yc).predict(wrap(Xc))],
        "predict-proba-f32": lambda wrap: [clf().fit(Xc.astype(np.float32), yc)
                                           .predict_proba(wrap(Xc.astype(np.float32)))],
        "predict-log-proba": lambda wrap: [clf().fit(Xc, yc).predict_log_proba(wrap(Xc))],
        "score": lambda wrap: [np.array(reg().fit(Xr, yr).score(wrap(Xr), wrap(yr),
                                                                sample_weight=wrap(w)))],
    }


@pytest.mark.parametrize("offset", [1, 3])
@pytest.mark.parametrize("name", list(_entry_points()))
def test_misaligned_arrays_are_accepted_and_mean_the_same(name, offset):
    """scikit-learn accepts them; the kernels read through T*, so they are copied first. The
    result is bit for bit the aligned input's."""
    run = _entry_points()[name]
    want = run(lambda a: a)
    got = run(lambda a: _misaligned(a, offset))
    assert len(got) == len(want)
    for g, e in zip(got, want):
        np.testing.assert_array_equal(g, e)
