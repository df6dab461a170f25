"""The lecture's neural network in pure NumPy, written slide by slide.

This is the oracle: every C++ kernel in :mod:`nnfast` has a twin here with the
same name and signature (``nnfast.functional``), and the tests compare them.
Clarity beats speed in this file.

Notation (slides 12-17), one example per row as in scikit-learn:

* ``X`` is m × d (m examples, d features); layer sizes are ``[d, n_1, ..., n_L]``.
* ``W[l]`` is n_(l-1) × n_l and ``b[l]`` has n_l entries. The slides write
  z = W[l]ᵀ a + b for one column vector; for a batch stored row-wise that is
  ``Z[l] = A[l-1] @ W[l] + b[l]`` (m × n_l), and ``A[l] = g(Z[l])``.
* The output layer pairs an activation with the loss whose gradient w.r.t. Z
  is simply A - Y (slides 23-29): identity + squared error, sigmoid + binary
  cross-entropy, softmax + categorical cross-entropy (and exp + Poisson deviance,
  scikit-learn's MLPRegressor(loss="poisson")).
* The cost is J = (1/m) Σ_i L⁽ⁱ⁾ (slide 33), plus an optional L2 term
  (alpha / 2m) Σ_l ‖W[l]‖² as in scikit-learn; biases are not penalised. With
  sample weights w, J = Σ_i w_i L⁽ⁱ⁾ / Σ w + (alpha / 2Σw) Σ_l ‖W[l]‖².

Every function returns new arrays (but forward's A[0], which is X itself); none
modifies its arguments. Arguments are validated by the checks nnfast shares
(``nnfast._checks``, pure Python and NumPy). This module never reaches the compiled
extension: it is the oracle the kernels are tested against.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import _checks

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

    from ._typing import ArrayLike, FloatArray, IntArray, Params, RandomStateLike

__all__ = [
    "identity", "sigmoid", "tanh", "relu", "leaky_relu",
    "activation_forward", "activation_derivative", "activation_backward",
    "softmax",
    "binary_cross_entropy", "categorical_cross_entropy", "squared_error", "l2_penalty",
    "output_loss",
    "matmul", "linear_forward", "linear_backward",
    "init_params", "forward", "predict", "backward", "loss_and_gradients",
    "sgd_step", "train",
]


# ---------------------------------------------------------------------------
# Activations (slide 18) and their derivatives, written in terms of A = g(Z)
# as on slides 27 and 31: σ'(z) = a(1 - a).
# ---------------------------------------------------------------------------

def identity(Z: ArrayLike) -> FloatArray:
    """g(z) = z."""
    return np.array(_checks.float_array(Z, "Z", allow_empty=True, finite=False), copy=True)


def sigmoid(Z: ArrayLike) -> FloatArray:
    """Logistic sigmoid σ(z) = 1 / (1 + e^(-z)) (slide 6), element-wise.

    Written as ``e^(-|z|)`` so that it never overflows, whatever ``|z|``.

    Examples
    --------
    >>> print(sigmoid([-1000.0, 0.0, 1000.0]))
    [0.  0.5 1. ]
    """
    Z = _checks.float_array(Z, "Z", allow_empty=True, finite=False)
    e = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1 / (1 + e), e / (1 + e)).astype(Z.dtype, copy=False)


def tanh(Z: ArrayLike) -> FloatArray:
    """tanh(z), element-wise."""
    return np.tanh(_checks.float_array(Z, "Z", allow_empty=True, finite=False))


def relu(Z: ArrayLike) -> FloatArray:
    """ReLU max(0, z), element-wise."""
    Z = _checks.float_array(Z, "Z", allow_empty=True, finite=False)
    return np.maximum(Z, 0).astype(Z.dtype, copy=False)


def leaky_relu(Z: ArrayLike, negative_slope: float = 0.01) -> FloatArray:
    """Leaky ReLU: z for z > 0, negative_slope · z otherwise."""
    Z = _checks.float_array(Z, "Z", allow_empty=True, finite=False)
    slope = _checks.real_scalar(negative_slope, "negative_slope", low=0, low_inclusive=False)
    return np.where(Z > 0, Z, Z * Z.dtype.type(slope))


def activation_forward(Z: ArrayLike, activation: str = "relu", negative_slope: float = 0.01) -> FloatArray:
    """A = g(Z) for a hidden activation: identity, logistic (sigmoid), tanh, relu, leaky_relu."""
    activation = _checks.activation_name(activation)
    if activation == "leaky_relu":
        return leaky_relu(Z, negative_slope)
    return {"identity": identity, "logistic": sigmoid, "tanh": tanh, "relu": relu}[activation](Z)


def activation_derivative(A: ArrayLike, activation: str = "relu",
                          negative_slope: float = 0.01) -> FloatArray:
    """g'(Z) expressed through A = g(Z), element-wise, same shape as A.

    identity: 1;  sigmoid: a(1 - a) (slide 27);  tanh: 1 - a²;
    relu: 1 where a > 0 else 0;  leaky_relu: 1 where a > 0 else negative_slope.
    """
    activation = _checks.activation_name(activation)
    A = _checks.float_array(A, "A", allow_empty=True, finite=False)
    one = A.dtype.type(1)
    if activation == "identity":
        return np.ones_like(A)
    if activation == "logistic":
        return A * (one - A)
    if activation == "tanh":
        return one - A * A
    if activation == "relu":
        return (A > 0).astype(A.dtype)
    slope = _checks.real_scalar(negative_slope, "negative_slope", low=0, low_inclusive=False)
    return np.where(A > 0, one, A.dtype.type(slope))


def activation_backward(dA: ArrayLike, A: ArrayLike, activation: str = "relu",
                        negative_slope: float = 0.01) -> FloatArray:
    """Chain rule through g: dZ = dA ∘ g'(Z), with g'(Z) computed from A (slide 31)."""
    dA = _checks.float_array(dA, "dA", allow_empty=True, finite=False)
    A = _checks.float_array(A, "A", allow_empty=True, finite=False, dtype=dA.dtype)
    _checks.same_shape(dA, A, "dA", "A")
    return dA * activation_derivative(A, activation, negative_slope)


# ---------------------------------------------------------------------------
# Softmax for k classes (slides 19-21)
# ---------------------------------------------------------------------------

def softmax(Z: ArrayLike) -> FloatArray:
    """Row-wise softmax a_i = e^(z_i) / Σ_k e^(z_k) for Z of shape (m, K) (slide 20).

    The row maximum is subtracted first; the result is unchanged and e^z never
    overflows. A 1-D Z is treated as a single example.

    Examples
    --------
    The slide's example (the slide prints 0.1165 and 0.0157: it rounds e^z before summing):

    >>> [round(float(a), 4) for a in softmax([7.0, 5.0, 2.0, -1.0, 3.0])]
    [0.8615, 0.1166, 0.0058, 0.0003, 0.0158]
    """
    Z = _checks.softmax_input(Z)
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------------------
# Losses, each the mean over the batch of the per-example loss (slide 33)
# ---------------------------------------------------------------------------

def _prediction_and_target(A: ArrayLike, Y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    A = _checks.float_array(A, "A", ndim=None)
    if A.ndim == 1:
        A = A.reshape(-1, 1)
    if A.ndim != 2:
        raise ValueError(f"A must be 1-D or 2-D; got shape {A.shape}")
    Y = _checks.labels_2d(Y, "Y", A.shape[0], A.dtype)
    _checks.same_shape(A, Y, "A", "Y")
    return A, Y


def binary_cross_entropy(A: ArrayLike, Y: ArrayLike) -> float:
    """J = -(1/m) Σ_i Σ_j [y log a + (1 - y) log(1 - a)] (slide 23), A of probabilities.

    A is clipped to [eps, 1 - eps] so that log(0) is never taken. Prefer
    :func:`output_loss` with the logits, which needs no clipping.
    """
    A, Y = _prediction_and_target(A, Y)
    eps = np.finfo(A.dtype).eps
    A = np.clip(A, eps, 1 - eps)
    return float(-(Y * np.log(A) + (1 - Y) * np.log(1 - A)).sum() / A.shape[0])


def categorical_cross_entropy(A: ArrayLike, Y: ArrayLike) -> float:
    """J = -(1/m) Σ_i Σ_k y_k log a_k, A of shape (m, K) holding probabilities."""
    A, Y = _prediction_and_target(A, Y)
    A = np.clip(A, np.finfo(A.dtype).tiny, None)
    return float(-(Y * np.log(A)).sum() / A.shape[0])


def squared_error(A: ArrayLike, Y: ArrayLike) -> float:
    """J = (1/m) Σ_i ½ ‖a⁽ⁱ⁾ - y⁽ⁱ⁾‖², whose gradient w.r.t. A is (A - Y) / m."""
    A, Y = _prediction_and_target(A, Y)
    return float(0.5 * ((A - Y) ** 2).sum() / A.shape[0])


def l2_penalty(weights: Params, alpha: float, m: float) -> float:
    """The L2 term (alpha / 2m) Σ_l ‖W[l]‖² (biases are not penalised); m is the batch
    size, or the sum of the sample weights."""
    alpha = _checks.real_scalar(alpha, "alpha", low=0)
    m = _checks.real_scalar(m, "m", low=0, low_inclusive=False)
    weights, _ = _checks.weights_only(weights)
    return float(0.5 * alpha * sum(float(np.sum(W.astype(np.float64) ** 2)) for W in weights) / m)


def output_loss(Z: ArrayLike, Y: ArrayLike, out_activation: str = "softmax",
                sample_weight: ArrayLike | None = None) -> tuple[float, FloatArray, FloatArray]:
    """The output layer fused with its loss: returns (J, A, dZ), all from the logits Z.

    Z, Y: (m, k). A = out_activation(Z); J is the mean loss over the m rows; and
    dZ = ∂J/∂Z = (A - Y) / m (slides 23 and 29: the a(1 - a) of the sigmoid
    cancels the 1 / (a(1 - a)) of the cross-entropy). Losses are computed from Z
    without log(A):

    * identity → squared error  ½‖a - y‖²;
    * logistic → binary cross-entropy  ``max(z, 0) - y z + log(1 + e^(-|z|))``, per output;
    * softmax  → categorical cross-entropy  Σ_k y_k (logsumexp(z) - z_k);
    * exp      → half Poisson deviance  y log y - y z - y + e^z, per output.

    With sample weights w (m,), J = Σ_i w_i L⁽ⁱ⁾ / Σw and dZ = w_i (A - Y) / Σw.
    """
    out_activation = _checks.out_activation_name(out_activation)
    Z = _checks.float_array(Z, "Z", ndim=2)
    Y = _checks.labels_2d(Y, "Y", Z.shape[0], Z.dtype, against="Z")
    _checks.same_shape(Z, Y, "Z", "Y")
    w = _checks.sample_weights(sample_weight, Z.shape[0], Z.dtype)
    if out_activation == "identity":
        A = Z.copy()
        L = 0.5 * ((A - Y) ** 2).sum(axis=1)
    elif out_activation == "logistic":
        A = sigmoid(Z)
        L = (np.maximum(Z, 0) - Y * Z + np.log1p(np.exp(-np.abs(Z)))).sum(axis=1)
    elif out_activation == "exp":
        A = np.exp(Z)
        ylogy = Y * np.log(np.where(Y > 0, Y, 1))
        L = (ylogy - Y * Z - Y + A).sum(axis=1)
    else:
        zmax = Z.max(axis=1, keepdims=True)
        E = np.exp(Z - zmax)
        s = E.sum(axis=1, keepdims=True)
        A = E / s
        lse = zmax + np.log(s)
        L = (Y * (lse - Z)).sum(axis=1)
    if w is None:
        return float(L.sum() / Z.shape[0]), A, (A - Y) / Z.dtype.type(Z.shape[0])
    wsum = Z.dtype.type(w.astype(np.float64).sum())
    return float((w * L).sum() / wsum), A, w[:, None] * (A - Y) / wsum


# ---------------------------------------------------------------------------
# One layer (slides 12-17): Z = A_prev @ W + b, A = g(Z); and its backward pass
# ---------------------------------------------------------------------------

def matmul(A: ArrayLike, B: ArrayLike, transpose_a: bool = False, transpose_b: bool = False) -> FloatArray:
    """op(A) @ op(B), op being the transpose where asked: the three products of a layer are
    A_prev @ W (forward), dZ @ Wᵀ (dA_prev) and A_prevᵀ @ dZ (dW)."""
    A = _checks.float_array(A, "A", ndim=2, allow_empty=True)
    B = _checks.float_array(B, "B", ndim=2, allow_empty=True, dtype=A.dtype)
    opA = A.T if _checks.flag(transpose_a, "transpose_a") else A
    opB = B.T if _checks.flag(transpose_b, "transpose_b") else B
    if opA.shape[1] != opB.shape[0]:
        raise ValueError(f"op(A) has shape {opA.shape} and op(B) {opB.shape}: inner dimensions differ")
    return opA @ opB


def linear_forward(A_prev: ArrayLike, W: ArrayLike, b: ArrayLike, activation: str = "relu",
                   negative_slope: float = 0.01) -> FloatArray:
    """A = g(A_prev @ W + b): A_prev (m, n_(l-1)), W (n_(l-1), n_l), b (n_l,) → (m, n_l).

    `activation` is a hidden activation, or an output one ('softmax', 'exp').
    """
    A_prev = _checks.float_array(A_prev, "A_prev", ndim=2)
    [W], [b], _ = _checks.params([W], [b], n_features=A_prev.shape[1])
    if W.dtype != A_prev.dtype:
        raise TypeError(f"W has dtype {W.dtype} but A_prev has {A_prev.dtype}")
    Z = A_prev @ W + b
    if activation == "softmax":
        return softmax(Z)
    if activation == "exp":  # the Poisson output layer
        return np.exp(Z)
    return activation_forward(Z, activation, negative_slope)


def linear_backward(dZ: ArrayLike, A_prev: ArrayLike, W: ArrayLike,
                    ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Backward through Z = A_prev @ W + b (slides 28-31). Returns (dA_prev, dW, db):

    dA_prev = dZ @ Wᵀ (m, n_(l-1)),  dW = A_prevᵀ @ dZ (n_(l-1), n_l),  db = Σ_rows dZ (n_l,).
    """
    dZ = _checks.float_array(dZ, "dZ", ndim=2)
    A_prev = _checks.float_array(A_prev, "A_prev", ndim=2, dtype=dZ.dtype)
    W = _checks.float_array(W, "W", ndim=2, dtype=dZ.dtype)
    if A_prev.shape[0] != dZ.shape[0]:
        raise ValueError(f"A_prev has {A_prev.shape[0]} rows but dZ has {dZ.shape[0]}")
    if W.shape != (A_prev.shape[1], dZ.shape[1]):
        raise ValueError(f"W must have shape {(A_prev.shape[1], dZ.shape[1])}; got {W.shape}")
    return dZ @ W.T, A_prev.T @ dZ, dZ.sum(axis=0)


# ---------------------------------------------------------------------------
# The network: initialisation, forward pass, backprop, gradient descent
# ---------------------------------------------------------------------------

def init_params(layer_sizes: Sequence[int] | IntArray, activation: str = "relu",
                random_state: RandomStateLike = None, dtype: npt.DTypeLike = np.float64,
                ) -> tuple[list[FloatArray], list[FloatArray]]:
    """Seeded Glorot-uniform initialisation, drawn exactly as scikit-learn's MLP draws it.

    layer_sizes = [d, n_1, ..., n_L] (the lecture's XOR network is [2, 3, 1]).
    For each layer in order, W[l] (n_(l-1) × n_l) then b[l] (n_l) are drawn from
    U(-r, r) with r = sqrt(f / (n_(l-1) + n_l)), f = 2 for the logistic activation
    and 6 otherwise, from ``np.random.RandomState(random_state)`` (or the given
    RandomState). Returns (weights, biases), lists of arrays of `dtype`.

    Examples
    --------
    >>> W, b = init_params([2, 3, 1], random_state=0)
    >>> [w.shape for w in W], [v.shape for v in b]
    ([(2, 3), (3, 1)], [(3,), (1,)])
    """
    sizes = list(layer_sizes) if isinstance(layer_sizes, (list, tuple, np.ndarray)) else None
    if sizes is None or len(sizes) < 2:
        raise ValueError(f"layer_sizes must list at least [d, n_out]; got {layer_sizes!r}")
    sizes = [_checks.positive_int(n, f"layer_sizes[{i}]") for i, n in enumerate(sizes)]
    activation = _checks.activation_name(activation)
    dtype = np.dtype(dtype)
    if dtype not in _checks.FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64; got {dtype}")
    if isinstance(random_state, np.random.RandomState):
        rng = random_state
    elif random_state is None or isinstance(random_state, (int, np.integer)):
        rng = np.random.RandomState(random_state)
    else:
        raise TypeError("random_state must be None, an int or a numpy RandomState")
    factor = 2.0 if activation == "logistic" else 6.0
    weights, biases = [], []
    for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if fan_in * fan_out > np.iinfo(np.intp).max // 8:
            raise ValueError(f"layer_sizes[{l}:{l + 2}] = [{fan_in}, {fan_out}] makes a weight "
                             f"matrix too large to exist")
        bound = np.sqrt(factor / (fan_in + fan_out))
        weights.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False))
        biases.append(rng.uniform(-bound, bound, fan_out).astype(dtype, copy=False))
    return weights, biases


def forward(X: ArrayLike, weights: Params, biases: Params, activation: str = "relu",
            out_activation: str = "softmax", negative_slope: float = 0.01) -> list[FloatArray]:
    """The forward pass for m examples (slides 15-17), any number of layers.

    Returns [A[0] = X, A[1], ..., A[L]] where A[l] = g(A[l-1] @ W[l] + b[l]) has
    shape (m, n_l); hidden layers use `activation`, the last `out_activation`.
    With out_activation='identity' the last entry is the output logits Z[L],
    which is what :func:`output_loss` takes.

    Examples
    --------
    >>> W, b = init_params([2, 3, 1], random_state=0)
    >>> A = forward([[0.0, 1.0], [1.0, 1.0]], W, b, "tanh", "logistic")
    >>> [a.shape for a in A]
    [(2, 2), (2, 3), (2, 1)]
    """
    X, Ws, bs, _ = _checks.inputs(X, weights, biases)
    activation = _checks.activation_name(activation)
    out_activation = _checks.out_activation_name(out_activation)
    activations = [X]
    for l, (W, b) in enumerate(zip(Ws, bs)):
        g = out_activation if l == len(Ws) - 1 else activation
        activations.append(linear_forward(activations[-1], W, b, g, negative_slope))
    return activations


def predict(X: ArrayLike, weights: Params, biases: Params, activation: str = "relu",
            out_activation: str = "softmax", negative_slope: float = 0.01) -> FloatArray:
    """The network's output A[L] (m, n_L): probabilities for sigmoid/softmax, values for identity."""
    return forward(X, weights, biases, activation, out_activation, negative_slope)[-1]


def backward(activations: Sequence[ArrayLike], dZ: ArrayLike, weights: Params, activation: str = "relu",
             negative_slope: float = 0.01) -> tuple[list[FloatArray], list[FloatArray]]:
    """Backprop by the chain rule (slides 24-32), from the output gradient dZ[L] = ∂J/∂Z[L].

    activations: [A[0], ..., A[L-1], ...] as returned by :func:`forward` (A[L] is not used).
    For l = L..1: dW[l] = A[l-1]ᵀ dZ[l], db[l] = Σ_rows dZ[l], and
    dZ[l-1] = (dZ[l] W[l]ᵀ) ∘ g'(Z[l-1]). Returns (dWs, dbs) in layer order.
    """
    weights, dtype = _checks.weights_only(weights)
    L = len(weights)
    if not isinstance(activations, (list, tuple)) or len(activations) < L:
        raise ValueError(f"activations must hold at least A[0]..A[{L - 1}] for {L} layers")
    for l in range(L):  # named here, not as linear_backward's A_prev
        _checks.float_array(activations[l], f"activations[{l}]", ndim=2, dtype=dtype)
    # filled from the last layer down
    grads_W: list[Any] = [None] * L
    grads_b: list[Any] = [None] * L
    for l in range(L - 1, -1, -1):
        dA_prev, grads_W[l], grads_b[l] = linear_backward(dZ, activations[l], weights[l])
        if l > 0:
            dZ = activation_backward(dA_prev, activations[l], activation, negative_slope)
    return grads_W, grads_b


def loss_and_gradients(X: ArrayLike, Y: ArrayLike, weights: Params, biases: Params, activation: str = "relu",
                       out_activation: str = "softmax", alpha: float = 0.0,
                       negative_slope: float = 0.01, sample_weight: ArrayLike | None = None,
                       ) -> tuple[float, list[FloatArray], list[FloatArray]]:
    """J and its gradients for one batch: forward, fused output loss, backprop, L2 term.

    Returns (J, dWs, dbs) with J = (1/m) Σ L⁽ⁱ⁾ + (alpha/2m) Σ‖W‖² and
    dW[l] = ∂J/∂W[l] (including alpha/m · W[l]), db[l] = ∂J/∂b[l]. With sample
    weights, m becomes Σw and the mean a weighted mean (scikit-learn's convention).
    """
    X, Ws, bs, dtype = _checks.inputs(X, weights, biases)
    Y = _checks.labels_2d(Y, "Y", X.shape[0], dtype)
    alpha = _checks.real_scalar(alpha, "alpha", low=0)
    if Y.shape[1] != Ws[-1].shape[1]:
        raise ValueError(f"Y has {Y.shape[1]} columns but the network has {Ws[-1].shape[1]} outputs")
    w = _checks.sample_weights(sample_weight, X.shape[0], dtype)
    acts = forward(X, Ws, bs, activation, "identity", negative_slope)
    J, _, dZ = output_loss(acts[-1], Y, out_activation, w)
    dWs, dbs = backward(acts, dZ, Ws, activation, negative_slope)
    if alpha:
        m = X.shape[0] if w is None else float(w.astype(np.float64).sum())
        J += l2_penalty(Ws, alpha, m)
        dWs = [dW + dtype.type(alpha / m) * W for dW, W in zip(dWs, Ws)]
    return J, dWs, dbs


def sgd_step(weights: Params, biases: Params, grads_W: Params, grads_b: Params,
             learning_rate: float) -> tuple[list[FloatArray], list[FloatArray]]:
    """Gradient descent (slide 33): W[l] ← W[l] - α ∂J/∂W[l], b[l] ← b[l] - α ∂J/∂b[l].

    Returns new (weights, biases); the inputs are left unchanged.
    """
    Ws, bs, dtype = _checks.params(weights, biases)
    dWs, dbs = _checks.gradients_like(Ws, bs, grads_W, grads_b)
    lr = dtype.type(_checks.real_scalar(learning_rate, "learning_rate", low=0, low_inclusive=False))
    return ([W - lr * dW for W, dW in zip(Ws, dWs)], [b - lr * db for b, db in zip(bs, dbs)])


# A loss curve of more epochs than this could not be allocated anyway (8 bytes each).
MAX_EPOCHS = 2**31


def train(X: ArrayLike, Y: ArrayLike, weights: Params, biases: Params, *, learning_rate: float = 0.01,
          batch_size: int = 200, epochs: int = 1, activation: str = "relu",
          out_activation: str = "softmax", alpha: float = 0.0, order: ArrayLike | None = None,
          negative_slope: float = 0.01, sample_weight: ArrayLike | None = None,
          ) -> tuple[list[FloatArray], list[FloatArray], FloatArray]:
    """Mini-batch gradient descent over `epochs` passes, batches taken in a given order.

    Each epoch visits the rows ``order[e]`` (all of 0..m-1 in turn when order is
    None; one 1-D index array reused every epoch; or an (epochs, n) array) in
    consecutive batches of `batch_size` (the last may be smaller). Each batch takes
    one :func:`sgd_step` on its own J. Returns (weights, biases, loss_curve) where
    loss_curve[e] is the batch losses of epoch e weighted by batch size, over n —
    scikit-learn's ``loss_curve_``. With sample weights, each batch's J is the weighted
    one of :func:`loss_and_gradients`. The given weights and biases are not modified.

    Examples
    --------
    The lecture's XOR network: full-batch gradient descent, then the predicted labels.

    >>> from nnfast.datasets import logic_gate
    >>> X, y = logic_gate("xor")
    >>> W, b = init_params([2, 3, 1], "tanh", random_state=0)
    >>> W, b, curve = train(X, y.reshape(-1, 1), W, b, learning_rate=2.0, batch_size=4,
    ...                     epochs=500, activation="tanh", out_activation="logistic")
    >>> curve.shape, bool(curve[-1] < 0.01)
    ((500,), True)
    >>> print((predict(X, W, b, "tanh", "logistic") > 0.5).astype(int).ravel())
    [0 1 1 0]
    """
    X, Ws, bs, dtype = _checks.inputs(X, weights, biases)
    Y = _checks.labels_2d(Y, "Y", X.shape[0], dtype)
    if Y.shape[1] != Ws[-1].shape[1]:
        raise ValueError(f"Y has {Y.shape[1]} columns but the network has {Ws[-1].shape[1]} outputs")
    _checks.out_activation_name(out_activation)
    _checks.activation_name(activation)
    _checks.real_scalar(learning_rate, "learning_rate", low=0, low_inclusive=False)
    batch_size = _checks.positive_int(batch_size, "batch_size")
    epochs = _checks.positive_int(epochs, "epochs", high=MAX_EPOCHS)
    orders = _checks.batch_order(order, X.shape[0], epochs)
    w = _checks.sample_weights(sample_weight, X.shape[0], dtype)
    Ws, bs = [W.copy() for W in Ws], [b.copy() for b in bs]
    curve = []
    for e in range(epochs):
        rows = np.arange(X.shape[0]) if orders is None else orders[e]
        total = 0.0
        for start in range(0, len(rows), batch_size):
            idx = rows[start:start + batch_size]
            J, dWs, dbs = loss_and_gradients(X[idx], Y[idx], Ws, bs, activation, out_activation,
                                             alpha, negative_slope,
                                             None if w is None else w[idx])
            Ws, bs = sgd_step(Ws, bs, dWs, dbs, learning_rate)
            total += J * len(idx)
        curve.append(total / len(rows))
    return Ws, bs, np.array(curve)
