"""Thread scaling of training and of the matrix product: nnfast against NumPy (nnfast's
NumPy reference, on OpenBLAS) and PyTorch eager, at 1, 2, 4, ... threads.

Each (peer, thread count) runs in its own process so that every library starts with the
thread count it is given (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / torch.set_num_threads).
All peers train the same network from the same initial weights on the same data, one epoch
of plain mini-batch SGD, float32. Written for the 16-core machine of issue 3; runs anywhere:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/scaling.py --threads 1,2
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

WORKLOADS = {
    # name: (rows, features, hidden, classes, batch)
    "mnist_like": (60000, 784, [256, 128], 10, 128),
    "wide": (8192, 1024, [2048, 2048], 10, 512),
}


def _data(name, scale):
    import numpy as np

    m, d, hidden, k, batch = WORKLOADS[name]
    m = max(batch, int(m * scale))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, d), dtype=np.float32)
    y = rng.integers(0, k, m)
    Y = np.eye(k, dtype=np.float32)[y]
    return X, Y, [d, *hidden, k], batch


def _flops(sizes, m):
    """Multiply-adds x 2 of one epoch: forward, dW, and dA for every layer but the first."""
    f = 0
    for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        f += 2 * m * a * b * (3 if l > 0 else 2)
    return f


def _train(peer, X, Y, sizes, batch, lr=0.01):
    import numpy as np

    import nnfast

    Ws, bs = nnfast.init_params(sizes, "relu", random_state=0, dtype=np.float32)
    if peer == "nnfast":
        t = time.perf_counter()
        nnfast.train(X, Y, Ws, bs, learning_rate=lr, batch_size=batch, epochs=1)
        return time.perf_counter() - t
    if peer == "numpy":
        t = time.perf_counter()
        nnfast.reference.train(X, Y, Ws, bs, learning_rate=lr, batch_size=batch, epochs=1)
        return time.perf_counter() - t
    import torch

    layers = []
    for l, (W, b) in enumerate(zip(Ws, bs)):
        lin = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin] + ([torch.nn.ReLU()] if l < len(Ws) - 1 else [])
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(Y.argmax(1))
    loss_fn = torch.nn.CrossEntropyLoss()
    t = time.perf_counter()
    for s in range(0, len(X), batch):
        opt.zero_grad()
        loss_fn(model(Xt[s:s + batch]), yt[s:s + batch]).backward()
        opt.step()
    return time.perf_counter() - t


def _gemm(peer, sizes, repeat=3):
    import numpy as np

    rng = np.random.default_rng(1)
    out = {}
    for n in sizes:
        A = rng.standard_normal((n, n), dtype=np.float32)
        B = rng.standard_normal((n, n), dtype=np.float32)
        if peer == "nnfast":
            import nnfast

            f = lambda: nnfast.matmul(A, B)  # noqa: E731
        elif peer == "numpy":
            f = lambda: A @ B  # noqa: E731
        else:
            import torch

            At, Bt = torch.from_numpy(A), torch.from_numpy(B)
            f = lambda: At @ Bt  # noqa: E731
        f()
        best = min(_timed(f) for _ in range(repeat))
        out[str(n)] = 2 * n ** 3 / best / 1e9
    return out


def _timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def child(args):
    """One peer at one thread count: prints a JSON line of seconds and GFLOP/s."""
    if args.peer == "torch":
        import torch

        torch.set_num_threads(args.threads)
    res = {"peer": args.peer, "threads": args.threads, "train": {}, "gemm": {}}
    for name in args.workloads.split(","):
        X, Y, sizes, batch = _data(name, args.scale)
        _train(args.peer, X[:batch * 4], Y[:batch * 4], sizes, batch)  # warm up
        sec = min(_train(args.peer, X, Y, sizes, batch) for _ in range(args.repeat))
        res["train"][name] = {"seconds": sec, "gflops": _flops(sizes, len(X)) / sec / 1e9}
    if args.gemm:
        res["gemm"] = _gemm(args.peer, [int(n) for n in args.gemm.split(",")])
    print(json.dumps(res), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", default="1,2,4,8,16")
    p.add_argument("--peers", default="nnfast,numpy,torch")
    p.add_argument("--workloads", default="mnist_like,wide")
    p.add_argument("--gemm", default="1024,2048", help="square GEMM sizes ('' for none)")
    p.add_argument("--scale", type=float, default=1.0, help="fraction of each workload's rows")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--out", help="write all results as JSON here")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--peer", help=argparse.SUPPRESS)
    p.add_argument("--threads-one", type=int, dest="threads_one", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        args.threads = args.threads_one
        return child(args)

    import nnfast

    print(f"nnfast {nnfast.__version__}, GEMM {nnfast.config()['gemm_kernel']}, "
          f"{os.cpu_count()} CPUs; float32; best of {args.repeat}", flush=True)
    results = []
    for t in [int(x) for x in args.threads.split(",")]:
        for peer in args.peers.split(","):
            env = {k: v for k, v in os.environ.items()
                   if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
            env.update(OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t),
                       MKL_NUM_THREADS=str(t))
            cmd = [sys.executable, __file__, "--child", "--peer", peer, "--threads-one", str(t),
                   "--workloads", args.workloads, "--gemm", args.gemm, "--scale",
                   str(args.scale), "--repeat", str(args.repeat)]
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{peer} @ {t} threads failed:\n{proc.stderr[-2000:]}", flush=True)
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(r)
            parts = [f"{w} {v['seconds']:.3f} s ({v['gflops']:.0f} GFLOP/s)"
                     for w, v in r["train"].items()]
            parts += [f"gemm {n}: {g:.0f} GFLOP/s" for n, g in r["gemm"].items()]
            print(f"{peer:>7} @ {t:2d} threads: " + "; ".join(parts), flush=True)
    _table(results)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


def _table(results):
    by = {(r["peer"], r["threads"]): r for r in results}
    threads = sorted({r["threads"] for r in results})
    for w in sorted({w for r in results for w in r["train"]}):
        print(f"\n{w}: seconds (speed-up over 1 thread) | nnfast faster than numpy, torch by")
        for t in threads:
            row = []
            for peer in ("nnfast", "numpy", "torch"):
                r, r1 = by.get((peer, t)), by.get((peer, threads[0]))
                if r and w in r["train"]:
                    s = r["train"][w]["seconds"]
                    s1 = r1["train"][w]["seconds"] if r1 else s
                    row.append(f"{peer} {s:.3f} ({s1 / s:.1f}x)")
            nn = by.get(("nnfast", t))
            ratios = [f"{by[(p, t)]['train'][w]['seconds'] / nn['train'][w]['seconds']:.2f}x"
                      for p in ("numpy", "torch") if nn and (p, t) in by]
            print(f"  {t:2d} threads: " + ", ".join(row) + " | " + ", ".join(ratios))


if __name__ == "__main__":
    main()
