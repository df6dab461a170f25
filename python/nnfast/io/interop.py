"""Conversion between nnfast's MLP estimators and scikit-learn's.

Both sides hold the fitted state of :mod:`nnfast.state` under the same attribute names; a
conversion exports it from one and restores it into the other (this module reads nothing of
an estimator itself, and never imports the estimators module).

``est.to_sklearn()`` returns a fitted :class:`sklearn.neural_network.MLPClassifier` /
``MLPRegressor`` and ``MLPClassifier.from_sklearn(model)`` / ``MLPRegressor.from_sklearn``
(or :func:`nnfast.from_sklearn`, which picks the class) does the reverse. What moves across:

* the constructor parameters both estimators know (nnfast's extras ``class_weight``,
  ``callbacks``, ``time_budget``, ``n_jobs`` and ``reduction_chunks`` are training-time
  options and are dropped going to scikit-learn, and left at their defaults coming from it);
* copies of ``coefs_`` and ``intercepts_`` (dtype kept), ``classes_`` and the label
  binarizer, ``n_features_in_``, ``feature_names_in_``, ``n_outputs_``, ``n_layers_``,
  ``out_activation_``, ``n_iter_``, ``t_``, ``loss_``, ``best_loss_``, ``loss_curve_``,
  ``validation_scores_``, ``best_validation_score_``, the no-improvement count, the
  best-weights arrays of early stopping and the stochastic optimizer's state (SGD velocities
  and learning rate; Adam's step count and moments), so that ``partial_fit`` on the
  converted model continues where the original left off.

Predictions agree: the same labels, and probabilities / values equal up to the rounding of
the two libraries' matrix products (nnfast's GEMM kernels against scikit-learn's BLAS).

``activation='leaky_relu'`` is nnfast's own: such a model cannot be converted to
scikit-learn (ValueError). nnfast's ``validation_loss_curve_`` has no scikit-learn
counterpart and is not carried over.
"""
from __future__ import annotations

from typing import Any

from .. import state

__all__ = ["from_sklearn", "to_sklearn"]

# nnfast's training-time options that scikit-learn's MLP does not take
_EXTRAS = ("class_weight", "callbacks", "time_budget", "n_jobs", "reduction_chunks")


def _sklearn_optimizers() -> dict[str, type]:
    from sklearn.neural_network import _stochastic_optimizers as sk

    return {"sgd": sk.SGDOptimizer, "adam": sk.AdamOptimizer}


def to_sklearn(est: Any) -> Any:
    """A fitted scikit-learn MLP equal to the fitted nnfast estimator `est` (see module)."""
    from sklearn import neural_network

    name = state.registered_name(est)
    if name is None:
        raise TypeError(f"expected an nnfast MLPClassifier or MLPRegressor, got "
                        f"{type(est).__name__}")
    cls = getattr(neural_network, name)
    fitted = state.export(est)
    if fitted["params"]["activation"] == "leaky_relu":
        raise ValueError("activation='leaky_relu' is an nnfast extra that scikit-learn's MLP "
                         "does not have: this model cannot be converted to scikit-learn")
    known = cls().get_params(deep=False)
    fitted["params"] = {k: v for k, v in fitted["params"].items() if k in known}
    return state.restore(cls, fitted, optimizer_classes=_sklearn_optimizers())


def from_sklearn(model: Any, cls: type | None = None) -> Any:
    """An nnfast estimator equal to the fitted scikit-learn MLP `model` (see module).

    cls: nnfast's MLPClassifier or MLPRegressor; by default the one matching `model`.
    The estimator classes come from :mod:`nnfast.state`'s registry (filled when
    ``nnfast.mlp`` is imported; :func:`nnfast.from_sklearn` imports it first).
    """
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    if not isinstance(model, (MLPClassifier, MLPRegressor)):
        raise TypeError("expected a scikit-learn MLPClassifier or MLPRegressor, got "
                        f"{type(model).__name__}")
    want = state.estimator_class(
        (MLPClassifier if isinstance(model, MLPClassifier) else MLPRegressor).__name__)
    if cls is None:
        cls = want
    elif not issubclass(cls, want):
        raise TypeError(f"a scikit-learn {type(model).__name__} converts to nnfast's "
                        f"{want.__name__}, not {cls.__name__}")
    fitted = state.export(model)
    known = cls().get_params(deep=False)
    fitted["params"] = {k: v for k, v in fitted["params"].items()
                        if k in known and k not in _EXTRAS}
    return state.restore(cls, fitted)
