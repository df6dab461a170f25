"""``nnfast info``: how nnfast was built and what it will use on this machine."""
from __future__ import annotations

import argparse
import sys
from contextlib import redirect_stdout
from typing import TextIO

__all__ = ["run"]


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Print :func:`nnfast.show_config` to `out`; return 0."""
    import nnfast

    if out is sys.stdout:
        nnfast.show_config()
    else:  # show_config prints to sys.stdout; honour a redirected `out` too
        with redirect_stdout(out):
            nnfast.show_config()
    return 0
