from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

# A descriptor at run time: the method is there or raises AttributeError by `check`.
def available_if(check: Callable[[Any], Any]) -> Callable[[_F], _F]: ...
def __getattr__(name: str) -> Any: ...
