"""nnfast's command line: ``python -m nnfast`` (or the ``nnfast`` console script).

Subcommands::

    nnfast info                  the build: SIMD, CPU features, GEMM kernel, OpenMP, threads
    nnfast demo [options]        the lecture's XOR network, then an MLP on handwritten digits,
                                 each trained by nnfast's C++ kernels and by the NumPy
                                 reference from the same initial weights, side by side

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

__all__ = ["main", "build_parser", "run_xor", "run_digits", "format_xor", "format_digits",
           "LOSS_RTOL"]

#: Relative tolerance within which nnfast's and the reference's final losses must agree (float64).
LOSS_RTOL = 1e-6


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
                        "loss": float(curve[-1]), "loss_curve": curve, "fit_time": seconds}
    return _compare(result)


def run_digits(epochs=30, learning_rate=0.5, batch_size=200, hidden=(100,), random_state=0):
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
    ``loss_rel_diff``, ``loss_rtol``, ``losses_agree`` as in :func:`run_xor`.
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
        Ws, bs, curve, seconds = _fit(impl, X_train, Y_train, W0, b0, **kwargs)
        test_pred = impl.predict(X_test, Ws, bs).argmax(axis=1)
        train_pred = impl.predict(X_train, Ws, bs).argmax(axis=1)
        result[name] = {"test_accuracy": float(np.mean(test_pred == y_test)),
                        "train_accuracy": float(np.mean(train_pred == y_train)),
                        "loss": float(curve[-1]), "loss_curve": curve, "fit_time": seconds}
    return _compare(result)


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


def format_xor(result):
    """The text :func:`run_xor`'s result prints as."""
    nn, ref = result["nnfast"], result["reference"]
    sizes = "-".join(str(n) for n in result["layer_sizes"])
    lines = [
        f"Part 1  XOR with the lecture's {sizes} network (sigmoid hidden and output units)",
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


def format_digits(result):
    """The text :func:`run_digits`'s result prints as."""
    nn, ref = result["nnfast"], result["reference"]
    sizes = "-".join(str(n) for n in result["layer_sizes"])
    lines = [
        f"Part 2  handwritten digits (8x8 images, 10 classes): {sizes} network, "
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


def _cmd_demo(args, out):
    import nnfast

    with _thread_limit(args.threads, out):
        cfg = nnfast.config()
        threads = cfg["max_threads"] if cfg["openmp"] else 1
        print("nnfast demo: the lecture's networks trained twice from the same start, by "
              "nnfast's C++ kernels\nand by the pure-NumPy reference (nnfast.reference); "
              "the results should match, the times should not.", file=out)
        print(f"nnfast {cfg['version']}, GEMM kernel: {cfg['gemm_kernel']}, "
              f"OpenMP threads: {threads}", file=out)
        print("", file=out)
        xor = run_xor(epochs=args.epochs_xor)
        print(format_xor(xor), file=out)
        print("", file=out)
        digits = run_digits(epochs=args.epochs_digits)
        print(format_digits(digits), file=out)
    return 0


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
        "demo", help="train XOR and handwritten digits with nnfast and with the reference",
        description="Train the lecture's XOR network (2-3-1, sigmoid) and an MLP on "
                    "scikit-learn's bundled handwritten digits, each once with nnfast's C++ "
                    "kernels and once with the pure-NumPy reference from the same initial "
                    "weights; print predictions, accuracies, final losses and fit times. "
                    "Offline; takes a few seconds.")
    p_demo.add_argument("--epochs-xor", type=_positive_int, default=5000, metavar="N",
                        help="epochs of full-batch gradient descent on XOR (default: 5000)")
    p_demo.add_argument("--epochs-digits", type=_positive_int, default=30, metavar="N",
                        help="epochs over the digits training set (default: 30)")
    p_demo.add_argument("--threads", type=_positive_int, default=None, metavar="T",
                        help="OpenMP threads for nnfast's kernels (needs threadpoolctl; "
                             "otherwise set OMP_NUM_THREADS before starting Python)")
    p_demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv=None, out=None):
    """Run the command line with `argv` (default: ``sys.argv[1:]``); return the exit code.

    0 on success; 2 for a usage error (unknown command, bad option: argparse's message
    is printed to stderr). Output goes to `out` (default: ``sys.stdout``).
    """
    out = sys.stdout if out is None else out
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error: argparse has printed it
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args.func(args, out) or 0)


if __name__ == "__main__":
    sys.exit(main())
