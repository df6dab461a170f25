"""The lecture, run end to end: what ``python -m nnfast demo`` computes, prints and draws.

* :mod:`.experiments` trains the lecture's models and returns plain result dicts
  (perceptron and logistic regression on AND/OR/XOR, the 2-3-1 XOR network, the digits
  MLP against the NumPy reference and against scikit-learn);
* :mod:`.report` turns those dicts into the demo's text;
* :mod:`.plots` draws decision boundaries, loss curves and a confusion matrix
  (matplotlib, imported only when drawing), :mod:`.figures` the demo's three PNGs;
* :mod:`.demo` runs the parts in order and prints them (:func:`run_demo`).

Importing this package trains nothing and does not import scikit-learn.
"""
from __future__ import annotations

from .demo import DEFAULT_FIGURES, Progress, run_demo
from .experiments import LOSS_RTOL, SKLEARN_LOSS_RTOL, run_digits, run_gates, run_sklearn_digits, run_xor
from .figures import write_figures
from .report import format_digits, format_gates, format_sklearn_digits, format_xor

__all__ = ["run_demo", "Progress", "DEFAULT_FIGURES", "run_gates", "run_xor", "run_digits",
           "run_sklearn_digits", "LOSS_RTOL", "SKLEARN_LOSS_RTOL", "format_gates",
           "format_xor", "format_digits", "format_sklearn_digits", "write_figures"]
