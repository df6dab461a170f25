"""nnfast: multilayer perceptrons trained fast on the CPU.

The functions below have the same names and signatures as :mod:`nnfast.reference`
(pure NumPy, the lecture slide by slide) and run on C++/OpenMP kernels. scikit-learn
is imported only by the parts that need it, so ``import nnfast`` stays quick.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _core, reference
from .functional import *  # noqa: F401,F403
from .functional import __all__ as _functional_all

# Compiled in from the project's version (importlib.metadata would cost ~50 ms of import).
__version__: str = _core.config()["version"]

# The scikit-learn estimators (nnfast.mlp) import scikit-learn and SciPy, so they are
# loaded on first use: ``from nnfast import MLPClassifier`` works, ``import nnfast`` stays
# free of both. nnfast.load (pickle-free model files) and nnfast.from_sklearn are loaded the
# same way, from nnfast._entry, which imports the estimators before nnfast.io; nnfast.to_onnx
# (nnfast.onnx_export) too, so that skl2onnx is imported only by an export.
_LAZY = {"MLPClassifier": "mlp", "MLPRegressor": "mlp", "load": "_entry",
         "from_sklearn": "_entry", "Perceptron": "perceptron", "to_onnx": "onnx_export"}

__all__ = ["__version__", "reference", "show_config", "config"] + list(_LAZY) + list(
    _functional_all)

if TYPE_CHECKING:
    # What the lazy names are, for type checkers; a module __getattr__ would make every
    # misspelt name Any for them, so they never see it.
    from ._entry import from_sklearn as from_sklearn
    from ._entry import load as load
    from .mlp import MLPClassifier as MLPClassifier
    from .mlp import MLPRegressor as MLPRegressor
    from .onnx_export import to_onnx as to_onnx
    from .perceptron import Perceptron as Perceptron
else:
    def __getattr__(name: str) -> Any:
        if name in _LAZY:
            from importlib import import_module

            value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
            globals()[name] = value
            return value
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def config() -> dict[str, Any]:
    """The build and runtime facts as a dict: version, SIMD compiled and selected, CPU
    features, OpenMP on/off and the number of threads the kernels may use."""
    from . import _core

    c = dict(_core.config())
    return c


def show_config() -> None:
    """Print :func:`config` one fact per line (``python -m nnfast info`` prints the same)."""
    c = config()
    print(f"nnfast {c['version']}")
    print(f"  compiled SIMD : {c['compiled_simd']}")
    print(f"  CPU features  : {', '.join(c['cpu_features']) or 'unknown'}")
    print(f"  GEMM kernel   : {c['gemm_kernel']}")
    print(f"  OpenMP        : {'on' if c['openmp'] else 'off (single-threaded build)'}")
    print(f"  threads       : {c['max_threads']}")
