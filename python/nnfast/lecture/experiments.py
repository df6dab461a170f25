"""The lecture's experiments: each trains its networks and returns a dict of plain
results (arrays, numbers, the fitted estimators), printing nothing.

Tests check the numbers in these dicts; :mod:`nnfast.lecture.report` turns them into
the text the demo prints and :mod:`nnfast.lecture.figures` into its PNGs. scikit-learn
and the estimators are imported inside the functions, so importing this module stays
cheap (``import nnfast.__main__`` must not pull scikit-learn in).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["run_gates", "run_xor", "run_digits", "run_sklearn_digits", "LOSS_RTOL",
           "SKLEARN_LOSS_RTOL"]

#: Relative tolerance within which nnfast's and the reference's final losses must agree (float64).
LOSS_RTOL = 1e-6
#: The same for nnfast.MLPClassifier against scikit-learn's (same weights drawn, same batches;
#: the sums run in a different order).
SKLEARN_LOSS_RTOL = 1e-6


#: Seconds to wait before each timed fit. NumPy's OpenBLAS keeps its threads polling
#: for ~0.1 s after a product (OPENBLAS_THREAD_TIMEOUT), and a 2-thread fit started in that window
#: shares a core with them: nnfast's estimator on the digits, right after the NumPy
#: reference's fit, took 0.05-0.10 s instead of 0.03 (0.04 at 1 thread). Each trainer is
#: timed on an otherwise idle machine, as the benchmark's separate processes are.
SETTLE_S = 0.2


def _settle() -> None:
    time.sleep(SETTLE_S)


def _fit(impl: ModuleType, X: Any, Y: Any, weights: Any, biases: Any, **kwargs: Any,
         ) -> tuple[list[Any], list[Any], np.ndarray, float]:
    """Train with `impl` (nnfast or nnfast.reference); return (Ws, bs, loss_curve, seconds)."""
    t0 = time.perf_counter()
    Ws, bs, curve = impl.train(X, Y, weights, biases, **kwargs)
    return Ws, bs, np.asarray(curve), time.perf_counter() - t0


def _rel_diff(a: float, b: float) -> float:
    """|a - b| relative to the larger magnitude (symmetric: neither side is the truth);
    0 when both are 0."""
    a, b = float(a), float(b)
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def _compare(result: dict[str, Any], rtol: float = LOSS_RTOL) -> dict[str, Any]:
    """Add the speed-up and the final-loss agreement of ``result["nnfast"]`` against
    ``result["reference"]`` to `result`; return it."""
    nn, ref = result["nnfast"], result["reference"]
    result["speedup"] = ref["fit_time"] / nn["fit_time"] if nn["fit_time"] > 0 else float("inf")
    result["loss_rel_diff"] = _rel_diff(nn["loss"], ref["loss"])
    result["loss_rtol"] = rtol
    result["losses_agree"] = bool(result["loss_rel_diff"] <= rtol)
    return result


def run_gates(random_state: int = 0, perceptron_epochs: int = 100, logistic_epochs: int = 1000,
              logistic_learning_rate: float = 1.0) -> dict[str, Any]:
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
    result: dict[str, Any]
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


def run_xor(epochs: int = 5000, learning_rate: float = 2.0, random_state: int = 0) -> dict[str, Any]:
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
    result: dict[str, Any]
    result = {"X": X, "y": y, "layer_sizes": sizes, "epochs": epochs,
              "learning_rate": learning_rate, "batch_size": 4}
    for name, impl in (("nnfast", nnfast), ("reference", reference)):
        _settle()
        Ws, bs, curve, seconds = _fit(impl, X, y, W0, b0, **kwargs)
        proba = impl.predict(X, Ws, bs, activation="logistic", out_activation="logistic")[:, 0]
        predicted = (proba >= 0.5).astype(np.float64)
        result[name] = {"proba": proba, "predicted": predicted,
                        "accuracy": float(np.mean(predicted == y)),
                        "loss": float(curve[-1]), "loss_curve": curve, "fit_time": seconds,
                        "weights": Ws, "biases": bs}
    return _compare(result)


def run_digits(epochs: int = 30, learning_rate: float = 0.5, batch_size: int = 200,
               hidden: tuple[int, ...] = (100,), random_state: int = 0,
               progress: Callable[[str, int, int, float], object] | None = None) -> dict[str, Any]:
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
    result: dict[str, Any]
    result = {"layer_sizes": sizes, "epochs": epochs, "learning_rate": learning_rate,
              "batch_size": batch_size, "n_train": X_train.shape[0], "n_test": X_test.shape[0]}
    for name, impl in (("nnfast", nnfast), ("reference", reference)):
        _settle()
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


def run_sklearn_digits(epochs: int = 30, learning_rate: float = 0.5, batch_size: int = 200,
                       hidden: tuple[int, ...] = (100,), random_state: int = 0) -> dict[str, Any]:
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
    params: dict[str, Any]
    params = dict(hidden_layer_sizes=tuple(int(h) for h in hidden), activation="relu",
                  solver="sgd", alpha=0.0, batch_size=batch_size, learning_rate="constant",
                  learning_rate_init=learning_rate, max_iter=epochs, shuffle=False,
                  random_state=random_state, tol=0.0, n_iter_no_change=epochs + 1,
                  momentum=0.0, nesterovs_momentum=False)
    result: dict[str, Any] = {"params": params, "epochs": epochs}
    for name, cls in (("nnfast", MLPClassifier), ("sklearn", SkMLPClassifier)):
        _settle()
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

