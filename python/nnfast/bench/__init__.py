"""nnfast's training benchmark, shipped in the package so that it runs from an installed wheel.

    python -m nnfast bench --quick          # under a minute: ratios against every peer installed
    python -m nnfast bench --help           # the full runner's options

Modules: ``workloads`` (networks, data, work and memory), ``peers`` (one peer's timed fit in
its own process), ``measure`` (the turns, best of), ``report`` (ratios, targets, tables),
``record`` (the run's Markdown file and RESULTS.md's section), ``chart`` (matplotlib),
``targets.json`` (the speed targets, read by ``targets``), ``cli`` (the options), and
``memory`` (the memory one call adds: benchmarks/memmap.py, tests/test_memmap.py).
"""
from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the training benchmark; `argv` is its command line without the program name
    (default sys.argv[1:]). Returns the exit status (0, or 1 when final losses disagree)."""
    from .cli import main as _main

    return _main(argv)
