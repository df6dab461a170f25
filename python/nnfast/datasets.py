"""Small datasets for demos and tests, all available offline.

* :func:`logic_gate` — the lecture's Boolean functions AND, OR and XOR (slides 2-4)
  as 4-row truth tables. XOR is the one a single perceptron cannot learn.
* :func:`load_digits_split` — scikit-learn's bundled 8 × 8 handwritten digits
  (1797 images, 10 classes), scaled to [0, 1] and split into train and test sets.
* :func:`one_hot` — class labels to the (m, k) target matrix a softmax output needs.

scikit-learn is imported inside the functions that need it, so ``import nnfast``
never imports it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    from ._typing import ArrayLike, FloatArray, IntArray

__all__ = ["GATES", "logic_gate", "load_digits_split", "one_hot"]

#: The Boolean functions :func:`logic_gate` knows, as Python callables on 0/1 ints.
GATES = {
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b,
}


def logic_gate(name: str) -> tuple[FloatArray, FloatArray]:
    """The truth table of a two-input Boolean function, one example per row.

    Parameters
    ----------
    name : {"and", "or", "xor"} (case-insensitive)

    Returns
    -------
    X : ndarray of shape (4, 2), float64
        The inputs ``[[0, 0], [0, 1], [1, 0], [1, 1]]``.
    y : ndarray of shape (4,), float64
        The output for each row (0.0 or 1.0).

    Examples
    --------
    >>> X, y = logic_gate("xor")
    >>> y
    array([0., 1., 1., 0.])
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, one of {sorted(GATES)}; got {type(name).__name__}")
    key = name.lower()
    if key not in GATES:
        raise ValueError(f"name must be one of {sorted(GATES)}; got {name!r}")
    gate = GATES[key]
    rows = [(a, b) for a in (0, 1) for b in (0, 1)]
    X = np.array(rows, dtype=np.float64)
    y = np.array([gate(a, b) for a, b in rows], dtype=np.float64)
    return X, y


def load_digits_split(test_size: float = 0.25, random_state: int | None = 0,
                      dtype: npt.DTypeLike = np.float64,
                      ) -> tuple[FloatArray, FloatArray, IntArray, IntArray]:
    """scikit-learn's handwritten digits, scaled to [0, 1], in a stratified train/test split.

    The data ship with scikit-learn (``sklearn.datasets.load_digits``), so no download
    is needed: 1797 images of 8 × 8 pixels with grey levels 0..16, flattened to 64
    features and divided by 16; labels 0..9.

    Parameters
    ----------
    test_size : float in (0, 1) or int
        Passed to ``sklearn.model_selection.train_test_split``.
    random_state : int or None
        Seed of the split.
    dtype : float32 or float64
        dtype of the feature arrays.

    Returns
    -------
    X_train : ndarray of shape (m_train, 64), `dtype`
    X_test : ndarray of shape (m_test, 64), `dtype`
    y_train : ndarray of shape (m_train,), int64, labels 0..9
    y_test : ndarray of shape (m_test,), int64, labels 0..9

    The class proportions of y_train and y_test match those of the whole set
    (``stratify=y``). With the defaults m_train = 1347 and m_test = 450.

    Examples
    --------
    >>> X_train, X_test, y_train, y_test = load_digits_split()
    >>> X_train.shape, X_test.shape, y_train.shape, y_test.shape
    ((1347, 64), (450, 64), (1347,), (450,))
    >>> float(X_train.min()), float(X_train.max())
    (0.0, 1.0)
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64; got {dtype}")
    digits = load_digits()
    X = (digits.data / 16.0).astype(dtype, copy=False)
    y = digits.target.astype(np.int64, copy=False)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=y)
    return (np.ascontiguousarray(X_train), np.ascontiguousarray(X_test),
            np.ascontiguousarray(y_train), np.ascontiguousarray(y_test))


def one_hot(y: ArrayLike, n_classes: int | None = None, dtype: npt.DTypeLike = np.float64,
            ) -> FloatArray:
    """Integer class labels to a one-hot target matrix.

    Parameters
    ----------
    y : array-like of shape (m,), integers in 0..n_classes-1
    n_classes : int or None
        Number of columns k; by default ``max(y) + 1``.
    dtype : float dtype of the result (float64 by default).

    Returns
    -------
    Y : ndarray of shape (m, k), with ``Y[i, y[i]] = 1`` and zeros elsewhere.

    Examples
    --------
    >>> print(one_hot([0, 2, 1]))
    [[1. 0. 0.]
     [0. 0. 1.]
     [0. 1. 0.]]
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D; got shape {y.shape}")
    if y.size and y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise TypeError(f"y must hold integer class labels; got dtype {y.dtype}")
    y = y.astype(np.int64, copy=False)
    if y.size and y.min() < 0:
        raise ValueError(f"y holds a negative label ({y.min()})")
    if n_classes is None:
        n_classes = int(y.max()) + 1 if y.size else 0
    else:
        n_classes = int(n_classes)
        if n_classes < 0:
            raise ValueError(f"n_classes must be >= 0; got {n_classes}")
        if y.size and y.max() >= n_classes:
            raise ValueError(f"y holds label {y.max()} but n_classes is {n_classes}")
    Y = np.zeros((y.shape[0], n_classes), dtype=dtype)
    Y[np.arange(y.shape[0]), y] = 1
    return Y
