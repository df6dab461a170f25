"""nnfast.MLPClassifier / MLPRegressor against scikit-learn's own, fit for fit: the same data,
parameters and random_state give the same weights, loss curve, iteration counts, stopping
decisions, random-stream consumption and predictions.

float64 runs agree to 1e-10 relative (the two compute each batch's gradient with different
summation orders, so they differ by rounding, ~1e-16 per step, which a handful of epochs
grows to ~1e-14; measured: at most 2e-14, median 2e-16). float32 runs are compared at
1e-5, the project's float32 tolerance (measured: 2e-7).

L-BFGS runs agree to ~1e-12 as long as the line search evaluates points where no predicted
probability saturates. Where one does (a trial step overshoots and some p comes within
~1e-7 of 0 or 1), scikit-learn's log-loss, computed from probabilities (log(1 - p) of a
rounded p, clipped at eps), differs from nnfast's, computed from the logits, by up to
~1e-6 relative; the line search then interpolates a step that differs by as much. (In the
binary case below, evaluation 23 of 26 is such a point: x agrees to 5e-13, f to 7e-7.)
So L-BFGS runs are compared at 1e-6 after 25 iterations.

Every stochastic fit runs the C++ epoch loop (dense and sparse X alike); its Python oracle
is compared with it in tests/test_epoch_loop.py.
"""
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.datasets import (  # noqa: E402
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.utils.class_weight import compute_sample_weight  # noqa: E402
from sklearn.utils.fixes import parse_version  # noqa: E402

import nnfast  # noqa: E402

if parse_version(sklearn.__version__) < parse_version("1.7"):
    pytest.skip("parity is checked against scikit-learn >= 1.7 (sample_weight, poisson)",
                allow_module_level=True)

RTOL = 1e-10
RTOL_LBFGS = 1e-6
RTOL_F32 = 1e-5

@pytest.fixture(autouse=True)
def _one_blas_thread():
    """scikit-learn's side multiplies with BLAS: one thread keeps its rounding fixed (and
    the run fast on a busy machine); nnfast's kernels are the same at any thread count."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        yield


# ---------------------------------------------------------------------------
# data and helpers
# ---------------------------------------------------------------------------

def _data(task, n=150, d=8, seed=0):
    if task == "binary":
        return make_classification(n_samples=n, n_features=d, n_informative=4, random_state=seed)
    if task == "multiclass":
        return make_classification(n_samples=n, n_features=d, n_informative=5, n_classes=3,
                                   random_state=seed)
    if task == "multilabel":
        return make_multilabel_classification(n_samples=n, n_features=d, n_classes=4,
                                              random_state=seed)
    if task == "strings":
        X, y = _data("multiclass", n, d, seed)
        return X, np.array(["ant", "bee", "cat"], dtype=object)[y]
    if task in ("regression", "multioutput"):
        X, y = make_regression(n_samples=n, n_features=d, n_informative=5, noise=5.0,
                               n_targets=1 if task == "regression" else 3, random_state=seed)
        return X, y / np.std(y, axis=0)
    if task == "poisson":
        rng = np.random.RandomState(seed)
        X = rng.standard_normal((n, d))
        return X, rng.poisson(np.exp(0.3 * X[:, 0] - 0.2 * X[:, 1] + 0.5)).astype(float)
    raise ValueError(task)


def _pair(task, **params):
    name = "MLPRegressor" if task in ("regression", "multioutput", "poisson") else "MLPClassifier"
    if task == "poisson":
        params.setdefault("loss", "poisson")
    return getattr(sk_nn, name)(**params), getattr(nnfast, name)(**params)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args, **kwargs)


def _assert_arrays(ours, theirs, rtol, what):
    assert len(ours) == len(theirs), what
    for i, (a, b) in enumerate(zip(ours, theirs)):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, f"{what}[{i}]"
        assert a.dtype == b.dtype, f"{what}[{i}] dtype {a.dtype} != {b.dtype}"
        scale = max(float(np.abs(b).max()), 1e-30)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=f"{what}[{i}]")


def _assert_same_model(ours, theirs, X, rtol=RTOL, stochastic=True):
    _assert_arrays(ours.coefs_, theirs.coefs_, rtol, "coefs_")
    _assert_arrays(ours.intercepts_, theirs.intercepts_, rtol, "intercepts_")
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.n_layers_ == theirs.n_layers_ and ours.n_outputs_ == theirs.n_outputs_
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=rtol)
    if stochastic:
        assert ours.t_ == theirs.t_
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol)
        if theirs.best_loss_ is None:
            assert ours.best_loss_ is None
        else:
            assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=rtol)
        if theirs.validation_scores_ is None:
            assert ours.validation_scores_ is None and ours.best_validation_score_ is None
        else:
            np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_,
                                       rtol=max(rtol, 1e-9))
            assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_,
                                                                rel=max(rtol, 1e-9))
        assert ours._no_improvement_count == theirs._no_improvement_count
        assert ours._optimizer.learning_rate == pytest.approx(theirs._optimizer.learning_rate,
                                                               rel=1e-12)
    pred_ours, pred_theirs = ours.predict(X), theirs.predict(X)
    assert pred_ours.dtype == pred_theirs.dtype and pred_ours.shape == pred_theirs.shape
    if hasattr(theirs, "predict_proba"):
        np.testing.assert_array_equal(pred_ours, pred_theirs)
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X),
                                   rtol=rtol * 100, atol=rtol)
    else:
        np.testing.assert_allclose(pred_ours, pred_theirs, rtol=rtol * 100,
                                   atol=rtol * np.abs(pred_theirs).max())


def _fit_both(task, fit_kw=None, rtol=RTOL, X=None, y=None, **params):
    """Fit scikit-learn's and nnfast's estimator on the same data, each with its own
    RandomState(seed); compare the models and where each left its random stream."""
    if X is None:
        X, y = _data(task)
    seed = params.pop("random_state", 0)
    ours_rs, theirs_rs = np.random.RandomState(seed), np.random.RandomState(seed)
    theirs, ours = _pair(task, **params)
    theirs.set_params(random_state=theirs_rs)
    ours.set_params(random_state=ours_rs)
    _quiet(theirs.fit, X, y, **(fit_kw or {}))
    _quiet(ours.fit, X, y, **(fit_kw or {}))
    _assert_same_model(ours, theirs, X, rtol, stochastic=params.get("solver", "adam") != "lbfgs")
    assert ours_rs.randint(2 ** 31) == theirs_rs.randint(2 ** 31), "random streams differ"
    return ours, theirs


SMALL = dict(hidden_layer_sizes=(7, 5), max_iter=8, batch_size=32, alpha=1e-3)
SGD_VARIANTS = {
    "sgd": dict(solver="sgd", momentum=0.0, nesterovs_momentum=False, learning_rate_init=0.05),
    "momentum": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False,
                     learning_rate_init=0.02),
    "nesterov": dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, learning_rate_init=0.02),
    "adam": dict(solver="adam", learning_rate_init=0.01),
}


# ---------------------------------------------------------------------------
# the stochastic solvers
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("solver", list(SGD_VARIANTS))
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression",
                                  "multioutput", "poisson"])
@pytest.mark.parametrize("shuffle", [True, False])
def test_stochastic_solvers_match_sklearn(solver, task, shuffle):
    _fit_both(task, shuffle=shuffle, **SMALL, **SGD_VARIANTS[solver])


@pytest.mark.parametrize("solver", ["nesterov", "adam"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression",
                                  "multioutput"])
def test_early_stopping_matches_sklearn(solver, task):
    """The stratified (or, multi-label, plain) split drawn from the shared random stream,
    the per-epoch validation scores, the stopping epoch and the best-weights restore."""
    params = {**SMALL, **SGD_VARIANTS[solver], "max_iter": 30, "n_iter_no_change": 3,
              "tol": 1e-3}
    ours, _ = _fit_both(task, early_stopping=True, validation_fraction=0.2, **params)
    assert len(ours.validation_scores_) == ours.n_iter_
    assert len(ours.validation_loss_curve_) == ours.n_iter_


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_learning_rate_schedules_match_sklearn(schedule, early_stopping):
    """invscaling's η₀ / (t+1)^power_t, and adaptive's division by 5 each time the tol rule
    fires (a large tol makes it fire several times within the run)."""
    params = dict(hidden_layer_sizes=(6,), solver="sgd", learning_rate=schedule,
                  learning_rate_init=0.2, power_t=0.3, batch_size=25, max_iter=40,
                  tol=5e-2 if schedule == "adaptive" else 1e-4, n_iter_no_change=2,
                  early_stopping=early_stopping)
    ours, theirs = _fit_both("multiclass", **params)
    if schedule == "adaptive":
        assert theirs._optimizer.learning_rate < 0.2  # the rule did fire


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_activations_match_sklearn(activation):
    _fit_both("multiclass", activation=activation, **SMALL, **SGD_VARIANTS["adam"])


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression", "multioutput"])
@pytest.mark.parametrize("solver", ["nesterov", "adam"])
def test_sample_weight_matches_sklearn(task, solver):
    X, y = _data(task)
    sw = np.random.RandomState(1).uniform(0.2, 3.0, size=X.shape[0])
    _fit_both(task, fit_kw={"sample_weight": sw}, **SMALL, **SGD_VARIANTS[solver])


def test_sample_weight_with_early_stopping_matches_sklearn():
    X, y = _data("multiclass")
    sw = np.random.RandomState(2).uniform(0.5, 2.0, size=X.shape[0])
    _fit_both("multiclass", fit_kw={"sample_weight": sw}, early_stopping=True, **SMALL,
              **SGD_VARIANTS["adam"])


def test_tol_rule_stops_at_the_same_epoch():
    ours, theirs = _fit_both("binary", hidden_layer_sizes=(5,), solver="sgd",
                             learning_rate_init=0.1, max_iter=300, tol=1e-3, n_iter_no_change=3)
    assert theirs.n_iter_ < 300  # it converged, by the rule, at the same epoch


def test_alpha_zero_and_large_match_sklearn():
    for alpha in (0.0, 0.5):
        _fit_both("multiclass", **{**SMALL, "alpha": alpha}, **SGD_VARIANTS["adam"])


def test_batch_size_larger_than_n_matches_sklearn():
    X, y = _data("binary", n=40)
    with pytest.warns(UserWarning, match="batch_size"):
        nnfast.MLPClassifier(batch_size=100, max_iter=2).partial_fit(X, y, classes=[0, 1])
    _fit_both("binary", X=X, y=y, batch_size=100, max_iter=5, hidden_layer_sizes=(4,))


def test_partial_fit_sequence_matches_sklearn():
    """The optimizer state (Adam's moments and step count) carries across calls; classes
    given once; batches of different sizes and label subsets."""
    X, y = _data("multiclass", n=180)
    for solver in ("nesterov", "adam"):
        params = dict(hidden_layer_sizes=(6,), random_state=0, batch_size=20,
                      **SGD_VARIANTS[solver])
        theirs, ours = _pair("multiclass", **params)
        for k, (start, stop) in enumerate([(0, 60), (60, 100), (100, 180), (0, 180)]):
            kw = {"classes": [0, 1, 2]} if k == 0 else {}
            theirs.partial_fit(X[start:stop], y[start:stop], **kw)
            ours.partial_fit(X[start:stop], y[start:stop], **kw)
            _assert_same_model(ours, theirs, X)
        if solver == "adam":
            assert ours._optimizer.t == theirs._optimizer.t


def test_partial_fit_regressor_matches_sklearn():
    X, y = _data("multioutput")
    theirs, ours = _pair("multioutput", hidden_layer_sizes=(5,), random_state=3,
                         solver="sgd", learning_rate="invscaling", learning_rate_init=0.05)
    for _ in range(4):
        theirs.partial_fit(X, y)
        ours.partial_fit(X, y)
    _assert_same_model(ours, theirs, X)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_warm_start_matches_sklearn(early_stopping):
    """A second fit continues from the first one's weights, loss curve, t_, best loss (or
    best validation score) and no-improvement count, with a fresh optimizer."""
    X, y = _data("multiclass")
    theirs, ours = _pair("multiclass", warm_start=True, random_state=0,
                         early_stopping=early_stopping, **{**SMALL, "max_iter": 5},
                         **SGD_VARIANTS["adam"])
    for max_iter in (5, 8):
        theirs.set_params(max_iter=max_iter)
        ours.set_params(max_iter=max_iter)
        _quiet(theirs.fit, X, y)
        _quiet(ours.fit, X, y)
        _assert_same_model(ours, theirs, X)
    assert len(ours.loss_curve_) == 13


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_matches_sklearn(fmt):
    import scipy.sparse as sp

    X, y = _data("multiclass")
    X[np.abs(X) < 0.8] = 0.0
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    _fit_both("multiclass", X=Xs, y=y, **SMALL, **SGD_VARIANTS["nesterov"])
    _fit_both("multiclass", X=Xs, y=y, early_stopping=True, **SMALL, **SGD_VARIANTS["adam"])
    _fit_both("multiclass", X=Xs, y=y, solver="lbfgs", hidden_layer_sizes=(5,), max_iter=15,
              rtol=RTOL_LBFGS)


def test_string_labels_and_dataframes_match_sklearn():
    pd = pytest.importorskip("pandas")
    X, y = _data("strings")
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    ours, theirs = _fit_both("strings", X=df, y=pd.Series(y), early_stopping=True, **SMALL,
                             **SGD_VARIANTS["adam"])
    np.testing.assert_array_equal(ours.feature_names_in_, theirs.feature_names_in_)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)


def test_class_weight_equals_sklearn_with_the_matching_sample_weight():
    """class_weight (an nnfast extra) is sample weights by class: 'balanced' and a dict give
    scikit-learn's model fitted with compute_sample_weight's weights."""
    X, y = _data("multiclass")
    y = np.where(np.arange(len(y)) % 5 == 0, 2, np.minimum(y, 1))  # unbalanced
    for class_weight in ("balanced", {0: 1.0, 1: 0.5, 2: 4.0}):
        theirs, _ = _pair("multiclass", random_state=0, **SMALL, **SGD_VARIANTS["adam"])
        ours = nnfast.MLPClassifier(random_state=0, class_weight=class_weight, **SMALL,
                                    **SGD_VARIANTS["adam"])
        _quiet(theirs.fit, X, y, sample_weight=compute_sample_weight(class_weight, y))
        _quiet(ours.fit, X, y)
        _assert_same_model(ours, theirs, X)


def test_float32_is_trained_in_float32_close_to_sklearn():
    for task in ("multiclass", "regression"):
        X, y = _data(task)
        X = X.astype(np.float32)
        ours, theirs = _fit_both(task, X=X, y=y, rtol=RTOL_F32, **SMALL, **SGD_VARIANTS["adam"])
        assert all(c.dtype == np.float32 for c in ours.coefs_ + ours.intercepts_)


# ---------------------------------------------------------------------------
# L-BFGS
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression",
                                  "multioutput", "poisson"])
def test_lbfgs_matches_sklearn(task):
    """scipy's L-BFGS-B with scikit-learn's options, on the kernel's loss and gradient
    (including scikit-learn's multi-output squared-error loss value, 1/n_outputs of the
    objective its gradient belongs to)."""
    ours, theirs = _fit_both(task, solver="lbfgs", hidden_layer_sizes=(6,), max_iter=25,
                             alpha=1e-3, rtol=RTOL_LBFGS)
    assert ours.n_iter_ == theirs.n_iter_


def test_lbfgs_with_sample_weight_and_max_fun_matches_sklearn():
    X, y = _data("multiclass")
    sw = np.random.RandomState(4).uniform(0.1, 2.0, size=X.shape[0])
    _fit_both("multiclass", fit_kw={"sample_weight": sw}, solver="lbfgs",
              hidden_layer_sizes=(6,), max_iter=200, max_fun=30, rtol=RTOL_LBFGS)


def test_lbfgs_objective_is_sklearns():
    """The (loss, gradient) L-BFGS minimises, at the same point, to float64 rounding."""
    X, y = _data("multioutput")
    theirs, ours = _pair("multioutput", solver="lbfgs", hidden_layer_sizes=(4,), max_iter=3,
                         alpha=0.1, random_state=0)
    _quiet(theirs.fit, X, y)
    _quiet(ours.fit, X, y)
    theta = np.hstack([p.ravel() for p in theirs.coefs_ + theirs.intercepts_])
    acts = [X] + [None] * 2
    grads_W = [np.empty_like(c) for c in theirs.coefs_]
    grads_b = [np.empty_like(b) for b in theirs.intercepts_]
    f_sk, g_sk = theirs._loss_grad_lbfgs(theta, X, y, None, acts, [None] * 2, grads_W, grads_b)
    f_nf, g_nf = ours._loss_grad_lbfgs(theta, X, y)
    assert f_nf == pytest.approx(f_sk, rel=1e-13)
    np.testing.assert_allclose(g_nf, g_sk, rtol=1e-12, atol=1e-14 * np.abs(g_sk).max())
