"""Forward passes over a whole data set: prediction and the validation loss, dense or
sparse (a sparse X is densified in row chunks, so memory stays O(chunk · features)).

:class:`Net` is the network as the kernels see it; the estimators build one for every
forward pass, the L-BFGS objective (nnfast._lbfgs) and the epoch loop (nnfast._epochs).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import _core
from ._codes import ACTIVATIONS, HEADS

if TYPE_CHECKING:
    import numpy.typing as npt

    from ._typing import ArrayLike, FloatArray

# Rows densified at a time from a sparse X (prediction, validation, L-BFGS).
SPARSE_CHUNK_ROWS = 2048


class Net:
    """The network as the kernels see it: lists of C-contiguous W[l] (n_(l-1), n_l) and
    b[l] (n_l,) of one float dtype (updated in place by training), the hidden activation
    and the output head as _core enums, and leaky ReLU's negative slope."""

    def __init__(self, Ws: list[FloatArray], bs: list[FloatArray], activation: str,
                 out_activation: str, slope: float = 0.01) -> None:
        self.Ws, self.bs = Ws, bs
        self.act, self.head = ACTIVATIONS[activation], HEADS[out_activation]
        self.slope = float(slope)

    @property
    def params(self) -> list[FloatArray]:
        return self.Ws + self.bs


def kernel_array(x: ArrayLike, dtype: npt.DTypeLike | None = None) -> npt.NDArray[Any]:
    """x as the kernels read it, through a T*: C-contiguous, aligned to its element size, of
    `dtype` when given. A copy only where x lacks one of those (a C-contiguous array at an
    odd address, as ``distributed`` workers and ``np.frombuffer`` hand over, is copied)."""
    return np.require(np.asarray(x, dtype=dtype), requirements=("C", "A"))


def is_sparse(X: object) -> bool:
    return hasattr(X, "tocsr") and not isinstance(X, np.ndarray)


def dense_rows(X: Any, rows: slice | npt.NDArray[np.integer[Any]], dtype: npt.DTypeLike,
               ) -> npt.NDArray[Any]:
    """X[rows] as a C-contiguous dense array of `dtype` (rows: a slice or an index array)."""
    Xb = X[rows]
    if is_sparse(Xb):
        Xb = Xb.toarray()
    return kernel_array(Xb, dtype)


def predict(X: Any, Ws: list[FloatArray], bs: list[FloatArray], act: int, slope: float,
            head: int) -> FloatArray:
    """The network's output (m, n_L) for X (m, d): dense of the parameters' dtype, or
    sparse (hence Any: SciPy is untyped)."""
    dtype = Ws[0].dtype
    out = np.empty((X.shape[0], Ws[-1].shape[1]), dtype=dtype)
    if not is_sparse(X):
        _core.predict(out, kernel_array(X, dtype), Ws, bs, act, slope, head)
        return out
    for start in range(0, X.shape[0], SPARSE_CHUNK_ROWS):
        rows = slice(start, min(X.shape[0], start + SPARSE_CHUNK_ROWS))
        _core.predict(out[rows], dense_rows(X, rows, dtype), Ws, bs, act, slope, head)
    return out


def evaluate(X: Any, Y: FloatArray, sample_weight: FloatArray | None, net: Net, loss_scale: float,
             chunk_rows: int = SPARSE_CHUNK_ROWS) -> tuple[FloatArray, float]:
    """Outputs (n, k) and mean data loss (scikit-learn's convention, no L2 term, divided
    by loss_scale) on a validation set X (n, d), Y (n, k), weights (n,) or None, from one
    forward pass: logits by the kernels, then the fused output loss (which computes the
    loss from the logits and the outputs from them)."""
    n, dtype = X.shape[0], Y.dtype
    k = Y.shape[1]
    out = np.empty((n, k), dtype=dtype)
    dZ = np.empty((min(n, chunk_rows), k), dtype=dtype)
    total = 0.0
    for start in range(0, n, chunk_rows):
        rows = slice(start, min(n, start + chunk_rows))
        m = rows.stop - rows.start
        Xc = dense_rows(X, rows, dtype)
        As = [np.empty((m, W.shape[1]), dtype=dtype) for W in net.Ws]
        _core.forward(As, Xc, net.Ws, net.bs, net.act, net.slope, net.head, True)
        w = None if sample_weight is None else kernel_array(sample_weight[rows])
        Yc = kernel_array(Y[rows])
        if w is not None and not w.sum(dtype=np.float64) > 0:
            # rows of no weight add nothing to the loss; their outputs are still wanted
            _core.output_loss(out[rows], dZ[:m], As[-1], Yc, None, net.head)
        else:
            total += _core.output_loss(out[rows], dZ[:m], As[-1], Yc, w, net.head)
    sw = float(n if sample_weight is None else sample_weight.sum(dtype=np.float64))
    return out, (total / sw / loss_scale if sw > 0 else np.nan)
