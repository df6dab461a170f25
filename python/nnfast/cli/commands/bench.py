"""``nnfast bench ARGS``: the benchmark comparison of :mod:`nnfast.bench`, which ships in
the package (so it runs from an installed wheel) and parses ARGS itself."""
from __future__ import annotations

import argparse
import sys
from contextlib import redirect_stdout
from typing import TextIO

from ..errors import CLIError

__all__ = ["run"]


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Call ``nnfast.bench.main(args.bench_args)``; return its exit code."""
    # Imported here: the benchmarks pull in their peers (scikit-learn, maybe PyTorch),
    # which no other command should pay for.
    from nnfast.bench import main as bench_main

    argv = list(args.bench_args)
    try:
        if out is sys.stdout:
            code = bench_main(argv)
        else:  # the benchmarks print to sys.stdout; honour a redirected `out` too
            with redirect_stdout(out):
                code = bench_main(argv)
    except SystemExit as exc:  # its argparse: --help, or a usage error it has printed
        if isinstance(exc.code, str):  # sys.exit("message"): not printed yet
            raise CLIError(exc.code) from None
        return 0 if exc.code is None else int(exc.code)
    return int(code or 0)
