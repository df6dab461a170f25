"""``nnfast.load`` and ``nnfast.from_sklearn``: import the estimators, which register their
classes with :mod:`nnfast.state`, then the reader or converter of :mod:`nnfast.io`, which
never import the estimators themselves (so that nothing inside nnfast imports in a cycle)."""
from __future__ import annotations

__all__ = ["from_sklearn", "load"]


def load(file):
    """Load a model written by ``est.save`` (a path to a regular file, or a seekable binary
    file object): a fitted nnfast MLPClassifier or MLPRegressor.

    The file is data, never code: nothing in it is executed, nothing is allocated beyond
    what its own size justifies, and the whole model is checked before it is returned. Its
    SHA-256 guards against corruption, not forgery (anyone can recompute it). Raises
    FileNotFoundError / IsADirectoryError for a path that is no file, and ValueError naming
    the problem for any file that is truncated, tampered with, or not a model a fit could
    have produced (see :mod:`nnfast.io.persistence`)."""
    from . import mlp  # noqa: F401  (registers the estimator classes)
    from .io import persistence

    return persistence.load(file)


def from_sklearn(model, cls=None):
    """The nnfast estimator equal to a fitted scikit-learn MLPClassifier / MLPRegressor
    `model`: parameters, weights, classes and training state (see :mod:`nnfast.io.interop`).
    cls: nnfast's estimator class to build, by default the one matching `model`."""
    from . import mlp  # noqa: F401  (registers the estimator classes)
    from .io import interop

    return interop.from_sklearn(model, cls)
