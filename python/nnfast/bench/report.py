"""Reporting: ratios, GFLOP/s, fractions of peak and target verdicts, and the Markdown tables.

Ratios are peer time / nnfast time (above 1, nnfast is faster). GFLOP/s counts the matrix
products of the work done (workloads.work_flops); the fraction of peak divides by the
measured single-core FMA peak times the thread count. Targets come from targets.json.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from .targets import load_targets
from .workloads import memory_allowance_mb, work_flops

#: The groups of target verdicts: float32 carries the speed targets; float64 rows are held
#: to the same numbers, and their ratios are checked to be at least float32's.
GROUPS = ("float32: speed targets", "float64 against the same thresholds",
          "float64 ratio ≥ float32 ratio")


def md_table(head: Sequence[str], rows: Sequence[Sequence[Any]],
             numeric: Collection[int] = ()) -> str:
    """A Markdown table of `head` (column names) and `rows` (lists of cells), padded so that it
    also reads in a terminal; columns whose index is in `numeric` are right-aligned."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(head)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if i in numeric else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if i in numeric else ("-" * (w + 2))
                         for i, w in enumerate(widths)) + "|"
    return "\n".join([line(head), sep] + [line(r) for r in rows])


def fmt_s(t: float | None) -> str:
    """Seconds with 3-4 significant digits ("—" for None)."""
    if t is None:
        return "—"
    if t >= 10:
        return f"{t:.1f}"
    if t >= 1:
        return f"{t:.2f}"
    if t >= 0.01:
        return f"{t:.3f}"
    return f"{t:.4f}"


def fmt_ratio(r: float | None) -> str:
    """A ratio with 3 significant digits ("—" for None)."""
    if r is None:
        return "—"
    return f"{r:.0f}" if r >= 100 else f"{r:.1f}" if r >= 10 else f"{r:.2f}"


def _mark(t: dict[str, Any]) -> str:
    return "pass" if t["pass"] else "**MISS**"


def derive(results: list[dict[str, Any]], peaks: dict[str, float], judge: bool = True,
           ) -> list[dict[str, Any]]:
    """Ratios, GFLOP/s, fractions of peak, memory and target verdicts, in place. `peaks`:
    {"float32": GFLOP/s, "float64": GFLOP/s} of one core. With judge=False (shrunk --quick
    sizes) no target is judged."""
    import numpy as np

    tg = load_targets()["training"]
    for res in results:
        nn = res["peers"].get("nnfast")
        itemsize = np.dtype(res["dtype"]).itemsize
        res["gflop"] = work_flops(res["sizes"], res["rows"], res["epochs"]) / 1e9
        res["memory_allowance_mb"] = memory_allowance_mb(res["sizes"], res["batch"], itemsize,
                                                         tg["memory_slack_mb"])
        res["ratios"], res["targets"] = {}, {}
        if nn is None:
            continue
        res["nnfast_gflops"] = res["gflop"] / nn["seconds"]
        res["peak_gflops"] = peaks[res["dtype"]] * res["threads"]
        res["fraction_of_peak"] = res["nnfast_gflops"] / res["peak_gflops"]
        for peer, r in res["peers"].items():
            if peer == "nnfast":
                continue
            ratio = r["seconds"] / nn["seconds"]
            res["ratios"][peer] = ratio
            goal = tg["ratio"].get(peer, {}).get(res["workload"])
            if judge and goal is not None:
                res["targets"][f"vs {peer}"] = {"value": ratio, "target": goal,
                                                "pass": ratio >= goal}
        goal = tg["fraction_of_fma_peak"].get(res["workload"])
        if judge and goal is not None and res["threads"] == 1:
            res["targets"]["% FMA peak"] = {"value": res["fraction_of_peak"], "target": goal,
                                            "pass": res["fraction_of_peak"] >= goal}
        # A warm first turn (--quick) leaves allocations from its warm-up: no memory verdict.
        if judge and nn.get("cold", True):
            res["targets"]["memory"] = {"value": nn["peak_overhead_mb"],
                                        "target": res["memory_allowance_mb"],
                                        "pass": nn["peak_overhead_mb"]
                                        <= res["memory_allowance_mb"]}
    return results


def scaling_rows(results: list[dict[str, Any]], judge: bool = True) -> list[dict[str, Any]]:
    """Per workload and dtype measured at 1 and 2 threads: every peer's t(1) / t(2), and
    nnfast's against its target."""
    goals = load_targets()["training"]["two_thread_speedup"]
    out = []
    by = {(r["workload"], r["dtype"], r["threads"]): r for r in results}
    for (wl, dt, th), r1 in by.items():
        if th != 1 or (wl, dt, 2) not in by:
            continue
        r2 = by[(wl, dt, 2)]
        row = {"workload": wl, "dtype": dt, "speedup": {}}
        for peer in r1["peers"]:
            if peer in r2["peers"]:
                row["speedup"][peer] = r1["peers"][peer]["seconds"] / r2["peers"][peer]["seconds"]
        goal = goals.get(wl)
        if judge and goal is not None and "nnfast" in row["speedup"]:
            row["target"] = goal
            row["pass"] = row["speedup"]["nnfast"] >= goal
        out.append(row)
    return out


def f64_vs_f32_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """'float64 ratios at least as good as float32's', per workload, threads and peer."""
    by = {(r["workload"], r["dtype"], r["threads"]): r for r in results}
    out = []
    for (wl, dt, th), r64 in by.items():
        if dt != "float64" or (wl, "float32", th) not in by:
            continue
        r32 = by[(wl, "float32", th)]
        for peer, q64 in r64["ratios"].items():
            q32 = r32["ratios"].get(peer)
            if q32 is not None:
                out.append({"workload": wl, "threads": th, "peer": peer, "f32": q32, "f64": q64,
                            "pass": q64 >= q32})
    return out


def times_table(results: list[dict[str, Any]], peers: Sequence[str]) -> str:
    """Seconds per peer, ratios to nnfast, GFLOP and nnfast's GFLOP/s and % of peak."""
    others = [p for p in peers if p != "nnfast"]
    head = ["workload", "dtype", "thr"] + [f"{p} s" for p in peers] + \
        [f"{p}/nnfast" for p in others] + ["GFLOP", "nnfast GFLOP/s", "% of peak"]
    rows = []
    for r in results:
        rows.append([r["workload"], r["dtype"], r["threads"]] +
                    [fmt_s(r["peers"][p]["seconds"]) if p in r["peers"] else "—" for p in peers]
                    + [fmt_ratio(r["ratios"].get(p)) for p in others]
                    + [f"{r['gflop']:.3g}",
                       f"{r['nnfast_gflops']:.1f}" if "nnfast_gflops" in r else "—",
                       f"{100 * r['fraction_of_peak']:.0f} %" if "fraction_of_peak" in r
                       else "—"])
    return md_table(head, rows, numeric=set(range(2, len(head))))


def _mb(res: dict[str, Any], peer: str) -> str:
    if peer not in res["peers"]:
        return "—"
    q = res["peers"][peer]
    return ("≤" if q["peak_is_bound"] else "") + f"{q['peak_overhead_mb']:.1f}"


def tables(results: list[dict[str, Any]], peers: Sequence[str], scaling: list[dict[str, Any]],
           f64rows: list[dict[str, Any]]) -> dict[str, str]:
    """{"times", "losses", "memory", "targets", "scaling", "f64_vs_f32"}: Markdown tables
    ("" where there is nothing to show)."""
    tg = load_targets()["training"]
    others = [p for p in peers if p != "nnfast"]
    t_times = times_table(results, peers)

    head = ["workload", "dtype", "thr"] + [f"{p} loss" for p in peers] + ["max rel diff", "agree"]
    rows = []
    for r in results:
        diffs = [r["peers"][p]["loss_rel_diff"] for p in peers if p in r["peers"]]
        ok = all(r["peers"][p]["loss_agrees"] for p in peers if p in r["peers"])
        rtol = tg["loss_agreement_rtol"][r["dtype"]]
        rows.append([r["workload"], r["dtype"], r["threads"]] +
                    [f"{r['peers'][p]['loss_last']:.7g}" if p in r["peers"] else "—"
                     for p in peers] +
                    [f"{max(diffs):.1e} (tol {rtol:.0e})", "yes" if ok else "**NO**"])
    t_loss = md_table(head, rows, numeric={2})

    head = ["workload", "dtype", "thr"] + [f"{p} MB" for p in peers] + ["nnfast allowance MB",
                                                                        "memory"]
    rows = []
    for r in results:
        mt = r["targets"].get("memory")
        rows.append([r["workload"], r["dtype"], r["threads"]] + [_mb(r, p) for p in peers] +
                    [f"{r['memory_allowance_mb']:.1f}", _mark(mt) if mt else "—"])
    # Memory after a warm-up (--quick) would hide the fit's own allocations: not shown.
    cold = any(q.get("cold", True) for r in results for q in r["peers"].values())
    t_mem = md_table(head, rows, numeric=set(range(2, len(head) - 1))) if cold else ""

    t_targets = ""
    if any(r["targets"] for r in results):
        keys = [f"vs {p}" for p in others if p in tg["ratio"]] + ["% FMA peak", "memory"]
        head = ["workload", "dtype", "thr"] + keys
        rows = []
        for r in results:
            cells = []
            for k in keys:
                t = r["targets"].get(k)
                if t is None:
                    cells.append("—")
                elif k == "% FMA peak":
                    cells.append(f"{100 * t['value']:.0f} % / ≥{100 * t['target']:.0f} % "
                                 f"{_mark(t)}")
                elif k == "memory":
                    cells.append(f"{t['value']:.0f} / ≤{t['target']:.0f} MB {_mark(t)}")
                else:
                    cells.append(f"{fmt_ratio(t['value'])} / ≥{t['target']:g} {_mark(t)}")
            rows.append([r["workload"], r["dtype"], r["threads"]] + cells)
        t_targets = md_table(head, rows, numeric={2})

    t_scaling = ""
    if scaling:
        head = ["workload", "dtype"] + [f"{p} t1/t2" for p in peers] + ["nnfast target"]
        rows = [[s["workload"], s["dtype"]] +
                [f"{s['speedup'][p]:.2f}" if p in s["speedup"] else "—" for p in peers] +
                ([f"≥{s['target']:g} {_mark(s)}"] if "target" in s else ["—"])
                for s in scaling]
        t_scaling = md_table(head, rows, numeric=set(range(2, 2 + len(peers))))
    t_f64 = ""
    if f64rows:
        head = ["workload", "thr", "peer", "ratio float32", "ratio float64", "f64 ≥ f32"]
        rows = [[q["workload"], q["threads"], q["peer"], fmt_ratio(q["f32"]),
                 fmt_ratio(q["f64"]), "pass" if q["pass"] else "**MISS**"] for q in f64rows]
        t_f64 = md_table(head, rows, numeric={1, 3, 4})
    return {"times": t_times, "losses": t_loss, "memory": t_mem, "targets": t_targets,
            "scaling": t_scaling, "f64_vs_f32": t_f64}


def target_summary(results: list[dict[str, Any]], scaling: list[dict[str, Any]],
                   f64rows: list[dict[str, Any]], imp: dict[str, float] | None,
                   ) -> tuple[list[list[str]], list[list[str]]]:
    """(passes, misses): [group, line] per target verdict, groups as in GROUPS."""
    passes: list[list[str]] = []
    misses: list[list[str]] = []
    import_goal = load_targets()["training"]["import_nnfast_ms"]

    def group(dtype: str) -> str:
        return GROUPS[0] if dtype == "float32" else GROUPS[1]

    for r in sorted(results, key=lambda r: r["dtype"]):
        for k, t in r["targets"].items():
            v = (f"{100 * t['value']:.0f} % (≥{100 * t['target']:.0f} %)" if k == "% FMA peak"
                 else f"{t['value']:.1f} MB (≤{t['target']:.1f} MB)" if k == "memory"
                 else f"{t['value']:.2f}× (≥{t['target']:g}×)")
            line = f"{r['workload']} {r['dtype']} {r['threads']}T {k}: {v}"
            (passes if t["pass"] else misses).append([group(r["dtype"]), line])
    for s in scaling:
        if "target" in s:
            line = (f"{s['workload']} {s['dtype']} 2 threads vs 1: "
                    f"{s['speedup']['nnfast']:.2f}× (≥{s['target']:g}×)")
            (passes if s["pass"] else misses).append([group(s["dtype"]), line])
    for q in f64rows:
        line = (f"{q['workload']} {q['threads']}T vs {q['peer']}: float64 ratio "
                f"{q['f64']:.2f}× vs float32 {q['f32']:.2f}×")
        (passes if q["pass"] else misses).append([GROUPS[2], line])
    if imp:
        line = (f"python -c 'import nnfast': {imp['import_nnfast_ms']:.0f} ms "
                f"(< {import_goal:g} ms)")
        (passes if imp["import_nnfast_ms"] < import_goal else misses).append([GROUPS[0], line])
    order = {g: i for i, g in enumerate(GROUPS)}
    passes.sort(key=lambda x: order[x[0]])
    misses.sort(key=lambda x: order[x[0]])
    return passes, misses


def verdict_lines(passes: list[list[str]], misses: list[list[str]], markdown: bool) -> list[str]:
    """The "N met, M missed" lines per group, each miss listed."""
    lines = []
    for g in GROUPS:
        met = sum(1 for x in passes if x[0] == g)
        missed = [line for grp, line in misses if grp == g]
        if not met and not missed:
            continue
        if markdown:
            lines += [f"**{g[0].upper() + g[1:]}: {met} met, {len(missed)} missed.**", ""]
            lines += [f"- {m}" for m in missed] or ["- none missed"]
            lines.append("")
        else:
            lines.append(f"\n{g}: {met} met, {len(missed)} missed")
            lines += [f"  MISS {m}" for m in missed]
    return lines


def disagreements(results: list[dict[str, Any]]) -> list[tuple[str, str, int, str]]:
    """[(workload, dtype, threads, peer)] whose final losses disagree with nnfast's."""
    return [(r["workload"], r["dtype"], r["threads"], p) for r in results
            for p, q in r["peers"].items() if not q["loss_agrees"]]
