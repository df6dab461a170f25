"""The demo's three PNG figures, drawn from the experiments' results by
:mod:`nnfast.lecture.plots` (matplotlib, imported only when drawing)."""
from __future__ import annotations

import os
from typing import Any

import nnfast

from . import plots

__all__ = ["write_figures"]


def write_figures(folder: str | os.PathLike[str], gates: dict[str, Any], xor: dict[str, Any],
                  digits: dict[str, Any], sk: dict[str, Any] | None = None) -> list[str]:
    """Write the demo's PNG figures into `folder` (created if needed); return their paths.

    * ``xor_decision_boundaries.png``: the decision regions on XOR of the perceptron, of
      logistic regression and of the 2-3-1 sigmoid network, side by side;
    * ``digits_loss_curve.png``: the digits training loss per epoch (nnfast, the reference,
      and scikit-learn when `sk` is given);
    * ``digits_confusion_matrix.png``: the digits test set, nnfast's predictions.
    """

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
