"""The fitted-state schema: what a fitted MLPClassifier / MLPRegressor holds, as one table
(:data:`FIELDS`), with :func:`export` (estimator -> plain structure) and :func:`restore`
(plain structure -> fitted estimator).

This is the only module that reads or writes the estimators' private attributes
(``_label_binarizer``, ``_optimizer``, ``_best_coefs``, ``_best_intercepts``,
``_no_improvement_count``). Model files (:mod:`nnfast.io.persistence`) and scikit-learn
conversion (:mod:`nnfast.io.interop`) go through it, so a new piece of fitted state is one
row here.

Who imports whom (one direction only, no cycle)::

    nnfast.mlp ---------------> nnfast.state <------ nnfast.io.persistence
      (registers its classes)        ^               nnfast.io.interop
                                     |
    nnfast.load, nnfast.from_sklearn (nnfast._entry): import nnfast.mlp, then nnfast.io

This module imports neither the estimators nor nnfast.io. A restore needs the estimator
class, which a file or a scikit-learn model names; the estimators module registers its
classes here when it is imported (:func:`register_estimators`), and the readers look them up
by name (:func:`estimator_class`). So whoever loads a model imports the estimators first:
``nnfast.load`` does.

The plain structure (a dict; keys absent where the estimator lacks the attribute, e.g. an
L-BFGS fit has no ``t_`` or optimizer)::

    "estimator": class name, "params": get_params(deep=False),
    one key per row of FIELDS (see there), "optimizer": {"kind": "sgd" | "adam",
        the hyper-parameters and counters of OPTIMIZERS[kind], and its state arrays}

:func:`export` returns the estimator's own arrays and lists (no copies: read them, do not
modify them); :func:`restore` copies everything it is given, after :func:`check` has made
sure it is a model a fit could have produced (a model file or a foreign estimator is
untrusted input: a wrong output activation, NaN weights or an invalid parameter would
otherwise load and only fail, or silently mispredict, later).
"""
from __future__ import annotations

import copy
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np

__all__ = ["FIELDS", "OPTIMIZERS", "check", "estimator_class", "export", "is_classifier",
           "optimizer_fits", "register_estimators", "registered_name", "restore"]


class Field(NamedTuple):
    key: str        # in the plain structure
    attr: str       # on the estimator (scikit-learn's name, where scikit-learn has it)
    kind: str       # arrays | labels | binarizer | scalar | names | curve | optimizer
    sklearn: bool   # scikit-learn's MLP holds it too (False: nnfast's extra)
    doc: str


# Shapes: n_0 = n_features_in_, n_l the units of layer l, L = n_layers_ - 1 weight layers.
FIELDS = (
    Field("coefs_", "coefs_", "arrays", True, "W[l], shape (n_l, n_(l+1)), l = 0 .. L-1"),
    Field("intercepts_", "intercepts_", "arrays", True, "b[l], shape (n_(l+1),)"),
    Field("best_coefs", "_best_coefs", "arrays", True, "early stopping's best W[l]"),
    Field("best_intercepts", "_best_intercepts", "arrays", True, "early stopping's best b[l]"),
    Field("classes_", "classes_", "labels", True, "classifiers: labels, shape (n_classes,)"),
    Field("label_binarizer", "_label_binarizer", "binarizer", True,
          "classifiers: the LabelBinarizer's parameters and fitted y_type_ / sparse_input_"),
    Field("n_features_in_", "n_features_in_", "scalar", True, "n_0"),
    Field("feature_names_in_", "feature_names_in_", "names", True,
          "str, shape (n_0,); only when fitted on a frame"),
    Field("n_outputs_", "n_outputs_", "scalar", True, "n_L"),
    Field("n_layers_", "n_layers_", "scalar", True, "L + 1"),
    Field("out_activation_", "out_activation_", "scalar", True,
          "identity | logistic | softmax | exp"),
    Field("n_iter_", "n_iter_", "scalar", True, "epochs (stochastic) or L-BFGS iterations"),
    Field("t_", "t_", "scalar", True, "samples seen by the stochastic solver"),
    Field("loss_", "loss_", "scalar", True, "the last loss"),
    Field("best_loss_", "best_loss_", "scalar", True, "the tol rule's best training loss"),
    Field("best_validation_score_", "best_validation_score_", "scalar", True,
          "early stopping's best score"),
    Field("no_improvement_count", "_no_improvement_count", "scalar", True,
          "epochs without improvement, for the tol rule"),
    Field("loss_curve_", "loss_curve_", "curve", True, "list of float, one per epoch"),
    Field("validation_scores_", "validation_scores_", "curve", True,
          "list of float, one per epoch (early stopping)"),
    Field("validation_loss_curve_", "validation_loss_curve_", "curve", False,
          "list of float, one per epoch with a validation set"),
    Field("optimizer", "_optimizer", "optimizer", True,
          "the stochastic solver's state (see OPTIMIZERS)"),
)
_BY_KEY = {f.key: f for f in FIELDS}

# The optimizers' attributes (the same in nnfast._optimizers and scikit-learn):
# "init": the constructor's arguments after the parameter list, with the estimator
# parameter a fresh fit takes each from; "counters": state that is a number;
# "arrays": per-parameter state, one array per W[l] then b[l].
OPTIMIZERS = {
    "sgd": {"init": (("learning_rate_init", "learning_rate_init"),
                     ("lr_schedule", "learning_rate"), ("momentum", "momentum"),
                     ("nesterov", "nesterovs_momentum"), ("power_t", "power_t")),
            "counters": ("learning_rate",), "arrays": ("velocities",)},
    "adam": {"init": (("learning_rate_init", "learning_rate_init"), ("beta_1", "beta_1"),
                      ("beta_2", "beta_2"), ("epsilon", "epsilon")),
             "counters": ("learning_rate", "t"), "arrays": ("ms", "vs")},
}
_BINARIZER = ("neg_label", "pos_label", "sparse_output", "y_type_", "sparse_input_")
_BINARIZER_DEFAULTS = {"neg_label": 0, "pos_label": 1, "sparse_output": False,
                       "sparse_input_": False}


# ---------------------------------------------------------------------------
# the registry of estimator classes (filled by nnfast.mlp)
# ---------------------------------------------------------------------------

_REGISTRY: dict = {}


def register_estimators(*classes):
    """Make `classes` restorable by name (called by the estimators module at import)."""
    for cls in classes:
        _REGISTRY[cls.__name__] = cls


def estimator_class(name):
    """The registered estimator class called `name`; ValueError if there is none."""
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        known = ", ".join(sorted(_REGISTRY)) or "nothing: import nnfast.mlp first"
        raise ValueError(f"unknown estimator class {name!r} (this nnfast loads {known})")
    return cls


def registered_name(obj):
    """The name of the registered class that `obj` (an instance or a class) is, or
    derives from; None when it is none of them."""
    cls = obj if isinstance(obj, type) else type(obj)
    return next((c.__name__ for c in cls.__mro__ if _REGISTRY.get(c.__name__) is c), None)


def is_classifier(obj):
    """Whether `obj` (an estimator or its class, nnfast's or scikit-learn's) classifies."""
    from sklearn.base import ClassifierMixin

    return issubclass(obj if isinstance(obj, type) else type(obj), ClassifierMixin)


# ---------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------

def export(est):
    """The fitted state of `est` (nnfast's MLP, or scikit-learn's, which has the same
    layout) as a dict of arrays, numbers, strings and lists (see the module docstring).
    Raises NotFittedError for an unfitted estimator."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est)
    if registered_name(est) is not None:
        est._check_param_lists()
    out = {"estimator": type(est).__name__, "params": est.get_params(deep=False)}
    for field in FIELDS:
        if not hasattr(est, field.attr):
            continue
        value = getattr(est, field.attr)
        if field.kind == "arrays":
            if value is None:
                continue
            value = list(value)
        elif field.kind == "binarizer":
            value = {name: getattr(value, name, _BINARIZER_DEFAULTS.get(name))
                     for name in _BINARIZER}
        elif field.kind == "optimizer":
            value = _export_optimizer(value)
            if value is None:
                continue
        out[field.key] = value
    return out


def _optimizer_kind(opt):
    """sgd / adam by the state the object holds (nnfast's or scikit-learn's), else None."""
    for kind, spec in OPTIMIZERS.items():
        if all(hasattr(opt, name) for name in spec["arrays"]):
            return kind
    return None


def _export_optimizer(opt):
    kind = _optimizer_kind(opt)
    if kind is None:
        return None
    spec = OPTIMIZERS[kind]
    out = {"kind": kind}
    for name, _ in spec["init"]:
        out[name] = getattr(opt, name)
    for name in spec["counters"]:
        out[name] = getattr(opt, name)
    for name in spec["arrays"]:
        out[name] = list(getattr(opt, name))
    return out


def optimizer_fits(state):
    """Whether the exported optimizer is one the estimator's next partial_fit continues
    with: of the estimator's solver (SGD for 'sgd', Adam otherwise) and with one state
    array per parameter of the parameter's shape and dtype."""
    opt = state.get("optimizer")
    solver = (state.get("params") or {}).get("solver")
    if opt is None or (solver == "sgd") != (opt["kind"] == "sgd"):
        return False
    params = list(state["coefs_"]) + list(state["intercepts_"])
    return all(len(opt[name]) == len(params)
               and all(np.shape(s) == np.shape(p) and np.asarray(s).dtype == np.asarray(p).dtype
                       for s, p in zip(opt[name], params))
               for name in OPTIMIZERS[opt["kind"]]["arrays"])


# ---------------------------------------------------------------------------
# restore
# ---------------------------------------------------------------------------

def restore(cls, state, optimizer_classes=None):
    """A fitted `cls` holding `state` (a dict as :func:`export` returns; copied).

    cls: a registered nnfast estimator class, or scikit-learn's MLPClassifier /
    MLPRegressor (same layout; nnfast's extras are then left out). optimizer_classes:
    {"sgd": class, "adam": class} with scikit-learn's constructors
    ``(params, *OPTIMIZERS[kind]["init"])``; by default nnfast's. Keys the state lacks are
    left unset, except on nnfast's estimators ``validation_loss_curve_`` (None). Raises
    ValueError for parameters `cls` does not take, for keys that are not in FIELDS, and for
    a state that is not a model a fit could have produced (see :func:`check`).
    """
    ours = registered_name(cls) is not None
    params = dict(state.get("params") or {})
    unknown = sorted(set(params) - set(cls().get_params(deep=False)))
    if unknown:
        raise ValueError(f"unknown parameters for {cls.__name__}: {unknown}")
    unknown = sorted(set(state) - set(_BY_KEY) - {"estimator", "params"})
    if unknown:
        raise ValueError(f"unknown fitted state {unknown}")
    est = cls(**copy.deepcopy(params))
    check(est, state)
    for field in FIELDS:
        if field.key not in state or field.kind in ("binarizer", "optimizer") or not (
                ours or field.sklearn):
            continue
        value = state[field.key]
        if field.kind == "arrays":
            value = [np.array(a, order="C") for a in value]
        elif field.kind == "labels":
            value = np.array(value)
        elif field.kind == "names":
            value = None if value is None else np.array(value, dtype=object)
        elif field.kind == "curve":
            value = None if value is None else list(value)
        setattr(est, field.attr, value)
    if "label_binarizer" in state:
        est._label_binarizer = _restore_binarizer(state["label_binarizer"], est.classes_)
    if state.get("optimizer") is not None:
        est._optimizer = _restore_optimizer(state["optimizer"], est, optimizer_classes)
    if ours:
        if not hasattr(est, "validation_loss_curve_"):
            est.validation_loss_curve_ = None
        est._check_param_lists()
    return est


# ---------------------------------------------------------------------------
# the checks restore makes: a state must be a model a fit could have produced
# ---------------------------------------------------------------------------

def _fail(msg):
    raise ValueError(f"invalid model: {msg}")


def _is_count(v, low=0):
    return isinstance(v, Integral) and not isinstance(v, (bool, np.bool_)) and v >= low


def _is_real(v):
    return isinstance(v, Real) and not isinstance(v, (bool, np.bool_))


def _finite_floats(a, name, dtype=None, allow_inf=False):
    """a must be an ndarray of float32 / float64 (of `dtype` when given) with no NaN and,
    unless allow_inf, no inf; min and max find both without a temporary array of a's
    size (NaN propagates through them)."""
    if not isinstance(a, np.ndarray) or a.dtype not in (np.float32, np.float64):
        _fail(f"{name} must be a float32 or float64 array, not "
              f"{getattr(a, 'dtype', type(a).__name__)}")
    if dtype is not None and a.dtype != dtype:
        _fail(f"{name} has dtype {a.dtype}; the model's is {dtype}")
    if not a.size:
        return
    low, high = a.min(), a.max()
    if allow_inf and np.isnan(low):
        _fail(f"{name} holds NaN values")
    if not allow_inf and not (np.isfinite(low) and np.isfinite(high)):
        _fail(f"{name} holds NaN or infinite values")


def _check_params(est):
    """The constructor parameters by scikit-learn's own constraints (the estimator's
    _parameter_constraints), and hidden_layer_sizes element by element (as fit does)."""
    try:
        est._validate_params()
    except ValueError as exc:  # InvalidParameterError is a ValueError
        _fail(str(exc))
    sizes = est.hidden_layer_sizes
    sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
    if not all(_is_count(n, 1) for n in sizes):
        _fail(f"hidden_layer_sizes must be positive integers, got {sizes!r:.80}")


def _check_network(state):
    """coefs_ / intercepts_ (and the best copies): one float dtype, shapes that chain into
    n_features_in_ -> ... -> n_outputs_ over n_layers_ - 1 layers, finite values."""
    coefs, inters = state.get("coefs_"), state.get("intercepts_")
    if not isinstance(coefs, (list, tuple)) or not isinstance(inters, (list, tuple)) \
            or not coefs or len(coefs) != len(inters):
        _fail("coefs_ and intercepts_ must be lists of one array per layer")
    dtype = getattr(coefs[0], "dtype", None)
    units = [state.get("n_features_in_")]
    for i, (W, b) in enumerate(zip(coefs, inters)):
        _finite_floats(W, f"coefs_[{i}]", dtype)
        _finite_floats(b, f"intercepts_[{i}]", dtype)
        if W.ndim != 2 or W.shape[0] != units[-1] or b.shape != W.shape[1:]:
            _fail(f"coefs_[{i}] of shape {W.shape} and intercepts_[{i}] of shape {b.shape} "
                  f"do not follow a layer of {units[-1]} units")
        units.append(W.shape[1])
    for key, want in (("n_features_in_", units[0]), ("n_outputs_", units[-1]),
                      ("n_layers_", len(units))):
        if not _is_count(state.get(key), 1) or state.get(key) != want:
            _fail(f"{key}={state.get(key)!r:.40} does not match the weights (layer sizes "
                  f"{units[1:]})")
    for key, ref in (("best_coefs", coefs), ("best_intercepts", inters)):
        best = state.get(key)
        if best is None:
            continue
        if not isinstance(best, (list, tuple)) or len(best) != len(ref):
            _fail(f"{key} must be a list of one array per layer")
        for i, (a, r) in enumerate(zip(best, ref)):
            _finite_floats(a, f"{key}[{i}]", dtype)
            if a.shape != r.shape:
                _fail(f"{key}[{i}] has shape {a.shape}, its layer {r.shape}")
    return units


def _check_labels(state, n_outputs):
    """classes_: unique, sorted, of a label dtype; the binarizer's target type fits them and
    the output layer; the output activation is the one a fit of `est` would have chosen."""
    lb = state.get("label_binarizer")
    if not isinstance(lb, dict):
        _fail("a classifier needs its label binarizer")
    lb = {**_BINARIZER_DEFAULTS, **lb}
    if (lb["neg_label"], lb["pos_label"], lb["sparse_output"]) != (0, 1, False) \
            or lb["sparse_input_"] not in (False, True):
        _fail("the label binarizer must have scikit-learn's MLP settings (neg_label=0, "
              "pos_label=1, dense)")
    classes = state.get("classes_")
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or classes.dtype.kind not in (
            "biufUSO"):
        _fail("classes_ must be a 1-D array of labels")
    labels = classes.tolist()
    if classes.dtype.kind == "O" and not ({type(c) for c in labels} <= {str, int, float, bool}
                                          and len({type(c) is str for c in labels}) <= 1):
        _fail("classes_ must hold str, int, float or bool labels")
    if any(isinstance(c, float) and c != c or c in (float("inf"), float("-inf"))
           for c in labels):
        _fail("classes_ holds NaN or infinite labels")
    if any(not a < b for a, b in zip(labels, labels[1:])):
        _fail("classes_ must be unique and sorted (as a fit makes them)")
    y_type, n = lb["y_type_"], len(labels)
    fits = {"binary": n in (1, 2) and n_outputs == 1,
            "multiclass": n >= 3 and n_outputs == n,
            "multilabel-indicator": n >= 2 and n_outputs == n}
    if not isinstance(y_type, str) or y_type not in fits:
        _fail(f"unknown label type {y_type!r:.40}")
    if not fits[y_type]:
        _fail(f"{n} classes ({y_type}) do not match an output layer of {n_outputs} units")
    return "softmax" if y_type == "multiclass" else "logistic"


def _check_optimizer(state):
    """The optimizer's kind and counters, and its state arrays where they are the ones the
    next partial_fit continues with (others are dropped then, see optimizer_fits): no NaN,
    but ±inf is kept: Adam's second moments overflow to inf on extreme inputs while the
    weights stay finite, and a restored model must continue exactly as the saved one would
    have (prediction never reads them)."""
    opt = state["optimizer"]
    kind = opt.get("kind") if isinstance(opt, dict) else None
    if not isinstance(kind, str) or kind not in OPTIMIZERS or not all(isinstance(opt.get(name), (list, tuple))
                                         for name in OPTIMIZERS[kind]["arrays"]):
        _fail(f"unknown or incomplete optimizer state (kind {kind!r:.40})")
    rate, t = opt.get("learning_rate", 0.0), opt.get("t", 0)
    if not (_is_real(rate) and (isinstance(rate, Integral) or np.isfinite(rate)) and rate >= 0
            and _is_count(t)):
        _fail(f"the optimizer's learning_rate={rate!r:.40} or step count t={t!r:.40} is not "
              "a non-negative number")
    if optimizer_fits(state):
        for name in OPTIMIZERS[kind]["arrays"]:
            for j, a in enumerate(opt[name]):
                _finite_floats(np.asarray(a), f"the optimizer's {name}[{j}]",
                               allow_inf=True)


def check(est, state):
    """Raise ValueError unless `state` (a dict as :func:`export` returns) is a model a fit
    of `est` (an estimator built with the state's parameters) could have produced: valid
    parameters, finite weights whose shapes chain, an output activation that fits the
    estimator and its targets, unique sorted classes, counts that are counts, numbers
    that are numbers, feature names one per feature, and optimizer state that fits the
    parameters. Called by :func:`restore`."""
    _check_params(est)
    units = _check_network(state)
    if is_classifier(est):
        head = _check_labels(state, units[-1])
    else:
        if "classes_" in state or "label_binarizer" in state:
            _fail("a regressor has no classes")
        head = "exp" if getattr(est, "loss", None) == "poisson" else "identity"
    if state.get("out_activation_") != head:
        _fail(f"out_activation_={state.get('out_activation_')!r:.40}; a {type(est).__name__} "
              f"with these parameters and targets has {head!r}")
    for key in ("n_iter_", "t_", "no_improvement_count"):
        if key in state and not _is_count(state[key]):
            _fail(f"{key}={state[key]!r:.40} is not a count")
    for key in ("loss_", "best_loss_", "best_validation_score_"):
        if state.get(key) is not None and not _is_real(state[key]):
            _fail(f"{key}={state[key]!r:.40} is not a number")
    for f in FIELDS:
        curve = state.get(f.key) if f.kind == "curve" else None
        if curve is not None and not (isinstance(curve, list)
                                      and all(_is_real(v) for v in curve)):
            _fail(f"{f.key} must be a list of numbers")
    names = state.get("feature_names_in_")
    if names is not None and (len(names) != units[0]
                              or not all(isinstance(n, str) for n in names)):
        _fail("feature_names_in_ must hold one str per feature")
    if state.get("optimizer") is not None:
        _check_optimizer(state)


def _restore_binarizer(info, classes):
    from sklearn.preprocessing import LabelBinarizer

    info = {**_BINARIZER_DEFAULTS, **info}
    lb = LabelBinarizer(neg_label=info["neg_label"], pos_label=info["pos_label"],
                        sparse_output=info["sparse_output"])
    lb.classes_ = classes
    lb.y_type_ = info["y_type_"]
    lb.sparse_input_ = info["sparse_input_"]
    return lb


def _restore_optimizer(info, est, classes):
    """An optimizer over est's parameters from `info`: the constructor's arguments from
    `info`, or where it lacks them from est's parameters as a fresh fit would; then the
    counters and the state arrays (copies) that `info` holds."""
    kind = info["kind"]
    spec = OPTIMIZERS[kind]
    if classes is None:
        from . import _optimizers

        classes = {"sgd": _optimizers.SGDOptimizer, "adam": _optimizers.AdamOptimizer}
    params = est.coefs_ + est.intercepts_
    args = [info[name] if name in info else getattr(est, param) for name, param in spec["init"]]
    opt = classes[kind](params, *args)
    for name in spec["counters"]:
        if name in info:
            setattr(opt, name, info[name])
    for name in spec["arrays"]:
        if name in info:
            setattr(opt, name, [np.array(a, order="C") for a in info[name]])
    return opt
