"""Accuracy parity of nnfast.MLPClassifier with scikit-learn's, on real data available offline.

For each of scikit-learn's bundled data sets (digits, breast_cancer, wine, iris) and each
seed: a stratified 75/25 train/test split (random_state=seed), features standardised by a
StandardScaler fit on the training part, then both estimators fit with their DEFAULT
parameters except ``max_iter`` (500 by default) and ``random_state=seed``. Reported per
data set: the mean (and min..max) test accuracy of each, their difference in points
(target: within targets.json's "parity" gap, 1 point), the mean fit time of each and the
ratio sklearn / nnfast (above 1: nnfast is faster). Fits alternate between the two libraries, nnfast first.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/parity.py
    # options: --seeds 5 --max-iter 500 --datasets digits,iris --json out.json

Prints a Markdown table (and the machine / versions) ready for benchmarks/RESULTS.md;
exits 1 when a data set misses the accuracy target.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings

import numpy as np

from nnfast.bench.targets import load_targets

DATASETS = ("digits", "breast_cancer", "wine", "iris")
MAX_GAP_POINTS = load_targets()["parity"]["max_accuracy_gap_points"]


def load(name):
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)


def split(X, y, seed):
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xte), ytr, yte


def timed_fit(cls, Xtr, ytr, Xte, yte, seed, max_iter):
    est = cls(max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        est.fit(Xtr, ytr)
        dt = time.perf_counter() - t0
    converged = not any("Maximum iterations" in str(w.message) for w in caught)
    return float(est.score(Xte, yte)), dt, est.n_iter_, converged


def machine():
    import sklearn

    import nnfast

    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown"
    cfg = nnfast.config()
    try:
        load1 = os.getloadavg()
    except OSError:
        load1 = None
    return {"cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "sklearn": sklearn.__version__,
            "nnfast": nnfast.__version__, "nnfast_threads": cfg.get("max_threads"),
            "gemm_kernel": cfg.get("gemm_kernel"), "loadavg": load1}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--max-iter", type=int, default=500)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--json", help="also write the raw results here")
    args = ap.parse_args(argv)

    from sklearn.neural_network import MLPClassifier as SkMLP

    from nnfast import MLPClassifier as NnMLP

    info = machine()
    print("machine:", json.dumps(info))
    rows, raw = [], {}
    ok = True
    for name in args.datasets.split(","):
        X, y = load(name)
        res = {"nnfast": [], "sklearn": []}
        for seed in range(args.seeds):
            Xtr, Xte, ytr, yte = split(X, y, seed)
            for lib, cls in (("nnfast", NnMLP), ("sklearn", SkMLP)):
                res[lib].append(timed_fit(cls, Xtr, ytr, Xte, yte, seed, args.max_iter))
        raw[name] = res
        acc = {k: np.array([r[0] for r in v]) * 100 for k, v in res.items()}
        fit = {k: np.array([r[1] for r in v]) for k, v in res.items()}
        iters = {k: np.mean([r[2] for r in v]) for k, v in res.items()}
        diff = acc["nnfast"].mean() - acc["sklearn"].mean()
        ok &= abs(diff) <= MAX_GAP_POINTS
        rows.append(
            f"| {name} | {X.shape[0]}×{X.shape[1]}, {len(np.unique(y))} classes "
            f"| {acc['nnfast'].mean():.2f} ({acc['nnfast'].min():.1f}–{acc['nnfast'].max():.1f}) "
            f"| {acc['sklearn'].mean():.2f} ({acc['sklearn'].min():.1f}–{acc['sklearn'].max():.1f}) "
            f"| {diff:+.2f} | {iters['nnfast']:.0f} / {iters['sklearn']:.0f} "
            f"| {fit['nnfast'].mean() * 1e3:.1f} | {fit['sklearn'].mean() * 1e3:.1f} "
            f"| {fit['sklearn'].mean() / fit['nnfast'].mean():.1f}× |")
        print(rows[-1], flush=True)
    header = ("| data set | size | nnfast acc % (min–max) | sklearn acc % (min–max) "
              "| Δ points | mean n_iter_ nnfast / sklearn | nnfast fit ms | sklearn fit ms "
              "| sklearn / nnfast |\n|---|---|---|---|---|---|---|---|---|")
    print()
    print(f"{args.seeds} seeds, max_iter={args.max_iter}, otherwise default parameters; "
          "test accuracy on a stratified 25% split, features standardised on the train part")
    print(header)
    print("\n".join(rows))
    print(f"\nparity (|Δ| ≤ {MAX_GAP_POINTS:g} point(s) on every data set):",
          "PASS" if ok else "FAIL")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "args": vars(args), "results": raw}, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
