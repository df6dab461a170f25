"""Models in and out: pickle-free files (:mod:`nnfast.io.persistence`) and scikit-learn
conversion (:mod:`nnfast.io.interop`). Both use :mod:`nnfast.state` only: never each other,
never the estimators module (whose classes they find in state's registry)."""
