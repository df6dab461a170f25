"""Helpers shared by benchmarks/run.py and benchmarks/bench_gemm.py (not a public module).

Machine and version facts, the cleaned environment each peer runs in, the FMA-peak probe,
Markdown tables and the RESULTS.md insertion point.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Variables that make OpenBLAS pick a slower kernel on these machines; every peer runs
#: without them (a speed-up over a handicapped NumPy does not count).
BLAS_HANDICAP_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

#: RESULTS.md: new entries go right after this line (newest first).
RESULTS_MARKER = "<!-- new entries go below this line, newest first -->"


def peer_env(threads):
    """os.environ without the OpenBLAS handicap, every thread-count variable set to `threads`."""
    env = {k: v for k, v in os.environ.items() if k not in BLAS_HANDICAP_VARS}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


def run_json(cmd, env, timeout=None):
    """Run `cmd`, return the JSON object printed on its last stdout line (raise with its
    stderr when it fails)."""
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed (rc {p.returncode}):\n"
                           f"{p.stderr[-3000:]}{p.stdout[-1000:]}")
    return json.loads(lines[-1])


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags(wanted=("avx512f", "avx512_fp16", "avx512_bf16", "amx_tile", "avx2", "fma")):
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [w for w in wanted if w in flags]
    except OSError:
        pass
    return []


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def git_rev():
    """(short HEAD, True when csrc/, python/ or the build files differ from HEAD)."""
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "csrc",
                                "python", "CMakeLists.txt"],
                               capture_output=True, text=True).stdout.strip()
        return rev, bool(dirty)
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False


def machine_facts():
    import numpy as np

    import nnfast

    cfg = nnfast.config()
    rev, dirty = git_rev()
    facts = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "flags": cpu_flags(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "nnfast": cfg["version"],
        "nnfast_git": rev + (" + uncommitted changes in csrc/python" if dirty else ""),
        "nnfast_path": os.path.dirname(nnfast.__file__),
        "nnfast_gemm_kernel": cfg["gemm_kernel"],
        "nnfast_compiled_simd": cfg["compiled_simd"],
        "nnfast_openmp": cfg["openmp"],
        "load_before": loadavg(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "handicap_vars_in_parent_env": {v: os.environ[v] for v in BLAS_HANDICAP_VARS
                                        if v in os.environ},
    }
    try:
        import sklearn

        facts["sklearn"] = sklearn.__version__
    except ImportError:
        facts["sklearn"] = None
    try:
        import threadpoolctl

        facts["threadpoolctl"] = threadpoolctl.__version__
    except ImportError:
        facts["threadpoolctl"] = None
    return facts


def blas_summary(info):
    """One string per BLAS threadpoolctl found: 'openblas 0.3.31 SkylakeX x2'."""
    out = []
    for i in info or []:
        if i.get("user_api") == "blas":
            out.append(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                       f"x{i.get('num_threads')}")
    return out


def threadpool_report():
    """threadpoolctl's view of this process (BLAS kernel/architecture, OpenMP runtimes)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    keep = ("user_api", "internal_api", "version", "architecture", "num_threads",
            "threading_layer", "prefix")
    return [{k: i.get(k) for k in keep if k in i} for i in threadpool_info()]


_PEAK_CODE = r"""
import json, sys
from nnfast import _core
secs, reps = float(sys.argv[1]), int(sys.argv[2])
print(json.dumps({"float32": max(_core.fma_peak_gflops(True, secs) for _ in range(reps)),
                  "float64": max(_core.fma_peak_gflops(False, secs) for _ in range(reps))}))
"""


def fma_peak(seconds=0.2, reps=3):
    """The measured FMA peak of one core (GFLOP/s) per dtype, best of `reps` probes, in a
    fresh single-threaded process."""
    return run_json([sys.executable, "-c", _PEAK_CODE, str(seconds), str(reps)], peer_env(1))


def import_time(reps=5):
    """Best wall time (ms) of `python -c "import nnfast"` and of `python -c pass`."""
    import time

    def best(code):
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=peer_env(1), check=True)
            ts.append(time.perf_counter() - t0)
        return 1e3 * min(ts)

    return {"import_nnfast_ms": best("import nnfast"), "python_pass_ms": best("pass")}


def md_table(head, rows, numeric=()):
    """A Markdown table, padded so that it also reads in a terminal."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(head)]

    def line(cells):
        return "| " + " | ".join(c.rjust(w) if i in numeric else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if i in numeric else ("-" * (w + 2))
                         for i, w in enumerate(widths)) + "|"
    return "\n".join([line(head), sep] + [line(r) for r in rows])


def insert_results_entry(path, entry):
    """Put `entry` right after RESULTS_MARKER in `path` (newest first); append it when the
    marker is missing; create the file when it does not exist."""
    text = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    if RESULTS_MARKER in text:
        head, tail = text.split(RESULTS_MARKER, 1)
        text = head + RESULTS_MARKER + "\n\n" + entry.rstrip() + "\n\n" + tail.lstrip("\n")
    else:
        text = text.rstrip() + ("\n\n" if text else "") + entry.rstrip() + "\n"
    with open(path, "w") as f:
        f.write(text)


def fmt_s(t):
    if t is None:
        return "—"
    if t >= 10:
        return f"{t:.1f}"
    if t >= 1:
        return f"{t:.2f}"
    if t >= 0.01:
        return f"{t:.3f}"
    return f"{t:.4f}"


def fmt_ratio(r):
    if r is None:
        return "—"
    return f"{r:.0f}" if r >= 100 else f"{r:.1f}" if r >= 10 else f"{r:.2f}"
