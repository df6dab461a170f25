"""MLPClassifier and MLPRegressor: scikit-learn 1.9's estimators, trained by nnfast's kernels.

Change ``from sklearn.neural_network import MLPClassifier`` to ``from nnfast import
MLPClassifier`` and nothing else: the same parameters and defaults, fitted attributes,
methods, validation and warnings, and the same model for the same ``random_state`` — the
same Glorot draws from the same random stream, the same batch order, the same SGD /
Nesterov / Adam updates, learning-rate schedules and stopping rules. The stochastic
solvers run every epoch in C++ (one loop, csrc/nn/epochs.h, GIL released), Python being
called back between epochs only; L-BFGS is scipy's, each of its evaluations one C++ call.
The code: BaseMultilayerPerceptron in nnfast._mlp_base, the stochastic solvers in
nnfast._stochastic, the fitted state's schema in nnfast.state.

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
* Shuffling (the stochastic solvers' default) replays NumPy's MT19937 in C++, so a
  ``random_state`` RandomState built on another bit generator (``RandomState(PCG64())``)
  raises TypeError unless ``shuffle=False``; ints, None and default RandomStates work.
* Assigned ``coefs_`` / ``intercepts_`` are checked against the network's shape and raise a
  ValueError naming the layer.
* One estimator takes one ``fit`` / ``partial_fit`` at a time: a second one, from another
  thread or from a callback of the running fit, raises RuntimeError before touching it
  (fit clones to train in parallel). scikit-learn lets the two runs interleave.
* Ctrl-C: the C++ loop runs the process's Python signal handlers about every 100 ms
  (PyErr_CheckSignals), so SIGINT does what its handler does. Python's default handler
  raises KeyboardInterrupt: the fit stops with "Training interrupted by user." (a
  UserWarning, as in scikit-learn) and keeps the model as of the last completed epoch.
  If SIGINT is ignored (SIG_IGN, inherited by background jobs of non-interactive shells
  and by some CI runners and service managers), or the host application's handler
  returns without raising, the handler runs and training goes on to max_iter, tol, a
  callback or ``time_budget``: bound long fits with those where Ctrl-C may not arrive.

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
  process setting (OMP_NUM_THREADS) alone; -1 means all CPUs, -2 all but one, ...;
  a count above the CPU count is capped at it (more threads only slow the kernels).
* ``reduction_chunks``: S; each mini-batch is cut into S fixed, contiguous chunks whose
  gradients (each normalised by the whole batch's weight sum) are added in one fixed
  pairwise tree: the same model bit for bit at any thread count and for any number of
  processes dividing S (nnfast.distributed). The numbers differ from the default path
  by rounding only.
* ``activation='leaky_relu'`` (negative slope 0.01).
* ``verbose``: with verbose=1 (or True) a tqdm progress bar when tqdm is installed;
  otherwise, or with verbose >= 2, scikit-learn's "Iteration %d, loss = %.8f" lines.

The per-call checks are scikit-learn's, with shortcuts that change no outcome: a plain
float32 / float64 ndarray X (and numeric ndarray y) skips validate_data once a scan finds
it finite; binary and multiclass labels are encoded and decoded without LabelBinarizer's
checks; parameter values found valid are not checked again; an int ``random_state``
reseeds the last fit's generator rather than building a new one (when nothing else holds
it). Together they roughly halve a small fit's fixed cost and quarter a small
prediction's (benchmarks/overhead.py measures both against scikit-learn);
tests/test_input_shortcuts.py checks each shortcut against the path it skips.

All fitted state is in plain attributes (NumPy arrays, numbers, lists, a LabelBinarizer and
the optimizer of :mod:`nnfast._optimizers`), so models pickle and convert easily.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted

from . import _checks
from ._mlp_base import BaseMultilayerPerceptron, exclusive_fit, validate_data
from .state import register_estimators

if TYPE_CHECKING:
    import numpy.typing as npt

    from ._typing import (
        ArrayLike,
        ClassWeight,
        EpochCallback,
        FloatArray,
        LayerSizes,
        MatrixLike,
        RandomStateLike,
        Self,
    )

__all__ = ["MLPClassifier", "MLPRegressor"]


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
    reduction_chunks : int, default=None
        S: each mini-batch's gradient is computed as S contiguous chunks' gradients
        added in one fixed tree, so the model is the same bit for bit at any thread count
        and for any number of processes dividing S (:mod:`nnfast.distributed`). None:
        one gradient per batch (scikit-learn's numbers). At most ``batch_size`` and 65536.

    Extra fitted attribute: ``validation_loss_curve_`` (list, or None without a
    validation set).
    """

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, hidden_layer_sizes: LayerSizes = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: RandomStateLike = None, tol: float = 1e-4, verbose: bool | int = False,
                 warm_start: bool = False, momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: float = 10, max_fun: int = 15000,
                 class_weight: ClassWeight = None, callbacks: list[EpochCallback] | None = None,
                 time_budget: float | None = None, n_jobs: int | None = None,
                 reduction_chunks: int | None = None) -> None:
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            loss="log_loss", shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            callbacks=callbacks, time_budget=time_budget, n_jobs=n_jobs,
            reduction_chunks=reduction_chunks)
        self.class_weight = class_weight

    def _validate_input(self, X, y, incremental, reset):
        if not self._valid_as_is(X, y, reset=reset):
            X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                                 dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)

        # As in scikit-learn: define classes_ on a first fit, else check the labels
        # against them (warm_start: the same set; partial_fit: a subset).
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            # A sharded distributed fit: the union of every rank's labels
            union = getattr(getattr(self, "_distributed_session", None), "classes", None)
            _checks.fit_binarizer(self._label_binarizer, y if union is None else union)
            self.classes_ = self._label_binarizer.classes_
        else:
            # (unique_labels' type checks cost ~0.3 ms a partial_fit; plain labels need none)
            classes = np.unique(y) if _checks._plain_labels(y) else unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError("`y` has classes not in `self.classes_`. "
                                 f"`self.classes_` has {self.classes_}. 'y' has {classes}.")
        y = _checks.binarize_labels(self._label_binarizer, y)
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
        return float(accuracy_score(y_true, _checks.decode_labels(self._label_binarizer, y_pred),
                                    sample_weight=sample_weight))

    def predict(self, X: MatrixLike) -> npt.NDArray[Any]:
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
        return _checks.decode_labels(self._label_binarizer, y_pred)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight=sample_weight,
                                         score_function=accuracy_score)

    @available_if(lambda est: est._check_solver())
    @exclusive_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
                    classes: ArrayLike | None = None) -> Self:
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

    def predict_log_proba(self, X: MatrixLike) -> FloatArray:
        """Return the log of probability estimates (log of :meth:`predict_proba`)."""
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def predict_proba(self, X: MatrixLike) -> FloatArray:
        """Probability estimates, shape (n_samples, n_classes), classes as in ``classes_``."""
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
    and for the extras (callbacks, time_budget, n_jobs, reduction_chunks, fit's X_val / y_val,
    ``validation_loss_curve_``, activation='leaky_relu').
    """

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(self, loss: str = "squared_error", hidden_layer_sizes: LayerSizes = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | str = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True, random_state: RandomStateLike = None, tol: float = 1e-4,
                 verbose: bool | int = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: float = 10, max_fun: int = 15000,
                 callbacks: list[EpochCallback] | None = None, time_budget: float | None = None,
                 n_jobs: int | None = None, reduction_chunks: int | None = None) -> None:
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            loss=loss, shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun, callbacks=callbacks, time_budget=time_budget, n_jobs=n_jobs,
            reduction_chunks=reduction_chunks)

    def predict(self, X: MatrixLike) -> FloatArray:
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
        if not self._valid_as_is(X, y, reset=reset):
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
    @exclusive_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
                    ) -> Self:
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
