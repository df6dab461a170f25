"""nnfast's command line: ``python -m nnfast`` (or the ``nnfast`` console script).

Subcommands (each has ``--help``)::

    nnfast info                  the build: SIMD, CPU features, GEMM kernel, OpenMP, threads
    nnfast demo [options]        the lecture: perceptron and logistic regression on AND/OR/XOR,
                                 the 2-3-1 XOR network, then an MLP on handwritten digits,
                                 trained by nnfast's C++ kernels, by the NumPy reference and
                                 by scikit-learn, side by side; PNG figures with matplotlib
    nnfast train DATA [options]  train an MLP on a CSV (header row), Parquet, .npy (target
                                 last) or .npz (X, y) file, print held-out metrics, save
                                 the model
    nnfast predict MODEL DATA    predictions (--proba: probabilities) as CSV (or Parquet)
    nnfast export MODEL OUT      the model as an ONNX file (needs nnfast[onnx])
    nnfast bench [ARGS]          the benchmark comparison (nnfast.bench; ARGS are its own)

A bad file, column, value or model file is reported as one line
``nnfast <command>: error: ...`` on stderr with exit code 2 (as are usage errors).
An output (``--out``, export's OUT, or train's default model path) that is one of the command's inputs
is refused before any work; outputs are written to a temporary file beside them and
renamed, so they are replaced whole or not at all. Ctrl-C exits with 130 and one line
(``train``: "interrupted after N epochs"; it saves nothing unless --save-on-interrupt).
A command started with SIGINT ignored (``nohup``, ``&`` in a script) keeps ignoring it,
as its starter asked; SIGTERM then stops it, leaving the output as it was (at most a
hidden ``.NAME.*.part`` file beside it).

Where things live: :mod:`.parser` (the argparse tree and option types), :mod:`.readers`
(CSV, Parquet, .npy and .npz files), :mod:`.outputs` (what may be written, and how), :mod:`.errors`
(:class:`CLIError`), :mod:`.commands` (one module per subcommand). What the demo
computes and prints is :mod:`nnfast.lecture`. Importing this package runs nothing and
imports neither scikit-learn nor the commands.
"""
from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import TextIO

from .errors import CLIError
from .parser import build_parser

__all__ = ["main", "build_parser", "CLIError"]

# 128 + SIGPIPE: what a shell reports for a program that wrote to a closed pipe.
_BROKEN_PIPE = 141


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line with `argv` (default: ``sys.argv[1:]``); return the exit code.

    0 on success; 2 for a usage error (unknown command, bad option: argparse's message
    is printed to stderr) or a :class:`CLIError` (one line on stderr); 130 on Ctrl-C;
    141, silently, when stdout is a pipe its reader closed (``| head``); ``bench``
    returns the benchmarks' own code. Output goes to `out` (default:
    ``sys.stdout``).
    """
    out = sys.stdout if out is None else out
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            if getattr(args, "command", None) != "bench":
                parser.error(f"unrecognized arguments: {' '.join(unknown)}")
            # argparse hands the options before bench's first positional to `unknown`
            # and everything from that positional on to REMAINDER; joined in this order
            # they are bench's arguments exactly as typed.
            args.bench_args = list(unknown) + list(args.bench_args)
    except SystemExit as exc:  # --help, --version, or a usage error: argparse has printed it
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    # Only the chosen command's module is imported: `nnfast info` stays free of sklearn.
    command = import_module(f"{__name__}.commands.{args.command}")
    try:
        return int(command.run(args, out) or 0)
    except CLIError as exc:
        # One line, even for a file name with a line break in it.
        message = str(exc).replace("\r", "\\r").replace("\n", "\\n")
        print(f"nnfast {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nnfast {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError as exc:  # a big DATA through a big model: NumPy names the size
        detail = f": {str(exc).splitlines()[0]}" if str(exc) else ""
        print(f"nnfast {args.command}: error: out of memory{detail}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        if out is not sys.stdout:
            raise
        # The reader has gone (`nnfast predict ... | head`): stop quietly, with the code of
        # a program that SIGPIPE ended. Whatever is still buffered for stdout goes to
        # /dev/null, or Python's exit would report the broken pipe once more.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # no real file descriptor behind it
            pass
        return _BROKEN_PIPE
