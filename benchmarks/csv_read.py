"""Is ``nnfast train big.csv`` as quick as pandas.read_csv plus the same fit?

Writes a CSV of --rows rows x --cols columns (features from a standard normal, 7
significant digits; the last column a 0/1 label from a linear teacher) in a temporary
folder, then times whole fresh processes, the commands taking turns in every round (the
order reversed in every other round), and reports each command's median over --repeat
rounds:

* ``script``: ``pandas.read_csv`` then ``nnfast.MLPClassifier(hidden_layer_sizes=(8,),
  max_iter=1, random_state=0).fit`` on every row (the estimator ``nnfast train --hidden 8
  --epochs 1`` builds: the other parameters are the defaults of both);
* ``nnfast train DATA --hidden 8 --epochs 1`` as typed (fits 80 % of the rows, then
  scores the other 20 % and saves the model);
* the same with ``--test-size 0``: the script's fit on every row, plus the save;
* the reads alone: pandas.read_csv, pyarrow.csv.read_csv (the other parser nnfast could
  have used; skipped without pyarrow) and nnfast's reader
  (``nnfast.cli.readers.read_table``), and the start-up costs (``import nnfast``,
  ``import pandas``, ``nnfast train --help``).

The goal (``GOAL``): nnfast train within 1.5x of the script. The record goes to
results/<date>-csv-read.md (``--out``), with the load averages before and after (on a
shared machine the numbers are noise unless the load was near zero); ``--results-md``
rewrites its section of RESULTS.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/csv_read.py
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from nnfast.bench import machine, record
from nnfast.bench.report import md_table

#: The most nnfast train's median may take, as a multiple of the script's.
GOAL = 1.5

_SCRIPT = """\
import sys
import pandas as pd
from nnfast import MLPClassifier
df = pd.read_csv(sys.argv[1])
X = df.iloc[:, :-1].to_numpy(dtype="float64")
y = df.iloc[:, -1].to_numpy()
MLPClassifier(hidden_layer_sizes=(8,), max_iter=1, random_state=0).fit(X, y)
"""


def write_csv(path, rows, cols, seed=0):
    """A CSV at `path`: header f0..f{cols-2},y; `rows` rows of features and a 0/1 label."""
    rng = np.random.RandomState(seed)
    X = rng.randn(rows, cols - 1)
    y = (X @ rng.randn(cols - 1) > 0).astype(np.int64)
    with open(path, "w") as f:
        f.write(",".join([f"f{j}" for j in range(cols - 1)] + ["y"]) + "\n")
        np.savetxt(f, np.column_stack([X, y]), delimiter=",",
                   fmt=["%.7g"] * (cols - 1) + ["%d"])


def commands(python, data, folder):
    """{name: argv}: the timed commands, in their order within a round."""
    train = [python, "-m", "nnfast", "train", data, "--hidden", "8", "--epochs", "1"]
    return {
        "script: pandas.read_csv + fit": [python, "-c", _SCRIPT, data],
        "nnfast train --hidden 8 --epochs 1": train + ["--out", os.path.join(folder, "a.nnf")],
        "nnfast train ... --test-size 0": train + ["--test-size", "0", "--out",
                                                   os.path.join(folder, "b.nnf")],
        "read only: pandas.read_csv": [python, "-c", "import sys, pandas; "
                                       "pandas.read_csv(sys.argv[1])", data],
        "read only: pyarrow.csv.read_csv": [python, "-c", "import sys, pyarrow.csv; "
                                            "pyarrow.csv.read_csv(sys.argv[1])", data],
        "read only: nnfast.cli.readers.read_table": [
            python, "-c", "import sys; from nnfast.cli.readers import read_table; "
            "read_table(sys.argv[1])", data],
        "start-up: python -c pass": [python, "-c", "pass"],
        "start-up: import nnfast": [python, "-c", "import nnfast"],
        "start-up: import pandas": [python, "-c", "import pandas"],
        "start-up: nnfast train --help": [python, "-m", "nnfast", "train", "--help"],
    }


def time_once(argv, env):
    """Wall seconds of one run of `argv` (a fresh process); RuntimeError if it fails."""
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:5])} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def main(argv=None):
    """Run the comparison; print the record and write it to --out. 0 when the goal holds."""
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--cols", type=int, default=30, help="columns, the label included")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default: 3)")
    parser.add_argument("--out", default=None,
                        help="the record to write (default: results/<date>-csv-read.md; "
                             "'-': none)")
    parser.add_argument("--results-md", default=None, metavar="FILE",
                        help="rewrite the csv-read section of this RESULTS.md")
    args = parser.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k not in machine.BLAS_HANDICAP_VARS}
    facts = machine.machine_facts()
    folder = tempfile.mkdtemp(prefix="nnfast-csv-read-")
    try:
        data = os.path.join(folder, "big.csv")
        start = time.perf_counter()
        write_csv(data, args.rows, args.cols)
        size = os.path.getsize(data)
        print(f"wrote {data}: {size / 2**20:.0f} MiB in {time.perf_counter() - start:.1f} s",
              file=sys.stderr)
        cmds = commands(sys.executable, data, folder)
        if _version("pyarrow") == "not installed":
            del cmds["read only: pyarrow.csv.read_csv"]
        times = {name: [] for name in cmds}
        for rnd in range(args.repeat):
            order = list(cmds) if rnd % 2 == 0 else list(reversed(cmds))
            for name in order:
                times[name].append(time_once(cmds[name], env))
                print(f"  round {rnd + 1}/{args.repeat} {name:<42} {times[name][-1]:7.2f} s",
                      file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    median = {name: statistics.median(t) for name, t in times.items()}
    base = median["script: pandas.read_csv + fit"]
    rows = [[name, f"{median[name]:.2f}", " ".join(f"{t:.2f}" for t in times[name]),
             f"{median[name] / base:.2f}"] for name in times]
    table = md_table(["process", "median s", "each round s", "/ script"], rows,
                     numeric={1, 3})
    worst = max(median["nnfast train --hidden 8 --epochs 1"],
                median["nnfast train ... --test-size 0"]) / base
    verdict = "within" if worst <= GOAL else "BEYOND"
    text = "\n".join([
        f"# {facts['date']} UTC — nnfast train on a CSV against pandas.read_csv + fit", "",
        f"**Machine.** {facts['cpu']}, {facts['logical_cpus']} logical CPUs; Python "
        f"{facts['python']}, numpy {facts['numpy']}, pandas {_version('pandas')}, "
        f"pyarrow {_version('pyarrow')}, nnfast "
        f"git {facts['nnfast_git']}.", "",
        f"**Data.** {args.rows:,} rows x {args.cols} columns ({size / 2**20:.0f} MiB), written "
        f"by this script; whole fresh processes, {args.repeat} rounds, the commands taking "
        f"turns (reversed in every other round); a row's time is its median.", "",
        f"**Load.** 1/5/15-min load average {facts['load_before']} before, "
        f"{machine.loadavg()} after.", "",
        "```sh", ("env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/csv_read.py "
                   + " ".join(argv if argv is not None else sys.argv[1:])).rstrip(), "```", "",
        table, "",
        f"nnfast train / script (the slower of the two train commands): {worst:.2f} "
        f"({verdict} the goal of {GOAL})."])
    print(text)
    record.publish(text, args.out, os.path.join(here, "results"), facts["date"], "csv-read",
                   args.results_md)
    return 0 if worst <= GOAL else 1


def _version(name):
    try:
        return __import__(name).__version__
    except ImportError:
        return "not installed"


if __name__ == "__main__":
    sys.exit(main())
