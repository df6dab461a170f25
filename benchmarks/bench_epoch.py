"""Side-by-side timing of whole training runs: nnfast.train vs nnfast.reference.train.

Not a test: it prints a table (Markdown, readable in a terminal too) to paste into
benchmarks/RESULTS.md. For each workload and dtype both implementations start from the
same initial weights and visit the same batches in the same order; each is timed as
the best of ``--repeat`` runs (runs of the two alternate, so a burst of noise from the
machine falls on both), and their final losses are checked to agree.

Run it with NumPy's BLAS at full speed, i.e. without OPENBLAS_CORETYPE (which makes
OpenBLAS pick a slower kernel on these machines; beating a handicapped peer does not
count):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=2 \\
        python benchmarks/bench_epoch.py [--workload NAME] [--dtype float32|float64|both] \\
                                         [--repeat 3] [--rows N]

Workloads:
  xor         the lecture's XOR, 4 x 2, network 2-3-1 sigmoid/sigmoid, full batch, 2000 epochs
  small       20000 x 20 synthetic, 20-64-1 tanh / sigmoid (binary), batch 64, 2 epochs
  digits      scikit-learn's digits 1797 x 64, 64-100-10 relu / softmax, batch 200, 10 epochs
  mnist_like  60000 x 784 synthetic (--rows to shrink), 784-256-128-10 relu / softmax,
              batch 128, 1 epoch

"threads" is the OpenMP thread count nnfast may use; NumPy's BLAS thread count is printed
in the header (the reference's matrix products run on it).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass, field

import numpy as np

import nnfast
from nnfast import reference

#: Relative tolerance on the final loss, nnfast vs reference, per dtype.
LOSS_RTOL = {"float32": 1e-4, "float64": 1e-9}


@dataclass
class Workload:
    name: str
    layer_sizes: list
    activation: str
    out_activation: str
    batch_size: int
    epochs: int
    learning_rate: float
    make_data: object  # callable(rows, dtype) -> (X, Y)
    default_rows: int
    shuffle: bool = True
    notes: str = ""
    rows: int = field(default=0)


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

def _xor_data(rows, dtype):
    from nnfast.datasets import logic_gate

    X, y = logic_gate("xor")
    return X.astype(dtype), y.reshape(-1, 1).astype(dtype)


def _small_data(rows, dtype):
    """A noisy binary problem: the label is the sign of a fixed random projection."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((rows, 20))
    w = rng.standard_normal(20)
    y = (X @ w + 0.5 * rng.standard_normal(rows) > 0).astype(np.float64)
    return X.astype(dtype), y.reshape(-1, 1).astype(dtype)


def _digits_data(rows, dtype):
    from sklearn.datasets import load_digits

    from nnfast.datasets import one_hot

    d = load_digits()
    X = (d.data / 16.0)[:rows]
    return np.ascontiguousarray(X, dtype=dtype), one_hot(d.target[:rows], 10, dtype=dtype)


def _mnist_like_data(rows, dtype):
    """MNIST's shapes without the download: 10 random 'prototype images' in [0, 1]^784,
    each example a prototype plus noise, clipped to [0, 1]."""
    from nnfast.datasets import one_hot

    rng = np.random.default_rng(2)
    labels = rng.integers(0, 10, rows)
    prototypes = rng.random((10, 784), dtype=np.float32)
    X = prototypes[labels]
    X += 0.5 * rng.standard_normal((rows, 784), dtype=np.float32)
    np.clip(X, 0.0, 1.0, out=X)
    return np.ascontiguousarray(X, dtype=dtype), one_hot(labels, 10, dtype=dtype)


WORKLOADS = {
    "xor": Workload("xor", [2, 3, 1], "logistic", "logistic", batch_size=4, epochs=2000,
                    learning_rate=2.0, make_data=_xor_data, default_rows=4, shuffle=False),
    "small": Workload("small", [20, 64, 1], "tanh", "logistic", batch_size=64, epochs=2,
                      learning_rate=0.1, make_data=_small_data, default_rows=20000),
    "digits": Workload("digits", [64, 100, 10], "relu", "softmax", batch_size=200, epochs=10,
                       learning_rate=0.5, make_data=_digits_data, default_rows=1797),
    "mnist_like": Workload("mnist_like", [784, 256, 128, 10], "relu", "softmax",
                           batch_size=128, epochs=1, learning_rate=0.1,
                           make_data=_mnist_like_data, default_rows=60000),
}


# ---------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags(prefixes=("avx512f", "avx2", "fma")):
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [p for p in prefixes if p in flags]
    except OSError:
        pass
    return []


def blas_info():
    """NumPy's BLAS as threadpoolctl sees it (a list of dicts), or None without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [i for i in threadpool_info() if i.get("user_api") == "blas"]


def omp_threads():
    """The OpenMP threads nnfast may use: nnfast.config() asks omp_get_max_threads() in
    the kernels' own runtime, which also reflects a threadpoolctl limit."""
    cfg = nnfast.config()
    return cfg["max_threads"] if cfg.get("openmp") else 1


def header_lines():
    cfg = nnfast.config()
    lines = [
        f"machine : {cpu_model()}, {os.cpu_count()} logical CPUs, "
        f"flags: {', '.join(cpu_flags()) or 'none of avx512f/avx2/fma'}",
        f"python  : {platform.python_version()}, numpy {np.__version__}, nnfast {cfg['version']}",
        f"nnfast  : GEMM {cfg['gemm_kernel']}, compiled SIMD {cfg['compiled_simd']}, "
        f"OpenMP {'on' if cfg['openmp'] else 'off'}, threads {omp_threads()}",
    ]
    blas = blas_info()
    if blas is None:
        lines.append("numpy BLAS: unknown (install threadpoolctl to see it)")
    elif not blas:
        lines.append("numpy BLAS: none found by threadpoolctl")
    for b in blas or []:
        lines.append(f"numpy BLAS: {b.get('internal_api')} {b.get('version')}, architecture "
                     f"{b.get('architecture')}, threads {b.get('num_threads')} "
                     f"({b.get('threading_layer')})")
    try:
        with open("/proc/loadavg") as f:
            lines.append(f"load    : {' '.join(f.read().split()[:3])} (1/5/15-min load average "
                         f"before the run; other work on the machine skews timings)")
    except OSError:
        pass
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE"):
        lines.append(f"env {var:<20}: {os.environ.get(var, '(unset)')}")
    if "OPENBLAS_CORETYPE" in os.environ:
        lines.append("WARNING: OPENBLAS_CORETYPE is set, so NumPy's BLAS (the reference) runs a "
                     "slower kernel; rerun with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` "
                     "for a fair comparison.")
    return lines


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------

def _rel_diff(a, b):
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def run_workload(w, dtype, repeat, pause=0.2):
    """Time nnfast and the reference on workload `w` in `dtype`; return a result dict.

    Before each timed run the process sleeps `pause` seconds, so that the thread pool
    of the previous run (OpenBLAS's or OpenMP's workers spin for a while after their
    last job) has gone to sleep and does not compete with the next one for the cores."""
    dtype = np.dtype(dtype)
    X, Y = w.make_data(w.rows, dtype)
    W0, b0 = nnfast.init_params(w.layer_sizes, w.activation, random_state=0, dtype=dtype)
    order = None
    if w.shuffle:
        rng = np.random.RandomState(0)
        order = np.array([rng.permutation(X.shape[0]) for _ in range(w.epochs)])
    kwargs = dict(learning_rate=w.learning_rate, batch_size=w.batch_size, epochs=w.epochs,
                  activation=w.activation, out_activation=w.out_activation, order=order)
    times = {"nnfast": [], "reference": []}
    losses = {}
    for _ in range(repeat):
        for name, impl in (("nnfast", nnfast), ("reference", reference)):
            time.sleep(pause)
            t0 = time.perf_counter()
            _, _, curve = impl.train(X, Y, W0, b0, **kwargs)
            times[name].append(time.perf_counter() - t0)
            losses[name] = float(curve[-1])
    t_nn, t_ref = min(times["nnfast"]), min(times["reference"])
    rel = _rel_diff(losses["nnfast"], losses["reference"])
    rtol = LOSS_RTOL[dtype.name]
    return {"workload": w.name, "shape": f"{X.shape[0]}x{X.shape[1]}", "dtype": dtype.name,
            "threads": omp_threads(), "nnfast_s": t_nn, "reference_s": t_ref,
            "ratio": t_ref / t_nn if t_nn > 0 else float("inf"),
            "loss_nnfast": losses["nnfast"], "loss_reference": losses["reference"],
            "loss_rel_diff": rel, "loss_rtol": rtol, "losses_agree": rel <= rtol}


def format_table(results):
    head = ["workload", "rows x features", "dtype", "threads", "nnfast s", "reference s",
            "ratio ref/nnfast", "final loss", "losses agree (rel diff)"]
    rows = []
    for r in results:
        agree = "yes" if r["losses_agree"] else "**NO**"
        rows.append([r["workload"], r["shape"], r["dtype"], str(r["threads"]),
                     f"{r['nnfast_s']:.4f}", f"{r['reference_s']:.4f}", f"{r['ratio']:.2f}",
                     f"{r['loss_nnfast']:.6g}",
                     f"{agree} ({r['loss_rel_diff']:.1e} vs {r['loss_rtol']:.0e})"])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    numeric = {3, 4, 5, 6}

    def line(cells):
        return "| " + " | ".join(c.rjust(wd) if i in numeric else c.ljust(wd)
                                 for i, (c, wd) in enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join(("-" * (wd + 1) + ":") if i in numeric else ("-" * (wd + 2))
                         for i, wd in enumerate(widths)) + "|"
    return "\n".join([line(head), sep] + [line(r) for r in rows])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Time nnfast.train against nnfast.reference.train (same weights, same "
                    "batches) and print a Markdown table.")
    parser.add_argument("--workload", action="append", choices=sorted(WORKLOADS),
                        help="run only this workload (repeatable); default: all")
    parser.add_argument("--dtype", choices=["float32", "float64", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs (default 3)")
    parser.add_argument("--rows", type=int, default=None,
                        help="rows of mnist_like (default 60000) and small (default 20000)")
    parser.add_argument("--pause", type=float, default=0.2,
                        help="seconds to sleep before each timed run (default 0.2)")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit nnfast's OpenMP threads via threadpoolctl "
                             "(default: OMP_NUM_THREADS / all cores)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if args.rows is not None and args.rows < 1:
        parser.error("--rows must be >= 1")

    limiter = None
    if args.threads is not None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            parser.error("--threads needs threadpoolctl; set OMP_NUM_THREADS instead")
        limiter = threadpool_limits(limits=args.threads, user_api="openmp")

    names = args.workload or ["xor", "small", "digits", "mnist_like"]
    dtypes = ["float32", "float64"] if args.dtype == "both" else [args.dtype]
    for line in header_lines():
        print(line)
    print(f"command : {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"timing  : best of {args.repeat} runs of the whole train() call, perf_counter")
    print()
    results = []
    for name in names:
        w = WORKLOADS[name]
        w.rows = w.default_rows
        if args.rows is not None and name in ("mnist_like", "small"):
            w.rows = args.rows
        for dt in dtypes:
            r = run_workload(w, dt, args.repeat, args.pause)
            results.append(r)
            print(f"  {name:<10} {dt:<7} nnfast {r['nnfast_s']:8.4f} s  reference "
                  f"{r['reference_s']:8.4f} s  ratio {r['ratio']:6.2f}", file=sys.stderr,
                  flush=True)
    print(format_table(results))
    if limiter is not None:
        limiter.restore_original_limits()
    bad = [r for r in results if not r["losses_agree"]]
    if bad:
        print(f"\nWARNING: final losses disagree beyond tolerance for "
              f"{', '.join(r['workload'] + '/' + r['dtype'] for r in bad)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
