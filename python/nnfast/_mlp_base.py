"""BaseMultilayerPerceptron: what nnfast's MLPClassifier and MLPRegressor share
(scikit-learn's parameters and their constraints, the network's parameters, scikit-learn's
initialisation draw for draw, input validation, L-BFGS, prediction). The stochastic solvers
are in nnfast._stochastic; the differences from scikit-learn and the extras are listed in
nnfast.mlp's docstring.
"""
from __future__ import annotations

import functools
import os
import sys
import threading
import weakref
from contextlib import contextmanager
from itertools import chain
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import numpy as np
import sklearn
from sklearn.base import (
    BaseEstimator,
    _fit_context,
    is_classifier,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
)

try:
    from sklearn.utils.validation import validate_data
except ImportError as exc:  # pragma: no cover - scikit-learn < 1.6
    import sklearn

    raise ImportError("nnfast's estimators need scikit-learn >= 1.6 (validate_data, estimator "
                      f"tags); this is scikit-learn {sklearn.__version__}") from exc

from . import _checks, _codes, _core, _inference, _lbfgs, functional
from ._stochastic import STOCHASTIC_SOLVERS, StochasticSolverMixin

if TYPE_CHECKING:
    from ._typing import ArrayLike, FileLike, MatrixLike, Method, Self, SklearnMLP

_LEAKY_SLOPE = 0.01

# The estimators being fitted now, by id: a second fit / partial_fit of one of them (from
# another thread, or from a callback of the running fit) would interleave two runs' updates
# of the same attributes and leave them inconsistent (n_iter_ of one run, the loss curve of
# both). The id is stable while the call holds the estimator; nothing is stored on it, so
# pickling, clone and deepcopy see no lock.
_FITTING: set[int] = set()
_FITTING_LOCK = threading.Lock()


def exclusive_fit(method: Method) -> Method:
    """fit / partial_fit: raises RuntimeError, before touching the estimator, when the same
    estimator is already inside one of them."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        key = id(self)
        with _FITTING_LOCK:
            if key in _FITTING:
                raise RuntimeError(
                    f"{method.__name__}: this {type(self).__name__} is already being fitted "
                    f"(in another thread, or by a callback of its own fit); one estimator "
                    f"takes one fit or partial_fit at a time: wait for it, or fit a clone")
            _FITTING.add(key)
        try:
            return method(self, *args, **kwargs)
        finally:
            with _FITTING_LOCK:
                _FITTING.discard(key)
    return run  # type: ignore[return-value]  # functools.wraps: the signature is method's

# _valid_as_is's "no y" (prediction), distinct from fit's y=None, which validate_data refuses.
_NO_Y: Any = object()

# Each estimator class's parameter names, sorted, as BaseEstimator._get_param_names gives them.
_PARAM_NAMES: weakref.WeakKeyDictionary[type, tuple[str, ...]] = weakref.WeakKeyDictionary()


# (class, constraints, name, type, value) of parameter values found valid (_validate_params);
# bounded, so that a sweep over many values cannot grow it without end.
_VALID_PARAMS: set[tuple[Any, ...]] = set()
_MAX_VALID_PARAMS = 4096
_SCALARS = (int, float, str, bool, type(None))


def _param_key(cls, name, value):
    """The memo key of a parameter value, or None for a value that is not memoised (one that
    could change after being checked, or whose equality is not its identity's: lists,
    arrays, generators, callables)."""
    if type(value) in _SCALARS or (type(value) is tuple and all(type(v) is int for v in value)):
        return (cls, id(cls._parameter_constraints.get(name)), name, type(value), value)
    return None


def _fresh_random_state(seed, previous):
    """check_random_state(seed). For an int seed that is np.random.RandomState(seed), whose
    construction costs ~125 us (a tenth of a small fit: NumPy seeds a throwaway generator
    first); reseeding `previous`, the last fit's generator, gives the same state (legacy
    seeding, no cached Gaussian) in ~2 us. Only when nothing else holds that generator
    (CPython's reference count: the estimator's, this frame's and getrefcount's own), so
    no one can see it change."""
    if (isinstance(seed, (Integral, np.integer)) and not isinstance(seed, (bool, np.bool_))
            and 0 <= seed < 2**32 and type(previous) is np.random.RandomState
            and hasattr(sys, "getrefcount") and sys.getrefcount(previous) <= 3):
        try:
            previous.seed(int(seed))  # (a TypeError when its bit generator is not MT19937)
        except TypeError:
            pass
        else:
            return previous
    return check_random_state(seed)


def _cpu_count():
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


class BaseMultilayerPerceptron(StochasticSolverMixin, BaseEstimator):
    """What MLPClassifier and MLPRegressor share; use those."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_checks.HIDDEN_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", *STOCHASTIC_SOLVERS})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions(set(_codes.SCHEDULES))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "callbacks": [None, list, tuple],
        "time_budget": [None, Interval(Real, 0, None, closed="neither")],
        "n_jobs": [None, Integral],
        "reduction_chunks": [None, Interval(Integral, 1, _core.MAX_REDUCTION_CHUNKS,
                                            closed="both")],
    }

    def __init__(self, hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
                 learning_rate_init, power_t, max_iter, loss, shuffle, random_state, tol,
                 verbose, warm_start, momentum, nesterovs_momentum, early_stopping,
                 validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change, max_fun,
                 callbacks, time_budget, n_jobs, reduction_chunks):
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.callbacks = callbacks
        self.time_budget = time_budget
        self.n_jobs = n_jobs
        self.reduction_chunks = reduction_chunks

    @classmethod
    def _get_param_names(cls):
        # scikit-learn reads __init__'s signature on every get_params (~70 us, most of
        # _validate_params and a tenth of a small fit; clone and repr call it too). A class's
        # signature does not change: it is read once per class.
        names = _PARAM_NAMES.get(cls)
        if names is None:
            names = _PARAM_NAMES[cls] = tuple(super()._get_param_names())
        return list(names)

    def _validate_params(self):
        # scikit-learn's check of every parameter against its constraints (~90 us a fit,
        # most of it building the constraint objects again). Each parameter's validity
        # depends on its own value alone, so the values found valid before (scalars and
        # tuples of ints, keyed by type and value: 1, 1.0 and True differ) are not checked
        # again; the others go to scikit-learn's check, in the same order, so the first
        # invalid one raises scikit-learn's own error.
        cls = type(self)
        params = self.get_params(deep=False)
        unchecked = {}
        for name, value in params.items():
            key = _param_key(cls, name, value)
            if key is None or key not in _VALID_PARAMS:
                unchecked[name] = value
        if unchecked:
            validate_parameter_constraints(self._parameter_constraints, unchecked,
                                           caller_name=cls.__name__)
            if len(_VALID_PARAMS) > _MAX_VALID_PARAMS:
                _VALID_PARAMS.clear()
            for name, value in unchecked.items():
                key = _param_key(cls, name, value)
                if key is not None:
                    _VALID_PARAMS.add(key)

    # ------------------------------------------------------------------
    # threads, the network's shape and its parameters
    # ------------------------------------------------------------------

    @contextmanager
    def _threads(self):
        """Run the kernels on n_jobs OpenMP threads (this Python thread only), then restore."""
        n_jobs = getattr(self, "n_jobs", None)
        if n_jobs is None:
            yield
            return
        if n_jobs == 0:
            raise ValueError("n_jobs == 0 has no meaning; use None, a positive count or -1 "
                             "for all CPUs")
        # More threads than CPUs only slow the kernels (and OpenMP's count is a C int, so
        # n_jobs=2**31 would not even fit): positive counts are capped at the CPU count,
        # negative ones count back from it as joblib's do.
        cpus = _cpu_count()
        n = min(int(n_jobs), cpus) if n_jobs > 0 else max(1, cpus + 1 + max(int(n_jobs), -cpus))
        previous = _core.get_num_threads()
        _core.set_num_threads(n)
        try:
            yield
        finally:
            _core.set_num_threads(previous)

    def _loss_scale(self):
        """scikit-learn's squared-error value is a mean over outputs too (see _lbfgs)."""
        return self.n_outputs_ if self.out_activation_ == "identity" else 1

    def _net(self, Ws=None, bs=None):
        return _inference.Net(self.coefs_ if Ws is None else Ws,
                              self.intercepts_ if bs is None else bs,
                              self.activation, self.out_activation_, _LEAKY_SLOPE)

    def _check_param_lists(self, layer_units=None):
        """coefs_ / intercepts_ must chain into one network (with the given layer sizes,
        when known); raise a ValueError naming the first array that does not fit."""
        coefs, inters = getattr(self, "coefs_", None), getattr(self, "intercepts_", None)
        if not isinstance(coefs, (list, tuple)) or not isinstance(inters, (list, tuple)):
            raise ValueError("coefs_ and intercepts_ must be lists of arrays, one per layer")
        if len(coefs) == 0 or len(coefs) != len(inters):
            raise ValueError(f"coefs_ has {len(coefs)} arrays and intercepts_ {len(inters)}; "
                             "they need one per layer and at least one layer")
        if layer_units is None:
            first = np.shape(coefs[0])
            layer_units = [getattr(self, "n_features_in_", first[0] if len(first) == 2 else -1)]
            layer_units += [np.shape(W)[1] if np.ndim(W) == 2 else -1 for W in coefs[:-1]]
            layer_units += [getattr(self, "n_outputs_", np.shape(coefs[-1])[-1])]
        if len(coefs) != len(layer_units) - 1:
            raise ValueError(f"coefs_ has {len(coefs)} layers but the network has "
                             f"{len(layer_units) - 1} (layer sizes {list(layer_units)})")
        for i, (W, b) in enumerate(zip(coefs, inters)):
            want_W, want_b = (layer_units[i], layer_units[i + 1]), (layer_units[i + 1],)
            if np.shape(W) != want_W:
                raise ValueError(f"coefs_[{i}] has shape {np.shape(W)}; the network needs "
                                 f"{want_W} (layer sizes {list(layer_units)})")
            if np.shape(b) != want_b:
                raise ValueError(f"intercepts_[{i}] has shape {np.shape(b)}; the network needs "
                                 f"{want_b} (layer sizes {list(layer_units)})")
            for name, a in ((f"coefs_[{i}]", W), (f"intercepts_[{i}]", b)):
                dtype = np.asarray(a).dtype
                if dtype.kind not in "fiub":
                    raise ValueError(f"{name} must hold real numbers; got dtype {dtype}")

    def _model_dtype(self):
        dtype = np.asarray(self.coefs_[0]).dtype
        return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)

    def _prepare_params(self, layer_units):
        """Make coefs_ / intercepts_ C-contiguous, writable arrays of the model's dtype
        (copies only where they are not), after checking their shapes."""
        self._check_param_lists(layer_units)
        dtype = self._model_dtype()

        def ready(a):
            return np.require(np.asarray(a, dtype=dtype), requirements=["C", "W", "O"])

        self.coefs_ = [ready(W) for W in self.coefs_]
        self.intercepts_ = [ready(b) for b in self.intercepts_]
        # each array must be its own (the kernels update them one by one)
        seen = []
        for lst in (self.coefs_, self.intercepts_):
            for i, a in enumerate(lst):
                if any(np.shares_memory(a, s) for s in seen):
                    lst[i] = a = a.copy()
                seen.append(a)
        self.n_layers_ = len(layer_units)
        return dtype

    def _predict_params(self, x_dtype):
        """Parameters for prediction in the dtype scikit-learn's products would give (the
        callers have checked that the estimator is fitted)."""
        self._check_param_lists()
        dtype = np.result_type(x_dtype, *[np.asarray(a).dtype
                                          for a in chain(self.coefs_, self.intercepts_)])
        if dtype not in (np.float32, np.float64):
            dtype = np.dtype(np.float64)
        Ws = [_inference.kernel_array(W, dtype) for W in self.coefs_]
        bs = [_inference.kernel_array(b, dtype) for b in self.intercepts_]
        return Ws, bs

    # ------------------------------------------------------------------
    # initialisation (scikit-learn's _initialize, draw for draw)
    # ------------------------------------------------------------------

    def _initialize(self, y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        if not is_classifier(self):
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"

        self.coefs_ = []
        self.intercepts_ = []
        for i in range(self.n_layers_ - 1):
            coef_init, intercept_init = self._init_coef(layer_units[i], layer_units[i + 1], dtype)
            self.coefs_.append(coef_init)
            self.intercepts_.append(intercept_init)
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [i.copy() for i in self.intercepts_]
        self.validation_loss_curve_ = None

        if self.solver in STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _init_coef(self, fan_in, fan_out, dtype):
        # Glorot et al.'s uniform initialisation, as scikit-learn draws it
        factor = 2.0 if self.activation == "logistic" else 6.0
        init_bound = np.sqrt(factor / (fan_in + fan_out))
        coef_init = self._random_state.uniform(-init_bound, init_bound, (fan_in, fan_out))
        intercept_init = self._random_state.uniform(-init_bound, init_bound, fan_out)
        return coef_init.astype(dtype, copy=False), intercept_init.astype(dtype, copy=False)

    # ------------------------------------------------------------------
    # fitting
    # ------------------------------------------------------------------

    def _check_callbacks(self):
        callbacks = self.callbacks or ()
        for cb in callbacks:
            if not callable(cb):
                raise InvalidParameterError(
                    f"The 'callbacks' parameter of {type(self).__name__} must be a list of "
                    f"callables fn(estimator, epoch_info) -> bool; got {cb!r} in it")
        return list(callbacks)

    def _fit(self, X, y, sample_weight=None, incremental=False, X_val=None, y_val=None,
             sample_weight_val=None):
        hidden_layer_sizes = self.hidden_layer_sizes
        if not hasattr(hidden_layer_sizes, "__iter__"):
            hidden_layer_sizes = [hidden_layer_sizes]
        hidden_layer_sizes = list(hidden_layer_sizes)
        if np.any(np.array(hidden_layer_sizes) <= 0):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % hidden_layer_sizes)
        callbacks = self._check_callbacks()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)

        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        n_samples, n_features = X.shape
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
            if (sample_weight < 0).any():
                raise ValueError("Negative values in data passed to `sample_weight`: nnfast "
                                 "needs non-negative sample weights")
        sample_weight = self._apply_class_weight(y, sample_weight, incremental)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [n_features] + hidden_layer_sizes + [self.n_outputs_]

        self._random_state = _fresh_random_state(self.random_state, self.__dict__.get("_random_state"))
        if first_pass:
            self._initialize(y, layer_units, X.dtype)
        dtype = self._prepare_params(layer_units)
        X = self._as_model_input(X, dtype)
        Y = _inference.kernel_array(y, dtype=dtype)
        if not self.early_stopping:
            y = None  # (a classifier's own bool copy) read again only to stratify the split
        if sample_weight is not None:
            sample_weight = _inference.kernel_array(sample_weight, dtype=dtype)
        validation = None
        if X_val is not None or y_val is not None:
            validation = self._validation_set(X_val, y_val, sample_weight_val, dtype)

        with self._threads():
            if self.solver in STOCHASTIC_SOLVERS:
                self._fit_stochastic(X, Y, y, sample_weight, incremental, validation, callbacks)
            elif self.solver == "lbfgs":
                self._fit_lbfgs(X, Y, sample_weight)

        weights = chain(self.coefs_, self.intercepts_)
        if not all(np.isfinite(w).all() for w in weights):
            raise ValueError("Solver produced non-finite parameter weights. The input data may"
                             " contain large values and need to be preprocessed.")
        return self

    @staticmethod
    def _as_model_input(X, dtype):
        if _inference.is_sparse(X):
            return X.tocsr().astype(dtype, copy=False)  # the loop densifies batch by batch
        return _inference.kernel_array(X, dtype=dtype)

    def _apply_class_weight(self, y, sample_weight, incremental):
        return sample_weight

    def _validation_set(self, X_val, y_val, sample_weight_val, dtype):
        """A validation set given to fit: (X, Y for the loss, y for the score, weights)."""
        if X_val is None:
            raise ValueError("y_val is provided, but X_val was not provided.")
        if y_val is None:
            raise ValueError("X_val is provided, but y_val was not provided.")
        if self.solver not in STOCHASTIC_SOLVERS:
            raise ValueError("X_val and y_val are only used by the stochastic solvers "
                             f"('sgd', 'adam'), not solver={self.solver!r}")
        X_val = validate_data(self, X_val, accept_sparse=["csr", "csc"],
                              dtype=(np.float64, np.float32), reset=False)
        y_score, Y_val = self._encode_y_val(y_val)
        check_consistent_length(X_val, Y_val)
        if sample_weight_val is not None:
            sample_weight_val = _inference.kernel_array(
                _check_sample_weight(sample_weight_val, X_val), dtype=dtype)
        return (self._as_model_input(X_val, dtype), _inference.kernel_array(Y_val, dtype=dtype),
                y_score, sample_weight_val)

    def _fit_lbfgs(self, X, Y, sample_weight):
        iprint = 1 if (self.verbose is True or self.verbose >= 1) else -1
        session = getattr(self, "_distributed_session", None)
        if session is not None:
            session.ready()  # every rank's input checks passed, or all raise here
        opt_res = _lbfgs.lbfgs_fit(X, Y, sample_weight, self._net(), self.alpha,
                                   self._loss_scale(), self.max_iter, self.max_fun, self.tol,
                                   iprint, chunks=self.reduction_chunks, session=session)
        self.n_iter_ = _check_optimize_result("lbfgs", opt_res, self.max_iter)
        self.loss_ = opt_res.fun

    @exclusive_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None, *,
            X_val: MatrixLike | None = None, y_val: ArrayLike | None = None,
            sample_weight_val: ArrayLike | None = None) -> Self:
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : ndarray or sparse matrix of shape (n_samples, n_features)
            The input data.
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (non-negative).
        X_val, y_val : array-like, default=None
            A validation set (nnfast extra, stochastic solvers): replaces the internal
            split when early_stopping=True, and records ``validation_loss_curve_``.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation samples.

        Returns
        -------
        self : object
            Returns a trained MLP model.

        Notes
        -----
        Ctrl-C stops the fit at the end of the running epoch ("Training interrupted by
        user.", a UserWarning) where SIGINT raises KeyboardInterrupt, Python's default. With
        SIGINT ignored, or handled by the host application without raising, training goes
        on to max_iter, tol, a callback or time_budget (the module docstring of
        :mod:`nnfast.mlp` says why). A second fit / partial_fit of this estimator while one
        runs (another thread, a callback) raises RuntimeError.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, X_val=X_val,
                         y_val=y_val, sample_weight_val=sample_weight_val)

    def _check_solver(self):
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 "%s is not stochastic." % self.solver)
        return True

    # ------------------------------------------------------------------
    # prediction
    # ------------------------------------------------------------------

    def _valid_as_is(self, X, y=_NO_Y, reset=False):
        """Whether validate_data(self, X[, y], reset=reset), as the estimators call it, would
        return X and y themselves and say nothing: X a 2-D float32 / float64 ndarray in
        native byte order with at least one row and column; y (fit's; none to predict) a
        1-D or 2-D ndarray of integers or floats in native byte order with X's rows; only
        finite values in both (unless scikit-learn's assume_finite is set; a scan, no
        temporaries). Without reset, X must have the n_features_in_ columns of a fit
        without feature names; with it, what validate_data records is recorded
        (n_features_in_, and no feature_names_in_). Such input skips validate_data (~120
        us, half of predicting a few rows; ~250 us of a small fit); any other takes it,
        and with it scikit-learn's conversions, warnings and errors."""
        if not (type(X) is np.ndarray and X.ndim == 2 and X.dtype in _checks.FLOAT_DTYPES
                and X.shape[0] >= 1 and X.shape[1] >= 1):
            return False
        if not reset and (X.shape[1] != getattr(self, "n_features_in_", None)
                          or hasattr(self, "feature_names_in_")):
            return False
        if y is not _NO_Y and not (type(y) is np.ndarray and y.ndim in (1, 2)
                                  and y.dtype.kind in "iuf" and y.dtype.isnative
                                  and y.shape[0] == X.shape[0] and y.size >= y.shape[0]):
            return False
        config = sklearn.get_config()
        if config.get("array_api_dispatch", False):
            return False
        if not (config.get("assume_finite", False) or (
                functional._all_finite(X)
                and (y is _NO_Y or y.dtype.kind != "f" or functional._all_finite(y)))):
            return False
        if reset:
            self.n_features_in_ = X.shape[1]
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        return True

    def _forward_pass_fast(self, X, check_input=True):
        """The network's output (probabilities for classifiers) for X."""
        if check_input and not self._valid_as_is(X):
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        elif not _inference.is_sparse(X):
            X = np.asarray(X)
        Ws, bs = self._predict_params(X.dtype)
        if not _inference.is_sparse(X) and (X.ndim != 2 or X.shape[1] != Ws[0].shape[0]):
            raise ValueError(f"X has shape {X.shape}; the network expects "
                             f"{Ws[0].shape[0]} features")
        net = self._net(Ws, bs)
        with self._threads():
            return _inference.predict(X, Ws, bs, net.act, net.slope, net.head)

    def _score_with_function(self, X, y, sample_weight, score_function):
        check_is_fitted(self)
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)

    def _loss_grad_lbfgs(self, packed_coef_inter, X, y, sample_weight=None, *unused):
        """scikit-learn's (loss, packed gradient) at the given packed parameters, computed by
        one kernel call; y is the (binarised) target matrix. Nothing is modified."""
        dtype = self._model_dtype()
        flat = _lbfgs.FlatParams([np.shape(W) for W in self.coefs_],
                                    [np.shape(b) for b in self.intercepts_], dtype)
        X = self._as_model_input(X, dtype)
        Y = _inference.kernel_array(np.asarray(y).reshape(X.shape[0], -1), dtype=dtype)
        if sample_weight is not None:
            sample_weight = _inference.kernel_array(sample_weight, dtype=dtype)
        net = self._net()
        return _lbfgs.full_loss_and_gradients(
            np.asarray(packed_coef_inter, dtype=np.float64), flat, X, Y, sample_weight,
            (net.act, net.slope, net.head), self.alpha, self._loss_scale())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------------
    # model files and scikit-learn interop (nnfast.io; the fitted state: nnfast.state)
    # ------------------------------------------------------------------

    def save(self, path: FileLike) -> None:
        """Save the fitted model to `path` (written as given) in nnfast's pickle-free
        "nnfast-mlp" format: an npz of the arrays plus JSON metadata and a SHA-256.
        Load it with :func:`nnfast.load`. See :mod:`nnfast.io.persistence` for the format."""
        from .io.persistence import save

        save(self, path)

    def to_sklearn(self) -> SklearnMLP:
        """A fitted scikit-learn MLPClassifier / MLPRegressor with this model's parameters,
        weights, classes and training state (see :mod:`nnfast.io.interop`). Raises
        ValueError for activation='leaky_relu', which scikit-learn does not have."""
        from .io.interop import to_sklearn

        return to_sklearn(self)

    @classmethod
    def from_sklearn(cls, model: Any) -> Self:
        """The nnfast estimator equal to a fitted scikit-learn MLP `model` (parameters,
        weights, classes and training state; see :mod:`nnfast.io.interop`)."""
        from .io.interop import from_sklearn

        return from_sklearn(model, None if cls is BaseMultilayerPerceptron else cls)
