"""The demo as one run: the lecture's parts in order, printed as they finish.

``python -m nnfast demo`` is this function behind argparse; it lives here rather than
in the command line so that the lecture can be replayed from Python too
(``nnfast.lecture.run_demo()``) and the CLI stays a thin layer of options.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from .experiments import run_digits, run_gates, run_sklearn_digits, run_xor
from .figures import write_figures
from .plots import INSTALL_HINT, have_matplotlib
from .report import format_digits, format_gates, format_sklearn_digits, format_xor

__all__ = ["run_demo", "Progress", "DEFAULT_FIGURES"]

#: The folder the demo writes its PNG figures into unless told otherwise (--figures DIR).
DEFAULT_FIGURES = "nnfast-demo-figures"


class Progress:
    """Per-epoch progress of the digits training: a bar redrawn in place on a terminal,
    a line every few epochs otherwise (logs, pipes, tests).

    Called as ``progress(name, epoch, epochs, loss)``, the callback of :func:`run_digits`.
    """

    def __init__(self, out: TextIO, width: int = 24) -> None:
        self.out = out
        self.width = width
        isatty = getattr(out, "isatty", None)
        self.tty = bool(isatty()) if callable(isatty) else False

    def __call__(self, name: str, epoch: int, epochs: int, loss: float) -> None:
        done = int(round(self.width * epoch / epochs))
        line = (f"  training {name:<9} [{'#' * done}{'.' * (self.width - done)}] "
                f"epoch {epoch:>{len(str(epochs))}}/{epochs}  loss {loss:.4f}")
        if self.tty:
            print("\r" + line, end="\n" if epoch == epochs else "", file=self.out, flush=True)
        elif epoch == epochs or epoch % max(1, epochs // 5) == 0:
            print(line, file=self.out, flush=True)


def run_demo(out: TextIO | None = None, epochs_xor: int = 5000, epochs_digits: int = 30,
             figures: str | os.PathLike[str] | None = DEFAULT_FIGURES) -> dict[str, Any]:
    """Run and print the whole lecture to `out` (default ``sys.stdout``).

    Part 1-2 the perceptron and logistic regression on AND/OR/XOR, Part 3 the 2-3-1 XOR
    network, Part 4 the digits MLP (nnfast, the reference, scikit-learn), then the figures
    into the folder `figures` (None: not drawn; without matplotlib: a hint how to get them).

    Returns a dict with the experiments' results, keys ``gates``, ``xor``, ``digits``,
    ``sklearn``, and ``figures``: the PNG paths written (empty when none were).
    """
    import nnfast

    out = sys.stdout if out is None else out

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    t_start = time.perf_counter()
    cfg = nnfast.config()
    threads = cfg["max_threads"] if cfg["openmp"] else 1
    say("nnfast demo: the lecture from the perceptron to an MLP on handwritten digits. "
        "The networks are\ntrained by nnfast's C++ kernels and by the pure-NumPy "
        "reference (nnfast.reference) from the\nsame start: the results should match, "
        "the times should not.")
    say(f"nnfast {cfg['version']}, GEMM kernel: {cfg['gemm_kernel']}, "
        f"OpenMP threads: {threads}")
    say()
    gates = run_gates()
    say(format_gates(gates))
    say()
    xor = run_xor(epochs=epochs_xor)
    say(format_xor(xor, part=3))
    say()
    say(f"Part 4  handwritten digits: training ({epochs_digits} epochs) ...")
    digits = run_digits(epochs=epochs_digits, progress=Progress(out))
    say()
    say(format_digits(digits, part=4))
    say()
    sk = run_sklearn_digits(epochs=epochs_digits)
    say(format_sklearn_digits(sk, digits))
    say()
    paths: list[str] = []
    if figures is None:
        say("Figures: skipped (--no-figures).")
    else:
        if have_matplotlib():
            paths = write_figures(figures, gates, xor, digits, sk)
            say(f"Figures written to {os.path.abspath(figures)}:")
            for path in paths:
                say(f"  {os.path.basename(path)}")
        else:
            say("Figures: not drawn, matplotlib is not installed. To get them "
                "(XOR decision boundaries, digits\nloss curve, confusion matrix): "
                f"{INSTALL_HINT}")
    say(f"Done in {time.perf_counter() - t_start:.1f} s.")
    return {"gates": gates, "xor": xor, "digits": digits, "sklearn": sk, "figures": paths}
