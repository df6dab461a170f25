import numpy as np
import pytest

# float64 agrees with the reference to ~1e-12 relative, float32 to ~1e-5 (DESIGN.md).
RTOL = {np.float64: 1e-12, np.float32: 1e-5}


@pytest.fixture(params=[np.float64, np.float32], ids=["f64", "f32"])
def dtype(request):
    return request.param


def assert_close(actual, expected, dtype, scale=None):
    """Compare a kernel's output with its reference twin: same shape and dtype, values to the
    dtype's tolerance. Entries near zero are compared against the array's own scale, since a
    sum that cancels to ~0 carries the rounding of its large terms."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype == np.dtype(dtype)
    rtol = RTOL[np.dtype(dtype).type]
    if scale is None:
        scale = float(np.abs(expected).max()) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * max(scale, 1e-30))


def training_problem(sizes, head, dtype, m=101, seed=0):
    """X (m x sizes[0]) standard normal and targets Y (m x sizes[-1]) that suit the output head:
    one-hot classes (softmax), 0/1 labels (logistic), Poisson counts (exp), a noisy linear
    function of X (identity)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, sizes[0])).astype(dtype)
    k = sizes[-1]
    if head == "softmax":
        Y = np.eye(k, dtype=dtype)[rng.integers(0, k, m)]
    elif head == "logistic":
        Y = rng.integers(0, 2, (m, k)).astype(dtype)
    elif head == "exp":
        Y = rng.poisson(np.exp(0.3 * X[:, :k])).astype(dtype)
    else:
        Y = (X[:, :k] * 0.5 + 0.1 * rng.standard_normal((m, k))).astype(dtype)
    return X, Y
