"""Conversion between nnfast's MLP estimators and scikit-learn's.

``est.to_sklearn()`` returns a fitted :class:`sklearn.neural_network.MLPClassifier` /
``MLPRegressor`` and ``MLPClassifier.from_sklearn(model)`` / ``MLPRegressor.from_sklearn``
(or :func:`nnfast.from_sklearn`, which picks the class) does the reverse. What moves across:

* the constructor parameters both estimators know (nnfast's extras ``class_weight``,
  ``callbacks``, ``time_budget`` and ``n_jobs`` are training-time options and are dropped
  going to scikit-learn, and left at their defaults coming from it);
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

import copy

import numpy as np

__all__ = ["from_sklearn", "to_sklearn"]

# fitted attributes copied as they are (deep copies), where present
_FITTED = ("classes_", "_label_binarizer", "n_features_in_", "feature_names_in_",
           "n_outputs_", "n_layers_", "out_activation_", "n_iter_", "t_", "loss_",
           "best_loss_", "loss_curve_", "validation_scores_", "best_validation_score_",
           "_no_improvement_count")
_EXTRAS = ("class_weight", "callbacks", "time_budget", "n_jobs")


def _sklearn_class(est):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from .mlp import MLPClassifier as NNC
    from .mlp import MLPRegressor as NNR

    if isinstance(est, NNC):
        return MLPClassifier
    if isinstance(est, NNR):
        return MLPRegressor
    raise TypeError(f"expected an nnfast MLPClassifier or MLPRegressor, got {type(est).__name__}")


def _copy_fitted(src, dst):
    for name in _FITTED:
        if hasattr(src, name):
            setattr(dst, name, copy.deepcopy(getattr(src, name)))
    dst.coefs_ = [np.array(W, copy=True) for W in src.coefs_]
    dst.intercepts_ = [np.array(b, copy=True) for b in src.intercepts_]
    for name in ("_best_coefs", "_best_intercepts"):
        if getattr(src, name, None) is not None:
            setattr(dst, name, [np.array(a, copy=True) for a in getattr(src, name)])


def _convert_optimizer(opt, params, sgd_cls, adam_cls):
    """An optimizer of the other library with the same hyper-parameters and state."""
    if opt is None:
        return None
    name = type(opt).__name__
    if name == "SGDOptimizer":
        new = sgd_cls(params, opt.learning_rate_init, opt.lr_schedule, opt.momentum,
                      opt.nesterov, opt.power_t)
        new.velocities = [np.array(v, copy=True) for v in opt.velocities]
    elif name == "AdamOptimizer":
        new = adam_cls(params, opt.learning_rate_init, opt.beta_1, opt.beta_2, opt.epsilon)
        new.t = opt.t
        new.ms = [np.array(m, copy=True) for m in opt.ms]
        new.vs = [np.array(v, copy=True) for v in opt.vs]
    else:
        return None
    new.learning_rate = opt.learning_rate
    return new


def to_sklearn(est):
    """A fitted scikit-learn MLP equal to the fitted nnfast estimator `est` (see module)."""
    from sklearn.neural_network import _stochastic_optimizers as skopt
    from sklearn.utils.validation import check_is_fitted

    cls = _sklearn_class(est)
    check_is_fitted(est)
    if est.activation == "leaky_relu":
        raise ValueError("activation='leaky_relu' is an nnfast extra that scikit-learn's MLP "
                         "does not have: this model cannot be converted to scikit-learn")
    est._check_param_lists()
    known = cls().get_params(deep=False)
    params = {k: v for k, v in est.get_params(deep=False).items() if k in known}
    model = cls(**copy.deepcopy(params))
    _copy_fitted(est, model)
    opt = _convert_optimizer(getattr(est, "_optimizer", None), model.coefs_ + model.intercepts_,
                             skopt.SGDOptimizer, skopt.AdamOptimizer)
    if opt is not None:
        model._optimizer = opt
    return model


def from_sklearn(model, cls=None):
    """An nnfast estimator equal to the fitted scikit-learn MLP `model` (see module).

    cls: nnfast's MLPClassifier or MLPRegressor; by default the one matching `model`.
    """
    from sklearn.base import is_classifier
    from sklearn.neural_network import MLPClassifier as SKC
    from sklearn.neural_network import MLPRegressor as SKR
    from sklearn.utils.validation import check_is_fitted

    from . import _optimizers
    from .mlp import MLPClassifier, MLPRegressor

    if not isinstance(model, (SKC, SKR)):
        raise TypeError("expected a scikit-learn MLPClassifier or MLPRegressor, got "
                        f"{type(model).__name__}")
    want = MLPClassifier if isinstance(model, SKC) else MLPRegressor
    if cls is None:
        cls = want
    elif not issubclass(cls, want):
        raise TypeError(f"a scikit-learn {type(model).__name__} converts to nnfast's "
                        f"{want.__name__}, not {cls.__name__}")
    check_is_fitted(model)
    assert is_classifier(model) == (want is MLPClassifier)
    known = cls().get_params(deep=False)
    params = {k: v for k, v in model.get_params(deep=False).items()
              if k in known and k not in _EXTRAS}
    est = cls(**copy.deepcopy(params))
    _copy_fitted(model, est)
    est._check_param_lists()
    if getattr(est, "validation_loss_curve_", None) is None:
        est.validation_loss_curve_ = None
    opt = _convert_optimizer(getattr(model, "_optimizer", None), est.coefs_ + est.intercepts_,
                             _optimizers.SGDOptimizer, _optimizers.AdamOptimizer)
    if opt is not None:
        est._optimizer = opt
    return est
