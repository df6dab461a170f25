"""``nnfast.to_onnx``: a fitted MLP as an ONNX model, for serving outside Python.

The estimator is first converted to the equal scikit-learn model (``est.to_sklearn()``,
:mod:`nnfast.io.interop`), which skl2onnx then converts; both come with the extra
``pip install 'nnfast[onnx]'`` (skl2onnx and onnxruntime). The graph takes one float32
input named ``X`` of shape (n_samples, ``n_features_in_``) and has

* classifiers: ``label`` (n_samples,) with the class labels as trained (integers or
  strings; multilabel: (n_samples, n_labels) of 0/1) and ``probabilities`` as a plain
  tensor (n_samples, n_classes) laid out like ``predict_proba`` (multilabel:
  (n_samples, n_labels), the probability of each label);
* regressors: ``variable`` (n_samples, n_outputs), a column even for one output.

The weights are stored as float32, so the outputs match ``predict_proba`` / ``predict``
on float32 input to float32 rounding (about 1e-7 for probabilities).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from onnx import ModelProto

    from ._typing import ArrayLike
    from .mlp import MLPClassifier, MLPRegressor

__all__ = ["to_onnx"]

_INSTALL = "pip install 'nnfast[onnx]'"


def _import_skl2onnx() -> tuple[Any, Any]:
    try:
        import skl2onnx
        from skl2onnx.common.data_types import FloatTensorType
    except ImportError as exc:
        raise ImportError(f"nnfast.to_onnx needs skl2onnx, which is not installed: "
                          f"{_INSTALL}") from exc
    return skl2onnx, FloatTensorType


def _check_sample(estimator: Any, X_sample: ArrayLike) -> int:
    """The number of features, after checking that `X_sample` (n_samples, n_features_in_)
    fits the fitted `estimator`."""
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is None:
        raise ValueError("estimator is not fitted: fit it before exporting it to ONNX")
    try:
        X = np.asarray(X_sample, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X_sample must be a numeric array of shape (n_samples, "
                         f"{n_features}): {exc}") from None
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"X_sample must have shape (n_samples, {n_features}), the features "
                         f"the model was fitted on; got shape {X.shape}")
    return int(n_features)


def _set_width(value_info: Any, width: int) -> None:
    """Declare output `value_info` as (n_samples, width)."""
    dims = value_info.type.tensor_type.shape.dim
    while len(dims) < 2:
        dims.add()
    dims[1].Clear()
    dims[1].dim_value = width


def _fix_multilabel(onnx_model: ModelProto, n_labels: int) -> None:
    """Make a multilabel classifier's outputs what ``predict``/``predict_proba`` return.

    skl2onnx takes a 2-label multilabel model for a binary one (its ``classes_`` is
    [0, 1]) and writes ``probabilities`` as [1 - p, p], (n_samples, 4): the second half,
    the sigmoid output, is what predict_proba gives. It also declares ``label`` as 1-D
    where it computes (n_samples, n_labels).
    """
    graph = onnx_model.graph
    for node in graph.node:
        if "probabilities" not in node.output:
            continue
        if n_labels == 2:
            if node.op_type != "Concat" or len(node.input) != 2:
                raise ValueError(
                    f"skl2onnx built an unexpected graph for a 2-label multilabel model "
                    f"(probabilities from {node.op_type}, not Concat); this version of "
                    f"skl2onnx is not supported for multilabel models")
            sigmoid = node.input[1]
            node.op_type = "Identity"
            del node.input[:]
            node.input.append(sigmoid)
            del node.attribute[:]
        break
    else:
        raise ValueError("skl2onnx built no 'probabilities' output for this multilabel model")
    used = {name for node in graph.node for name in node.input} | {
        out.name for out in graph.output}
    # The [1 - p] half is now computed for nothing.
    dead = [node for node in graph.node if not set(node.output) & used]
    for node in dead:
        graph.node.remove(node)
    used = {name for node in graph.node for name in node.input}
    for init in [init for init in graph.initializer if init.name not in used]:
        graph.initializer.remove(init)
    for out in graph.output:
        if out.name in ("label", "probabilities"):
            _set_width(out, n_labels)


def _fix_regressor(onnx_model: ModelProto, n_outputs: int) -> None:
    """Make a regressor's ``variable`` (n_samples, n_outputs), as ``predict`` computes.

    skl2onnx reshapes the network's output to (-1, 1) whatever its width, so a 2-output
    model of n rows would give (2n, 1), the outputs interleaved: reshape to
    (-1, n_outputs) instead, through a shape of its own (the old one may be shared).
    """
    from onnx import numpy_helper

    graph = onnx_model.graph
    node = next((node for node in graph.node if "variable" in node.output), None)
    if node is None or node.op_type != "Reshape":
        raise ValueError("skl2onnx built an unexpected graph for this regressor ('variable' "
                         "not from a Reshape); this version of skl2onnx is not supported")
    taken = {init.name for init in graph.initializer}
    name = "variable_shape"
    while name in taken:
        name += "_"
    graph.initializer.append(numpy_helper.from_array(
        np.array([-1, n_outputs], dtype=np.int64), name))
    node.input[1] = name
    used = {name for node in graph.node for name in node.input}
    for init in [init for init in graph.initializer if init.name not in used]:
        graph.initializer.remove(init)
    for out in graph.output:
        if out.name == "variable":
            _set_width(out, n_outputs)


def to_onnx(estimator: MLPClassifier | MLPRegressor, X_sample: ArrayLike, *,
            target_opset: int | None = None) -> ModelProto:
    """The fitted nnfast MLPClassifier / MLPRegressor `estimator` as an ONNX ModelProto.

    X_sample: array-like (n_samples, ``n_features_in_``), e.g. a row of the training data;
    only its width is used (the graph accepts any number of rows). target_opset: the ONNX
    opset to target (default: skl2onnx's latest). Outputs are described in
    :mod:`nnfast.onnx_export`. Write the model with ``model.SerializeToString()`` or
    ``onnx.save``; run it with ``onnxruntime.InferenceSession``.

    Raises ImportError naming ``pip install 'nnfast[onnx]'`` without skl2onnx, and
    ValueError for an unfitted model, an `X_sample` of the wrong width, or
    activation='leaky_relu' (scikit-learn, hence skl2onnx, has no such activation).

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from nnfast import MLPClassifier
    >>> from nnfast.datasets import logic_gate
    >>> X, y = logic_gate("xor")
    >>> clf = MLPClassifier((8,), solver="lbfgs", random_state=0).fit(X, y)
    >>> model = to_onnx(clf, X[:1])
    >>> session = onnxruntime.InferenceSession(model.SerializeToString(),
    ...                                        providers=["CPUExecutionProvider"])
    >>> label, proba = session.run(None, {"X": X.astype(np.float32)})
    >>> bool((label == clf.predict(X)).all())
    True
    >>> bool(np.allclose(proba, clf.predict_proba(X.astype(np.float32)), atol=1e-5))
    True
    """
    from .io.interop import to_sklearn

    if getattr(estimator, "activation", None) == "leaky_relu":
        raise ValueError("activation='leaky_relu' cannot be exported to ONNX: the export "
                         "goes through scikit-learn's MLP, which has no leaky_relu "
                         "(train with 'relu', 'tanh', 'logistic' or 'identity')")
    n_features = _check_sample(estimator, X_sample)
    skl2onnx, FloatTensorType = _import_skl2onnx()
    model = to_sklearn(estimator)
    is_classifier = hasattr(model, "classes_")
    options = {id(model): {"zipmap": False}} if is_classifier else None
    onnx_model = skl2onnx.convert_sklearn(
        model, initial_types=[("X", FloatTensorType([None, n_features]))],
        options=options, target_opset=target_opset)
    if is_classifier and model._label_binarizer.y_type_.startswith("multilabel"):
        _fix_multilabel(onnx_model, len(model.classes_))
    elif not is_classifier:
        _fix_regressor(onnx_model, int(model.n_outputs_))
    return onnx_model
