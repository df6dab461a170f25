"""The stochastic solvers of the estimators: SGD (plain, momentum, Nesterov) and Adam.

These are scikit-learn's ``sklearn.neural_network._stochastic_optimizers`` classes, with
the same attributes (``learning_rate``, ``velocities``; ``t``, ``ms``, ``vs``) and the same
arithmetic, operation for operation and in the same precision, so that a model trained
with them follows scikit-learn's within the rounding of the gradients. The difference is
that the updates are done in place (no per-step temporaries for the state), which changes
no number: every element goes through the same IEEE operations in the same order.

Parameters are given as one list, the weight matrices then the bias vectors (W[0..L-1],
b[0..L-1]), and are updated in place. All state is plain NumPy arrays and numbers, so an
optimizer pickles, and maps one to one onto the C++ fit loop's state (``s1``/``s2``).
"""
from __future__ import annotations

import numpy as np


class BaseOptimizer:
    """Holds the learning rate; subclasses define the update."""

    def __init__(self, learning_rate_init=0.1):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)

    def update_params(self, params, grads):
        """Update each array of `params` in place from the matching gradient."""
        raise NotImplementedError

    def iteration_ends(self, time_step):
        """End of an epoch; `time_step` is the number of samples seen so far."""

    def trigger_stopping(self, msg, log=None):
        """The tol rule fired: return True to stop. `log` prints messages (verbose)."""
        if log is not None:
            log(msg + " Stopping.")
        return True

    def state_arrays(self):
        """The optimizer's per-parameter state as (s1, s2) lists (None where unused)."""
        return None, None


class SGDOptimizer(BaseOptimizer):
    """Stochastic gradient descent with momentum (scikit-learn's SGDOptimizer).

    v ← μ v − η g;  p ← p + v,  or with Nesterov p ← p + (μ v − η g) using the new v.
    Schedules: 'constant'; 'invscaling' η = η₀ / (t + 1)^power_t at each epoch's end;
    'adaptive': η / 5 each time the tol rule fires, stopping once η ≤ 1e-6.
    """

    def __init__(self, params, learning_rate_init=0.1, lr_schedule="constant", momentum=0.9,
                 nesterov=True, power_t=0.5):
        super().__init__(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocities = [np.zeros_like(p) for p in params]

    def iteration_ends(self, time_step):
        if self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg, log=None):
        if self.lr_schedule != "adaptive":
            if log is not None:
                log(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if log is not None:
                log(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if log is not None:
            log(msg + " Setting learning rate to %f" % self.learning_rate)
        return False

    def update_params(self, params, grads):
        mu, lr = self.momentum, self.learning_rate
        for p, v, g in zip(params, self.velocities, grads):
            step = g * lr                    # η g
            v *= mu                          # v ← μ v − η g (momentum * v - lr * g)
            v -= step
            if self.nesterov:
                nest = v * mu                # μ v_new − η g
                nest -= step
                p += nest
            else:
                p += v

    def state_arrays(self):
        return self.velocities, None


class AdamOptimizer(BaseOptimizer):
    """Adam with bias correction (scikit-learn's AdamOptimizer).

    m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;
    η_t = η₀ √(1 − β₂ᵗ) / (1 − β₁ᵗ);  p ← p − η_t m / (√v + ε).

    As in scikit-learn, η_t is a float64 NumPy scalar, so for float32 parameters the
    step −η_t m / (√v + ε) is formed in float64 and rounded once when added to p.
    """

    def __init__(self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8):
        super().__init__(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
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

    def state_arrays(self):
        return self.ms, self.vs
