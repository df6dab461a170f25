"""The reference's functions, computed by nnfast's C++ kernels.

Every name here has the same signature and meaning as in :mod:`nnfast.reference`
(read the equations and shapes there); code written against the reference runs
on the kernels by changing one import. Arguments are validated before any
kernel runs, outputs are freshly allocated, and the caller's arrays are never
modified. Arrays of any layout are accepted; they are copied only when a kernel
needs a layout they lack (the matrix product reads C and Fortran order as is).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import _checks, _core, _epochs
from ._codes import ACTIVATIONS as _ACT
from ._codes import HEADS as _HEAD
from .reference import (  # noqa: F401  (pure-NumPy loss values on probabilities, and the init)
    MAX_EPOCHS,
    binary_cross_entropy,
    categorical_cross_entropy,
    init_params,
    l2_penalty,
    squared_error,
)

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

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

    from ._typing import ArrayLike, FloatArray, IntArray, Params


# Contiguous float arrays are scanned by _core.all_finite (the largest exponent field): on
# the calling thread, or on the OpenMP threads from this many elements (a whole data set).
# Smaller ones never wake the team: a team woken for a per-batch check spins on after it,
# against OpenBLAS's own threads in the same process (a NumPy training loop at 2 threads
# took 19 s an epoch instead of 1.5-1.9 when every batch's check woke it).
THREADED_CHECK = 1 << 20


def _all_finite(x: ArrayLike) -> bool:
    """_checks.all_finite, by the extension's scan where the layout allows: 0.4 us for 8
    values against NumPy's 3.4 (errstate and sum), 7 us for a 100352-value batch against
    29, and a whole data set on every thread (NumPy's sum runs on one: 30 ms of a 0.5 s
    MNIST epoch)."""
    x = np.asarray(x)
    if (x.size and x.dtype in _checks.FLOAT_DTYPES and x.flags.aligned
            and (x.flags.c_contiguous or x.flags.f_contiguous)):
        flat = x if x.flags.c_contiguous else x.reshape(-1, order="A")
        return _core.all_finite(flat, x.size >= THREADED_CHECK)
    return _checks.all_finite(x)


# The argument checks the reference uses, with the scan above.
_arrays = _checks.ArrayChecks(_all_finite)


def _c(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """C-contiguous and aligned to the element size (the kernels read through T*)."""
    return np.require(x, requirements=("C", "A"))


def _slope(negative_slope: object) -> float:
    return _checks.real_scalar(negative_slope, "negative_slope", low=0, low_inclusive=False)


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------

def activation_forward(Z: ArrayLike, activation: str = "relu", negative_slope: float = 0.01) -> FloatArray:
    activation = _checks.activation_name(activation)
    Z = _c(_arrays.float_array(Z, "Z", allow_empty=True, finite=False))
    A = np.empty_like(Z)
    _core.activation_forward(A, Z, _ACT[activation], _slope(negative_slope))
    return A


def identity(Z: ArrayLike) -> FloatArray:
    return activation_forward(Z, "identity")


def sigmoid(Z: ArrayLike) -> FloatArray:
    return activation_forward(Z, "logistic")


def tanh(Z: ArrayLike) -> FloatArray:
    return activation_forward(Z, "tanh")


def relu(Z: ArrayLike) -> FloatArray:
    return activation_forward(Z, "relu")


def leaky_relu(Z: ArrayLike, negative_slope: float = 0.01) -> FloatArray:
    return activation_forward(Z, "leaky_relu", negative_slope)


def activation_backward(dA: ArrayLike, A: ArrayLike, activation: str = "relu",
                        negative_slope: float = 0.01) -> FloatArray:
    activation = _checks.activation_name(activation)
    dA = _c(_arrays.float_array(dA, "dA", allow_empty=True, finite=False))
    A = _c(_arrays.float_array(A, "A", allow_empty=True, finite=False, dtype=dA.dtype))
    _checks.same_shape(dA, A, "dA", "A")
    dZ = np.empty_like(dA)
    _core.activation_backward(dZ, dA, A, _ACT[activation], _slope(negative_slope))
    return dZ


def activation_derivative(A: ArrayLike, activation: str = "relu",
                          negative_slope: float = 0.01) -> FloatArray:
    A = _arrays.float_array(A, "A", allow_empty=True, finite=False)
    return activation_backward(np.ones_like(A), A, activation, negative_slope)


# ---------------------------------------------------------------------------
# Softmax and the fused output loss
# ---------------------------------------------------------------------------

def softmax(Z: ArrayLike) -> FloatArray:
    Z = _arrays.softmax_input(Z)
    Z2 = _c(Z.reshape(1, -1) if Z.ndim == 1 else Z)
    A = np.empty_like(Z2)
    if Z2.size:
        _core.softmax_forward(A, Z2)
    return A.reshape(Z.shape)


def output_loss(Z: ArrayLike, Y: ArrayLike, out_activation: str = "softmax",
                sample_weight: ArrayLike | None = None) -> tuple[float, FloatArray, FloatArray]:
    out_activation = _checks.out_activation_name(out_activation)
    Z = _c(_arrays.float_array(Z, "Z", ndim=2))
    Y = _c(_arrays.labels_2d(Y, "Y", Z.shape[0], Z.dtype, against="Z"))
    _checks.same_shape(Z, Y, "Z", "Y")
    w = _arrays.sample_weights(sample_weight, Z.shape[0], Z.dtype)
    A, dZ = np.empty_like(Z), np.empty_like(Z)
    total = _core.output_loss(A, dZ, Z, Y, None if w is None else _c(w), _HEAD[out_activation])
    return total / (Z.shape[0] if w is None else float(w.astype(np.float64).sum())), A, dZ


# ---------------------------------------------------------------------------
# One layer
# ---------------------------------------------------------------------------

def _gemm_operand(x: FloatArray) -> FloatArray:
    """An operand the kernel reads in place: C or Fortran order; anything else is copied."""
    if not x.flags.aligned:
        return _c(x)
    if x.flags.c_contiguous or x.flags.f_contiguous:
        return x
    itemsize = x.itemsize
    if x.strides[1] == itemsize and x.strides[0] >= itemsize * x.shape[1]:
        return x  # row-major with padding, e.g. a slice of rows and columns
    if x.strides[0] == itemsize and x.strides[1] >= itemsize * x.shape[0]:
        return x
    return np.ascontiguousarray(x)


def matmul(A: ArrayLike, B: ArrayLike, transpose_a: bool = False, transpose_b: bool = False) -> FloatArray:
    A = _arrays.float_array(A, "A", ndim=2, allow_empty=True)
    B = _arrays.float_array(B, "B", ndim=2, allow_empty=True, dtype=A.dtype)
    M, K = (A.shape[1], A.shape[0]) if transpose_a else A.shape
    K2, N = (B.shape[1], B.shape[0]) if transpose_b else B.shape
    if K != K2:
        opA = (M, K)
        opB = (K2, N)
        raise ValueError(f"op(A) has shape {opA} and op(B) {opB}: inner dimensions differ")
    C = np.empty((M, N), dtype=A.dtype)
    _core.gemm(C, _gemm_operand(A), _gemm_operand(B), _checks.flag(transpose_a, "transpose_a"),
               _checks.flag(transpose_b, "transpose_b"))
    return C


def _layer_args(A_prev: ArrayLike, W: ArrayLike, b: ArrayLike,
                ) -> tuple[FloatArray, FloatArray, FloatArray]:
    A_prev = _arrays.float_array(A_prev, "A_prev", ndim=2)
    [W], [b], _ = _arrays.params([W], [b], n_features=A_prev.shape[1])
    if W.dtype != A_prev.dtype:
        raise TypeError(f"W has dtype {W.dtype} but A_prev has {A_prev.dtype}")
    return _c(A_prev), _c(W), _c(b)


def linear_forward(A_prev: ArrayLike, W: ArrayLike, b: ArrayLike, activation: str = "relu",
                   negative_slope: float = 0.01) -> FloatArray:
    A_prev, W, b = _layer_args(A_prev, W, b)
    A = np.empty((A_prev.shape[0], W.shape[1]), dtype=A_prev.dtype)
    if activation in ("softmax", "exp"):  # an output layer: logits, then its activation
        _core.predict(A, A_prev, [W], [b], _ACT["identity"], 0.01, _HEAD[activation])
        return A
    act = _checks.activation_name(activation)
    _core.linear_forward(A, A_prev, W, b, _ACT[act], _slope(negative_slope))
    return A


def linear_backward(dZ: ArrayLike, A_prev: ArrayLike, W: ArrayLike,
                    ) -> tuple[FloatArray, FloatArray, FloatArray]:
    dZ = _arrays.float_array(dZ, "dZ", ndim=2)
    A_prev = _arrays.float_array(A_prev, "A_prev", ndim=2, dtype=dZ.dtype)
    W = _arrays.float_array(W, "W", ndim=2, dtype=dZ.dtype)
    if A_prev.shape[0] != dZ.shape[0]:
        raise ValueError(f"A_prev has {A_prev.shape[0]} rows but dZ has {dZ.shape[0]}")
    if W.shape != (A_prev.shape[1], dZ.shape[1]):
        raise ValueError(f"W must have shape {(A_prev.shape[1], dZ.shape[1])}; got {W.shape}")
    dA_prev = np.empty_like(A_prev, order="C")
    dW, db = np.empty_like(W, order="C"), np.empty(dZ.shape[1], dtype=dZ.dtype)
    _core.linear_backward(dA_prev, dW, db, _c(dZ), _c(A_prev), _c(W))
    return dA_prev, dW, db


# ---------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------

def _network(X: ArrayLike, weights: Params, biases: Params, activation: str, out_activation: str,
             negative_slope: float) -> tuple[FloatArray, list[FloatArray], list[FloatArray],
                                             _core.Activation, _core.Head, float]:
    X, Ws, bs, dtype = _arrays.inputs(X, weights, biases)
    act = _ACT[_checks.activation_name(activation)]
    head = _HEAD[_checks.out_activation_name(out_activation)]
    return _c(X), [_c(W) for W in Ws], [_c(b) for b in bs], act, head, _slope(negative_slope)


def forward(X: ArrayLike, weights: Params, biases: Params, activation: str = "relu",
            out_activation: str = "softmax", negative_slope: float = 0.01) -> list[FloatArray]:
    X, Ws, bs, act, head, slope = _network(X, weights, biases, activation, out_activation,
                                           negative_slope)
    As = [np.empty((X.shape[0], W.shape[1]), dtype=X.dtype) for W in Ws]
    _core.forward(As, X, Ws, bs, act, slope, head, False)
    return [X] + As


def predict(X: ArrayLike, weights: Params, biases: Params, activation: str = "relu",
            out_activation: str = "softmax", negative_slope: float = 0.01) -> FloatArray:
    X, Ws, bs, act, head, slope = _network(X, weights, biases, activation, out_activation,
                                           negative_slope)
    out = np.empty((X.shape[0], Ws[-1].shape[1]), dtype=X.dtype)
    _core.predict(out, X, Ws, bs, act, slope, head)
    return out


def backward(activations: Sequence[ArrayLike], dZ: ArrayLike, weights: Params, activation: str = "relu",
             negative_slope: float = 0.01) -> tuple[list[FloatArray], list[FloatArray]]:
    act = _ACT[_checks.activation_name(activation)]
    Ws, dtype = _arrays.weights_only(weights)
    L = len(Ws)
    if not isinstance(activations, (list, tuple)) or len(activations) < L:
        raise ValueError(f"activations must hold at least A[0]..A[{L - 1}] for {L} layers")
    dZ = _arrays.float_array(dZ, "dZ", ndim=2, dtype=dtype)
    acts: list[FloatArray] = []
    for l in range(L):
        A = _arrays.float_array(activations[l], f"activations[{l}]", ndim=2, dtype=dtype)
        if A.shape != (dZ.shape[0], Ws[l].shape[0]):
            raise ValueError(f"activations[{l}] must have shape {(dZ.shape[0], Ws[l].shape[0])}; "
                             f"got {A.shape}")
        acts.append(_c(A))
    if dZ.shape[1] != Ws[-1].shape[1]:
        raise ValueError(f"dZ has {dZ.shape[1]} columns but the network has {Ws[-1].shape[1]} outputs")
    dWs = [np.empty(W.shape, dtype) for W in Ws]
    dbs = [np.empty(W.shape[1], dtype) for W in Ws]
    _core.backward(dWs, dbs, acts, _c(dZ), [_c(W) for W in Ws], act, _slope(negative_slope))
    return dWs, dbs


def loss_and_gradients(X: ArrayLike, Y: ArrayLike, weights: Params, biases: Params, activation: str = "relu",
                       out_activation: str = "softmax", alpha: float = 0.0,
                       negative_slope: float = 0.01, sample_weight: ArrayLike | None = None,
                       ) -> tuple[float, list[FloatArray], list[FloatArray]]:
    X, Ws, bs, act, head, slope = _network(X, weights, biases, activation, out_activation,
                                           negative_slope)
    Y = _c(_arrays.labels_2d(Y, "Y", X.shape[0], X.dtype))
    if Y.shape[1] != Ws[-1].shape[1]:
        raise ValueError(f"Y has {Y.shape[1]} columns but the network has {Ws[-1].shape[1]} outputs")
    alpha = _checks.real_scalar(alpha, "alpha", low=0)
    w = _arrays.sample_weights(sample_weight, X.shape[0], X.dtype)
    dWs = [np.empty(W.shape, X.dtype) for W in Ws]
    dbs = [np.empty(b.shape, X.dtype) for b in bs]
    J = _core.loss_and_gradients(dWs, dbs, X, Y, Ws, bs, act, slope, head, alpha,
                                 None if w is None else _c(w))
    return J, dWs, dbs


def sgd_step(weights: Params, biases: Params, grads_W: Params, grads_b: Params,
             learning_rate: float) -> tuple[list[FloatArray], list[FloatArray]]:
    Ws, bs, dtype = _arrays.params(weights, biases)
    dWs, dbs = _arrays.gradients_like(Ws, bs, grads_W, grads_b)
    lr = _checks.real_scalar(learning_rate, "learning_rate", low=0, low_inclusive=False)
    new: list[list[FloatArray]] = []
    for params, grads in ((Ws, dWs), (bs, dbs)):
        out: list[FloatArray] = []
        for P, G in zip(params, grads):
            P = np.array(P, order="C", copy=True)
            _core.sgd_step(P, _c(G), lr)
            out.append(P)
        new.append(out)
    return new[0], new[1]


def _check_batch_weights(w: FloatArray, orders: IntArray | None, m: int, batch_size: int) -> None:
    """Each batch's J is a weighted mean: it divides by the batch's weight sum, which must be
    positive (the reference's loss_and_gradients refuses a batch without weight) and, in the
    dtype, have a finite reciprocal (the kernels multiply by 1/Σw: a float64 sum of 5e-324 or
    a float32 one of 1e-40 would make every gradient inf and read as divergence)."""
    w64 = w.astype(np.float64, copy=False)
    n = m if orders is None else orders.shape[1]
    starts = np.arange(0, n, batch_size)
    # Without an order the rows come as stored: their weights are summed in place (no index
    # array and no gathered copy, 16 bytes a row; the sums are the same numbers).
    sums = np.add.reduceat(w64[None, :] if orders is None else w64[orders], starts, axis=1)
    with np.errstate(over="ignore", divide="ignore"):
        usable = np.isfinite(1 / sums.astype(w.dtype)) & (sums > 0)
    if usable.all():
        return
    epoch, batch = (int(i) for i in np.argwhere(~usable)[0])
    first = int(starts[batch])
    stop = first + min(batch_size, 8, n - first)
    shown = list(range(first, stop)) if orders is None else orders[epoch, first:stop].tolist()
    more = "..." if min(batch_size, n - first) > 8 else ""
    when = f"epoch {epoch + 1}, batch {batch + 1}" if orders is not None else \
        f"batch {batch + 1} of every epoch"
    where = f"the batch of rows {shown}{more} ({when})"
    if not sums[epoch, batch] > 0:
        raise ValueError(f"sample_weight must have a positive sum in every batch: {where} has "
                         f"weight 0 (its J, a weighted mean, would divide by zero)")
    raise ValueError(f"sample_weight: {where} has weights summing to {sums[epoch, batch]:.3g}, too "
                     f"small to divide by in {w.dtype} (1 / sum overflows); multiply "
                     f"sample_weight by a large constant (only the ratios of weights matter)")


def train(X: ArrayLike, Y: ArrayLike, weights: Params, biases: Params, *, learning_rate: float = 0.01,
          batch_size: int = 200, epochs: int = 1, activation: str = "relu",
          out_activation: str = "softmax", alpha: float = 0.0, order: ArrayLike | None = None,
          negative_slope: float = 0.01, sample_weight: ArrayLike | None = None,
          ) -> tuple[list[FloatArray], list[FloatArray], FloatArray]:
    X, Ws, bs, act, head, slope = _network(X, weights, biases, activation, out_activation,
                                           negative_slope)
    Y = _c(_arrays.labels_2d(Y, "Y", X.shape[0], X.dtype))
    if Y.shape[1] != Ws[-1].shape[1]:
        raise ValueError(f"Y has {Y.shape[1]} columns but the network has {Ws[-1].shape[1]} outputs")
    lr = _checks.real_scalar(learning_rate, "learning_rate", low=0, low_inclusive=False)
    alpha = _checks.real_scalar(alpha, "alpha", low=0)
    batch_size = _checks.positive_int(batch_size, "batch_size")
    epochs = _checks.positive_int(epochs, "epochs", high=MAX_EPOCHS)
    orders = _checks.batch_order(order, X.shape[0], epochs)
    orders = None if orders is None else _c(orders)
    # A batch larger than the data is the whole data, whatever integer says so.
    batch_size = min(batch_size, X.shape[0] if orders is None else orders.shape[1])
    w = _arrays.sample_weights(sample_weight, X.shape[0], X.dtype)
    if w is not None:
        _check_batch_weights(w, orders, X.shape[0], batch_size)
    # The kernel updates parameters in place: give it copies, never the caller's arrays.
    Ws = [np.array(W, order="C", copy=True) for W in Ws]
    bs = [np.array(b, order="C", copy=True) for b in bs]
    # Plain gradient descent for exactly `epochs` epochs: the stopping rule can never fire.
    config = _epochs.FitConfig(solver=_core.Solver.sgd, learning_rate_init=lr, momentum=0.0,
                               nesterovs_momentum=False, alpha=alpha, batch_size=batch_size,
                               max_iter=epochs, tol=0.0, n_iter_no_change=epochs)
    state = _epochs.FitState(learning_rate=lr)
    status, curve = _epochs.run_epochs(X, Y, None if w is None else _c(w), Ws, bs, config, state,
                                       act=act, head=head, negative_slope=slope, order=orders)
    if status == _core.FitStatus.diverged:
        raise ValueError(f"training diverged in epoch {state.n_iter + 1}: the loss became "
                         f"inf or NaN; lower learning_rate (now {lr:g}) or scale the inputs")
    if status == _core.FitStatus.interrupted:
        raise KeyboardInterrupt("training interrupted; the given weights are unchanged")
    return Ws, bs, np.array(curve)


def _share_docs() -> None:
    """Each kernel-backed twin takes its reference's docstring, with a line saying where it
    is computed before the Examples, which thus run again on the kernels as doctests. The
    text is dedented first: an unindented line added to an indented docstring would leave
    the rest indented, which reST reads as a quotation."""
    import inspect

    from . import reference

    for name in __all__:
        ours, ref = globals()[name], getattr(reference, name)
        if ours is not ref and not ours.__doc__:
            doc = inspect.cleandoc(ref.__doc__ or "")
            text, heading, examples = doc.partition("\nExamples\n--------\n")
            ours.__doc__ = (f"{text.rstrip()}\n\nComputed by nnfast's C++ kernels "
                            f"(:func:`nnfast.reference.{name}` is its NumPy twin).\n")
            if heading:
                ours.__doc__ += f"{heading}{examples}"


_share_docs()
