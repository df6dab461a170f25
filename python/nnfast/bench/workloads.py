"""The benchmark's workloads: networks, data, initial weights, and the work and memory they imply.

Every peer trains the same network from the same initial weights
(``nnfast.init_params(..., random_state=0)``, float64, converted per peer) on the same data,
with the same batches in the same order. Synthetic labels come from seeded random teachers,
so the problems are learnable (gradients shrink) and float32 runs stay close to float64 ones.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Workload:
    """One training problem: layer sizes [d, hidden..., outputs], activations, batches, epochs."""

    name: str
    sizes: tuple[int, ...]  # (d, hidden..., outputs)
    activation: str      # hidden activation
    out: str             # "logistic" (binary, 1 output) or "softmax"
    batch: int
    epochs: int
    lr: float
    rows: int
    quick_rows: int      # --quick: fewer rows and epochs (a smoke run, not a record)
    quick_epochs: int
    about: str
    # nnfast's time is its MLPClassifier's whole fit (validation, label encoding, setup
    # included), as scikit-learn's always is, rather than nnfast.train: where the fit's
    # fixed cost is a large part of the run
    estimator: bool = False

    def shape(self, quick: bool) -> tuple[int, int]:
        """(rows, epochs) of a full or a --quick run."""
        return (self.quick_rows, self.quick_epochs) if quick else (self.rows, self.epochs)


WORKLOADS = {w.name: w for w in [
    Workload("xor", (2, 3, 1), "logistic", "logistic", 4, 5000, 2.0, 4, 4, 500,
             "the 4 XOR points, 2-3-1 sigmoid, full batch (per-step and per-fit overhead; "
             "nnfast's time is MLPClassifier.fit's)", estimator=True),
    Workload("small", (20, 64, 1), "tanh", "logistic", 64, 5, 0.1, 20000, 2000, 2,
             "20000 x 20 synthetic binary, hidden [64] tanh"),
    Workload("digits", (64, 100, 10), "relu", "softmax", 200, 50, 0.2, 1797, 1797, 5,
             "scikit-learn's digits 1797 x 64 (/16), hidden [100] relu, 10 classes"),
    Workload("mnist_like", (784, 256, 128, 10), "relu", "softmax", 128, 1, 0.1, 60000, 2048, 1,
             "60000 x 784 synthetic sparse pixels in [0, 1), hidden [256, 128] relu, 10 classes"),
    Workload("wide", (1024, 2048, 2048, 10), "relu", "softmax", 512, 1, 0.05, 8192, 1024, 1,
             "8192 x 1024 synthetic, hidden [2048, 2048] relu, 10 classes"),
]}

DTYPES = ("float32", "float64")


def _teacher_labels(X: Any, n_classes: int, seed: int) -> Any:
    """Labels (n,) int64 from a seeded random teacher: binary, the sign (at the median) of a
    small tanh network's output plus noise; multi-class, the argmax of a random linear map of
    the centred inputs plus Gumbel noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    d = X.shape[1]
    Xc = X - X.mean(axis=0)
    if n_classes == 2:
        H = np.tanh(Xc @ (rng.standard_normal((d, 32)) * (2.0 / math.sqrt(d))))
        score = H @ rng.standard_normal(32) + 0.3 * rng.standard_normal(X.shape[0])
        return (score > np.median(score)).astype(np.int64)
    S = Xc @ rng.standard_normal((d, n_classes))
    S *= 3.0 / S.std()
    return (S + 0.3 * rng.gumbel(size=S.shape)).argmax(axis=1).astype(np.int64)


def make_data(w: Workload, rows: int) -> tuple[Any, Any]:
    """(X (rows, d) float64 C-contiguous, labels (rows,) int64) for workload `w`."""
    import numpy as np

    if w.name == "xor":
        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
        return X, np.array([0, 1, 1, 0], dtype=np.int64)
    if w.name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        return np.ascontiguousarray(d.data[:rows] / 16.0), d.target[:rows].astype(np.int64)
    seed = {"small": 1, "mnist_like": 2, "wide": 3}[w.name]
    rng = np.random.default_rng(seed)
    if w.name == "mnist_like":  # sparse "pixels" in [0, 1): about 19 % ink, as in MNIST
        X = (rng.random((rows, w.sizes[0])) < 0.19) * rng.random((rows, w.sizes[0]))
    else:
        X = rng.standard_normal((rows, w.sizes[0]))
    n_classes = 2 if w.out == "logistic" else w.sizes[-1]
    return X, _teacher_labels(X, n_classes, seed + 100)


def write_inputs(w: Workload, rows: int, dtypes: Sequence[str], directory: str) -> int:
    """Save X (n, d) and Y (n, outputs) per dtype, the labels (n,) and the float64 initial
    weights W{l} (n_(l-1), n_l) / b{l} (n_l,) as .npy files in `directory`, so that each
    peer's process loads exactly its arrays (no transient copies inflate its peak memory).
    Returns n, the number of rows written."""
    import numpy as np

    import nnfast

    X, labels = make_data(w, rows)
    np.save(os.path.join(directory, "labels.npy"), labels)
    for dt in dtypes:
        np.save(os.path.join(directory, f"X_{dt}.npy"), X.astype(dt))
        if w.out == "logistic":
            Y = labels.reshape(-1, 1).astype(dt)
        else:
            Y = np.zeros((len(labels), w.sizes[-1]), dtype=dt)
            Y[np.arange(len(labels)), labels] = 1
        np.save(os.path.join(directory, f"Y_{dt}.npy"), Y)
    Ws, bs = nnfast.init_params(list(w.sizes), w.activation, random_state=0, dtype=np.float64)
    for l, (W, b) in enumerate(zip(Ws, bs)):
        np.save(os.path.join(directory, f"W{l}.npy"), W)
        np.save(os.path.join(directory, f"b{l}.npy"), b)
    return X.shape[0]


def work_flops(sizes: Sequence[int], rows: int, epochs: int) -> float:
    """Matrix-product flops of `epochs` passes over `rows` examples: per example and epoch
    2·Σ n_(l-1)·n_l (forward) + 2·Σ n_(l-1)·n_l (dW = A_prevᵀ dZ) + 2·Σ_(l≥2) n_(l-1)·n_l
    (dA_prev = dZ Wᵀ, not needed for the first layer); element-wise work is not counted."""
    fwd = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    dx = sum(a * b for a, b in zip(sizes[1:-1], sizes[2:]))
    return 2.0 * rows * epochs * (2 * fwd + dx)


def memory_allowance_mb(sizes: Sequence[int], batch: int, itemsize: int, slack_mb: float) -> float:
    """The bound on a fit's memory above its inputs, in MiB: a working copy of the
    parameters, their gradients (plain SGD keeps no other optimizer state), one batch of
    activations (inputs included) and of their gradients, plus `slack_mb`."""
    params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    acts = batch * sum(sizes)
    return (2 * params + 2 * acts) * itemsize / 2**20 + slack_mb
