"""The epoch loop in Python: the oracle of the C++ loop (csrc/nn/epochs.h, run through
nnfast._epochs). Never used by nnfast itself.

scikit-learn's ``_fit_stochastic`` step for step, with its optimizers' arithmetic in NumPy
(``sklearn.neural_network._stochastic_optimizers``, operation for operation, updating in
place), its no-improvement rule and its shuffling (``sklearn.utils.shuffle``); each
batch's loss and gradients come from one kernel call (``_core.loss_and_gradients``), so a
comparison with the C++ loop tests the loop, not the kernels. It reads the same
``_core.FitConfig`` and updates the same ``_core.FitState`` as the C++ loop, and returns
the same ``_core.FitStatus``. nnfast's rules beyond scikit-learn's are restated too: a
batch whose sample weights sum to zero is skipped (no step, no loss), and a callback that
asks to stop is honoured before the schedule and the tol rule.

Where it differs from the C++ loop by rounding only: Adam's step on float32 parameters is
formed in float64 here (scikit-learn's η_t is a float64 NumPy scalar), in float32 there;
and a loss_scale other than 1 is applied to the kernel's J after the fact here.
"""
from __future__ import annotations

import numpy as np

from nnfast import _core

FitStatus = _core.FitStatus


class SGD:
    """scikit-learn's SGDOptimizer: v ← μ v − η g; p ← p + v (Nesterov: p + μ v − η g)."""

    def __init__(self, params, config, state):
        self.learning_rate_init = config.learning_rate_init
        self.learning_rate = state.learning_rate
        self.schedule = config.learning_rate
        self.momentum, self.nesterov = config.momentum, config.nesterovs_momentum
        self.power_t = config.power_t
        self.velocities = [np.zeros_like(p) for p in params]

    def update_params(self, params, grads):
        mu, lr = self.momentum, self.learning_rate
        for p, v, g in zip(params, self.velocities, grads):
            step = g * lr                    # η g
            v *= mu                          # v ← μ v − η g
            v -= step
            if self.nesterov:
                nest = v * mu                # μ v_new − η g
                nest -= step
                p += nest
            else:
                p += v

    def iteration_ends(self, time_step):
        if self.schedule == _core.Schedule.invscaling:
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self):
        """The tol rule fired: True to stop ('adaptive' divides η by 5 until 1e-6)."""
        if self.schedule != _core.Schedule.adaptive or self.learning_rate <= 1e-6:
            return True
        self.learning_rate /= 5.0
        return False

    def state_arrays(self):
        return self.velocities, None

    def store(self, state):
        state.learning_rate = float(self.learning_rate)


class Adam:
    """scikit-learn's AdamOptimizer: m, v moments, η_t = η₀ √(1 − β₂ᵗ) / (1 − β₁ᵗ) as a
    float64 NumPy scalar, p ← p − η_t m / (√v + ε)."""

    def __init__(self, params, config, state):
        self.learning_rate_init = config.learning_rate_init
        self.learning_rate = state.learning_rate
        self.beta_1, self.beta_2, self.epsilon = config.beta_1, config.beta_2, config.epsilon
        self.t = state.adam_t
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]

    def update_params(self, params, grads):
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        c1, c2 = 1 - b1, 1 - b2
        self.learning_rate = (self.learning_rate_init * np.sqrt(1 - b2 ** self.t)
                              / (1 - b1 ** self.t))
        neg_lr = -self.learning_rate
        for p, m, v, g in zip(params, self.ms, self.vs, grads):
            m *= b1                          # β₁ m + (1 − β₁) g
            m += g * c1
            g2 = np.square(g)                # β₂ v + (1 − β₂) g²
            g2 *= c2
            v *= b2
            v += g2
            step = m * neg_lr                # (−η_t m) / (√v + ε)
            den = np.sqrt(v)
            den += self.epsilon
            step /= den
            p += step

    def iteration_ends(self, time_step):
        pass

    def trigger_stopping(self):
        return True

    def state_arrays(self):
        return self.ms, self.vs

    def store(self, state):
        state.learning_rate = float(self.learning_rate)
        state.adam_t = self.t


def make_optimizer(params, config, state):
    return (Adam if config.solver == _core.Solver.adam else SGD)(params, config, state)


def _dense_rows(X, rows, dtype):
    Xb = X[rows]
    if hasattr(Xb, "toarray"):
        Xb = Xb.toarray()
    return np.ascontiguousarray(Xb, dtype=dtype)


def _l2_value(Ws, alpha, sw_sum):
    if not alpha:
        return 0.0
    return float((0.5 * alpha) * sum(np.dot(W.ravel(), W.ravel()) for W in Ws) / sw_sum)


def _update_no_improvement(config, state, loss, val_score, params, best):
    """scikit-learn's _update_no_improvement_count."""
    if config.early_stopping:
        if val_score is None:  # as the C++ loop: no score counts as no improvement
            val_score = np.nan
        if val_score < state.best_validation_score + config.tol:
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        if val_score > state.best_validation_score:
            state.best_validation_score = val_score
            for dst, src in zip(best, params):
                np.copyto(dst, src)
    else:
        if loss > state.best_loss - config.tol:
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        if loss < state.best_loss:
            state.best_loss = loss


def stochastic_fit(X, Y, sample_weight, Ws, bs, config, state, *, act, head, slope=0.01,
                   optimizer=None, rng=None, best=None, epoch_end=None):
    """Epochs of mini-batch training, as nnfast._epochs.run_epochs runs them in C++.

    X (n, d) dense or any scipy sparse matrix; Y (n, k); sample_weight (n,) or None;
    Ws, bs updated in place; config a _core.FitConfig; state a _core.FitState (updated);
    optimizer from :func:`make_optimizer` (a fresh one when None); rng a RandomState to
    shuffle with; best the arrays (W's then b's) receiving the best parameters (early
    stopping); epoch_end(epoch, loss) -> (continue, validation_score).
    Returns (status, loss_curve, optimizer).
    """
    from sklearn.utils import gen_batches, shuffle

    n, dtype = X.shape[0], Y.dtype
    params = list(Ws) + list(bs)
    if optimizer is None:
        optimizer = make_optimizer(params, config, state)
    dWs, dbs = [np.empty_like(W) for W in Ws], [np.empty_like(b) for b in bs]
    grads = dWs + dbs
    sample_idx = np.arange(n, dtype=int)
    curve = []
    state.n_iter = 0
    batch_size = min(int(config.batch_size), n)
    for _ in range(int(config.max_iter)):
        if rng is not None:
            sample_idx = shuffle(sample_idx, random_state=rng)
        accumulated_loss = 0.0
        for batch_slice in gen_batches(n, batch_size):
            rows = sample_idx[batch_slice]
            Xb = _dense_rows(X, rows, dtype)
            Yb = np.ascontiguousarray(Y[rows])
            wb = None if sample_weight is None else np.ascontiguousarray(sample_weight[rows])
            if wb is not None and not wb.sum(dtype=np.float64) > 0:
                continue
            J = _core.loss_and_gradients(dWs, dbs, Xb, Yb, Ws, bs, act, slope, head,
                                         config.alpha, wb)
            if config.loss_scale != 1:
                sw_sum = Xb.shape[0] if wb is None else float(wb.sum(dtype=np.float64))
                l2 = _l2_value(Ws, config.alpha, sw_sum)
                J = (J - l2) * config.loss_scale + l2
            accumulated_loss += J * (batch_slice.stop - batch_slice.start)
            optimizer.update_params(params, grads)

        state.n_iter += 1
        loss = accumulated_loss / n
        state.loss = loss
        state.t += n
        curve.append(loss)
        go_on, val_score = True, None
        if epoch_end is not None:
            go_on, val_score = epoch_end(state.n_iter, loss)
        _update_no_improvement(config, state, loss, val_score, params, best)
        if not go_on:
            optimizer.store(state)
            return FitStatus.stopped, curve, optimizer
        optimizer.iteration_ends(state.t)
        if state.no_improvement_count > config.n_iter_no_change:
            if optimizer.trigger_stopping():
                optimizer.store(state)
                return FitStatus.converged, curve, optimizer
            state.no_improvement_count = 0
        if config.incremental:
            optimizer.store(state)
            return FitStatus.incremental, curve, optimizer
    optimizer.store(state)
    return FitStatus.max_iter, curve, optimizer
