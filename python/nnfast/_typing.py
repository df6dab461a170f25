"""The type aliases of nnfast's signatures. Modules import them under
``typing.TYPE_CHECKING`` only, so ``import nnfast`` never pays for ``numpy.typing``; the
aliases are still valid at run time (Python 3.9 included) for tools that evaluate them."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, Union

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    # For the checker only: typing_extensions (Self is 3.11's) is bundled with mypy and
    # pyright, not a dependency; scikit-learn and SciPy are Any where untyped.
    import os

    from scipy.sparse import sparray, spmatrix
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor
    from typing_extensions import Self as Self

__all__ = ["ArrayLike", "FloatArray", "IntArray", "Params", "RandomStateLike", "MatrixLike",
           "EpochCallback", "ClassWeight", "LayerSizes", "Method", "SklearnMLP", "FileLike"]

#: What every array argument accepts: an ndarray or anything NumPy turns into one.
ArrayLike = npt.ArrayLike

#: What the kernels compute in and return: float32 or float64, the dtype of the inputs.
FloatArray = npt.NDArray[np.floating[Any]]

#: Row indices (a batch order) and class labels coded as integers.
IntArray = npt.NDArray[np.integer[Any]]

#: Per-layer weights or biases as the caller gives them: one array-like per layer.
Params = Sequence[npt.ArrayLike]

#: ``random_state`` as scikit-learn takes it: a seed, a RandomState, or None (fresh entropy).
RandomStateLike = int | np.integer[Any] | np.random.RandomState | None

#: An estimator's X: an array-like or a SciPy sparse matrix / array (CSR, CSC).
MatrixLike = Union[npt.ArrayLike, "spmatrix", "sparray"]

#: ``callbacks``: ``fn(estimator, epoch_info) -> bool`` after each epoch; True stops training.
EpochCallback = Callable[[Any, Any], Any]

#: ``class_weight``: class label -> weight, 'balanced', or None.
ClassWeight = Mapping[Any, float] | str | None

#: ``hidden_layer_sizes``: one width, or one per hidden layer.
LayerSizes = int | Sequence[int] | npt.NDArray[np.integer[Any]]

#: A method a decorator returns unchanged in signature (fit / partial_fit's wrappers).
Method = TypeVar("Method", bound=Callable[..., Any])

#: The scikit-learn model ``to_sklearn`` returns (Any where scikit-learn is untyped).
SklearnMLP = Union["SkMLPClassifier", "SkMLPRegressor"]

#: A model file: a path, or a binary file object (seekable, to load).
FileLike = Union[str, "os.PathLike[str]", BinaryIO]
