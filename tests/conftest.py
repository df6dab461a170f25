import os
import subprocess
import sys

import numpy as np
import pytest

# float64 agrees with the reference to ~1e-12 relative, float32 to ~1e-5 (docs/DEVELOPING.md,
# "How the tests are built").
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


def isa_available(isa):
    """(True, "") when nnfast imports with NNFAST_GEMM_ISA=isa, (False, why) when this CPU or
    build lacks that ISA; any other import failure is an error."""
    env = dict(os.environ, NNFAST_GEMM_ISA=isa)
    proc = subprocess.run([sys.executable, "-c", "import nnfast"], env=env, capture_output=True,
                          text=True)
    if proc.returncode == 0:
        return True, ""
    if "lacks it" in proc.stderr:
        return False, proc.stderr.strip().splitlines()[-1]
    raise AssertionError(f"import nnfast failed under NNFAST_GEMM_ISA={isa}:\n{proc.stderr}")


def rerun_under_isa(test_file, isa, select):
    """Runs the tests of test_file matching -k `select` in a subprocess under
    NNFAST_GEMM_ISA=isa (the ISA of the products and element-wise loops is fixed at import),
    skipping where this process already uses it, the CPU lacks it, or the caller sweeps ISAs."""
    import nnfast

    if os.environ.get("NNFAST_GEMM_ISA"):
        pytest.skip("NNFAST_GEMM_ISA is set: the caller sweeps the ISAs itself")
    if nnfast.config()["gemm_kernel"] == isa:
        pytest.skip(f"{isa} is this process's ISA: covered by the tests themselves")
    available, why = isa_available(isa)
    if not available:
        pytest.skip(f"{isa} not available here: {why}")
    env = dict(os.environ, NNFAST_GEMM_ISA=isa)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", test_file, "-q", "-p", "no:cacheprovider", "-k", select],
        env=env, capture_output=True, text=True, cwd=os.path.dirname(test_file), timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout


# The hostile model-file tests (test_persistence_hostile, test_persistence_fuzz) forge these.
@pytest.fixture(scope="module")
def clf_bytes():
    """A fitted classifier's (SGD) model file, as bytes."""
    from model_files import fit, save_bytes

    return save_bytes(fit(solver="sgd"))


@pytest.fixture(scope="module")
def reg_bytes():
    """A fitted regressor's (Adam) model file, as bytes."""
    from model_files import X, fit, save_bytes

    from nnfast import MLPRegressor

    return save_bytes(fit(MLPRegressor, X @ np.arange(4.0), solver="adam"))
