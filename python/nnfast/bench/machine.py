"""Facts about the machine and the build, the cleaned environment each peer runs in, and probes
(FMA peak, import time) shared by every benchmark runner."""
from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from .peers import BLAS_HANDICAP_VARS, THREAD_VARS, threadpool_report

__all__ = ["BLAS_HANDICAP_VARS", "peer_env", "run_json", "cpu_model", "cpu_flags", "loadavg",
           "git_rev", "machine_facts", "blas_summary", "threadpool_report", "fma_peak",
           "import_time"]


def peer_env(threads: int) -> dict[str, str]:
    """os.environ without the OpenBLAS handicap, every thread-count variable set to `threads`."""
    env = {k: v for k, v in os.environ.items() if k not in BLAS_HANDICAP_VARS}
    for var in THREAD_VARS:
        env[var] = str(threads)
    return env


def run_json(cmd: list[str], env: dict[str, str], timeout: float | None = None) -> Any:
    """Run `cmd`; the JSON object printed on its last stdout line (RuntimeError with its
    stderr when it fails)."""
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed (rc {p.returncode}):\n"
                           f"{p.stderr[-3000:]}{p.stdout[-1000:]}")
    return json.loads(lines[-1])


def cpu_model() -> str:
    """The CPU's model name ("Intel(R) Xeon(R) Processor")."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags(wanted: Sequence[str] = ("avx512f", "avx512_fp16", "avx512_bf16", "amx_tile", "avx2",
                                      "fma")) -> list[str]:
    """The flags of `wanted` the CPU has, in that order."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [w for w in wanted if w in flags]
    except OSError:
        pass
    return []


def loadavg() -> str:
    """The 1/5/15-minute load averages as one string ("0.11 0.30 0.16")."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def git_rev(path: str) -> tuple[str, bool]:
    """(short HEAD, True when csrc/, python/ or the build files differ from HEAD) of the git
    checkout holding `path`; ("unknown (not a git checkout)", False) for an installed wheel."""
    try:
        top = subprocess.run(["git", "-C", path, "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, check=True).stdout.strip()
        rev = subprocess.run(["git", "-C", top, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", top, "status", "--porcelain", "--", "csrc",
                                "python", "CMakeLists.txt"],
                               capture_output=True, text=True).stdout.strip()
        return rev, bool(dirty)
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)", False


def machine_facts() -> dict[str, Any]:
    """A dict of the date, CPU, kernel, Python, NumPy, scikit-learn and nnfast facts of this
    run (the nnfast under test is the one this interpreter imports)."""
    import numpy as np

    import nnfast

    cfg = nnfast.config()
    here = os.path.dirname(os.path.abspath(nnfast.__file__))
    rev, dirty = git_rev(here)
    facts: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "flags": cpu_flags(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "nnfast": cfg["version"],
        "nnfast_git": rev + (" + uncommitted changes in csrc/python" if dirty else ""),
        "nnfast_path": here,
        "nnfast_gemm_kernel": cfg["gemm_kernel"],
        "nnfast_compiled_simd": cfg["compiled_simd"],
        "nnfast_openmp": cfg["openmp"],
        "load_before": loadavg(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "handicap_vars_in_parent_env": {v: os.environ[v] for v in BLAS_HANDICAP_VARS
                                        if v in os.environ},
    }
    for name in ("sklearn", "threadpoolctl"):
        try:
            facts[name] = __import__(name).__version__
        except ImportError:
            facts[name] = None
    return facts


def blas_summary(info: list[dict[str, Any]] | None) -> list[str]:
    """One string per BLAS threadpoolctl found: ['openblas 0.3.31 SkylakeX x2']."""
    out = []
    for i in info or []:
        if i.get("user_api") == "blas":
            out.append(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                       f"x{i.get('num_threads')}")
    return out


_PEAK_CODE = r"""
import json, sys
from nnfast import _core
secs, reps = float(sys.argv[1]), int(sys.argv[2])
print(json.dumps({"float32": max(_core.fma_peak_gflops(True, secs) for _ in range(reps)),
                  "float64": max(_core.fma_peak_gflops(False, secs) for _ in range(reps))}))
"""


def fma_peak(seconds: float = 0.2, reps: int = 3) -> dict[str, float]:
    """{"float32": GFLOP/s, "float64": GFLOP/s}: the measured FMA peak of one core, best of
    `reps` probes, in a fresh single-threaded process."""
    return run_json([sys.executable, "-c", _PEAK_CODE, str(seconds), str(reps)], peer_env(1))


IMPORT_REPS = 15


def import_time(reps: int = IMPORT_REPS) -> dict[str, float]:
    """Best wall time (ms) of `python -c "import nnfast"`, of `python -c "import numpy"` (the
    part of nnfast's import that is NumPy's) and of `python -c pass`, the three interleaved
    so that a slow spell of a shared host falls on all of them alike."""
    codes = {"import_nnfast_ms": "import nnfast", "import_numpy_ms": "import numpy",
             "python_pass_ms": "pass"}
    best = dict.fromkeys(codes, float("inf"))
    for _ in range(reps):
        for key, code in codes.items():
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=peer_env(1), check=True)
            best[key] = min(best[key], 1e3 * (time.perf_counter() - t0))
    return {**best, "reps": float(reps)}
