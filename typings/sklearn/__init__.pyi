# scikit-learn ships no types. These stubs declare only what nnfast's estimators take from it
# into their public API: the decorators on fit / partial_fit (so that those keep their
# signatures for a type checker) and the mixins' score; every other name of scikit-learn is
# Any (the __getattr__ below, and ignore_missing_imports for the modules not stubbed here).
from typing import Any

def __getattr__(name: str) -> Any: ...
