from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

def _fit_context(*, prefer_skip_nested_validation: bool) -> Callable[[_F], _F]: ...
def __getattr__(name: str) -> Any: ...
