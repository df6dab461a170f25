# scikit-learn ships no types. These stubs declare only the decorators nnfast's estimators
# wrap their public methods in, so that fit / partial_fit keep their signatures for a
# type checker; every other name of scikit-learn is Any (the __getattr__ below, and
# ignore_missing_imports for the modules not stubbed here).
from typing import Any

def __getattr__(name: str) -> Any: ...
