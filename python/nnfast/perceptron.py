"""Rosenblatt's perceptron: the lecture's first slide, as a scikit-learn classifier.

One neuron with a step activation,

    ŷ = step(x · w + b),   step(z) = 1 if z >= 0 else 0,

trained by the perceptron learning rule, one example at a time,

    w ← w + η (y − ŷ) x,     b ← b + η (y − ŷ),

so the weights move only on a misclassified example. If the two classes are linearly
separable (Boolean AND, OR) the rule stops making mistakes after finitely many updates
(Novikoff's theorem) and an epoch without a single mistake ends training
(``converged_ = True``). If they are not (XOR), no line separates them, some example is
misclassified in every epoch, and after ``max_iter`` epochs the estimator says so: a
:class:`~sklearn.exceptions.ConvergenceWarning` and ``converged_ = False``.

This module imports scikit-learn; ``import nnfast`` does not import it
(``nnfast.Perceptron`` is loaded on first use).
"""
from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

if TYPE_CHECKING:
    import numpy.typing as npt

    from ._typing import ArrayLike, FloatArray, RandomStateLike, Self

__all__ = ["Perceptron", "step"]


def step(z: ArrayLike) -> FloatArray:
    """The perceptron's activation: 1.0 where ``z >= 0``, else 0.0 (same shape as z)."""
    return (np.asarray(z) >= 0).astype(np.float64)


class Perceptron(ClassifierMixin, BaseEstimator):
    """Rosenblatt's perceptron for two classes, trained by the perceptron learning rule.

    Parameters
    ----------
    eta0 : float > 0, default 1.0
        The learning rate η of ``w ← w + η (y − ŷ) x`` and ``b ← b + η (y − ŷ)``.
    max_iter : int >= 1, default 100
        The most epochs (passes over the training set).
    shuffle : bool, default True
        Visit the examples in a fresh random order each epoch (drawn from `random_state`);
        False visits them in the order given.
    random_state : int, RandomState or None, default None
        Seeds the shuffling. The weights always start at zero, so with ``shuffle=False``
        (or a fixed seed) training is deterministic.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels; ``classes_[1]`` is the positive class (target 1 of the rule).
    coef_ : ndarray of shape (1, n_features)
        The weights w (scikit-learn's layout for a binary linear classifier).
    intercept_ : ndarray of shape (1,)
        The bias b.
    n_iter_ : int
        Epochs run, counting the final mistake-free epoch when converged.
    converged_ : bool
        True when an epoch made no mistake (then every training example is classified
        correctly), False when ``max_iter`` epochs all made mistakes.
    errors_ : list of int
        The number of misclassified (hence updated-on) examples in each epoch.
    n_features_in_ : int
        The number of features seen by ``fit``.

    Examples
    --------
    AND is linearly separable: the rule stops making mistakes.

    >>> from nnfast import Perceptron
    >>> from nnfast.datasets import logic_gate
    >>> X, y = logic_gate("and")
    >>> p = Perceptron(shuffle=False).fit(X, y)
    >>> p.converged_, p.errors_
    (True, [2, 3, 3, 2, 1, 0])
    >>> print(p.predict(X))
    [0. 0. 0. 1.]
    """

    _parameter_constraints = {
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, eta0: float = 1.0, *, max_iter: int = 100, shuffle: bool = True,
                 random_state: RandomStateLike = None) -> None:
        self.eta0 = eta0
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Train from zero weights until an epoch makes no mistake or ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like of shape (m, d)
            Numeric and finite.
        y : array-like of shape (m,)
            Exactly two distinct labels (numbers, strings, bools ...).

        Returns
        -------
        self : Perceptron
            The fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=False)
        check_classification_targets(y)
        classes, t = np.unique(y, return_inverse=True)
        if classes.shape[0] != 2:
            raise ValueError(f"Perceptron is a binary classifier: y must hold exactly 2 "
                             f"classes; got {classes.shape[0]} ({classes.tolist()[:10]})")
        self.classes_ = classes
        t = t.astype(np.float64)
        rng = check_random_state(self.random_state)
        eta = float(self.eta0)
        w = np.zeros(X.shape[1])
        b = 0.0
        self.errors_: list[int] = []
        self.converged_ = False
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            order = rng.permutation(X.shape[0]) if self.shuffle else range(X.shape[0])
            mistakes = 0
            for i in order:
                y_hat = 1.0 if X[i] @ w + b >= 0 else 0.0
                delta = t[i] - y_hat
                if delta != 0.0:
                    w = w + eta * delta * X[i]
                    b = b + eta * delta
                    mistakes += 1
            self.n_iter_ += 1
            self.errors_.append(mistakes)
            if mistakes == 0:
                self.converged_ = True
                break
        self.coef_ = w.reshape(1, -1)
        self.intercept_ = np.array([b])
        if not self.converged_:
            warnings.warn(
                f"Perceptron did not converge: every one of the {self.max_iter} epochs "
                f"misclassified at least one training example ({self.errors_[-1]} in the "
                f"last). The classes may not be linearly separable (like XOR); a straight "
                f"line cannot separate them.", ConvergenceWarning)
        return self

    def decision_function(self, X: ArrayLike) -> FloatArray:
        """z = X @ w + b, shape (m,): ``z >= 0`` predicts ``classes_[1]``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_[0] + self.intercept_[0]

    def predict(self, X: ArrayLike) -> npt.NDArray[Any]:
        """The class of each row: ``classes_[step(X @ w + b)]``."""
        positive = self.decision_function(X) >= 0
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
