"""The estimators' fixed cost per call: nnfast's MLPClassifier / MLPRegressor against
scikit-learn's on data too small for the arithmetic to matter.

For each case, one process times nnfast's call and scikit-learn's on the same arrays (the
same parameters, hidden_layer_sizes=(8,), random_state=0), the two taking turns for
--rounds rounds (the order reversed in every other round), each time the best of --number
calls; a row reports the median over rounds, in microseconds, and scikit-learn / nnfast:

* ``fit``: a fresh estimator, one epoch (max_iter=1; ConvergenceWarning silenced in both);
* ``refit``: the same estimator fitted again (what a loop over fits, or fit after
  set_params, pays);
* ``partial_fit``: one more batch of an estimator already trained;
* ``predict`` and ``predict_proba``: a fitted estimator, the rows given.

Rows: 4 x 2 (XOR), 100 x 20 and 1000 x 20, float64. Both run on one thread (nnfast's
OpenMP, NumPy's BLAS by threadpoolctl). The goal (``FIT_GOAL_US``) is the second speed
round's "per-fit overhead well under a millisecond": a fresh fit of 100 rows under 1 ms (the
record says by how much). The record goes to
results/<date>-overhead.md (``--out``); ``--results-md`` rewrites its section of RESULTS.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/overhead.py
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

from nnfast.bench import machine, record
from nnfast.bench.report import md_table

#: The second speed round's "per-fit overhead well under a millisecond": a fresh
#: MLPClassifier fit of one epoch on 100 x 20 float64 must take less (microseconds).
FIT_GOAL_US = 1000.0

SHAPES = ((4, 2), (100, 20), (1000, 20))
PARAMS = dict(hidden_layer_sizes=(8,), random_state=0, max_iter=1)


def _calls(mod, X, y):
    """{operation: zero-argument call} for one library's estimators on X, y."""
    Clf, Reg = mod.MLPClassifier, mod.MLPRegressor
    clf, reg = Clf(**PARAMS).fit(X, y), Reg(**PARAMS).fit(X, y)
    online = Clf(hidden_layer_sizes=(8,), random_state=0).partial_fit(X, y, classes=[0, 1])
    return {
        "MLPClassifier fit": lambda: Clf(**PARAMS).fit(X, y),
        "MLPClassifier refit": lambda: clf.fit(X, y),
        "MLPClassifier partial_fit": lambda: online.partial_fit(X, y),
        "MLPClassifier predict": lambda: clf.predict(X),
        "MLPClassifier predict_proba": lambda: clf.predict_proba(X),
        "MLPRegressor fit": lambda: Reg(**PARAMS).fit(X, y),
        "MLPRegressor predict": lambda: reg.predict(X),
    }


def best_us(call, number):
    """The fastest of `number` calls, in microseconds."""
    best = float("inf")
    for _ in range(number):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best * 1e6


def main(argv=None):
    """Run the comparison; print the record and write it to --out. 0 when the goal holds."""
    import sklearn.neural_network as sk
    from threadpoolctl import threadpool_limits

    import nnfast

    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds (default: 7)")
    parser.add_argument("--number", type=int, default=50,
                        help="calls per measurement, the best kept (default: 50)")
    parser.add_argument("--out", default=None,
                        help="the record to write (default: results/<date>-overhead.md; "
                             "'-': none)")
    parser.add_argument("--results-md", default=None, metavar="FILE",
                        help="rewrite the overhead section of this RESULTS.md")
    args = parser.parse_args(argv)
    facts = machine.machine_facts()
    nnfast._core.set_num_threads(1)
    rows = []
    goal_us = None
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after one epoch, in both
        for n, d in SHAPES:
            if (n, d) == (4, 2):  # XOR
                X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
            else:
                X = np.random.RandomState(0).standard_normal((n, d))
            y = (X[:, 0] != X[:, 1]).astype(np.int64) if n == 4 else (
                X[:, 0] * X[:, 1] > 0).astype(np.int64)
            ours, theirs = _calls(nnfast, X, y), _calls(sk, X, y)
            for op in ours:
                times = {"nnfast": [], "scikit-learn": []}
                for rnd in range(args.rounds):
                    pair = [("nnfast", ours[op]), ("scikit-learn", theirs[op])]
                    for name, call in pair if rnd % 2 == 0 else pair[::-1]:
                        times[name].append(best_us(call, args.number))
                a, b = (statistics.median(times[k]) for k in ("nnfast", "scikit-learn"))
                if (n, d) == (100, 20) and op == "MLPClassifier fit":
                    goal_us = a
                rows.append([f"{n} x {d}", op, f"{a:.0f}", f"{b:.0f}", f"{b / a:.2f}"])
                print(f"  {n:>5} x {d:<3} {op:<30} nnfast {a:8.0f} us  scikit-learn "
                      f"{b:8.0f} us  {b / a:5.2f}x", file=sys.stderr, flush=True)
    table = md_table(["rows x features", "call", "nnfast us", "scikit-learn us",
                      "scikit-learn / nnfast"], rows, numeric={2, 3, 4})
    met = goal_us is not None and goal_us < FIT_GOAL_US
    text = "\n".join([
        f"# {facts['date']} UTC — the estimators' fixed cost per call, nnfast against "
        "scikit-learn", "",
        f"**Machine.** {facts['cpu']}, {facts['logical_cpus']} logical CPUs; Python "
        f"{facts['python']}, numpy {facts['numpy']}, scikit-learn {sklearn_version()}, "
        f"nnfast git {facts['nnfast_git']}; one thread each.", "",
        f"**Method.** One process; per row the two libraries take turns for {args.rounds} "
        f"rounds (reversed in every other round), each turn the best of {args.number} "
        "calls; the median over rounds. hidden_layer_sizes=(8,), random_state=0, one epoch "
        "(max_iter=1) per fit; 4 x 2 is XOR, the others standard normal X with y = (x0 x1 > 0).",
        "",
        f"**Load.** 1/5/15-min load average {facts['load_before']} before, "
        f"{machine.loadavg()} after.", "",
        "```sh", ("env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/overhead.py "
                   + " ".join(argv if argv is not None else sys.argv[1:])).rstrip(), "```", "",
        table, "",
        f"A fresh MLPClassifier fit of 100 x 20: {goal_us:.0f} us "
        f"({'within' if met else 'BEYOND'} the goal of {FIT_GOAL_US:.0f} us)."])
    print(text)
    record.publish(text, args.out, os.path.join(here, "results"), facts["date"], "overhead",
                   args.results_md)
    return 0 if met else 1


def sklearn_version():
    import sklearn

    return sklearn.__version__


if __name__ == "__main__":
    sys.exit(main())
