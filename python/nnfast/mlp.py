"""MLPClassifier and MLPRegressor: scikit-learn 1.9's estimators, trained by nnfast's kernels.

Change ``from sklearn.neural_network import MLPClassifier`` to ``from nnfast import
MLPClassifier`` and nothing else: the same parameters and defaults, fitted attributes,
methods, validation and warnings, and the same model for the same ``random_state`` — the
same Glorot draws from the same random stream, the same batch order, the same SGD /
Nesterov / Adam updates, learning-rate schedules and stopping rules. Each mini-batch's
forward pass, loss, backprop and L2 term is one C++ call (``nnfast._core``).

Where nnfast differs from scikit-learn, on purpose:

* Log-losses are computed from the logits, not from probabilities clipped to eps; the
  numbers agree except where a probability saturates (scikit-learn's loss is capped there).
* Training runs in the input's precision, float32 or float64, including L-BFGS (scikit-
  learn's L-BFGS returns float64 weights for float32 input). Later ``partial_fit`` or
  warm-start calls keep the model's precision and convert X to it.
* Sparse X (CSR/CSC) is densified one mini-batch at a time (the stochastic solvers), in
  row chunks of 2048 (L-BFGS, prediction, validation): memory stays O(batch · features).
* A mini-batch whose sample weights sum to zero is skipped (scikit-learn divides by the
  zero sum and fills the weights with NaN); negative sample weights are rejected.
* warm_start with early stopping restores the best weights even when the new fit never
  beats the previous best (scikit-learn then returns the last epoch's weights, as its
  saved best arrays alias the live ones).
* Assigned ``coefs_`` / ``intercepts_`` are checked against the network's shape and raise a
  ValueError naming the layer.

Extras, all off by default so that defaults stay scikit-learn's:

* ``class_weight`` ('balanced' or {label: weight}; MLPClassifier): multiplies the sample
  weights by the weight of each sample's class.
* ``fit(..., X_val=, y_val=, sample_weight_val=)``: a validation set, used instead of the
  internal split when early stopping; ``validation_loss_curve_`` is recorded whenever
  there is a validation set (early stopping or given): the mean data loss per epoch, in
  the same convention as ``loss_curve_`` but without the L2 term.
* ``callbacks``: a list of ``fn(estimator, epoch_info) -> bool``, called after each epoch;
  a true value stops training. epoch_info holds epoch, loss, validation_score,
  validation_loss (None without a validation set), t (samples seen) and elapsed (s).
* ``time_budget``: seconds; training stops after the epoch that exceeds it (with a
  ConvergenceWarning, as when max_iter is reached).
* ``n_jobs``: OpenMP threads for this estimator's kernels (fit, partial_fit, predict),
  set for the calling Python thread only and restored afterwards; None leaves the
  process setting (OMP_NUM_THREADS) alone; -1 means all CPUs, -2 all but one, ...
* ``activation='leaky_relu'`` (negative slope 0.01).
* ``verbose``: with verbose=1 (or True) a tqdm progress bar when tqdm is installed;
  otherwise, or with verbose >= 2, scikit-learn's "Iteration %d, loss = %.8f" lines.

All fitted state is in plain attributes (NumPy arrays, numbers, lists, a LabelBinarizer and
the optimizer of :mod:`nnfast._optimizers`), so models pickle and convert easily.
"""
from __future__ import annotations

import os
import time
import warnings
from contextlib import contextmanager
from itertools import chain
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    _fit_context,
    is_classifier,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
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

from . import _core, _epochs, _inference, _lbfgs
from ._codes import FitStatus
from ._optimizers import AdamOptimizer, SGDOptimizer
from .state import register_estimators

__all__ = ["MLPClassifier", "MLPRegressor"]

_STOCHASTIC_SOLVERS = ["sgd", "adam"]
_LEAKY_SLOPE = 0.01


def _cpu_count():
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


class BaseMultilayerPerceptron(BaseEstimator):
    """What MLPClassifier and MLPRegressor share; use those."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu", "leaky_relu"})],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
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
    }

    def __init__(self, hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
                 learning_rate_init, power_t, max_iter, loss, shuffle, random_state, tol,
                 verbose, warm_start, momentum, nesterovs_momentum, early_stopping,
                 validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change, max_fun,
                 callbacks, time_budget, n_jobs):
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
        n = int(n_jobs) if n_jobs > 0 else max(1, _cpu_count() + 1 + int(n_jobs))
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
        """Parameters for prediction in the dtype scikit-learn's products would give."""
        check_is_fitted(self)
        self._check_param_lists()
        dtype = np.result_type(x_dtype, *[np.asarray(a).dtype
                                          for a in chain(self.coefs_, self.intercepts_)])
        if dtype not in (np.float32, np.float64):
            dtype = np.dtype(np.float64)
        Ws = [np.ascontiguousarray(W, dtype=dtype) for W in self.coefs_]
        bs = [np.ascontiguousarray(b, dtype=dtype) for b in self.intercepts_]
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

        if self.solver in _STOCHASTIC_SOLVERS:
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

        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, X.dtype)
        dtype = self._prepare_params(layer_units)
        X = self._as_model_input(X, dtype)
        Y = np.ascontiguousarray(y, dtype=dtype)
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=dtype)
        validation = None
        if X_val is not None or y_val is not None:
            validation = self._validation_set(X_val, y_val, sample_weight_val, dtype)

        with self._threads():
            if self.solver in _STOCHASTIC_SOLVERS:
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
        return np.ascontiguousarray(X, dtype=dtype)

    def _apply_class_weight(self, y, sample_weight, incremental):
        return sample_weight

    def _validation_set(self, X_val, y_val, sample_weight_val, dtype):
        """A validation set given to fit: (X, Y for the loss, y for the score, weights)."""
        if X_val is None:
            raise ValueError("y_val is provided, but X_val was not provided.")
        if y_val is None:
            raise ValueError("X_val is provided, but y_val was not provided.")
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise ValueError("X_val and y_val are only used by the stochastic solvers "
                             f"('sgd', 'adam'), not solver={self.solver!r}")
        X_val = validate_data(self, X_val, accept_sparse=["csr", "csc"],
                              dtype=(np.float64, np.float32), reset=False)
        y_score, Y_val = self._encode_y_val(y_val)
        check_consistent_length(X_val, Y_val)
        if sample_weight_val is not None:
            sample_weight_val = np.ascontiguousarray(
                _check_sample_weight(sample_weight_val, X_val), dtype=dtype)
        return (self._as_model_input(X_val, dtype), np.ascontiguousarray(Y_val, dtype=dtype),
                y_score, sample_weight_val)

    def _fit_lbfgs(self, X, Y, sample_weight):
        iprint = 1 if (self.verbose is True or self.verbose >= 1) else -1
        opt_res = _lbfgs.lbfgs_fit(X, Y, sample_weight, self._net(), self.alpha,
                                   self._loss_scale(), self.max_iter, self.max_fun, self.tol,
                                   iprint)
        self.n_iter_ = _check_optimize_result("lbfgs", opt_res, self.max_iter)
        self.loss_ = opt_res.fun

    def _make_optimizer(self, params):
        if self.solver == "sgd":
            return SGDOptimizer(params, self.learning_rate_init, self.learning_rate,
                                self.momentum, self.nesterovs_momentum, self.power_t)
        return AdamOptimizer(params, self.learning_rate_init, self.beta_1, self.beta_2,
                             self.epsilon)

    def _optimizer_fits(self, params):
        opt = getattr(self, "_optimizer", None)
        if not isinstance(opt, SGDOptimizer if self.solver == "sgd" else AdamOptimizer):
            return False
        s1, s2 = opt.state_arrays()
        return all(s.shape == p.shape and s.dtype == p.dtype
                   for arrays in (s1, s2) if arrays is not None for s, p in zip(arrays, params))

    def _fit_stochastic(self, X, Y, y, sample_weight, incremental, validation, callbacks):
        """scikit-learn's _fit_stochastic. Y: the targets as the kernels take them; y: as
        validated (the classifier's boolean indicator matrix, which stratifies the split)."""
        params = self.coefs_ + self.intercepts_
        if not incremental or not self._optimizer_fits(params):
            self._optimizer = self._make_optimizer(params)

        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        X_val = Y_val = y_val = sample_weight_val = None
        if validation is not None:
            X_train, Y_train, sample_weight_train = X, Y, sample_weight
            X_val, Y_val, y_val, sample_weight_val = validation
        elif early_stopping:
            # don't stratify in multilabel classification
            should_stratify = is_classifier(self) and self.n_outputs_ == 1
            stratify = y if should_stratify else None
            if sample_weight is None:
                X_train, X_val, Y_train, Y_val = train_test_split(
                    X, Y, random_state=self._random_state, test_size=self.validation_fraction,
                    stratify=stratify)
                sample_weight_train = sample_weight_val = None
            else:
                (X_train, X_val, Y_train, Y_val, sample_weight_train,
                 sample_weight_val) = train_test_split(
                    X, Y, sample_weight, random_state=self._random_state,
                    test_size=self.validation_fraction, stratify=stratify)
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            y_val = Y_val
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(Y_val.astype(bool))
        else:
            X_train, Y_train, sample_weight_train = X, Y, sample_weight

        if not _inference.is_sparse(X_train):
            X_train = np.ascontiguousarray(X_train)
        Y_train = np.ascontiguousarray(Y_train)
        if sample_weight_train is not None:
            sample_weight_train = np.ascontiguousarray(sample_weight_train)
        n_samples = X_train.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped")
            batch_size = np.clip(self.batch_size, 1, n_samples)

        # the bookkeeping carried across calls (warm_start, partial_fit)
        if getattr(self, "loss_curve_", None) is None:
            self.loss_curve_ = []
        if early_stopping and getattr(self, "validation_scores_", None) is None:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
        best_val = getattr(self, "best_validation_score_", None)
        best_loss = getattr(self, "best_loss_", None)
        state = _epochs.FitState(
            t=int(getattr(self, "t_", 0)),
            best_loss=np.inf if best_loss is None else float(best_loss),
            best_validation_score=-np.inf if best_val is None else float(best_val),
            no_improvement_count=int(getattr(self, "_no_improvement_count", 0)))
        self._optimizer.to_state(state)
        best = None
        if early_stopping:
            best = self._best_arrays(params)
            L = len(self.coefs_)
            self._best_coefs, self._best_intercepts = best[:L], best[L:]
        if X_val is not None and getattr(self, "validation_loss_curve_", None) is None:
            self.validation_loss_curve_ = []

        config = _epochs.FitConfig(
            batch_size=int(batch_size), max_iter=int(self.max_iter), tol=float(self.tol),
            n_iter_no_change=_epochs.patience(self.n_iter_no_change), alpha=float(self.alpha),
            loss_scale=1.0 / self._loss_scale(), incremental=bool(incremental),
            early_stopping=bool(early_stopping))
        self._optimizer.configure(config)
        net = self._net()
        bar = self._progress_bar(incremental)
        log = None if not self.verbose else (bar.write if bar is not None else print)
        start_time = time.perf_counter()
        t_start = state.t
        budget_hit = []

        def epoch_end(epoch, loss):
            self.n_iter_ = epoch
            self.loss_ = loss
            self.t_ = t_start + epoch * n_samples
            self.loss_curve_.append(loss)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss="%.8f" % loss, refresh=False)
            elif self.verbose:
                print("Iteration %d, loss = %.8f" % (epoch, loss))
            info = {"epoch": epoch, "loss": loss, "t": self.t_, "validation_score": None,
                    "validation_loss": None, "elapsed": time.perf_counter() - start_time}
            val_score = None
            if X_val is not None:
                out, val_loss = _inference.evaluate(X_val, Y_val, sample_weight_val, net,
                                                    self._loss_scale())
                score = self._score_outputs(out, y_val, sample_weight_val)
                self.validation_loss_curve_.append(val_loss)
                info["validation_score"], info["validation_loss"] = score, val_loss
                if early_stopping:
                    self.validation_scores_.append(score)
                    val_score = score
                    if bar is not None:
                        bar.set_postfix(loss="%.8f" % loss, val_score="%f" % score, refresh=False)
                    elif self.verbose:
                        print("Validation score: %f" % score)
            stop = False
            for cb in callbacks:
                if cb(self, info):
                    stop = True
                    break
            elapsed = time.perf_counter() - start_time
            if self.time_budget is not None and elapsed >= self.time_budget:
                stop = True
                budget_hit.append(epoch)
            return not stop, val_score

        rng = self._random_state if self.shuffle else None
        try:
            status, _ = _epochs.run_epochs(
                X_train, Y_train, sample_weight_train, net.Ws, net.bs, config, state,
                act=net.act, head=net.head, negative_slope=net.slope,
                opt_state=self._optimizer.state_arrays(), best=best, random_state=rng,
                epoch_end=epoch_end)
        finally:
            if bar is not None:
                bar.close()

        self._optimizer.from_state(state)
        self.n_iter_ = state.n_iter
        self.t_ = state.t
        self._no_improvement_count = state.no_improvement_count
        if early_stopping:
            self.best_validation_score_ = state.best_validation_score
        else:
            self.best_loss_ = state.best_loss
        if status == FitStatus.converged and log is not None:
            what = "Validation score" if early_stopping else "Training loss"
            why = ("Learning rate too small. " if config.solver == _core.Solver.sgd
                   and config.learning_rate == _core.Schedule.adaptive else "")
            log("%s did not improve more than tol=%f for %d consecutive epochs. %sStopping."
                % (what, self.tol, self.n_iter_no_change, why))
        if status == FitStatus.interrupted:
            warnings.warn("Training interrupted by user.")
        elif status == FitStatus.max_iter:
            warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the "
                          "optimization hasn't converged yet." % self.max_iter,
                          ConvergenceWarning)
        elif status == FitStatus.diverged:
            if not early_stopping:
                raise ValueError("Solver produced non-finite parameter weights. The input data "
                                 "may contain large values and need to be preprocessed.")
            warnings.warn("The training loss became non-finite in epoch %d; training stopped "
                          "and the best weights were restored." % (self.n_iter_ + 1),
                          ConvergenceWarning)
        elif status == FitStatus.stopped and budget_hit:
            warnings.warn("time_budget=%g s was reached after %d epochs; the optimization "
                          "hasn't converged yet." % (self.time_budget, budget_hit[0]),
                          ConvergenceWarning)
        if early_stopping:
            # restore best weights; keep separate arrays for the next warm-started fit
            self.coefs_, self.intercepts_ = self._best_coefs, self._best_intercepts
            self._best_coefs = [c.copy() for c in self.coefs_]
            self._best_intercepts = [i.copy() for i in self.intercepts_]

    def _best_arrays(self, params):
        saved = list(getattr(self, "_best_coefs", [])) + list(getattr(self, "_best_intercepts", []))
        if len(saved) != len(params):
            saved = [p.copy() for p in params]
        best = []
        for b, p in zip(saved, params):
            if (not isinstance(b, np.ndarray) or b.shape != p.shape or b.dtype != p.dtype
                    or np.shares_memory(b, p)):
                b = p.copy()
            best.append(np.require(b, requirements=["C", "W", "O"]))
        return best

    def _progress_bar(self, incremental):
        if not (self.verbose is True or self.verbose == 1) or incremental:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
        return tqdm(total=self.max_iter, desc=type(self).__name__, unit="epoch", leave=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
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
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, X_val=X_val,
                         y_val=y_val, sample_weight_val=sample_weight_val)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 "%s is not stochastic." % self.solver)
        return True

    # ------------------------------------------------------------------
    # prediction
    # ------------------------------------------------------------------

    def _forward_pass_fast(self, X, check_input=True):
        """The network's output (probabilities for classifiers) for X."""
        if check_input:
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
        Y = np.ascontiguousarray(np.asarray(y).reshape(X.shape[0], -1), dtype=dtype)
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=dtype)
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

    def save(self, path):
        """Save the fitted model to `path` (written as given) in nnfast's pickle-free
        "nnfast-mlp" format: an npz of the arrays plus JSON metadata and a SHA-256.
        Load it with :func:`nnfast.load`. See :mod:`nnfast.io.persistence` for the format."""
        from .io.persistence import save

        save(self, path)

    def to_sklearn(self):
        """A fitted scikit-learn MLPClassifier / MLPRegressor with this model's parameters,
        weights, classes and training state (see :mod:`nnfast.io.interop`). Raises
        ValueError for activation='leaky_relu', which scikit-learn does not have."""
        from .io.interop import to_sklearn

        return to_sklearn(self)

    @classmethod
    def from_sklearn(cls, model):
        """The nnfast estimator equal to a fitted scikit-learn MLP `model` (parameters,
        weights, classes and training state; see :mod:`nnfast.io.interop`)."""
        from .io.interop import from_sklearn

        return from_sklearn(model, None if cls is BaseMultilayerPerceptron else cls)


class MLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
    """Multi-layer Perceptron classifier: scikit-learn's, trained by nnfast's kernels.

    Parameters, attributes and methods are scikit-learn 1.9's
    :class:`sklearn.neural_network.MLPClassifier`; see its documentation, and the module
    docstring of :mod:`nnfast.mlp` for the differences and for the extras:

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplying the sample weights ('balanced':
        n_samples / (n_classes · count); not with partial_fit). Not for multi-label y.
    callbacks : list of callables, default=None
        ``fn(estimator, epoch_info) -> bool`` after each epoch; True stops training.
    time_budget : float, default=None
        Seconds; training stops after the epoch that exceeds it.
    n_jobs : int, default=None
        OpenMP threads for this estimator's kernels (None: the process setting).

    Extra fitted attribute: ``validation_loss_curve_`` (list, or None without a
    validation set).
    """

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 class_weight=None, callbacks=None, time_budget=None, n_jobs=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            loss="log_loss", shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            callbacks=callbacks, time_budget=time_budget, n_jobs=n_jobs)
        self.class_weight = class_weight

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)

        # As in scikit-learn: define classes_ on a first fit, else check the labels
        # against them (warm_start: the same set; partial_fit: a subset).
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError("`y` has classes not in `self.classes_`. "
                                 f"`self.classes_` has {self.classes_}. 'y' has {classes}.")
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y

    def _encode_y_val(self, y_val):
        """(labels for the score, indicator matrix for the loss) of a given validation y."""
        y_val = np.asarray(y_val) if not hasattr(y_val, "toarray") else y_val.toarray()
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val, warn=True)
        unknown = np.setdiff1d(unique_labels(y_val), self.classes_)
        if self._label_binarizer.y_type_.startswith("multilabel"):
            unknown = []
        if len(unknown):
            raise ValueError(f"y_val has classes not in `self.classes_`: {unknown}")
        Y_val = self._label_binarizer.transform(y_val).astype(bool)
        return y_val, Y_val.reshape(Y_val.shape[0], -1)

    def _apply_class_weight(self, y, sample_weight, incremental):
        if self.class_weight is None:
            return sample_weight
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError("class_weight is not supported for multi-label classification "
                             "(a 2-D indicator y); pass sample_weight instead")
        if incremental and isinstance(self.class_weight, str):
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit. In order to use "
                "'balanced' weights, use compute_class_weight('balanced', classes=classes, "
                "y=y). In place of y you can use a large enough sample of the full training "
                "set target to properly estimate the class frequency distributions. Pass the "
                "resulting weights as the class_weight parameter.")
        Y = y.reshape(y.shape[0], -1)
        idx = Y[:, 0].astype(np.intp) if Y.shape[1] == 1 else np.argmax(Y, axis=1)
        weights = compute_class_weight(self.class_weight, classes=self.classes_,
                                       y=self.classes_[idx])
        cw = weights[idx]
        return cw if sample_weight is None else sample_weight * cw

    def _score_outputs(self, out, y_true, sample_weight):
        y_pred = out.ravel() if self.n_outputs_ == 1 else out
        return float(accuracy_score(y_true, self._label_binarizer.inverse_transform(y_pred),
                                    sample_weight=sample_weight))

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray, shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        check_is_fitted(self)
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight=sample_weight,
                                         score_function=accuracy_score)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit; required on the first call.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict_log_proba(self, X):
        """Return the log of probability estimates (log of :meth:`predict_proba`)."""
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def predict_proba(self, X):
        """Probability estimates, shape (n_samples, n_classes), classes as in classes_."""
        check_is_fitted(self)
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    """Multi-layer Perceptron regressor: scikit-learn's, trained by nnfast's kernels.

    Parameters, attributes and methods are scikit-learn 1.9's
    :class:`sklearn.neural_network.MLPRegressor` (loss 'squared_error' or 'poisson'); see
    its documentation, and the module docstring of :mod:`nnfast.mlp` for the differences
    and for the extras (callbacks, time_budget, n_jobs, fit's X_val / y_val,
    validation_loss_curve_, activation='leaky_relu').
    """

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 callbacks=None, time_budget=None, n_jobs=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            loss=loss, shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun, callbacks=callbacks, time_budget=time_budget, n_jobs=n_jobs)

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        check_is_fitted(self)
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight=sample_weight,
                                         score_function=r2_score)

    def _score_outputs(self, out, y_true, sample_weight):
        y_pred = out.ravel() if out.shape[1] == 1 else out
        if not np.isfinite(y_pred).all():
            return np.nan
        return float(r2_score(y_true, y_pred, sample_weight=sample_weight))

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _encode_y_val(self, y_val):
        y_val = np.asarray(y_val, dtype=np.float64)
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val, warn=True)
        if not np.isfinite(y_val).all():
            raise ValueError("y_val contains NaN or infinity")
        return y_val, y_val.reshape(y_val.shape[0], -1)

    # scikit-learn offers partial_fit on the regressor whatever the solver (with lbfgs it
    # runs a warm-started L-BFGS fit); so does nnfast, to stay a drop-in replacement.
    @available_if(lambda est: est._check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : ndarray of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)


# nnfast.state finds the classes by name when it restores a model (nnfast.io reads files and
# converts scikit-learn models without importing this module)
register_estimators(MLPClassifier, MLPRegressor)
