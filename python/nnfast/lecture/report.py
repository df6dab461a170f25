"""The demo's text: the result dicts of :mod:`nnfast.lecture.experiments` in, lines out.

Kept apart from the experiments so that tests can check the numbers without parsing
the printout, and the printout without retraining anything (a doctored result dict
shows the warning branch).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["format_gates", "format_xor", "format_digits", "format_sklearn_digits"]


def _comparison_rows(rows: list[tuple[str, str, str]], result: dict[str, Any]) -> list[str]:
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


def format_xor(result: dict[str, Any], part: int = 1) -> str:
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


def format_digits(result: dict[str, Any], part: int = 2) -> str:
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


def _bits(values: Iterable[float]) -> str:
    return " ".join(f"{v:.0f}" for v in values)


def format_gates(result: dict[str, Any]) -> str:
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


def format_sklearn_digits(result: dict[str, Any], digits: dict[str, Any] | None = None) -> str:
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
