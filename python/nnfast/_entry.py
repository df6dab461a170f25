"""``nnfast.load`` and ``nnfast.from_sklearn``: import the estimators, which register their
classes with :mod:`nnfast.state`, then the reader or converter of :mod:`nnfast.io`, which
never import the estimators themselves (so that nothing inside nnfast imports in a cycle)."""
from __future__ import annotations

__all__ = ["from_sklearn", "load"]


def load(file):
    """Load a model written by ``est.save`` (a path or a binary file object): a fitted
    nnfast MLPClassifier or MLPRegressor. Raises ValueError for a file that is truncated,
    tampered with or not one nnfast reads (see :mod:`nnfast.io.persistence`)."""
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
