"""Each C++ kernel (through nnfast.functional) against its NumPy reference twin, on seeded
random inputs over awkward sizes in both dtypes."""
import numpy as np
import pytest
from conftest import RTOL, assert_close, rerun_under_isa
from hypothesis import given, settings
from hypothesis import strategies as st

import nnfast
import nnfast.reference as ref
from nnfast import _core

# 1, primes, around the microkernel tiles (4, 8) and 63/64/65, wider than a K block (256).
SIZES = [1, 2, 3, 5, 7, 8, 9, 13, 63, 64, 65, 257]
HIDDEN = ["identity", "logistic", "tanh", "relu", "leaky_relu"]
HEADS = ["identity", "logistic", "softmax", "exp"]


def rand(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


# ---------------------------------------------------------------------------
# The matrix product, every transpose and layout the network uses
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (1, 7, 1), (5, 1, 3), (63, 64, 65), (64, 65, 63),
                                   (65, 63, 64), (13, 257, 9), (130, 300, 2050), (1, 513, 17)])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_matmul_matches_numpy(m, k, n, trans_a, trans_b, dtype):
    rng = np.random.default_rng(m * 1000 + k + n)
    A = rand(rng, (k, m) if trans_a else (m, k), dtype)
    B = rand(rng, (n, k) if trans_b else (k, n), dtype)
    expected = ref.matmul(A, B, trans_a, trans_b)
    # Cancellation makes entries small; their error is bounded by the size of the terms.
    scale = float(np.abs(A).max() * np.abs(B).max() * np.sqrt(k))
    assert_close(nnfast.matmul(A, B, trans_a, trans_b), expected, dtype, scale=scale)


@pytest.mark.parametrize("layout", ["fortran", "row_slice", "col_slice", "transposed_view", "negative"])
def test_matmul_reads_any_layout(layout, dtype):
    rng = np.random.default_rng(1)
    base = rand(rng, (40, 70), dtype)
    A = {"fortran": np.asfortranarray(base[:, :33]), "row_slice": base[3:30, 5:38],
         "col_slice": base[:27, ::2][:, :33], "transposed_view": base.T[:33, :27].T,
         "negative": base[::-1, :33][:27]}[layout]
    B = rand(rng, (A.shape[1], 19), dtype)
    expected = ref.matmul(np.ascontiguousarray(A), B)
    before = A.copy()
    assert_close(nnfast.matmul(A, B), expected, dtype, scale=float(np.abs(expected).max()))
    np.testing.assert_array_equal(A, before)


def test_matmul_empty_dimensions(dtype):
    A = np.zeros((3, 0), dtype)
    B = np.zeros((0, 4), dtype)
    np.testing.assert_array_equal(nnfast.matmul(A, B), np.zeros((3, 4), dtype))
    assert nnfast.matmul(np.zeros((0, 5), dtype), np.ones((5, 2), dtype)).shape == (0, 2)


@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (False, True), (True, False)])
@pytest.mark.parametrize("m,k,n", [(37, 300, 23), (37, 300, 10), (50, 400, 16), (300, 70, 1),
                                   (37, 300, 40), (20, 64, 40), (11, 200, 23), (1, 500, 40),
                                   (45, 120, 7), (70, 90, 11),
                                   (9, 1000, 33), (300, 600, 40), (200, 1100, 10)])
def test_blocked_gemm_matches_naive_oracle(trans_a, trans_b, m, k, n, dtype):
    """The blocked kernels against the triple loop kept as oracle in csrc/gemm, accumulating
    into C. On AVX-512 and AVX2 the first ten shapes (without trans_b) take the unpacked
    kernel for small products, in full and partial tiles of one, two and (float64 on
    AVX-512) three vectors (each a specialisation of gemm/sup.h's tile; rows 16-19, 8-10 and
    the single row in the shorter tiles of a short last panel), the rest the packed one; at
    most 16 columns wide (AVX-512), the narrow tile. On AVX2, with trans_a and n at most 12
    and not a whole number of vectors (10, 1, 7, 11), the column kernel (sup_cols: groups of
    up to 6 columns; blocks of rows whole, partial, and with an empty second vector at
    m = 37 in float32 and m = 300 in float64). .ci/sanitize runs this file under every ISA
    the CPU has."""
    rng = np.random.default_rng(7)
    A = rand(rng, (k, m) if trans_a else (m, k), dtype)
    B = rand(rng, (n, k) if trans_b else (k, n), dtype)
    C0 = rand(rng, (m, n), dtype)
    blocked, naive = C0.copy(), C0.copy()
    _core.gemm(blocked, A, B, trans_a, trans_b, True)
    _core.gemm(naive, A, B, trans_a, trans_b, True, True)
    scale = float(np.abs(A).max() * np.abs(B).max() * np.sqrt(k))
    assert_close(blocked, naive, dtype, scale=scale)
    assert_close(blocked, C0 + ref.matmul(A, B, trans_a, trans_b), dtype, scale=scale)


@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (False, True), (True, False)])
@pytest.mark.parametrize("m,k,n", [(260, 700, 300), (130, 300, 2050), (1030, 520, 70),
                                   (300, 200, 10)])
def test_blocked_gemm_is_bitwise_identical_at_any_thread_count(trans_a, trans_b, m, k, n, dtype):
    """Each thread multiplies its own block of C, and the K blocks depend on K alone, so the
    grid the threads form (here 1, 2, 3, 7 and 16 of them) never changes a bit of C."""
    rng = np.random.default_rng(11)
    A = rand(rng, (k, m) if trans_a else (m, k), dtype)
    B = rand(rng, (n, k) if trans_b else (k, n), dtype)
    before = _core.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3, 7, 16):
            _core.set_num_threads(threads)
            results.append(nnfast.matmul(A, B, trans_a, trans_b))
    finally:
        _core.set_num_threads(before)
    for C in results[1:]:
        np.testing.assert_array_equal(C, results[0])


@pytest.mark.parametrize("shape", [(64, 1, 64), (13, 1, 37), (64, 64, 1), (3, 1, 1), (40, 7, 9)])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (False, True), (True, False)])
def test_tiny_gemm_paths_match_naive_oracle(shape, trans_a, trans_b, dtype):
    """Products below the packing threshold take the direct loops of csrc/gemm/tiny.h (one
    unit output, an outer product, a vectorised dot product when the vector is contiguous);
    each against the triple loop."""
    rng = np.random.default_rng(11)
    m, n, k = shape
    A = rand(rng, (k, m) if trans_a else (m, k), dtype)
    B = rand(rng, (n, k) if trans_b else (k, n), dtype)
    for accumulate in (False, True):
        C = rand(rng, (m, n), dtype)
        want = C.copy()
        _core.gemm(want, A, B, trans_a, trans_b, accumulate, True)
        _core.gemm(C, A, B, trans_a, trans_b, accumulate)
        scale = float(np.abs(A).max() * np.abs(B).max() * np.sqrt(k) + np.abs(want).max())
        assert_close(C, want, dtype, scale=scale)


def _matvec_in_tiny_order(A, b, c0):
    """tiny.h's A (m x k) · b for a contiguous b, element by element in NumPy: 16 partial
    sums (p = l, l + 16, ...), then halves added (l and l + 8, those by fours, by twos),
    then added to c0; every operation rounded in A's dtype."""
    m, k = A.shape
    out = np.empty(m, A.dtype)
    for i in range(m):
        part = np.zeros(16, A.dtype)
        for p0 in range(0, k, 16):
            prod = A[i, p0:p0 + 16] * b[p0:p0 + 16]
            part[:prod.size] = part[:prod.size] + prod
        h = part
        while h.size > 1:
            h = h[:h.size // 2] + h[h.size // 2:]
        out[i] = c0[i] + h[0]
    return out


def _at_vector_in_tiny_order(A, b, c0):
    """tiny.h's Aᵀ (A is k x m) · b into a contiguous C: C(i) + ((a0 b0 + a1 b1) + (a2 b2 +
    a3 b3)) for each group of four rows, then the rows left one at a time."""
    k = A.shape[0]
    c = c0.copy()
    k4 = k - k % 4
    for p in range(0, k4, 4):
        c = c + ((A[p] * b[p] + A[p + 1] * b[p + 1]) + (A[p + 2] * b[p + 2] + A[p + 3] * b[p + 3]))
    for p in range(k4, k):
        c = c + A[p] * b[p]
    return c


@pytest.mark.parametrize("m,k", [(64, 64), (100, 100), (45, 37), (3, 5), (33, 16), (130, 2)])
def test_tiny_one_column_products_sum_in_their_documented_order(m, k, dtype):
    """The one-unit output layer's two products (A · w forward, Aᵀ · dZ for dW) hold their
    partial sums in vectors; each C(i) must still be the sum in tiny.h's fixed order, to the
    bit, against that order written out in NumPy (a partial sum's -0 included: C = +0 + s
    without accumulate)."""
    rng = np.random.default_rng(m * 131 + k)
    A = rand(rng, (m, k), dtype)
    A[0, : min(k, 3)] = -0.0
    w = rand(rng, (k, 1), dtype)
    At = rand(rng, (k, m), dtype)
    dz = rand(rng, (k, 1), dtype)
    for accumulate in (False, True):
        c0 = rand(rng, (m, 1), dtype)
        base = c0[:, 0] if accumulate else np.zeros(m, dtype)
        C = c0.copy()
        _core.gemm(C, A, w, False, False, accumulate)
        np.testing.assert_array_equal(C[:, 0], _matvec_in_tiny_order(A, w[:, 0], base))
        C = c0.copy()
        _core.gemm(C, At, dz, True, False, accumulate)
        np.testing.assert_array_equal(C[:, 0], _at_vector_in_tiny_order(At, dz[:, 0], base))


# ---------------------------------------------------------------------------
# Activations, softmax, the fused output losses
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("shape", [(1,), (7,), (1, 1), (3, 65), (64, 13), (2, 3, 5)])
def test_activation_forward_and_backward(activation, shape, dtype):
    rng = np.random.default_rng(len(shape) * 31 + shape[-1])
    Z = rand(rng, shape, dtype, scale=3.0)
    A = ref.activation_forward(Z, activation)
    assert_close(nnfast.activation_forward(Z, activation), A, dtype)
    dA = rand(rng, shape, dtype)
    assert_close(nnfast.activation_backward(dA, A, activation),
                 ref.activation_backward(dA, A, activation), dtype)
    assert_close(nnfast.activation_derivative(A, activation),
                 ref.activation_derivative(A, activation), dtype)


@pytest.mark.parametrize("fn", ["identity", "sigmoid", "tanh", "relu", "leaky_relu"])
def test_named_activations(fn, dtype):
    Z = rand(np.random.default_rng(3), (9, 11), dtype, scale=4.0)
    assert_close(getattr(nnfast, fn)(Z), getattr(ref, fn)(Z), dtype)


def test_leaky_relu_slope(dtype):
    Z = rand(np.random.default_rng(4), (5, 6), dtype)
    assert_close(nnfast.leaky_relu(Z, 0.2), ref.leaky_relu(Z, 0.2), dtype)
    A = ref.leaky_relu(Z, 0.2)
    assert_close(nnfast.activation_derivative(A, "leaky_relu", 0.2),
                 ref.activation_derivative(A, "leaky_relu", 0.2), dtype)


def test_sigmoid_saturates_without_overflow(dtype):
    Z = np.array([-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4], dtype)
    with np.errstate(all="raise"):
        got = nnfast.sigmoid(Z)
    assert np.all(np.isfinite(got))
    assert got[0] == 0 and got[-1] == 1 and got[3] == 0.5
    assert_close(got, ref.sigmoid(Z), dtype)


# ---------------------------------------------------------------------------
# NaN and infinity flow through every activation as through the reference
# ---------------------------------------------------------------------------

def assert_same_nonfinite(got, want, dtype, scale=None):
    """The same shape and dtype, NaN exactly where the reference has NaN, the same infinities,
    and the finite values within the dtype's tolerance, absolute where they are below
    `scale` (elementwise: dA for a backward pass, whose g'(A) = 1 - a² or a(1 - a) cancels
    near saturation, so its error is |dA| times an ulp of 1, not relative to the result)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    finite = np.isfinite(want)
    rtol = RTOL[np.dtype(dtype).type]
    atol = rtol * (1.0 if scale is None else np.abs(np.asarray(scale, np.float64)[finite]))
    assert np.all(np.abs(got[finite] - want[finite]) <= atol + rtol * np.abs(want[finite])), (
        got, want)


SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 1e-30, -1e30, 3.5]


# Lengths up to 70 reach each ISA's vector body and its masked tail (8 and 16 lanes).
@settings(max_examples=60, deadline=None)
@given(data=st.data(), activation=st.sampled_from(HIDDEN),
       dtype=st.sampled_from([np.float32, np.float64]), n=st.integers(1, 70))
def test_nonfinite_propagates_through_activations(data, activation, dtype, n):
    """NaN in Z gives NaN in g(Z) (ReLU included: the reference's np.maximum keeps it), ±inf
    gives what the reference gives, and backward's dA ∘ g'(A) keeps NaN and inf · 0 = NaN."""
    pick = st.one_of(st.sampled_from(SPECIAL), st.floats(-50, 50, width=32))
    Z = np.array(data.draw(st.lists(pick, min_size=n, max_size=n)), dtype)
    dA = np.array(data.draw(st.lists(pick, min_size=n, max_size=n)), dtype)
    with np.errstate(all="ignore"):
        A = ref.activation_forward(Z, activation)
        assert_same_nonfinite(nnfast.activation_forward(Z, activation), A, dtype)
        assert_same_nonfinite(nnfast.activation_backward(dA, A, activation),
                              ref.activation_backward(dA, A, activation), dtype, scale=dA)
        assert_same_nonfinite(nnfast.activation_derivative(A, activation),
                              ref.activation_derivative(A, activation), dtype)


@pytest.mark.parametrize("fn", ["identity", "sigmoid", "tanh", "relu", "leaky_relu"])
def test_nonfinite_named_activations(fn, dtype):
    Z = np.array([[np.nan, np.inf, -np.inf, -2.0, 0.0, 2.0] * 11], dtype)
    with np.errstate(all="ignore"):
        assert_same_nonfinite(getattr(nnfast, fn)(Z), getattr(ref, fn)(Z), dtype)
    assert np.isnan(getattr(nnfast, fn)(np.array([np.nan], dtype)))[0]


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("predict", [False, True], ids=["forward", "predict"])
def test_nonfinite_from_overflow_in_a_network(activation, predict, dtype):
    """Finite inputs whose first layer overflows to ±inf, so that the second layer's product
    is inf - inf = NaN (in any order of summation): the hidden activation fused into the
    product's epilogue must treat it as the reference does (ReLU keeps the NaN)."""
    big = np.finfo(dtype).max / 2
    X = np.array([[big], [-big], [1.0]] * 7, dtype)
    Ws = [np.array([[4.0, 4.0, 0.5]], dtype),
          np.array([[1.0, 1.0], [-1.0, -1.0], [0.5, 0.0]], dtype),
          np.array([[1.0], [-2.0]], dtype)]
    bs = [np.zeros(3, dtype), np.array([0.25, -0.25], dtype), np.array([0.5], dtype)]
    with np.errstate(all="ignore"):
        # The reference's layers refuse a non-finite A_prev, so its equations layer by layer.
        want = [X]
        for l, (W, b) in enumerate(zip(Ws, bs)):
            Z = want[-1] @ W + b
            want.append(Z if l == len(Ws) - 1 else ref.activation_forward(Z, activation))
        want = want[1:]
        if predict:
            got, want = [nnfast.predict(X, Ws, bs, activation, "identity")], want[-1:]
        else:
            got = nnfast.forward(X, Ws, bs, activation, "identity")[1:]
    if activation in ("identity", "relu", "leaky_relu"):
        assert np.isnan(want[-1]).any()
    for g, w in zip(got, want):
        assert_same_nonfinite(g, w, dtype)


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
def test_nonfinite_under_every_isa(isa):
    """The element-wise loops are chosen per ISA at import: the NaN / inf tests again under
    NNFAST_GEMM_ISA=isa, in a subprocess."""
    rerun_under_isa(__file__, isa, "nonfinite and not every_isa")


@pytest.mark.parametrize("shape", [(5,), (1, 1), (1, 10), (64, 3), (7, 65)])
def test_softmax(shape, dtype):
    Z = rand(np.random.default_rng(shape[-1]), shape, dtype, scale=5.0)
    assert_close(nnfast.softmax(Z), ref.softmax(Z), dtype)


def test_softmax_lecture_example():
    # Slide 21: z = [7, 5, 2, -1, 3]; the slide prints four rounded digits.
    a = nnfast.softmax(np.array([7.0, 5.0, 2.0, -1.0, 3.0]))
    np.testing.assert_allclose(a, [0.8615, 0.1165, 0.0058, 0.0003, 0.0157], atol=2e-4)
    assert a.sum() == pytest.approx(1.0, abs=1e-15)


def test_softmax_large_logits(dtype):
    Z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype)
    got = nnfast.softmax(Z)
    assert np.all(np.isfinite(got))
    assert_close(got, ref.softmax(Z), dtype)


def _targets(rng, head, m, k, dtype):
    if head == "softmax":
        return np.eye(k, dtype=dtype)[rng.integers(0, k, m)]
    if head == "logistic":
        return rng.integers(0, 2, (m, k)).astype(dtype)
    if head == "exp":  # Poisson counts, zeros included
        return rng.poisson(2.0, (m, k)).astype(dtype)
    return rand(rng, (m, k), dtype)


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("m,k", [(1, 1), (1, 2), (3, 1), (63, 10), (64, 3), (65, 7), (300, 2)])
def test_output_loss(head, m, k, dtype):
    rng = np.random.default_rng(m * 7 + k)
    Z = rand(rng, (m, k), dtype, scale=3.0)
    Y = _targets(rng, head, m, k, dtype)
    J, A, dZ = nnfast.output_loss(Z, Y, head)
    J_ref, A_ref, dZ_ref = ref.output_loss(Z, Y, head)
    assert J == pytest.approx(J_ref, rel=10 * RTOL[dtype])
    assert_close(A, A_ref, dtype)
    assert_close(dZ, dZ_ref, dtype)



@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("m,k", [(1, 1), (7, 3), (130, 10)])
def test_output_loss_with_sample_weights(head, m, k, dtype):
    rng = np.random.default_rng(m + k)
    Z = rand(rng, (m, k), dtype, scale=2.0)
    Y = _targets(rng, head, m, k, dtype)
    w = rng.uniform(0.1, 3, m)
    if m > 1:
        w[0] = 0.0  # a zero weight takes the row out of J and dZ
    got, want = nnfast.output_loss(Z, Y, head, w), ref.output_loss(Z, Y, head, w)
    assert got[0] == pytest.approx(want[0], rel=10 * RTOL[dtype])
    assert_close(got[1], want[1], dtype)
    assert_close(got[2], want[2], dtype)
    if m > 1:
        assert np.all(got[2][0] == 0)


@pytest.mark.parametrize("head", ["logistic", "softmax"])
def test_output_loss_extreme_logits(head, dtype):
    Z = np.array([[1e4, -1e4], [-1e4, 1e4], [0.0, 0.0]], dtype)
    Y = np.array([[0, 1], [0, 1], [1, 0]], dtype)
    J, A, dZ = nnfast.output_loss(Z, Y, head)
    assert np.isfinite(J) and np.all(np.isfinite(A)) and np.all(np.isfinite(dZ))
    J_ref, _, _ = ref.output_loss(Z, Y, head)
    assert J == pytest.approx(J_ref, rel=1e-6)


# ---------------------------------------------------------------------------
# One layer
# ---------------------------------------------------------------------------

# (2, 5, 41): fewer rows than vectors in a row, and a tail (the AVX2 bias + tanh loop's
# row-by-row order).
LAYER_SHAPES = [(1, 1, 1), (1, 5, 3), (7, 1, 4), (63, 64, 65), (65, 13, 1), (200, 64, 100),
                (3, 257, 9), (2, 5, 41)]


@pytest.mark.parametrize("activation", HIDDEN + ["softmax"])
@pytest.mark.parametrize("m,n_in,n_out", LAYER_SHAPES)
def test_linear_forward(activation, m, n_in, n_out, dtype):
    rng = np.random.default_rng(m + n_in + n_out)
    A_prev, W, b = rand(rng, (m, n_in), dtype), rand(rng, (n_in, n_out), dtype), rand(rng, n_out, dtype)
    assert_close(nnfast.linear_forward(A_prev, W, b, activation),
                 ref.linear_forward(A_prev, W, b, activation), dtype)


@pytest.mark.parametrize("m,n_in,n_out", LAYER_SHAPES)
def test_linear_backward(m, n_in, n_out, dtype):
    rng = np.random.default_rng(m * n_in + n_out)
    dZ, A_prev, W = rand(rng, (m, n_out), dtype), rand(rng, (m, n_in), dtype), rand(rng, (n_in, n_out), dtype)
    for got, want, inner in zip(nnfast.linear_backward(dZ, A_prev, W),
                                ref.linear_backward(dZ, A_prev, W), (n_out, m, m)):
        assert_close(got, want, dtype, scale=float(np.sqrt(inner) * 4))


def test_sgd_step(dtype):
    rng = np.random.default_rng(5)
    Ws = [rand(rng, (4, 3), dtype), rand(rng, (3, 1), dtype)]
    bs = [rand(rng, 3, dtype), rand(rng, 1, dtype)]
    dWs = [rand(rng, W.shape, dtype) for W in Ws]
    dbs = [rand(rng, b.shape, dtype) for b in bs]
    got, want = nnfast.sgd_step(Ws, bs, dWs, dbs, 0.3), ref.sgd_step(Ws, bs, dWs, dbs, 0.3)
    for g, w in zip(got[0] + got[1], want[0] + want[1]):
        assert_close(g, w, dtype)


@pytest.mark.parametrize("threaded", [True, False])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_all_finite_scan_matches_numpy(threads, threaded, dtype):
    """The input check's scan (_core.all_finite: the largest exponent field over the array,
    in chunks across threads, or on the calling thread) against np.isfinite, for NaN / ±inf
    at the ends of a chunk (4096 elements) and of the array, next to the largest finite
    values, subnormals and -0, on arrays below and above the threaded size."""
    info = np.finfo(dtype)
    before = _core.get_num_threads()
    _core.set_num_threads(threads)
    try:
        for n in (1, 15, 16, 17, 4095, 4097, 3 * 32768 + 5):
            x = np.random.default_rng(n).standard_normal(n).astype(dtype)
            x[:: max(1, n // 7)] = info.max
            x[1::5] = -info.smallest_subnormal
            x[2::9] = -0.0
            assert _core.all_finite(x, threaded) is True
            for bad in (np.nan, -np.nan, np.inf, -np.inf):
                for pos in sorted({0, n - 1, min(n - 1, 4095), min(n - 1, 4096), n // 2}):
                    y = x.copy()
                    y[pos] = bad
                    assert _core.all_finite(y, threaded) is bool(np.isfinite(y).all()) is False, (n, bad, pos)
        M = np.ones((70, 3), dtype)  # any C-contiguous shape: every element is scanned
        M[69, 2] = np.inf
        assert _core.all_finite(M, threaded) is False
    finally:
        _core.set_num_threads(before)


# ---------------------------------------------------------------------------
# The network: forward, predict, backprop
# ---------------------------------------------------------------------------

NETWORKS = [[1, 1], [2, 3, 1], [64, 100, 10], [13, 65, 63, 7], [5, 1, 1, 4]]


@pytest.mark.parametrize("sizes", NETWORKS, ids=str)
@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("head", HEADS)
def test_forward_and_gradients(sizes, activation, head, dtype):
    rng = np.random.default_rng(sum(sizes))
    Ws, bs = ref.init_params(sizes, activation, random_state=0, dtype=dtype)
    m = 37
    X = rand(rng, (m, sizes[0]), dtype)
    Y = _targets(rng, head, m, sizes[-1], dtype)
    for got, want in zip(nnfast.forward(X, Ws, bs, activation, head),
                         ref.forward(X, Ws, bs, activation, head)):
        assert_close(got, want, dtype)
    assert_close(nnfast.predict(X, Ws, bs, activation, head),
                 ref.predict(X, Ws, bs, activation, head), dtype)
    sw = rng.uniform(0.5, 2.0, m)
    for weights in (None, sw):
        J, dWs, dbs = nnfast.loss_and_gradients(X, Y, Ws, bs, activation, head, alpha=0.1,
                                                sample_weight=weights)
        J_ref, dWs_ref, dbs_ref = ref.loss_and_gradients(X, Y, Ws, bs, activation, head,
                                                         alpha=0.1, sample_weight=weights)
        assert J == pytest.approx(J_ref, rel=10 * RTOL[dtype])
        if dtype == np.float64:
            for g, w in zip(dWs + dbs, dWs_ref + dbs_ref):
                assert_close(g, w, dtype)
            continue
        # float32 gradients of saturated or width-1 layers lose digits to cancellation
        # (1 - a for a near 1), in NumPy as in the kernels: require the kernels to be as
        # close to the float64 truth as the float32 reference is, or within 1e-5.
        up = lambda arrays: [a.astype(np.float64) for a in arrays]  # noqa: E731
        _, dWs64, dbs64 = ref.loss_and_gradients(X.astype(np.float64), Y.astype(np.float64),
                                                 up(Ws), up(bs), activation, head, alpha=0.1,
                                                 sample_weight=weights)
        for g, w32, w64 in zip(dWs + dbs, dWs_ref + dbs_ref, dWs64 + dbs64):
            assert g.dtype == np.float32
            ref_err = np.abs(w32.astype(np.float64) - w64)
            scale = max(float(np.abs(w64).max()), 1e-30)
            np.testing.assert_array_less(np.abs(g - w64), 4 * ref_err + 1e-5 * scale + 1e-30)


def test_predict_in_row_blocks(dtype):
    """predict works through the rows in blocks; a batch larger than one block must match."""
    rng = np.random.default_rng(11)
    Ws, bs = ref.init_params([6, 9, 3], "tanh", random_state=1, dtype=dtype)
    X = rand(rng, (2500, 6), dtype)
    assert_close(nnfast.predict(X, Ws, bs, "tanh", "softmax"),
                 ref.predict(X, Ws, bs, "tanh", "softmax"), dtype)
