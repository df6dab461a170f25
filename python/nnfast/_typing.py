"""The type aliases of nnfast's signatures. Modules import them under
``typing.TYPE_CHECKING`` only, so ``import nnfast`` never pays for ``numpy.typing``; the
aliases are still valid at run time (Python 3.9 included) for tools that evaluate them."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np
import numpy.typing as npt

__all__ = ["ArrayLike", "FloatArray", "IntArray", "Params", "RandomStateLike"]

#: What every array argument accepts: an ndarray or anything NumPy turns into one.
ArrayLike = npt.ArrayLike

#: What the kernels compute in and return: float32 or float64, the dtype of the inputs.
FloatArray = npt.NDArray[np.floating[Any]]

#: Row indices (a batch order) and class labels coded as integers.
IntArray = npt.NDArray[np.integer[Any]]

#: Per-layer weights or biases as the caller gives them: one array-like per layer.
Params = Sequence[npt.ArrayLike]

#: ``random_state`` as scikit-learn takes it: a seed, a RandomState, or None (fresh entropy).
RandomStateLike = Union[int, np.integer[Any], np.random.RandomState, None]
