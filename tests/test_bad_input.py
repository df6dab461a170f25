"""Bad input, odd memory layouts and argument immutability, for both implementations.

nnfast.functional (the C++ kernels) and nnfast.reference (NumPy) must reject the
same bad arguments with the same exception type and a message naming the
offending argument — before any kernel sees an inconsistent size — and must
accept any strided float array, never writing to what they were given.
"""
import importlib

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

SIZES = [5, 4, 3]
M = 6


@pytest.fixture(params=["reference", "functional"])
def impl(request):
    return importlib.import_module("nnfast." + request.param)


def _valid(dtype=np.float64):
    """A small consistent problem: X (6, 5), one-hot Y (6, 3), a 5-4-3 network."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(M, SIZES[0])).astype(dtype)
    Y = np.eye(SIZES[-1], dtype=dtype)[rng.integers(0, SIZES[-1], M)]
    Ws = [rng.normal(size=(a, b)).astype(dtype) for a, b in zip(SIZES[:-1], SIZES[1:])]
    bs = [rng.normal(size=b).astype(dtype) for b in SIZES[1:]]
    return X, Y, Ws, bs


def _with(arrays, i, value):
    """Copy of the list `arrays` with entry i replaced."""
    out = list(arrays)
    out[i] = value
    return out


def _poison(a, value):
    a = a.copy()
    a.flat[a.size // 2] = value
    return a


# ---------------------------------------------------------------------------
# Each case: which argument is bad, how, the exception type, and a pattern
# the message must match (it has to name the argument).
# ---------------------------------------------------------------------------

X0, Y0, W0, B0 = _valid()

# (id, changes to the valid arguments, exception, message pattern)
NETWORK_CASES = [
    # Non-finite values.
    ("X-nan", dict(X=_poison(X0, np.nan)), ValueError, r"\bX\b"),
    ("X-inf", dict(X=_poison(X0, np.inf)), ValueError, r"\bX\b"),
    ("X-neginf", dict(X=_poison(X0, -np.inf)), ValueError, r"\bX\b"),
    ("W1-nan", dict(weights=_with(W0, 1, _poison(W0[1], np.nan))), ValueError, r"weights\[1\]"),
    ("W0-inf", dict(weights=_with(W0, 0, _poison(W0[0], np.inf))), ValueError, r"weights\[0\]"),
    ("b0-nan", dict(biases=_with(B0, 0, _poison(B0[0], np.nan))), ValueError, r"biases\[0\]"),
    ("b1-inf", dict(biases=_with(B0, 1, _poison(B0[1], -np.inf))), ValueError, r"biases\[1\]"),
    # Shapes.
    ("X-empty", dict(X=np.empty((0, SIZES[0]))), ValueError, r"\bX\b"),
    ("X-1d", dict(X=X0[0]), ValueError, r"\bX\b"),
    ("X-3d", dict(X=X0[None]), ValueError, r"\bX\b"),
    ("X-features", dict(X=X0[:, :4]), ValueError, r"\bX\b.*weights\[0\]|weights\[0\].*\bX\b"),
    ("W-chain", dict(weights=_with(W0, 1, np.ones((3, 3)))), ValueError, r"weights\[1\]"),
    ("b-length", dict(biases=_with(B0, 0, np.ones(5))), ValueError, r"biases\[0\]"),
    ("W-1d", dict(weights=_with(W0, 0, np.ones(5))), ValueError, r"weights\[0\]"),
    ("b-2d", dict(biases=_with(B0, 1, np.ones((1, 3)))), ValueError, r"biases\[1\]"),
    ("layers-count", dict(biases=B0[:1]), ValueError, r"biases"),
    ("no-layers", dict(weights=[], biases=[]), ValueError, r"weights"),
    # Precision: one dtype throughout, never silently cast.
    ("X-float32", dict(X=X0.astype(np.float32)), TypeError, r"\bX\b"),
    ("W1-float32", dict(weights=_with(W0, 1, W0[1].astype(np.float32))), TypeError, r"weights\[1\]"),
    ("b0-float32", dict(biases=_with(B0, 0, B0[0].astype(np.float32))), TypeError, r"biases\[0\]"),
    # dtypes that are not real floating point.
    ("X-int", dict(X=np.ones((M, 5), dtype=np.int64)), TypeError, r"\bX\b"),
    ("X-bool", dict(X=np.ones((M, 5), dtype=bool)), TypeError, r"\bX\b"),
    ("X-object", dict(X=X0.astype(object)), TypeError, r"\bX\b"),
    ("X-complex", dict(X=X0.astype(complex)), TypeError, r"\bX\b"),
    ("X-str", dict(X=X0.astype(str)), TypeError, r"\bX\b"),
    ("X-float16", dict(X=X0.astype(np.float16)), TypeError, r"\bX\b"),
    ("W0-int", dict(weights=_with(W0, 0, np.ones((5, 4), dtype=np.int32))), TypeError, r"weights\[0\]"),
    ("b1-complex", dict(biases=_with(B0, 1, B0[1].astype(complex))), TypeError, r"biases\[1\]"),
    # Not arrays at all.
    ("X-None", dict(X=None), TypeError, r"\bX\b"),
    ("X-dict", dict(X={"a": 1.0}), TypeError, r"\bX\b"),
    ("X-string", dict(X="1.0, 2.0"), TypeError, r"\bX\b"),
    ("weights-array", dict(weights=W0[0]), TypeError, r"weights"),
    ("biases-None", dict(biases=None), TypeError, r"biases"),
    ("W0-None", dict(weights=_with(W0, 0, None)), TypeError, r"weights\[0\]"),
    # Activations.
    ("activation-unknown", dict(activation="sigmod"), ValueError, r"^activation"),
    ("activation-softmax-hidden", dict(activation="softmax"), ValueError, r"^activation"),
    ("activation-None", dict(activation=None), TypeError, r"^activation"),
    ("out-unknown", dict(out_activation="relu"), ValueError, r"out_activation"),
    ("out-None", dict(out_activation=None), TypeError, r"out_activation"),
    ("negative-slope", dict(activation="leaky_relu", negative_slope=-0.1), ValueError, r"negative_slope"),
    ("negative-slope-str", dict(activation="leaky_relu", negative_slope="0.1"), TypeError, r"negative_slope"),
]

TARGET_CASES = [
    ("Y-nan", dict(Y=_poison(Y0, np.nan)), ValueError, r"\bY\b"),
    ("Y-inf", dict(Y=_poison(Y0, np.inf)), ValueError, r"\bY\b"),
    ("Y-rows", dict(Y=Y0[:5]), ValueError, r"\bY\b"),
    ("Y-columns", dict(Y=Y0[:, :2]), ValueError, r"\bY\b"),
    ("Y-3d", dict(Y=Y0[None]), ValueError, r"\bY\b"),
    ("Y-float32", dict(Y=Y0.astype(np.float32)), TypeError, r"\bY\b"),
    ("Y-int", dict(Y=Y0.astype(np.int64)), TypeError, r"\bY\b"),
    ("Y-bool", dict(Y=Y0.astype(bool)), TypeError, r"\bY\b"),
    ("Y-object", dict(Y=Y0.astype(object)), TypeError, r"\bY\b"),
    ("Y-None", dict(Y=None), TypeError, r"\bY\b"),
    ("alpha-negative", dict(alpha=-1.0), ValueError, r"alpha"),
    ("alpha-nan", dict(alpha=np.nan), ValueError, r"alpha"),
    ("alpha-str", dict(alpha="0.1"), TypeError, r"alpha"),
]

TRAIN_CASES = [
    ("lr-zero", dict(learning_rate=0.0), ValueError, r"learning_rate"),
    ("lr-negative", dict(learning_rate=-0.1), ValueError, r"learning_rate"),
    ("lr-nan", dict(learning_rate=np.nan), ValueError, r"learning_rate"),
    ("lr-inf", dict(learning_rate=np.inf), ValueError, r"learning_rate"),
    ("lr-str", dict(learning_rate="0.1"), TypeError, r"learning_rate"),
    ("lr-None", dict(learning_rate=None), TypeError, r"learning_rate"),
    ("batch-zero", dict(batch_size=0), ValueError, r"batch_size"),
    ("batch-negative", dict(batch_size=-2), ValueError, r"batch_size"),
    ("batch-float", dict(batch_size=2.0), TypeError, r"batch_size"),
    ("batch-bool", dict(batch_size=True), TypeError, r"batch_size"),
    ("batch-str", dict(batch_size="2"), TypeError, r"batch_size"),
    ("epochs-zero", dict(epochs=0), ValueError, r"epochs"),
    ("epochs-negative", dict(epochs=-1), ValueError, r"epochs"),
    ("epochs-float", dict(epochs=1.5), TypeError, r"epochs"),
    ("order-too-big", dict(order=np.array([0, 1, M])), ValueError, r"order"),
    ("order-negative", dict(order=np.array([0, -1, 2])), ValueError, r"order"),
    ("order-float", dict(order=np.array([0.0, 1.0, 2.0])), TypeError, r"order"),
    ("order-bool", dict(order=np.ones(M, dtype=bool)), TypeError, r"order"),
    ("order-empty", dict(order=np.array([], dtype=np.int64)), ValueError, r"order"),
    ("order-epochs", dict(order=np.zeros((3, M), dtype=np.int64), epochs=2), ValueError, r"order"),
    ("order-3d", dict(order=np.zeros((2, 2, M), dtype=np.int64), epochs=2), ValueError, r"order"),
]


def _call(impl, fname, changes):
    X, Y, Ws, bs = _valid()
    args = dict(X=X, Y=Y, weights=Ws, biases=bs)
    args.update(changes)
    kw = {k: v for k, v in args.items() if k not in ("X", "Y", "weights", "biases")}
    X, Y, Ws, bs = args["X"], args["Y"], args["weights"], args["biases"]
    if fname == "forward":
        return impl.forward(X, Ws, bs, **kw)
    if fname == "predict":
        return impl.predict(X, Ws, bs, **kw)
    if fname == "loss_and_gradients":
        return impl.loss_and_gradients(X, Y, Ws, bs, **kw)
    if fname == "train":
        kw.setdefault("learning_rate", 0.1)
        kw.setdefault("batch_size", 4)
        kw.setdefault("epochs", 2)
        return impl.train(X, Y, Ws, bs, **kw)
    raise AssertionError(fname)


def _network_params():
    out = []
    for case_id, changes, exc, pattern in NETWORK_CASES:
        for fname in ("forward", "predict", "loss_and_gradients", "train"):
            out.append(pytest.param(fname, changes, exc, pattern, id=f"{fname}-{case_id}"))
    for case_id, changes, exc, pattern in TARGET_CASES:
        for fname in ("loss_and_gradients", "train"):
            out.append(pytest.param(fname, changes, exc, pattern, id=f"{fname}-{case_id}"))
    for case_id, changes, exc, pattern in TRAIN_CASES:
        out.append(pytest.param("train", changes, exc, pattern, id=f"train-{case_id}"))
    return out


@pytest.mark.parametrize("fname,changes,exc,pattern", _network_params())
def test_network_functions_reject_bad_input(impl, fname, changes, exc, pattern):
    with pytest.raises(exc, match=pattern):
        _call(impl, fname, changes)


@pytest.mark.parametrize("fname", ["forward", "loss_and_gradients", "train"])
def test_unknown_activation_rejected_without_hidden_layer(impl, fname):
    # A one-layer network (logistic regression) never applies the hidden
    # activation, but a misspelt name is still a caller's bug worth reporting.
    X, Y, _, _ = _valid()
    W, b = np.ones((5, 3)), np.zeros(3)
    with pytest.raises(ValueError, match=r"^activation"):
        if fname == "forward":
            impl.forward(X, [W], [b], activation="sigmod")
        elif fname == "loss_and_gradients":
            impl.loss_and_gradients(X, Y, [W], [b], activation="sigmod")
        else:
            impl.train(X, Y, [W], [b], activation="sigmod")


# ---------------------------------------------------------------------------
# The smaller functions
# ---------------------------------------------------------------------------

def _sgd_args():
    _, _, Ws, bs = _valid()
    return Ws, bs, [np.ones_like(W) for W in Ws], [np.ones_like(b) for b in bs]


SGD_CASES = [
    ("lr-zero", dict(learning_rate=0.0), ValueError, r"learning_rate"),
    ("lr-negative", dict(learning_rate=-1.0), ValueError, r"learning_rate"),
    ("lr-nan", dict(learning_rate=np.nan), ValueError, r"learning_rate"),
    ("lr-str", dict(learning_rate="0.1"), TypeError, r"learning_rate"),
    ("gW-nan", dict(grads_W=lambda g: _with(g, 0, _poison(g[0], np.nan))), ValueError, r"grads_W\[0\]"),
    ("gb-inf", dict(grads_b=lambda g: _with(g, 1, _poison(g[1], np.inf))), ValueError, r"grads_b\[1\]"),
    ("gW-shape", dict(grads_W=lambda g: _with(g, 1, np.ones((4, 2)))), ValueError, r"grads_W\[1\]"),
    ("gb-shape", dict(grads_b=lambda g: _with(g, 0, np.ones(3))), ValueError, r"grads_b\[0\]"),
    ("gW-float32", dict(grads_W=lambda g: [x.astype(np.float32) for x in g],
                        grads_b=lambda g: [x.astype(np.float32) for x in g]), TypeError, r"grad"),
    ("gW-layers", dict(grads_W=lambda g: g[:1], grads_b=lambda g: g[:1]), ValueError, r"grad"),
    ("W-nan", dict(weights=lambda w: _with(w, 0, _poison(w[0], np.nan))), ValueError, r"weights\[0\]"),
    ("W-int", dict(weights=lambda w: _with(w, 0, w[0].astype(int))), TypeError, r"weights\[0\]"),
    ("gW-None", dict(grads_W=lambda g: None), TypeError, r"grad"),
]


@pytest.mark.parametrize("changes,exc,pattern", [pytest.param(*c[1:], id=c[0]) for c in SGD_CASES])
def test_sgd_step_rejects_bad_input(impl, changes, exc, pattern):
    Ws, bs, gW, gb = _sgd_args()
    args = dict(weights=Ws, biases=bs, grads_W=gW, grads_b=gb, learning_rate=0.1)
    for k, v in changes.items():
        args[k] = v(args[k]) if callable(v) else v
    with pytest.raises(exc, match=pattern):
        impl.sgd_step(args["weights"], args["biases"], args["grads_W"], args["grads_b"],
                      args["learning_rate"])


MATMUL_CASES = [
    ("inner", (np.ones((3, 4)), np.ones((5, 2))), {}, ValueError, r"inner"),
    ("inner-ta", (np.ones((3, 4)), np.ones((4, 2))), dict(transpose_a=True), ValueError, r"inner"),
    ("inner-tb", (np.ones((3, 4)), np.ones((4, 2))), dict(transpose_b=True), ValueError, r"inner"),
    ("A-1d", (np.ones(4), np.ones((4, 2))), {}, ValueError, r"\bA\b"),
    ("B-3d", (np.ones((3, 4)), np.ones((1, 4, 2))), {}, ValueError, r"\bB\b"),
    ("A-nan", (_poison(np.ones((3, 4)), np.nan), np.ones((4, 2))), {}, ValueError, r"\bA\b"),
    ("B-inf", (np.ones((3, 4)), _poison(np.ones((4, 2)), np.inf)), {}, ValueError, r"\bB\b"),
    ("mixed", (np.ones((3, 4)), np.ones((4, 2), dtype=np.float32)), {}, TypeError, r"\bB\b"),
    ("A-int", (np.ones((3, 4), dtype=int), np.ones((4, 2))), {}, TypeError, r"\bA\b"),
    ("B-complex", (np.ones((3, 4)), np.ones((4, 2), dtype=complex)), {}, TypeError, r"\bB\b"),
    ("A-None", (None, np.ones((4, 2))), {}, TypeError, r"\bA\b"),
]


@pytest.mark.parametrize("args,kw,exc,pattern", [pytest.param(*c[1:], id=c[0]) for c in MATMUL_CASES])
def test_matmul_rejects_bad_input(impl, args, kw, exc, pattern):
    with pytest.raises(exc, match=pattern):
        impl.matmul(*args, **kw)


OUTPUT_LOSS_CASES = [
    ("Z-1d", (np.zeros(3), np.zeros(3)), {}, ValueError, r"\bZ\b"),
    ("Z-nan", (_poison(np.zeros((3, 2)), np.nan), np.zeros((3, 2))), {}, ValueError, r"\bZ\b"),
    ("Z-empty", (np.zeros((0, 2)), np.zeros((0, 2))), {}, ValueError, r"\bZ\b"),
    ("Y-nan", (np.zeros((3, 2)), _poison(np.zeros((3, 2)), np.nan)), {}, ValueError, r"\bY\b"),
    ("Y-rows", (np.zeros((3, 2)), np.zeros((2, 2))), {}, ValueError, r"\bY\b"),
    ("Y-cols", (np.zeros((3, 2)), np.zeros((3, 3))), {}, ValueError, r"\bY\b"),
    ("mixed", (np.zeros((3, 2)), np.zeros((3, 2), dtype=np.float32)), {}, TypeError, r"\bY\b"),
    ("Z-int", (np.zeros((3, 2), dtype=int), np.zeros((3, 2))), {}, TypeError, r"\bZ\b"),
    ("out-unknown", (np.zeros((3, 2)), np.zeros((3, 2))), dict(out_activation="tanh"), ValueError,
     r"out_activation"),
]


@pytest.mark.parametrize("args,kw,exc,pattern", [pytest.param(*c[1:], id=c[0]) for c in OUTPUT_LOSS_CASES])
def test_output_loss_rejects_bad_input(impl, args, kw, exc, pattern):
    with pytest.raises(exc, match=pattern):
        impl.output_loss(*args, **kw)


@pytest.mark.parametrize("Z,exc", [
    pytest.param(np.zeros((2, 3, 4)), ValueError, id="3d"),
    pytest.param(np.zeros((2, 3), dtype=int), TypeError, id="int"),
    pytest.param(np.zeros((2, 3), dtype=complex), TypeError, id="complex"),
    pytest.param(None, TypeError, id="None"),
])
def test_softmax_rejects_bad_input(impl, Z, exc):
    with pytest.raises(exc, match=r"\bZ\b"):
        impl.softmax(Z)


@pytest.mark.parametrize("args,kw,exc,pattern", [
    pytest.param(([5],), {}, ValueError, r"layer_sizes", id="one-size"),
    pytest.param(([5, 0, 3],), {}, ValueError, r"layer_sizes\[1\]", id="zero-units"),
    pytest.param(([5, -2],), {}, ValueError, r"layer_sizes\[1\]", id="negative-units"),
    pytest.param(([5, 2.5],), {}, TypeError, r"layer_sizes\[1\]", id="float-units"),
    pytest.param((5,), {}, ValueError, r"layer_sizes", id="not-a-list"),
    pytest.param(([5, 3],), dict(dtype=np.int32), TypeError, r"dtype", id="int-dtype"),
    pytest.param(([5, 3],), dict(activation="sigmod"), ValueError, r"activation", id="activation"),
    pytest.param(([5, 3],), dict(random_state="seed"), TypeError, r"random_state", id="random-state"),
])
def test_init_params_rejects_bad_input(impl, args, kw, exc, pattern):
    with pytest.raises(exc, match=pattern):
        impl.init_params(*args, **kw)


def test_linear_functions_reject_bad_input(impl):
    X, _, Ws, bs = _valid()
    with pytest.raises(ValueError, match=r"\bX\b|A_prev|weights\[0\]"):
        impl.linear_forward(X[:, :4], Ws[0], bs[0])
    with pytest.raises(TypeError, match=r"\bW\b|A_prev|weights\[0\]"):
        impl.linear_forward(X, Ws[0].astype(np.float32), bs[0].astype(np.float32))
    dZ = np.ones((M, 4))
    with pytest.raises(ValueError, match=r"A_prev"):
        impl.linear_backward(dZ, X[:5], Ws[0])
    with pytest.raises(ValueError, match=r"\bW\b"):
        impl.linear_backward(dZ, X, Ws[0].T.copy())
    with pytest.raises(TypeError, match=r"A_prev"):
        impl.linear_backward(dZ, X.astype(np.float32), Ws[0])
    with pytest.raises(ValueError, match=r"dA|\bA\b"):
        impl.activation_backward(np.ones((2, 3)), np.ones((3, 2)), "tanh")
    with pytest.raises(ValueError, match=r"^activation"):
        impl.activation_forward(np.ones((2, 3)), "softmax")


# ---------------------------------------------------------------------------
# Memory layout: any strided float array is accepted and means the same thing
# ---------------------------------------------------------------------------

def _layouts(a):
    """Arrays equal to `a` but not C-contiguous: Fortran order, a padded leading
    dimension (unit inner stride, longer row stride), every other element of a
    wider array, and a negative-stride (reversed) view."""
    padded = np.zeros(a.shape[:-1] + (a.shape[-1] + 3,), dtype=a.dtype)
    padded[..., :a.shape[-1]] = a
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    wide[..., ::2] = a
    out = {
        "fortran": np.asfortranarray(a),
        "padded": padded[..., :a.shape[-1]],
        "strided": wide[..., ::2],
        "reversed": np.ascontiguousarray(a[::-1])[::-1],
        "misaligned": misaligned(a),
    }
    for name, v in out.items():
        assert_array_equal(v, a)
        if name == "misaligned":
            assert v.flags.c_contiguous and not v.flags.aligned
            continue
        # A 1-D array is both C and Fortran ordered, and padding it is a no-op.
        assert not v.flags.c_contiguous or (a.ndim == 1 and name in ("fortran", "padded")), name
    return out


def misaligned(a):
    """A C-contiguous copy of `a` one byte past an aligned address (not aligned to its
    element size), as arrays rebuilt from a byte stream arrive (``distributed`` workers,
    np.frombuffer over a bytes payload)."""
    a = np.ascontiguousarray(a)
    out = np.frombuffer(bytearray(a.nbytes + 1), dtype=a.dtype, offset=1, count=a.size)
    out = out.reshape(a.shape)
    out[...] = a
    return out


# C-contiguous but misaligned too: the kernels read through T*, so it must be copied first.
LAYOUTS = ["fortran", "padded", "strided", "reversed", "misaligned"]


def _assert_same(got, expected):
    if isinstance(got, (list, tuple)):
        assert isinstance(expected, (list, tuple)) and len(got) == len(expected)
        for g, e in zip(got, expected):
            _assert_same(g, e)
    elif isinstance(got, float):
        assert got == pytest.approx(expected, rel=1e-12)
    else:
        assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def _calls(impl):
    """Every public computation once, as (name, function of the inputs, inputs)."""
    X, Y, Ws, bs = _valid()
    gW = [np.full_like(W, 0.5) for W in Ws]
    gb = [np.full_like(b, 0.5) for b in bs]
    order = np.array([[5, 0, 3, 1, 4, 2], [2, 2, 0, 1, 5, 3]])
    return [
        ("forward", lambda X, Ws, bs: impl.forward(X, Ws, bs, "tanh", "softmax"), (X, Ws, bs)),
        ("loss_and_gradients",
         lambda X, Y, Ws, bs: impl.loss_and_gradients(X, Y, Ws, bs, "relu", "softmax", 0.1), (X, Y, Ws, bs)),
        ("train", lambda X, Y, Ws, bs, order: impl.train(
            X, Y, Ws, bs, learning_rate=0.1, batch_size=4, epochs=2, activation="tanh", order=order),
         (X, Y, Ws, bs, order)),
        ("sgd_step", lambda Ws, bs, gW, gb: impl.sgd_step(Ws, bs, gW, gb, 0.1), (Ws, bs, gW, gb)),
        ("softmax", impl.softmax, (X,)),
        ("output_loss", lambda Z, Y: impl.output_loss(Z, Y, "logistic"), (np.ascontiguousarray(X[:, :3]), Y)),
        ("matmul", lambda A, B: impl.matmul(A, B), (X, Ws[0])),
        ("matmul_tt", lambda A, B: impl.matmul(A, B, True, True), (X.T.copy(), Ws[0].T.copy())),
        ("linear_backward", impl.linear_backward, (np.ones((M, 4)), X, Ws[0])),
        ("activation_backward", lambda dA, A: impl.activation_backward(dA, A, "logistic"),
         (X, 1 / (1 + np.exp(-X)))),
    ]


def _relayout(arg, layout):
    if isinstance(arg, list):
        return [_relayout(a, layout) for a in arg]
    if isinstance(arg, np.ndarray) and arg.dtype.kind in "fi":
        return _layouts(arg).get(layout, arg)
    return arg


CALL_NAMES = ["forward", "loss_and_gradients", "train", "sgd_step", "softmax", "output_loss",
              "matmul", "matmul_tt", "linear_backward", "activation_backward"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", CALL_NAMES)
def test_non_contiguous_inputs_give_the_same_result(impl, name, layout):
    # Kernels that assume C order and unit stride would read the wrong elements.
    _, fn, args = dict((c[0], c) for c in _calls(impl))[name]
    expected = fn(*args)
    got = fn(*[_relayout(a, layout) for a in args])
    _assert_same(got, expected)


@pytest.mark.parametrize("threaded_from", [None, 1])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_found_in_any_layout(impl, layout, bad, threaded_from, monkeypatch):
    # The kernels' finite check scans a contiguous array (Fortran order too) in C++, on the
    # OpenMP threads from THREADED_CHECK values (threaded_from=1 sends this small one there),
    # and any other array with NumPy (the reference: every array): each must find the one
    # bad value, wherever the layout puts it.
    if threaded_from is not None:
        monkeypatch.setattr(importlib.import_module("nnfast.functional"), "THREADED_CHECK",
                            threaded_from)
    X, _, Ws, bs = _valid()
    for pos in [(0, 0), (M - 1, SIZES[0] - 1), (M // 2, 2)]:
        Xb = X.copy()
        Xb[pos] = bad
        with pytest.raises(ValueError, match=r"\bX\b"):
            impl.forward(_layouts(Xb)[layout], Ws, bs, "tanh", "softmax")


def _snapshot(args):
    return [[a.copy() for a in x] if isinstance(x, list) else (x.copy() if isinstance(x, np.ndarray) else x)
            for x in args]


def _flat_arrays(x):
    if isinstance(x, (list, tuple)):
        return [a for item in x for a in _flat_arrays(item)]
    return [x] if isinstance(x, np.ndarray) else []


@pytest.mark.parametrize("layout", ["C"] + LAYOUTS)
@pytest.mark.parametrize("name", CALL_NAMES)
def test_inputs_are_never_modified_and_outputs_are_new(impl, name, layout):
    _, fn, args = dict((c[0], c) for c in _calls(impl))[name]
    if layout != "C":
        args = tuple(_relayout(a, layout) for a in args)
    before = _snapshot(args)
    out = fn(*args)
    for now, then in zip(args, before):
        if isinstance(then, list):
            assert len(now) == len(then)
            for a, b in zip(now, then):
                assert_array_equal(a, b)
        elif isinstance(then, np.ndarray):
            assert_array_equal(now, then)
    # Writing into a result must not reach back into an argument. forward's
    # A[0] is documented to be X itself, so it is exempt.
    results = _flat_arrays(out)
    if name == "forward":
        results = results[1:]
    inputs = _flat_arrays(list(args))
    for r in results:
        for a in inputs:
            assert not np.shares_memory(r, a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_keep_the_input_precision(impl, dtype):
    X, Y, Ws, bs = _valid(dtype)
    _, dWs, dbs = impl.loss_and_gradients(X, Y, Ws, bs)
    tW, tb, _ = impl.train(X, Y, Ws, bs, learning_rate=0.1, batch_size=3)
    outs = impl.forward(X, Ws, bs) + dWs + dbs + tW + tb + [impl.softmax(X), impl.matmul(X, Ws[0])]
    assert all(o.dtype == dtype for o in outs)


# ---------------------------------------------------------------------------
# Sample weights of a batch: the divisor of its weighted mean
# ---------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]),
       batch_size=st.integers(1, 7), epochs=st.integers(1, 3),
       order_kind=st.sampled_from(["none", "1d", "2d"]))
def test_a_batch_without_weight_is_refused_as_the_reference_refuses_it(
        data, dtype, batch_size, epochs, order_kind):
    """Weights with zeros in random places: a batch whose weights sum to zero makes the
    reference raise "sample_weight must have a positive sum"; nnfast.train raises the same
    (saying which batch) before training, never "training diverged", and agrees otherwise."""
    from nnfast import functional, reference
    X, Y, Ws, bs = _valid(dtype)
    w = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.0, 1.0, 2.5]), min_size=M,
                                    max_size=M)), dtype)
    assume(w.sum() > 0)
    order = None
    if order_kind == "1d":
        order = np.array(data.draw(st.lists(st.integers(0, M - 1), min_size=1, max_size=2 * M)))
    elif order_kind == "2d":
        order = np.array([data.draw(st.permutations(range(M))) for _ in range(epochs)])
    kw = dict(learning_rate=0.1, batch_size=batch_size, epochs=epochs, order=order,
              sample_weight=w)
    outcomes = []
    for impl in (reference, functional):
        try:
            outcomes.append(impl.train(X, Y, Ws, bs, **kw))
        except ValueError as exc:
            outcomes.append(str(exc))
    want, got = outcomes
    if isinstance(want, str):
        assert want == "sample_weight must have a positive sum"
        assert isinstance(got, str) and got.startswith(want + " in every batch"), got
    else:
        assert not isinstance(got, str), got
        for g, e in zip(got[0] + got[1] + [got[2]], want[0] + want[1] + [want[2]]):
            assert_allclose(g, e, rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-6)


@pytest.mark.parametrize("dtype,tiny", [(np.float64, 5e-324), (np.float64, 1e-320),
                                        (np.float32, 1e-45), (np.float32, 1e-40)])
def test_batch_weights_too_small_to_divide_by_are_named(dtype, tiny):
    """A batch whose weights sum to a positive number whose reciprocal overflows in the dtype:
    every gradient would be inf. The message says so and what to do, not 'training
    diverged ... lower learning_rate'."""
    from nnfast import functional
    X, Y, Ws, bs = _valid(dtype)
    w = np.array([tiny, 0, 0, 1, 1, 1], dtype=np.float64)
    with pytest.raises(ValueError, match=r"^sample_weight: the batch of rows \[0, 1, 2\] .*"
                                         r"too small to divide by"):
        functional.train(X, Y, Ws, bs, batch_size=3, epochs=2, sample_weight=w)
