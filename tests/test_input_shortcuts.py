"""The estimators' shortcuts past scikit-learn's per-call machinery, each against the path it
skips: plain float arrays past validate_data (fit, partial_fit, predict, predict_proba),
labels decoded without LabelBinarizer.inverse_transform, and an int random_state's
generator reseeded instead of rebuilt. Every observable outcome (results' bytes and dtypes,
the fitted attributes, warnings, errors and their messages) must be the same with the
shortcut as without it."""
import os
import sys
import sysconfig
import warnings

import numpy as np
import pytest
from scipy import sparse

sklearn = pytest.importorskip("sklearn", minversion="1.7")
from sklearn.preprocessing import LabelBinarizer  # noqa: E402
from sklearn.utils._param_validation import validate_parameter_constraints  # noqa: E402
from sklearn.utils.validation import validate_data  # noqa: E402

from nnfast import MLPClassifier, MLPRegressor, _checks  # noqa: E402
from nnfast import _mlp_base as base  # noqa: E402

FAST = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0)


def _data(n=40, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)


def _outcome(call):
    """What a caller sees: the result (arrays' bytes, dtype and shape) or the exception's
    type and message, and the warnings' categories and messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = call()
            result = [(a.dtype.str, a.shape, a.tobytes()) if isinstance(a, np.ndarray) else a
                      for a in (got if isinstance(got, tuple) else (got,))]
        except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
            result = ("raised", type(e).__name__, str(e))
    return result, [(w.category.__name__, str(w.message)) for w in caught]


def _both_ways(monkeypatch, call):
    """call()'s outcome with the shortcut, then with validate_data always taken."""
    fast = _outcome(call)
    with monkeypatch.context() as m:
        m.setattr(base.BaseMultilayerPerceptron, "_valid_as_is", lambda self, *a, **k: False)
        slow = _outcome(call)
    return fast, slow


def _x_cases(X, folder):
    big_endian = X.astype(">f8")
    memmap = np.lib.format.open_memmap(os.path.join(folder, "X.npy"), mode="w+",
                                       dtype=X.dtype, shape=X.shape)
    memmap[:] = X
    read_only = X.copy()
    read_only.flags.writeable = False
    return {
        "float64": X, "float32": X.astype(np.float32), "fortran": np.asfortranarray(X),
        "strided": np.repeat(X, 2, axis=1)[:, ::2], "read-only": read_only,
        "float16": X.astype(np.float16), "int": (X * 3).astype(np.int64),
        "bool": X > 0, "big-endian": big_endian, "list": X.tolist(),
        "nan": np.where(X > 1.2, np.nan, X), "inf": np.where(X > 1.2, -np.inf, X),
        "huge": np.abs(X) * 1e307 + 1e307,  # finite values whose sum overflows
        "wrong width": X[:, :3], "no columns": X[:, :0], "no rows": X[:0], "1-D": X[:, 0],
        "3-D": X[:, :, None], "matrix": np.asmatrix(X), "complex": X + 0j,
        "csr": sparse.csr_matrix(X), "coo": sparse.coo_matrix(X),
        "memmap": memmap,
    }


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_prediction_input_outcomes_match_validate_data(monkeypatch, tmp_path, Est):
    X, y = _data()
    est = Est(**FAST).fit(X, y)
    for name, Xc in _x_cases(X, tmp_path).items():
        for method in ("predict", "predict_proba") if Est is MLPClassifier else ("predict",):
            fast, slow = _both_ways(monkeypatch, lambda m=method, Xc=Xc: getattr(est, m)(Xc))
            assert fast == slow, (name, method)
    with sklearn.config_context(assume_finite=True):  # NaN passes scikit-learn's checks too
        Xn = np.where(X > 1.2, np.nan, X)
        fast, slow = _both_ways(monkeypatch, lambda: est.predict(Xn))
        assert fast == slow


def test_the_shortcut_is_taken_only_where_validate_data_returns_x_itself(tmp_path):
    X, y = _data()
    est = MLPClassifier(**FAST).fit(X, y)
    taken = []
    for name, Xc in _x_cases(X, tmp_path).items():
        if not est._valid_as_is(Xc):
            continue
        taken.append(name)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert validate_data(est, Xc, accept_sparse=["csr", "csc"], reset=False) is Xc
    assert set(taken) == {"float64", "float32", "fortran", "strided", "read-only", "huge"}


def test_fitted_with_feature_names_takes_scikit_learns_path(monkeypatch):
    pd = pytest.importorskip("pandas")
    X, y = _data()
    est = MLPClassifier(**FAST).fit(pd.DataFrame(X, columns=list("abcd")), y)
    assert not est._valid_as_is(X)
    fast, slow = _both_ways(monkeypatch, lambda: est.predict(X))
    assert fast == slow and any("feature names" in m for _, m in fast[1])


def _fit_outcome(make, X, y, then=None):
    """Fit (then `then(est)`), and what the fitted estimator holds."""
    def call():
        est = make().fit(X, y)
        if then is not None:
            then(est)
        return (np.concatenate([w.ravel() for w in est.coefs_ + est.intercepts_]),
                est.n_features_in_, hasattr(est, "feature_names_in_"), est.n_iter_,
                tuple(est.loss_curve_))
    return call


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_fit_input_outcomes_match_validate_data(monkeypatch, tmp_path, Est):
    X, y = _data()
    ys = {"int": y, "float": y * 1.5 if Est is MLPRegressor else y * 1.0,
          "2-D": np.stack([y > 0, y > 1], axis=1).astype(np.int64), "column": y[:, None],
          "nan": np.where(y > 1, np.nan, y * 1.0), "short": y[:-1], "strings": y.astype(str),
          "big-endian": y.astype(">i8"), "empty columns": y[:, None][:, :0], "list": list(y)}
    for xname, Xc in _x_cases(X, tmp_path).items():
        for yname, yc in ys.items() if xname in ("float64", "float32") else [("int", y)]:
            fast, slow = _both_ways(monkeypatch, _fit_outcome(lambda: Est(**FAST), Xc, yc))
            assert fast == slow, (xname, yname)


def test_refits_and_partial_fits_record_what_validate_data_records(monkeypatch):
    pd = pytest.importorskip("pandas")
    X, y = _data()
    df = pd.DataFrame(X, columns=list("abcd"))
    cases = {
        # a refit on an array forgets the DataFrame's feature names
        "names then array": lambda est: est.fit(X, y),
        "array then names": lambda est: est.fit(df, y),
        "warm start other width": lambda est: est.set_params(warm_start=True).fit(X[:, :3], y),
        "partial_fit other width": lambda est: est.partial_fit(X[:, :3], y),
        "partial_fit": lambda est: est.partial_fit(X[::-1].copy(), y[::-1].copy()),
        "partial_fit names": lambda est: est.partial_fit(X, y),
    }
    for name, then in cases.items():
        first = df if name in ("names then array", "partial_fit names") else X
        call = _fit_outcome(lambda: MLPClassifier(**FAST), first, y, then)
        fast, slow = _both_ways(monkeypatch, call)
        assert fast == slow, name
    est = MLPClassifier(**FAST).fit(df, y).fit(X, y)
    assert not hasattr(est, "feature_names_in_") and est.n_features_in_ == 4


def _outputs(kind, n=64, seed=1):
    rng = np.random.default_rng(seed)
    if kind == "binary":
        p = rng.random(n)
        p[:6] = [0.5, np.nan, 0.0, 1.0, np.nextafter(0.5, 1), np.nextafter(0.5, 0)]
        return p
    P = rng.random((n, 4))
    P[0] = [0.25, 0.25, 0.25, 0.25]      # ties: the first maximum
    P[1] = [0.1, np.nan, 0.9, 0.0]       # NaN: argmax's first NaN
    P[2] = [np.nan, np.nan, 0.1, 0.2]
    return P


@pytest.mark.parametrize("classes", [[3, 7], [-1, 0, 5, 9], ["no", "yes"], ["a", "b", "c", "d"],
                                     [0.0, 2.0]])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_labels_are_decoded_as_inverse_transform_does(classes, dtype):
    lb = LabelBinarizer().fit(np.array(classes))
    Y = _outputs("binary" if len(classes) == 2 else "multiclass").astype(dtype)
    got, want = _checks.decode_labels(lb, Y), lb.inverse_transform(Y)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_other_binarizers_and_outputs_are_decoded_by_inverse_transform():
    multilabel = LabelBinarizer().fit(np.array([[1, 0, 1], [0, 1, 0]]))
    Y = _outputs("multiclass")[:, :3]
    np.testing.assert_array_equal(_checks.decode_labels(multilabel, Y),
                                  multilabel.inverse_transform(Y))
    other_labels = LabelBinarizer(neg_label=-1, pos_label=2).fit(np.array([0, 1, 2]))
    Y = _outputs("multiclass")[:, :3] * 3 - 1
    np.testing.assert_array_equal(_checks.decode_labels(other_labels, Y),
                                  other_labels.inverse_transform(Y))
    three = LabelBinarizer().fit(np.array([0, 1, 2]))  # outputs of another width
    Y = _outputs("multiclass")[:, :2]
    np.testing.assert_array_equal(_checks.decode_labels(three, Y), three.inverse_transform(Y))
    one = LabelBinarizer().fit(np.array([4, 4]))
    p = _outputs("binary")
    np.testing.assert_array_equal(_checks.decode_labels(one, p), one.inverse_transform(p))


def _params(est):
    return np.concatenate([w.ravel() for w in est.coefs_ + est.intercepts_])


def test_a_refit_reseeds_its_own_generator_to_the_same_numbers():
    X, y = _data()
    est = MLPClassifier(**FAST, shuffle=True)
    constructed = []
    real = base.check_random_state

    def counting(seed):
        constructed.append(seed)
        return real(seed)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(base, "check_random_state", counting)
        first = _params(est.fit(X, y))
        again = _params(est.fit(X, y))
        est.set_params(random_state=7)
        seven = _params(est.fit(X, y))
    if sys.implementation.name == "cpython" and not sysconfig.get_config_var("Py_GIL_DISABLED"):
        assert constructed == [0]  # the refits reseeded the first fit's generator
    np.testing.assert_array_equal(first, again)
    fresh = MLPClassifier(**{**FAST, "random_state": 7}, shuffle=True).fit(X, y)
    np.testing.assert_array_equal(seven, _params(fresh))
    a, b = est._random_state.get_state(), fresh._random_state.get_state()
    assert a[0] == b[0] and a[2:] == b[2:]  # and the generators end in the same state
    np.testing.assert_array_equal(a[1], b[1])


def test_a_generator_someone_else_holds_is_never_reseeded():
    X, y = _data()
    user = np.random.RandomState(5)
    est = MLPClassifier(**{**FAST, "random_state": user}).fit(X, y)
    assert est._random_state is user
    saved = user.get_state()
    kept = est.set_params(random_state=3).fit(X, y)._random_state
    assert kept is not user
    after = user.get_state()
    assert saved[0] == after[0] and saved[2:] == after[2:]
    np.testing.assert_array_equal(saved[1], after[1])
    held = est._random_state  # held here: the next fit builds a new one
    est.fit(X, y)
    assert est._random_state is not held
    np.testing.assert_array_equal(_params(est), _params(MLPClassifier(**{**FAST, "random_state": 3})
                                                        .fit(X, y)))


def test_predict_still_refuses_an_unfitted_estimator_first():
    X, _ = _data()
    for Est in (MLPClassifier, MLPRegressor):
        with pytest.raises(sklearn.exceptions.NotFittedError):
            Est(**FAST).predict(X)
        with pytest.raises(sklearn.exceptions.NotFittedError):
            Est(**FAST).predict(X[:, :1] * np.nan)


def _full_check(est):
    """scikit-learn's own check of every parameter: None, or its error's type and message."""
    try:
        validate_parameter_constraints(est._parameter_constraints, est.get_params(deep=False),
                                       caller_name=type(est).__name__)
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        return type(e).__name__, str(e)
    return None


def _memo_check(est):
    try:
        est._validate_params()
    except Exception as e:  # noqa: BLE001
        return type(e).__name__, str(e)
    return None


def test_parameter_checks_remembered_valid_still_refuse_what_scikit_learn_refuses():
    """Values checked once are not checked again, keyed by type and value: a value equal to
    a valid one but of another type (1.0 for an int, True for 1, a float tuple), an invalid
    value after the valid ones, and several invalid at once give scikit-learn's error."""
    rng = np.random.default_rng(0)
    values = {
        "max_iter": [1, 200, 1.0, True, 0, -3, np.int64(5), "10", None],
        "alpha": [0.0, 1e-4, 1, -0.0, -1e-9, float("nan"), float("inf"), "0.1", True],
        "hidden_layer_sizes": [(5,), (4, 3), 7, (4.0,), [3, 2], (0,), "5", None],
        "solver": ["adam", "sgd", "lbfgs", "Adam", 1, None],
        "batch_size": ["auto", 16, 1, 0, 16.0, False, "16"],
        "early_stopping": [False, True, 0, 1, "yes", np.bool_(True)],
        "learning_rate_init": [1e-3, 0.1, 0, -1e-3, 1, "x"],
        "momentum": [0.9, 0, 1, 1.0000001, -0.1, 0.5],
        "n_iter_no_change": [10, 1, 0, np.inf, -np.inf, 2.5],
        "random_state": [0, None, 2**32, -1, 1.5, "seed"],
    }
    for Est in (MLPClassifier, MLPRegressor):
        disagreements = []
        checked = 0
        for _ in range(400):
            est = Est()
            for name in rng.choice(list(values), size=rng.integers(1, 4), replace=False):
                opts = values[name]
                est.set_params(**{name: opts[rng.integers(len(opts))]})
            want, got = _full_check(est), _memo_check(est)
            checked += want is not None
            if want != got:
                disagreements.append((est.get_params(deep=False), want, got))
        assert not disagreements, disagreements[:3]
        assert 100 < checked < 390  # both valid and invalid settings were drawn
