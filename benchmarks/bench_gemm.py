"""nnfast's matrix product against NumPy's (OpenBLAS), at 1 and 2 threads, float32/float64.

Not a test: a runner that prints a table (Markdown), and optionally writes JSON, a PNG chart,
the run's own file under benchmarks/results/ and RESULTS.md's GEMM section. The machine
facts, tables and records come from the installed package (nnfast.bench). Shapes: squares
256, 512, 1024, 2048, and every product that the training workloads
(nnfast.bench.workloads) perform, per layer l with batch m:

  fwd   A_prev @ W        M = m,        K = n_(l-1), N = n_l
  dX    dZ @ Wᵀ           M = m,        K = n_l,     N = n_(l-1)   (transpose_b; l ≥ 2 only)
  dW    A_prevᵀ @ dZ      M = n_(l-1),  K = m,       N = n_l       (transpose_a)

For each thread count, one fresh process (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
MKL_NUM_THREADS set; OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed, so OpenBLAS runs its best
kernel) times, interleaved and best of --repeat blocks each:

  kernel   nnfast._core.gemm(C, A, B, transpose_a, transpose_b) into a preallocated C
  numpy    np.matmul(op(A), op(B), out=C)  (the transposes are views: no copy)
  api      nnfast.matmul(A, B, transpose_a=..., transpose_b=...)  (validation + allocation)
  numpy@   op(A) @ op(B)

A block repeats the call until it lasts ~--block seconds; the time per call is the block's
mean, the best block wins. With more than one thread, the process sleeps --pause seconds
before switching library, so that the other library's spinning worker threads have gone to
sleep. GFLOP/s = 2·M·N·K / time; "% peak" divides by the measured single-core FMA peak
(``_core.fma_peak_gflops``) times the thread count. The speed target (targets.json, "gemm":
1 thread, float32, 1024³ and the workload shapes): kernel ≥ 0.95× NumPy's speed and ≥ 85 %
of the FMA peak.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_gemm.py \\
        [--threads 1,2] [--dtypes float32,float64] [--repeat 3] [--quick] \\
        [--out-json FILE] [--chart benchmarks/gemm.png] [--results-md benchmarks/RESULTS.md]
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time

from nnfast.bench import machine, record
from nnfast.bench.report import md_table
from nnfast.bench.targets import load_targets
from nnfast.bench.workloads import WORKLOADS

SQUARES = (256, 512, 1024, 2048)
TARGET_RATIO = load_targets()["gemm"]["ratio_vs_numpy"]
TARGET_PEAK = load_targets()["gemm"]["fraction_of_fma_peak"]
COMMAND = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_gemm.py"


def workload_shapes():
    """[(label, M, N, K, transpose_a, transpose_b)] of every product in the training
    workloads, de-duplicated (first label kept)."""
    seen, out = set(), []
    for w in WORKLOADS.values():
        m, s = w.batch, w.sizes
        for l in range(1, len(s)):
            n_in, n_out = s[l - 1], s[l]
            prods = [("fwd", m, n_out, n_in, False, False)]
            if l >= 2:
                prods.append(("dX", m, n_in, n_out, False, True))
            prods.append(("dW", n_in, n_out, m, True, False))
            for kind, M, N, K, ta, tb in prods:
                key = (M, N, K, ta, tb)
                if key not in seen:
                    seen.add(key)
                    out.append((f"{w.name} L{l} {kind}", M, N, K, ta, tb))
    return out


def all_shapes(quick):
    sq = [(f"square {n}", n, n, n, False, False) for n in (SQUARES[:2] if quick else SQUARES)]
    shapes = workload_shapes()
    if quick:
        shapes = [s for s in shapes if s[1] * s[2] * s[3] <= 128 * 256 * 784]
    return sq + shapes


# ---------------------------------------------------------------------------
# The child: one thread count, every shape and dtype
# ---------------------------------------------------------------------------

def _block(fn, min_s):
    """Mean seconds per call of fn over a block lasting about min_s (at least one call)."""
    t0 = time.perf_counter()
    fn()
    t1 = time.perf_counter()
    once = t1 - t0
    n = max(1, min(100000, int(min_s / max(once, 1e-7))))
    if n == 1:
        return once
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def child_main(spec):
    import numpy as np

    import nnfast
    from nnfast import _core

    threads = spec["threads"]
    _core.set_num_threads(threads)
    rng = np.random.default_rng(0)
    out = {"threads": threads, "threadpools": machine.threadpool_report(),
           "nnfast_threads": _core.get_num_threads(), "rows": []}
    pause = spec["pause"] if threads > 1 else 0.0
    for dt in spec["dtypes"]:
        for label, M, N, K, ta, tb in spec["shapes"]:
            A = rng.standard_normal((K, M) if ta else (M, K)).astype(dt)
            B = rng.standard_normal((N, K) if tb else (K, N)).astype(dt)
            opA, opB = (A.T if ta else A), (B.T if tb else B)
            Cn, Ck = np.empty((M, N), dt), np.empty((M, N), dt)
            # Defaults bind this shape's arrays (each lambda runs within this iteration).
            fns = {
                "kernel": lambda Ck=Ck, A=A, B=B, ta=ta, tb=tb: _core.gemm(Ck, A, B, ta, tb),
                "api": lambda A=A, B=B, ta=ta, tb=tb: nnfast.matmul(A, B, transpose_a=ta,
                                                                    transpose_b=tb),
                "numpy": lambda opA=opA, opB=opB, Cn=Cn: np.matmul(opA, opB, out=Cn),
                "numpy@": lambda opA=opA, opB=opB: opA @ opB,
            }
            fns["kernel"](), fns["numpy"]()
            scale = max(1.0, float(np.abs(Cn).max()))
            err = float(np.abs(Ck - Cn).max()) / scale
            best = {k: float("inf") for k in fns}
            groups = [("kernel", "api"), ("numpy", "numpy@")]
            for rep in range(spec["repeat"]):
                for group in (groups if rep % 2 == 0 else groups[::-1]):
                    if pause:
                        time.sleep(pause)
                    for k in group:
                        best[k] = min(best[k], _block(fns[k], spec["block"]))
            out["rows"].append({"label": label, "M": M, "N": N, "K": K, "transpose_a": ta,
                                "transpose_b": tb, "dtype": dt, "seconds": best,
                                "max_rel_err": err})
            print(f"    {threads}T {dt} {label:<22} {M}x{N}x{K} kernel "
                  f"{2e-9 * M * N * K / best['kernel']:7.1f} GFLOP/s, numpy "
                  f"{2e-9 * M * N * K / best['numpy']:7.1f}", file=sys.stderr, flush=True)
    print(json.dumps(out))


# ---------------------------------------------------------------------------
# The parent
# ---------------------------------------------------------------------------

def derive(rows, threads, peaks):
    for r in rows:
        fl = 2.0 * r["M"] * r["N"] * r["K"]
        r["threads"] = threads
        r["gflops"] = {k: fl / t / 1e9 for k, t in r["seconds"].items()}
        r["fraction_of_peak"] = r["gflops"]["kernel"] / (peaks[r["dtype"]] * threads)
        r["ratio"] = r["seconds"]["numpy"] / r["seconds"]["kernel"]        # > 1: nnfast faster
        r["ratio_api"] = r["seconds"]["numpy@"] / r["seconds"]["api"]
        is_target = (threads == 1 and r["dtype"] == "float32"
                     and (r["label"] == "square 1024" or not r["label"].startswith("square")))
        if is_target:
            r["target_ratio_pass"] = r["ratio"] >= TARGET_RATIO
            r["target_peak_pass"] = r["fraction_of_peak"] >= TARGET_PEAK
    return rows


def _g(x):
    return f"{x:.1f}" if x >= 10 else f"{x:.2g}"


def table(rows):
    """The Markdown table of `rows` (derived)."""
    head = ["shape", "M×N×K", "op", "dtype", "thr", "kernel GFLOP/s", "numpy GFLOP/s",
            "numpy/kernel time", "kernel % peak", "api µs", "numpy@ µs", "api ratio", "target"]
    out = []
    for r in rows:
        op = "AᵀB" if r["transpose_a"] else "ABᵀ" if r["transpose_b"] else "AB"
        tgt = "—"
        if "target_ratio_pass" in r:
            ok = r["target_ratio_pass"] and r["target_peak_pass"]
            tgt = "pass" if ok else ("**MISS** " + " ".join(
                x for x, p in (("ratio", r["target_ratio_pass"]),
                               ("peak", r["target_peak_pass"])) if not p))
        out.append([r["label"], f"{r['M']}×{r['N']}×{r['K']}", op, r["dtype"], r["threads"],
                    _g(r["gflops"]["kernel"]), _g(r["gflops"]["numpy"]),
                    f"{r['ratio']:.2f}", f"{100 * r['fraction_of_peak']:.0f} %",
                    f"{1e6 * r['seconds']['api']:.1f}", f"{1e6 * r['seconds']['numpy@']:.1f}",
                    f"{r['ratio_api']:.2f}", tgt])
    return md_table(head, out, numeric=set(range(4, 12)))


def chart(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    combos = sorted({(r["dtype"], r["threads"]) for r in rows})
    fig, axes = plt.subplots(len(combos), 1, squeeze=False,
                             figsize=(max(8, 0.42 * len({r["label"] for r in rows}) + 2),
                                      3.3 * len(combos)))
    for ax, (dt, th) in zip(axes[:, 0], combos):
        sel = [r for r in rows if r["dtype"] == dt and r["threads"] == th]
        xs = range(len(sel))
        ax.bar([x - 0.2 for x in xs], [r["gflops"]["kernel"] for r in sel], 0.4,
               label="nnfast kernel", color="tab:green")
        ax.bar([x + 0.2 for x in xs], [r["gflops"]["numpy"] for r in sel], 0.4,
               label="NumPy (OpenBLAS)", color="tab:blue")
        peak = sel[0]["gflops"]["kernel"] / sel[0]["fraction_of_peak"] if sel else None
        if peak:
            ax.axhline(peak, color="black", linestyle="--", linewidth=0.8,
                       label=f"FMA peak × {th} ({peak:.0f})")
        ax.set_yscale("log")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([r["label"] for r in sel], rotation=60, ha="right", fontsize=7)
        ax.set_ylabel("GFLOP/s")
        ax.set_title(f"{dt}, {th} thread{'s' if th > 1 else ''}", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("GEMM: nnfast._core.gemm vs numpy.matmul", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child_main(json.loads(argv[1]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--block", type=float, default=0.03, help="seconds per timed block")
    ap.add_argument("--pause", type=float, default=0.15,
                    help="sleep before switching library when threads > 1")
    ap.add_argument("--quick", action="store_true", help="small shapes only, short blocks")
    ap.add_argument("--out-json")
    ap.add_argument("--chart")
    ap.add_argument("--results-md", help="rewrite the GEMM section of this Markdown file "
                                         "(RESULTS.md) and write the run's own file to "
                                         "results/ beside it")
    ap.add_argument("--record", metavar="FILE",
                    help="the run's own Markdown file (default with --results-md: "
                         "results/<date>-gemm.md beside it)")
    ap.add_argument("--build", help="how the nnfast under test was built, for the record")
    ap.add_argument("--from-json", metavar="FILE",
                    help="run nothing: re-render the table, chart and entry from an "
                         "--out-json file")
    args = ap.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",") if t]
    dtypes = [d for d in args.dtypes.split(",") if d]
    if any(d not in ("float32", "float64") for d in dtypes) or any(t < 1 for t in threads):
        ap.error("--dtypes: float32/float64; --threads: integers >= 1")
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        facts, peaks, rows, blas = saved["facts"], saved["fma_peak_gflops_per_core"], \
            saved["rows"], set(saved["blas"])
        load_after, elapsed = saved.get("load_after", "?"), saved.get("elapsed_s") or 0.0
        argv, quick = saved["argv"], "--quick" in saved["argv"]
        if args.build:
            facts["nnfast_git"] = args.build
    else:
        quick = args.quick
        t_start = time.perf_counter()
        facts = machine.machine_facts()
        if args.build:
            facts["nnfast_git"] = args.build
        peaks = machine.fma_peak()
        shapes = all_shapes(args.quick)
        block = min(args.block, 0.01) if args.quick else args.block
        rows, blas = [], set()
        for th in threads:
            spec = {"threads": th, "dtypes": dtypes, "shapes": shapes, "repeat": args.repeat,
                    "block": block, "pause": args.pause}
            print(f"{th} thread(s): {len(shapes)} shapes x {len(dtypes)} dtypes",
                  file=sys.stderr)
            cmd = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)]
            out = machine.run_json(cmd, machine.peer_env(th))
            blas.update(machine.blas_summary(out["threadpools"]))
            rows += derive(out["rows"], th, peaks)
        load_after = machine.loadavg()
        elapsed = time.perf_counter() - t_start
    tab = table(rows)
    tgt = [r for r in rows if "target_ratio_pass" in r]
    misses = [r for r in tgt if not (r["target_ratio_pass"] and r["target_peak_pass"])]
    bad = [r for r in rows if r["max_rel_err"] > (1e-3 if r["dtype"] == "float32" else 1e-10)]
    summary = (f"targets (1 thread, float32, square 1024 and workload shapes: ≥{TARGET_RATIO}× "
               f"NumPy and ≥{100 * TARGET_PEAK:.0f} % of peak): {len(tgt) - len(misses)} of "
               f"{len(tgt)} shapes pass")
    print(f"machine : {facts['cpu']}, {facts['logical_cpus']} CPUs; FMA peak/core "
          f"{peaks['float32']:.0f} (f32) {peaks['float64']:.0f} (f64) GFLOP/s")
    print(f"versions: numpy {facts['numpy']} ({'; '.join(sorted(blas))}), nnfast "
          f"{facts['nnfast']} git {facts['nnfast_git']} ({facts['nnfast_gemm_kernel']})")
    print(f"load    : {facts['load_before']} before, {load_after} after; {elapsed / 60:.1f} min")
    print()
    print(tab)
    print()
    print(summary)
    if bad:
        print("WARNING: nnfast and NumPy products differ for "
              + ", ".join(f"{r['label']} {r['dtype']}" for r in bad))
    if args.out_json:
        with open(args.out_json, "w") as f:
            json.dump({"facts": facts, "fma_peak_gflops_per_core": peaks, "argv": argv,
                       "rows": rows, "blas": sorted(blas), "load_after": load_after,
                       "elapsed_s": elapsed}, f, indent=1)
    if args.chart:
        chart(rows, args.chart)
    path = args.record
    if path is None and args.results_md:
        path = record.record_path(os.path.join(os.path.dirname(os.path.abspath(
            args.results_md)), "results"), facts["date"], "gemm")
    head = [f"**Machine.** {facts['cpu']}, {facts['logical_cpus']} logical CPUs; flags "
            f"{', '.join(facts['flags'])}. FMA peak of one core: {peaks['float32']:.0f} GFLOP/s "
            f"float32, {peaks['float64']:.0f} float64.", "",
            f"**Software.** numpy {facts['numpy']}, BLAS {'; '.join(sorted(blas))}; nnfast "
            f"{facts['nnfast']} at git {facts['nnfast_git']}, kernel "
            f"`{facts['nnfast_gemm_kernel']}`. Threads {'/'.join(map(str, threads))}. Load "
            f"{facts['load_before']} before, {load_after} after; {elapsed / 60:.1f} min.", "",
            "```sh", COMMAND + " " + shlex.join(argv), "```", ""]
    if path:
        record.write_record(path, "\n".join(
            [f"# {facts['date']} UTC — GEMM: nnfast vs NumPy (OpenBLAS)"
             f"{' (QUICK smoke run)' if quick else ''}", ""] + head + [tab, "", summary + "."]))
        print(f"run recorded in {path}", file=sys.stderr)
    if args.results_md:
        link = os.path.relpath(path, os.path.dirname(os.path.abspath(args.results_md)))
        judged = [r for r in rows if "target_ratio_pass" in r
                  or (r["threads"] == 1 and r["dtype"] == "float32")]
        record.update_section(args.results_md, "gemm", "\n".join(
            [f"Latest run: **{facts['date']} UTC** (full record, every dtype and thread "
             f"count: [{os.path.basename(link)}]({link})).", ""] + head +
            ["1 thread, float32 (the rows the target judges, and the squares):", "",
             table(judged), "", summary + "."]))
        print(f"GEMM section of {args.results_md} rewritten", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
