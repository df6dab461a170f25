"""Limits: 64-bit sizes and offsets, allocations larger than memory, degenerate layer sizes,
and the argument types test_bad_input.py does not already try (bools, complex, object,
strings and float16 in every array argument of every public function; odd scalars).

Every case asserts the exception type and that the message names the argument (or, for an
impossible allocation, that it is a MemoryError rather than a crash).
"""
import importlib
import re

import numpy as np
import pytest

import nnfast
from nnfast import _core

BIG = 2**31 + 64  # past every 32-bit index, signed or not (elements, not bytes)


@pytest.fixture(params=["reference", "functional"])
def impl(request):
    return importlib.import_module("nnfast." + request.param)


def _virtual_zeros(shape, dtype):
    """A huge zero array that costs no memory until written: calloc maps the zero page, and
    reading it allocates nothing. Skips where the system refuses to reserve the address space
    (vm.overcommit_memory = 2)."""
    try:
        return np.zeros(shape, dtype)
    except MemoryError:
        pytest.skip(f"cannot reserve {np.prod(shape) * np.dtype(dtype).itemsize / 2**30:.0f} GiB "
                    "of address space here (strict overcommit)")


# ---------------------------------------------------------------------------------------------
# 64-bit sizes and offsets
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("trans", [False, True], ids=["rows", "transposed"])
@pytest.mark.parametrize("path", ["blocked", "naive", "public"])
def test_gemm_leading_dimension_past_2_31(trans, path):
    """An operand whose rows lie 2^31 + 64 elements apart (a column slice of a 2 x (2^31 + 64)
    float32 array: 16 GiB of address space, a few pages of memory). Row 1 starts past every
    32-bit offset; an index computed in 32 bits would read row 0, or crash. The product is big
    enough (2 * 2 * 4097 > 16384 multiply-adds) to take the packed, blocked path."""
    k = 4097
    big = _virtual_zeros((2, BIG), np.float32)
    rng = np.random.default_rng(0)
    big[:, :k] = rng.standard_normal((2, k)).astype(np.float32)
    A = big[:, :k]  # strides (4 * BIG, 4): rows far apart
    assert A.strides[0] // A.itemsize == BIG
    if trans:  # op(A) = Aᵀ is k x 2: the far-apart rows of A are op(A)'s columns
        B = rng.standard_normal((2, 3)).astype(np.float32)
        expected = A.copy().T.astype(np.float64) @ B
    else:
        B = rng.standard_normal((k, 3)).astype(np.float32)
        expected = A.copy().astype(np.float64) @ B
    if path == "public":
        C = nnfast.matmul(A, B, transpose_a=trans)
    else:
        C = np.empty(expected.shape, np.float32)
        _core.gemm(C, A, B, trans, False, False, path == "naive")
    np.testing.assert_allclose(C, expected, rtol=1e-4, atol=1e-3)


def test_gemm_inner_dimension_past_2_31_naive_oracle():
    """(1 x K) @ (K x 1) with K = 2^31 + 64 in the naive oracle (one pass, a few seconds):
    the loop counter and both offsets must be 64-bit. Nonzeros sit at p = 5, 2^31 + 3 and
    K - 1; 32-bit wrap-around would miss or misplace the last two. (The blocked path is
    covered by the leading-dimension test above; it is far slower on a 1 x 1 output.)"""
    A = _virtual_zeros((1, BIG), np.float32)
    B = _virtual_zeros((BIG, 1), np.float32)
    for p, a, b in ((5, 1.0, 7.0), (2**31 + 3, 5.0, 11.0), (BIG - 1, 2.0, 3.0)):
        A[0, p], B[p, 0] = a, b
    C = np.full((1, 1), np.nan, np.float32)
    _core.gemm(C, A, B, False, False, False, True)
    assert C[0, 0] == 7.0 + 55.0 + 6.0


# ---------------------------------------------------------------------------------------------
# Allocations larger than memory: MemoryError, never a crash
# ---------------------------------------------------------------------------------------------

def test_matmul_output_larger_than_memory(impl):
    # Empty operands (no memory) whose product would be 10^7 x 10^8: 3.6 / 7.3 PiB.
    for dtype in (np.float32, np.float64):
        with pytest.raises(MemoryError):
            impl.matmul(np.zeros((10**7, 0), dtype), np.zeros((0, 10**8), dtype))


def test_init_params_larger_than_memory(impl):
    with pytest.raises(MemoryError):
        impl.init_params([10**6, 10**6])  # 7.3 TiB of float64
    with pytest.raises(MemoryError):
        impl.init_params([3, 10**6, 10**6], dtype=np.float32)


def test_init_params_size_beyond_any_array(impl):
    """10^20 units cannot even be an array shape: MemoryError, or an error naming layer_sizes
    (today: numpy's 'Maximum allowed dimension exceeded', naming nothing)."""
    with pytest.raises((MemoryError, ValueError)) as info:
        impl.init_params([2, 10**20])
    if not info.errisinstance(MemoryError):
        assert "layer_sizes" in str(info.value)


def _wide_problem(m=10**6, h=10**6):
    """X (m x 1) and a 1-h-1 network: a few MiB of float32 arrays, but m x h activations
    (3.6 TiB) in any forward pass over all rows."""
    X = np.ones((m, 1), np.float32)
    Y = np.ones((m, 1), np.float32)
    Ws = [np.full((1, h), 1e-3, np.float32), np.full((h, 1), 1e-3, np.float32)]
    bs = [np.zeros(h, np.float32), np.zeros(1, np.float32)]
    return X, Y, Ws, bs


@pytest.mark.parametrize("fn", ["forward", "loss_and_gradients", "train"])
def test_network_buffers_larger_than_memory(fn):
    """The activation buffers are allocated in Python (forward) or in C++ (the others, where
    std::bad_alloc must surface as MemoryError): either way a MemoryError, at once."""
    X, Y, Ws, bs = _wide_problem()
    with pytest.raises(MemoryError):
        if fn == "forward":
            nnfast.forward(X, Ws, bs, out_activation="identity")
        elif fn == "loss_and_gradients":
            nnfast.loss_and_gradients(X, Y, Ws, bs, out_activation="identity")
        else:
            nnfast.train(X, Y, Ws, bs, batch_size=10**6, out_activation="identity")


def test_train_batch_order_longer_than_memory():
    """An order of 10^6 row indices over 10 rows, in one batch: the gathered batch's
    activations (10^6 x 10^6) cannot be allocated."""
    X, Y, Ws, bs = _wide_problem()
    with pytest.raises(MemoryError):
        nnfast.train(X[:10], Y[:10], Ws, bs, batch_size=10**6, order=np.zeros(10**6, np.int64),
                     out_activation="identity")


def test_train_epochs_beyond_memory():
    """2^40 epochs need a 8 TiB loss curve (MemoryError, or an error naming epochs); 10^20
    cannot be an array length at all and must be refused naming epochs. (The reference,
    which appends to its curve epoch by epoch, would simply run that long.)"""
    X = np.ones((4, 2))
    Ws, bs = nnfast.init_params([2, 1], random_state=0)
    with pytest.raises((MemoryError, ValueError)) as info:
        nnfast.train(X, np.ones(4), Ws, bs, epochs=2**40, out_activation="identity")
    if not info.errisinstance(MemoryError):
        assert "epochs" in str(info.value)
    for epochs in (10**20, 2**63):
        with pytest.raises((MemoryError, ValueError, OverflowError)) as info:
            nnfast.train(X, np.ones(4), Ws, bs, epochs=epochs, out_activation="identity")
        if not info.errisinstance(MemoryError):
            assert "epochs" in str(info.value), f"epochs={epochs}: {info.value}"


@pytest.mark.parametrize("batch", [2**62, 2**63 - 1, 2**63, 10**20, np.uint64(2**64 - 1)],
                         ids=["2^62", "2^63-1", "2^63", "1e20", "uint64-max"])
def test_train_batch_size_larger_than_the_data(impl, batch):
    """A batch larger than the data is the whole data (as 2^63 - 1 already is), whatever
    integer says so; otherwise an error must name batch_size (not pybind11's 'incompatible
    function arguments')."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 3)), rng.standard_normal(8)
    Ws, bs = nnfast.init_params([3, 4, 1], random_state=0)
    kw = dict(learning_rate=0.1, epochs=2, out_activation="identity")
    whole = impl.train(X, y, Ws, bs, batch_size=8, **kw)
    try:
        got = impl.train(X, y, Ws, bs, batch_size=batch, **kw)
    except (ValueError, TypeError, OverflowError) as e:
        assert "batch_size" in str(e), f"batch_size={batch}: {type(e).__name__}: {e}"
    else:
        for g, w in zip(got[0] + got[1] + [got[2]], whole[0] + whole[1] + [whole[2]]):
            np.testing.assert_array_equal(g, w)


# ---------------------------------------------------------------------------------------------
# Degenerate layer sizes (init_params' own cases are in test_bad_input.py)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sizes,exc,pattern", [
    pytest.param([0, 3], ValueError, r"layer_sizes\[0\]", id="zero-inputs"),
    pytest.param([-1, 3], ValueError, r"layer_sizes\[0\]", id="negative-inputs"),
    pytest.param([3, 4, -(2**63)], ValueError, r"layer_sizes\[2\]", id="int64-min"),
    pytest.param([3, 0], ValueError, r"layer_sizes\[1\]", id="zero-outputs"),
    pytest.param([True, 3], TypeError, r"layer_sizes\[0\]", id="bool"),
    pytest.param([np.bool_(True), 3], TypeError, r"layer_sizes\[0\]", id="numpy-bool"),
    pytest.param(["3", 3], TypeError, r"layer_sizes\[0\]", id="str"),
    pytest.param([None, 3], TypeError, r"layer_sizes\[0\]", id="None"),
    pytest.param([3, 2 + 0j], TypeError, r"layer_sizes\[1\]", id="complex"),
    pytest.param(np.array([2.0, 3.0]), TypeError, r"layer_sizes\[0\]", id="float-array"),
    pytest.param([], ValueError, r"layer_sizes", id="empty"),
])
def test_init_params_degenerate_sizes(impl, sizes, exc, pattern):
    with pytest.raises(exc, match=pattern):
        impl.init_params(sizes)


def test_init_params_accepts_numpy_integers(impl):
    Ws, bs = impl.init_params(np.array([3, 4, 2], dtype=np.uint8), random_state=0)
    assert [W.shape for W in Ws] == [(3, 4), (4, 2)]


@pytest.mark.parametrize("fname", ["forward", "predict", "loss_and_gradients", "train"])
@pytest.mark.parametrize("case", ["zero-units", "zero-features", "zero-outputs"])
def test_layers_with_no_units_are_refused(impl, fname, case):
    """Weights with a zero-sized dimension: a layer of no units (W (5, 0)), a network of no
    inputs (X (6, 0)), no outputs (W (4, 0) last)."""
    X, Y = np.ones((6, 5)), np.ones((6, 3))
    if case == "zero-units":
        Ws, bs = [np.ones((5, 0)), np.ones((0, 3))], [np.ones(0), np.ones(3)]
        bad = r"weights\[0\]|biases\[0\]"
    elif case == "zero-features":
        X = np.ones((6, 0))
        Ws, bs, bad = [np.ones((0, 3))], [np.ones(3)], r"\bX\b|weights\[0\]"
    else:
        Ws, bs = [np.ones((5, 4)), np.ones((4, 0))], [np.ones(4), np.ones(0)]
        bad = r"weights\[1\]|biases\[1\]"
        Y = np.ones((6, 0))
    with pytest.raises(ValueError, match=bad):
        if fname == "forward":
            impl.forward(X, Ws, bs)
        elif fname == "predict":
            impl.predict(X, Ws, bs)
        elif fname == "loss_and_gradients":
            impl.loss_and_gradients(X, Y, Ws, bs)
        else:
            impl.train(X, Y, Ws, bs)


# ---------------------------------------------------------------------------------------------
# Non-float arrays in every array argument that test_bad_input.py leaves out
# ---------------------------------------------------------------------------------------------

BAD_DTYPES = {
    "bool": lambda a: a > 0,
    "complex": lambda a: a.astype(np.complex128),
    "object": lambda a: a.astype(object),
    "str": lambda a: a.astype(str),
    "float16": lambda a: a.astype(np.float16),
}

_rng = np.random.default_rng(0)
_X = _rng.standard_normal((6, 5))
_Y = np.eye(3)[_rng.integers(0, 3, 6)]
_P = np.full((6, 3), 0.25)  # probabilities
_W, _B = nnfast.init_params([5, 4, 3], random_state=0)
_A1 = np.tanh(_X @ _W[0] + _B[0])
_dZ4 = np.ones((6, 4))


def _cases():
    """(function, argument name, call taking the bad array)."""
    return [
        ("activation_forward", "Z", lambda m, a: m.activation_forward(a, "tanh")),
        ("identity", "Z", lambda m, a: m.identity(a)),
        ("sigmoid", "Z", lambda m, a: m.sigmoid(a)),
        ("tanh", "Z", lambda m, a: m.tanh(a)),
        ("relu", "Z", lambda m, a: m.relu(a)),
        ("leaky_relu", "Z", lambda m, a: m.leaky_relu(a)),
        ("activation_derivative", "A", lambda m, a: m.activation_derivative(a, "tanh")),
        ("activation_backward", "dA", lambda m, a: m.activation_backward(a, _X, "tanh")),
        ("activation_backward", "A", lambda m, a: m.activation_backward(_X, a, "tanh")),
        ("softmax", "Z", lambda m, a: m.softmax(a)),
        ("binary_cross_entropy", "A", lambda m, a: m.binary_cross_entropy(a, _Y)),
        ("binary_cross_entropy", "Y", lambda m, a: m.binary_cross_entropy(_P, a)),
        ("categorical_cross_entropy", "A", lambda m, a: m.categorical_cross_entropy(a, _Y)),
        ("categorical_cross_entropy", "Y", lambda m, a: m.categorical_cross_entropy(_P, a)),
        ("squared_error", "A", lambda m, a: m.squared_error(a, _Y)),
        ("squared_error", "Y", lambda m, a: m.squared_error(_P, a)),
        ("l2_penalty", "weights[1]", lambda m, a: m.l2_penalty([_W[0], a], 0.1, 6)),
        ("output_loss", "Z", lambda m, a: m.output_loss(a, _Y)),
        ("output_loss", "Y", lambda m, a: m.output_loss(_P, a)),
        ("matmul", "A", lambda m, a: m.matmul(a, _W[0])),
        ("matmul", "B", lambda m, a: m.matmul(_X, a)),
        ("linear_forward", "A_prev", lambda m, a: m.linear_forward(a, _W[0], _B[0])),
        ("linear_forward", "W", lambda m, a: m.linear_forward(_X, a, _B[0])),
        ("linear_forward", "b", lambda m, a: m.linear_forward(_X, _W[0], a)),
        ("linear_backward", "dZ", lambda m, a: m.linear_backward(a, _X, _W[0])),
        ("linear_backward", "A_prev", lambda m, a: m.linear_backward(_dZ4, a, _W[0])),
        ("linear_backward", "W", lambda m, a: m.linear_backward(_dZ4, _X, a)),
        ("backward", "activations[0]", lambda m, a: m.backward([a, _A1], _Y, _W)),
        ("backward", "activations[1]", lambda m, a: m.backward([_X, a], _Y, _W)),
        ("backward", "dZ", lambda m, a: m.backward([_X, _A1], a, _W)),
        ("backward", "weights[1]", lambda m, a: m.backward([_X, _A1], _Y, [_W[0], a])),
        ("sgd_step", "weights[1]", lambda m, a: m.sgd_step([_W[0], a], _B, _W, _B, 0.1)),
        ("sgd_step", "biases[0]", lambda m, a: m.sgd_step(_W, [a, _B[1]], _W, _B, 0.1)),
        ("sgd_step", "grads_W[0]", lambda m, a: m.sgd_step(_W, _B, [a, _W[1]], _B, 0.1)),
        ("sgd_step", "grads_b[1]", lambda m, a: m.sgd_step(_W, _B, _W, [_B[0], a], 0.1)),
    ]


# The argument whose bad array each case builds (the message must name it).
def _bad_input(fname, arg):
    base = {"Z": _X, "A": _P if "entropy" in fname or fname == "squared_error" else _X,
            "dA": _X, "Y": _Y, "B": _W[0], "A_prev": _X, "W": _W[0], "b": _B[0],
            "dZ": _dZ4 if fname == "linear_backward" else _Y, "weights[1]": _W[1],
            "activations[0]": _X, "activations[1]": _A1, "biases[0]": _B[0],
            "grads_W[0]": _W[0], "grads_b[1]": _B[1]}
    if fname == "output_loss" and arg == "Z":
        return _P
    return base[arg]


def _dtype_params():
    out = []
    for fname, arg, call in _cases():
        for kind in BAD_DTYPES:
            out.append(pytest.param(fname, arg, call, kind, id=f"{fname}-{arg}-{kind}"))
    return out


@pytest.mark.parametrize("fname,arg,call,kind", _dtype_params())
def test_non_float_arrays_are_refused(impl, fname, arg, call, kind):
    bad = BAD_DTYPES[kind](_bad_input(fname, arg))
    with pytest.raises(TypeError) as info:
        call(impl, bad)
    name = arg.replace("[", r"\[").replace("]", r"\]")
    # linear_forward checks W and b as the network's weights[0] / biases[0].
    alias = {"W": r"\bW\b|weights\[0\]", "b": r"\bb\b|biases\[0\]"}.get(arg, rf"(?<![\w\[]){name}")
    assert re.search(alias, str(info.value)), str(info.value)


@pytest.mark.parametrize("fname", ["output_loss", "loss_and_gradients", "train"])
@pytest.mark.parametrize("kind", ["bool", "complex", "object", "str"])
def test_sample_weight_non_real_refused(impl, fname, kind):
    w = BAD_DTYPES[kind](np.ones(6))
    with pytest.raises(TypeError, match="sample_weight"):
        if fname == "output_loss":
            impl.output_loss(_P, _Y, "softmax", w)
        elif fname == "loss_and_gradients":
            impl.loss_and_gradients(_X, _Y, _W, _B, sample_weight=w)
        else:
            impl.train(_X, _Y, _W, _B, sample_weight=w)


@pytest.mark.parametrize("kind", ["complex", "object", "str"])
def test_order_non_integer_refused(impl, kind):
    with pytest.raises(TypeError, match="order"):
        impl.train(_X, _Y, _W, _B, order=BAD_DTYPES[kind](np.arange(6.0)))


def test_l2_penalty_weights_must_be_a_list_of_arrays(impl):
    # A bare array would be iterated row by row, silently giving the wrong penalty's meaning.
    with pytest.raises(TypeError, match="weights"):
        impl.l2_penalty(_W[0], 0.1, 6)


@pytest.mark.parametrize("flag", ["transpose_a", "transpose_b"])
def test_matmul_transpose_flags_must_be_bools(impl, flag):
    """bool("False") is True: a string flag would silently transpose. Each of these values
    must raise a TypeError naming the flag."""
    A = B = _W[0][:4]  # square: every flag value gives a valid product
    accepted = []
    for value in ("False", "yes", 0.5, [True]):
        try:
            impl.matmul(A, B, **{flag: value})
        except TypeError as e:
            assert flag in str(e), str(e)
        else:
            accepted.append(value)
    assert not accepted, f"{flag} accepted non-bool values {accepted!r}"


def test_matmul_transpose_flags_accept_numpy_bools(impl):
    np.testing.assert_allclose(impl.matmul(_X, _X, transpose_a=np.bool_(True)), _X.T @ _X)


@pytest.mark.parametrize("arg", ["A", "B"])
def test_ragged_nested_lists_name_the_argument(impl, arg):
    ragged = [[1.0, 2.0], [3.0]]
    with pytest.raises((ValueError, TypeError), match=rf"\b{arg}\b"):
        if arg == "A":
            impl.matmul(ragged, np.ones((2, 2)))
        else:
            impl.matmul(np.ones((2, 2)), ragged)


@pytest.mark.parametrize("value", [1 + 0j, np.complex128(0.1), True, np.bool_(False), "0.1",
                                   np.array([0.1]), None],
                         ids=["complex", "np-complex", "bool", "np-bool", "str", "array", "None"])
@pytest.mark.parametrize("where", ["train-learning_rate", "train-alpha", "loss_and_gradients-alpha",
                                   "sgd_step-learning_rate", "leaky_relu-negative_slope",
                                   "l2_penalty-alpha", "l2_penalty-m"])
def test_scalar_arguments_must_be_real_numbers(impl, where, value):
    fname, arg = where.split("-")
    with pytest.raises(TypeError, match=arg):
        if fname == "train":
            impl.train(_X, _Y, _W, _B, **{arg: value})
        elif fname == "loss_and_gradients":
            impl.loss_and_gradients(_X, _Y, _W, _B, alpha=value)
        elif fname == "sgd_step":
            impl.sgd_step(_W, _B, _W, _B, value)
        elif fname == "leaky_relu":
            impl.leaky_relu(_X, value)
        else:
            impl.l2_penalty(_W, 0.1, value) if arg == "m" else impl.l2_penalty(_W, value, 6)


@pytest.mark.parametrize("value", [np.float64(2.0), 2 + 0j, np.bool_(True), "2", None],
                         ids=["np-float", "complex", "np-bool", "str", "None"])
@pytest.mark.parametrize("arg", ["batch_size", "epochs"])
def test_integer_arguments_must_be_integers(impl, arg, value):
    with pytest.raises(TypeError, match=arg):
        impl.train(_X, _Y, _W, _B, **{arg: value})


@pytest.mark.parametrize("arg", ["activation", "out_activation"])
@pytest.mark.parametrize("value", [b"relu", 3, ["relu"]], ids=["bytes", "int", "list"])
def test_activation_names_must_be_strings(impl, arg, value):
    with pytest.raises(TypeError, match=arg):
        impl.forward(_X, _W, _B, **{arg: value})


def test_init_params_dtype_must_be_a_float_dtype(impl):
    for dtype in (bool, np.complex128, object, np.float16, "U8", np.int32):
        with pytest.raises(TypeError, match="dtype"):
            impl.init_params([2, 3], dtype=dtype)


def test_core_refuses_zero_stride_operands():
    """A broadcast (stride-0) view reaching the C++ product directly is refused, not read
    with a made-up leading dimension."""
    A = np.broadcast_to(np.float64(1.0), (3, 4))
    with pytest.raises(ValueError, match="unit stride"):
        _core.gemm(np.empty((3, 2)), A, np.ones((4, 2)), False, False)
    # The public function copies such views.
    np.testing.assert_array_equal(nnfast.matmul(A, np.ones((4, 2))), np.full((3, 2), 4.0))



def _misaligned(a):
    """A C-contiguous copy of `a` whose data pointer is one byte off its natural alignment
    (what np.frombuffer(buf, offset=1) or a packed record field gives)."""
    raw = np.zeros(a.nbytes + a.itemsize + 1, np.uint8)
    out = raw[1:1 + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_core_refuses_misaligned_arrays(dtype):
    """The C++ kernels dereference T* as naturally aligned; a misaligned array reaching them is
    undefined behaviour (UBSan: 'load of misaligned address ... csrc/gemm/pack_x86.h:69' in
    .ci/sanitize), which a compiler's aligned vector moves would turn into a crash. The
    bindings, the last line of defence, must refuse such arrays with a ValueError."""
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((40, 50)).astype(dtype), rng.standard_normal((50, 30)).astype(dtype)
    with pytest.raises(ValueError, match="align"):
        _core.gemm(np.empty((40, 30), dtype), _misaligned(A), B, False, False)
    with pytest.raises(ValueError, match="align"):
        _core.activation_forward(np.empty_like(A), _misaligned(A), 2, 0.01)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_public_functions_accept_misaligned_arrays(dtype):
    """The public functions copy a misaligned array (as they copy other layouts the kernels
    cannot read) and give the aligned array's results."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5)).astype(dtype)
    Y = np.eye(3, dtype=dtype)[rng.integers(0, 3, 40)]
    Ws, bs = nnfast.init_params([5, 8, 3], "tanh", random_state=0, dtype=dtype)
    mis = [_misaligned(W) for W in Ws]
    np.testing.assert_array_equal(nnfast.matmul(_misaligned(X), Ws[0]), nnfast.matmul(X, Ws[0]))
    np.testing.assert_array_equal(nnfast.tanh(_misaligned(X)), nnfast.tanh(X))
    np.testing.assert_array_equal(nnfast.predict(_misaligned(X), mis, bs, "tanh"),
                                  nnfast.predict(X, Ws, bs, "tanh"))
    got = nnfast.train(_misaligned(X), _misaligned(Y), mis, bs, learning_rate=0.1, batch_size=8,
                       epochs=2, activation="tanh")
    want = nnfast.train(X, Y, Ws, bs, learning_rate=0.1, batch_size=8, epochs=2, activation="tanh")
    for g, w in zip(got[0] + got[1] + [got[2]], want[0] + want[1] + [want[2]]):
        np.testing.assert_array_equal(g, w)


# ---------------------------------------------------------------------------------------------
# The finiteness check of every array argument: right answer, no array-sized temporary
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scan", ["numpy", "kernels"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finiteness_check_finds_every_bad_value_without_a_large_temporary(dtype, scan):
    # The reference's check (NumPy alone) and the kernel-backed functions' (the C++ scan for
    # contiguous arrays, NumPy's otherwise).
    import tracemalloc

    from nnfast import _checks, functional
    all_finite = _checks.all_finite if scan == "numpy" else functional._all_finite

    X = np.ones((4000, 300), dtype)
    assert all_finite(X) and all_finite(np.asfortranarray(X)) and all_finite(X[:, ::3])
    big = np.full((4000, 300), np.finfo(dtype).max / 4, dtype)  # finite, but the sum overflows
    assert all_finite(big)
    for where in [(0, 0), (1999, 150), (3999, 299)]:
        for bad in (np.nan, np.inf, -np.inf):
            for A in (X, big):
                B = A.copy()
                B[where] = bad
                assert not all_finite(B), (where, bad)
    both = X.copy()
    both[5, 5], both[6, 6] = np.inf, -np.inf  # cancel in the sum to NaN: still found
    assert not all_finite(both)
    # Strided and byte-swapped arrays take NumPy's route (the sum, then blocks of rows when
    # it overflows) in both; contiguous ones the C++ scan in the kernels': both find it.
    B = big.copy()
    B[3999, 297] = np.nan
    assert all_finite(big[:, ::3]) and not all_finite(B[:, ::3])
    swapped = X[:50].astype(X.dtype.newbyteorder())
    assert all_finite(swapped)
    swapped[7, 7] = np.inf
    assert not all_finite(swapped)
    assert all_finite(np.float32(3.0)) and not all_finite(np.float64(np.nan))
    assert all_finite(np.zeros((0, 3), dtype))
    # The check allocates far less than the array (np.isfinite(X) would take X.size bytes),
    # even when the sum overflows and the rows are checked block by block.
    tracemalloc.start()
    try:
        assert all_finite(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < big.size // 3, peak
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        nnfast.predict(np.where(np.arange(12).reshape(4, 3) == 11, np.nan, 1.0),
                       *nnfast.init_params([3, 2], random_state=0))


# ---------------------------------------------------------------------------------------------
# Integer hyper-parameters of any size (scikit-learn's constraints allow any positive int)
# ---------------------------------------------------------------------------------------------

_HUGE_FIT = r"""
import resource, sys, warnings
import numpy as np
from nnfast import MLPClassifier, MLPRegressor
# Address space capped far below the 74.5 GiB that a curve of max_iter=10**10 floats takes:
# an array sized by max_iter fails even though untouched pages would cost no memory.
cap = 3 << 30
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 5, float)
y = np.array([0, 1, 1, 0] * 5)
warnings.simplefilter("ignore")  # the max_iter=30 cases end with a ConvergenceWarning
for kw in (dict(max_iter=10**10), dict(max_iter=2**63), dict(max_iter=10**30),
           dict(n_iter_no_change=2**63), dict(n_iter_no_change=10**30, max_iter=30),
           dict(early_stopping=True, n_iter_no_change=2**63, max_iter=30, tol=0.0),
           dict(solver="lbfgs", max_iter=2**63, max_fun=2**63), dict(solver="sgd", max_iter=2**63),
           dict(n_jobs=2**31), dict(n_jobs=2**63), dict(n_jobs=-2**31), dict(batch_size=2**63)):
    for Est in (MLPClassifier, MLPRegressor):
        est = Est(**dict(dict(hidden_layer_sizes=(3,), random_state=0, tol=0.1), **kw))
        est.fit(X, y)
        curve = getattr(est, "loss_curve_", None)  # L-BFGS keeps none
        assert curve is None or len(curve) == est.n_iter_, (kw, len(curve), est.n_iter_)
        assert 1 <= est.n_iter_ <= 200, (kw, est.n_iter_)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_huge_integer_hyper_parameters_fit_in_small_memory():
    """max_iter=10**10 once preallocated a 74.5 GiB loss curve; 2**63 (past int64) and
    n_jobs=2**31 (past a C int) raised TypeErrors from the binding. Each now fits as
    scikit-learn does, converging in a few epochs, in a process whose address space is
    capped at 3 GiB and whose peak resident memory stays under 1 GiB."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _HUGE_FIT], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    peak_kib = int(proc.stdout.split()[-1])
    assert peak_kib < 1 << 20, f"peak resident memory {peak_kib / 1024:.0f} MiB"
