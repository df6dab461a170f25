"""The speed targets, read from targets.json (package data, so an installed wheel has them)."""
from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


@functools.cache
def _text() -> str:
    return resources.files(__package__).joinpath("targets.json").read_text(encoding="utf-8")


def load_targets() -> dict[str, Any]:
    """A fresh dict of targets.json: {"training": {...}, "gemm": {...}} (see its "about")."""
    return json.loads(_text())
