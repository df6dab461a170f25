"""Side-by-side speed of two builds of nnfast: the same workloads, alternating, best of N.

A change that must not slow nnfast down (a refactoring) is judged by running the old and the
new build in one shell, in alternation, so that the host's drift falls on both alike:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/compare_builds.py \\
        --old /work/base/.venv/bin/python --new .venv/bin/python --rounds 5 \\
        --out benchmarks/results/<date>-compare-builds.md

Each interpreter imports its own nnfast (build one with `python -m venv DIR && DIR/bin/pip
install <tree>`). The workloads are the training benchmark's (nnfast.bench.workloads, full
sizes; the data and initial weights are written once and loaded by both builds), timed by
the benchmark's own peer harness (nnfast/bench/peers.py, copied to a temporary folder and run
as a script by each interpreter, so the old build needs no nnfast.bench): one process per
build, workload, dtype and round; a warm-up fit, then fits repeated from the same weights up
to --inner-budget seconds, best kept. With --estimators, MLPClassifier fits are timed as well
(the estimator path: adam on digits, SGD with momentum on small, SGD on mnist_like given as
a scipy CSR matrix). A row's time is the best over the rounds; new/old above 1 means the
new build is slower. The final weights of the two builds are compared bit for bit.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from nnfast.bench import machine, record
from nnfast.bench.report import md_table
from nnfast.bench.workloads import DTYPES, WORKLOADS, write_inputs

#: The largest new/old time ratio that still counts as "not slower".
TOLERANCE = 1.03

#: Estimator fits (--estimators): name -> (workload whose data it uses, MLPClassifier keywords,
#: whether X is passed as a CSR matrix).
ESTIMATORS = {
    "MLPClassifier adam digits": ("digits", dict(hidden_layer_sizes=(100,), solver="adam",
                                                 max_iter=30, tol=0.0, n_iter_no_change=10**6,
                                                 random_state=0), False),
    "MLPClassifier sgd small": ("small", dict(hidden_layer_sizes=(64,), activation="tanh",
                                              solver="sgd", momentum=0.9, batch_size=64,
                                              max_iter=5, tol=0.0, n_iter_no_change=10**6,
                                              random_state=0), False),
    "MLPClassifier sgd mnist_like CSR": ("mnist_like", dict(hidden_layer_sizes=(256, 128),
                                                            solver="sgd", batch_size=128,
                                                            max_iter=1, random_state=0), True),
}

# One estimator fit in a fresh process of the build under test: JSON on stdout.
_ESTIMATOR_CODE = r"""
import hashlib, json, os, sys, time, warnings
import numpy as np
spec = json.loads(sys.argv[1])
import nnfast
nnfast._core.set_num_threads(spec["threads"])
from nnfast import MLPClassifier
X = np.load(os.path.join(spec["dir"], "X_" + spec["dtype"] + ".npy"))
y = np.load(os.path.join(spec["dir"], "labels.npy"))
if spec["csr"]:
    import scipy.sparse
    X = scipy.sparse.csr_matrix(X)
warnings.simplefilter("ignore")
MLPClassifier(**dict(spec["params"], max_iter=1)).fit(X[:256], y[:256])   # warm-up
best, fits, digest = float("inf"), 0, None
while fits == 0 or (sum_t < spec["inner_budget"] and fits < 20):
    clf = MLPClassifier(**spec["params"])
    t0 = time.perf_counter(); clf.fit(X, y); t = time.perf_counter() - t0
    sum_t = t if fits == 0 else sum_t + t
    best, fits = min(best, t), fits + 1
    h = hashlib.sha256()
    for a in list(clf.coefs_) + list(clf.intercepts_):
        h.update(np.ascontiguousarray(a).tobytes())
    if digest not in (None, h.hexdigest()):
        raise SystemExit("repeated fits differ")
    digest = h.hexdigest()
print(json.dumps({"seconds": best, "inner_fits": fits, "digest": digest,
                  "nnfast": os.path.dirname(nnfast.__file__)}))
"""


def _env(threads):
    # Each interpreter must import its own nnfast: no PYTHONPATH leaks into either.
    env = machine.peer_env(threads)
    env.pop("PYTHONPATH", None)
    return env


def _digest(path):
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    with np.load(path) as z:
        for k in sorted(z.files, key=lambda s: int(s.split("_")[1])):
            h.update(np.ascontiguousarray(z[k]).tobytes())
    return h.hexdigest()


def one_run(python, harness, case, threads, inner_budget, directory, tag):
    """Time one case with one build's interpreter: (best seconds, fits, digest of the weights)."""
    kind, name, dt = case
    if kind == "train":
        w = WORKLOADS[name]
        out = os.path.join(directory, f"final_{tag}_{name}_{dt}.npz")
        spec = {"peer": "nnfast", "workload": name, "dtype": dt, "threads": threads,
                "dir": os.path.join(directory, name), "sizes": list(w.sizes),
                "activation": w.activation, "out": w.out, "batch": w.batch, "epochs": w.epochs,
                "lr": w.lr, "warmup": True, "inner_budget": inner_budget,
                "inner_max_fits": 100, "save_weights": out}
        r = machine.run_json([python, harness, json.dumps(spec)], _env(threads))
        return r["seconds"], r["inner_fits"], _digest(out)
    data, params, csr = ESTIMATORS[name]
    spec = {"dir": os.path.join(directory, data), "dtype": dt, "threads": threads,
            "params": params, "csr": csr, "inner_budget": inner_budget}
    r = machine.run_json([python, "-c", _ESTIMATOR_CODE, json.dumps(spec)], _env(threads))
    return r["seconds"], r["inner_fits"], r["digest"]


def _where(python):
    p = subprocess.run([python, "-c", "import nnfast; print(nnfast.__file__, "
                        "nnfast.config()['gemm_kernel'])"], capture_output=True, text=True,
                       env=_env(1), check=True)
    return p.stdout.strip()


def _busy():
    """Processes using >= 5 % of a CPU over half a second (`top`'s second frame), for the
    record: work on the other core skews a comparison."""
    try:
        out = subprocess.run(["top", "-b", "-n", "2", "-d", "0.5", "-c", "-w", "250"],
                             capture_output=True, text=True, timeout=20).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return []
    frames = [i for i, ln in enumerate(out) if ln.lstrip().startswith("PID")]
    lines = []
    for ln in out[frames[-1] + 1:] if frames else []:
        parts = ln.split()
        try:
            if len(parts) > 11 and float(parts[8]) >= 5.0:
                lines.append(f"{parts[8]}% {' '.join(parts[11:])[:100]}")
        except ValueError:
            pass
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True, help="python of the old build")
    ap.add_argument("--new", required=True, help="python of the new build")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--dtypes", default=",".join(DTYPES))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5, help="alternations of the two builds")
    ap.add_argument("--inner-budget", type=float, default=1.0, metavar="SECONDS",
                    help="fits repeated within each process up to this (best kept)")
    ap.add_argument("--estimators", action="store_true",
                    help="also time MLPClassifier fits (the estimator path)")
    ap.add_argument("--contend", type=int, metavar="CPU",
                    help="keep a process spinning on this CPU throughout (a busy neighbour: "
                         "how each build's threads cope with a core they must share)")
    ap.add_argument("--out", help="write the Markdown record here")
    ap.add_argument("--results-md", help="rewrite the build comparison's section of this "
                                         "Markdown file (RESULTS.md), linking to --out")
    args = ap.parse_args(argv)
    names = [x for x in args.workloads.split(",") if x]
    dtypes = [x for x in args.dtypes.split(",") if x]
    if any(n not in WORKLOADS for n in names) or any(d not in DTYPES for d in dtypes):
        ap.error(f"--workloads: {list(WORKLOADS)}; --dtypes: {list(DTYPES)}")
    if args.rounds < 1 or args.threads < 1:
        ap.error("--rounds and --threads must be >= 1")
    if args.contend is not None and args.contend not in os.sched_getaffinity(0):
        ap.error(f"--contend: CPU {args.contend} is not one this process may run on")
    cases = [("train", n, d) for n in names for d in dtypes]
    if args.estimators:
        cases += [("estimator", e, d) for e in ESTIMATORS for d in dtypes
                  if ESTIMATORS[e][0] in names]
    builds = {"old": args.old, "new": args.new}
    where = {k: _where(p) for k, p in builds.items()}
    for k, w in where.items():
        print(f"{k}: {builds[k]} -> {w}", file=sys.stderr)
    load_before, busy_before = machine.loadavg(), _busy()
    t_start = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix="nnfast-compare-")
    hog = None if args.contend is None else subprocess.Popen(
        [sys.executable, "-c", f"import os\nos.sched_setaffinity(0, {{{args.contend}}})\n"
                               "while True: pass"])
    times = {(c, k): [] for c in cases for k in builds}
    digests = {(c, k): set() for c in cases for k in builds}
    try:
        harness = os.path.join(tmp, "peers.py")
        shutil.copy(os.path.join(os.path.dirname(machine.__file__), "peers.py"), harness)
        for n in names:
            os.makedirs(os.path.join(tmp, n))
            write_inputs(WORKLOADS[n], WORKLOADS[n].rows, dtypes, os.path.join(tmp, n))
        for rnd in range(args.rounds):
            order = ["old", "new"] if rnd % 2 == 0 else ["new", "old"]
            for case in cases:
                for k in order:
                    s, fits, dig = one_run(builds[k], harness, case, args.threads,
                                           args.inner_budget, tmp, k)
                    times[case, k].append(s)
                    digests[case, k].add(dig)
                    print(f"  round {rnd + 1}/{args.rounds} {case[1]:<33} {case[2]} {k}: "
                          f"{s:.4f} s (best of {fits})", file=sys.stderr, flush=True)
    finally:
        if hog:
            hog.kill()
            hog.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.perf_counter() - t_start
    rows, worst = [], 0.0
    for case in cases:
        old, new = min(times[case, "old"]), min(times[case, "new"])
        ratio = new / old
        worst = max(worst, ratio)
        same = digests[case, "old"] == digests[case, "new"] and len(digests[case, "old"]) == 1
        rows.append([case[1], case[2], f"{old:.4f}", f"{new:.4f}", f"{ratio:.3f}",
                     f"{statistics.median(times[case, 'new']) / statistics.median(times[case, 'old']):.3f}",
                     "yes" if same else "**NO**",
                     "pass" if ratio <= TOLERANCE else "**SLOWER**"])
    table = md_table(["workload", "dtype", "old s", "new s", "new/old (best)", "new/old (median)",
                      "same weights", f"≤ {TOLERANCE}"], rows, numeric={2, 3, 4, 5})
    facts = machine.machine_facts()
    text = "\n".join([
        f"# {facts['date']} UTC — old vs new build, side by side", "",
        f"**Machine.** {facts['cpu']}, {facts['logical_cpus']} logical CPUs; Linux "
        f"{facts['kernel']}; Python {facts['python']}, numpy {facts['numpy']}.", "",
        f"**Builds.** old: `{where['old']}`; new: `{where['new']}` (git {facts['nnfast_git']}).",
        "",
        f"**Threads.** {args.threads}; {args.rounds} rounds alternating the builds (old first "
        f"in odd rounds); each process warms up, then repeats the fit up to "
        f"{args.inner_budget} s and keeps the best; a row's time is the best over the rounds.",
        "",
        f"**Load.** 1/5/15-min load average {load_before} before, {machine.loadavg()} after; "
        f"processes using ≥ 5 % CPU before the run: {'; '.join(busy_before) or 'none'}; the "
        f"run took {elapsed / 60:.1f} min."
        + ("" if args.contend is None else f" A process spun on CPU {args.contend} throughout "
           "(--contend): the builds shared that core with it."), "",
        "```sh", "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/compare_builds.py "
        + " ".join(argv if argv is not None else sys.argv[1:]), "```", "",
        table, "",
        f"Worst new/old (best of rounds): {worst:.3f} "
        f"({'within' if worst <= TOLERANCE else 'BEYOND'} the {TOLERANCE} allowed)."])
    print(text)
    if args.out:
        record.write_record(args.out, text)
    if args.results_md:
        body = text.split("\n", 2)[2]           # without the record's own title
        if args.out:
            link = os.path.relpath(args.out, os.path.dirname(os.path.abspath(args.results_md)))
            body = (f"Latest run: **{facts['date']} UTC** (record: "
                    f"[{os.path.basename(link)}]({link})).\n\n" + body)
        record.update_section(args.results_md, "compare", body)
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
