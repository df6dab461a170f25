"""``nnfast demo``: the lecture (:func:`nnfast.lecture.run_demo`) under a thread limit."""
from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["run"]


@contextmanager
def _thread_limit(threads: int | None, out: TextIO) -> Iterator[None]:
    """Limit OpenMP to `threads` for the duration, via threadpoolctl when it is installed."""
    # The OpenMP runtime reads OMP_NUM_THREADS once, when it starts, so without
    # threadpoolctl a running process cannot change its thread count: say so, don't fail.
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print(f"note: threadpoolctl is not installed, so --threads cannot change the thread "
              f"count of a running process; set it before Python starts instead:\n"
              f"      OMP_NUM_THREADS={threads} python -m nnfast demo", file=out)
        yield
        return
    with threadpool_limits(limits=threads, user_api="openmp"):
        yield


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the whole lecture, printing to `out`; return 0."""
    from nnfast.lecture import run_demo

    with _thread_limit(args.threads, out):
        run_demo(out, epochs_xor=args.epochs_xor, epochs_digits=args.epochs_digits,
                 figures=None if args.no_figures else args.figures)
    return 0
