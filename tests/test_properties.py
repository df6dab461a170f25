"""Property-based tests (hypothesis): every kernel against its NumPy reference twin, and the
matrix product against the C++ naive triple loop and a float64 einsum, on random shapes
(0 and 1 included where they mean something), memory layouts (C, Fortran, padded slices,
strided, negative strides, misaligned), transposes, both dtypes and every hidden-activation
x output-head combination.

Hypothesis draws the structure (shapes, layouts, flags, a seed); NumPy draws the numbers
from that seed, so big arrays stay cheap and a failure shrinks to a small shape.

The ISA of the GEMM microkernel and of the vectorised element-wise loops is chosen once at
import (NNFAST_GEMM_ISA forces one), so the tests in this process cover one ISA;
test_properties_under_every_isa reruns them in one subprocess per other ISA the CPU has.
.ci/sanitize sets NNFAST_GEMM_ISA itself for each ISA, and then that sweep skips.

NNFAST_HYPOTHESIS_EXAMPLES (default 50) sets the examples per test.
"""
import os
import re

import numpy as np
import pytest
from conftest import RTOL, assert_close, rerun_under_isa
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

import nnfast
import nnfast.reference as ref
from nnfast import _core

EXAMPLES = int(os.environ.get("NNFAST_HYPOTHESIS_EXAMPLES", "50"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

DTYPES = st.sampled_from([np.float32, np.float64])
HIDDEN = ["identity", "logistic", "tanh", "relu", "leaky_relu"]
HEADS = ["identity", "logistic", "softmax", "exp"]
EPS = {np.float32: float(np.finfo(np.float32).eps), np.float64: float(np.finfo(np.float64).eps)}

# Layouts the C++ product reads in place (one unit stride, positive leading dimension) and
# those that the public functions must copy first.
IN_PLACE_LAYOUTS = ["C", "F", "padded", "padded_F"]
ALL_LAYOUTS = IN_PLACE_LAYOUTS + ["strided", "negative", "negative_rows", "misaligned"]


def relayout(x, layout, pad=3):
    """An array equal to x (2-D) laid out in memory as `layout`."""
    r, c = x.shape
    if layout == "C":
        out = np.ascontiguousarray(x)
    elif layout == "F":
        out = np.asfortranarray(x)
    elif layout == "padded":  # rows of a wider array: unit inner stride, longer row stride
        buf = np.full((r, c + pad), np.nan, x.dtype)
        buf[:, :c] = x
        out = buf[:, :c]
    elif layout == "padded_F":  # the Fortran twin: a slice of rows of a taller F array
        buf = np.full((r + pad, c), np.nan, x.dtype, order="F")
        buf[:r] = x
        out = buf[:r]
    elif layout == "strided":  # every other column: no unit stride at all
        buf = np.full((r, 2 * c), np.nan, x.dtype)
        buf[:, ::2] = x
        out = buf[:, ::2]
    elif layout == "negative":  # both strides negative
        out = np.ascontiguousarray(x[::-1, ::-1])[::-1, ::-1]
    elif layout == "negative_rows":
        out = np.ascontiguousarray(x[::-1])[::-1]
    elif layout == "misaligned":  # C-contiguous, but the data pointer is off by one byte
        raw = np.zeros(x.nbytes + x.itemsize + 1, np.uint8)
        out = raw[1:1 + x.nbytes].view(x.dtype).reshape(x.shape)
        out[...] = x
    else:
        raise AssertionError(layout)
    np.testing.assert_array_equal(out, x)
    return out


def relayout_any(x, layout):
    """relayout for arrays of any ndim (1-D and N-D go through a 2-D view where possible)."""
    if x.ndim == 2:
        return relayout(x, layout)
    if layout == "misaligned":
        raw = np.zeros(x.nbytes + x.itemsize + 1, np.uint8)
        out = raw[1:1 + x.nbytes].view(x.dtype).reshape(x.shape)
        out[...] = x
        return out
    if layout in ("negative", "negative_rows") and x.ndim >= 1:
        idx = (slice(None, None, -1),) * x.ndim
        return np.ascontiguousarray(x[idx])[idx]
    if layout == "strided" and x.ndim >= 1:
        buf = np.full(x.shape[:-1] + (2 * x.shape[-1],), np.nan, x.dtype)
        buf[..., ::2] = x
        return buf[..., ::2]
    if layout == "F":
        return np.asfortranarray(x)
    return np.ascontiguousarray(x)


# ---------------------------------------------------------------------------------------------
# Sizes: tiny (the unpacked path), medium (blocked, edge tiles), and one dimension big enough
# to cross a block size (KC = 256, MC up to 256, NC from 512 to 2048) with the others small.
# ---------------------------------------------------------------------------------------------
TILE_EDGES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65]


@st.composite
def gemm_shapes(draw):
    regime = draw(st.sampled_from(["tiny", "medium", "big_m", "big_n", "big_k"]))
    small = st.one_of(st.integers(0, 9), st.sampled_from(TILE_EDGES))
    if regime == "tiny":
        return draw(st.integers(0, 9)), draw(st.integers(0, 9)), draw(st.integers(0, 9))
    if regime == "medium":
        return tuple(draw(st.one_of(st.integers(1, 80), st.sampled_from(TILE_EDGES))) for _ in range(3))
    big = draw(st.integers(200, 2100))
    m, n, k = draw(small), draw(small), draw(small)
    return {"big_m": (big, n, k), "big_n": (m, big, k), "big_k": (m, n, big)}[regime]


def exact_product(A, B, ta, tb):
    """op(A) @ op(B) in float64, and |op(A)| @ |op(B)| (the scale of each entry's rounding)."""
    a = (A.T if ta else A).astype(np.float64)
    b = (B.T if tb else B).astype(np.float64)
    return np.einsum("ik,kj->ij", a, b), np.einsum("ik,kj->ij", np.abs(a), np.abs(b))


def assert_product(C, exact, magnitude, K, dtype, C0=None):
    """The standard bound for a dot product of length K: |C - exact| <= gamma * (|A||B| + |C0|)
    with gamma ~ (K + 2) eps (twice that, for the float64 reference's own rounding)."""
    bound = 2 * (K + 2) * EPS[dtype] * (magnitude + (np.abs(C0).astype(np.float64) if C0 is not None else 0))
    err = np.abs(C.astype(np.float64) - exact)
    bad = err > bound + np.finfo(np.float64).tiny
    assert not bad.any(), (f"{bad.sum()} entries out of bound; worst error {err.max():g}, "
                           f"bound there {bound.flat[np.argmax(err - bound)]:g}")


def guarded_output(shape, dtype, rng, guard=64):
    """C, C-contiguous, inside a larger buffer whose guard zones hold a sentinel: a write past
    either end of C shows up as a changed sentinel."""
    n = int(np.prod(shape))
    buf = np.full(n + 2 * guard, 12345.0, dtype)
    C = buf[guard:guard + n].reshape(shape)
    C[...] = rng.standard_normal(shape).astype(dtype)
    return buf, C, guard


def check_guards(buf, guard):
    assert np.all(buf[:guard] == 12345.0) and np.all(buf[-guard:] == 12345.0), "write outside C"


# ---------------------------------------------------------------------------------------------
# The matrix product
# ---------------------------------------------------------------------------------------------

@PROPERTY
@given(shape=gemm_shapes(), dtype=DTYPES, ta=st.booleans(), tb=st.booleans(),
       accumulate=st.booleans(), layout_a=st.sampled_from(ALL_LAYOUTS),
       layout_b=st.sampled_from(ALL_LAYOUTS), seed=st.integers(0, 2**32 - 1))
def test_gemm_blocked_and_naive_match_float64(shape, dtype, ta, tb, accumulate, layout_a,
                                               layout_b, seed):
    """_core.gemm (blocked, the active ISA) and _core.gemm(naive=True) (the triple loop) both
    meet the dot-product error bound against a float64 einsum, write nothing outside C, and
    modify neither operand; a layout without a unit stride is refused with a ValueError.
    Misaligned data must be refused too (or read correctly, without undefined behaviour:
    the sanitizer job runs this test)."""
    M, N, K = shape
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
    B = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
    A_l, B_l = relayout(A, layout_a), relayout(B, layout_b)
    exact, magnitude = exact_product(A, B, ta, tb)
    for naive in (False, True):
        buf, C, guard = guarded_output((M, N), dtype, rng)
        C0 = C.copy()
        try:
            _core.gemm(C, A_l, B_l, ta, tb, accumulate, naive)
        except ValueError as e:
            # Only layouts the product cannot read in place may be refused (no unit stride,
            # or misaligned data), with a message that says why.
            assert layout_a not in IN_PLACE_LAYOUTS or layout_b not in IN_PLACE_LAYOUTS, e
            assert re.search(r"unit stride|align", str(e)), e
            np.testing.assert_array_equal(C, C0)
            continue
        check_guards(buf, guard)
        if accumulate:
            assert_product(C, exact + C0.astype(np.float64), magnitude, K, dtype, C0)
        else:
            assert_product(C, exact, magnitude, K, dtype)
    np.testing.assert_array_equal(A_l, A)
    np.testing.assert_array_equal(B_l, B)


@PROPERTY
@given(shape=gemm_shapes(), dtype=DTYPES, ta=st.booleans(), tb=st.booleans(),
       layout_a=st.sampled_from(ALL_LAYOUTS), layout_b=st.sampled_from(ALL_LAYOUTS),
       seed=st.integers(0, 2**32 - 1))
def test_gemm_public_matmul_any_layout(shape, dtype, ta, tb, layout_a, layout_b, seed):
    """nnfast.matmul accepts every layout (copying where it must), matches the reference and
    the float64 bound, and leaves its arguments untouched."""
    M, N, K = shape
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
    B = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
    A_l, B_l = relayout(A, layout_a), relayout(B, layout_b)
    C = nnfast.matmul(A_l, B_l, ta, tb)
    assert C.shape == (M, N) and C.dtype == dtype and C.flags.c_contiguous
    exact, magnitude = exact_product(A, B, ta, tb)
    assert_product(C, exact, magnitude, K, dtype)
    assert_product(ref.matmul(A, B, ta, tb), exact, magnitude, K, dtype)
    np.testing.assert_array_equal(A_l, A)
    np.testing.assert_array_equal(B_l, B)


# ---------------------------------------------------------------------------------------------
# Element-wise kernels: activations, softmax, the fused output losses
# ---------------------------------------------------------------------------------------------

@st.composite
def array_shapes(draw, min_dims=1, max_dims=3, min_side=0):
    ndim = draw(st.integers(min_dims, max_dims))
    sides = st.one_of(st.integers(min_side, 6), st.sampled_from([min_side, 1, 63, 64, 65, 257]))
    shape = tuple(draw(sides) for _ in range(ndim))
    if np.prod(shape) > 40000:  # keep each example cheap; one big side is plenty
        shape = tuple(min(s, 8) for s in shape)
    return shape


def values(rng, shape, dtype, scale, specials):
    """Normal values times `scale`, with a sprinkling of exact zeros and, if asked, ±inf and
    huge magnitudes (the activations take non-finite input as the reference does)."""
    Z = (scale * rng.standard_normal(shape)).astype(dtype)
    if Z.size:
        flat = Z.reshape(-1)
        picks = rng.integers(0, flat.size, size=max(1, flat.size // 8))
        choices = [0.0, -0.0] + ([np.inf, -np.inf, 1e30, -1e30] if specials else [])
        flat[picks] = np.asarray(rng.choice(choices, size=picks.size)).astype(dtype)
    return Z


@PROPERTY
@given(shape=array_shapes(), dtype=DTYPES, activation=st.sampled_from(HIDDEN),
       scale=st.sampled_from([1e-3, 1.0, 30.0, 1e4]), specials=st.booleans(),
       slope=st.sampled_from([0.01, 0.2, 1.0, 3.0]), layout=st.sampled_from(ALL_LAYOUTS),
       seed=st.integers(0, 2**32 - 1))
def test_activation_forward_backward_derivative(shape, dtype, activation, scale, specials, slope,
                                                layout, seed):
    rng = np.random.default_rng(seed)
    Z = values(rng, shape, dtype, scale, specials)
    Z_l = relayout_any(Z, layout)
    A_ref = ref.activation_forward(Z, activation, slope)
    with np.errstate(all="ignore"):
        A = nnfast.activation_forward(Z_l, activation, slope)
        assert A.shape == shape and A.dtype == dtype
        assert_close(np.nan_to_num(A), np.nan_to_num(A_ref), dtype)
        np.testing.assert_array_equal(np.isnan(A), np.isnan(A_ref))
        A_fin = np.nan_to_num(A_ref, posinf=0, neginf=0)  # backward takes A from the forward
        dA = values(rng, shape, dtype, 1.0, False)
        dZ = nnfast.activation_backward(relayout_any(dA, layout), relayout_any(A_fin, layout),
                                        activation, slope)
        # g'(a) = 1 - a² (tanh), a (1 - a) (σ) cancels where a saturates: its rounding is that
        # of terms of size 1 (slope for the ReLUs), not of the result (tanh'(a) ~2e-9 at
        # a ~ 1 - 1e-9, where NumPy's 1 - a**2 and a fused 1 - a·a differ by 1e-9 relative).
        unit = max(1.0, slope)
        dA_scale = unit * float(np.abs(dA).max()) if dA.size else 1.0
        assert_close(dZ, ref.activation_backward(dA, A_fin, activation, slope), dtype,
                     scale=dA_scale)
        assert_close(nnfast.activation_derivative(A_fin, activation, slope),
                     ref.activation_derivative(A_fin, activation, slope), dtype, scale=unit)
    np.testing.assert_array_equal(Z_l, Z)


@PROPERTY
@given(m=st.integers(0, 70), k=st.one_of(st.integers(1, 12), st.sampled_from([63, 64, 65, 300])),
       one_d=st.booleans(), dtype=DTYPES, scale=st.sampled_from([1e-3, 1.0, 50.0, 1e4]),
       layout=st.sampled_from(ALL_LAYOUTS), seed=st.integers(0, 2**32 - 1))
def test_softmax(m, k, one_d, dtype, scale, layout, seed):
    rng = np.random.default_rng(seed)
    Z = values(rng, (k,) if one_d else (m, k), dtype, scale, False)
    A = nnfast.softmax(relayout_any(Z, layout))
    assert A.shape == Z.shape and A.dtype == dtype
    assert np.all(np.isfinite(A)) and np.all((A >= 0) & (A <= 1))
    if A.size:
        np.testing.assert_allclose(A.sum(axis=-1), 1, rtol=0, atol=k * 4 * EPS[dtype])
    assert_close(A, ref.softmax(Z), dtype)


def targets(rng, head, m, k, dtype):
    if head == "softmax":  # one-hot or soft labels: non-negative rows summing to 1
        if rng.random() < 0.5:
            return np.eye(k, dtype=dtype)[rng.integers(0, k, m)]
        P = rng.random((m, k))
        return (P / P.sum(axis=1, keepdims=True)).astype(dtype)
    if head == "logistic":
        return (rng.integers(0, 2, (m, k)) if rng.random() < 0.5 else rng.random((m, k))).astype(dtype)
    if head == "exp":
        return rng.poisson(2.0, (m, k)).astype(dtype)
    return (3 * rng.standard_normal((m, k))).astype(dtype)


@PROPERTY
@given(m=st.one_of(st.integers(1, 9), st.sampled_from([63, 64, 65, 129, 1100])),
       k=st.integers(1, 12), dtype=DTYPES, head=st.sampled_from(HEADS),
       scale=st.sampled_from([1e-3, 1.0, 10.0, 1e3]), weighted=st.booleans(),
       layout=st.sampled_from(ALL_LAYOUTS), seed=st.integers(0, 2**32 - 1))
def test_output_loss(m, k, dtype, head, scale, weighted, layout, seed):
    rng = np.random.default_rng(seed)
    if head == "exp":
        scale = min(scale, 10.0)  # e^z of float32 overflows past 88
    Z = values(rng, (m, k), dtype, scale, False)
    Y = targets(rng, head, m, k, dtype)
    w = None
    if weighted:
        w = rng.uniform(0, 3, m)
        w[rng.random(m) < 0.2] = 0.0
        w[0] = max(w[0], 0.5)  # a positive sum
    J, A, dZ = nnfast.output_loss(relayout(Z, layout), relayout(Y, layout), head, w)
    J_ref, A_ref, dZ_ref = ref.output_loss(Z, Y, head, w)
    assert np.isfinite(J) and np.all(np.isfinite(A)) and np.all(np.isfinite(dZ))
    # J is a mean of per-row sums whose terms reach |z| |y|: compare at the terms' scale.
    terms = float(np.abs(Z).max() * max(np.abs(Y).max(), 1) + 1)
    assert abs(J - J_ref) <= 10 * RTOL[dtype] * max(abs(J_ref), terms) * np.sqrt(k)
    assert_close(A, A_ref, dtype)
    # dZ = w_i (A - Y) / Σw cancels where A ≈ Y: an ulp of A (exp rounded differently from
    # NumPy's, say) is then far more than an ulp of dZ. Compare at the scale of its terms.
    weight = (w / w.sum()).max() if weighted else 1.0 / m
    terms = float(np.abs(A_ref).max() + np.abs(Y).max()) * weight
    assert_close(dZ, dZ_ref, dtype, scale=max(terms, float(np.abs(dZ_ref).max())))


# ---------------------------------------------------------------------------------------------
# One layer, the whole network, backprop and training
# ---------------------------------------------------------------------------------------------

@st.composite
def layer_sizes(draw):
    n_layers = draw(st.integers(1, 3))
    width = st.one_of(st.integers(1, 9), st.sampled_from([16, 31, 33, 64, 65, 100]))
    return [draw(width) for _ in range(n_layers + 1)]


@PROPERTY
@given(m=st.one_of(st.integers(1, 9), st.sampled_from([31, 64, 65, 200])),
       n_in=st.one_of(st.integers(1, 9), st.sampled_from([33, 64, 300])),
       n_out=st.one_of(st.integers(1, 9), st.sampled_from([16, 65, 130])),
       dtype=DTYPES, activation=st.sampled_from(HIDDEN + ["softmax", "exp"]),
       layout=st.sampled_from(ALL_LAYOUTS), seed=st.integers(0, 2**32 - 1))
def test_gemm_linear_forward_and_backward(m, n_in, n_out, dtype, activation, layout, seed):
    rng = np.random.default_rng(seed)
    A_prev = rng.standard_normal((m, n_in)).astype(dtype)
    W = (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype)
    A = nnfast.linear_forward(relayout(A_prev, layout), relayout(W, layout), b, activation)
    assert_close(A, ref.linear_forward(A_prev, W, b, activation), dtype,
                 scale=float(np.abs(A_prev).max() * np.abs(W).max() * np.sqrt(n_in) + 1)
                 if activation in ("identity", "relu", "leaky_relu") else None)
    dZ = rng.standard_normal((m, n_out)).astype(dtype)
    got = nnfast.linear_backward(relayout(dZ, layout), relayout(A_prev, layout), relayout(W, layout))
    want = ref.linear_backward(dZ, A_prev, W)
    for g, w, inner in zip(got, want, (n_out, m, m)):
        assert_close(g, w, dtype, scale=4 * float(np.sqrt(inner)))


def network_problem(rng, sizes, head, m, dtype, scale=1.0):
    X = (scale * rng.standard_normal((m, sizes[0]))).astype(dtype)
    Y = targets(rng, head, m, sizes[-1], dtype)
    Ws = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [(0.1 * rng.standard_normal(b)).astype(dtype) for b in sizes[1:]]
    return X, Y, Ws, bs


def assert_close_list(got, want, dtype, factor=10.0, scales=None):
    """Each array at factor x its own size (or the given scale of its terms, if larger)."""
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        size = float(np.abs(w).max()) if w.size else 1.0
        if scales is not None:
            size = max(size, scales[i])
        assert_close(g, w, dtype, scale=factor * size + 1e-3)


@PROPERTY
@given(sizes=layer_sizes(), m=st.one_of(st.integers(1, 9), st.sampled_from([33, 64, 130])),
       dtype=DTYPES, activation=st.sampled_from(HIDDEN), head=st.sampled_from(HEADS),
       alpha=st.sampled_from([0.0, 1e-3, 0.5]), weighted=st.booleans(),
       layout=st.sampled_from(ALL_LAYOUTS), seed=st.integers(0, 2**32 - 1))
def test_gemm_network_forward_predict_gradients(sizes, m, dtype, activation, head, alpha,
                                                weighted, layout, seed):
    rng = np.random.default_rng(seed)
    X, Y, Ws, bs = network_problem(rng, sizes, head, m, dtype)
    X_l, Ws_l = relayout(X, layout), [relayout(W, layout) for W in Ws]
    note(f"sizes={sizes} m={m}")
    got = nnfast.forward(X_l, Ws_l, bs, activation, head)
    want = ref.forward(X, Ws, bs, activation, head)
    assert_close_list(got, want, dtype)
    assert_close(nnfast.predict(X_l, Ws_l, bs, activation, head), want[-1], dtype,
                 scale=10 * float(np.abs(want[-1]).max()) + 1e-3)
    w = rng.uniform(0.2, 2.0, m) if weighted else None
    J, dWs, dbs = nnfast.loss_and_gradients(X_l, relayout(Y, layout), Ws_l, bs, activation, head,
                                            alpha, sample_weight=w)
    J_ref, dWs_ref, dbs_ref = ref.loss_and_gradients(X, Y, Ws, bs, activation, head, alpha,
                                                     sample_weight=w)
    assert J == pytest.approx(J_ref, rel=20 * RTOL[dtype], abs=20 * RTOL[dtype])
    scales = _gradient_term_scales(want, Y, Ws, activation, w)
    assert_close_list(dWs + dbs, dWs_ref + dbs_ref, dtype, scales=scales)
    # backward from the reference's own activations and dZ gives the same gradients.
    _, _, dZ = ref.output_loss(_logits(X, Ws, bs, activation), Y, head, w)
    dWb, dbb = nnfast.backward([relayout(a, layout) for a in want[:-1]], dZ, Ws_l, activation)
    dWb_ref, dbb_ref = ref.backward(want[:-1], dZ, Ws, activation)
    assert_close_list(dWb + dbb, dWb_ref + dbb_ref, dtype, scales=scales)


def _gradient_term_scales(acts, Y, Ws, activation, w):
    """The size of the terms each gradient sums, by backprop of absolute values: a gradient
    that cancels to ~0 (a bias gradient of 1e-5 from terms of 0.1) carries the rounding of
    those terms, e.g. of an exp rounded one ulp away from NumPy's. |dZ| of the output is
    bounded by (|A| + |Y|) times the row's weight; g'(|A|) >= |g'(A)| for every activation."""
    m = Y.shape[0]
    weight = (w / w.sum())[:, None] if w is not None else 1.0 / m
    dZ = ((np.abs(acts[-1]) + np.abs(Y)) * weight).astype(Y.dtype)
    dW, db = ref.backward([np.abs(a) for a in acts[:-1]], dZ, [np.abs(W) for W in Ws], activation)
    return [float(g.max()) if g.size else 0.0 for g in dW + db]


def _logits(X, Ws, bs, activation):
    """Z[L], the output layer's logits, by the reference."""
    A = X
    for l, (W, b) in enumerate(zip(Ws, bs)):
        Z = ref.matmul(A, W) + b
        A = ref.activation_forward(Z, activation) if l < len(Ws) - 1 else Z
    return A


@PROPERTY
@given(sizes=layer_sizes(), m=st.one_of(st.integers(1, 9), st.sampled_from([20, 64, 101])),
       dtype=DTYPES, activation=st.sampled_from(HIDDEN), head=st.sampled_from(HEADS),
       alpha=st.sampled_from([0.0, 1e-3]), weighted=st.booleans(),
       batch=st.one_of(st.integers(1, 12), st.sampled_from([32, 64, 1000])),
       epochs=st.integers(1, 3), order_kind=st.sampled_from(["none", "1d", "2d"]),
       lr=st.sampled_from([0.003, 0.03]), seed=st.integers(0, 2**32 - 1))
def test_gemm_train_matches_reference(sizes, m, dtype, activation, head, alpha, weighted, batch,
                                      epochs, order_kind, lr, seed):
    """A few epochs of nnfast.train against the reference's Python loop, from the same weights
    and batch order (orders may repeat rows and cover a subset or more than m rows)."""
    rng = np.random.default_rng(seed)
    X, Y, Ws, bs = network_problem(rng, sizes, head, m, dtype)
    # Small steps on tame targets: divergence is test_stability's subject, not this one's.
    if head == "exp":
        Y = np.minimum(Y, 4).astype(dtype)
    elif head == "identity":
        Y = (Y / 3).astype(dtype)
    order = None
    if order_kind == "1d":
        order = rng.integers(0, m, rng.integers(1, 2 * m + 1))
    elif order_kind == "2d":
        order = np.stack([rng.permutation(m) for _ in range(epochs)])
    w = rng.uniform(0.2, 2.0, m) if weighted else None
    kw = dict(learning_rate=lr, batch_size=batch, epochs=epochs, activation=activation,
              out_activation=head, alpha=alpha, order=order, sample_weight=w)
    if head == "exp":
        kw["learning_rate"] = lr / 10  # e^z - y: the Poisson gradient grows fast
    try:
        W_r, b_r, curve_r = ref.train(X, Y, Ws, bs, **kw)
    except ValueError as e:  # the reference rejects its own inf/NaN: a diverged run
        assume("NaN or infinity" not in str(e))
        raise
    # A loss that overflowed with weights still finite (1e306 after 3 epochs of a linear
    # 33-33-64 network at lr 0.03) diverged too; nnfast.train stops such a fit with an error.
    assume(np.all(np.isfinite(curve_r)))
    W_k, b_k, curve_k = nnfast.train(X, Y, Ws, bs, **kw)
    rtol = {np.float64: 1e-9, np.float32: 5e-4}[dtype]
    # Along a sensitive trajectory (steps of ~1 through a saturated tanh whose 1 - a² has
    # lost most of its float32 digits), rounding grows from step to step, and two float32
    # runs can end further apart than any fixed tolerance (a 16-1-64 tanh network, lr 0.03:
    # 1.8e-3 apart, while the reference's own float32 run ends 3.8e-4 from its float64 one).
    # So the float32 comparison also allows 10x that drift of the reference, element by
    # element: on a tame problem it is ~1e-7 and the tolerance is rtol's alone.
    drift = [np.zeros(a.shape) for a in [curve_r] + W_r + b_r]
    if dtype == np.float32:
        f64 = [np.asarray(a, np.float64) for a in [X, Y]]
        W_d, b_d, curve_d = ref.train(*f64, [a.astype(np.float64) for a in Ws],
                                      [a.astype(np.float64) for a in bs], **kw)
        drift = [np.abs(np.asarray(a, np.float64) - d)
                 for a, d in zip([curve_r] + W_r + b_r, [curve_d] + W_d + b_d)]
    for i, (g, w_) in enumerate(zip([curve_k] + W_k + b_k, [curve_r] + W_r + b_r)):
        assert i == 0 or g.dtype == dtype
        g64, w64 = np.asarray(g, np.float64), np.asarray(w_, np.float64)
        allowed = rtol + rtol * np.abs(w64) + 10 * drift[i]
        worst = int(np.argmax(np.abs(g64 - w64) - allowed)) if g64.size else 0
        assert np.all(np.abs(g64 - w64) <= allowed), (
            i, g64.ravel()[worst], w64.ravel()[worst], allowed.ravel()[worst])


@PROPERTY
@given(sizes=layer_sizes(), dtype=DTYPES, lr=st.floats(1e-4, 10.0),
       layout=st.sampled_from(ALL_LAYOUTS), seed=st.integers(0, 2**32 - 1))
def test_sgd_step(sizes, dtype, lr, layout, seed):
    rng = np.random.default_rng(seed)
    _, _, Ws, bs = network_problem(rng, sizes, "identity", 1, dtype)
    gW = [rng.standard_normal(W.shape).astype(dtype) for W in Ws]
    gb = [rng.standard_normal(b.shape).astype(dtype) for b in bs]
    got = nnfast.sgd_step([relayout(W, layout) for W in Ws], bs, [relayout(g, layout) for g in gW], gb, lr)
    want = ref.sgd_step(Ws, bs, gW, gb, lr)
    assert_close_list(got[0] + got[1], want[0] + want[1], dtype, factor=1.0)


# ---------------------------------------------------------------------------------------------
# Every ISA path the machine has
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
def test_properties_under_every_isa(isa):
    """Runs this file's properties again with NNFAST_GEMM_ISA=isa, in a subprocess (the ISA
    of the matrix product and of the vectorised element-wise loops is fixed at import). The
    ISA this process uses is covered above."""
    rerun_under_isa(__file__, isa, "not every_isa")
