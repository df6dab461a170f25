"""nnfast's command line: ``python -m nnfast`` (or the ``nnfast`` console script).

Subcommands (each has ``--help``)::

    nnfast info                  the build: SIMD, CPU features, GEMM kernel, OpenMP, threads
    nnfast demo [options]        the lecture: perceptron and logistic regression on AND/OR/XOR,
                                 the 2-3-1 XOR network, then an MLP on handwritten digits,
                                 trained by nnfast's C++ kernels, by the NumPy reference and
                                 by scikit-learn, side by side; PNG figures with matplotlib
    nnfast train DATA [options]  train an MLP on a CSV (header row) or .npz (X, y) file,
                                 print held-out metrics, save the model
    nnfast predict MODEL DATA    predictions (--proba: probabilities) as CSV
    nnfast bench [WORKLOAD]      run benchmarks/run.py of the source tree

A bad file, column, value or model file is reported as one line
``nnfast <command>: error: ...`` on stderr with exit code 2 (as are usage errors).

The demo is written as functions that compute and return plain dicts
(:func:`run_xor`, :func:`run_digits`) and functions that turn those dicts into
text (:func:`format_xor`, :func:`format_digits`), so that tests can check the
numbers rather than parse the printout. Importing this module runs nothing.
"""
from __future__ import annotations

import argparse
import sys
import time
from contextlib import contextmanager

import numpy as np

__all__ = ["main", "build_parser", "run_gates", "run_xor", "run_digits", "run_sklearn_digits",
           "format_gates", "format_xor", "format_digits", "format_sklearn_digits",
           "write_figures", "LOSS_RTOL", "SKLEARN_LOSS_RTOL", "DEFAULT_FIGURES"]

#: The folder ``demo`` writes its PNG figures into unless told otherwise (--figures DIR).
DEFAULT_FIGURES = "nnfast-demo-figures"

#: Relative tolerance within which nnfast's and the reference's final losses must agree (float64).
LOSS_RTOL = 1e-6
#: The same for nnfast.MLPClassifier against scikit-learn's (same weights drawn, same batches;
#: the sums run in a different order).
SKLEARN_LOSS_RTOL = 1e-6


# ---------------------------------------------------------------------------
# Computation: each returns a dict of results, prints nothing
# ---------------------------------------------------------------------------

def _fit(impl, X, Y, weights, biases, **kwargs):
    """Train with `impl` (nnfast or nnfast.reference); return (Ws, bs, loss_curve, seconds)."""
    t0 = time.perf_counter()
    Ws, bs, curve = impl.train(X, Y, weights, biases, **kwargs)
    return Ws, bs, np.asarray(curve), time.perf_counter() - t0


def _rel_diff(a, b):
    a, b = float(a), float(b)
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def _compare(result, rtol=LOSS_RTOL):
    nn, ref = result["nnfast"], result["reference"]
    result["speedup"] = ref["fit_time"] / nn["fit_time"] if nn["fit_time"] > 0 else float("inf")
    result["loss_rel_diff"] = _rel_diff(nn["loss"], ref["loss"])
    result["loss_rtol"] = rtol
    result["losses_agree"] = bool(result["loss_rel_diff"] <= rtol)
    return result


def run_xor(epochs=5000, learning_rate=2.0, random_state=0):
    """The lecture's XOR network (layer sizes [2, 3, 1], sigmoid hidden and output units),
    trained by full-batch gradient descent with nnfast and with the reference.

    Both start from ``init_params([2, 3, 1], "logistic", random_state)``.

    Returns a dict with keys
      ``X`` (4, 2), ``y`` (4,), ``layer_sizes``, ``epochs``, ``learning_rate``, ``batch_size``;
      ``nnfast`` and ``reference``: each a dict with ``proba`` (4,) predicted P(y = 1),
      ``predicted`` (4,) 0/1, ``accuracy`` (fraction), ``loss`` (final epoch's loss),
      ``loss_curve`` (epochs,), ``fit_time`` (seconds);
      ``speedup`` (reference fit time / nnfast fit time), ``loss_rel_diff``, ``loss_rtol``,
      ``losses_agree`` (bool).
    """
    import nnfast
    from nnfast import reference
    from nnfast.datasets import logic_gate

    X, y = logic_gate("xor")
    sizes = [2, 3, 1]
    W0, b0 = nnfast.init_params(sizes, "logistic", random_state=random_state)
    kwargs = dict(learning_rate=learning_rate, batch_size=4, epochs=epochs,
                  activation="logistic", out_activation="logistic")
    result = {"X": X, "y": y, "layer_sizes": sizes, "epochs": epochs,
              "learning_rate": learning_rate, "batch_size": 4}
    for name, impl in (("nnfast", nnfast), ("reference", reference)):
        Ws, bs, curve, seconds = _fit(impl, X, y, W0, b0, **kwargs)
        proba = impl.predict(X, Ws, bs, activation="logistic", out_activation="logistic")[:, 0]
        predicted = (proba >= 0.5).astype(np.float64)
        result[name] = {"proba": proba, "predicted": predicted,
                        "accuracy": float(np.mean(predicted == y)),
                        "loss": float(curve[-1]), "loss_curve": curve, "fit_time": seconds,
                        "weights": Ws, "biases": bs}
    return _compare(result)


def run_digits(epochs=30, learning_rate=0.5, batch_size=200, hidden=(100,), random_state=0,
               progress=None):
    """An MLP on scikit-learn's handwritten digits (64 features, 10 classes), trained by
    mini-batch gradient descent with nnfast and with the reference.

    ReLU hidden layers of sizes `hidden`, softmax output with cross-entropy on one-hot
    targets, float64. Both implementations start from the same
    ``init_params([64, *hidden, 10], "relu", random_state)`` and see the same batches:
    each epoch visits the training rows in a permutation drawn from
    ``np.random.RandomState(random_state)``, passed to both as an explicit ``order``.

    Returns a dict with keys ``layer_sizes``, ``epochs``, ``learning_rate``,
    ``batch_size``, ``n_train``, ``n_test``; ``nnfast`` and ``reference``: each a dict
    with ``test_accuracy``, ``train_accuracy``, ``loss`` (final epoch's mean training
    loss), ``loss_curve`` (epochs,), ``fit_time`` (seconds); and ``speedup``,
    ``loss_rel_diff``, ``loss_rtol``, ``losses_agree`` as in :func:`run_xor`; each
    implementation's dict also holds ``test_predicted`` (the predicted test labels), and
    the result ``y_test``.

    progress : None or callable ``progress(name, epoch, epochs, loss)``, called after each
        epoch of each implementation (name "nnfast" or "reference"). Training then runs one
        epoch per call with the next rows of the same batch order, which is the same
        computation (plain SGD carries no state between epochs); ``fit_time`` counts only
        the training calls.
    """
    import nnfast
    from nnfast import reference
    from nnfast.datasets import load_digits_split, one_hot

    X_train, X_test, y_train, y_test = load_digits_split(random_state=random_state)
    Y_train = one_hot(y_train, 10)
    sizes = [X_train.shape[1], *[int(h) for h in hidden], 10]
    W0, b0 = nnfast.init_params(sizes, "relu", random_state=random_state)
    rng = np.random.RandomState(random_state)
    order = np.array([rng.permutation(X_train.shape[0]) for _ in range(epochs)])
    kwargs = dict(learning_rate=learning_rate, batch_size=batch_size, epochs=epochs,
                  activation="relu", out_activation="softmax", order=order)
    result = {"layer_sizes": sizes, "epochs": epochs, "learning_rate": learning_rate,
              "batch_size": batch_size, "n_train": X_train.shape[0], "n_test": X_test.shape[0]}
    for name, impl in (("nnfast", nnfast), ("reference", reference)):
        if progress is None:
            Ws, bs, curve, seconds = _fit(impl, X_train, Y_train, W0, b0, **kwargs)
        else:
            Ws, bs, parts, seconds = W0, b0, [], 0.0
            for epoch in range(epochs):
                kw = dict(kwargs, epochs=1, order=order[epoch:epoch + 1])
                Ws, bs, part, dt = _fit(impl, X_train, Y_train, Ws, bs, **kw)
                parts.append(part)
                seconds += dt
                progress(name, epoch + 1, epochs, float(part[-1]))
            curve = np.concatenate(parts)
        test_pred = impl.predict(X_test, Ws, bs).argmax(axis=1)
        train_pred = impl.predict(X_train, Ws, bs).argmax(axis=1)
        result[name] = {"test_accuracy": float(np.mean(test_pred == y_test)),
                        "train_accuracy": float(np.mean(train_pred == y_train)),
                        "loss": float(curve[-1]), "loss_curve": curve, "fit_time": seconds,
                        "test_predicted": test_pred}
    result["y_test"] = y_test
    return _compare(result)

def run_gates(random_state=0, perceptron_epochs=100, logistic_epochs=1000,
              logistic_learning_rate=1.0):
    """Slides 2-5: the perceptron and logistic regression (one sigmoid neuron) on the
    truth tables of AND, OR and XOR.

    The perceptron is :class:`nnfast.Perceptron` (eta0 = 1, shuffled epochs seeded by
    `random_state`, at most `perceptron_epochs`); logistic regression is
    ``nnfast.MLPClassifier(hidden_layer_sizes=(), activation="logistic", solver="sgd")``
    trained by full-batch gradient descent (no momentum, no L2) for `logistic_epochs`
    epochs, whose gradients are the lecture's (a − y)x and a − y.

    Returns a dict with keys ``X`` (4, 2), ``gates`` (["and", "or", "xor"]),
    ``targets`` {gate: (4,)}, and ``perceptron`` / ``logistic``: {gate: dict}. A perceptron
    entry holds ``estimator``, ``predicted``, ``accuracy``, ``converged``, ``n_iter``,
    ``warned`` (a ConvergenceWarning was issued), ``coef`` (2,), ``intercept``; a logistic
    entry holds ``estimator``, ``proba`` (4,) P(y=1), ``predicted``, ``accuracy``, ``loss``
    (final training loss), ``fit_time``.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from nnfast import MLPClassifier
    from nnfast.datasets import logic_gate
    from nnfast.perceptron import Perceptron

    gates = ["and", "or", "xor"]
    result = {"gates": gates, "targets": {}, "perceptron": {}, "logistic": {},
              "perceptron_epochs": perceptron_epochs, "logistic_epochs": logistic_epochs,
              "logistic_learning_rate": logistic_learning_rate}
    for gate in gates:
        X, y = logic_gate(gate)
        result["X"] = X
        result["targets"][gate] = y
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            p = Perceptron(eta0=1.0, max_iter=perceptron_epochs, shuffle=True,
                           random_state=random_state).fit(X, y)
        pred = p.predict(X)
        result["perceptron"][gate] = {
            "estimator": p, "predicted": pred, "accuracy": float(np.mean(pred == y)),
            "converged": bool(p.converged_), "n_iter": int(p.n_iter_),
            "warned": any(issubclass(w.category, ConvergenceWarning) for w in caught),
            "coef": p.coef_[0].copy(), "intercept": float(p.intercept_[0])}
        clf = MLPClassifier(hidden_layer_sizes=(), activation="logistic", solver="sgd",
                            learning_rate_init=logistic_learning_rate, batch_size=4,
                            momentum=0.0, nesterovs_momentum=False, alpha=0.0,
                            max_iter=logistic_epochs, tol=0.0,
                            n_iter_no_change=logistic_epochs + 1, shuffle=False,
                            random_state=random_state)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        seconds = time.perf_counter() - t0
        proba = clf.predict_proba(X)[:, 1]
        pred = clf.predict(X)
        result["logistic"][gate] = {
            "estimator": clf, "proba": proba, "predicted": pred,
            "accuracy": float(np.mean(pred == y)), "loss": float(clf.loss_),
            "fit_time": seconds}
    return result


def run_sklearn_digits(epochs=30, learning_rate=0.5, batch_size=200, hidden=(100,),
                       random_state=0):
    """The digits network as estimators: ``nnfast.MLPClassifier`` and scikit-learn's
    ``sklearn.neural_network.MLPClassifier`` with identical settings (solver 'sgd',
    constant learning rate `learning_rate`, momentum 0, batches of `batch_size`, no
    shuffling, alpha 0, exactly `epochs` epochs, ReLU hidden layers `hidden`, the same
    `random_state`; nnfast draws the same initial weights as scikit-learn).

    Returns a dict with ``params`` (the shared constructor parameters) and ``nnfast`` /
    ``sklearn``: each with ``test_accuracy``, ``loss``, ``loss_curve``, ``fit_time``; and
    ``speedup`` (scikit-learn's fit time / nnfast's), ``loss_rel_diff``, ``loss_rtol``,
    ``losses_agree``.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from nnfast import MLPClassifier
    from nnfast.datasets import load_digits_split

    X_train, X_test, y_train, y_test = load_digits_split(random_state=random_state)
    params = dict(hidden_layer_sizes=tuple(int(h) for h in hidden), activation="relu",
                  solver="sgd", alpha=0.0, batch_size=batch_size, learning_rate="constant",
                  learning_rate_init=learning_rate, max_iter=epochs, shuffle=False,
                  random_state=random_state, tol=0.0, n_iter_no_change=epochs + 1,
                  momentum=0.0, nesterovs_momentum=False)
    result = {"params": params, "epochs": epochs}
    for name, cls in (("nnfast", MLPClassifier), ("sklearn", SkMLPClassifier)):
        clf = cls(**params)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_train, y_train)
        seconds = time.perf_counter() - t0
        result[name] = {"test_accuracy": float(clf.score(X_test, y_test)),
                        "loss": float(clf.loss_curve_[-1]),
                        "loss_curve": np.asarray(clf.loss_curve_), "fit_time": seconds}
    nn, sk = result["nnfast"], result["sklearn"]
    result["speedup"] = sk["fit_time"] / nn["fit_time"] if nn["fit_time"] > 0 else float("inf")
    result["loss_rel_diff"] = _rel_diff(nn["loss"], sk["loss"])
    result["loss_rtol"] = SKLEARN_LOSS_RTOL
    result["losses_agree"] = bool(result["loss_rel_diff"] <= SKLEARN_LOSS_RTOL)
    return result


def write_figures(folder, gates, xor, digits, sk=None):
    """Write the demo's PNG figures into `folder` (created if needed); return their paths.

    * ``xor_decision_boundaries.png``: the decision regions on XOR of the perceptron, of
      logistic regression and of the 2-3-1 sigmoid network, side by side;
    * ``digits_loss_curve.png``: the digits training loss per epoch (nnfast, the reference,
      and scikit-learn when `sk` is given);
    * ``digits_confusion_matrix.png``: the digits test set, nnfast's predictions.
    """
    import os

    import nnfast
    from nnfast import plots

    os.makedirs(folder, exist_ok=True)
    Ws, bs = xor["nnfast"]["weights"], xor["nnfast"]["biases"]
    perceptron = gates["perceptron"]["xor"]["estimator"]
    logistic = gates["logistic"]["xor"]["estimator"]
    panels = [
        ("perceptron (step unit)", perceptron.predict),
        ("logistic regression (1 sigmoid unit)", lambda Z: logistic.predict_proba(Z)[:, 1]),
        ("2-3-1 sigmoid network", lambda Z: nnfast.predict(Z, Ws, bs, activation="logistic",
                                                           out_activation="logistic")[:, 0]),
    ]
    paths = [plots.save_decision_boundaries(os.path.join(folder, "xor_decision_boundaries.png"),
                                            panels, xor["X"], xor["y"])]
    curves = {"nnfast": digits["nnfast"]["loss_curve"],
              "NumPy reference": digits["reference"]["loss_curve"]}
    if sk is not None:
        curves["scikit-learn MLPClassifier"] = sk["sklearn"]["loss_curve"]
    paths.append(plots.save_loss_curve(os.path.join(folder, "digits_loss_curve.png"), curves,
                                       title="handwritten digits: training loss per epoch"))
    paths.append(plots.save_confusion_matrix(
        os.path.join(folder, "digits_confusion_matrix.png"), digits["y_test"],
        digits["nnfast"]["test_predicted"], n_classes=10,
        title="digits test set"))
    return paths


# ---------------------------------------------------------------------------
# Presentation: dicts in, text out
# ---------------------------------------------------------------------------

def _comparison_rows(rows, result):
    """rows: (label, nnfast text, reference text) → aligned lines, then the verdict lines."""
    width = max(len(label) for label, _, _ in rows)
    lines = [f"  {'':<{width}}  {'nnfast':>12}  {'reference':>12}"]
    lines += [f"  {label:<{width}}  {a:>12}  {b:>12}" for label, a, b in rows]
    lines.append(f"  speed-up: {result['speedup']:.1f}x  (reference fit time / nnfast fit time)")
    if result["losses_agree"]:
        lines.append(f"  final losses agree: yes (relative difference "
                     f"{result['loss_rel_diff']:.1e} <= {result['loss_rtol']:.0e})")
    else:
        lines.append(f"  WARNING: final losses differ: relative difference "
                     f"{result['loss_rel_diff']:.1e} > {result['loss_rtol']:.0e}")
    return lines


def format_xor(result, part=1):
    """The text :func:`run_xor`'s result prints as (headed "Part `part`")."""
    nn, ref = result["nnfast"], result["reference"]
    sizes = "-".join(str(n) for n in result["layer_sizes"])
    lines = [
        f"Part {part}  XOR with the lecture's {sizes} network (sigmoid hidden and output units)",
        f"  {result['epochs']} epochs of full-batch gradient descent, learning rate "
        f"{result['learning_rate']:g}, both from the same initial weights",
        "",
        "   x1  x2 | target | P(y=1) nnfast  P(y=1) reference | predicted",
    ]
    for (x1, x2), t, p_nn, p_ref, pred in zip(result["X"], result["y"], nn["proba"],
                                             ref["proba"], nn["predicted"]):
        mark = "" if pred == t else "  (wrong)"
        lines.append(f"   {x1:2.0f}  {x2:2.0f} |   {t:.0f}    |   {p_nn:10.4f}  "
                     f"{p_ref:16.4f} |     {pred:.0f}{mark}")
    lines.append("")
    lines += _comparison_rows([
        ("accuracy", f"{100 * nn['accuracy']:.1f} %", f"{100 * ref['accuracy']:.1f} %"),
        ("final loss", f"{nn['loss']:.8f}", f"{ref['loss']:.8f}"),
        ("fit time", f"{nn['fit_time']:.3f} s", f"{ref['fit_time']:.3f} s"),
    ], result)
    return "\n".join(lines)


def format_digits(result, part=2):
    """The text :func:`run_digits`'s result prints as (headed "Part `part`")."""
    nn, ref = result["nnfast"], result["reference"]
    sizes = "-".join(str(n) for n in result["layer_sizes"])
    lines = [
        f"Part {part}  handwritten digits (8x8 images, 10 classes): {sizes} network, "
        f"ReLU hidden, softmax output",
        f"  {result['n_train']} training / {result['n_test']} test images, "
        f"{result['epochs']} epochs, batches of {result['batch_size']}, learning rate "
        f"{result['learning_rate']:g}, float64; same initial weights and batch order",
        "",
    ]
    lines += _comparison_rows([
        ("test accuracy", f"{100 * nn['test_accuracy']:.1f} %",
         f"{100 * ref['test_accuracy']:.1f} %"),
        ("train accuracy", f"{100 * nn['train_accuracy']:.1f} %",
         f"{100 * ref['train_accuracy']:.1f} %"),
        ("final loss", f"{nn['loss']:.8f}", f"{ref['loss']:.8f}"),
        ("fit time", f"{nn['fit_time']:.3f} s", f"{ref['fit_time']:.3f} s"),
    ], result)
    return "\n".join(lines)


def _bits(values):
    return " ".join(f"{v:.0f}" for v in values)


def format_gates(result):
    """The text :func:`run_gates`'s result prints as: Part 1 (perceptron) and Part 2
    (logistic regression)."""
    lines = [
        "Part 1  Rosenblatt's perceptron: y^ = step(x.w + b), learning rule "
        "w <- w + eta (y - y^) x, b <- b + eta (y - y^)",
        f"  eta = 1, weights from zero, at most {result['perceptron_epochs']} epochs; "
        "inputs (x1, x2) = (0,0) (0,1) (1,0) (1,1)",
        "",
        "  gate  targets   predicted  accuracy  epochs  converged",
    ]
    for gate in result["gates"]:
        r = result["perceptron"][gate]
        verdict = "yes" if r["converged"] else (
            "NO  (ConvergenceWarning: not linearly separable)" if r["warned"] else "NO")
        lines.append(f"  {gate.upper():<4}  {_bits(result['targets'][gate])}   "
                     f"{_bits(r['predicted'])}    {100 * r['accuracy']:5.1f} %  "
                     f"{r['n_iter']:>6}  {verdict}")
    lines += [
        "",
        "Part 2  Logistic regression = one sigmoid neuron, "
        "nnfast.MLPClassifier(hidden_layer_sizes=(), activation='logistic')",
        f"  {result['logistic_epochs']} epochs of full-batch gradient descent, learning rate "
        f"{result['logistic_learning_rate']:g}, gradients dL/dw = (a - y) x, dL/db = a - y",
        "",
        "  gate  targets   P(y=1)                       predicted  accuracy  final loss",
    ]
    for gate in result["gates"]:
        r = result["logistic"][gate]
        probs = " ".join(f"{p:.3f}" for p in r["proba"])
        lines.append(f"  {gate.upper():<4}  {_bits(result['targets'][gate])}   {probs:<27}  "
                     f"{_bits(r['predicted'])}    {100 * r['accuracy']:5.1f} %  "
                     f"{r['loss']:.4f}")
    lines += ["  one line (x.w + b = 0) separates AND and OR but not XOR: both single units "
              "fail on XOR;", "  the hidden layer of Part 3 is what solves it."]
    return "\n".join(lines)


def format_sklearn_digits(result, digits=None):
    """The text :func:`run_sklearn_digits`'s result prints as (and, given `digits`, the
    fit times of all implementations on one line)."""
    nn, sk = result["nnfast"], result["sklearn"]
    p = result["params"]
    lines = [
        "  the same network as estimators: nnfast.MLPClassifier vs scikit-learn's "
        "MLPClassifier,",
        f"  solver='sgd', momentum=0, shuffle=False, learning_rate_init={p['learning_rate_init']:g}, "
        f"batch_size={p['batch_size']}, alpha=0, {result['epochs']} epochs, "
        f"random_state={p['random_state']}",
        "",
    ]
    rows = [("test accuracy", f"{100 * nn['test_accuracy']:.1f} %",
             f"{100 * sk['test_accuracy']:.1f} %"),
            ("final loss", f"{nn['loss']:.8f}", f"{sk['loss']:.8f}"),
            ("fit time", f"{nn['fit_time']:.3f} s", f"{sk['fit_time']:.3f} s")]
    width = max(len(r[0]) for r in rows)
    lines.append(f"  {'':<{width}}  {'nnfast':>12}  {'scikit-learn':>12}")
    lines += [f"  {a:<{width}}  {b:>12}  {c:>12}" for a, b, c in rows]
    lines.append(f"  speed-up: {result['speedup']:.1f}x  (scikit-learn fit time / nnfast fit time)")
    if result["losses_agree"]:
        lines.append(f"  final losses agree: yes (relative difference "
                     f"{result['loss_rel_diff']:.1e} <= {result['loss_rtol']:.0e})")
    else:
        lines.append(f"  note: final losses differ by {result['loss_rel_diff']:.1e} "
                     f"(> {result['loss_rtol']:.0e})")
    if digits is not None:
        lines += ["", f"  fit time, {result['epochs']} epochs of the same "
                      f"network:  nnfast kernels {digits['nnfast']['fit_time']:.3f} s"
                      f"  |  NumPy reference {digits['reference']['fit_time']:.3f} s"
                      f"  |  scikit-learn {sk['fit_time']:.3f} s"]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------

@contextmanager
def _thread_limit(threads, out):
    """Limit OpenMP to `threads` for the duration, via threadpoolctl when it is installed."""
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print(f"note: threadpoolctl is not installed, so --threads cannot change the thread "
              f"count of a running process; set it before Python starts instead:\n"
              f"      OMP_NUM_THREADS={threads} python -m nnfast demo", file=out)
        yield
        return
    with threadpool_limits(limits=threads, user_api="openmp"):
        yield


# ---------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------

def _cmd_info(args, out):
    import nnfast

    if out is sys.stdout:
        nnfast.show_config()
    else:  # show_config prints to sys.stdout; honour a redirected `out` too
        from contextlib import redirect_stdout

        with redirect_stdout(out):
            nnfast.show_config()
    return 0


class _Progress:
    """Per-epoch progress of the digits training: a bar redrawn in place on a terminal,
    a line every few epochs otherwise (logs, pipes, tests)."""

    def __init__(self, out, width=24):
        self.out = out
        self.width = width
        isatty = getattr(out, "isatty", None)
        self.tty = bool(isatty()) if callable(isatty) else False

    def __call__(self, name, epoch, epochs, loss):
        done = int(round(self.width * epoch / epochs))
        line = (f"  training {name:<9} [{'#' * done}{'.' * (self.width - done)}] "
                f"epoch {epoch:>{len(str(epochs))}}/{epochs}  loss {loss:.4f}")
        if self.tty:
            print("\r" + line, end="\n" if epoch == epochs else "", file=self.out, flush=True)
        elif epoch == epochs or epoch % max(1, epochs // 5) == 0:
            print(line, file=self.out, flush=True)


def _cmd_demo(args, out):
    import nnfast

    def say(text=""):
        print(text, file=out, flush=True)

    t_start = time.perf_counter()
    with _thread_limit(args.threads, out):
        cfg = nnfast.config()
        threads = cfg["max_threads"] if cfg["openmp"] else 1
        say("nnfast demo: the lecture from the perceptron to an MLP on handwritten digits. "
            "The networks are\ntrained by nnfast's C++ kernels and by the pure-NumPy "
            "reference (nnfast.reference) from the\nsame start: the results should match, "
            "the times should not.")
        say(f"nnfast {cfg['version']}, GEMM kernel: {cfg['gemm_kernel']}, "
            f"OpenMP threads: {threads}")
        say()
        gates = run_gates()
        say(format_gates(gates))
        say()
        xor = run_xor(epochs=args.epochs_xor)
        say(format_xor(xor, part=3))
        say()
        say(f"Part 4  handwritten digits: training ({args.epochs_digits} epochs) ...")
        digits = run_digits(epochs=args.epochs_digits, progress=_Progress(out))
        say()
        say(format_digits(digits, part=4))
        say()
        sk = run_sklearn_digits(epochs=args.epochs_digits)
        say(format_sklearn_digits(sk, digits))
        say()
        if args.no_figures:
            say("Figures: skipped (--no-figures).")
        else:
            from nnfast.plots import INSTALL_HINT, have_matplotlib

            if have_matplotlib():
                import os

                paths = write_figures(args.figures, gates, xor, digits, sk)
                say(f"Figures written to {os.path.abspath(args.figures)}:")
                for path in paths:
                    say(f"  {os.path.basename(path)}")
            else:
                say("Figures: not drawn, matplotlib is not installed. To get them "
                    "(XOR decision boundaries, digits\nloss curve, confusion matrix): "
                    f"{INSTALL_HINT}")
        say(f"Done in {time.perf_counter() - t_start:.1f} s.")
    return 0


# ---------------------------------------------------------------------------
# train / predict / bench
# ---------------------------------------------------------------------------

class CLIError(Exception):
    """A problem with the user's input (file, column, value, model): printed as one line
    ``nnfast <command>: error: <message>`` and exit code 2, never a traceback."""


def _parse_number(text):
    try:
        return float(text)
    except ValueError:
        return None


def read_table(path, target=None, need_target=True, n_features=None):
    """Read DATA for ``train`` / ``predict``.

    * ``.npz``: arrays ``X`` (m, d) and, when needed, ``y`` (m,);
    * anything else: a CSV file with a header row; the target is the column named
      `target`, by default the last one. Every feature must be numeric.

    For prediction (``need_target=False``) with `n_features` known: the `target` column
    is dropped when named; otherwise a file with exactly one column more than the model
    has features is taken to be laid out like the training file and its last column is
    dropped.

    Returns (X float64 (m, d), y (m,) or None, feature names, target name or None).
    Raises CLIError naming the problem.
    """
    import os

    path = os.fspath(path)
    if not os.path.exists(path):
        raise CLIError(f"no such file: {path}")
    if os.path.isdir(path):
        raise CLIError(f"{path} is a directory, not a data file")
    if path.lower().endswith(".npz"):
        return _read_npz(path, need_target)
    return _read_csv(path, target, need_target, n_features)


def _read_npz(path, need_target):
    try:
        with np.load(path, allow_pickle=False) as data:
            members = {k: data[k] for k in data.files}
    except Exception as exc:
        raise CLIError(f"cannot read {path} as an .npz archive ({exc})") from None
    if "X" not in members:
        raise CLIError(f"{path} has no array 'X' (it has: {', '.join(sorted(members)) or 'none'})")
    X = members["X"]
    if X.ndim != 2:
        raise CLIError(f"X in {path} must be 2-D (examples x features); got shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise CLIError(f"X in {path} is not numeric (dtype {X.dtype})")
    X = X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        raise CLIError(f"X in {path} holds NaN or infinite values")
    y = members.get("y")
    if y is None:
        if need_target:
            raise CLIError(f"{path} has no target array 'y'")
    else:
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise CLIError(f"y in {path} must be 1-D with one value per row of X; got shape "
                           f"{y.shape} for X of shape {X.shape}")
    names = [f"x{j}" for j in range(X.shape[1])]
    return X, y, names, ("y" if y is not None else None)


def _read_csv(path, target, need_target, n_features):
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    except UnicodeDecodeError:
        raise CLIError(f"{path} is not a UTF-8 text (CSV) file") from None
    except (OSError, csv.Error) as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise CLIError(f"{path} is empty")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    if not body:
        raise CLIError(f"{path} has a header but no data rows")
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise CLIError(f"{path} line {i + 2}: {len(row)} fields, but the header has "
                           f"{len(header)}")
    if target is not None and target not in header:
        raise CLIError(f"unknown column {target!r} in {path} (columns: {', '.join(header)})")
    if need_target:
        if len(header) < 2:
            raise CLIError(f"{path} needs at least one feature column and a target column")
        t = header.index(target) if target is not None else len(header) - 1
    elif target is not None:
        t = header.index(target)
    elif n_features is not None and len(header) == n_features + 1:
        t = len(header) - 1
    else:
        t = None
    feature_cols = [j for j in range(len(header)) if j != t]
    X = np.empty((len(body), len(feature_cols)))
    for i, row in enumerate(body):
        for k, j in enumerate(feature_cols):
            cell = row[j].strip()
            if cell == "":
                raise CLIError(f"{path} line {i + 2}: missing value in column {header[j]!r}")
            value = _parse_number(cell)
            if value is None or not np.isfinite(value):
                raise CLIError(f"{path} line {i + 2}: non-numeric value {cell!r} in feature "
                               f"column {header[j]!r}")
            X[i, k] = value
    y = None
    if t is not None and need_target:
        cells = [row[t].strip() for row in body]
        for i, cell in enumerate(cells):
            if cell == "":
                raise CLIError(f"{path} line {i + 2}: missing target value in column "
                               f"{header[t]!r}")
        numbers = [_parse_number(c) for c in cells]
        if all(v is not None for v in numbers):
            y = np.array(numbers, dtype=np.float64)
            if np.all(np.isfinite(y)) and np.all(y == np.round(y)):
                y = y.astype(np.int64)
        else:
            y = np.array(cells, dtype=object)
    return (X, y, [header[j] for j in feature_cols],
            header[t] if t is not None else None)


def infer_task(y):
    """'classify' for a non-numeric target or one with few (<= 20) distinct integer
    values, else 'regress'."""
    y = np.asarray(y)
    if y.dtype.kind in "OUSb":
        return "classify"
    if y.dtype.kind in "iu" and np.unique(y).size <= 20:
        return "classify"
    return "regress"


def _hidden_sizes(text):
    text = text.strip()
    if text in ("", "0", "none"):
        return ()
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes like 64,32; got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive; got {text!r}")
    return sizes


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1); got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1); got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}") from None
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}")
    return value


def _nonnegative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0; got {text!r}") from None
    if not value >= 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a number >= 0; got {text!r}")
    return value


def _default_model_path(data):
    import os

    stem = os.path.splitext(os.path.basename(data))[0] or "model"
    return f"{stem}.nnfast"


def _cmd_train(args, out):
    import os
    import warnings

    X, y, names, target = read_table(args.data, args.target, need_target=True)
    task = args.task or infer_task(y)
    if task == "regress":
        if y.dtype == object:
            raise CLIError(f"target column {target!r} is not numeric: it cannot be "
                           f"regressed (use --task classify)")
        y = y.astype(np.float64)
    from sklearn.exceptions import ConvergenceWarning

    from nnfast import MLPClassifier, MLPRegressor

    if task == "classify" and np.unique(y).size < 2:
        raise CLIError(f"target column {target!r} holds a single class; need at least 2")
    X_test = y_test = None
    if args.test_size > 0:
        from sklearn.model_selection import train_test_split

        stratify = None
        if task == "classify":
            counts = np.unique(y, return_counts=True)[1]
            stratify = y if counts.min() >= 2 else None
        n_test = int(np.ceil(args.test_size * X.shape[0]))
        if n_test < 1 or X.shape[0] - n_test < 1:
            raise CLIError(f"{X.shape[0]} rows are too few for --test-size {args.test_size:g}")
        try:
            X, X_test, y, y_test = train_test_split(X, y, test_size=args.test_size,
                                                    random_state=args.seed, stratify=stratify)
        except ValueError:
            X, X_test, y, y_test = train_test_split(X, y, test_size=args.test_size,
                                                    random_state=args.seed)
    epochs = args.epochs
    width = len(str(epochs))

    def progress(est, info):
        line = f"  epoch {info['epoch']:>{width}}/{epochs}  loss {info['loss']:.6f}"
        if info.get("validation_score") is not None:
            line += f"  validation score {info['validation_score']:.4f}"
        print(line, file=out, flush=True)
        return False

    cls = MLPClassifier if task == "classify" else MLPRegressor
    params = dict(hidden_layer_sizes=args.hidden, activation=args.activation,
                  solver=args.solver, alpha=args.alpha, max_iter=epochs,
                  random_state=args.seed, early_stopping=args.early_stopping,
                  n_jobs=args.threads, callbacks=[progress])
    if args.batch_size is not None:
        params["batch_size"] = args.batch_size
    if args.lr is not None:
        params["learning_rate_init"] = args.lr
    model = cls(**params)
    sizes = "-".join(str(n) for n in (X.shape[1], *args.hidden,
                                      "k" if task == "classify" else 1))
    print(f"nnfast train: {task} {target!r} from {len(names)} features; "
          f"{X.shape[0]} training rows"
          + (f", {X_test.shape[0]} held out" if X_test is not None else "")
          + f"; network {sizes}, {args.activation}, solver {args.solver}", file=out)
    if args.solver == "lbfgs":
        print("  (L-BFGS: no per-epoch progress; up to "
              f"{epochs} iterations)", file=out, flush=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            model.fit(X, y)
        except ValueError as exc:
            raise CLIError(f"training failed: {exc}") from None
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        print(f"  note: not converged after {model.n_iter_} epochs "
              f"(more --epochs or another --lr may help)", file=out)
    model.callbacks = None
    if X_test is not None:
        print(f"held-out metrics ({X_test.shape[0]} rows):", file=out)
        pred = model.predict(X_test)
        if task == "classify":
            from sklearn.metrics import classification_report

            print(f"  accuracy {np.mean(pred == y_test):.4f}", file=out)
            print(classification_report(y_test, pred, zero_division=0), file=out)
        else:
            from sklearn.metrics import r2_score

            rmse = float(np.sqrt(np.mean((pred - y_test) ** 2)))
            print(f"  R^2  {r2_score(y_test, pred):.4f}", file=out)
            print(f"  RMSE {rmse:.6g}", file=out)
    path = args.out or _default_model_path(args.data)
    try:
        model.save(path)
    except OSError as exc:
        raise CLIError(f"cannot write the model to {path}: {exc.strerror or exc}") from None
    print(f"model saved to {os.path.abspath(path)}", file=out)
    return 0


def _load_model(path):
    import os

    import nnfast

    if not os.path.exists(path):
        raise CLIError(f"no such model file: {path}")
    try:
        return nnfast.load(path)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CLIError(f"cannot load model {path}: {msg}") from None


def _cmd_predict(args, out):
    import csv

    model = _load_model(args.model)
    n_features = int(model.n_features_in_)
    X, _, _, _ = read_table(args.data, args.target, need_target=False, n_features=n_features)
    if X.shape[1] != n_features:
        raise CLIError(f"{args.data} has {X.shape[1]} feature columns, the model expects "
                       f"{n_features}")
    is_classifier = hasattr(model, "classes_")
    if args.proba and not is_classifier:
        raise CLIError("--proba needs a classifier model; this one is a regressor")
    pred = model.predict(X)
    header = ["prediction"]
    columns = [pred]
    if args.proba:
        proba = model.predict_proba(X)
        header += [f"proba_{c}" for c in model.classes_]
        columns += [proba[:, j] for j in range(proba.shape[1])]
    handle = None
    try:
        if args.out:
            try:
                handle = open(args.out, "w", newline="", encoding="utf-8")
            except OSError as exc:
                raise CLIError(f"cannot write {args.out}: {exc.strerror or exc}") from None
        writer = csv.writer(handle or out, lineterminator="\n")
        writer.writerow(header)
        for i in range(X.shape[0]):
            writer.writerow([repr(float(c[i])) if isinstance(c[i], (float, np.floating))
                             else c[i] for c in columns])
    finally:
        if handle is not None:
            handle.close()
    if args.out:
        print(f"{X.shape[0]} predictions written to {args.out}", file=sys.stderr)
    return 0


def _find_benchmark():
    import os
    from pathlib import Path

    candidates = [Path(os.getcwd()) / "benchmarks" / "run.py",
                  Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"]
    for c in candidates:
        if c.is_file():
            return c
    return None


def _cmd_bench(args, out):
    import subprocess

    script = _find_benchmark()
    if script is None:
        raise CLIError("the benchmark suite (benchmarks/run.py) is not here: it ships with "
                       "nnfast's source tree, not the installed package; run 'nnfast bench' "
                       "from a clone of the repository")
    cmd = [sys.executable, str(script)]
    if args.workload:
        cmd += ["--workloads", args.workload]
    cmd += args.extra
    print(f"running {' '.join(cmd)}", file=out, flush=True)
    if out is sys.stdout:
        return subprocess.call(cmd)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    out.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    return proc.returncode


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {value}")
    return value


def build_parser():
    """The argparse parser of ``python -m nnfast``."""
    from nnfast import __version__

    parser = argparse.ArgumentParser(
        prog="nnfast",
        description="Multilayer perceptrons trained by C++/OpenMP kernels, checked against "
                    "a pure-NumPy reference.")
    parser.add_argument("--version", action="version", version=f"nnfast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_info = sub.add_parser(
        "info", help="print the build: SIMD, CPU features, GEMM kernel, OpenMP and threads",
        description="Print how nnfast was built and what it will use on this machine.")
    p_info.set_defaults(func=_cmd_info)

    p_demo = sub.add_parser(
        "demo", help="the lecture run: perceptron, logistic regression, the XOR network, "
                     "an MLP on handwritten digits, timed against the reference and "
                     "scikit-learn",
        description="The perceptron and logistic regression (one sigmoid neuron) on AND, OR "
                    "and XOR; the lecture's XOR network (2-3-1, sigmoid); then an MLP on "
                    "scikit-learn's bundled handwritten digits with per-epoch progress. The "
                    "networks are trained once with nnfast's C++ kernels and once with the "
                    "pure-NumPy reference from the same initial weights, and the digits "
                    "network also by scikit-learn's MLPClassifier with the same settings; "
                    "predictions, accuracies, final losses and fit times are printed side by "
                    "side. With matplotlib installed it writes PNG figures (XOR decision "
                    "boundaries, digits loss curve, confusion matrix). Offline; takes a few "
                    "seconds.")
    p_demo.add_argument("--epochs-xor", type=_positive_int, default=5000, metavar="N",
                        help="epochs of full-batch gradient descent on XOR (default: 5000)")
    p_demo.add_argument("--epochs-digits", type=_positive_int, default=30, metavar="N",
                        help="epochs over the digits training set (default: 30)")
    p_demo.add_argument("--threads", type=_positive_int, default=None, metavar="T",
                        help="OpenMP threads for nnfast's kernels (needs threadpoolctl; "
                             "otherwise set OMP_NUM_THREADS before starting Python)")
    p_demo.add_argument("--figures", default=DEFAULT_FIGURES, metavar="DIR",
                        help="folder for the PNG figures, created if needed (default: "
                             f"./{DEFAULT_FIGURES}); needs matplotlib")
    p_demo.add_argument("--no-figures", action="store_true",
                        help="do not draw the figures")
    p_demo.set_defaults(func=_cmd_demo)

    p_train = sub.add_parser(
        "train", help="train an MLP on a CSV or .npz file and save it",
        description="Train nnfast.MLPClassifier or MLPRegressor on DATA: a CSV file with a "
                    "header row (the target is --target, by default the last column; every "
                    "other column is a numeric feature) or an .npz archive with arrays X and "
                    "y. Prints the loss per epoch, held-out metrics (accuracy and a per-class "
                    "report, or R^2 and RMSE) and saves the model (nnfast.load reads it). "
                    "Features are used as given: scale them beforehand.")
    p_train.add_argument("data", metavar="DATA", help="a .csv (with header) or .npz (X, y) file")
    p_train.add_argument("--target", metavar="COLUMN", default=None,
                         help="the CSV's target column (default: the last column)")
    p_train.add_argument("--task", choices=["classify", "regress"], default=None,
                         help="default: classify for a non-numeric target or one with at "
                              "most 20 distinct integers, else regress")
    p_train.add_argument("--hidden", type=_hidden_sizes, default=(64,), metavar="SIZES",
                         help="hidden layer sizes, comma-separated (default: 64; '' or 0: "
                              "no hidden layer)")
    p_train.add_argument("--activation", default="relu",
                         choices=["relu", "logistic", "tanh", "identity", "leaky_relu"],
                         help="hidden-layer activation (default: relu)")
    p_train.add_argument("--solver", default="adam", choices=["adam", "sgd", "lbfgs"],
                         help="optimizer (default: adam)")
    p_train.add_argument("--epochs", type=_positive_int, default=200, metavar="N",
                         help="most epochs (max_iter; default: 200)")
    p_train.add_argument("--batch-size", type=_positive_int, default=None, metavar="B",
                         help="mini-batch size (default: min(200, rows))")
    p_train.add_argument("--lr", type=_positive_float, default=None, metavar="RATE",
                         help="initial learning rate (default: 0.001)")
    p_train.add_argument("--alpha", type=_nonnegative_float, default=1e-4, metavar="A",
                         help="L2 penalty (default: 1e-4)")
    p_train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p_train.add_argument("--threads", type=_positive_int, default=None, metavar="T",
                         help="OpenMP threads for the kernels (default: OMP_NUM_THREADS)")
    p_train.add_argument("--test-size", type=_fraction, default=0.2, metavar="F",
                         help="fraction of rows held out for the metrics (default: 0.2; "
                              "0: none)")
    p_train.add_argument("--early-stopping", action="store_true",
                         help="stop when the score on an internal validation split stalls")
    p_train.add_argument("--out", metavar="MODEL", default=None,
                         help="model file to write (default: DATA's name with .nnfast)")
    p_train.set_defaults(func=_cmd_train)

    p_predict = sub.add_parser(
        "predict", help="predict with a saved model; CSV to stdout or --out",
        description="Load MODEL (written by 'nnfast train' or est.save) and predict the rows "
                    "of DATA (.csv with header or .npz with X). A CSV with one column more "
                    "than the model's features is taken to be laid out like the training "
                    "file and its last column (the target) is ignored; or name it with "
                    "--target.")
    p_predict.add_argument("model", metavar="MODEL")
    p_predict.add_argument("data", metavar="DATA")
    p_predict.add_argument("--target", metavar="COLUMN", default=None,
                           help="a column of DATA to ignore (the target)")
    p_predict.add_argument("--proba", action="store_true",
                           help="add the class probabilities (classifiers)")
    p_predict.add_argument("--out", metavar="FILE", default=None,
                           help="write the CSV here instead of stdout")
    p_predict.set_defaults(func=_cmd_predict)

    p_bench = sub.add_parser(
        "bench", help="run the side-by-side benchmark suite (benchmarks/run.py)",
        description="Run benchmarks/run.py of the source tree (nnfast vs the NumPy "
                    "reference, scikit-learn and PyTorch) and print its ratio table. "
                    "Arguments after WORKLOAD are passed to it (see its --help).")
    p_bench.add_argument("workload", nargs="?", default=None, metavar="WORKLOAD",
                         help="one workload (xor, small, digits, mnist_like, wide); "
                              "default: the suite's default set")
    p_bench.add_argument("extra", nargs=argparse.REMAINDER, metavar="...",
                         help="options for benchmarks/run.py, e.g. --quick --threads 1,2")
    p_bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv=None, out=None):
    """Run the command line with `argv` (default: ``sys.argv[1:]``); return the exit code.

    0 on success; 2 for a usage error (unknown command, bad option: argparse's message
    is printed to stderr). Output goes to `out` (default: ``sys.stdout``).
    """
    out = sys.stdout if out is None else out
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            if getattr(args, "command", None) != "bench":
                parser.error(f"unrecognized arguments: {' '.join(unknown)}")
            args.extra = list(unknown) + list(args.extra)  # options for benchmarks/run.py
    except SystemExit as exc:  # --help, --version, or a usage error: argparse has printed it
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args, out) or 0)
    except CLIError as exc:
        print(f"nnfast {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nnfast {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
