"""nnfast.bench: the targets file, the verdicts, the records, and a real --quick run."""
import ast
import json
import os
import re
from importlib import resources

import pytest

from nnfast.bench import peers, record, report
from nnfast.bench.cli import main
from nnfast.bench.targets import load_targets
from nnfast.bench.workloads import WORKLOADS, memory_allowance_mb, work_flops

BENCH_DIR = os.path.dirname(report.__file__)


def test_targets_are_package_data_naming_known_workloads_and_peers():
    raw = resources.files("nnfast.bench").joinpath("targets.json").read_text(encoding="utf-8")
    t = json.loads(raw)
    assert t == load_targets()
    training = t["training"]
    assert set(training["ratio"]) <= set(peers.ALL_PEERS) - {"nnfast"}
    for table in (*training["ratio"].values(), training["fraction_of_fma_peak"],
                  training["two_thread_speedup"]):
        assert set(table) <= set(WORKLOADS)
    assert set(training["loss_agreement_rtol"]) == {"float32", "float64"}
    assert 0 < t["gemm"]["fraction_of_fma_peak"] <= 1 and t["gemm"]["ratio_vs_numpy"] > 0


def test_load_targets_returns_a_fresh_copy():
    load_targets()["training"]["ratio"]["torch"]["wide"] = -1
    assert load_targets()["training"]["ratio"]["torch"]["wide"] > 0


def test_peer_harness_imports_nothing_else_from_the_package():
    # benchmarks/compare_builds.py runs peers.py as a script under an older build, which
    # has no nnfast.bench: the harness may import only the stdlib, NumPy and the peers.
    with open(peers.__file__, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import in peers.py"
            imported.add(node.module)
    assert not {m for m in imported if m.startswith("nnfast.bench")}
    assert {m.split(".")[0] for m in imported} <= {
        "__future__", "gc", "json", "os", "sys", "time", "resource", "warnings", "typing",
        "collections", "numpy", "nnfast", "sklearn", "torch", "threadpoolctl"}


def test_no_issue_numbers_in_the_benchmark_code():
    here = [os.path.join(BENCH_DIR, f) for f in os.listdir(BENCH_DIR)
            if f.endswith((".py", ".json"))]
    for path in here:
        with open(path, encoding="utf-8") as f:
            assert not re.search(r"\bissue[- ]?#?\d", f.read(), re.I), path


def test_work_and_memory_of_a_workload():
    # 2-3-1: forward 2*3 + 3*1 = 9, dX 3*1 = 3 -> 2 * (2*9 + 3) = 42 flops an example.
    assert work_flops((2, 3, 1), rows=4, epochs=10) == 42 * 4 * 10
    params = (2 * 3 + 3) + (3 * 1 + 1)
    acts = 4 * (2 + 3 + 1)
    assert memory_allowance_mb((2, 3, 1), 4, 8, 50) == pytest.approx(
        (2 * params + 2 * acts) * 8 / 2**20 + 50)


def _fake(workload, dtype, threads, seconds, cold=True):
    peers_ = {p: {"seconds": s, "peak_overhead_mb": 1.0, "peak_is_bound": False,
                  "loss_last": 0.5, "loss_rel_diff": 0.0, "loss_agrees": True, "cold": cold}
              for p, s in seconds.items()}
    w = WORKLOADS[workload]
    return {"workload": workload, "dtype": dtype, "threads": threads, "rows": w.rows,
            "epochs": w.epochs, "batch": w.batch, "sizes": list(w.sizes), "peers": peers_}


def test_verdicts_follow_the_targets_file():
    goal = load_targets()["training"]["ratio"]["torch"]["wide"]
    results = [_fake("wide", "float32", 1, {"nnfast": 1.0, "torch": goal * 1.01}),
               _fake("wide", "float32", 2, {"nnfast": 1.0, "torch": goal * 0.99}),
               _fake("wide", "float64", 1, {"nnfast": 1.0, "torch": goal * 0.5})]
    report.derive(results, {"float32": 1e9, "float64": 1e9})
    assert results[0]["targets"]["vs torch"]["pass"]
    assert not results[1]["targets"]["vs torch"]["pass"]
    assert results[0]["targets"]["memory"]["pass"]
    scaling = report.scaling_rows(results)
    assert scaling[0]["speedup"]["nnfast"] == 1.0 and scaling[0]["pass"] is False
    f64 = report.f64_vs_f32_rows(results)
    assert [(q["peer"], q["pass"]) for q in f64] == [("torch", False)]
    passes, misses = report.target_summary(results, scaling, f64, None)
    missed = [line for _, line in misses]
    assert any(line.startswith("wide float32 2T vs torch") for line in missed)
    assert any("float64 ratio" in line for line in missed)
    assert not any(line.startswith("wide float32 1T vs torch") for line in missed)
    tabs = report.tables(results, ["nnfast", "torch"], scaling, f64)
    assert "**MISS**" in tabs["targets"] and "torch/nnfast" in tabs["times"]


def test_quick_results_are_not_judged():
    results = [_fake("wide", "float32", 1, {"nnfast": 1.0, "torch": 0.1}, cold=False)]
    report.derive(results, {"float32": 1e9, "float64": 1e9}, judge=False)
    assert results[0]["targets"] == {} and results[0]["ratios"]["torch"] == pytest.approx(0.1)
    tabs = report.tables(results, ["nnfast", "torch"], [], [])
    assert tabs["targets"] == "" and tabs["memory"] == ""


def test_md_table_aligns_numeric_columns():
    t = report.md_table(["name", "n"], [["a", 1], ["bbb", 22]], numeric={1})
    assert t.splitlines() == ["| name |  n |", "|------|---:|", "| a    |  1 |",
                              "| bbb  | 22 |"]


def test_update_section_rewrites_only_between_its_markers(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("# Results\n\nhand-written reading\n", encoding="utf-8")
    record.update_section(str(path), "train", "first table")
    record.update_section(str(path), "gemm", "gemm table")
    record.update_section(str(path), "train", "second table")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Results\n\nhand-written reading\n")
    assert "second table" in text and "first table" not in text and "gemm table" in text
    assert text.count("begin generated: train") == 1
    assert text.index("train") < text.index("gemm")


def test_record_path_is_dated():
    p = record.record_path("results", "2026-12-02 07:31", "train")
    assert p == os.path.join("results", "2026-12-02-0731-train.md")


def test_bad_options_name_the_option(capsys):
    with pytest.raises(SystemExit):
        main(["--workloads", "xor,nope"])
    assert "--workloads" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--skip", "wide:float16:1"])
    assert "--skip" in capsys.readouterr().err


def test_a_quick_run_prints_ratios_and_records_them(tmp_path, capsys, monkeypatch):
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        monkeypatch.delenv(var, raising=False)
    rec = tmp_path / "results" / "run.md"
    md = tmp_path / "RESULTS.md"
    out_json = tmp_path / "run.json"
    status = main(["--quick", "--workloads", "xor", "--peers", "nnfast,reference",
                   "--inner-budget", "0", "--record", str(rec), "--results-md", str(md),
                   "--out-json", str(out_json)])
    assert status == 0
    out = capsys.readouterr().out
    assert "reference/nnfast" in out and "no target is judged" in out
    saved = json.loads(out_json.read_text(encoding="utf-8"))
    (res,) = saved["results"]
    assert res["workload"] == "xor" and res["dtype"] == "float32" and res["threads"] == 1
    assert res["peers"]["reference"]["loss_agrees"]
    assert "QUICK" in rec.read_text(encoding="utf-8")
    assert "(results/run.md)" in md.read_text(encoding="utf-8")
