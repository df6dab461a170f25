"""Fits on a memory-mapped X: the anonymous memory a fit adds, against the file's size.

nnfast's estimators read a read-only ``np.load(path, mmap_mode="r")`` X where it lies: the
epoch loop gathers each mini-batch from the map, so a fit adds memory per row (labels,
weights, shuffle indices), never a copy of X. This runner writes an n x d file (default
1.5 million x 100 float32: 572 MB) to a temporary folder (removed afterwards), then runs
each case in a fresh interpreter:

* a warm-up fit on a few in-memory rows (imports, lazy modules: not the fit's memory);
* the fit on the map, timed, its memory measured: RssAnon sampled every millisecond (the
  loop runs without the GIL) and, as a second lower bound, the peak RSS (VmHWM, reset just
  before the fit) less the file's pages; glibc's mmap threshold is fixed at 128 kB so
  that a freed block's pages are not reused unseen (MALLOC_MMAP_THRESHOLD_);
* the same fit on an in-memory copy of X, timed, its weights compared bit for bit.

"added" is the peak over the fit less what the process held just before it (the mapped
X, the caller's y and sample_weight). The target is the one of the scale-out issue: under
100 MB for the 1.5-million-row float32 file, L-BFGS excepted (it evaluates the whole data
set in one kernel call; its row is shown with --lbfgs, held to no target).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 python benchmarks/memmap.py \\
        --lbfgs --out benchmarks/results/     # writes results/<date>-memmap.md

The file is in the page cache when the fits read it (it was just written): the times are
those of memory, not of a disk.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
import time

#: The allowance: anonymous memory a fit on the full-size file may add (MiB).
TARGET_MB = 100

MB = 1 << 20

#: name -> (estimator or "train", parameters, options). Options: classes (0: regression),
#: sample_weight, partial_fit, mapped_targets (y and sample_weight memory-mapped too),
#: target (False: shown, not judged).
CASES = {
    "regressor adam": ("MLPRegressor", dict(solver="adam"), dict()),
    "regressor sgd + sample_weight": ("MLPRegressor", dict(solver="sgd"),
                                     dict(sample_weight=True)),
    "classifier 2 classes sgd": ("MLPClassifier", dict(solver="sgd"), dict(classes=2)),
    "classifier 3 classes adam": ("MLPClassifier", dict(solver="adam"), dict(classes=3)),
    "classifier 3 classes + mapped y and weights": ("MLPClassifier", dict(solver="adam"),
                                                   dict(classes=3, sample_weight=True,
                                                        mapped_targets=True)),
    "classifier 10 classes adam": ("MLPClassifier", dict(solver="adam"), dict(classes=10)),
    "classifier 10 classes partial_fit": ("MLPClassifier", dict(solver="sgd"),
                                          dict(classes=10, partial_fit=True)),
    "nnfast.train (functional)": ("train", dict(), dict()),
    "nnfast.train + sample_weight": ("train", dict(), dict(sample_weight=True)),
    "regressor lbfgs (max_iter=2)": ("MLPRegressor", dict(solver="lbfgs", max_iter=2),
                                     dict(target=False, lbfgs=True)),
}


def _digest(Ws, bs):
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    for a in list(Ws) + list(bs):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def child(spec):
    """One case in this fresh interpreter: prints a JSON line."""
    import warnings

    import numpy as np

    import nnfast

    warnings.simplefilter("ignore")
    est_name, params, opts = CASES[spec["case"]]
    X = np.load(spec["path"], mmap_mode="r")
    n = X.shape[0]
    classes = opts.get("classes", 0)
    y = (np.arange(n) * 7 % classes) if classes else np.linspace(-1.0, 1.0, n)
    w = np.linspace(0.5, 1.5, n) if opts.get("sample_weight") else None
    if opts.get("mapped_targets"):
        folder = os.path.dirname(spec["path"])
        np.save(os.path.join(folder, "y.npy"), y)
        y = np.load(os.path.join(folder, "y.npy"), mmap_mode="r")
        if w is not None:
            np.save(os.path.join(folder, "w.npy"), w)
            w = np.load(os.path.join(folder, "w.npy"), mmap_mode="r")
    caller_bytes = (0 if opts.get("mapped_targets") else
                    y.nbytes + (0 if w is None else w.nbytes))
    hidden = spec["hidden"]
    if est_name == "train":
        Y = y.astype(X.dtype).reshape(-1, 1)
        caller_bytes += Y.nbytes
        sizes = [X.shape[1], hidden, 1]
        W0, b0 = nnfast.init_params(sizes, random_state=0, dtype=X.dtype)
        kw = dict(learning_rate=0.01, batch_size=spec["batch"], epochs=spec["epochs"],
                  out_activation="identity")
        nnfast.train(np.array(X[:600]), Y[:600], W0, b0, **kw)
        kw["sample_weight"] = w

        def run(Xs):
            Ws, bs, _ = nnfast.train(Xs, Y, W0, b0, **kw)
            return Ws, bs
    else:
        Est = getattr(nnfast, est_name)
        p = dict(hidden_layer_sizes=(hidden,), batch_size=spec["batch"], max_iter=spec["epochs"],
                 tol=0.0, random_state=0)
        p.update(params)
        kw = {} if w is None else {"sample_weight": w}
        method = "partial_fit" if opts.get("partial_fit") else "fit"
        if method == "partial_fit" and classes:
            kw["classes"] = np.arange(classes)
        getattr(Est(**p), method)(np.array(X[:600]), y[:600],
                                  **{k: (v[:600] if k == "sample_weight" else v)
                                     for k, v in kw.items()})

        def run(Xs):
            est = Est(**p)
            getattr(est, method)(Xs, y, **kw)
            return est.coefs_, est.intercepts_
    out = {}
    from nnfast.bench.memory import measure

    mem = measure(lambda: out.setdefault("map", run(X)))
    seconds = mem.pop("seconds")
    t0 = time.perf_counter()
    Xm = np.array(X)
    copy_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    in_memory = run(Xm)
    memory_s = time.perf_counter() - t0
    print(json.dumps({"case": spec["case"], "seconds_map": seconds, "seconds_memory": memory_s,
                      "seconds_copy": copy_s, "caller_bytes": caller_bytes, **mem,
                      "same": _digest(*out["map"]) == _digest(*in_memory)}))


def _write_file(path, n, d, dtype):
    import numpy as np

    X = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(n, d))
    rng = np.random.default_rng(0)
    for s in range(0, n, 100_000):
        X[s:s + 100_000] = rng.standard_normal((min(100_000, n - s), d))
    X.flush()
    del X


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_500_000)
    ap.add_argument("--features", type=int, default=100)
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--hidden", type=int, default=64, help="units of the one hidden layer")
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--cases", default=",".join(k for k, v in CASES.items()
                                                if v[2].get("target", True)),
                    help=f"comma-separated, of: {'; '.join(CASES)}")
    ap.add_argument("--lbfgs", action="store_true", help="add the L-BFGS row (no target)")
    ap.add_argument("--out", help="write the record (Markdown) here: a file, or a folder for "
                                  "<folder>/<date>-memmap.md")
    ap.add_argument("--build", help="how the nnfast under test was built, for the record, when "
                                    "it is not its checkout's HEAD")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    if not os.path.exists("/proc/self/status"):
        ap.error("reads the memory counters of Linux's /proc")
    names = [c for c in args.cases.split(",") if c]
    if args.lbfgs:
        names += [k for k, v in CASES.items() if v[2].get("lbfgs") and k not in names]
    if any(c not in CASES for c in names):
        ap.error(f"--cases: of {list(CASES)}")

    from nnfast.bench import machine, record
    from nnfast.bench.report import md_table

    env = {k: v for k, v in os.environ.items() if k not in machine.BLAS_HANDICAP_VARS}
    env["MALLOC_MMAP_THRESHOLD_"] = "131072"
    facts = machine.machine_facts()  # its date and load are the run's start
    tmp = tempfile.mkdtemp(prefix="nnfast-memmap-")
    t_start = time.perf_counter()
    rows = []
    try:
        path = os.path.join(tmp, "X.npy")
        _write_file(path, args.rows, args.features, args.dtype)
        file_mb = os.path.getsize(path) / MB
        print(f"{path}: {args.rows} x {args.features} {args.dtype}, {file_mb:.0f} MB",
              file=sys.stderr)
        for name in names:
            spec = dict(case=name, path=path, hidden=args.hidden, batch=args.batch,
                        epochs=args.epochs)
            r = machine.run_json([sys.executable, os.path.abspath(__file__), "--child",
                                  json.dumps(spec)], env, timeout=1800)
            judged = CASES[name][2].get("target", True)
            added = r["added"] / MB
            verdict = ("pass" if added < TARGET_MB else "**OVER**") if judged else "(no target)"
            rows.append([name, f"{added:.1f}", f"{r['caller_bytes'] / MB:.0f}",
                         f"{r['vmhwm'] / MB:.0f}", f"{r['file_pages'] / MB:.0f}",
                         f"{r['seconds_map']:.2f}", f"{r['seconds_memory']:.2f}",
                         f"{r['seconds_map'] / r['seconds_memory']:.2f}",
                         "yes" if r["same"] else "**NO**", verdict])
            print(f"  {name}: +{added:.1f} MB anonymous, {r['seconds_map']:.2f} s on the map, "
                  f"{r['seconds_memory']:.2f} s in memory", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.perf_counter() - t_start
    table = md_table(["case", "added MB (anon, peak)", "caller's y, w MB", "VmHWM MB",
                      "file pages MB", "map s", "in-memory s", "map / memory", "same weights",
                      f"< {TARGET_MB} MB"], rows, numeric={1, 2, 3, 4, 5, 6, 7})
    threads = os.environ.get("OMP_NUM_THREADS", "all")
    text = "\n".join([
        f"# {facts['date']} UTC — fits on a memory-mapped X", "",
        f"**Machine.** {facts['cpu']}, {facts['logical_cpus']} logical CPUs; Linux "
        f"{facts['kernel']}; Python {facts['python']}, numpy {facts['numpy']}, scikit-learn "
        f"{facts['sklearn']}; nnfast git {facts['nnfast_git']}"
        + (f" ({args.build})" if args.build else "") + ".", "",
        f"**Data.** X: {args.rows} x {args.features} {args.dtype}, a {file_mb:.0f} MB .npy "
        f"opened with np.load(mmap_mode='r') (in the page cache: just written). Network: "
        f"one hidden layer of {args.hidden}, batch {args.batch}, {args.epochs} epoch(s); "
        f"OMP_NUM_THREADS={threads}.", "",
        "**Columns.** added: the peak anonymous memory over the fit less that just before "
        "it (sampled RssAnon every ms, and VmHWM less the file's pages; malloc's mmap "
        "threshold fixed at 128 kB); caller's y, w: the labels and weights the caller made "
        "before the fit (not counted in added); VmHWM: the process's peak RSS during the fit "
        "(interpreter, libraries and the file's pages included); file pages: the file's pages "
        "the fit read; map / memory: fit time on the map over the same fit on an in-memory "
        "copy of X; same weights: the two fits' parameters bit for bit.", "",
        f"**Load.** 1/5/15-min load average {facts['load_before']} before, {machine.loadavg()} after; "
        f"the run took {elapsed / 60:.1f} min.", "",
        "```sh",
        "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/memmap.py "
        + shlex.join(argv if argv is not None else sys.argv[1:]), "```", "",
        table])
    print(text)
    if args.out:
        out = (record.record_path(args.out, facts["date"], "memmap") if os.path.isdir(args.out)
               else args.out)
        record.write_record(out, text)
        print(f"recorded in {out}", file=sys.stderr)
    bad = any("OVER" in r[-1] or "NO" in r[-2] for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
