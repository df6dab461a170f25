"""The estimators' training loops: scikit-learn's stochastic epoch loop and its L-BFGS fit,
each batch's loss and gradients computed by one kernel call.

Everything a loop reads or changes is an argument: the data, the parameters (updated in
place), the optimizer (and its state), a ``config`` dict of hyper-parameters, a ``state``
dict of the bookkeeping carried across calls (``t``, the best loss or validation score,
the no-improvement count), the RandomState that shuffles, the arrays that keep the best
parameters, and an ``epoch_end`` hook. :func:`stochastic_fit` is the Python twin of the C++
loop ``nnfast._core.fit`` (same config and state keys, same status codes), so the
estimators can run either one.

Conventions that differ from the kernels' own (and are handled here):

* scikit-learn's squared-error loss *value* is ½·mean over all elements, i.e. the kernels'
  J (½‖a − y‖² per row) divided by the number of outputs; its gradient, though, is the
  kernels' (A − Y)/n, not divided. Loss values (loss_curve_, the tol rule, the objective
  L-BFGS sees) are converted; gradients are not. The L2 term is the same in both.
* scikit-learn computes log-losses from probabilities clipped to [eps, 1 − eps]; the
  kernels compute them from the logits (logsumexp − z), which is the same number except
  where a probability saturates below eps, where scikit-learn's value is capped.
"""
from __future__ import annotations

import os

import numpy as np

from . import _core

# Status codes, the same as nnfast._core.fit's (csrc/nn/fit.h, FitStatus).
MAX_ITER, CONVERGED, INCREMENTAL, STOPPED, INTERRUPTED, DIVERGED = range(6)

# The kernels' enum codes (csrc/nn/activations.h, csrc/nn/output_loss.h).
ACT = {"identity": 0, "logistic": 1, "tanh": 2, "relu": 3, "leaky_relu": 4}
HEAD = {"identity": 0, "logistic": 1, "softmax": 2, "exp": 3}

# Rows densified at a time from a sparse X (prediction, validation, L-BFGS).
SPARSE_CHUNK_ROWS = 2048


class Net:
    """The network as the kernels see it: lists of C-contiguous W[l] (n_(l-1), n_l) and
    b[l] (n_l,) of one float dtype, updated in place by the loops, and the codes of the
    hidden activation, its negative slope (leaky ReLU) and the output head."""

    def __init__(self, Ws, bs, activation, out_activation, slope=0.01):
        self.Ws, self.bs = Ws, bs
        self.act, self.head, self.slope = ACT[activation], HEAD[out_activation], float(slope)

    @property
    def params(self):
        return self.Ws + self.bs


def is_sparse(X):
    return hasattr(X, "tocsr") and not isinstance(X, np.ndarray)


def dense_rows(X, rows, dtype):
    """X[rows] as a C-contiguous dense array of `dtype` (rows: a slice or an index array)."""
    Xb = X[rows]
    if is_sparse(Xb):
        Xb = Xb.toarray()
    return np.ascontiguousarray(Xb, dtype=dtype)


def l2_value(Ws, alpha, sw_sum):
    """scikit-learn's L2 term 0.5 · alpha · Σ‖W‖² / Σw, summed the way it sums it."""
    if not alpha:
        return 0.0
    values = 0
    for W in Ws:
        s = W.ravel()
        values += np.dot(s, s)
    return float((0.5 * alpha) * values / sw_sum)


def batch_loss_and_gradients(dWs, dbs, Xb, Yb, wb, net, alpha, loss_scale):
    """One kernel call: writes dWs, dbs and returns scikit-learn's loss value for the batch.

    The kernel's J is the weighted mean loss plus the L2 term; scikit-learn's value divides
    the data part by `loss_scale` (the number of outputs for squared error, else 1).
    """
    J = _core.loss_and_gradients(dWs, dbs, Xb, Yb, net.Ws, net.bs, net.act, net.slope,
                                 net.head, alpha, wb)
    if loss_scale != 1:
        sw_sum = Xb.shape[0] if wb is None else float(wb.sum(dtype=np.float64))
        l2 = l2_value(net.Ws, alpha, sw_sum)
        J = (J - l2) / loss_scale + l2
    return J


# ---------------------------------------------------------------------------
# The stochastic loop: scikit-learn's _fit_stochastic, epoch by epoch
# ---------------------------------------------------------------------------

def new_state(t=0):
    """The bookkeeping a fit carries across calls, with _core.fit's keys."""
    return {"t": t, "n_iter": 0, "loss": np.nan, "best_loss": np.inf,
            "best_validation_score": -np.inf, "no_improvement_count": 0}


def _update_no_improvement(config, state, loss, val_score, params, best):
    """scikit-learn's _update_no_improvement_count: on the validation score when early
    stopping (copying the parameters into `best` when it improves), else on the loss."""
    tol = config["tol"]
    if config["early_stopping"]:
        if val_score is None:  # as the C++ loop: no score counts as no improvement
            val_score = np.nan
        if val_score < state["best_validation_score"] + tol:
            state["no_improvement_count"] += 1
        else:
            state["no_improvement_count"] = 0
        if val_score > state["best_validation_score"]:
            state["best_validation_score"] = val_score
            for dst, src in zip(best, params):
                np.copyto(dst, src)
    else:
        if loss > state["best_loss"] - tol:
            state["no_improvement_count"] += 1
        else:
            state["no_improvement_count"] = 0
        if loss < state["best_loss"]:
            state["best_loss"] = loss


def stochastic_fit(X, Y, sample_weight, net, optimizer, config, state, rng=None, best=None,
                   epoch_end=None, log=None):
    """Epochs of mini-batch training, scikit-learn's ``_fit_stochastic`` step for step.

    X: (n, d) C-contiguous array, or a CSR matrix (densified one batch at a time);
    Y: (n, k) C-contiguous of X's dtype; sample_weight: (n,) or None.
    net: :class:`Net`, its arrays updated in place; optimizer: from :mod:`._optimizers`.
    config: batch_size, max_iter, tol, n_iter_no_change, alpha, loss_scale, incremental,
    early_stopping. state: see :func:`new_state`; updated in place (``n_iter`` counts this
    call's epochs). rng: a RandomState to shuffle with (sklearn.utils.shuffle of the row
    indices each epoch), or None for no shuffling. best: arrays (W's then b's) that receive
    the parameters each time the validation score improves (early stopping).
    epoch_end(epoch, loss) -> (continue, validation_score) is called after each epoch
    (epoch counts from 1 in this call); the score is used when early stopping.
    log prints the stopping messages (verbose).

    Returns (status, loss_curve): one of MAX_ITER, CONVERGED, INCREMENTAL, STOPPED or
    INTERRUPTED, and this call's epoch losses. A batch whose sample weights sum to zero
    carries no information and is skipped (scikit-learn divides by its zero weight sum).
    """
    from sklearn.utils import gen_batches, shuffle

    n = X.shape[0]
    dtype = Y.dtype
    batch_size = int(config["batch_size"])
    alpha, loss_scale = config["alpha"], config["loss_scale"]
    sparse = is_sparse(X)
    params = net.params
    dWs = [np.empty_like(W) for W in net.Ws]
    dbs = [np.empty_like(b) for b in net.bs]
    grads = dWs + dbs
    sample_idx = np.arange(n, dtype=int)
    curve = []
    state["n_iter"] = 0
    try:
        for _ in range(int(config["max_iter"])):
            if rng is not None:
                sample_idx = shuffle(sample_idx, random_state=rng)
            accumulated_loss = 0.0
            for batch_slice in gen_batches(n, batch_size):
                rows = sample_idx[batch_slice] if rng is not None else batch_slice
                Xb = dense_rows(X, rows, dtype) if (sparse or rng is not None) else X[rows]
                Yb = Y[rows]
                wb = None if sample_weight is None else sample_weight[rows]
                if wb is not None and not wb.sum(dtype=np.float64) > 0:
                    continue
                J = batch_loss_and_gradients(dWs, dbs, Xb, Yb, wb, net, alpha, loss_scale)
                accumulated_loss += J * (batch_slice.stop - batch_slice.start)
                optimizer.update_params(params, grads)

            state["n_iter"] += 1
            loss = accumulated_loss / n
            state["loss"] = loss
            state["t"] += n
            curve.append(loss)
            go_on, val_score = True, None
            if epoch_end is not None:
                go_on, val_score = epoch_end(state["n_iter"], loss)
            _update_no_improvement(config, state, loss, val_score, params, best)
            optimizer.iteration_ends(state["t"])
            if state["no_improvement_count"] > config["n_iter_no_change"]:
                if config["early_stopping"]:
                    msg = ("Validation score did not improve more than tol=%f for %d "
                           "consecutive epochs." % (config["tol"], config["n_iter_no_change"]))
                else:
                    msg = ("Training loss did not improve more than tol=%f for %d "
                           "consecutive epochs." % (config["tol"], config["n_iter_no_change"]))
                if optimizer.trigger_stopping(msg, log):
                    return CONVERGED, curve
                state["no_improvement_count"] = 0
            if not go_on:
                return STOPPED, curve
            if config["incremental"]:
                return INCREMENTAL, curve
    except KeyboardInterrupt:
        return INTERRUPTED, curve
    return MAX_ITER, curve


# ---------------------------------------------------------------------------
# The same loop in C++ (nnfast._core.fit through nnfast._fit), and the choice between them
# ---------------------------------------------------------------------------

# Which loop the estimators run: "auto" / "core" (the C++ loop wherever it supports the
# case, else Python) or "python" (stochastic_fit, kept as the C++ loop's oracle and for
# sparse input). Overridden by the environment variable NNFAST_FIT_BACKEND at import.
BACKEND = os.environ.get("NNFAST_FIT_BACKEND", "auto")

_STATUS = {"max_iter": MAX_ITER, "converged": CONVERGED, "incremental": INCREMENTAL,
           "stopped": STOPPED, "interrupted": INTERRUPTED, "diverged": DIVERGED}


def core_supports(X, sample_weight):
    """The C++ loop takes dense X, and sample weights with no zero (a batch of zero weight
    sum is skipped by the Python loop)."""
    return (hasattr(_core, "fit") and not is_sparse(X)
            and (sample_weight is None or bool((sample_weight > 0).all())))


def select_loop(X, sample_weight, backend=None):
    """The loop function to run for this data: :func:`stochastic_fit` or
    :func:`core_stochastic_fit` (same signature and results)."""
    backend = BACKEND if backend is None else backend
    if backend not in ("python", "core", "auto"):
        raise ValueError(f"unknown fit backend {backend!r}; use 'python', 'core' or 'auto'")
    if backend != "python" and core_supports(X, sample_weight):
        return core_stochastic_fit
    return stochastic_fit


def core_stochastic_fit(X, Y, sample_weight, net, optimizer, config, state, rng=None, best=None,
                        epoch_end=None, log=None):
    """:func:`stochastic_fit` run by the C++ loop: the same arguments and results.

    The optimizer's state arrays are updated in place by C++, its learning rate and step
    count copied back; the RandomState advances exactly as the Python loop advances it.
    Differences: the adaptive schedule's intermediate "Setting learning rate" messages are
    not printed; and a non-finite batch loss stops the fit (status DIVERGED) with the
    parameters of that epoch's start.
    """
    from . import _fit
    from ._optimizers import SGDOptimizer

    sgd = isinstance(optimizer, SGDOptimizer)
    st = dict(learning_rate=float(optimizer.learning_rate), adam_t=int(getattr(optimizer, "t", 0)),
              t=float(state["t"]), n_iter=0, loss=np.nan, best_loss=float(state["best_loss"]),
              best_validation_score=float(state["best_validation_score"]),
              no_improvement_count=int(state["no_improvement_count"]))
    n_iter_no_change = config["n_iter_no_change"]
    if not np.isfinite(n_iter_no_change):
        n_iter_no_change = 2 ** 62
    done = []  # epochs completed, in case Ctrl-C interrupts a Python callback

    def hook(epoch, loss):
        done.append(loss)
        return (True, None) if epoch_end is None else epoch_end(epoch, loss)

    try:
        status, curve = _fit.fit_stochastic(
            X, Y, sample_weight, net.Ws, net.bs, act=net.act, head=net.head,
            negative_slope=net.slope, solver="sgd" if sgd else "adam",
            learning_rate_init=optimizer.learning_rate_init,
            learning_rate=optimizer.lr_schedule if sgd else "constant",
            power_t=getattr(optimizer, "power_t", 0.5),
            momentum=getattr(optimizer, "momentum", 0.0),
            nesterovs_momentum=getattr(optimizer, "nesterov", False),
            beta_1=getattr(optimizer, "beta_1", 0.9), beta_2=getattr(optimizer, "beta_2", 0.999),
            epsilon=getattr(optimizer, "epsilon", 1e-8), alpha=config["alpha"],
            batch_size=config["batch_size"], max_iter=config["max_iter"], tol=config["tol"],
            n_iter_no_change=n_iter_no_change, incremental=config["incremental"],
            early_stopping=config["early_stopping"], state=st, opt_state=optimizer.state_arrays(),
            best=best, random_state=rng, epoch_end=hook,
            loss_scale=1.0 / config["loss_scale"])
    except KeyboardInterrupt:
        # raised in a callback: C++ unwound without writing its state back
        state.update(n_iter=len(done), t=state["t"] + len(done) * X.shape[0],
                     loss=done[-1] if done else np.nan)
        return INTERRUPTED, done
    if sgd:
        optimizer.learning_rate = st["learning_rate"]
    else:
        optimizer.t = st["adam_t"]
        optimizer.learning_rate = np.float64(st["learning_rate"])
    state.update(t=int(round(st["t"])), n_iter=st["n_iter"], loss=st["loss"],
                 best_loss=st["best_loss"], best_validation_score=st["best_validation_score"],
                 no_improvement_count=st["no_improvement_count"])
    code = _STATUS[status]
    if code == CONVERGED and log is not None:
        what = "Validation score" if config["early_stopping"] else "Training loss"
        log("%s did not improve more than tol=%f for %d consecutive epochs. Stopping."
            % (what, config["tol"], config["n_iter_no_change"]))
    return code, curve


# ---------------------------------------------------------------------------
# L-BFGS: the whole data set's loss and gradient, minimised by scipy
# ---------------------------------------------------------------------------

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


def full_loss_and_gradients(x, flat, X, Y, sample_weight, net_codes, alpha, loss_scale):
    """scikit-learn's (loss, packed gradient) of the whole data set at parameters x.

    Dense X: one kernel call. Sparse X: row chunks densified in turn, the kernel run on
    each with no L2 term, the weighted means combined, then the L2 term added.
    """
    act, slope, head = net_codes
    Ws, bs = flat.unpack(x)
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
    for start in range(0, n, SPARSE_CHUNK_ROWS):
        rows = slice(start, min(n, start + SPARSE_CHUNK_ROWS))
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


def lbfgs_fit(X, Y, sample_weight, net, alpha, loss_scale, max_iter, max_fun, tol, iprint):
    """scikit-learn's _fit_lbfgs: scipy's L-BFGS-B on the packed parameters, with its
    options. Writes the result into net's arrays; returns scipy's OptimizeResult."""
    import scipy.optimize

    try:
        from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
        extra = _get_additional_lbfgs_options_dict("iprint", iprint)
    except ImportError:  # pragma: no cover - older or newer scikit-learn
        extra = {}
    flat = FlatParams([W.shape for W in net.Ws], [b.shape for b in net.bs], net.Ws[0].dtype)
    codes = (net.act, net.slope, net.head)
    # L-BFGS-B's own vector work is O(10 · n_params) per step: BLAS threads cost far more
    # than they save there (and spin badly on a busy machine), so scipy runs on one.
    with _one_blas_thread():
        res = scipy.optimize.minimize(
            full_loss_and_gradients, FlatParams.pack(net.Ws, net.bs), method="L-BFGS-B",
            jac=True, options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol, **extra},
            args=(flat, X, Y, sample_weight, codes, alpha, loss_scale))
    Ws, bs = flat.unpack(res.x)
    for dst, src in zip(net.params, Ws + bs):
        np.copyto(dst, src)
    return res


# ---------------------------------------------------------------------------
# Forward passes for prediction and validation
# ---------------------------------------------------------------------------

def predict(X, Ws, bs, act, slope, head):
    """The network's output for X (dense of the parameters' dtype, or sparse)."""
    dtype = Ws[0].dtype
    out = np.empty((X.shape[0], Ws[-1].shape[1]), dtype=dtype)
    if not is_sparse(X):
        _core.predict(out, np.ascontiguousarray(X, dtype=dtype), Ws, bs, act, slope, head)
        return out
    for start in range(0, X.shape[0], SPARSE_CHUNK_ROWS):
        rows = slice(start, min(X.shape[0], start + SPARSE_CHUNK_ROWS))
        _core.predict(out[rows], dense_rows(X, rows, dtype), Ws, bs, act, slope, head)
    return out


def evaluate(X, Y, sample_weight, net, loss_scale, chunk_rows=SPARSE_CHUNK_ROWS):
    """Outputs and mean data loss (scikit-learn's convention, no L2 term) on a validation
    set, from one forward pass: logits by the kernels, then the fused output loss (which
    computes the loss from the logits and the outputs from them)."""
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
        w = None if sample_weight is None else np.ascontiguousarray(sample_weight[rows])
        Yc = np.ascontiguousarray(Y[rows])
        if w is not None and not w.sum(dtype=np.float64) > 0:
            # rows of no weight add nothing to the loss; their outputs are still wanted
            _core.output_loss(out[rows], dZ[:m], As[-1], Yc, None, net.head)
        else:
            total += _core.output_loss(out[rows], dZ[:m], As[-1], Yc, w, net.head)
    sw = float(n if sample_weight is None else sample_weight.sum(dtype=np.float64))
    return out, (total / sw / loss_scale if sw > 0 else np.nan)
