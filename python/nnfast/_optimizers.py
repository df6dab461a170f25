"""The estimators' optimizer state: scikit-learn's ``SGDOptimizer`` and ``AdamOptimizer``
attributes (``learning_rate_init``, ``learning_rate``; SGD's ``lr_schedule``, ``momentum``,
``nesterov``, ``power_t``, ``velocities``; Adam's ``beta_1``, ``beta_2``, ``epsilon``,
``t``, ``ms``, ``vs``), kept on a fitted estimator as ``_optimizer`` so that partial_fit
continues where the last call stopped, and so that models pickle, save and convert.

The updates themselves run in the epoch loop in C++ (csrc/nn/optimizers.h, through
nnfast._epochs), which updates the state arrays in place; these classes hand it their
hyper-parameters (:meth:`configure`) and their scalar state (:meth:`to_state`,
:meth:`from_state`). Parameters and state arrays are in one list, the weight matrices then
the bias vectors (W[0..L-1], b[0..L-1]).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._codes import SCHEDULES, SOLVERS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from . import _core
    from ._typing import FloatArray


class BaseOptimizer:
    """Holds the learning rate; subclasses hold their solver's state."""

    def __init__(self, learning_rate_init: float = 0.1) -> None:
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)

    def state_arrays(self) -> tuple[list[FloatArray] | None, list[FloatArray] | None]:
        """The optimizer's per-parameter state as (s1, s2) lists (None where unused)."""
        return None, None

    def __setstate__(self, state: dict[str, object]) -> None:
        # An unpickled state array may be a view of one of the pickle's out-of-band buffers,
        # which is how ``distributed`` moves an estimator between workers: read-only, or at
        # an address not aligned to its element size. The epoch loop updates the arrays in
        # place through T*, so each becomes an aligned, writable array of its own here (a
        # copy only where it is not one already).
        self.__dict__.update(state)
        for arrays in self.state_arrays():
            if arrays is not None:
                arrays[:] = [np.require(a, requirements=["C", "A", "W", "O"]) for a in arrays]

    def configure(self, config: _core.FitConfig) -> None:
        """Write this solver's hyper-parameters into `config` (a _core.FitConfig)."""
        config.learning_rate_init = float(self.learning_rate_init)

    def to_state(self, state: _core.FitState) -> None:
        """Copy the scalar state into `state` (a _core.FitState) before the epochs."""
        state.learning_rate = float(self.learning_rate)

    def from_state(self, state: _core.FitState) -> None:
        """Take the scalar state back from `state` after the epochs."""
        self.learning_rate = state.learning_rate


class SGDOptimizer(BaseOptimizer):
    """Stochastic gradient descent with momentum (scikit-learn's SGDOptimizer).

    v ← μ v − η g;  p ← p + v,  or with Nesterov p ← p + (μ v − η g) using the new v.
    Schedules: 'constant'; 'invscaling' η = η₀ / (t + 1)^power_t at each epoch's end;
    'adaptive': η / 5 each time the tol rule fires, stopping once η ≤ 1e-6.
    """

    def __init__(self, params: Sequence[FloatArray], learning_rate_init: float = 0.1,
                 lr_schedule: str = "constant", momentum: float = 0.9, nesterov: bool = True,
                 power_t: float = 0.5) -> None:
        super().__init__(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocities = [np.zeros_like(p) for p in params]

    def state_arrays(self) -> tuple[list[FloatArray] | None, list[FloatArray] | None]:
        return self.velocities, None

    def configure(self, config: _core.FitConfig) -> None:
        super().configure(config)
        config.solver = SOLVERS["sgd"]
        config.learning_rate = SCHEDULES[self.lr_schedule]
        config.momentum = float(self.momentum)
        config.nesterovs_momentum = bool(self.nesterov)
        config.power_t = float(self.power_t)


class AdamOptimizer(BaseOptimizer):
    """Adam with bias correction (scikit-learn's AdamOptimizer).

    m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;
    η_t = η₀ √(1 − β₂ᵗ) / (1 − β₁ᵗ);  p ← p − η_t m / (√v + ε).
    As in scikit-learn, the current η_t is kept as a float64 NumPy scalar.
    """

    def __init__(self, params: Sequence[FloatArray], learning_rate_init: float = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8) -> None:
        super().__init__(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]

    def state_arrays(self) -> tuple[list[FloatArray] | None, list[FloatArray] | None]:
        return self.ms, self.vs

    def configure(self, config: _core.FitConfig) -> None:
        super().configure(config)
        config.solver = SOLVERS["adam"]
        config.beta_1 = float(self.beta_1)
        config.beta_2 = float(self.beta_2)
        config.epsilon = float(self.epsilon)

    def to_state(self, state: _core.FitState) -> None:
        super().to_state(state)
        state.adam_t = int(self.t)

    def from_state(self, state: _core.FitState) -> None:
        self.t = state.adam_t
        self.learning_rate = np.float64(state.learning_rate)
