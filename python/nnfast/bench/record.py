"""Recording runs: one generated Markdown file per recorded run (benchmarks/results/), the
runner's generated section of RESULTS.md (the latest run, with a link to its file), and
re-rendering from the JSON of earlier runs."""
from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from .peers import ALL_PEERS
from .report import verdict_lines
from .workloads import WORKLOADS

#: The command each runner's record shows (how to run it again).
TRAIN_COMMAND = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run.py"


def _begin(key: str) -> str:
    return f"<!-- begin generated: {key} (rewritten by the runner; edit outside) -->"


def _end(key: str) -> str:
    return f"<!-- end generated: {key} -->"


def record_path(directory: str, date: str, runner: str) -> str:
    """benchmarks/results/<YYYY-MM-DD-HHMM>-<runner>.md for a run started at `date`
    ("YYYY-MM-DD HH:MM")."""
    stamp = date.replace(" ", "-").replace(":", "")
    return os.path.join(directory, f"{stamp}-{runner}.md")


def write_record(path: str, text: str) -> None:
    """Write one run's generated file (its folder is created if missing)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.rstrip() + "\n")


def publish(text: str, out: str | None, results_dir: str, date: str, runner: str,
            results_md: str | None) -> None:
    """A standalone runner's record: written to `out` (default results_dir/<date>-<runner>.md;
    '-': none), and, with results_md, its body (without the title) as that file's `runner`
    section, headed by a link to the record."""
    out = out or record_path(results_dir, date, runner)
    if out != "-":
        write_record(out, text)
        print(f"record written to {out}", file=sys.stderr)
    if results_md:
        body = text.split("\n", 2)[2]  # without the record's own title
        if out != "-":
            link = os.path.relpath(out, os.path.dirname(os.path.abspath(results_md)))
            body = (f"Latest run: **{date} UTC** (record: "
                    f"[{os.path.basename(link)}]({link})).\n\n" + body)
        update_section(results_md, runner, body)


def update_section(path: str, key: str, text: str) -> None:
    """Replace the generated section `key` of the Markdown file `path` with `text` (between its
    begin / end markers); append the section when the file has none; create the file when it
    does not exist. Everything outside the markers (the hand-written reading) is kept."""
    old = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            old = f.read()
    block = f"{_begin(key)}\n{text.strip()}\n{_end(key)}"
    pattern = re.compile(re.escape(_begin(key)) + r".*?" + re.escape(_end(key)), re.S)
    if pattern.search(old):
        new = pattern.sub(lambda _: block, old, count=1)
    else:
        new = old.rstrip() + ("\n\n" if old else "") + block + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)


def _software(facts: dict[str, Any], peaks: dict[str, float], blas: list[str],
              torch_info: str | None) -> str:
    return (f"**Machine.** {facts['cpu']}, {facts['logical_cpus']} logical CPUs; flags "
            f"{', '.join(facts['flags'])}; Linux {facts['kernel']}. Measured FMA peak of one "
            f"core (`_core.fma_peak_gflops`, best of 3): {peaks['float32']:.0f} GFLOP/s "
            f"float32, {peaks['float64']:.0f} GFLOP/s float64.\n\n"
            f"**Software.** Python {facts['python']}, numpy {facts['numpy']}, scikit-learn "
            f"{facts['sklearn']}, threadpoolctl {facts['threadpoolctl']}, "
            f"{torch_info or 'torch not run'}; NumPy's BLAS as threadpoolctl reports it in "
            f"the peers' processes: {'; '.join(blas) or 'unknown'}. nnfast {facts['nnfast']} "
            f"at git {facts['nnfast_git']}, GEMM kernel `{facts['nnfast_gemm_kernel']}`, "
            f"OpenMP {'on' if facts['nnfast_openmp'] else 'off'}; OMP_WAIT_POLICY "
            f"{facts.get('omp_wait_policy') or 'unset'}.")


def _commands(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["```sh"]
    lines += [TRAIN_COMMAND + (" " + shlex.join(run["argv"]) if run["argv"] else "")
              for run in runs]
    return lines + ["```"]


def _threads(results: list[dict[str, Any]]) -> str:
    return "/".join(str(t) for t in sorted({r["threads"] for r in results})) or "?"


def train_entry(run: dict[str, Any], tabs: dict[str, str], passes: list[list[str]],
                misses: list[list[str]]) -> str:
    """The generated file of one training run: every table and verdict. `run` holds facts,
    peaks, imp, runs (one dict per invocation: argv, load_before, load_after, elapsed_s,
    rows), results, notes, blas, torch_info, quick, repeat, budget."""
    facts, runs = run["facts"], run["runs"]
    lines = [f"# {facts['date']} UTC — training: nnfast vs reference, scikit-learn, PyTorch"
             f"{' (QUICK smoke run: shrunk sizes)' if run['quick'] else ''}", "",
             _software(facts, run["peaks"], run["blas"], run["torch_info"]), ""]
    within = ("one fit each" if run["budget"] == 0 else
              f"in each warm turn, of the fits repeated up to {run['budget']} s")
    lines += [f"**Threads.** {_threads(run['results'])}; times are the best of "
              f"{run['repeat']} turn(s) ({within}), each peer in its own process.", ""]
    for r in runs:
        took = f"{r['elapsed_s'] / 60:.1f} min" if r.get("elapsed_s") else "?"
        which = f" ({r['rows']})" if len(runs) > 1 else ""
        lines += [f"**Load{which}.** 1/5/15-min load average {r['load_before']} before, "
                  f"{r['load_after']} after; the run took {took}.", ""]
    imp = run["imp"]
    if imp:
        numpy = (f"`python -c \"import numpy\"`: {imp['import_numpy_ms']:.0f} ms, "
                 if "import_numpy_ms" in imp else "")
        lines += [f"`python -c \"import nnfast\"`: {imp['import_nnfast_ms']:.0f} ms "
                  f"({numpy}`python -c pass`: {imp['python_pass_ms']:.0f} ms), best of "
                  f"{imp.get('reps', 5):.0f}.", ""]
    lines += ["**Command%s.**" % ("s" if len(runs) > 1 else ""), ""] + _commands(runs) + [""]
    for note in run["notes"]:
        lines += [f"Note: {note}", ""]
    for title, key in [("Times (seconds: best of the turns, and of the fits repeated within "
                        "each warm turn) and ratios", "times"),
                       ("Targets", "targets"), ("Thread scaling", "scaling"),
                       ("float64 ratios vs float32 ratios", "f64_vs_f32"),
                       ("Final training loss (last epoch) per peer", "losses"),
                       ("Peak memory of the fit over the resident set just before it", "memory")]:
        if tabs.get(key):
            lines += [f"## {title}", "", tabs[key], ""]
    lines += verdict_lines(passes, misses, markdown=True)
    return "\n".join(lines) + "\n"


def train_summary(run: dict[str, Any], tabs: dict[str, str], passes: list[list[str]],
                  misses: list[list[str]], link: str) -> str:
    """RESULTS.md's generated section for the training runner: machine, threads, command,
    the times and targets tables, the verdict counts, and the link to the run's file."""
    facts = run["facts"]
    met = {g: 0 for g, _ in passes + misses}
    for g, _ in passes:
        met[g] += 1
    missed = {g: 0 for g in met}
    for g, _ in misses:
        missed[g] += 1
    lines = [f"Latest run: **{facts['date']} UTC**, nnfast at git {facts['nnfast_git']} "
             f"(full record: [{os.path.basename(link)}]({link})). {facts['cpu']}, "
             f"{facts['logical_cpus']} logical CPUs, FMA peak of one core "
             f"{run['peaks']['float32']:.0f} / {run['peaks']['float64']:.0f} GFLOP/s "
             f"(float32 / float64); threads {_threads(run['results'])}; best of "
             f"{run['repeat']} turn(s); {run['torch_info'] or 'torch not run'}; NumPy's BLAS "
             f"{'; '.join(run['blas'][:1]) or 'unknown'}.", ""]
    lines += _commands(run["runs"]) + [""]
    lines += ["Times (s) and ratios (peer time / nnfast time):", "", tabs["times"], ""]
    if tabs.get("targets"):
        lines += ["Targets:", "", tabs["targets"], ""]
    if met:
        lines.append("Verdicts: " + "; ".join(f"{g}: {met[g]} met, {missed[g]} missed"
                                               for g in met) + " (each miss is listed in the "
                     "run's file).")
    return "\n".join(lines) + "\n"


def merge_json(paths: Sequence[str]) -> dict[str, Any]:
    """Results of earlier --out-json files, later files' rows replacing earlier ones for the
    same workload, dtype and threads. Returns a dict as train_entry reads it (without the
    derived fields) plus "peers"."""
    sources = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            sources.append(json.load(f))
    by: dict[tuple[str, str, int], dict[str, Any]] = {}
    origin: dict[tuple[str, str, int], int] = {}
    for i, src in enumerate(sources):
        for r in src["results"]:
            key = (r["workload"], r["dtype"], r["threads"])
            by[key], origin[key] = r, i
    order = list(WORKLOADS)
    results = sorted(by.values(), key=lambda r: (order.index(r["workload"]), r["dtype"],
                                                 r["threads"]))
    facts = dict(sources[-1]["facts"])
    # The highest probe of all runs: the fractions of peak are then never flattering.
    peaks = {dt: max(s["fma_peak_gflops_per_core"][dt] for s in sources)
             for dt in ("float32", "float64")}
    imp = next((s["import"] for s in sources if s.get("import")), None)
    peers = [p for p in ALL_PEERS if any(p in r["peers"] for r in results)]
    notes = [n for s in sources for n in s.get("notes", [])]
    runs = []
    for i, src in enumerate(sources):
        used = sorted({f"{k[0]} {k[1]} {k[2]}T" for k, o in origin.items() if o == i},
                      key=lambda x: (order.index(x.split()[0]), x))
        if not used:
            continue
        names = sorted({u.split()[0] for u in used}, key=order.index)
        runs.append({"argv": src["argv"], "load_before": src["facts"]["load_before"],
                     "load_after": src.get("load_after", "?"),
                     "elapsed_s": src.get("elapsed_s"),
                     "rows": "rows of " + ", ".join(names)})
    repeat = "/".join(str(s.get("repeat", "?")) for s in sources)
    budgets = [s.get("inner_budget", 0) for s in sources]
    budget = budgets[0] if len(set(budgets)) == 1 else "/".join(map(str, budgets))
    if len(runs) > 1:
        notes.append(f"the tables merge {len(runs)} invocations (see Commands); each "
                     f"workload's rows all come from one of them, so thread scaling compares "
                     f"runs made together")
    return {"facts": facts, "peaks": peaks, "imp": imp, "results": results, "peers": peers,
            "notes": notes, "runs": runs, "repeat": repeat, "budget": budget,
            "quick": any("--quick" in r["argv"] for r in runs)}
