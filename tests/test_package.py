"""The package as a user meets it: import cost, version, config, and the promise that the
kernel-backed functions are drop-in twins of the reference."""
import ast
import inspect
import pathlib
import subprocess
import sys

import pytest

import nnfast
import nnfast.functional as functional
import nnfast.reference as reference
from nnfast import _core


def test_import_does_not_import_sklearn():
    code = "import sys, nnfast; print('sklearn' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_version_is_the_package_metadata():
    from importlib.metadata import version

    assert nnfast.__version__ == version("nnfast")
    assert nnfast.config()["version"] == nnfast.__version__


@pytest.mark.parametrize("name", reference.__all__)
def test_functional_twin_has_the_reference_signature(name):
    ours, theirs = getattr(functional, name), getattr(reference, name)
    assert inspect.signature(ours) == inspect.signature(theirs)
    assert getattr(nnfast, name) is ours
    assert ours.__doc__


def test_functional_exports_exactly_the_reference():
    assert sorted(functional.__all__) == sorted(reference.__all__)


def test_config_and_show_config(capsys):
    c = nnfast.config()
    assert set(c) >= {"version", "compiled_simd", "cpu_features", "gemm_kernel", "openmp", "max_threads"}
    assert isinstance(c["openmp"], bool) and c["max_threads"] >= 1
    nnfast.show_config()
    out = capsys.readouterr().out
    assert "OpenMP" in out and "threads" in out and c["compiled_simd"] in out


def test_omp_num_threads_is_honoured():
    code = "import nnfast; print(nnfast.config()['max_threads'])"
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "1"


def test_threadpoolctl_limits_the_kernels():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not nnfast.config()["openmp"]:
        pytest.skip("single-threaded build")
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert nnfast.config()["max_threads"] == 1


def test_stub_declares_every_core_function():
    stub = pathlib.Path(_core.__file__).with_name("_core.pyi")
    assert stub.exists(), "the .pyi stub must ship next to the extension"
    body = ast.parse(stub.read_text()).body
    declared = {n.name for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    declared |= {n.target.id for n in body  # constants, e.g. MAX_REDUCTION_CHUNKS: int
                 if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    public = {n for n in dir(_core) if not n.startswith("_")}
    assert declared == public


def test_set_num_threads_is_per_calling_thread_and_bounded():
    before = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        assert _core.get_num_threads() == 1
        with pytest.raises(ValueError, match="threads"):
            _core.set_num_threads(0)
    finally:
        _core.set_num_threads(before)


def test_fma_peak_probe_is_plausible():
    # One core does at least one FMA (2 flops) per cycle on scalars at ~1 GHz or more.
    f32, f64 = _core.fma_peak_gflops(True, 0.02), _core.fma_peak_gflops(False, 0.02)
    assert 2.0 < f64 <= f32 * 1.1 < 1e4
