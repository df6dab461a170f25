"""The Python side of the C++ fit loop (csrc/nn/fit.h): hyper-parameters in, state out.

One call runs every epoch of a stochastic fit in C++ (GIL released): mini-batches,
scikit-learn's SGD / Nesterov / Adam updates, its learning-rate schedules and stopping
rules, and its shuffling, drawn from the caller's ``numpy.random.RandomState`` exactly as
``sklearn.utils.shuffle`` would draw them (the generator's state is advanced in place).
Python is called back only when asked: ``epoch_end(epoch, loss) -> (continue,
validation_score)`` for early stopping, verbose output and user callbacks.
"""
from __future__ import annotations

import numpy as np

from . import _core

STATUS = ("max_iter", "converged", "incremental", "stopped", "interrupted", "diverged")
SOLVERS = {"sgd": 0, "adam": 1}
SCHEDULES = {"constant": 0, "invscaling": 1, "adaptive": 2}


def new_state(learning_rate_init):
    """The bookkeeping of a fresh fit (scikit-learn's _initialize and optimizer)."""
    return dict(learning_rate=float(learning_rate_init), adam_t=0, t=0.0, n_iter=0, loss=np.nan,
                best_loss=np.inf, best_validation_score=-np.inf, no_improvement_count=0)


def solver_state(solver, momentum, nesterov, Ws, bs):
    """Zeroed optimizer state, one array per parameter array (W[0..L-1] then b[0..L-1]):
    (velocities, None) for SGD with momentum, (m, v) for Adam, (None, None) otherwise."""
    params = list(Ws) + list(bs)
    if solver == "adam":
        return [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    if momentum != 0 or nesterov:
        return [np.zeros_like(p) for p in params], None
    return None, None


def fit_stochastic(X, Y, sample_weight, Ws, bs, *, act, head, negative_slope, solver,
                   learning_rate_init, learning_rate, power_t, momentum, nesterovs_momentum,
                   beta_1, beta_2, epsilon, alpha, batch_size, max_iter, tol, n_iter_no_change,
                   incremental, early_stopping, state, opt_state, best=None, random_state=None,
                   order=None, epoch_end=None, loss_scale=1.0):
    """Run the epochs; Ws, bs, state, opt_state and best are updated in place.

    X (m, d), Y (m, k), sample_weight (m,) or None: C-contiguous, one float dtype. act and
    head are the kernel codes. With random_state (a RandomState) each epoch's rows are
    shuffled as scikit-learn shuffles them; with `order` (max_iter, n) they are given;
    otherwise 0..m-1. loss_scale multiplies the data term of the reported loss (and so
    the stopping rule): 1 / n_outputs gives scikit-learn's squared error. Returns (status, loss_curve) with status one of STATUS and
    loss_curve the epochs' losses (a list, as scikit-learn keeps it).
    """
    curve = np.empty(max_iter, dtype=np.float64)
    config = dict(solver=SOLVERS[solver], learning_rate_init=float(learning_rate_init),
                  schedule=SCHEDULES[learning_rate], power_t=float(power_t),
                  momentum=float(momentum), nesterov=bool(nesterovs_momentum),
                  beta_1=float(beta_1), beta_2=float(beta_2), epsilon=float(epsilon),
                  alpha=float(alpha), loss_scale=float(loss_scale), batch_size=int(batch_size), max_iter=int(max_iter),
                  tol=float(tol), n_iter_no_change=int(n_iter_no_change),
                  incremental=bool(incremental), early_stopping=bool(early_stopping))
    key, pos = None, 0
    if random_state is not None and order is None:
        name, key, pos, has_gauss, cached = random_state.get_state()
        if name != "MT19937":
            raise TypeError(f"random_state must be a MT19937 RandomState; got {name}")
        key = np.ascontiguousarray(key, dtype=np.uint32)
    s1, s2 = opt_state if opt_state is not None else (None, None)
    status, pos = _core.fit(curve, X, Y, sample_weight, Ws, bs, act, float(negative_slope),
                            head, config, state, s1, s2, best, order, key, int(pos), epoch_end,
                            True)
    if key is not None:
        random_state.set_state(("MT19937", key, pos, has_gauss, cached))
    return STATUS[status], curve[:state["n_iter"]].tolist()
