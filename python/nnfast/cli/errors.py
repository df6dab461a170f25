"""The one exception the command line reports instead of a traceback."""
from __future__ import annotations

__all__ = ["CLIError"]


class CLIError(Exception):
    """A problem with the user's input (file, column, value, model): printed as one line
    ``nnfast <command>: error: <message>`` and exit code 2, never a traceback."""
