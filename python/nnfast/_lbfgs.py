"""scikit-learn's L-BFGS fit: the whole data set's loss and gradient, one kernel call
(dense) or one per row chunk (sparse), minimised by scipy's L-BFGS-B.

Conventions that differ from the kernels' own (and are handled here):

* scikit-learn's squared-error loss *value* is ½·mean over all elements, i.e. the kernels'
  J (½‖a − y‖² per row) divided by the number of outputs (``loss_scale``); its gradient,
  though, is the kernels' (A − Y)/n, not divided. Loss values are converted; gradients
  are not. The L2 term is the same in both.
* scikit-learn computes log-losses from probabilities clipped to [eps, 1 − eps]; the
  kernels compute them from the logits (logsumexp − z), which is the same number except
  where a probability saturates below eps, where scikit-learn's value is capped.
"""
from __future__ import annotations

import numpy as np

from . import _core, _inference
from ._inference import dense_rows, is_sparse


def l2_value(Ws, alpha, sw_sum):
    """scikit-learn's L2 term 0.5 · alpha · Σ‖W‖² / Σw, summed the way it sums it."""
    if not alpha:
        return 0.0
    values = 0
    for W in Ws:
        s = W.ravel()
        values += np.dot(s, s)
    return float((0.5 * alpha) * values / sw_sum)


class FlatParams:
    """The parameters as one float64 vector (scikit-learn's _pack order: every W
    flattened, then every b) and views of it as the kernel's arrays."""

    def __init__(self, shapes_W, shapes_b, dtype):
        self.dtype = np.dtype(dtype)
        self.slices, start = [], 0
        for shape in list(shapes_W) + list(shapes_b):
            size = int(np.prod(shape))
            self.slices.append((start, start + size, tuple(shape)))
            start += size
        self.size = start
        self.L = len(shapes_W)
        # gradients are written by the kernel straight into views of one flat buffer
        self.grad = np.empty(self.size, dtype=self.dtype)
        views = [self.grad[a:b].reshape(s) for a, b, s in self.slices]
        self.dWs, self.dbs = views[:self.L], views[self.L:]

    @staticmethod
    def pack(Ws, bs):
        return np.hstack([p.ravel() for p in list(Ws) + list(bs)])

    def unpack(self, x):
        """Views (or, for float32, copies) of x as the kernel's W and b lists."""
        x = np.asarray(x)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        arrays = [x[a:b].reshape(s) for a, b, s in self.slices]
        return arrays[:self.L], arrays[self.L:]


def full_loss_and_gradients(x, flat, X, Y, sample_weight, net_codes, alpha, loss_scale,
                            chunks=None, exchange=None):
    """scikit-learn's (loss, packed gradient (size,)) of the whole data set X (n, d),
    Y (n, k), weights (n,) or None, at the packed parameters x (size,).

    Dense X: one kernel call. Sparse X: row chunks densified in turn, the kernel run on
    each with no L2 term, the weighted means combined, then the L2 term added. With
    `chunks` (reduction_chunks): that many chunk gradients added in the fixed tree, X dense
    or CSR rows, with the other processes of `exchange` (nnfast.distributed) when given.
    """
    act, slope, head = net_codes
    Ws, bs = flat.unpack(x)
    if chunks:
        J = _core.chunked_loss_and_gradients(flat.dWs, flat.dbs, X, Y, sample_weight, Ws, bs,
                                             act, slope, head, alpha, 1.0 / loss_scale,
                                             int(chunks), exchange)
        return J, flat.grad.astype(np.float64)
    if not is_sparse(X):
        J = _core.loss_and_gradients(flat.dWs, flat.dbs, X, Y, Ws, bs, act, slope, head,
                                     alpha, sample_weight)
        if loss_scale != 1:
            sw_sum = (X.shape[0] if sample_weight is None
                      else float(sample_weight.sum(dtype=np.float64)))
            l2 = l2_value(Ws, alpha, sw_sum)
            J = (J - l2) / loss_scale + l2
        return J, flat.grad.astype(np.float64)  # a fresh array: scipy may keep it

    n = X.shape[0]
    sw_total = float(n if sample_weight is None else sample_weight.sum(dtype=np.float64))
    total = np.zeros(flat.size, dtype=np.float64)
    data = 0.0
    chunk = _inference.SPARSE_CHUNK_ROWS  # read at the call: tests set it smaller
    for start in range(0, n, chunk):
        rows = slice(start, min(n, start + chunk))
        wc = None if sample_weight is None else sample_weight[rows]
        swc = float(rows.stop - rows.start if wc is None else wc.sum(dtype=np.float64))
        if not swc > 0:
            continue
        Jc = _core.loss_and_gradients(flat.dWs, flat.dbs, dense_rows(X, rows, flat.dtype),
                                      Y[rows], Ws, bs, act, slope, head, 0.0, wc)
        data += Jc * swc
        total += flat.grad * swc
    total /= sw_total
    if alpha:
        for layer, W in enumerate(Ws):
            a, b, _ = flat.slices[layer]
            total[a:b] += (alpha / sw_total) * W.ravel()
    l2 = l2_value(Ws, alpha, sw_total)
    return data / sw_total / loss_scale + l2, total


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on threadpoolctl
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def lbfgs_fit(X, Y, sample_weight, net, alpha, loss_scale, max_iter, max_fun, tol, iprint,
              chunks=None, session=None):
    """scikit-learn's _fit_lbfgs: scipy's L-BFGS-B on the packed parameters, with its
    options. Writes the result into net's arrays (a nnfast._inference.Net); returns
    scipy's OptimizeResult. chunks: reduction_chunks; session: nnfast.distributed's, whose
    ranks then each compute their chunks of every evaluation (scipy's iterations, the same
    numbers on every rank, call it in step)."""
    import scipy.optimize

    try:
        from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
        extra = _get_additional_lbfgs_options_dict("iprint", iprint)
    except ImportError:  # pragma: no cover - older or newer scikit-learn
        extra = {}
    flat = FlatParams([W.shape for W in net.Ws], [b.shape for b in net.bs], net.Ws[0].dtype)
    codes = (net.act, net.slope, net.head)
    exchange = None
    if chunks:
        if chunks > X.shape[0]:
            raise ValueError(f"reduction_chunks={chunks} is larger than the {X.shape[0]} "
                             f"samples L-BFGS takes in one batch")
        if is_sparse(X):
            from ._epochs import _csr_rows

            X = _csr_rows(X.tocsr(), flat.dtype)
        if session is not None:
            exchange = session.route(chunks, list(net.Ws) + list(net.bs), None)
    # L-BFGS-B's own vector work is O(10 · n_params) per step: BLAS threads cost far more
    # than they save there (and spin badly on a busy machine), so scipy runs on one.
    with _one_blas_thread():
        res = scipy.optimize.minimize(
            full_loss_and_gradients, FlatParams.pack(net.Ws, net.bs), method="L-BFGS-B",
            jac=True, options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol, **extra},
            args=(flat, X, Y, sample_weight, codes, alpha, loss_scale, chunks, exchange))
    Ws, bs = flat.unpack(res.x)
    for dst, src in zip(net.params, Ws + bs):
        np.copyto(dst, src)
    return res
