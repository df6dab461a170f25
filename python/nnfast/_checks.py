"""Argument validation shared by the reference and the kernel-backed functions.

Every public function validates before it computes, so the C++ never sees an
inconsistent size, and a user always gets a ValueError / TypeError naming the
argument and what was expected. Nothing here modifies the caller's arrays, and
nothing makes a temporary the size of a data set (X may be a memory map larger than
memory): scans and encodings go a block of rows at a time.
"""
from __future__ import annotations

import numbers
import operator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy.typing as npt

    from ._typing import ArrayLike, FloatArray, IntArray

FLOAT_DTYPES = (np.float32, np.float64)

# Hidden-layer activations; "sigmoid" is the lecture's name for scikit-learn's "logistic".
_ALIASES = {"sigmoid": "logistic"}
HIDDEN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu")
# Output activations, each paired with the loss whose gradient w.r.t. Z is A - Y:
# squared error, binary cross-entropy, categorical cross-entropy, Poisson deviance.
OUTPUT_ACTIVATIONS = ("identity", "logistic", "softmax", "exp")


def activation_name(name: object, allowed: Sequence[str] = HIDDEN_ACTIVATIONS,
                    what: str = "activation") -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a string, one of {list(allowed)}; got {type(name).__name__}")
    canon = _ALIASES.get(name, name)
    if canon not in allowed:
        raise ValueError(f"{what} must be one of {list(allowed)} (or 'sigmoid'); got {name!r}")
    return canon


def out_activation_name(name: object) -> str:
    return activation_name(name, OUTPUT_ACTIVATIONS, "out_activation")


def real_scalar(value: object, name: str, *, low: float | None = None, low_inclusive: bool = True,
                finite: bool = True) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    value = float(value)
    if finite and not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}; got {value}")
    return value


def flag(value: object, name: str) -> bool:
    """A bool (Python or NumPy); anything else, even a truthy string, is refused."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False; got {value!r}")


def positive_int(value: Any, name: str, *, low: int = 1, high: int | None = None) -> int:
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


def all_finite(x: ArrayLike, chunk: int = 1 << 18) -> bool:
    """True when x holds no NaN or ±inf, by NumPy alone and without an x-sized temporary
    (np.isfinite(X) would allocate a bool per element: 47 MB for MNIST, over a fit's
    memory allowance): the sum is finite exactly when every element is, unless it
    overflows; only then are the rows checked, a block of about `chunk` elements at a
    time. The kernel-backed functions pass a faster scan of their own to ArrayChecks."""
    x = np.asarray(x)
    if x.size == 0:
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        # the scalar type, not the dtype: a byte-swapped array's dtype is no ufunc signature
        if np.isfinite(x.sum(dtype=x.dtype.type)):
            return True
    if x.ndim == 0:
        return bool(np.isfinite(x))
    rows = max(1, chunk // max(1, x.size // x.shape[0]))
    return all(np.isfinite(x[i:i + rows]).all() for i in range(0, x.shape[0], rows))


# Rows of a classifier's y binarised at a time. scikit-learn's label_binarize builds the whole
# one-hot matrix as CSR arrays and then densifies it to int64: about 40 + 8 · n_classes
# bytes a row at its peak (172 MB for 1.5 million rows of 10 classes, whose bool result is
# 14 MB); a block of rows costs a few MB.
LABEL_BLOCK_ROWS = 1 << 16


def _plain_labels(y: Any) -> bool:
    """Whether y is a 1-D array of whole-number labels (integers, or floats that all equal
    their int64 cast, as type_of_target tests them, with no -0.0 whose sign scikit-learn
    might keep or drop) in native byte order: what scikit-learn calls binary (at most two
    values) or multiclass, and what the fast paths below encode without its checks (~1 ms
    a fit, most of a small fit's fixed cost). Anything else takes scikit-learn's path."""
    if not (isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "iuf"
            and y.dtype.isnative):
        return False
    if y.dtype.kind == "f":
        with np.errstate(invalid="ignore"):  # NaN / inf cast: not whole, scikit-learn's path
            if not (y == y.astype(np.int64)).all():
                return False
        return not (np.signbit(y) & (y == 0)).any()
    return True


def _default_binarizer(binarizer: Any) -> bool:
    return (not binarizer.sparse_output and binarizer.neg_label == 0
            and binarizer.pos_label == 1)


def fit_binarizer(binarizer: Any, y: Any) -> Any:
    """``binarizer.fit(y)`` for a scikit-learn LabelBinarizer: for plain labels y
    (n,) set directly to what fit sets (classes_ = the sorted distinct labels, in y's
    dtype, as unique_labels returns them; y_type_ 'binary' for at most two of them, else
    'multiclass'; sparse_input_ False); otherwise fit itself."""
    if not (_plain_labels(y) and _default_binarizer(binarizer) and y.shape[0] > 0):
        return binarizer.fit(y)
    classes = np.unique(y)
    binarizer.y_type_ = "multiclass" if classes.size > 2 else "binary"
    binarizer.sparse_input_ = False
    binarizer.classes_ = classes
    return binarizer


def _one_hot(binarizer: Any, y: Any, block_rows: int) -> npt.NDArray[np.bool_] | None:
    """The indicator matrix of plain labels y (n,), each one of the binarizer's two or
    more sorted numeric classes: (n, 1) `y == classes[1]` for two classes, else
    (n, n_classes) one-hot, as label_binarize gives them. None (then the binarizer
    decides) for any other y or binarizer, or a label not among the classes."""
    classes = getattr(binarizer, "classes_", None)
    if not (_plain_labels(y) and _default_binarizer(binarizer)
            and binarizer.y_type_ in ("binary", "multiclass") and isinstance(classes, np.ndarray)
            and classes.ndim == 1 and classes.dtype.kind in "iuf" and classes.size >= 2
            and bool((classes[1:] > classes[:-1]).all())):
        return None
    n, k = y.shape[0], classes.size
    out = np.zeros((n, 1 if k == 2 else k), dtype=bool)
    for start in range(0, n, block_rows):
        block = y[start:start + block_rows]
        idx = np.minimum(np.searchsorted(classes, block), k - 1)
        if not (classes[idx] == block).all():
            return None
        if k == 2:
            out[start:start + block.shape[0], 0] = idx == 1
        else:
            out[np.arange(start, start + block.shape[0]), idx] = True
    return out


def binarize_labels(binarizer: Any, y: Any, block_rows: int | None = None) -> npt.NDArray[np.bool_]:
    """``binarizer.transform(y).astype(bool)`` for a fitted scikit-learn LabelBinarizer and
    y of shape (n,) or (n, k): the indicator matrix (n, n_outputs), built a block of rows at
    a time into the result, so the memory beyond it is O(block_rows · n_classes)
    (block_rows: LABEL_BLOCK_ROWS by default).

    Each row's encoding depends on that row and the binarizer's classes alone, so the
    blocks give the same matrix, and y of a type the binarizer refuses (checked once, on
    the whole y) gets the binarizer's own error. Sparse and small y go in one call. Every
    label of y must be one of the classes (the estimators check that first): label_binarize
    encodes an unknown label by the set of labels it is given with, which blocks change."""
    from sklearn.utils.multiclass import type_of_target

    block_rows = LABEL_BLOCK_ROWS if block_rows is None else block_rows
    direct = _one_hot(binarizer, y, block_rows)
    if direct is not None:
        return direct
    n = y.shape[0] if hasattr(y, "shape") else len(y)
    if (n <= block_rows or not isinstance(y, np.ndarray) or binarizer.sparse_output
            or type_of_target(y) not in ("binary", "multiclass", "multilabel-indicator")):
        return binarizer.transform(y).astype(bool)
    first = binarizer.transform(y[:block_rows])
    out = np.empty((n,) + first.shape[1:], dtype=bool)
    for start in range(0, n, block_rows):
        block = first if start == 0 else binarizer.transform(y[start:start + block_rows])
        # the cast astype(bool) makes: nonzero -> True
        np.copyto(out[start:start + block_rows], block, casting="unsafe")
    return out


def decode_labels(binarizer: Any, y_pred: FloatArray) -> npt.NDArray[Any]:
    """``binarizer.inverse_transform(y_pred)`` for a fitted LabelBinarizer and a network's
    outputs y_pred, (n,) for one output or (n, k): for the default binarizer (labels 0 / 1,
    dense) of two or more classes, binary or multiclass, directly as inverse_transform
    computes it (classes[y_pred > 0.5]; classes[argmax of each row], the first maximum),
    without its checks (~35 us, a third of predicting a few rows); otherwise by it."""
    classes = getattr(binarizer, "classes_", None)
    if (_default_binarizer(binarizer) and not getattr(binarizer, "sparse_input_", True)
            and isinstance(classes, np.ndarray) and classes.ndim == 1 and classes.size >= 2
            and isinstance(y_pred, np.ndarray) and y_pred.dtype.kind == "f"):
        if binarizer.y_type_ == "binary" and y_pred.ndim == 1:
            return classes[(y_pred > 0.5).astype(np.intp)]
        if (binarizer.y_type_ == "multiclass" and y_pred.ndim == 2
                and y_pred.shape[1] == classes.size):
            return classes[np.argmax(y_pred, axis=1)]
    return binarizer.inverse_transform(y_pred)


def same_shape(a: FloatArray, b: FloatArray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; they must match")


def batch_order(order: ArrayLike | None, m: int, epochs: int) -> IntArray | None:
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


class _NoBiases:
    """Stands for the biases when only weights are checked (see weights_only)."""


class ArrayChecks:
    """The array arguments' checks, with the NaN / inf scan they use (`all_finite(x) ->
    bool`). The NumPy reference uses the module-level names below (NumPy's scan: the
    oracle never reaches the compiled extension); nnfast.functional makes its own instance
    with the extension's scan."""

    def __init__(self, all_finite: Callable[[FloatArray], bool]) -> None:
        self.all_finite = all_finite

    def float_array(self, x: object, name: str, *, ndim: int | None = None,
                    dtype: npt.DTypeLike | None = None, allow_empty: bool = False,
                    finite: bool = True) -> FloatArray:
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
        if finite and not self.all_finite(x):
            raise ValueError(f"{name} contains NaN or infinity")
        return x

    def labels_2d(self, Y: object, name: str, m: int, dtype: npt.DTypeLike,
                  against: str = "X") -> FloatArray:
        """Targets as an (m, k) array: a 1-D y of length m becomes a single column."""
        Y = self.float_array(Y, name, dtype=dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if Y.ndim != 2:
            raise ValueError(f"{name} must be 1-D or 2-D; got shape {Y.shape}")
        if Y.shape[0] != m:
            raise ValueError(f"{name} has {Y.shape[0]} rows but {against} has {m}")
        return Y

    def weights_only(self, weights: object) -> tuple[list[FloatArray], np.dtype[Any]]:
        """Check the W[l] chain alone (backprop never reads the biases); returns (Ws, dtype)."""
        Ws, _, dtype = self.params(weights, _NoBiases())
        return Ws, dtype

    def params(self, weights: object, biases: object, n_features: int | None = None,
               names: tuple[str, str] = ("weights", "biases"),
               ) -> tuple[list[FloatArray], list[FloatArray], np.dtype[Any]]:
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
        dtype = self.float_array(weights[0], f"{wn}[0]", ndim=2).dtype
        Ws: list[FloatArray] = []
        bs: list[FloatArray] = []  # stays empty for _NoBiases
        for l, W in enumerate(weights):
            W = self.float_array(W, f"{wn}[{l}]", ndim=2, dtype=dtype)
            if l > 0 and W.shape[0] != Ws[-1].shape[1]:
                raise ValueError(f"{wn}[{l}] has {W.shape[0]} rows but layer {l - 1} has "
                                 f"{Ws[-1].shape[1]} units")
            Ws.append(W)
            if isinstance(biases, _NoBiases):
                continue
            b = self.float_array(biases[l], f"{bn}[{l}]", ndim=1, dtype=dtype)
            if b.shape[0] != W.shape[1]:
                raise ValueError(f"{bn}[{l}] has length {b.shape[0]} but {wn}[{l}] has "
                                 f"{W.shape[1]} columns (units); they must match")
            bs.append(b)
        if n_features is not None and Ws[0].shape[0] != n_features:
            raise ValueError(f"X has {n_features} features but weights[0] expects {Ws[0].shape[0]}")
        return Ws, bs, dtype

    def inputs(self, X: object, weights: object, biases: object,
               ) -> tuple[FloatArray, list[FloatArray], list[FloatArray], np.dtype[Any]]:
        """Validate X (m, d) against the parameters; return X, Ws, bs, dtype."""
        Ws, bs, dtype = self.params(weights, biases)
        X = self.float_array(X, "X", ndim=2, dtype=dtype)
        if X.shape[1] != Ws[0].shape[0]:
            raise ValueError(f"X has {X.shape[1]} features but weights[0] expects {Ws[0].shape[0]}")
        return X, Ws, bs, dtype

    def gradients_like(self, Ws: list[FloatArray], bs: list[FloatArray], grads_W: object,
                       grads_b: object) -> tuple[list[FloatArray], list[FloatArray]]:
        """Check gradients match the parameters layer by layer: same count, shapes and dtype."""
        dWs, dbs, gdtype = self.params(grads_W, grads_b, names=("grads_W", "grads_b"))
        if len(dWs) != len(Ws):
            raise ValueError(f"grads_W has {len(dWs)} layers but weights has {len(Ws)}")
        if gdtype != Ws[0].dtype:
            raise TypeError(f"gradients have dtype {gdtype} but parameters have {Ws[0].dtype}")
        for l, (W, dW, b, db) in enumerate(zip(Ws, dWs, bs, dbs)):
            same_shape(W, dW, f"weights[{l}]", f"grads_W[{l}]")
            same_shape(b, db, f"biases[{l}]", f"grads_b[{l}]")
        return dWs, dbs

    def softmax_input(self, Z: object) -> FloatArray:
        Z = self.float_array(Z, "Z", allow_empty=True, finite=False)
        if Z.ndim not in (1, 2):
            raise ValueError(f"Z must be 1-D or 2-D; got shape {Z.shape}")
        if Z.shape[-1] == 0:
            raise ValueError(f"Z has no columns (shape {Z.shape}): softmax needs at least one class")
        return Z

    def sample_weights(self, sample_weight: ArrayLike | None, m: int,
                       dtype: npt.DTypeLike) -> FloatArray | None:
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
        if not self.all_finite(w) or (w < 0).any():
            raise ValueError("sample_weight must be finite and non-negative")
        if not w.sum() > 0:
            raise ValueError("sample_weight must have a positive sum")
        return w


# The reference's checks: NumPy only.
_numpy_checks = ArrayChecks(all_finite)
float_array = _numpy_checks.float_array
labels_2d = _numpy_checks.labels_2d
weights_only = _numpy_checks.weights_only
params = _numpy_checks.params
inputs = _numpy_checks.inputs
gradients_like = _numpy_checks.gradients_like
softmax_input = _numpy_checks.softmax_input
sample_weights = _numpy_checks.sample_weights
