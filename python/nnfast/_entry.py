"""``nnfast.load`` and ``nnfast.from_sklearn``: import the estimators, which register their
classes with :mod:`nnfast.state`, then the reader or converter of :mod:`nnfast.io`, which
never import the estimators themselves (so that nothing inside nnfast imports in a cycle)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from ._mlp_base import BaseMultilayerPerceptron
    from ._typing import FileLike
    from .mlp import MLPClassifier, MLPRegressor

__all__ = ["from_sklearn", "load"]

_Est = TypeVar("_Est", bound="BaseMultilayerPerceptron")


def load(file: FileLike) -> MLPClassifier | MLPRegressor:
    """Load a model written by ``est.save`` (a path to a regular file, or a seekable binary
    file object): a fitted nnfast MLPClassifier or MLPRegressor.

    The file is data, never code: nothing in it is executed, nothing is allocated beyond
    what its own size justifies, and the whole model is checked before it is returned. Its
    SHA-256 guards against corruption, not forgery (anyone can recompute it). Raises
    FileNotFoundError / IsADirectoryError for a path that is no file, and ValueError naming
    the problem for any file that is truncated, tampered with, or not a model a fit could
    have produced (see :mod:`nnfast.io.persistence`).

    Examples
    --------
    >>> import io
    >>> import nnfast
    >>> from nnfast.datasets import logic_gate
    >>> X, y = logic_gate("xor")
    >>> clf = nnfast.MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0)
    >>> clf = clf.fit(X, y)
    >>> file = io.BytesIO()
    >>> clf.save(file)
    >>> loaded = nnfast.load(io.BytesIO(file.getvalue()))
    >>> print(loaded.predict(X))
    [0. 1. 1. 0.]
    >>> bool((loaded.predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    from . import mlp  # noqa: F401  (registers the estimator classes)
    from .io import persistence

    return persistence.load(file)


@overload
def from_sklearn(model: Any, cls: None = None) -> MLPClassifier | MLPRegressor: ...
@overload
def from_sklearn(model: Any, cls: type[_Est]) -> _Est: ...
def from_sklearn(model: Any, cls: type[_Est] | None = None,
                 ) -> MLPClassifier | MLPRegressor | _Est:
    """The nnfast estimator equal to a fitted scikit-learn MLPClassifier / MLPRegressor
    `model`: parameters, weights, classes and training state (see :mod:`nnfast.io.interop`).
    cls: nnfast's estimator class to build, by default the one matching `model`.

    Examples
    --------
    >>> import numpy as np
    >>> import nnfast
    >>> from sklearn.neural_network import MLPRegressor
    >>> X, y = [[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0]
    >>> sk = MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(X, y)
    >>> est = nnfast.from_sklearn(sk)
    >>> type(est) is nnfast.MLPRegressor
    True
    >>> bool(np.allclose(est.predict(X), sk.predict(X)))
    True
    """
    from . import mlp  # noqa: F401  (registers the estimator classes)
    from .io import interop

    return interop.from_sklearn(model, cls)
