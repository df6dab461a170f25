"""Measurement: every peer in its own fresh interpreter, taking turns, best of the turns.

For every workload x dtype, the peers take turns (rotating order), the thread counts
alternating within each turn (1T, 2T, 1T, 2T, ...): the host's load drifts over minutes,
and a 2-vs-1-thread ratio taken from runs made minutes apart measures the drift. The first
turn of a recorded run is cold (no warm-up, one fit: its peak memory is the one reported);
later turns warm up and repeat the fit up to an inner budget (see peers.py). --quick runs
each peer's workloads in one process per peer and thread count instead (run_batched).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import machine
from .peers import ALL_PEERS, rel_diff
from .targets import load_targets
from .workloads import WORKLOADS, Workload, write_inputs

Log = Callable[[str], object]
Result = dict[str, Any]

#: Fits per warm turn at most (a 3 ms fit runs 100 times, a 1 s fit once).
INNER_MAX_FITS = 100


def weights_rel_diff(path_a: str, path_b: str) -> float:
    """The largest ``|a - b| / max(|a|, |b|)`` over the arrays of two .npz files, per array."""
    import numpy as np

    a, b = np.load(path_a), np.load(path_b)
    worst = 0.0
    for k in a.files:
        x, y = a[k].astype(np.float64), b[k].astype(np.float64)
        scale = max(np.abs(x).max(), np.abs(y).max(), 1e-300)
        worst = max(worst, float(np.abs(x - y).max() / scale))
    return worst


def peer_available(peer: str) -> tuple[bool, str]:
    """(True, "") when `peer`'s library imports in a fresh interpreter; else (False, why)."""
    mod = {"sklearn": "sklearn.neural_network", "torch": "torch"}.get(peer)
    if mod is None:
        return True, ""
    p = subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True, text=True,
                       env=machine.peer_env(1))
    return p.returncode == 0, (p.stderr.strip().splitlines() or [""])[-1]


def _spec(w: Workload, epochs: int, dt: str, threads: int, peer: str, rep: int,
          opts: dict[str, Any], directory: str) -> dict[str, Any]:
    """What peers.run_peer reads: one peer's turn on one workload x dtype x thread count."""
    return {"peer": peer, "workload": w.name, "dtype": dt, "threads": threads,
            "dir": directory, "sizes": list(w.sizes), "activation": w.activation,
            "out": w.out, "batch": w.batch, "epochs": epochs, "lr": w.lr,
            "estimator": w.estimator,
            "warmup": opts["warmup"] and (rep > 0 or not opts["cold_first"]),
            "inner_budget": opts["inner_budget"], "inner_max_fits": INNER_MAX_FITS,
            "rep": rep, "repeat": opts["repeat"],
            "save_weights": (os.path.join(directory, f"final_{peer}_{dt}_{threads}.npz")
                             if rep == 0 else None)}


def _logged(r: Result, spec: dict[str, Any], log: Log) -> Result:
    log(f"    {spec['workload']:<10} {spec['dtype']:<7} {spec['threads']}T "
        f"rep {spec['rep'] + 1}/{spec['repeat']} {spec['peer']:<9} "
        f"{r['seconds']:9.4f} s (best of {r['inner_fits']:2d})  loss {r['loss_last']:.6g}")
    return r


def run_turn(spec: dict[str, Any], log: Log) -> Result:
    """One subprocess turn of one peer (`spec` as peers.run_peer reads it); its result dict."""
    r = machine.run_json([sys.executable, "-m", "nnfast.bench.peers", json.dumps(spec)],
                         machine.peer_env(spec["threads"]))
    return _logged(r, spec, log)


def run_configs(w: Workload, rows: int, epochs: int, dt: str, thread_counts: Sequence[int],
                peers: list[str], opts: dict[str, Any], directory: str, log: Log) -> list[Result]:
    """All peers at every thread count, opts["repeat"] turns each, for one workload x dtype;
    one result dict per thread count."""
    runs: dict[tuple[int, str], list[Result]] = {(th, p): [] for th in thread_counts for p in peers}
    for rep in range(opts["repeat"]):
        order = peers[rep % len(peers):] + peers[:rep % len(peers)]
        for threads in thread_counts:
            for peer in order:
                spec = _spec(w, epochs, dt, threads, peer, rep, opts, directory)
                runs[threads, peer].append(run_turn(spec, log))
    return [collect(w, rows, epochs, dt, th, peers, {p: runs[th, p] for p in peers}, directory)
            for th in thread_counts]


def run_batched(cases: list[tuple[Workload, int, int, str, str, list[int]]], peers: list[str],
                opts: dict[str, Any], log: Log, notes: list[str]) -> list[Result]:
    """--quick: one process per peer and thread count runs every workload x dtype in turn
    (importing scikit-learn or PyTorch takes seconds; five times over it would be most of
    the run). `cases`: [(workload, rows, epochs, dtype, directory, thread counts)]. A peer
    whose library does not import is skipped with a note. Returns the result dicts, like
    run_configs."""
    runs: dict[tuple[str, str, int, str], list[Result]] = {}
    for threads in sorted({th for *_, ths in cases for th in ths}):
        for peer in list(peers):
            specs = [_spec(w, epochs, dt, threads, peer, rep, opts, d)
                     for rep in range(opts["repeat"])
                     for w, _, epochs, dt, d, ths in cases if threads in ths]
            try:
                out = machine.run_json([sys.executable, "-m", "nnfast.bench.peers",
                                        json.dumps(specs)], machine.peer_env(threads))
            except RuntimeError as e:
                if "ModuleNotFoundError" not in str(e) and "ImportError" not in str(e):
                    raise
                why = str(e).strip().splitlines()[-1]
                notes.append(f"peer {peer} skipped: {why}")
                log(f"SKIPPING peer {peer}: {why}")
                peers.remove(peer)
                continue
            for spec, r in zip(specs, out):
                runs.setdefault((spec["workload"], spec["dtype"], threads, peer), []).append(
                    _logged(r, spec, log))
    return [collect(w, rows, epochs, dt, th, peers,
                    {p: runs[w.name, dt, th, p] for p in peers}, d)
            for w, rows, epochs, dt, d, ths in cases for th in ths]


def collect(w: Workload, rows: int, epochs: int, dt: str, threads: int, peers: list[str],
            runs: dict[str, list[Result]], directory: str) -> Result:
    """One workload x dtype x thread count's result from its peers' turns: the best time, the
    first turn's memory, and the losses and final weights against nnfast's."""
    rtol = load_targets()["training"]["loss_agreement_rtol"][dt]
    res: Result
    res = {"workload": w.name, "dtype": dt, "threads": threads, "rows": rows, "epochs": epochs,
           "batch": w.batch, "sizes": list(w.sizes), "peers": {}}
    for peer, rs in runs.items():
        best = min(rs, key=lambda r: r["seconds"])
        mem = {k: rs[0][k] for k in ("rss_before_mb", "peak_rss_mb", "peak_overhead_mb",
                                     "peak_is_bound", "peak_from", "cold")}
        res["peers"][peer] = {**best, **mem, "all_seconds": [r["seconds"] for r in rs],
                              "all_inner_fits": [r["inner_fits"] for r in rs],
                              "inner_loss_spread": max(r["inner_loss_spread"] for r in rs)}
    base = "nnfast" if "nnfast" in peers else peers[0]
    b = res["peers"][base]
    for peer, r in res["peers"].items():
        r["loss_rel_diff"] = max(rel_diff(r["loss_last"], b["loss_last"]),
                                 rel_diff(r["loss_first"], b["loss_first"]))
        # The repeated fits of a turn must have matched its first fit, too.
        r["loss_agrees"] = (r["loss_rel_diff"] <= rtol and r["epochs_run"] == epochs
                            and r["inner_loss_spread"] <= rtol)
        try:
            r["weights_rel_diff"] = weights_rel_diff(
                os.path.join(directory, f"final_{peer}_{dt}_{threads}.npz"),
                os.path.join(directory, f"final_{base}_{dt}_{threads}.npz"))
        except (OSError, ValueError):
            r["weights_rel_diff"] = None
        # an estimator's fit (scikit-learn's, or nnfast's where the workload says so) must
        # have started from our weights and run every epoch
        if (not r.get(f"{peer}_started_from_our_weights", True)
                or r.get(f"{peer}_epochs_run", epochs) != epochs):
            r["loss_agrees"] = False
    return res


def run_all(opts: dict[str, Any], log: Log) -> tuple[dict[str, Any], dict[str, float],
                                                    dict[str, float] | None, list[Result],
                                                    list[str], list[str], float]:
    """Run every configuration `opts` names (workloads, dtypes, threads, peers, repeat,
    quick, skip, warmup, cold_first, inner_budget, import_time, build).

    Returns (facts, peaks, imp, results, peers, notes, seconds)."""
    t_start = time.perf_counter()
    facts = machine.machine_facts()
    if opts.get("build"):
        facts["nnfast_git"] = opts["build"]
    if facts["handicap_vars_in_parent_env"]:
        log(f"note: {facts['handicap_vars_in_parent_env']} set here; every peer runs without them")
    peers: list[str] = []
    notes: list[str] = []
    for p in opts["peers"]:
        # --quick finds out in its batched processes (each check imports the library).
        ok, why = (True, "") if opts["quick"] else peer_available(p)
        if ok:
            peers.append(p)
        else:
            notes.append(f"peer {p} skipped: {why}")
            log(f"SKIPPING peer {p}: {why}")
    peers.sort(key=ALL_PEERS.index)
    log(f"machine: {facts['cpu']}, {facts['logical_cpus']} CPUs, load {facts['load_before']}")
    peaks = machine.fma_peak()
    log(f"FMA peak per core: {peaks['float32']:.1f} GFLOP/s f32, {peaks['float64']:.1f} f64")
    imp = machine.import_time() if opts["import_time"] else None

    results: list[Result] = []
    cases: list[tuple[Workload, int, int, str, str, list[int]]] = []
    tmp = tempfile.mkdtemp(prefix="nnfast-bench-")
    try:
        for name in opts["workloads"]:
            w = WORKLOADS[name]
            rows, epochs = w.shape(opts["quick"])
            d = os.path.join(tmp, name)
            os.makedirs(d)
            rows = write_inputs(w, rows, opts["dtypes"], d)
            for dt in opts["dtypes"]:
                ths: list[int] = []
                for th in opts["threads"]:
                    if (name, dt, str(th)) in opts["skip"]:
                        notes.append(f"{name} {dt} {th} thread(s) skipped (--skip)")
                    else:
                        ths.append(th)
                if not ths:
                    continue
                log(f"{name} {dt} {'/'.join(map(str, ths))} thread(s), alternating: {rows} rows, "
                    f"{epochs} epochs")
                if opts["quick"]:
                    cases.append((w, rows, epochs, dt, d, ths))
                    continue
                results.extend(run_configs(w, rows, epochs, dt, ths, peers, opts, d, log))
            if not opts["quick"]:
                shutil.rmtree(d, ignore_errors=True)
        if cases:
            results.extend(run_batched(cases, peers, opts, log, notes))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return facts, peaks, imp, results, peers, notes, time.perf_counter() - t_start
