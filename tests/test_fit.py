"""The C++ epoch loop (csrc/nn/epochs.h through nnfast._epochs) against scikit-learn itself:
its optimizers, schedules, stopping rules and shuffling, epoch for epoch."""
import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest

import nnfast
import nnfast.reference as ref
from nnfast import _codes, _core, _epochs

sklearn = pytest.importorskip("sklearn")
from conftest import rerun_under_isa  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer  # noqa: E402
from sklearn.preprocessing import LabelBinarizer  # noqa: E402
from sklearn.utils import shuffle as sk_shuffle  # noqa: E402

RTOL = 1e-9


def _data(task, m=97, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, d))
    if task == "multiclass":
        y = rng.integers(0, k, m)
    elif task == "binary":
        y = (X[:, 0] + 0.5 * rng.standard_normal(m) > 0).astype(int)
    else:
        y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.standard_normal(m)
    return X, y


def _config(**params):
    """A FitConfig from scikit-learn's keywords (solver and schedule by name)."""
    p = dict(solver="sgd", learning_rate_init=0.1, alpha=1e-4, batch_size=32, max_iter=15)
    p.update(params)
    p["solver"] = _codes.SOLVERS[p["solver"]]
    p["learning_rate"] = _codes.SCHEDULES[p.get("learning_rate", "constant")]
    return _core.FitConfig(**p)


def _run(X, Y, Ws, bs, activation, head, *, opt=None, state=None, **kw):
    """Run the C++ loop on float64 data with scikit-learn's keywords; returns
    (status, curve, state, opt)."""
    kw = dict(kw)
    extra = {k: kw.pop(k) for k in ("random_state", "best", "epoch_end") if k in kw}
    config = _config(**kw)
    state = state or _core.FitState(learning_rate=config.learning_rate_init)
    opt = opt or _epochs.solver_state(config, Ws, bs)
    status, curve = _epochs.run_epochs(
        np.ascontiguousarray(X), np.ascontiguousarray(Y), None, Ws, bs, config, state,
        act=_codes.ACTIVATIONS[activation], head=_codes.HEADS[head], opt_state=opt, **extra)
    return status, curve, state, opt


def _ours(X, Y, sizes, activation, head, random_state, shuffle=True, **params):
    """Initialise from random_state as scikit-learn does, then fit in C++ (shuffling with
    the same generator when asked)."""
    Ws, bs = ref.init_params(sizes, activation, random_state=random_state)
    status, curve, state, _ = _run(X, Y, Ws, bs, activation, head,
                                   random_state=random_state if shuffle else None, **params)
    return Ws, bs, curve, state, status


CASES = [
    dict(solver="sgd", momentum=0.0, nesterovs_momentum=False),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=False),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=True),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5),
    dict(solver="sgd", learning_rate="adaptive", tol=1e-2, n_iter_no_change=2, max_iter=40),
    dict(solver="adam", learning_rate_init=0.01),
    dict(solver="adam", learning_rate_init=0.01, tol=1e-2, n_iter_no_change=3, max_iter=60),
]


@pytest.mark.parametrize("params", CASES, ids=lambda p: "-".join(f"{v}" for v in p.values()))
@pytest.mark.parametrize("task", ["multiclass", "binary"])
@pytest.mark.parametrize("shuffle", [True, False])
def test_classifier_fit_matches_sklearn(params, task, shuffle):
    X, y = _data(task)
    kw = dict(hidden_layer_sizes=(7,), activation="tanh", random_state=3, batch_size=32,
              alpha=1e-4, shuffle=shuffle, max_iter=15, learning_rate_init=0.1)
    kw.update(params)
    clf = MLPClassifier(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    Y = LabelBinarizer().fit_transform(y).astype(float)
    head = "softmax" if task == "multiclass" else "logistic"
    rs = np.random.RandomState(3)
    p = {k: v for k, v in kw.items() if k not in ("hidden_layer_sizes", "activation",
                                                  "random_state", "shuffle")}
    Ws, bs, curve, state, status = _ours(X, Y, [X.shape[1], 7, Y.shape[1]], "tanh", head, rs,
                                         shuffle, **p)
    assert state.n_iter == clf.n_iter_
    assert state.t == clf.t_
    np.testing.assert_allclose(curve, clf.loss_curve_, rtol=RTOL)
    for got, want in zip(Ws + bs, clf.coefs_ + clf.intercepts_):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12)
    assert state.best_loss == pytest.approx(clf.best_loss_, rel=RTOL)
    assert state.learning_rate == pytest.approx(clf._optimizer.learning_rate, rel=RTOL)
    assert status == (_core.FitStatus.max_iter if clf.n_iter_ == kw["max_iter"]
                      else _core.FitStatus.converged)
    # The shared random stream ends where scikit-learn left its own.
    if shuffle:
        theirs = clf._random_state.get_state()
        ours = rs.get_state()
        np.testing.assert_array_equal(ours[1], theirs[1])
        assert ours[2] == theirs[2]


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_regressor_fit_matches_sklearn_including_its_loss_scale(n_outputs):
    X, y = _data("regression", m=120)
    Y = np.column_stack([y * (j + 1) for j in range(n_outputs)])
    reg = MLPRegressor(hidden_layer_sizes=(5, 4), activation="relu", random_state=1,
                       solver="adam", learning_rate_init=0.01, max_iter=25, batch_size=40,
                       tol=1e-3, n_iter_no_change=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, Y if n_outputs > 1 else y)
    rs = np.random.RandomState(1)
    Ws, bs, curve, state, _ = _ours(X, Y, [6, 5, 4, n_outputs], "relu", "identity", rs,
                                    solver="adam", learning_rate_init=0.01, max_iter=25,
                                    batch_size=40, tol=1e-3, n_iter_no_change=4,
                                    loss_scale=1.0 / n_outputs)
    assert state.n_iter == reg.n_iter_
    np.testing.assert_allclose(curve, reg.loss_curve_, rtol=RTOL)
    for got, want in zip(Ws + bs, reg.coefs_ + reg.intercepts_):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12)


def test_shuffle_draws_exactly_sklearns_stream():
    """Twenty epochs of shuffling: the order each epoch and the generator's final state."""
    X, y = _data("multiclass", m=53)
    Y = LabelBinarizer().fit_transform(y).astype(float)
    ours, theirs = np.random.RandomState(11), np.random.RandomState(11)
    Ws, bs = ref.init_params([6, 4, 3], "relu", random_state=0)
    idx, orders = np.arange(53), []
    for _ in range(20):
        idx = sk_shuffle(idx, random_state=theirs)
        orders.append(idx)
    W_ref, b_ref, curve_ref = ref.train(X, Y, Ws, bs, learning_rate=0.05, batch_size=10,
                                        epochs=20, activation="relu", alpha=0.0,
                                        order=np.array(orders))
    _, curve, _, _ = _run(X, Y, Ws, bs, "relu", "softmax", learning_rate_init=0.05,
                          momentum=0.0, nesterovs_momentum=False, alpha=0.0, batch_size=10,
                          max_iter=20, tol=0.0, n_iter_no_change=20, random_state=ours)
    np.testing.assert_allclose(curve, curve_ref, rtol=RTOL)
    for got, want in zip(Ws + bs, W_ref + b_ref):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12)
    np.testing.assert_array_equal(ours.get_state()[1], theirs.get_state()[1])
    assert ours.get_state()[2] == theirs.get_state()[2]


def test_optimizer_state_carries_across_calls_like_partial_fit():
    """Two incremental calls equal scikit-learn's optimizer run over both epochs."""
    X, y = _data("multiclass")
    Y = LabelBinarizer().fit_transform(y).astype(float)
    Ws, bs = ref.init_params([6, 7, 3], "logistic", random_state=0)
    params = [p.copy() for p in Ws + bs]
    opt_sk = AdamOptimizer(params, 0.01)
    for _ in range(2):
        for start in range(0, len(X), 32):
            sl = slice(start, start + 32)
            _, dWs, dbs = ref.loss_and_gradients(X[sl], Y[sl], params[:2], params[2:],
                                                 "logistic", "softmax", alpha=1e-4)
            opt_sk.update_params(params, dWs + dbs)
    state, opt = None, None
    for _ in range(2):
        status, _, state, opt = _run(X, Y, Ws, bs, "logistic", "softmax", state=state, opt=opt,
                                     solver="adam", learning_rate_init=0.01, max_iter=5,
                                     incremental=True)
        assert status == _core.FitStatus.incremental
    assert state.adam_t == opt_sk.t
    for got, want in zip(Ws + bs, params):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12)
    for got, want in zip(opt[0] + opt[1], opt_sk.ms + opt_sk.vs):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-15)


def test_sgd_momentum_matches_sklearns_optimizer_class():
    X, y = _data("binary")
    Y = y[:, None].astype(float)
    Ws, bs = ref.init_params([6, 5, 1], "relu", random_state=4)
    params = [p.copy() for p in Ws + bs]
    opt_sk = SGDOptimizer(params, 0.05, "constant", 0.8, True, 0.5)
    for start in range(0, len(X), 16):
        sl = slice(start, start + 16)
        _, dWs, dbs = ref.loss_and_gradients(X[sl], Y[sl], params[:2], params[2:], "relu",
                                             "logistic", alpha=0.0)
        opt_sk.update_params(params, dWs + dbs)
    _, _, _, opt = _run(X, Y, Ws, bs, "relu", "logistic", learning_rate_init=0.05,
                        momentum=0.8, alpha=0.0, batch_size=16, max_iter=1)
    for got, want in zip(Ws + bs + opt[0], params + opt_sk.velocities):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-14)


def test_epoch_end_early_stopping_keeps_the_best_parameters():
    """Validation scores come from Python; C++ keeps the best parameters and stops after
    n_iter_no_change epochs without improvement."""
    X, y = _data("multiclass")
    Y = LabelBinarizer().fit_transform(y).astype(float)
    Ws, bs = ref.init_params([6, 7, 3], "relu", random_state=0)
    best = [np.full_like(p, np.nan) for p in Ws + bs]
    scores = [0.5, 0.7, 0.6, 0.65, 0.69, 0.1, 0.2]
    seen, snapshots = [], []

    def epoch_end(epoch, loss):
        seen.append(epoch)
        snapshots.append([p.copy() for p in Ws + bs])
        return True, scores[epoch - 1]

    status, curve, state, _ = _run(
        X, Y, Ws, bs, "relu", "softmax", momentum=0.0, nesterovs_momentum=False, alpha=0.0,
        max_iter=50, tol=0.05, n_iter_no_change=3, early_stopping=True, best=best,
        epoch_end=epoch_end)
    # 0.7 at epoch 2; then 0.6, 0.65, 0.69, 0.1 never beat 0.7 + tol: 4 > 3 stops at epoch 6.
    assert status == _core.FitStatus.converged and seen == [1, 2, 3, 4, 5, 6]
    assert len(curve) == 6
    assert state.best_validation_score == 0.7
    for got, want in zip(best, snapshots[1]):
        np.testing.assert_array_equal(got, want)


def test_diverging_fit_stops_with_a_clear_error_and_finite_weights():
    X, y = _data("regression")
    Ws, bs = ref.init_params([6, 8, 1], "relu", random_state=0)
    with pytest.raises(ValueError, match="diverged.*learning_rate"):
        nnfast.train(X * 1e3, y * 1e3, Ws, bs, learning_rate=1e3, batch_size=10, epochs=50,
                     out_activation="identity")
    status, curve, _, _ = _run(X * 1e3, (y * 1e3)[:, None], Ws, bs, "relu", "identity",
                               learning_rate_init=1e3, momentum=0.0, nesterovs_momentum=False,
                               alpha=0.0, batch_size=10, max_iter=50, tol=0.0,
                               n_iter_no_change=50)
    assert status == _core.FitStatus.diverged
    assert all(np.isfinite(p).all() for p in Ws + bs)  # restored to the epoch's start
    assert all(np.isfinite(curve))


# ---------------------------------------------------------------------------------------------
# Ctrl-C. The loop polls Python's signal handlers (PyErr_CheckSignals) about every 100 ms, so
# what SIGINT does is what the process's handler does: Python's default raises
# KeyboardInterrupt; SIG_IGN (inherited by any background job of a non-interactive shell,
# and by some CI runners and service managers) or a handler that returns leaves training
# running. Each test installs the disposition it needs and bounds its own run time.
# ---------------------------------------------------------------------------------------------

class _sigint:
    """`with _sigint(handler):` SIGINT's disposition inside, the previous one restored."""

    def __init__(self, handler):
        self.handler = handler

    def __enter__(self):
        self.previous = signal.signal(signal.SIGINT, self.handler)

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self.previous)


def _ctrl_c_after(seconds):
    timer = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def _long_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4000, 64))
    Y = np.eye(10)[rng.integers(0, 10, 4000)]
    Ws, bs = ref.init_params([64, 256, 10], "relu", random_state=0)
    return X, Y, Ws, bs


def _epochs_for(seconds, X, Y, Ws, bs):
    """Epochs of nnfast.train on this problem that take about `seconds`: a bound on the run
    should the interrupt never come."""
    start = time.perf_counter()
    nnfast.train(X, Y, Ws, bs, learning_rate=0.01, batch_size=32, epochs=2)
    return max(3, int(seconds / ((time.perf_counter() - start) / 2)))


@pytest.mark.skipif(os.name != "posix", reason="needs SIGINT delivery")
def test_ctrl_c_interrupts_a_long_training_run_within_a_second():
    X, Y, Ws, bs = _long_problem()
    epochs = _epochs_for(6.0, X, Y, Ws, bs)
    copies = [p.copy() for p in Ws + bs]
    with _sigint(signal.default_int_handler):
        start = time.perf_counter()
        timer = _ctrl_c_after(0.3)
        try:
            with pytest.raises(KeyboardInterrupt):
                nnfast.train(X, Y, Ws, bs, learning_rate=0.01, batch_size=32, epochs=epochs)
        finally:
            timer.cancel()
    assert time.perf_counter() - start < 1.5
    for p, c in zip(Ws + bs, copies):  # the caller's parameters are untouched
        np.testing.assert_array_equal(p, c)


@pytest.mark.skipif(os.name != "posix", reason="needs SIGINT delivery")
def test_ctrl_c_stops_an_estimator_fit_at_an_epoch_boundary():
    """scikit-learn's behaviour: "Training interrupted by user." and a usable, consistent
    model as of the last completed epoch; time_budget bounds the run if no signal comes."""
    X, Y, _, _ = _long_problem()
    est = nnfast.MLPClassifier(hidden_layer_sizes=(256,), batch_size=32, max_iter=1,
                               tol=0.0, n_iter_no_change=10**6, random_state=0, time_budget=6.0)
    # The signal comes after about two epochs, however long an epoch takes in this build
    # (20 ms in a release build, half a second in the sanitizer job's -O1 one).
    start = time.perf_counter()
    with pytest.warns(ConvergenceWarning):
        est.fit(X, Y.argmax(1))
    epoch = time.perf_counter() - start
    est.set_params(max_iter=10**6)
    delay = max(0.5, 2 * epoch)
    with _sigint(signal.default_int_handler):
        start = time.perf_counter()
        timer = _ctrl_c_after(delay)
        try:
            with pytest.warns(UserWarning, match="Training interrupted by user"):
                est.fit(X, Y.argmax(1))
        finally:
            timer.cancel()
    assert time.perf_counter() - start < delay + epoch + 1.5
    assert 1 <= est.n_iter_ == len(est.loss_curve_) == est.t_ // len(X)
    assert est.loss_ == est.loss_curve_[-1]
    assert est.predict(X[:5]).shape == (5,)


@pytest.mark.skipif(os.name != "posix", reason="needs SIGINT delivery")
@pytest.mark.parametrize("disposition", ["ignored", "host-handler"])
def test_sigint_ignored_or_handled_by_the_host_leaves_training_running(disposition):
    """With SIGINT ignored, or caught by a handler of the host application that returns,
    Ctrl-C does not stop a fit: the handler runs (within the poll interval) and training
    goes on to its own end (here max_iter, a few seconds at most)."""
    X, Y, _, _ = _long_problem()
    seen = []
    handler = signal.SIG_IGN if disposition == "ignored" else (lambda *a: seen.append(a[0]))
    est = nnfast.MLPClassifier(hidden_layer_sizes=(32,), batch_size=32, max_iter=8, tol=0.0,
                               random_state=0, callbacks=[lambda e, i: time.sleep(0.1)])
    with _sigint(handler), warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "Training interrupted"
        warnings.simplefilter("ignore", ConvergenceWarning)
        timer = _ctrl_c_after(0.2)
        try:
            est.fit(X, Y.argmax(1))
        finally:
            timer.cancel()
    assert est.n_iter_ == 8 == len(est.loss_curve_)
    assert seen == ([] if disposition == "ignored" else [signal.SIGINT])


@pytest.mark.skipif(os.name != "posix", reason="needs SIGINT delivery")
def test_signal_tests_pass_in_a_process_started_with_sigint_ignored():
    """A background job of a non-interactive shell inherits SIGINT ignored; the README's test
    command must not then hang on the Ctrl-C tests (it did: 100,000 epochs, unbounded)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider",
         "-k", "ctrl_c or sigint_ignored_or_handled"],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        capture_output=True, text=True, cwd=os.path.dirname(__file__), timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "4 passed" in proc.stdout or "5 passed" in proc.stdout, proc.stdout[-2000:]


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
def test_fit_under_every_isa(isa):
    """This file again under each other ISA this CPU has: the solvers' updates (with the L2
    term, in the dW product's epilogue) are compiled per ISA in csrc/nn/optimizers.cpp, like
    the products and the element-wise loops. The Ctrl-C / SIGINT tests are left out (they time themselves)."""
    rerun_under_isa(__file__, isa, "not every_isa and not ctrl_c and not sigint")
