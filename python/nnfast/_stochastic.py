"""The estimators' stochastic solvers ('sgd', 'adam'): scikit-learn's ``_fit_stochastic``
around nnfast's one epoch loop (C++, reached through nnfast._epochs).

What stays in Python is what scikit-learn's loop does between epochs and what an estimator
owns: the validation split (its random draws), the batch size, the bookkeeping carried
across calls (warm_start, partial_fit), and the per-epoch hook (loss curve, verbose output
or progress bar, the validation score and loss, user callbacks, time_budget). Mixed into
nnfast.mlp's estimators through BaseMultilayerPerceptron.
"""
from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from . import _codes, _core, _epochs, _inference
from ._codes import FitStatus
from ._optimizers import AdamOptimizer, SGDOptimizer

# scikit-learn's stochastic solvers are the epoch loop's
STOCHASTIC_SOLVERS = tuple(_codes.SOLVERS)


class StochasticSolverMixin:
    """The stochastic solvers' part of BaseMultilayerPerceptron."""

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
        chunks = self.reduction_chunks
        if chunks is not None and chunks > (200 if self.batch_size == "auto" else self.batch_size):
            raise ValueError(f"reduction_chunks={chunks} is larger than batch_size="
                             f"{self.batch_size!r}: a batch is cut into at most batch_size chunks")
        # Set by nnfast.distributed for one call only (a communicator is neither a
        # parameter nor picklable): the route of the chunk gradients between processes.
        session = getattr(self, "_distributed_session", None)
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
            X_train = _inference.kernel_array(X_train)
        Y_train = _inference.kernel_array(Y_train)
        if sample_weight_train is not None:
            sample_weight_train = _inference.kernel_array(sample_weight_train)
        n_samples = X_train.shape[0]
        if session is not None and session.data == "sharded":
            n_samples = sum(session.n_rows)  # an epoch is every rank's rows
        if self.batch_size != "auto" and self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                          "going to be clipped")

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
            # not clipped to these rows: the loop clips it to its own (a sharded rank's
            # shard may be smaller than the batch); any size past int64 means "all of them"
            batch_size=_epochs.count64(200 if self.batch_size == "auto" else self.batch_size),
            max_iter=_epochs.count64(self.max_iter),
            tol=float(self.tol), n_iter_no_change=_epochs.count64(self.n_iter_no_change),
            alpha=float(self.alpha),
            loss_scale=1.0 / self._loss_scale(), incremental=bool(incremental),
            early_stopping=bool(early_stopping), reduction_chunks=int(chunks or 0))
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

        # Nothing to do between epochs (no validation set, callbacks, output or time
        # budget): no Python call per epoch, whose ~1.5 us was a third of a XOR fit. What
        # epoch_end would record is set from the loop's own state and curve below.
        needs_hook = (X_val is not None or bool(callbacks) or bool(self.verbose)
                      or self.time_budget is not None or session is not None)
        exchange = None
        if session is not None:
            exchange = session.route(config.reduction_chunks, params, self.batch_size)
            epoch_end = session.agreed(epoch_end)
            session.ready()  # every rank's input checks passed, or all raise here
        rng = self._random_state if self.shuffle else None
        curve_start = len(self.loss_curve_)
        try:
            status, curve = _epochs.run_epochs(
                X_train, Y_train, sample_weight_train, net.Ws, net.bs, config, state,
                act=net.act, head=net.head, negative_slope=net.slope,
                opt_state=self._optimizer.state_arrays(), best=best, random_state=rng,
                epoch_end=epoch_end if needs_hook else None, exchange=exchange)
        finally:
            if bar is not None:
                bar.close()

        self._optimizer.from_state(state)
        # The loop's own record of this call's epochs: a Ctrl-C raised in epoch_end (at its
        # first line, say) leaves an epoch run, counted and updated, that the callback never
        # appended; n_iter_, t_, loss_ and loss_curve_ must describe the same epochs.
        self.loss_curve_[curve_start:] = curve
        if curve:
            self.loss_ = curve[-1]
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
