"""The public API as a user's type checker sees it. mypy checks this file (``.ci/run``;
configured in pyproject.toml); nothing runs it.

Each ``assert_type`` fails the check when an annotation of the public API changes what a
call gives back. Each line ending in ``# type: ignore[code]`` is a call the annotations
must refuse: mypy's warn_unused_ignores fails the check when one stops being refused (an
annotation loosened to Any, say), so the annotations cannot rot unnoticed either way.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import assert_type

import nnfast
from nnfast import MLPClassifier, MLPRegressor, Perceptron, distributed, functional, reference
from nnfast.datasets import load_digits_split, logic_gate, one_hot
from nnfast.distributed.local import LocalComm, LocalWorld

FloatArray = npt.NDArray[np.floating[Any]]
IntArray = npt.NDArray[np.integer[Any]]
Estimator = MLPClassifier | MLPRegressor

X, y = logic_gate("xor")
assert_type(X, FloatArray)
X_train, X_test, y_train, y_test = load_digits_split(dtype=np.float32)
assert_type(y_train, IntArray)
assert_type(one_hot([0, 2, 1]), FloatArray)
assert_type(nnfast.__version__, str)
assert_type(nnfast.config(), dict[str, Any])

# The functional API (nnfast.*, nnfast.functional) and its NumPy twin: one signature each.
Ws, bs = nnfast.init_params([2, 3, 1], random_state=0)
assert_type(Ws, list[FloatArray])
assert_type(nnfast.relu(X), FloatArray)
assert_type(functional.softmax([7.0, 5.0, 2.0]), FloatArray)
assert_type(reference.softmax([7.0, 5.0, 2.0]), FloatArray)
assert_type(nnfast.matmul(X, X, transpose_b=True), FloatArray)
assert_type(nnfast.forward(X, Ws, bs, out_activation="logistic"), list[FloatArray])
assert_type(nnfast.predict(X, Ws, bs, out_activation="logistic"), FloatArray)
assert_type(nnfast.output_loss(X[:, :1], y, "logistic"), tuple[float, FloatArray, FloatArray])
assert_type(nnfast.linear_backward(X, X, np.eye(2)), tuple[FloatArray, FloatArray, FloatArray])
J, dWs, dbs = nnfast.loss_and_gradients(X, y, Ws, bs, out_activation="logistic")
assert_type(J, float)
assert_type(nnfast.sgd_step(Ws, bs, dWs, dbs, 0.5), tuple[list[FloatArray], list[FloatArray]])
Ws2, bs2, curve = nnfast.train(X, y, Ws, bs, learning_rate=2.0, epochs=100,
                               out_activation="logistic")
assert_type(curve, FloatArray)
assert_type(reference.train(X, y, Ws, bs, epochs=1)[2], FloatArray)

# The estimators: fit and partial_fit give the estimator back, predict_proba float arrays.
clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0)
assert_type(clf.fit(X, y), MLPClassifier)
assert_type(clf.predict_proba(X), FloatArray)
assert_type(clf.predict_log_proba(X), FloatArray)
assert_type(clf.score(X, y), float)
assert_type(MLPClassifier().partial_fit(X, y, classes=[0, 1]), MLPClassifier)
reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5).fit(X, y, sample_weight=np.ones(4))
assert_type(reg, MLPRegressor)
assert_type(reg.predict(X), FloatArray)
assert_type(reg.score(X, y, sample_weight=np.ones(4)), float)
assert_type(Perceptron(eta0=0.5).fit(X, y), Perceptron)

# Model files, scikit-learn and ONNX.
assert_type(nnfast.load("model.npz"), Estimator)
assert_type(nnfast.from_sklearn(clf.to_sklearn()), Estimator)
assert_type(nnfast.from_sklearn(reg.to_sklearn(), MLPRegressor), MLPRegressor)
assert_type(MLPRegressor.from_sklearn(reg.to_sklearn()), MLPRegressor)
clf.save("model.npz")
onnx_model = nnfast.to_onnx(clf, X[:1], target_opset=17)

# Across processes: the estimator given is the estimator returned.
comm = LocalWorld(2).comm(0)
assert_type(comm, LocalComm)
assert_type(distributed.fit(clf, X, y, comm=comm), MLPClassifier)
assert_type(distributed.partial_fit(reg, X, y, comm=comm, data="sharded"), MLPRegressor)
assert_type(distributed.rank(comm), int)

# What the annotations refuse (MLPRegressor takes loss first, as scikit-learn's does).
MLPRegressor((4,))  # type: ignore[arg-type]
misspelt = nnfast.MLPClasifier  # type: ignore[attr-defined]
nnfast.train(X, y, Ws, bs, epochs="100")  # type: ignore[arg-type]
nnfast.init_params([2, 1], random_state="seed")  # type: ignore[arg-type]
nnfast.sgd_step(Ws, bs, dWs, dbs)  # type: ignore[call-arg]
MLPClassifier(alpha="large")  # type: ignore[arg-type]
MLPRegressor(max_iter=None)  # type: ignore[arg-type]
clf.fit(X)  # type: ignore[call-arg]
clf.score(X)  # type: ignore[call-arg]
nnfast.load(42)  # type: ignore[arg-type]
nnfast.to_onnx(X, X[:1])  # type: ignore[arg-type]
logic_gate(1)  # type: ignore[arg-type]
distributed.fit(clf, X, y, data="local")  # type: ignore[arg-type]
