"""Numerical stability on the functional API: logits of ±1e4, saturated sigmoid/tanh
networks, probabilities of exactly 0 and 1 in the losses, a single class, constant features,
and a learning rate that diverges.

Nothing here may return NaN or inf silently. A run that diverges must stop with a clear
exception (or warning) naming the cause and the remedy, as scikit-learn does ("Solver
produced non-finite parameter weights"), and must never hand back non-finite weights.
"""
import re
import warnings

import numpy as np
import pytest
from conftest import RTOL, assert_close, rerun_under_isa

import nnfast
import nnfast.reference as ref


def _all_finite(arrays):
    return all(np.all(np.isfinite(a)) for a in arrays)


# ---------------------------------------------------------------------------------------------
# Extreme logits
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("head", ["logistic", "softmax"])
def test_logits_of_1e4_through_the_network(head, dtype):
    """A one-layer network whose logits are ±1e4 (and 0): probabilities exactly 0 and 1, yet
    J, A and every gradient finite and equal to the reference's."""
    X = np.array([[1.0], [-1.0], [0.0], [0.5]], dtype)
    W = np.array([[1e4, -1e4]], dtype)
    b = np.zeros(2, dtype)
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype)  # half of them maximally wrong
    with np.errstate(all="raise"):  # no overflow or invalid operation in NumPy either
        P = nnfast.predict(X, [W], [b], out_activation=head)
    assert np.all(np.isfinite(P)) and np.all((P >= 0) & (P <= 1))
    if head == "softmax":
        np.testing.assert_allclose(P.sum(axis=1), 1, atol=1e-6)
    assert P[0, 0] == 1 and P[1, 0] == 0
    J, dWs, dbs = nnfast.loss_and_gradients(X, Y, [W], [b], out_activation=head)
    J_ref, dWs_ref, dbs_ref = ref.loss_and_gradients(X, Y, [W], [b], out_activation=head)
    assert np.isfinite(J) and _all_finite(dWs + dbs)
    assert J == pytest.approx(J_ref, rel=10 * RTOL[dtype])
    assert J > 1e3  # the wrong rows cost about |z| each, not log(0) = inf
    for g, w in zip(dWs + dbs, dWs_ref + dbs_ref):
        assert_close(g, w, dtype)


@pytest.mark.parametrize("head", ["logistic", "softmax"])
def test_output_loss_with_probabilities_exactly_0_and_1(head, dtype):
    """z = ±1e4 gives A exactly 0 or 1: a right answer costs 0, a wrong one |z| (never
    log(0)), and dZ = (A - Y)/m stays finite."""
    Z = np.array([[1e4, -1e4], [1e4, -1e4], [-1e4, 1e4]], dtype)
    Y = np.array([[1, 0], [0, 1], [0, 1]], dtype)
    J, A, dZ = nnfast.output_loss(Z, Y, head)
    assert set(np.unique(A)) <= {0.0, 1.0}
    assert np.all(np.isfinite(dZ))
    # The one wrong row costs 2e4: 1e4 per wrong column (logistic), lse - z_y (softmax).
    assert J == pytest.approx(2e4 / 3, rel=1e-6)
    J_right, _, dZ_right = nnfast.output_loss(Z[[0, 2]], Y[[0, 2]], head)
    assert J_right == 0 and np.all(dZ_right == 0)


def test_loss_values_on_probabilities_exactly_0_and_1(dtype):
    """The loss functions on probabilities (binary / categorical cross-entropy) never take
    log(0): a certain right answer costs ~0, a certain wrong one a large finite amount."""
    A = np.array([[0.0, 1.0], [1.0, 0.0]], dtype)
    right = A.copy()
    wrong = 1 - A
    for fn in (nnfast.binary_cross_entropy, nnfast.categorical_cross_entropy):
        with np.errstate(divide="raise", invalid="raise"):
            good, bad = fn(A, right), fn(A, wrong)
        assert np.isfinite(good) and 0 <= good < 1e-5, (fn.__name__, good)
        assert np.isfinite(bad) and bad > 10, (fn.__name__, bad)


# ---------------------------------------------------------------------------------------------
# Accuracy of the vectorised math (csrc/nn/vmath.h) over its whole range
# ---------------------------------------------------------------------------------------------

def _dense_grid(dtype):
    """Every order of magnitude from 1e-30 to 1e3, both signs, densely, plus ±inf and 0."""
    mags = np.concatenate([np.geomspace(1e-30, 1e3, 200_001), np.linspace(0, 20, 100_001)])
    return np.concatenate([mags, -mags, [0.0, np.inf, -np.inf]]).astype(dtype)


@pytest.mark.parametrize("fn", ["tanh", "sigmoid"])
def test_activation_accuracy_over_the_whole_range(fn, dtype):
    """tanh and σ within a few ulp of the float64 / long-double value everywhere (float32: a
    rational tanh with no exp, float64: exp-based), exactly ±1 / 0 / 1 when saturated."""
    Z = _dense_grid(dtype)
    got = getattr(nnfast, fn)(Z)
    z = Z.astype(np.longdouble)
    want = np.tanh(z) if fn == "tanh" else 1 / (1 + np.exp(-z))
    eps = np.finfo(dtype).eps
    rel = np.abs(got.astype(np.longdouble) - want) / np.maximum(np.abs(want), np.finfo(dtype).tiny)
    assert rel.max() <= 8 * eps, (fn, float(rel.max() / eps), Z[np.argmax(rel)])
    if fn == "tanh":
        np.testing.assert_array_equal(got, -nnfast.tanh(-Z))  # odd, bit for bit
        saturated = np.abs(Z) >= (9 if dtype == np.float32 else 20)
        assert np.all(np.abs(got[saturated]) == 1)
    assert np.isnan(getattr(nnfast, fn)(np.array([np.nan], dtype))[0])


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
def test_accuracy_under_every_isa(isa):
    """The accuracy sweeps of this file again under each other ISA this CPU has: float32
    tanh has its own intrinsics on AVX2 and on AVX-512, everything else vectorises per ISA."""
    rerun_under_isa(__file__, isa, "accuracy and not every_isa")


def test_binary_cross_entropy_accuracy_over_the_whole_range(dtype):
    """The logistic head's loss, max(z, 0) - y z + log(1 + e^-|z|) with a vectorised log1p,
    against the same formula in long double, for logits from -1e3 to 1e3 and y in {0, 1}."""
    z = _dense_grid(dtype)
    z = z[np.isfinite(z)][::7].reshape(-1, 1)
    for y in (0.0, 1.0):
        Y = np.full_like(z, y)
        zl = z.astype(np.longdouble)
        per_row = np.maximum(zl, 0) - y * zl + np.log1p(np.exp(-np.abs(zl)))
        J, A, _ = nnfast.output_loss(z, Y, "logistic")
        assert J == pytest.approx(float(per_row.mean()), rel=8 * float(np.finfo(dtype).eps) * 16)
        # Row by row (sample weights take the per-row path): every loss, not just the sum.
        for i in range(0, len(z), len(z) // 50):
            Ji, _, _ = nnfast.output_loss(z[i:i + 1], Y[i:i + 1], "logistic")
            assert Ji == pytest.approx(float(per_row[i, 0]), rel=8 * float(np.finfo(dtype).eps),
                                       abs=float(np.finfo(dtype).tiny)), (float(z[i, 0]), y)
        np.testing.assert_allclose(A, 1 / (1 + np.exp(-zl)), rtol=8 * np.finfo(dtype).eps,
                                   atol=np.finfo(dtype).tiny)


@pytest.mark.parametrize("k", [2, 10, 1000])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 30.0, 300.0])
def test_categorical_cross_entropy_accuracy(k, scale, dtype):
    """The softmax head's loss and probabilities (vectorised exp and log over blocks of rows)
    against long double, for soft and one-hot targets; the weighted path (row by row) agrees."""
    rng = np.random.default_rng(k)
    Z = (scale * rng.standard_normal((130, k))).astype(dtype)
    Y = rng.random((130, k)).astype(dtype)
    Y[::2] = np.eye(k, dtype=dtype)[rng.integers(0, k, 65)]
    zl = Z.astype(np.longdouble)
    zmax = zl.max(axis=1, keepdims=True)
    lse = zmax + np.log(np.exp(zl - zmax).sum(axis=1, keepdims=True))
    per_row = (Y * (lse - zl)).sum(axis=1)
    eps = float(np.finfo(dtype).eps)
    J, A, dZ = nnfast.output_loss(Z, Y, "softmax")
    assert J == pytest.approx(float(per_row.mean()), rel=64 * eps)
    # exp(t) inherits t's rounding (t = z - max rounds to ulp(t)): relative error ~ |t| eps.
    want = np.exp(zl - lse)
    bound = eps * (16 + np.abs(zl - zmax)) * want + np.finfo(dtype).tiny
    assert np.all(np.abs(A - want) <= bound), float(np.max(np.abs(A - want) / bound))
    Jw, Aw, _ = nnfast.output_loss(Z, Y, "softmax", sample_weight=np.ones(130, dtype))
    assert Jw == pytest.approx(J, rel=64 * eps)
    np.testing.assert_allclose(Aw, A, rtol=4 * eps, atol=float(np.finfo(dtype).tiny))


# ---------------------------------------------------------------------------------------------
# Saturated hidden units
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ["logistic", "tanh"])
def test_saturated_hidden_units(activation, dtype):
    """Hidden pre-activations in the thousands: A is exactly 0/1 (or ±1), g'(Z) exactly 0, and
    forward, gradients and a short training run all stay finite and match the reference."""
    rng = np.random.default_rng(0)
    X = (1e3 * rng.standard_normal((40, 3))).astype(dtype)
    y = (X[:, 0] > 0).astype(dtype)
    Ws, bs = nnfast.init_params([3, 6, 1], activation, random_state=0, dtype=dtype)
    Ws = [Ws[0] * 100, Ws[1]]
    A = nnfast.forward(X, Ws, bs, activation, "logistic")
    lo = 0.0 if activation == "logistic" else -1.0
    assert np.mean((A[1] == lo) | (A[1] == 1.0)) > 0.9  # almost every unit is saturated
    J, dWs, dbs = nnfast.loss_and_gradients(X, y, Ws, bs, activation, "logistic")
    assert np.isfinite(J) and _all_finite(dWs + dbs)
    W_k, b_k, curve = nnfast.train(X, y, Ws, bs, learning_rate=0.1, batch_size=8, epochs=20,
                                   activation=activation, out_activation="logistic")
    W_r, b_r, curve_r = ref.train(X, y, Ws, bs, learning_rate=0.1, batch_size=8, epochs=20,
                                  activation=activation, out_activation="logistic")
    assert _all_finite(W_k + b_k + [curve])
    tol = {np.float64: 1e-9, np.float32: 1e-3}[dtype]
    np.testing.assert_allclose(curve, curve_r, rtol=tol)


# ---------------------------------------------------------------------------------------------
# A single class, constant features
# ---------------------------------------------------------------------------------------------

def test_single_output_softmax_is_certain_and_learns_nothing(dtype):
    """Softmax over one class: p = 1 for every row, J = 0, every gradient exactly 0, so
    training leaves the weights as they were (alpha = 0)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4)).astype(dtype)
    Y = np.ones((30, 1), dtype)
    Ws, bs = nnfast.init_params([4, 5, 1], random_state=0, dtype=dtype)
    assert np.all(nnfast.predict(X, Ws, bs) == 1)
    J, dWs, dbs = nnfast.loss_and_gradients(X, Y, Ws, bs)
    assert J == 0 and all(np.all(g == 0) for g in dWs + dbs)
    W2, b2, curve = nnfast.train(X, Y, Ws, bs, learning_rate=0.5, batch_size=7, epochs=10)
    assert np.all(curve == 0)
    for a, b in zip(W2 + b2, Ws + bs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("head", ["softmax", "logistic"])
def test_every_label_the_same_class(head, dtype):
    """y holds one class only (softmax over 3 classes, all class 0; logistic, all 1): even
    with a large step the logits grow without bound, the loss goes to 0 and nothing becomes
    NaN; the predictions are that class."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 4)).astype(dtype)
    k = 3 if head == "softmax" else 1
    Y = np.zeros((50, k), dtype)
    Y[:, 0] = 1
    Ws, bs = nnfast.init_params([4, 8, k], random_state=0, dtype=dtype)
    W2, b2, curve = nnfast.train(X, Y, Ws, bs, learning_rate=5.0, batch_size=10, epochs=300,
                                 activation="relu", out_activation=head)
    assert _all_finite(W2 + b2 + [curve])
    assert curve[-1] < curve[0] and curve[-1] < 1e-2
    P = nnfast.predict(X, W2, b2, "relu", head)
    assert np.all(np.isfinite(P)) and np.all(P[:, 0] > 0.99)


@pytest.mark.parametrize("value", [0.0, 7.0, -1e3])
def test_constant_features(value, dtype):
    """Every feature constant (all zero, a constant, a large negative constant): the rows are
    indistinguishable, training stays finite, predictions are one value for all rows; with
    X = 0 the first layer's weight gradient is exactly zero."""
    X = np.full((24, 3), value, dtype)
    y = (np.arange(24) % 2).astype(dtype)
    Ws, bs = nnfast.init_params([3, 5, 1], "tanh", random_state=0, dtype=dtype)
    J, dWs, dbs = nnfast.loss_and_gradients(X, y, Ws, bs, "tanh", "logistic")
    assert np.isfinite(J) and _all_finite(dWs + dbs)
    if value == 0:
        assert np.all(dWs[0] == 0)
    W2, b2, curve = nnfast.train(X, y, Ws, bs, learning_rate=0.1, batch_size=8, epochs=50,
                                 activation="tanh", out_activation="logistic")
    assert _all_finite(W2 + b2 + [curve])
    P = nnfast.predict(X, W2, b2, "tanh", "logistic")
    assert np.ptp(P) == 0
    if value == 0:  # the best constant answer: the class balance
        assert abs(float(P[0, 0]) - 0.5) < 0.1


# ---------------------------------------------------------------------------------------------
# A learning rate that diverges
# ---------------------------------------------------------------------------------------------

def _diverging_run(case):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    if case == "identity-lr1e6":
        Y, head, lr, sizes = 3 * X[:, :1], "identity", 1e6, [4, 8, 1]
    elif case == "logistic-lr1e6":
        Y, head, lr, sizes = (X[:, :1] > 0).astype(float), "logistic", 1e6, [4, 8, 1]
    elif case == "softmax-lr1e6":
        Y, head, lr, sizes = np.eye(3)[rng.integers(0, 3, 50)], "softmax", 1e6, [4, 8, 3]
    elif case == "identity-float32-huge-inputs":
        X = (1e15 * X).astype(np.float32)
        Y, head, lr, sizes = X[:, :1] * 0, "identity", 0.01, [4, 8, 1]
    else:
        raise AssertionError(case)
    Y = Y.astype(X.dtype)
    Ws, bs = nnfast.init_params(sizes, "relu", random_state=0, dtype=X.dtype)
    return X, Y, Ws, bs, dict(learning_rate=lr, batch_size=10, epochs=10, activation="relu",
                              out_activation=head)


DIVERGING = ["identity-lr1e6", "logistic-lr1e6", "softmax-lr1e6", "identity-float32-huge-inputs"]
CAUSE = re.compile(r"diverg|non-finite|not finite|\binf\b|\bnan\b", re.IGNORECASE)
REMEDY = re.compile(r"learning.rate", re.IGNORECASE)


@pytest.mark.parametrize("case", DIVERGING)
def test_diverging_training_is_reported_never_silent(case):
    """Today nnfast.train returns NaN/inf weights and loss without a word. Wanted: a clear
    exception (or warning) naming the cause (divergence, a non-finite loss) and the remedy
    (the learning rate); when it warns instead, what it returns is finite (the last good
    weights), and the caller's arrays are untouched either way."""
    X, Y, Ws, bs, kw = _diverging_run(case)
    given = [a.copy() for a in Ws + bs]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            W2, b2, curve = nnfast.train(X, Y, Ws, bs, **kw)
        except (ValueError, ArithmeticError, RuntimeError) as e:
            msg = str(e)
            assert CAUSE.search(msg) and REMEDY.search(msg), f"unclear message: {msg!r}"
            raised = True
        else:
            raised = False
    for a, b in zip(Ws + bs, given):
        np.testing.assert_array_equal(a, b)
    if raised:
        return
    messages = [str(w.message) for w in caught]
    assert any(CAUSE.search(m) and REMEDY.search(m) for m in messages), (
        f"training diverged silently: loss curve {curve}, warnings {messages}")
    assert _all_finite(W2 + b2), "returned non-finite weights"
    assert np.all(np.isfinite(nnfast.predict(X, W2, b2, "relu", kw["out_activation"])))


def test_the_same_data_trains_with_a_sane_learning_rate():
    """After a diverged run nothing is left broken: the same call with a small step works."""
    X, Y, Ws, bs, kw = _diverging_run("identity-lr1e6")
    W2, b2, curve = nnfast.train(X, Y, Ws, bs, **{**kw, "learning_rate": 1e-2, "epochs": 30})
    assert _all_finite(W2 + b2 + [curve]) and curve[-1] < curve[0]


def test_large_but_finite_steps_are_not_called_divergence():
    """No false alarm: separable data with a large step drives the logits to hundreds (the
    loss towards 0) without any non-finite value; that is convergence, not divergence."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(float)
    Ws, bs = nnfast.init_params([2, 1], random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        W2, b2, curve = nnfast.train(X, y, Ws, bs, learning_rate=50.0, batch_size=60, epochs=500,
                                     out_activation="logistic")
    assert _all_finite(W2 + b2 + [curve]) and curve[-1] < 0.05
