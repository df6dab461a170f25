"""The only bridge from Python to the epoch loop (csrc/nn/epochs.h, ``_core.run_epochs``).

One call runs every epoch of a stochastic fit in C++ with the GIL released: mini-batches
of a dense X or of a CSR matrix (densified there, batch by batch, from scipy's own arrays),
scikit-learn's SGD / Nesterov / Adam updates, its learning-rate schedules and stopping
rules, and its shuffling, drawn from the caller's ``numpy.random.RandomState`` exactly as
``sklearn.utils.shuffle`` would draw them (the generator's state is advanced in place).
A batch whose sample weights sum to zero is skipped (no step, no loss). Python is called
back only when asked: ``epoch_end(epoch, loss) -> (continue, validation_score)`` for
early stopping, verbose output and user callbacks.

The hyper-parameters are a ``_core.FitConfig``, the bookkeeping carried across calls a
``_core.FitState``; both are defined once, in C++, with scikit-learn's names.
"""
from __future__ import annotations

import numpy as np

from . import _core
from ._codes import FitStatus
from ._inference import is_sparse, kernel_array

FitConfig = _core.FitConfig
FitState = _core.FitState

# A count of epochs no fit will reach (2^62 epochs of one sample each, at a nanosecond an
# epoch, take 146 years). scikit-learn allows any positive int for max_iter and
# n_iter_no_change, and np.inf for the latter; FitConfig holds int64: larger values mean
# the same as this one.
_NEVER = 2 ** 62


def count64(n):
    """max_iter, n_iter_no_change or batch_size (a positive int of any size, or np.inf) as
    FitConfig's int64: min(n, 2^62), which stops at the same epoch (or, for batch_size,
    takes every row: no data set has 2^62) as n."""
    return _NEVER if n >= _NEVER else int(n)  # n >= 2^62 also for np.inf, no float(n)


def solver_state(config, Ws, bs):
    """Zeroed optimizer state for `config`'s solver, one array per parameter array
    (W[0..L-1] then b[0..L-1]): (velocities, None) for SGD with momentum, (m, v) for Adam,
    (None, None) for plain SGD."""
    params = list(Ws) + list(bs)
    if config.solver == _core.Solver.adam:
        return [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    if config.momentum != 0 or config.nesterovs_momentum:
        return [np.zeros_like(p) for p in params], None
    return None, None


def _csr_rows(X, dtype):
    """A scipy CSR matrix as the loop reads it: (data, indices, indptr, n_features), its
    own arrays wherever they already have the layout (copies only where they lack it)."""
    data = kernel_array(X.data, dtype)
    indices, indptr = kernel_array(X.indices), kernel_array(X.indptr)
    if indices.dtype != indptr.dtype or indices.dtype not in (np.int32, np.int64):
        indices, indptr = indices.astype(np.int64), indptr.astype(np.int64)
    return data, indices, indptr, int(X.shape[1])


def run_epochs(X, Y, sample_weight, Ws, bs, config, state, *, act, head, negative_slope=0.01,
               opt_state=(None, None), best=None, random_state=None, order=None,
               epoch_end=None, exchange=None):
    """Run the epochs; Ws, bs, state, the opt_state arrays and best are updated in place.

    X (m, d): a C-contiguous array of Y's dtype, or a CSR matrix (another sparse format is
    converted). Y (m, k), sample_weight (m,) or None: C-contiguous, one float dtype.
    Ws, bs: the parameters, W[l] (n_l, n_(l+1)) and b[l] (n_(l+1),). config: a FitConfig;
    state: a FitState (``n_iter`` counts this call's epochs). act, head: _core.Activation /
    _core.Head. opt_state: (s1, s2) from :func:`solver_state` or an optimizer's
    ``state_arrays()``. best: arrays (W's then b's) that receive the parameters each time
    the validation score improves (early stopping). With random_state (a RandomState)
    each epoch's rows are shuffled as scikit-learn shuffles them; with `order`
    (max_iter, n) int64 they are given; otherwise 0..m-1.

    Returns (status, loss_curve): a _core.FitStatus and this call's epoch losses (a list,
    as scikit-learn keeps them). Ctrl-C, in C++ or in a callback, gives
    FitStatus.interrupted with the state of the last completed epoch.

    With ``config.reduction_chunks`` = S, each batch's gradient is the fixed tree's sum of
    S chunk gradients (csrc/nn/chunks.h); `exchange` = (ranks, rank, send, recv, run) makes
    this process one of `ranks` that compute their own chunks and swap them through run()
    (nnfast.distributed builds it).
    """
    curve = []  # grows an epoch at a time: max_iter may be far beyond the epochs that run
    rng = None
    if random_state is not None and order is None:
        # (the dict form: the legacy tuple warns, then fails, for another bit generator)
        saved = random_state.get_state(legacy=False)
        if saved["bit_generator"] != "MT19937":
            raise TypeError("shuffling needs random_state to be None, an int or a RandomState "
                            f"of MT19937 (NumPy's default); got a RandomState of "
                            f"{saved['bit_generator']}")
        key = saved["state"]["key"]
        rng = np.empty(key.size + 1, dtype=np.uint32)
        rng[:-1], rng[-1] = key, saved["state"]["pos"]
    if is_sparse(X):
        X = _csr_rows(X.tocsr(), Y.dtype)
    s1, s2 = opt_state if opt_state is not None else (None, None)
    try:
        status = _core.run_epochs(curve, X, Y, sample_weight, Ws, bs, act, float(negative_slope),
                                  head, config, state, s1, s2, best, order, rng, epoch_end, True,
                                  exchange)
    except KeyboardInterrupt:  # raised in a callback; C++ wrote the state back
        status = FitStatus.interrupted
    finally:
        if rng is not None:
            saved["state"] = {"key": rng[:-1], "pos": int(rng[-1])}
            random_state.set_state(saved)  # (the cached Gaussian as it was)
    return status, curve
