"""Whole training runs: the kernels' C++ epoch loop against the reference's Python loop from
the same initial weights and batch order; the lecture's networks; determinism across threads."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import training_problem

import nnfast
import nnfast.reference as ref

# After many steps the two implementations' rounding differences grow a little.
TRAIN_RTOL = {np.float64: 1e-9, np.float32: 2e-4}

CONFIGS = [
    # sizes, hidden activation, output, alpha, batch
    ([8, 16, 5], "tanh", "softmax", 0.0, 13),
    ([8, 12, 7, 3], "relu", "logistic", 1e-3, 32),   # multi-label
    ([8, 10, 2], "leaky_relu", "identity", 0.05, 50),  # regression, two outputs
    ([8, 6, 1], "logistic", "logistic", 0.0, 101),    # one batch per epoch
    ([8, 9, 2], "tanh", "exp", 1e-2, 20),             # Poisson regression
]


@pytest.mark.parametrize("sizes,activation,head,alpha,batch", CONFIGS)
def test_training_run_matches_reference(sizes, activation, head, alpha, batch, dtype):
    X, Y = training_problem(sizes, head, dtype)
    Ws, bs = ref.init_params(sizes, activation, random_state=3, dtype=dtype)
    epochs = 25
    order = np.stack([np.random.RandomState(e).permutation(len(X)) for e in range(epochs)])
    kw = dict(learning_rate=0.05, batch_size=batch, epochs=epochs, activation=activation,
              out_activation=head, alpha=alpha, order=order)
    W_k, b_k, curve_k = nnfast.train(X, Y, Ws, bs, **kw)
    W_r, b_r, curve_r = ref.train(X, Y, Ws, bs, **kw)
    rtol = TRAIN_RTOL[dtype]
    assert curve_k.shape == (epochs,)
    np.testing.assert_allclose(curve_k, curve_r, rtol=rtol)
    for got, want in zip(W_k + b_k, W_r + b_r):
        assert got.dtype == want.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
    # It learned something: the loss went down.
    assert curve_k[-1] < curve_k[0]


def test_training_with_sample_weights_matches_reference(dtype):
    X, Y = training_problem([8, 16, 5], "softmax", dtype)
    Ws, bs = ref.init_params([8, 16, 5], "tanh", random_state=0, dtype=dtype)
    w = np.random.default_rng(2).uniform(0.1, 3.0, len(X))
    order = np.random.RandomState(0).permutation(len(X))
    kw = dict(learning_rate=0.1, batch_size=16, epochs=20, activation="tanh", alpha=1e-3,
              order=order, sample_weight=w)
    got, want = nnfast.train(X, Y, Ws, bs, **kw), ref.train(X, Y, Ws, bs, **kw)
    np.testing.assert_allclose(got[2], want[2], rtol=TRAIN_RTOL[dtype])
    for g, w_ in zip(got[0] + got[1], want[0] + want[1]):
        np.testing.assert_allclose(g, w_, rtol=TRAIN_RTOL[dtype], atol=TRAIN_RTOL[dtype])
    # Equal weights change nothing without L2 (J and its gradients are weighted means; the
    # L2 term, as in scikit-learn, is divided by the weight sum, so alpha must be 0 here).
    kw["alpha"] = 0.0
    same = nnfast.train(X, Y, Ws, bs, **{**kw, "sample_weight": np.full(len(X), 2.5)})
    plain = nnfast.train(X, Y, Ws, bs, **{**kw, "sample_weight": None})
    np.testing.assert_allclose(same[2], plain[2], rtol=TRAIN_RTOL[dtype])


def test_training_without_order_and_single_order_row(dtype):
    X, Y = training_problem([8, 16, 5], "softmax", dtype)
    Ws, bs = ref.init_params([8, 16, 5], "relu", random_state=0, dtype=dtype)
    perm = np.random.RandomState(1).permutation(len(X))[:60]  # a subset, reused every epoch
    for order in (None, perm):
        kw = dict(learning_rate=0.1, batch_size=16, epochs=20, activation="relu", order=order)
        got, want = nnfast.train(X, Y, Ws, bs, **kw), ref.train(X, Y, Ws, bs, **kw)
        np.testing.assert_allclose(got[2], want[2], rtol=TRAIN_RTOL[dtype])
        for g, w in zip(got[0] + got[1], want[0] + want[1]):
            np.testing.assert_allclose(g, w, rtol=TRAIN_RTOL[dtype], atol=TRAIN_RTOL[dtype])


def test_train_leaves_inputs_untouched():
    X, Y = training_problem([8, 6, 3], "softmax", np.float64)
    Ws, bs = ref.init_params([8, 6, 3], "relu", random_state=0)
    copies = [a.copy() for a in [X, Y] + Ws + bs]
    nnfast.train(X, Y, Ws, bs, learning_rate=0.5, batch_size=10, epochs=3)
    for a, c in zip([X, Y] + Ws + bs, copies):
        np.testing.assert_array_equal(a, c)


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
GATES = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "xor": [0, 1, 1, 0]}


@pytest.mark.parametrize("gate", GATES)
def test_lecture_2_3_1_sigmoid_network_learns_gates(gate, dtype):
    """Slides 6-16: d = 2 inputs, h = 3 sigmoid hidden units, one sigmoid output, trained by
    full-batch gradient descent on J; it separates XOR, which no single neuron can."""
    X, y = XOR_X.astype(dtype), np.array(GATES[gate], dtype=dtype)
    Ws, bs = nnfast.init_params([2, 3, 1], "logistic", random_state=0, dtype=dtype)
    Ws, bs, curve = nnfast.train(X, y, Ws, bs, learning_rate=2.0, batch_size=4, epochs=5000,
                                 activation="sigmoid", out_activation="sigmoid")
    proba = nnfast.predict(X, Ws, bs, "sigmoid", "sigmoid").ravel()
    np.testing.assert_array_equal(proba > 0.5, np.array(GATES[gate], dtype=bool))
    assert curve[-1] < 0.05


def test_logistic_regression_gradients_are_the_lecture_formulas(dtype):
    """Slide 23: one sigmoid neuron, ∂L/∂w = (a - y) x and ∂L/∂b = a - y, per example."""
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((2, 1)).astype(dtype), rng.standard_normal(1).astype(dtype)
    for x, y in zip(XOR_X.astype(dtype), [0.0, 1.0, 1.0, 0.0]):
        z = float(x @ W[:, 0] + b[0])
        a = 1.0 / (1.0 + np.exp(-z))
        J, (dW,), (db,) = nnfast.loss_and_gradients(x[None, :], np.array([[y]], dtype), [W], [b],
                                                    out_activation="sigmoid")
        tol = 1e-12 if dtype == np.float64 else 1e-6
        np.testing.assert_allclose(dW[:, 0], (a - y) * x, rtol=tol, atol=tol)
        np.testing.assert_allclose(db, [a - y], rtol=tol, atol=tol)
        assert J == pytest.approx(-(y * np.log(a) + (1 - y) * np.log(1 - a)), rel=tol)


_DETERMINISM_SCRIPT = textwrap.dedent("""
    import sys, numpy as np, nnfast
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1024, 300)).astype(np.{dtype})
    Y = np.eye(10, dtype=np.{dtype})[rng.integers(0, 10, 1024)]
    Ws, bs = nnfast.init_params([300, 256, 128, 10], "relu", random_state=0, dtype=np.{dtype})
    order = np.stack([np.random.RandomState(e).permutation(1024) for e in range(2)])
    Ws, bs, curve = nnfast.train(X, Y, Ws, bs, learning_rate=0.05, batch_size=256, epochs=2,
                                 alpha=1e-4, order=order)
    sys.stdout.buffer.write(b"".join(a.tobytes() for a in Ws + bs + [curve]))
""")


@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_training_is_bitwise_identical_at_any_thread_count(dtype_name):
    """The products split M and N only and reductions run in fixed chunks, so any thread
    count gives the same bits (sizes chosen large enough that the threads really are used;
    5 and 16 threads, more than this machine may have, split the products into other grids)."""
    outputs = []
    # The last run lets the runtime grant fewer threads than asked (OMP_DYNAMIC): each
    # kernel's threads must then take over the work of those it did not get.
    for threads, dynamic in (("1", "false"), ("2", "false"), ("5", "false"), ("16", "false"),
                             ("16", "true")):
        env = dict(os.environ, OMP_NUM_THREADS=threads, OMP_DYNAMIC=dynamic)
        proc = subprocess.run([sys.executable, "-c", _DETERMINISM_SCRIPT.format(dtype=dtype_name)],
                              env=env, capture_output=True, check=True)
        outputs.append(proc.stdout)
    assert len(outputs[0]) > 0
    assert all(out == outputs[0] for out in outputs[1:])
