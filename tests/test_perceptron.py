"""nnfast.Perceptron: Rosenblatt's perceptron and the perceptron learning rule (slides 2-4)."""
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402

import nnfast  # noqa: E402
from nnfast.datasets import logic_gate  # noqa: E402
from nnfast.perceptron import Perceptron, step  # noqa: E402

#: AND and OR are learned within this many epochs from zero weights (any order, eta0).
EPOCH_BOUND = 10


def test_exported_lazily():
    assert nnfast.Perceptron is Perceptron
    code = "import sys, nnfast; assert 'sklearn' not in sys.modules; print('ok')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("gate", ["and", "or"])
@pytest.mark.parametrize("shuffle, seed", [(False, None), (True, 0), (True, 1), (True, 7)])
@pytest.mark.parametrize("eta0", [1.0, 0.1])
def test_learns_and_or_to_100_percent_within_bound(gate, shuffle, seed, eta0):
    X, y = logic_gate(gate)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        p = Perceptron(eta0=eta0, shuffle=shuffle, random_state=seed).fit(X, y)
    assert p.converged_
    assert p.n_iter_ <= EPOCH_BOUND
    assert p.errors_[-1] == 0 and all(e > 0 for e in p.errors_[:-1])
    assert len(p.errors_) == p.n_iter_
    assert p.score(X, y) == 1.0
    assert_array_equal(p.predict(X), y)
    assert p.coef_.shape == (1, 2) and p.intercept_.shape == (1,)
    # the decision rule is the step of x·w + b
    assert_array_equal(step(X @ p.coef_[0] + p.intercept_[0]), y)


def test_xor_is_reported_not_converged():
    X, y = logic_gate("xor")
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        p = Perceptron(max_iter=50, random_state=0).fit(X, y)
    assert p.converged_ is False
    assert p.n_iter_ == 50
    assert all(e > 0 for e in p.errors_)
    assert p.score(X, y) < 1.0


def test_update_rule_step_by_step_on_one_epoch():
    # AND, eta = 0.5, examples in order, zero start. By hand:
    #   (0,0) y=0: z=0  -> ŷ=1, w += .5*(-1)*(0,0) = (0,0),  b = -0.5
    #   (0,1) y=0: z=-.5 -> ŷ=0, no change
    #   (1,0) y=0: z=-.5 -> ŷ=0, no change
    #   (1,1) y=1: z=-.5 -> ŷ=0, w += .5*(+1)*(1,1) = (.5,.5), b = 0
    X, y = logic_gate("and")
    with pytest.warns(ConvergenceWarning):
        p = Perceptron(eta0=0.5, max_iter=1, shuffle=False).fit(X, y)
    assert_allclose(p.coef_, [[0.5, 0.5]])
    assert_allclose(p.intercept_, [0.0])
    assert p.errors_ == [2] and p.n_iter_ == 1 and not p.converged_
    # the same epoch written out as the rule, for any data and rate
    rng = np.random.RandomState(3)
    Xr = rng.randn(12, 3)
    yr = (rng.rand(12) > 0.5).astype(int)
    eta = 0.3
    w, b = np.zeros(3), 0.0
    for x, t in zip(Xr, yr):
        y_hat = 1.0 if x @ w + b >= 0 else 0.0
        w, b = w + eta * (t - y_hat) * x, b + eta * (t - y_hat)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        p = Perceptron(eta0=eta, max_iter=1, shuffle=False).fit(Xr, yr)
    assert_allclose(p.coef_[0], w)
    assert_allclose(p.intercept_[0], b)


def test_learns_and_in_known_number_of_epochs():
    # eta = 1, in order, from zero: epoch 1 ends at w=(1,1), b=0 (2 mistakes),
    # then the rule settles; it must take at most EPOCH_BOUND epochs.
    X, y = logic_gate("and")
    p = Perceptron(shuffle=False).fit(X, y)
    assert p.n_iter_ <= EPOCH_BOUND and p.converged_
    z = X @ p.coef_[0] + p.intercept_[0]
    assert np.all((z >= 0) == (y == 1))


def test_any_two_labels_and_seeded_shuffle():
    X, y = logic_gate("or")
    labels = np.where(y == 1, "yes", "no")
    p = Perceptron(random_state=0).fit(X, labels)
    assert_array_equal(p.classes_, ["no", "yes"])
    assert_array_equal(p.predict(X), labels)
    q = Perceptron(random_state=0).fit(X, labels)
    assert_array_equal(p.coef_, q.coef_) and p.errors_ == q.errors_
    pm = Perceptron(random_state=0).fit(X, np.where(y == 1, 5, -5))
    assert_array_equal(pm.predict(X), np.where(y == 1, 5, -5))
    # a linearly separable cloud in 5-D, integer labels
    rng = np.random.RandomState(0)
    Xc = rng.randn(200, 5)
    yc = (Xc @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.3 > 0).astype(int)
    pc = Perceptron(max_iter=1000, random_state=0).fit(Xc, yc)
    assert pc.converged_ and pc.score(Xc, yc) == 1.0


@pytest.mark.parametrize("X, y, exc, match", [
    ([[0, 0], [1, 1]], [0, 0], ValueError, "exactly 2 classes"),
    ([[0, 0], [1, 1], [2, 2]], [0, 1, 2], ValueError, "exactly 2 classes"),
    ([[0, np.nan], [1, 1]], [0, 1], ValueError, "NaN"),
    ([[0, np.inf], [1, 1]], [0, 1], ValueError, "infinity"),
    ([[0, 0], [1, 1]], [0.5, 1.5], ValueError, "continuous|Unknown label"),
    ([[0, 0], [1, 1]], [0, 1, 1], ValueError, "inconsistent"),
    ([0, 1], [0, 1], ValueError, "2D"),
    ([["a", "b"], ["c", "d"]], [0, 1], ValueError, "float|string"),
])
def test_bad_input_errors(X, y, exc, match):
    with pytest.raises(exc, match=match):
        Perceptron().fit(X, y)


@pytest.mark.parametrize("params, match", [
    ({"eta0": 0}, "eta0"), ({"eta0": -1.0}, "eta0"), ({"max_iter": 0}, "max_iter"),
    ({"max_iter": 2.5}, "max_iter"), ({"shuffle": "yes"}, "shuffle"),
])
def test_bad_parameters(params, match):
    X, y = logic_gate("and")
    with pytest.raises(ValueError, match=match):
        Perceptron(**params).fit(X, y)


def test_predict_errors():
    X, y = logic_gate("and")
    with pytest.raises(NotFittedError):
        Perceptron().predict(X)
    p = Perceptron().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        p.predict(np.zeros((2, 3)))


def test_sklearn_clone_and_params():
    from sklearn.base import clone

    p = Perceptron(eta0=0.2, max_iter=7, shuffle=False, random_state=3)
    assert clone(p).get_params() == p.get_params()
    assert p.get_params() == {"eta0": 0.2, "max_iter": 7, "shuffle": False, "random_state": 3}


# ---------------------------------------------------------------------------
# Logistic regression = one sigmoid neuron = MLPClassifier(hidden_layer_sizes=())
# ---------------------------------------------------------------------------

def _logistic(solver):
    kw = dict(hidden_layer_sizes=(), activation="logistic", solver=solver, alpha=0.0,
              random_state=0, max_iter=2000)
    if solver == "sgd":
        kw.update(learning_rate_init=1.0, batch_size=4, momentum=0.0, tol=1e-8,
                  n_iter_no_change=2000)
    return nnfast.MLPClassifier(**kw)


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
@pytest.mark.parametrize("gate", ["and", "or"])
def test_logistic_regression_solves_and_or(solver, gate):
    import warnings

    X, y = logic_gate(gate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = _logistic(solver).fit(X, y)
    assert [W.shape for W in clf.coefs_] == [(2, 1)]  # no hidden layer: one neuron
    assert clf.out_activation_ == "logistic"
    assert clf.score(X, y) == 1.0
    # the neuron: P(y=1|x) = σ(x·w + b)
    z = X @ clf.coefs_[0][:, 0] + clf.intercepts_[0][0]
    assert_allclose(clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-10)


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_logistic_regression_fails_xor(solver):
    import warnings

    X, y = logic_gate("xor")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = _logistic(solver).fit(X, y)
    assert clf.score(X, y) <= 0.75


def test_logistic_gradients_equal_the_lecture_formulas():
    # slide 23: L = -(y log a + (1-y) log(1-a)), dL/dw = (a - y) x, dL/db = a - y
    rng = np.random.RandomState(0)
    X = rng.randn(6, 2)
    y = (rng.rand(6) > 0.5).astype(float)
    W = [rng.randn(2, 1)]
    b = [rng.randn(1)]
    a = 1 / (1 + np.exp(-(X @ W[0][:, 0] + b[0][0])))
    for i in range(X.shape[0]):  # one example at a time
        J, dW, db = nnfast.loss_and_gradients(X[i:i + 1], y[i:i + 1], W, b,
                                              out_activation="sigmoid")
        assert_allclose(J, -(y[i] * np.log(a[i]) + (1 - y[i]) * np.log(1 - a[i])), rtol=1e-12)
        assert_allclose(dW[0][:, 0], (a[i] - y[i]) * X[i], rtol=1e-12, atol=1e-15)
        assert_allclose(db[0], [a[i] - y[i]], rtol=1e-12, atol=1e-15)
    # the batch: J = (1/m) Σ L(i), so the gradients are the means (slide 33)
    J, dW, db = nnfast.loss_and_gradients(X, y, W, b, out_activation="sigmoid")
    assert_allclose(dW[0][:, 0], ((a - y)[:, None] * X).mean(axis=0), rtol=1e-12)
    assert_allclose(db[0], [(a - y).mean()], rtol=1e-12)
    Jr, dWr, dbr = nnfast.reference.loss_and_gradients(X, y, W, b, out_activation="sigmoid")
    assert_allclose(J, Jr, rtol=1e-12)
    assert_allclose(dW[0], dWr[0], rtol=1e-12)
