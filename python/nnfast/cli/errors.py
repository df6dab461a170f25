"""The one exception the command line reports instead of a traceback, and the one way it
asks for a package that is not installed."""
from __future__ import annotations

from importlib import import_module
from types import ModuleType

__all__ = ["CLIError", "DATA_EXTRA", "require"]

# The extra that installs the data-file packages (pandas, pyarrow): pyproject.toml's
# [project.optional-dependencies] has it under this name.
DATA_EXTRA = "data"


class CLIError(Exception):
    """A problem with the user's input (file, column, value, model): printed as one line
    ``nnfast <command>: error: <message>`` and exit code 2, never a traceback."""


def require(module: str, purpose: str) -> ModuleType:
    """The imported `module` (a dotted name), or CLIError saying that `purpose` (e.g.
    "reading Parquet files") needs its package and how to install it."""
    try:
        return import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise CLIError(f"{purpose} needs {package}, which is not installed: "
                       f"pip install 'nnfast[{DATA_EXTRA}]'") from None
