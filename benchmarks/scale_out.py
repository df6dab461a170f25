"""Data-parallel training: MPI processes against OpenMP threads, and the cost of the
chunked reduction, side by side in one run.

For each workload (mnist_like, wide: the thread-scaling benchmark's shapes), every
configuration fits the same MLPClassifier (Adam, shuffled batches, random_state=0, a fixed
number of epochs) on the same memory-mapped float32 data, each in fresh processes:

    1 process x 1 thread            reduction_chunks None, K and S
    1 process x 2 threads           reduction_chunks None, K and S
    K processes x 1 thread          reduction_chunks K and S (mpiexec -n K; a rank a core)

(K = 2 processes; S = 8 chunks by default) and reports the fit's wall time (the slowest
rank's; median of --repeats runs) and the ratios: K processes against 1 process x 1
thread and against 1 process x 2 threads, and each chunk count against None at one
process. It also checks that the configurations with the same chunk count end with the
same SHA-256 of the parameters. Load from other processes ruins a 2-core figure: the
load average before each run is recorded, and the run is marked when it exceeds 0.5.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/scale_out.py
    python benchmarks/scale_out.py --quick          # a smaller run, to check it works
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKLOADS = {
    # name: (rows, features, hidden, classes, batch, epochs)
    "mnist_like": (60000, 784, (256, 128), 10, 128, 1),
    "wide": (8192, 1024, (2048, 2048), 10, 512, 1),
}


def worker(args):
    """One configuration's fit in this process (a rank, under mpiexec): prints JSON."""
    import numpy as np

    from nnfast import MLPClassifier, distributed

    X = np.load(os.path.join(args.data, "X.npy"), mmap_mode="r")
    y = np.load(os.path.join(args.data, "y.npy"))
    _, _, hidden, _, batch, epochs = WORKLOADS[args.workload]
    est = MLPClassifier(hidden, batch_size=batch, max_iter=epochs, tol=0.0,
                        n_iter_no_change=10**6, random_state=0, n_jobs=args.threads,
                        reduction_chunks=args.chunks)
    comm = distributed.world() if args.processes > 1 else None
    if comm is not None:
        comm.Barrier()
    t0 = time.perf_counter()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if comm is None:
            est.fit(X, y)
        else:
            distributed.fit(est, X, y, comm=comm)
    seconds = time.perf_counter() - t0
    if comm is not None:
        seconds = max(comm.allgather(seconds))
        if comm.Get_rank() != 0:
            return
    digest = hashlib.sha256(b"".join(a.tobytes() for a in est.coefs_ + est.intercepts_))
    print(json.dumps({"seconds": seconds, "digest": digest.hexdigest()}))


def _env(threads):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["OMP_NUM_THREADS"] = str(threads)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def _run(data, workload, processes, threads, chunks):
    cmd = [sys.executable, __file__, "--worker", "--data", data, "--workload", workload,
           "--threads", str(threads), "--processes", str(processes)]
    if chunks:
        cmd += ["--chunks", str(chunks)]
    if processes > 1:
        mpiexec = Path(sys.executable).parent / "mpiexec"
        cmd = [str(mpiexec) if mpiexec.exists() else "mpiexec", "-n", str(processes),
               sys.executable, "-m", "mpi4py", *cmd[1:]]
    load = os.getloadavg()[0]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env(threads), check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["load"] = load
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--workload", default="mnist_like", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--chunks", type=int, default=None, help="S (default 8)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="a tenth of the rows, one repeat")
    p.add_argument("--out", default=None, help="the record (default: "
                   "benchmarks/results/<date>-scale-out.md)")
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)

    import numpy as np

    S = args.chunks or 8
    K = 2
    repeats = 1 if args.quick else args.repeats
    configs = [("1 process x 1 thread", 1, 1, None), ("1 process x 2 threads", 1, 2, None)]
    for chunks in sorted({K, S}):
        configs += [(f"1 process x 1 thread, S={chunks}", 1, 1, chunks),
                    (f"1 process x 2 threads, S={chunks}", 1, 2, chunks),
                    (f"{K} processes x 1 thread, S={chunks}", K, 1, chunks)]
    lines = [f"# Scale-out: MPI processes against threads ({datetime.date.today()})", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
             f"command: `python benchmarks/scale_out.py{' --quick' if args.quick else ''}`; "
             f"float32, Adam, median of {repeats} fresh runs of `fit` (the slowest rank's "
             f"time); load average before each run in brackets.", ""]
    for name, (m, d, hidden, k, batch, epochs) in WORKLOADS.items():
        if args.quick:
            m //= 10
        with tempfile.TemporaryDirectory() as tmp:
            rng = np.random.default_rng(0)
            np.save(os.path.join(tmp, "X.npy"), rng.standard_normal((m, d), dtype=np.float32))
            np.save(os.path.join(tmp, "y.npy"), rng.integers(0, k, m))
            times, digests = {}, {}
            for label, procs, threads, chunks in configs:
                runs = [_run(tmp, name, procs, threads, chunks) for _ in range(repeats)]
                times[label] = (statistics.median(r["seconds"] for r in runs),
                                max(r["load"] for r in runs))
                if chunks:
                    digests.setdefault(chunks, set()).update(r["digest"] for r in runs)
        base = times["1 process x 1 thread"][0]
        two_threads = times["1 process x 2 threads"][0]
        lines += [f"## {name}: {m} x {d}, hidden {list(hidden)}, batch {batch}, {epochs} epoch",
                  "", "| configuration | fit (s) | vs 1 process x 1 thread |", "|---|---|---|"]
        for label, (t, load) in times.items():
            flag = " (busy)" if load > 0.5 else ""
            lines.append(f"| {label} | {t:.3f} [{load:.2f}]{flag} | {base / t:.2f}x |")
        lines.append("")
        for chunks in sorted(digests):
            mpi = times[f"{K} processes x 1 thread, S={chunks}"][0]
            lines += [f"- S={chunks} ({batch / chunks:g} rows a chunk): {K} processes against 1 "
                      f"process x 1 thread **{base / mpi:.2f}x**, against 1 process x 2 threads "
                      f"**{two_threads / mpi:.2f}x**; S={chunks} against None at 1 process x 1 "
                      f"thread: {times[f'1 process x 1 thread, S={chunks}'][0] / base - 1:+.1%}; "
                      f"the same parameters in every S={chunks} configuration: "
                      f"**{'yes' if len(digests[chunks]) == 1 else 'NO'}**"]
        lines.append("")
    text = "\n".join(lines)
    print(text)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                   datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
                                   + "-scale-out.md")
    Path(out).write_text(text + "\n")
    print(f"recorded in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
