"""Thread scaling of training and of the matrix product: nnfast against NumPy (nnfast's
NumPy reference, on OpenBLAS) and PyTorch eager, at 1, 2, 4, ... threads.

Each (peer, thread count) runs in its own process so that every library starts with the
thread count it is given (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / torch.set_num_threads).
All peers train the same network from the same initial weights on the same data, one epoch
of plain mini-batch SGD, float32. Written for the device tool's 16-core machine
(benchmarks/device.sh); runs anywhere:

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


def _gemm(peer, shapes, repeat=3):
    """GFLOP/s of each product: "n" is n x n x n, "MxKxN" an M x K by K x N product."""
    import numpy as np

    rng = np.random.default_rng(1)
    out = {}
    for shape in shapes:
        m, k, n = [int(x) for x in shape.split("x")] if "x" in shape else [int(shape)] * 3
        A = rng.standard_normal((m, k), dtype=np.float32)
        B = rng.standard_normal((k, n), dtype=np.float32)
        C = np.empty((m, n), np.float32)  # every peer writes into a preallocated C
        if peer == "nnfast":
            from nnfast import _core  # the kernel, without the API's input checks

            f = lambda C=C, A=A, B=B: _core.gemm(C, A, B, False, False, False)  # noqa: E731
        elif peer == "numpy":
            f = lambda C=C, A=A, B=B: np.matmul(A, B, out=C)  # noqa: E731
        else:
            import torch

            At, Bt, Ct = torch.from_numpy(A), torch.from_numpy(B), torch.from_numpy(C)
            f = lambda At=At, Bt=Bt, Ct=Ct: torch.matmul(At, Bt, out=Ct)  # noqa: E731
        f()
        # Enough calls that each timing is at least ~20 ms.
        t1 = _timed(f)
        calls = max(1, int(0.02 / max(t1, 1e-7)))
        best = min(_timed(lambda f=f, calls=calls: [f() for _ in range(calls)])
                   for _ in range(repeat)) / calls
        out[shape] = 2 * m * n * k / best / 1e9
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
        res["gemm"] = _gemm(args.peer, args.gemm.split(","))
    print(json.dumps(res), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", default="1,2,4,8,16")
    p.add_argument("--peers", default="nnfast,numpy,torch")
    p.add_argument("--workloads", default="mnist_like,wide")
    p.add_argument("--gemm", default="1024,2048,128x784x256,512x2048x2048",
                   help="products: n (square) or MxKxN, comma-separated ('' for none); the "
                        "default adds mnist_like's and wide's largest forward products")
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
    for shape in sorted({g for r in results for g in r["gemm"]}, key=lambda g: (len(g), g)):
        print(f"\nGEMM {shape}: GFLOP/s nnfast / numpy / torch")
        for t in threads:
            vals = [by[(p, t)]["gemm"].get(shape) if (p, t) in by else None
                    for p in ("nnfast", "numpy", "torch")]
            print(f"  {t:2d} threads: " + " / ".join("-" if v is None else f"{v:.0f}" for v in vals))


if __name__ == "__main__":
    main()
