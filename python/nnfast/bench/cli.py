"""The training benchmark's command line: `python -m nnfast bench ...` and benchmarks/run.py."""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Collection
from dataclasses import asdict
from typing import Any

from . import machine, measure, record, report
from .peers import ALL_PEERS
from .workloads import DTYPES, WORKLOADS

DESCRIPTION = """\
Side-by-side training benchmark: nnfast against its NumPy reference, scikit-learn's
MLPClassifier and PyTorch eager (each when installed), every peer in its own process,
training the same network from the same weights on the same batches with plain SGD.
Ratios are peer time / nnfast time: above 1, nnfast is faster."""

EPILOG = """\
--quick: shrunk workloads, float32, 1 thread, one warm turn, one process per peer for all
workloads (under a minute on two cores); prints the ratios, judges no target (the targets
are for the full sizes).

A recorded run (run it with OpenBLAS's handicap variables unset):
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run.py \\
      --out-json /tmp/run.json --chart benchmarks/results.png \\
      --results-md benchmarks/RESULTS.md
writes benchmarks/results/<date>-train.md and rewrites the training section of RESULTS.md."""

#: What --quick changes when the option is not given explicitly.
QUICK_DEFAULTS = {"dtypes": ["float32"], "threads": [1], "repeat": 1, "import_time": False,
                  "inner_budget": 0.1}
FULL_DEFAULTS = {"dtypes": list(DTYPES), "threads": [1, 2], "repeat": 3, "import_time": True,
                 "inner_budget": 0.3}


def _list(allowed: Collection[Any] | None, name: str,
          conv: Callable[[str], Any] = str) -> Callable[[str], list[Any]]:
    def parse(s: str) -> list[Any]:
        try:
            items = [conv(x.strip()) for x in s.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"--{name}: expected a comma list of integers; "
                                             f"got {s!r}") from None
        bad = [x for x in items if allowed is not None and x not in allowed]
        if bad or not items:
            what = f"not in {sorted(allowed)}" if allowed is not None else "is empty"
            raise argparse.ArgumentTypeError(f"--{name}: {bad or s!r} {what}")
        return items
    return parse


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argparse parser of the training benchmark."""
    ap = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", default=list(WORKLOADS),
                    type=_list(WORKLOADS, "workloads"),
                    help=f"comma list of {', '.join(WORKLOADS)} (default: all)")
    ap.add_argument("--dtypes", type=_list(DTYPES, "dtypes"),
                    help="comma list (default float32,float64; --quick: float32)")
    ap.add_argument("--threads", type=_list(None, "threads", int),
                    help="comma list of thread counts (default 1,2; --quick: 1)")
    ap.add_argument("--peers", default=list(ALL_PEERS), type=_list(ALL_PEERS, "peers"),
                    help="comma list (default: all; a peer whose library is missing is skipped)")
    ap.add_argument("--repeat", type=int, help="best of N subprocess turns (default 3; "
                                               "--quick: 1)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: shrunk sizes, float32, 1 thread, one warm turn")
    ap.add_argument("--skip", default="", help="comma list of workload:dtype:threads to skip, "
                                               "e.g. wide:float64:1")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false",
                    help="no untimed warm-up fit in each peer's process (the first turn of a "
                         "full run never has one)")
    ap.add_argument("--inner-budget", type=float, metavar="SECONDS",
                    help="in each warm turn, repeat the fit (same initial weights) until the "
                         f"fits add up to this, at most {measure.INNER_MAX_FITS} times, and keep "
                         "the best (default 0.3; --quick: 0.1; 0: one fit per turn)")
    ap.add_argument("--build", help="how the nnfast under test was built, for the record "
                                    "(default: its checkout's git revision)")
    ap.add_argument("--no-import-time", dest="import_time", action="store_false", default=None,
                    help="skip timing `python -c \"import nnfast\"`")
    ap.add_argument("--out-json", help="write every measurement and verdict here")
    ap.add_argument("--chart", help="grouped-bar PNG of the speed-ups (needs matplotlib)")
    ap.add_argument("--results-md", help="rewrite the training section of this Markdown file "
                                         "(RESULTS.md) and write the run's own file to "
                                         "results/ beside it")
    ap.add_argument("--record", metavar="FILE",
                    help="the run's own Markdown file (default with --results-md: "
                         "results/<date>-train.md beside it)")
    ap.add_argument("--from-json", nargs="+", metavar="FILE",
                    help="run nothing: re-render tables, chart and records from --out-json "
                         "files of earlier runs (a later file's rows replace an earlier one's "
                         "for the same workload, dtype and threads)")
    return ap


def _options(ap: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    defaults = QUICK_DEFAULTS if args.quick else FULL_DEFAULTS
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.repeat < 1 or any(t < 1 for t in args.threads):
        ap.error("--repeat and --threads must be >= 1")
    if args.inner_budget < 0:
        ap.error("--inner-budget must be >= 0")
    skip: set[tuple[str, ...]] = set()
    for item in (x for x in args.skip.split(",") if x):
        parts = tuple(item.split(":"))
        if len(parts) != 3 or parts[0] not in WORKLOADS or parts[1] not in DTYPES:
            ap.error(f"--skip: expected workload:dtype:threads, e.g. wide:float64:1; got {item!r}")
        skip.add(parts)
    return {"workloads": args.workloads, "dtypes": args.dtypes, "threads": args.threads,
            "peers": args.peers, "repeat": args.repeat, "quick": args.quick, "skip": skip,
            "warmup": args.warmup, "cold_first": not args.quick,
            "inner_budget": args.inner_budget, "import_time": args.import_time,
            "build": args.build}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _print_run(run: dict[str, Any], tabs: dict[str, str], passes: list[list[str]],
               misses: list[list[str]]) -> None:
    facts, peaks = run["facts"], run["peaks"]
    print(f"machine : {facts['cpu']}, {facts['logical_cpus']} CPUs, flags "
          f"{', '.join(facts['flags'])}; FMA peak/core {peaks['float32']:.0f} (f32) "
          f"{peaks['float64']:.0f} (f64) GFLOP/s")
    print(f"versions: numpy {facts['numpy']}, sklearn {facts['sklearn']}, "
          f"{run['torch_info'] or 'torch not run'}, nnfast {facts['nnfast']} git "
          f"{facts['nnfast_git']} ({facts['nnfast_gemm_kernel']})")
    print(f"BLAS    : {'; '.join(run['blas']) or 'unknown'}")
    for r in run["runs"]:
        took = f"{r['elapsed_s'] / 60:.1f} min" if r.get("elapsed_s") else "?"
        print(f"load    : {r['load_before']} before, {r['load_after']} after; {took}"
              + (f" ({r['rows']})" if len(run["runs"]) > 1 else ""))
    if run["imp"]:
        imp = run["imp"]
        numpy = f"numpy {imp['import_numpy_ms']:.0f} ms, " if "import_numpy_ms" in imp else ""
        print(f"import  : nnfast {imp['import_nnfast_ms']:.0f} ms, {numpy}bare python "
              f"{imp['python_pass_ms']:.0f} ms")
    print("ratios  : peer time / nnfast time (above 1: nnfast faster); % of peak = GFLOP/s / "
          "(FMA peak/core × threads)")
    if run["quick"]:
        print("quick   : shrunk sizes; no target is judged (the targets are for the full runs)")
    within = ("one fit each" if run["budget"] == 0 else
              f"in each warm turn, of the fits repeated up to {run['budget']} s")
    for key, title in [("times", f"times (best of {run['repeat']} turn(s); {within})"),
                       ("targets", "targets"), ("scaling", "thread scaling"),
                       ("f64_vs_f32", "float64 vs float32"), ("losses", "final losses"),
                       ("memory", "peak memory over baseline")]:
        if tabs[key]:
            print(f"\n{title}\n{tabs[key]}")
    for line in report.verdict_lines(passes, misses, markdown=False):
        print(line)


def main(argv: list[str] | None = None) -> int:
    """Run the training benchmark with command-line arguments `argv` (default sys.argv[1:]);
    returns the exit status: 0, or 1 when a peer's final losses disagree with nnfast's."""
    argv = sys.argv[1:] if argv is None else list(argv)
    ap = build_parser(prog="nnfast bench")  # its usage line names the command users type
    args = ap.parse_args(argv)
    opts = _options(ap, args)

    if args.from_json:
        run = record.merge_json(args.from_json)
        if args.build:
            run["facts"]["nnfast_git"] = args.build
    else:
        facts, peaks, imp, results, peers, notes, elapsed = measure.run_all(opts, _log)
        run = {"facts": facts, "peaks": peaks, "imp": imp, "results": results, "peers": peers,
               "notes": notes, "repeat": args.repeat, "budget": args.inner_budget,
               "quick": args.quick,
               "runs": [{"argv": argv, "load_before": facts["load_before"],
                         "load_after": machine.loadavg(), "elapsed_s": elapsed,
                         "rows": "all rows"}]}
    results, peers = run["results"], run["peers"]
    judge = not run["quick"]
    report.derive(results, run["peaks"], judge=judge)
    scaling = report.scaling_rows(results, judge=judge)
    f64rows = report.f64_vs_f32_rows(results) if judge else []
    tabs = report.tables(results, peers, scaling, f64rows)
    passes, misses = report.target_summary(results, scaling, f64rows,
                                           run["imp"] if judge else None)
    blas, torch_info = set(), None
    for r in results:
        for p, q in r["peers"].items():
            if p in ("reference", "sklearn"):
                blas.update(machine.blas_summary(q.get("threadpools")))
            if p == "torch":
                torch_info = (f"torch {q.get('torch')} (CPU capability "
                              f"{q.get('torch_cpu_capability')}, mkldnn {q.get('torch_mkldnn')})")
    run["blas"], run["torch_info"] = sorted(blas), torch_info
    _print_run(run, tabs, passes, misses)

    bad = report.disagreements(results)
    if bad:
        banner = "!" * 78
        print(f"\n{banner}\nFINAL LOSSES DISAGREE (beyond the float32 / float64 tolerance, or "
              f"wrong epoch count, or a turn's repeated fits differing) for:\n"
              + "\n".join(f"  {b}" for b in bad) + f"\n{banner}")
        run["notes"].append("FINAL LOSSES DISAGREE for " + ", ".join("/".join(map(str, b))
                                                                     for b in bad))
    if args.out_json:
        with open(args.out_json, "w", encoding="utf-8") as f:
            json.dump({"facts": run["facts"], "fma_peak_gflops_per_core": run["peaks"],
                       "import": run["imp"], "argv": argv, "runs": run["runs"],
                       "repeat": run["repeat"], "inner_budget": run["budget"],
                       "load_after": run["runs"][-1]["load_after"],
                       "elapsed_s": run["runs"][-1]["elapsed_s"],
                       "workloads": {n: asdict(w) for n, w in WORKLOADS.items()},
                       "results": results, "scaling": scaling, "f64_vs_f32": f64rows,
                       "passes": passes, "misses": misses, "notes": run["notes"]}, f, indent=1)
    if args.chart and results and "nnfast" in peers:
        from .chart import chart, have_matplotlib

        if have_matplotlib():
            chart(results, peers, args.chart)
            _log(f"chart written to {args.chart}")
        else:
            _log("no chart: matplotlib is not installed (pip install 'nnfast[bench]')")
    path = args.record
    if path is None and args.results_md:
        path = record.record_path(os.path.join(os.path.dirname(os.path.abspath(
            args.results_md)), "results"), run["facts"]["date"], "train")
    if path:
        record.write_record(path, record.train_entry(run, tabs, passes, misses))
        _log(f"run recorded in {path}")
    if args.results_md:
        link = os.path.relpath(path, os.path.dirname(os.path.abspath(args.results_md)))
        record.update_section(args.results_md, "train",
                              record.train_summary(run, tabs, passes, misses, link))
        _log(f"training section of {args.results_md} rewritten")
    return 1 if bad else 0
