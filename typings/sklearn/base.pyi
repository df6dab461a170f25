from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

def _fit_context(*, prefer_skip_nested_validation: bool) -> Callable[[_F], _F]: ...

# score is what nnfast's estimators inherit from these mixins (accuracy, R²).
class ClassifierMixin:
    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float: ...

class RegressorMixin:
    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float: ...

def __getattr__(name: str) -> Any: ...
