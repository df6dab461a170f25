"""``nnfast info``: how nnfast was built and what it will use on this machine."""
from __future__ import annotations

import sys
from contextlib import redirect_stdout

__all__ = ["run"]


def run(args, out):
    """Print :func:`nnfast.show_config` to `out`; return 0."""
    import nnfast

    if out is sys.stdout:
        nnfast.show_config()
    else:  # show_config prints to sys.stdout; honour a redirected `out` too
        with redirect_stdout(out):
            nnfast.show_config()
    return 0
