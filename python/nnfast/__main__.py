"""``python -m nnfast`` and the ``nnfast`` console script: the command line lives in
:mod:`nnfast.cli`, the lecture demo it runs in :mod:`nnfast.lecture`."""
import sys

from nnfast.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
