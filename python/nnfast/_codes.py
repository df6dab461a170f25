"""The kernels' codes by name: every table derived from nnfast._core's enums, which are
defined once, in C++ (csrc/bindings.cpp binds them; csrc/nn holds them).

The estimators, nnfast.functional and the bridge to the epoch loop (nnfast._epochs) read
their codes here. The NumPy reference keeps its own tuple of names
(nnfast._checks.HIDDEN_ACTIVATIONS / OUTPUT_ACTIVATIONS) because it must run without the
extension; a test asserts that those tuples are these enums' names.
"""
from __future__ import annotations

from . import _core

#: hidden-layer activation name -> _core.Activation
ACTIVATIONS = dict(_core.Activation.__members__)
#: output activation name (each with its loss) -> _core.Head
HEADS = dict(_core.Head.__members__)
#: scikit-learn's stochastic solver name -> _core.Solver
SOLVERS = dict(_core.Solver.__members__)
#: scikit-learn's learning_rate (the schedule) -> _core.Schedule
SCHEDULES = dict(_core.Schedule.__members__)

FitStatus = _core.FitStatus
