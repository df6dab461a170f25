"""nnfast: multilayer perceptrons trained fast on the CPU.

The functions below have the same names and signatures as :mod:`nnfast.reference`
(pure NumPy, the lecture slide by slide) and run on C++/OpenMP kernels. scikit-learn
is imported only by the parts that need it, so ``import nnfast`` stays quick.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version

from . import reference
from .functional import *  # noqa: F401,F403
from .functional import __all__ as _functional_all

try:
    __version__ = _version("nnfast")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

__all__ = ["__version__", "reference", "show_config", "config"] + list(_functional_all)


def config():
    """The build and runtime facts as a dict: version, SIMD compiled and selected, CPU
    features, OpenMP on/off and the number of threads the kernels may use."""
    from . import _core

    c = dict(_core.config())
    return c


def show_config():
    """Print :func:`config` one fact per line (``python -m nnfast info`` prints the same)."""
    c = config()
    print(f"nnfast {c['version']}")
    print(f"  compiled SIMD : {c['compiled_simd']}")
    print(f"  CPU features  : {', '.join(c['cpu_features']) or 'unknown'}")
    print(f"  GEMM kernel   : {c['gemm_kernel']}")
    print(f"  OpenMP        : {'on' if c['openmp'] else 'off (single-threaded build)'}")
    print(f"  threads       : {c['max_threads']}")
