"""Tests of the pure-NumPy oracle, nnfast.reference.

The C++ kernels are checked against this module, so it must itself be right:
here it is compared only with things that do not come from it — the lecture's
numbers and slide formulas, central finite differences, SciPy's special
functions, hand-written loops, and scikit-learn's MLP.
"""
import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from scipy.special import softmax as scipy_softmax

from nnfast import reference as ref

HIDDEN = ["identity", "logistic", "tanh", "relu", "leaky_relu"]
OUTPUTS = ["identity", "logistic", "softmax"]

# The lecture's Boolean functions (slides 2-3), one example per row.
BOOL_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
BOOL_Y = {
    "and": np.array([0.0, 0.0, 0.0, 1.0]),
    "or": np.array([0.0, 1.0, 1.0, 1.0]),
    "xor": np.array([0.0, 1.0, 1.0, 0.0]),
}


def _targets(out_activation, m, k, rng):
    if out_activation == "softmax":
        return np.eye(k)[rng.integers(0, k, m)]
    if out_activation == "logistic":
        return rng.integers(0, 2, (m, k)).astype(np.float64)
    return rng.normal(size=(m, k))


def _hidden_g(name, Z, slope=0.01):
    # Written out here rather than borrowed from ref, so a wrong activation in
    # ref cannot cancel out of a comparison.
    return {
        "identity": lambda z: z,
        "logistic": expit,
        "tanh": np.tanh,
        "relu": lambda z: np.where(z > 0, z, 0.0),
        "leaky_relu": lambda z: np.where(z > 0, z, slope * z),
    }[name](Z)


def _copy_params(Ws, bs):
    return [W.copy() for W in Ws], [b.copy() for b in bs]


# ---------------------------------------------------------------------------
# Softmax (slides 19-21)
# ---------------------------------------------------------------------------

def test_softmax_matches_lecture_example():
    # Slide 21 prints 4 decimals (0.1165 and 0.0157 are truncated, the exact
    # values being 0.11659... and 0.01577...), hence 2e-4 rather than 5e-5.
    a = ref.softmax(np.array([7.0, 5.0, 2.0, -1.0, 3.0]))
    assert_allclose(a, [0.8615, 0.1165, 0.0058, 0.0003, 0.0157], atol=2e-4)
    # Slide 21's a_1 = 1096.63 / 1272.93, a ratio of rounded exponentials (the
    # exact sum is 1272.90), so it agrees only to about 3e-5.
    assert a[0] == pytest.approx(1096.63 / 1272.93, abs=1e-4)


def test_softmax_matches_scipy_rows_sum_to_one_and_shift_invariant():
    rng = np.random.default_rng(0)
    Z = rng.normal(scale=3.0, size=(8, 5))
    A = ref.softmax(Z)
    assert A.shape == Z.shape
    assert_allclose(A, scipy_softmax(Z, axis=1), rtol=1e-13, atol=1e-16)
    assert_allclose(A.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    shift = rng.normal(scale=50.0, size=(8, 1))
    assert_allclose(ref.softmax(Z + shift), A, rtol=1e-12, atol=1e-15)


def test_softmax_huge_logits_do_not_overflow():
    Z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        A = ref.softmax(Z)
    assert np.isfinite(A).all()
    assert_allclose(A, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0]], atol=1e-15)


# ---------------------------------------------------------------------------
# Activations (slide 18) and their derivatives (slides 27, 31)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("activation", HIDDEN)
def test_activation_forward_matches_independent_formula(activation):
    rng = np.random.default_rng(1)
    Z = rng.normal(scale=3.0, size=(4, 6))
    assert_allclose(ref.activation_forward(Z, activation), _hidden_g(activation, Z),
                    rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("slope", [0.01, 0.3])
def test_activation_derivative_matches_finite_differences(activation, slope):
    rng = np.random.default_rng(2)
    Z = rng.normal(scale=2.0, size=(5, 7))
    # Keep away from the ReLU kink, where the central difference is meaningless.
    Z = np.where(np.abs(Z) < 1e-2, 0.5, Z)
    h = 1e-6
    fd = (ref.activation_forward(Z + h, activation, slope)
          - ref.activation_forward(Z - h, activation, slope)) / (2 * h)
    A = ref.activation_forward(Z, activation, slope)
    assert_allclose(ref.activation_derivative(A, activation, slope), fd, rtol=1e-7, atol=1e-9)
    # activation_backward is the chain rule dA ∘ g'(Z).
    dA = rng.normal(size=Z.shape)
    assert_allclose(ref.activation_backward(dA, A, activation, slope), dA * fd,
                    rtol=1e-7, atol=1e-9)


def test_sigmoid_is_stable_for_huge_inputs():
    z = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            a = ref.sigmoid(z)
    assert np.isfinite(a).all()
    assert a[0] == 0.0 and a[-1] == 1.0
    assert a[2] == 0.5
    assert_allclose(a, expit(z), rtol=1e-15, atol=0)


def test_sigmoid_float32_stays_float32():
    z = np.array([-100.0, 0.0, 3.0, 100.0], dtype=np.float32)
    a = ref.sigmoid(z)
    assert a.dtype == np.float32
    assert_allclose(a, expit(z.astype(np.float64)), rtol=1e-6, atol=1e-30)


# ---------------------------------------------------------------------------
# Losses and the fused output layer (slides 23-29, 33)
# ---------------------------------------------------------------------------

def test_unfused_losses_match_hand_formulas():
    rng = np.random.default_rng(3)
    m = 6
    P = expit(rng.normal(size=(m, 2)))
    Yb = rng.integers(0, 2, (m, 2)).astype(float)
    assert ref.binary_cross_entropy(P, Yb) == pytest.approx(
        -np.sum(Yb * np.log(P) + (1 - Yb) * np.log(1 - P)) / m, rel=1e-13)
    S = scipy_softmax(rng.normal(size=(m, 4)), axis=1)
    Yc = np.eye(4)[rng.integers(0, 4, m)]
    assert ref.categorical_cross_entropy(S, Yc) == pytest.approx(
        -np.sum(np.log(S[Yc == 1])) / m, rel=1e-13)
    R, T = rng.normal(size=(m, 3)), rng.normal(size=(m, 3))
    assert ref.squared_error(R, T) == pytest.approx(0.5 * np.sum((R - T) ** 2) / m, rel=1e-13)


@pytest.mark.parametrize("out_activation", OUTPUTS)
def test_output_loss_equals_unfused_loss_and_dZ_is_A_minus_Y_over_m(out_activation):
    rng = np.random.default_rng(4)
    m, k = 7, 4
    Z = rng.normal(scale=2.0, size=(m, k))
    Y = _targets(out_activation, m, k, rng)
    J, A, dZ = ref.output_loss(Z, Y, out_activation)
    if out_activation == "identity":
        A_ind, J_ind = Z, ref.squared_error(Z, Y)
    elif out_activation == "logistic":
        A_ind = expit(Z)
        J_ind = ref.binary_cross_entropy(A_ind, Y)
    else:
        A_ind = scipy_softmax(Z, axis=1)
        J_ind = ref.categorical_cross_entropy(A_ind, Y)
    assert J == pytest.approx(J_ind, rel=1e-12)
    assert_allclose(A, A_ind, rtol=1e-13, atol=1e-16)
    assert_allclose(dZ, (A_ind - Y) / m, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("out_activation", OUTPUTS)
def test_output_loss_dZ_matches_finite_differences(out_activation):
    rng = np.random.default_rng(5)
    Z = rng.normal(size=(5, 3))
    Y = _targets(out_activation, 5, 3, rng)
    _, _, dZ = ref.output_loss(Z, Y, out_activation)
    h = 1e-6
    fd = np.empty_like(Z)
    for idx in np.ndindex(*Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[idx] += h
        Zm[idx] -= h
        fd[idx] = (ref.output_loss(Zp, Y, out_activation)[0]
                   - ref.output_loss(Zm, Y, out_activation)[0]) / (2 * h)
    assert_allclose(dZ, fd, rtol=1e-6, atol=1e-9)


def test_output_loss_is_stable_for_huge_logits():
    m = 2
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        # BCE of a confidently wrong logit z is |z| (max(z,0) - yz + log(1+e^-|z|)).
        J, A, dZ = ref.output_loss(np.array([[1e4], [-1e4]]), np.array([[0.0], [1.0]]), "logistic")
        assert J == pytest.approx(2 * 1e4 / m, rel=1e-15)
        assert_array_equal(A, [[1.0], [0.0]])
        assert_array_equal(dZ, [[0.5], [-0.5]])
        # Confidently right: the loss underflows to zero, not to NaN.
        J, _, _ = ref.output_loss(np.array([[1e4], [-1e4]]), np.array([[1.0], [0.0]]), "logistic")
        assert J == 0.0
        # Cross-entropy of the wrong class is logsumexp(z) - z_k = 1e4 - (-1e4).
        Z = np.array([[1e4, -1e4, 0.0], [0.0, 1e4, 0.0]])
        Y = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
        J, A, dZ = ref.output_loss(Z, Y, "softmax")
        assert J == pytest.approx(2e4 / m, rel=1e-15)
        assert np.isfinite(A).all() and np.isfinite(dZ).all()
        assert_allclose(dZ, (np.array([[1.0, 0, 0], [0, 1.0, 0]]) - Y) / m, atol=1e-300)


# ---------------------------------------------------------------------------
# Logistic regression = the [2, 1] network (slide 23)
# ---------------------------------------------------------------------------

def test_logistic_regression_gradient_single_example_matches_slide_23():
    w = np.array([[0.7], [-1.3]])
    b = np.array([0.2])
    x1, x2, y = 1.5, -0.5, 1.0
    a = 1.0 / (1.0 + math.exp(-(0.7 * x1 - 1.3 * x2 + 0.2)))
    J, (dW,), (db,) = ref.loss_and_gradients(np.array([[x1, x2]]), np.array([y]), [w], [b],
                                            "logistic", "logistic")
    assert J == pytest.approx(-(y * math.log(a) + (1 - y) * math.log(1 - a)), rel=1e-13)
    assert_allclose(dW[:, 0], [(a - y) * x1, (a - y) * x2], rtol=1e-13)
    assert db[0] == pytest.approx(a - y, rel=1e-13)


def test_logistic_regression_gradient_batch_is_mean_of_per_example():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(9, 2))
    y = rng.integers(0, 2, 9).astype(float)
    w, b = rng.normal(size=(2, 1)), rng.normal(size=1)
    a = expit(X @ w[:, 0] + b[0])
    _, (dW,), (db,) = ref.loss_and_gradients(X, y, [w], [b], "relu", "logistic")
    assert_allclose(dW[:, 0], np.mean((a - y)[:, None] * X, axis=0), rtol=1e-13)
    assert_allclose(db, [np.mean(a - y)], rtol=1e-13)


# ---------------------------------------------------------------------------
# Backprop against central finite differences, every activation pairing
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("out_activation", OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN)
def test_loss_and_gradients_match_finite_differences(activation, out_activation, alpha):
    rng = np.random.default_rng(7)
    sizes, m, slope = [5, 7, 4, 3], 6, 0.05
    X = rng.normal(size=(m, sizes[0]))
    Y = _targets(out_activation, m, sizes[-1], rng)
    Ws, bs = ref.init_params(sizes, activation, random_state=3)

    # A central difference across the ReLU kink is wrong by O(1); make sure no
    # hidden pre-activation is within reach of h, so a failure means a bug.
    A = X
    for W, b in zip(Ws[:-1], bs[:-1]):
        Z = A @ W + b
        assert np.abs(Z).min() > 1e-4
        A = _hidden_g(activation, Z, slope)

    J, dWs, dbs = ref.loss_and_gradients(X, Y, Ws, bs, activation, out_activation, alpha, slope)

    def cost(Ws_, bs_):
        return ref.loss_and_gradients(X, Y, Ws_, bs_, activation, out_activation, alpha, slope)[0]

    h = 1e-6
    for l in range(len(Ws)):
        for params, grads in ((Ws, dWs), (bs, dbs)):
            fd = np.empty_like(params[l])
            for idx in np.ndindex(*params[l].shape):
                plus, minus = [p.copy() for p in params], [p.copy() for p in params]
                plus[l][idx] += h
                minus[l][idx] -= h
                if params is Ws:
                    fd[idx] = (cost(plus, bs) - cost(minus, bs)) / (2 * h)
                else:
                    fd[idx] = (cost(Ws, plus) - cost(Ws, minus)) / (2 * h)
            assert grads[l].shape == params[l].shape
            assert_allclose(grads[l], fd, rtol=1e-6, atol=1e-8)


def test_l2_term_is_alpha_over_2m_times_sum_of_squared_weights():
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(5, 3)), np.eye(2)[rng.integers(0, 2, 5)]
    Ws, bs = ref.init_params([3, 4, 2], "tanh", random_state=0)
    J0, dW0, db0 = ref.loss_and_gradients(X, Y, Ws, bs, "tanh", "softmax", 0.0)
    J1, dW1, db1 = ref.loss_and_gradients(X, Y, Ws, bs, "tanh", "softmax", 0.7)
    penalty = 0.7 / (2 * 5) * sum(np.sum(W ** 2) for W in Ws)
    assert J1 - J0 == pytest.approx(penalty, rel=1e-12)
    for W, g0, g1 in zip(Ws, dW0, dW1):
        assert_allclose(g1 - g0, 0.7 / 5 * W, rtol=1e-10, atol=1e-15)
    for g0, g1 in zip(db0, db1):  # biases are not penalised
        assert_array_equal(g0, g1)


# ---------------------------------------------------------------------------
# Initialisation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation,factor", [("relu", 6.0), ("tanh", 6.0), ("logistic", 2.0)])
def test_init_params_shapes_dtype_and_glorot_bounds(dtype, activation, factor):
    sizes = [60, 40, 30, 2]
    Ws, bs = ref.init_params(sizes, activation, random_state=1, dtype=dtype)
    assert [W.shape for W in Ws] == [(60, 40), (40, 30), (30, 2)]
    assert [b.shape for b in bs] == [(40,), (30,), (2,)]
    assert all(p.dtype == dtype for p in Ws + bs)
    for W, b, fan_in, fan_out in zip(Ws, bs, sizes[:-1], sizes[1:]):
        bound = math.sqrt(factor / (fan_in + fan_out))
        assert np.abs(W).max() <= bound * (1 + 1e-6)
        assert np.abs(b).max() <= bound * (1 + 1e-6)
        if W.size >= 1000:
            # A uniform sample this large reaches close to both ends of its range,
            # which catches a bound drawn too small as well as too large.
            assert W.max() > 0.95 * bound and W.min() < -0.95 * bound


def test_init_params_is_seeded():
    a = ref.init_params([4, 5, 3], random_state=7)
    b = ref.init_params([4, 5, 3], random_state=np.random.RandomState(7))
    c = ref.init_params([4, 5, 3], random_state=8)
    for x, y in zip(a[0] + a[1], b[0] + b[1]):
        assert_array_equal(x, y)
    assert not np.array_equal(a[0][0], c[0][0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("sizes", [[2, 3, 1], [5, 7, 4, 3]])
def test_init_params_equals_sklearn_draws(sizes, activation, dtype):
    nn = pytest.importorskip("sklearn.neural_network")
    clf = nn.MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation=activation,
                           random_state=11)
    if not hasattr(clf, "_init_coef"):
        pytest.skip("this scikit-learn has no MLP._init_coef")
    # _fit sets _random_state this way and then calls _init_coef layer by layer.
    clf._random_state = np.random.RandomState(11)
    expected = [clf._init_coef(a, b, dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    Ws, bs = ref.init_params(sizes, activation, random_state=11, dtype=dtype)
    for W, b, (cW, cb) in zip(Ws, bs, expected):
        assert W.dtype == cW.dtype and b.dtype == cb.dtype
        assert_array_equal(W, cW)
        assert_array_equal(b, cb)


# ---------------------------------------------------------------------------
# Forward pass (slides 7-17)
# ---------------------------------------------------------------------------

def test_forward_shapes():
    rng = np.random.default_rng(9)
    sizes = [5, 7, 4, 3]
    Ws, bs = ref.init_params(sizes, random_state=0)
    acts = ref.forward(rng.normal(size=(6, 5)), Ws, bs, "relu", "softmax")
    assert [A.shape for A in acts] == [(6, n) for n in sizes]


def test_forward_equals_lecture_2_3_1_unit_by_unit():
    Ws, bs = ref.init_params([2, 3, 1], "logistic", random_state=0)
    W1, W2 = Ws
    b1, b2 = bs
    sig = lambda z: 1.0 / (1.0 + math.exp(-z))  # noqa: E731
    X = np.vstack([BOOL_X, [[0.3, -1.7]]])
    acts = ref.forward(X, Ws, bs, "logistic", "logistic")
    for i, (x1, x2) in enumerate(X):
        # Slides 7-9: unit j of layer 1 has z_j = w_1j x1 + w_2j x2 + b_j.
        a1 = [sig(W1[0, j] * x1 + W1[1, j] * x2 + b1[j]) for j in range(3)]
        # Slide 10: z^[2] = w_11 a_1 + w_21 a_2 + w_31 a_3 + b.
        y_hat = sig(W2[0, 0] * a1[0] + W2[1, 0] * a1[1] + W2[2, 0] * a1[2] + b2[0])
        assert_allclose(acts[1][i], a1, rtol=1e-14)
        assert acts[2][i, 0] == pytest.approx(y_hat, rel=1e-14)
    assert_array_equal(ref.predict(X, Ws, bs, "logistic", "logistic"), acts[-1])


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("out_activation", OUTPUTS)
def test_forward_matches_independent_numpy(activation, out_activation):
    rng = np.random.default_rng(10)
    X = rng.normal(size=(6, 5))
    Ws, bs = ref.init_params([5, 7, 4, 3], activation, random_state=1)
    A = X
    expected = [X]
    for l, (W, b) in enumerate(zip(Ws, bs)):
        Z = np.einsum("mi,ij->mj", A, W) + b
        if l < len(Ws) - 1:
            A = _hidden_g(activation, Z, 0.02)
        else:
            A = {"identity": Z, "logistic": expit(Z), "softmax": scipy_softmax(Z, axis=1)}[out_activation]
        expected.append(A)
    got = ref.forward(X, Ws, bs, activation, out_activation, 0.02)
    for g, e in zip(got, expected):
        assert_allclose(g, e, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------
# Backward pieces and the update rule
# ---------------------------------------------------------------------------

def test_linear_backward_matches_explicit_sums():
    rng = np.random.default_rng(11)
    m, n_in, n_out = 4, 3, 5
    dZ, A_prev, W = rng.normal(size=(m, n_out)), rng.normal(size=(m, n_in)), rng.normal(size=(n_in, n_out))
    dA_prev, dW, db = ref.linear_backward(dZ, A_prev, W)
    e_dA = np.array([[sum(dZ[r, j] * W[i, j] for j in range(n_out)) for i in range(n_in)] for r in range(m)])
    e_dW = np.array([[sum(A_prev[r, i] * dZ[r, j] for r in range(m)) for j in range(n_out)]
                     for i in range(n_in)])
    e_db = np.array([sum(dZ[r, j] for r in range(m)) for j in range(n_out)])
    assert_allclose(dA_prev, e_dA, rtol=1e-13, atol=1e-15)
    assert_allclose(dW, e_dW, rtol=1e-13, atol=1e-15)
    assert_allclose(db, e_db, rtol=1e-13, atol=1e-15)


def test_matmul_transposes():
    rng = np.random.default_rng(12)
    A, B = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    assert_allclose(ref.matmul(A, B), np.einsum("ik,kj->ij", A, B), rtol=1e-13)
    assert_allclose(ref.matmul(A.T.copy(), B, transpose_a=True), np.einsum("ik,kj->ij", A, B), rtol=1e-13)
    assert_allclose(ref.matmul(A, B.T.copy(), transpose_b=True), np.einsum("ik,kj->ij", A, B), rtol=1e-13)
    assert_allclose(ref.matmul(A.T.copy(), B.T.copy(), True, True), np.einsum("ik,kj->ij", A, B), rtol=1e-13)


def test_backward_single_example_matches_slides_28_to_32():
    Ws, bs = ref.init_params([2, 3, 1], "logistic", random_state=4)
    x, y = np.array([0.8, -0.4]), 1.0
    acts = ref.forward(x[None, :], Ws, bs, "logistic", "logistic")
    a1, a2 = acts[1][0], acts[2][0, 0]
    dWs, dbs = ref.backward(acts, np.array([[a2 - y]]), Ws, "logistic")
    w2 = Ws[1][:, 0]
    # Slide 28: ∂L/∂W[2] = (a[2] - y) a[1];  slide 29: ∂L/∂b[2] = a[2] - y.
    assert_allclose(dWs[1][:, 0], (a2 - y) * a1, rtol=1e-13)
    assert dbs[1][0] == pytest.approx(a2 - y, rel=1e-13)
    # Slide 32: ∂L/∂W[1] = (W[2] ∘ g'(z[1])) (a[2] - y) xᵀ, stored here as x (...)ᵀ.
    delta1 = w2 * a1 * (1 - a1) * (a2 - y)
    assert_allclose(dWs[0], np.outer(x, delta1), rtol=1e-13)
    assert_allclose(dbs[0], delta1, rtol=1e-13)


def test_sgd_step_is_w_minus_lr_grad_and_leaves_inputs_alone():
    rng = np.random.default_rng(13)
    Ws, bs = ref.init_params([3, 4, 2], random_state=0)
    gW = [rng.normal(size=W.shape) for W in Ws]
    gb = [rng.normal(size=b.shape) for b in bs]
    before = [p.copy() for p in Ws + bs + gW + gb]
    newW, newb = ref.sgd_step(Ws, bs, gW, gb, 0.25)
    for W, g, n in zip(Ws, gW, newW):
        assert_allclose(n, W - 0.25 * g, rtol=1e-15)
    for b, g, n in zip(bs, gb, newb):
        assert_allclose(n, b - 0.25 * g, rtol=1e-15)
    for p, q in zip(Ws + bs + gW + gb, before):
        assert_array_equal(p, q)


# ---------------------------------------------------------------------------
# Training loop (slide 33)
# ---------------------------------------------------------------------------

def _problem(m=10, d=3, k=3, seed=14):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, d))
    Y = np.eye(k)[rng.integers(0, k, m)]
    return X, Y


def test_train_full_batch_one_epoch_is_one_gradient_step():
    X, Y = _problem()
    Ws, bs = ref.init_params([3, 5, 3], "tanh", random_state=0)
    J, dWs, dbs = ref.loss_and_gradients(X, Y, Ws, bs, "tanh", "softmax", 0.1)
    eW, eb = ref.sgd_step(Ws, bs, dWs, dbs, 0.3)
    tW, tb, curve = ref.train(X, Y, Ws, bs, learning_rate=0.3, batch_size=len(X), epochs=1,
                              activation="tanh", out_activation="softmax", alpha=0.1)
    assert curve.shape == (1,)
    assert curve[0] == pytest.approx(J, rel=1e-14)
    for a, b in zip(tW + tb, eW + eb):
        assert_allclose(a, b, rtol=1e-14, atol=1e-16)


def _manual_train(X, Y, Ws, bs, lr, batch_size, orders, activation, out_activation, alpha):
    curve = []
    for rows in orders:
        total = 0.0
        for s in range(0, len(rows), batch_size):
            idx = rows[s:s + batch_size]
            J, dW, db = ref.loss_and_gradients(X[idx], Y[idx], Ws, bs, activation, out_activation, alpha)
            Ws = [W - lr * g for W, g in zip(Ws, dW)]
            bs = [b - lr * g for b, g in zip(bs, db)]
            total += J * len(idx)
        curve.append(total / len(rows))
    return Ws, bs, np.array(curve)


@pytest.mark.parametrize("order_kind", ["none", "1d", "2d", "subset"])
def test_train_equals_manual_minibatch_loop(order_kind):
    X, Y = _problem(m=11)
    epochs, bsz = 4, 3  # 11 rows in batches of 3: the last batch is smaller
    rng = np.random.default_rng(15)
    if order_kind == "none":
        order, orders = None, [np.arange(11)] * epochs
    elif order_kind == "1d":
        order = rng.permutation(11)
        orders = [order] * epochs
    elif order_kind == "2d":
        order = np.array([rng.permutation(11) for _ in range(epochs)])
        orders = list(order)
    else:  # repeated and missing rows are allowed: n need not be m
        order = rng.integers(0, 11, (epochs, 7))
        orders = list(order)
    Ws, bs = ref.init_params([3, 5, 3], "relu", random_state=2)
    X0, Y0 = X.copy(), Y.copy()
    W0, b0 = _copy_params(Ws, bs)
    order0 = None if order is None else order.copy()
    tW, tb, curve = ref.train(X, Y, Ws, bs, learning_rate=0.2, batch_size=bsz, epochs=epochs,
                              activation="relu", out_activation="softmax", alpha=0.01, order=order)
    eW, eb, ecurve = _manual_train(X, Y, Ws, bs, 0.2, bsz, orders, "relu", "softmax", 0.01)
    assert len(curve) == epochs
    assert_allclose(curve, ecurve, rtol=1e-13)
    for a, b in zip(tW + tb, eW + eb):
        assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    # Nothing the caller passed in may change.
    assert_array_equal(X, X0)
    assert_array_equal(Y, Y0)
    for p, q in zip(Ws + bs, W0 + b0):
        assert_array_equal(p, q)
    if order is not None:
        assert_array_equal(order, order0)


@pytest.mark.parametrize("problem", ["and", "or", "xor"])
def test_lecture_2_3_1_sigmoid_network_learns_boolean_functions(problem):
    # XOR (slide 3) is not linearly separable; the hidden layer is what makes it learnable.
    y = BOOL_Y[problem]
    Ws, bs = ref.init_params([2, 3, 1], "logistic", random_state=0)
    tW, tb, curve = ref.train(BOOL_X, y, Ws, bs, learning_rate=2.0, batch_size=4, epochs=5000,
                              activation="logistic", out_activation="logistic")
    pred = ref.predict(BOOL_X, tW, tb, "logistic", "logistic")[:, 0] > 0.5
    assert_array_equal(pred, y.astype(bool))
    assert curve[-1] < 0.1 * curve[0]


# ---------------------------------------------------------------------------
# Against scikit-learn's MLP: same initialisation, same SGD, same loss curve
# ---------------------------------------------------------------------------

def _sklearn_sgd_kwargs(hidden, activation, lr, alpha, batch_size, epochs):
    return dict(hidden_layer_sizes=hidden, activation=activation, solver="sgd", momentum=0.0,
                nesterovs_momentum=False, learning_rate="constant", learning_rate_init=lr,
                alpha=alpha, batch_size=batch_size, shuffle=False, max_iter=epochs, tol=0.0,
                n_iter_no_change=epochs + 1, early_stopping=False, random_state=0)


def _assert_same_as_sklearn(est, X, Y, sizes, activation, out_activation, lr, alpha, bsz, epochs):
    Ws, bs = ref.init_params(sizes, activation, random_state=0)
    tW, tb, curve = ref.train(X, Y, Ws, bs, learning_rate=lr, batch_size=bsz, epochs=epochs,
                              activation=activation, out_activation=out_activation, alpha=alpha)
    assert est.n_iter_ == epochs
    assert_allclose(curve, est.loss_curve_, rtol=1e-10, atol=1e-14)
    for W, b, cW, cb in zip(tW, tb, est.coefs_, est.intercepts_):
        assert_allclose(W, cW, rtol=1e-10, atol=1e-12)
        assert_allclose(b, cb, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", HIDDEN[:4])  # scikit-learn has no leaky_relu
@pytest.mark.parametrize("hidden", [(7,), (6, 5)])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_training_matches_sklearn_mlp_classifier(n_classes, hidden, activation):
    nn = pytest.importorskip("sklearn.neural_network")
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(16)
    m, d = 30, 4
    X = rng.normal(size=(m, d))
    y = np.argmax(X @ rng.normal(size=(d, n_classes)) + 0.5 * rng.normal(size=(m, n_classes)), axis=1)
    assert set(y) == set(range(n_classes))
    # Binary: one logistic output; 3+ classes: one-hot softmax outputs.
    Y = preprocessing.LabelBinarizer().fit_transform(y).astype(np.float64)
    out_activation = "logistic" if n_classes == 2 else "softmax"
    lr, alpha, bsz, epochs = 0.1, 1e-3, 8, 15  # 30 rows: the last batch has 6
    clf = nn.MLPClassifier(**_sklearn_sgd_kwargs(hidden, activation, lr, alpha, bsz, epochs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.out_activation_ == out_activation
    _assert_same_as_sklearn(clf, X, Y, [d, *hidden, Y.shape[1]], activation, out_activation,
                            lr, alpha, bsz, epochs)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_training_matches_sklearn_mlp_regressor_single_output(activation):
    # With one output, scikit-learn's squared loss (averaged over outputs too)
    # coincides with the reference's ½‖a - y‖² per example.
    nn = pytest.importorskip("sklearn.neural_network")
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(17)
    X = rng.normal(size=(25, 3))
    y = np.sin(X[:, 0]) + 0.3 * X[:, 1]
    lr, alpha, bsz, epochs = 0.05, 1e-2, 10, 12
    reg = nn.MLPRegressor(**_sklearn_sgd_kwargs((6,), activation, lr, alpha, bsz, epochs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    _assert_same_as_sklearn(reg, X, y, [3, 6, 1], activation, "identity", lr, alpha, bsz, epochs)
