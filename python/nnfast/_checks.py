"""Argument validation shared by the reference and the kernel-backed functions.

Every public function validates before it computes, so the C++ never sees an
inconsistent size, and a user always gets a ValueError / TypeError naming the
argument and what was expected. Nothing here modifies the caller's arrays.
"""
from __future__ import annotations

import numbers
import operator

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)

# Hidden-layer activations; "sigmoid" is the lecture's name for scikit-learn's "logistic".
_ALIASES = {"sigmoid": "logistic"}
HIDDEN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu")
# Output activations, each paired with the loss whose gradient w.r.t. Z is A - Y:
# squared error, binary cross-entropy, categorical cross-entropy, Poisson deviance.
OUTPUT_ACTIVATIONS = ("identity", "logistic", "softmax", "exp")


def activation_name(name, allowed=HIDDEN_ACTIVATIONS, what="activation"):
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a string, one of {list(allowed)}; got {type(name).__name__}")
    canon = _ALIASES.get(name, name)
    if canon not in allowed:
        raise ValueError(f"{what} must be one of {list(allowed)} (or 'sigmoid'); got {name!r}")
    return canon


def out_activation_name(name):
    return activation_name(name, OUTPUT_ACTIVATIONS, "out_activation")


def real_scalar(value, name, *, low=None, low_inclusive=True, finite=True):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    value = float(value)
    if finite and not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}; got {value}")
    return value


def flag(value, name):
    """A bool (Python or NumPy); anything else, even a truthy string, is refused."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False; got {value!r}")


def positive_int(value, name, *, low=1, high=None):
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer; got bool")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}") from None
    if value < low:
        raise ValueError(f"{name} must be >= {low}; got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}; got {value}")
    return value


def float_array(x, name, *, ndim=None, dtype=None, allow_empty=False, finite=True):
    """Return `x` as a float32/float64 ndarray (no copy when it already is one).

    Integer and bool inputs are rejected rather than silently cast: a network's
    inputs and weights are real numbers, and the caller chooses their precision.
    """
    if not isinstance(x, np.ndarray):
        if isinstance(x, (list, tuple)) or np.isscalar(x):
            try:
                x = np.asarray(x)
            except ValueError as e:  # ragged nested lists
                raise ValueError(f"{name} is not a rectangular array: {e}") from None
            if x.dtype.kind in "iu" and dtype is not None:
                x = x.astype(dtype)
            elif x.dtype.kind in "iu":
                x = x.astype(np.float64)
        else:
            raise TypeError(f"{name} must be a NumPy array; got {type(x).__name__}")
    if x.dtype.kind == "c":
        raise TypeError(f"{name} must be real, not complex ({x.dtype})")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64; got {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{name} has dtype {x.dtype} but the other arrays are {np.dtype(dtype)}; "
                        f"convert them to one precision first")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D; got {x.ndim}-D with shape {x.shape}")
    if not allow_empty and x.size == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    if finite and not all_finite(x):
        raise ValueError(f"{name} contains NaN or infinity")
    return x


# Contiguous float arrays are scanned by _core.all_finite (the largest exponent field): on
# the calling thread, or on the OpenMP threads from this many elements (a whole data set).
# Smaller ones never wake the team: a team woken for a per-batch check (the reference's
# mnist_like step, 100352 values) spins on after it, against OpenBLAS's own threads in
# the same process; at 2 threads the reference's epoch took 19 s instead of 1.5-1.9.
THREADED_CHECK = 1 << 20


def all_finite(x, chunk=1 << 18):
    """True when x holds no NaN or ±inf, found without an x-sized temporary (np.isfinite(X)
    would allocate a bool per element: 47 MB for MNIST, over a fit's memory allowance).
    A contiguous float32 / float64 array is scanned by _core.all_finite, on every thread
    when it is a whole data set (NumPy's sum runs on one: 30 ms of a 0.5 s MNIST epoch),
    else on this one: 0.4 us for 8 values against NumPy's 3.4 (errstate and sum), 7 us
    for a 100352-value batch against 29. Otherwise (strided, other dtypes): the sum is
    finite exactly when every element is, unless it overflows; only then are the rows
    checked, a block of about `chunk` elements at a time."""
    x = np.asarray(x)
    if x.size == 0:
        return True
    if (x.dtype in FLOAT_DTYPES and x.flags.aligned
            and (x.flags.c_contiguous or x.flags.f_contiguous)):
        from . import _core

        flat = x if x.flags.c_contiguous else x.reshape(-1, order="A")
        return _core.all_finite(flat, x.size >= THREADED_CHECK)
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(x.sum(dtype=x.dtype.type)):
            return True
    if x.ndim == 0:
        return bool(np.isfinite(x))
    rows = max(1, chunk // max(1, x.size // x.shape[0]))
    return all(np.isfinite(x[i:i + rows]).all() for i in range(0, x.shape[0], rows))


def labels_2d(Y, name, m, dtype, against="X"):
    """Targets as an (m, k) array: a 1-D y of length m becomes a single column."""
    Y = float_array(Y, name, dtype=dtype)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)
    if Y.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D; got shape {Y.shape}")
    if Y.shape[0] != m:
        raise ValueError(f"{name} has {Y.shape[0]} rows but {against} has {m}")
    return Y


def same_shape(a, b, name_a, name_b):
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; they must match")


class _NoBiases:
    """Stands for the biases when only weights are checked (see weights_only)."""


def weights_only(weights):
    """Check the W[l] chain alone (backprop never reads the biases); returns (Ws, dtype)."""
    Ws, _, dtype = params(weights, _NoBiases())
    return Ws, dtype


def params(weights, biases, n_features=None, names=("weights", "biases")):
    """Check W[l] (n_(l-1), n_l) and b[l] (n_l,) chain together; return them as lists.

    All arrays share one float dtype (that of W[1]). `names` are the arguments'
    names for the messages (gradients are checked by the same rules).
    """
    wn, bn = names
    if not isinstance(weights, (list, tuple)) or not isinstance(biases, (list, tuple, _NoBiases)):
        raise TypeError(f"{wn} and {bn} must be lists of arrays")
    if len(weights) == 0:
        raise ValueError(f"{wn} is empty: a network needs at least one layer")
    if not isinstance(biases, _NoBiases) and len(weights) != len(biases):
        raise ValueError(f"{wn} has {len(weights)} layers but {bn} has {len(biases)}")
    dtype = float_array(weights[0], f"{wn}[0]", ndim=2).dtype
    Ws, bs = [], []
    for l, W in enumerate(weights):
        W = float_array(W, f"{wn}[{l}]", ndim=2, dtype=dtype)
        if l > 0 and W.shape[0] != Ws[-1].shape[1]:
            raise ValueError(f"{wn}[{l}] has {W.shape[0]} rows but layer {l - 1} has "
                             f"{Ws[-1].shape[1]} units")
        Ws.append(W)
        if isinstance(biases, _NoBiases):
            continue
        b = float_array(biases[l], f"{bn}[{l}]", ndim=1, dtype=dtype)
        if b.shape[0] != W.shape[1]:
            raise ValueError(f"{bn}[{l}] has length {b.shape[0]} but {wn}[{l}] has "
                             f"{W.shape[1]} columns (units); they must match")
        bs.append(b)
    if isinstance(biases, _NoBiases):
        bs = None
    if n_features is not None and Ws[0].shape[0] != n_features:
        raise ValueError(f"X has {n_features} features but weights[0] expects {Ws[0].shape[0]}")
    return Ws, bs, dtype


def inputs(X, weights, biases):
    """Validate X (m, d) against the parameters; return X, Ws, bs, dtype."""
    Ws, bs, dtype = params(weights, biases)
    X = float_array(X, "X", ndim=2, dtype=dtype)
    if X.shape[1] != Ws[0].shape[0]:
        raise ValueError(f"X has {X.shape[1]} features but weights[0] expects {Ws[0].shape[0]}")
    return X, Ws, bs, dtype


def batch_order(order, m, epochs):
    """Mini-batch order: None (0..m-1 each epoch), one index array for every epoch,
    or an (epochs, n) array, one row per epoch. Returns an int64 (epochs, n) array or None."""
    if order is None:
        return None
    order = np.asarray(order)
    if order.dtype.kind not in "iu":
        raise TypeError(f"order must hold integer row indices; got dtype {order.dtype}")
    if order.ndim == 1:
        order = np.broadcast_to(order, (epochs, order.shape[0]))
    if order.ndim != 2 or order.shape[0] != epochs:
        raise ValueError(f"order must be 1-D or have shape (epochs={epochs}, n); got {order.shape}")
    if order.shape[1] == 0:
        raise ValueError("order is empty")
    if order.min() < 0 or order.max() >= m:
        raise ValueError(f"order holds row indices outside [0, {m})")
    return np.ascontiguousarray(order, dtype=np.int64)


def gradients_like(Ws, bs, grads_W, grads_b):
    """Check gradients match the parameters layer by layer: same count, shapes and dtype."""
    dWs, dbs, gdtype = params(grads_W, grads_b, names=("grads_W", "grads_b"))
    if len(dWs) != len(Ws):
        raise ValueError(f"grads_W has {len(dWs)} layers but weights has {len(Ws)}")
    if gdtype != Ws[0].dtype:
        raise TypeError(f"gradients have dtype {gdtype} but parameters have {Ws[0].dtype}")
    for l, (W, dW, b, db) in enumerate(zip(Ws, dWs, bs, dbs)):
        same_shape(W, dW, f"weights[{l}]", f"grads_W[{l}]")
        same_shape(b, db, f"biases[{l}]", f"grads_b[{l}]")
    return dWs, dbs


def softmax_input(Z):
    Z = float_array(Z, "Z", allow_empty=True, finite=False)
    if Z.ndim not in (1, 2):
        raise ValueError(f"Z must be 1-D or 2-D; got shape {Z.shape}")
    if Z.shape[-1] == 0:
        raise ValueError(f"Z has no columns (shape {Z.shape}): softmax needs at least one class")
    return Z


def sample_weights(sample_weight, m, dtype):
    """None, or m non-negative finite weights (any real dtype, cast to `dtype`) with a
    positive sum."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "fiu" or w.dtype.kind == "b":
        raise TypeError(f"sample_weight must be real numbers; got dtype {w.dtype}")
    w = w.astype(dtype, copy=False)
    if w.ndim != 1 or w.shape[0] != m:
        raise ValueError(f"sample_weight must have shape ({m},); got {w.shape}")
    if not all_finite(w) or (w < 0).any():
        raise ValueError("sample_weight must be finite and non-negative")
    if not w.sum() > 0:
        raise ValueError("sample_weight must have a positive sum")
    return w
