"""One peer, one workload, one dtype and thread count, in its own process: JSON on stdout.

    python -m nnfast.bench.peers '<spec as JSON>'          (or a JSON list of specs)

The peers, each training the same network from the same weights on the same batches with
plain SGD (no momentum, no L2 penalty):

nnfast
    nnfast.train: the whole run in one C++ call; for a workload whose spec says
    "estimator", nnfast.MLPClassifier's whole fit under the same harness as scikit-learn's
reference
    nnfast.reference.train: pure NumPy, one Python iteration per mini-batch
sklearn
    sklearn.neural_network.MLPClassifier(solver="sgd", momentum=0, alpha=0,
    shuffle=False, learning_rate="constant"), warm-started from our weights
torch
    PyTorch eager: nn.Sequential of nn.Linear, torch.optim.SGD, BCEWithLogitsLoss
    (binary, 1 output) / CrossEntropyLoss (mean)

This module imports only the standard library, NumPy and the peer under test (never the rest
of nnfast.bench), so that it also runs as a plain script under another build's interpreter:
benchmarks/compare_builds.py times an older nnfast with exactly this harness.

In the process: load the inputs the parent wrote, build the model, optionally run one short
untimed warm-up fit, measure the resident set, then time the fit alone (perf_counter around
it). A cold turn (no warm-up) times one fit and provides the memory figures: the peak
resident set of the fit (VmHWM, reset just before it; ru_maxrss survives exec and starts at
the parent's peak) over the resident set just before it. A warm turn repeats the fit from
the same initial weights until the fits add up to the spec's inner budget or its fit cap,
and keeps the best; every repeated fit must reproduce the first one's losses.
"""
from __future__ import annotations

import gc
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

#: Every peer, in the order of the tables.
ALL_PEERS = ("nnfast", "reference", "sklearn", "torch")

#: Variables that make OpenBLAS pick a slower kernel on these machines; every peer runs
#: without them (a speed-up over a handicapped NumPy does not count).
BLAS_HANDICAP_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

#: The thread-count variables each peer's environment sets.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# What a peer gives run_peer: fit() -> (Ws, bs, loss curve), reset(), and its extra facts
# (a dict, or a function returning one after the fits).
Peer = tuple[Callable[[], tuple[Any, Any, list[float]]], Callable[[], None], Any]


def rel_diff(a: float, b: float) -> float:
    """``|a - b| / max(|a|, |b|)`` (0 when both are 0)."""
    s = max(abs(a), abs(b))
    return 0.0 if s == 0 else abs(a - b) / s


def threadpool_report() -> list[dict[str, Any]] | None:
    """threadpoolctl's view of this process (BLAS kernel/architecture, OpenMP runtimes), or
    None without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    keep = ("user_api", "internal_api", "version", "architecture", "num_threads",
            "threading_layer", "prefix")
    return [{k: i.get(k) for k in keep if k in i} for i in threadpool_info()]


# ---------------------------------------------------------------------------
# Memory probes (Linux; each degrades to None / False elsewhere)
# ---------------------------------------------------------------------------

def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _status_mb(field: str) -> float | None:
    """VmRSS / VmHWM of this process from /proc/self/status, in MiB (None if unavailable)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0): imports,
    data loading and the warm-up would otherwise hide the fit's own peak."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------
# The peers: each returns (fit, reset, extra); fit() -> (Ws, bs, loss curve)
# ---------------------------------------------------------------------------

def _peer_nnfast(spec: dict[str, Any], X: Any, Y: Any, labels: Any, W0: Any, b0: Any,
                 ref: bool = False) -> Peer:
    import nnfast
    from nnfast import reference

    impl = reference if ref else nnfast
    if not ref:
        nnfast._core.set_num_threads(spec["threads"])
        if spec.get("estimator"):
            return _peer_nnfast_estimator(spec, X, labels, W0, b0)
    kw = dict(learning_rate=spec["lr"], batch_size=spec["batch"], activation=spec["activation"],
              out_activation=spec["out"])
    if spec["warmup"]:
        r = min(X.shape[0], 2 * spec["batch"])
        impl.train(X[:r], Y[:r], W0, b0, epochs=1, **kw)

    def fit() -> tuple[Any, Any, list[float]]:
        Ws, bs, curve = impl.train(X, Y, W0, b0, epochs=spec["epochs"], **kw)
        return Ws, bs, [float(c) for c in curve]

    def reset() -> None:  # train() copies W0/b0 and starts from them at every call
        pass

    extra = {"nnfast_threads": nnfast._core.get_num_threads(),
             "gemm_kernel": nnfast.config()["gemm_kernel"]}
    return fit, reset, extra


def _peer_nnfast_estimator(spec: dict[str, Any], X: Any, labels: Any, W0: Any, b0: Any) -> Peer:
    import nnfast

    fit, reset, check = _peer_estimator(spec, X, labels, W0, b0, nnfast.MLPClassifier, "nnfast")
    return fit, reset, lambda: {**check(), "nnfast_threads": nnfast._core.get_num_threads(),
                                "gemm_kernel": nnfast.config()["gemm_kernel"]}


def _peer_sklearn(spec: dict[str, Any], X: Any, Y: Any, labels: Any, W0: Any, b0: Any) -> Peer:
    import sklearn
    from sklearn.neural_network import MLPClassifier

    fit, reset, check = _peer_estimator(spec, X, labels, W0, b0, MLPClassifier, "sklearn")
    return fit, reset, lambda: {**check(), "sklearn": sklearn.__version__}


def _peer_estimator(spec: dict[str, Any], X: Any, labels: Any, W0: Any, b0: Any,
                    MLPClassifier: Any, name: str) -> Peer:
    """An MLPClassifier class (scikit-learn's, or nnfast's drop-in) fitting plain SGD for
    the spec's epochs from our weights: each fit() is one whole `fit(X, labels)`."""
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning

    epochs = spec["epochs"]
    clf = MLPClassifier(hidden_layer_sizes=tuple(spec["sizes"][1:-1]),
                        activation=spec["activation"], solver="sgd", alpha=0.0,
                        batch_size=spec["batch"], learning_rate="constant",
                        learning_rate_init=spec["lr"], max_iter=1, shuffle=False,
                        random_state=0, tol=0.0, momentum=0.0, nesterovs_momentum=False,
                        early_stopping=False, n_iter_no_change=epochs + 1, warm_start=True)
    # Setup (and warm-up): one epoch on a small subset holding every class, so that the
    # estimator's classes_, label binarizer and output activation exist; then reset()
    # installs our initial weights and resets the iteration state, and warm_start continues
    # from them (fit() with incremental=False makes a fresh SGD optimizer each time).
    first = [int(np.flatnonzero(labels == c)[0]) for c in np.unique(labels)]
    sub = np.unique(np.r_[first, np.arange(min(X.shape[0], 2 * spec["batch"]))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[sub], labels[sub])
    expected_out = "logistic" if spec["out"] == "logistic" else "softmax"
    if clf.out_activation_ != expected_out or len(clf.coefs_) != len(W0):
        raise RuntimeError(f"{name} built out_activation {clf.out_activation_} with "
                           f"{len(clf.coefs_)} layers; expected {expected_out}, {len(W0)}")
    clf.set_params(max_iter=epochs)
    start_ids: list[int] = []
    verdicts: list[tuple[int, bool]] = []  # (epochs run, started from our arrays) per fit

    def verdict() -> tuple[int, bool]:
        # Started from the arrays reset() installed (updated in place) and ran every epoch.
        return int(clf.n_iter_), [id(W) for W in clf.coefs_] == start_ids

    def reset() -> None:
        if start_ids:            # not the first reset: judge the fit before it
            verdicts.append(verdict())
        clf.coefs_ = [W.copy() for W in W0]
        clf.intercepts_ = [b.copy() for b in b0]
        clf.n_iter_, clf.t_, clf.loss_curve_ = 0, 0, []
        clf._no_improvement_count, clf.best_loss_ = 0, np.inf
        start_ids[:] = [id(W) for W in clf.coefs_]

    reset()

    def fit() -> tuple[Any, Any, list[float]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, labels)
        return clf.coefs_, clf.intercepts_, [float(c) for c in clf.loss_curve_]

    def check() -> dict[str, Any]:
        # Every fit of the turn, the reported (last) one included.
        every = verdicts + [verdict()]
        epochs_run = sorted({e for e, _ in every})
        return {f"{name}_epochs_run": epochs_run[0] if len(epochs_run) == 1 else epochs_run,
                f"{name}_started_from_our_weights": all(ok for _, ok in every),
                f"{name}_dtype": str(clf.coefs_[0].dtype)}

    return fit, reset, check


def _peer_torch(spec: dict[str, Any], X: Any, Y: Any, labels: Any, W0: Any, b0: Any) -> Peer:
    import numpy as np
    import torch

    torch.set_num_threads(spec["threads"])
    tdtype = {"float32": torch.float32, "float64": torch.float64}[spec["dtype"]]
    act = {"logistic": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[
        spec["activation"]]
    binary = spec["out"] == "logistic"
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(Y) if binary else torch.from_numpy(labels)     # (n, 1) / (n,) int64
    n, B = X.shape[0], spec["batch"]

    def build(Ws: Any, bs: Any) -> Any:
        layers = []
        for l, (W, b) in enumerate(zip(Ws, bs)):
            lin = torch.nn.Linear(W.shape[0], W.shape[1], dtype=tdtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))   # (out, in)
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            if l < len(Ws) - 1:
                layers.append(act())
        return torch.nn.Sequential(*layers)

    loss_fn = torch.nn.BCEWithLogitsLoss() if binary else torch.nn.CrossEntropyLoss()

    def train(model: Any, epochs: int, rows: int) -> list[float]:
        opt = torch.optim.SGD(model.parameters(), lr=spec["lr"], momentum=0.0)
        curve: list[float] = []
        for _ in range(epochs):
            total = 0.0
            for s in range(0, rows, B):
                xb, yb = Xt[s:s + B], yt[s:s + B]
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
                total += loss.item() * xb.shape[0]
            curve.append(total / rows)
        return curve

    if spec["warmup"]:
        train(build(W0, b0), 1, min(n, 2 * B))
    model = build(W0, b0)
    lins = [m for m in model if isinstance(m, torch.nn.Linear)]

    def reset() -> None:  # the parameters back to W0/b0; train() makes a fresh optimizer
        with torch.no_grad():
            for lin, W, b in zip(lins, W0, b0):
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
                lin.bias.copy_(torch.from_numpy(b))
                lin.weight.grad = lin.bias.grad = None

    def fit() -> tuple[Any, Any, list[float]]:
        curve = train(model, spec["epochs"], n)
        return ([m.weight.detach().numpy().T for m in lins],
                [m.bias.detach().numpy() for m in lins], curve)

    extra = {"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
             "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
             "torch_mkldnn": bool(torch.backends.mkldnn.is_available())}
    return fit, reset, extra


def _load(spec: dict[str, Any]) -> tuple[Any, Any, Any, Any, Any]:
    """(X (n, d), Y (n, outputs), labels (n,), [W (n_(l-1), n_l)], [b (n_l,)]) in the spec's
    dtype, from the .npy files the parent wrote."""
    import numpy as np

    d, dt = spec["dir"], spec["dtype"]
    X = np.load(os.path.join(d, f"X_{dt}.npy"))
    Y = np.load(os.path.join(d, f"Y_{dt}.npy"))
    labels = np.load(os.path.join(d, "labels.npy"))
    L = len(spec["sizes"]) - 1
    W0 = [np.load(os.path.join(d, f"W{l}.npy")).astype(dt) for l in range(L)]
    b0 = [np.load(os.path.join(d, f"b{l}.npy")).astype(dt) for l in range(L)]
    return X, Y, labels, W0, b0


def run_peer(spec: dict[str, Any]) -> dict[str, Any]:
    """Time one peer's fit as `spec` says; the result dict (seconds, losses, memory, threads)."""
    import numpy as np

    peer = spec["peer"]
    X, Y, labels, W0, b0 = _load(spec)
    if peer == "nnfast":
        fit, reset, extra = _peer_nnfast(spec, X, Y, labels, W0, b0)
    elif peer == "reference":
        fit, reset, extra = _peer_nnfast(spec, X, Y, labels, W0, b0, ref=True)
    elif peer == "sklearn":
        fit, reset, extra = _peer_sklearn(spec, X, Y, labels, W0, b0)
    elif peer == "torch":
        fit, reset, extra = _peer_torch(spec, X, Y, labels, W0, b0)
    else:
        raise ValueError(f"peer: expected one of {ALL_PEERS}; got {peer!r}")
    gc.collect()
    maxrss0 = _maxrss_mb()
    peak_reset = _reset_peak() and _status_mb("VmHWM") is not None
    rss0 = _status_mb("VmRSS") or _rss_mb()
    # The fits that take milliseconds are not left at the mercy of one hiccup of the host:
    # a warm turn repeats them up to the budget and keeps the best. The results are the last
    # fit's; every fit's losses must match the first's (the proof that reset() restored it).
    budget = spec.get("inner_budget", 0.0) if spec["warmup"] else 0.0
    max_fits = spec.get("inner_max_fits", 100)
    inner: list[float] = []
    spread = 0.0
    while True:
        if inner:
            reset()
            gc.collect()
        t0 = time.perf_counter()
        Ws, bs, curve = fit()
        inner.append(time.perf_counter() - t0)
        if len(inner) == 1:
            first = (curve[0], curve[-1], len(curve))
        else:
            spread = max(spread, rel_diff(curve[0], first[0]), rel_diff(curve[-1], first[1]),
                         float(len(curve) != first[2]))
        if sum(inner) >= budget or len(inner) >= max_fits:
            break
    maxrss1 = _maxrss_mb()
    peak1 = _status_mb("VmHWM") if peak_reset else None
    if peak1 is None:  # no reset, or /proc unreadable since: the lifetime peak bounds it
        peak1 = maxrss1
    if callable(extra):
        extra = extra()
    if spec.get("save_weights"):
        np.savez(spec["save_weights"], *[np.asarray(W) for W in Ws], *[np.asarray(b) for b in bs])
    return {"peer": peer, "workload": spec["workload"], "dtype": spec["dtype"],
            "threads": spec["threads"], "seconds": min(inner), "inner_fits": len(inner),
            "inner_seconds": inner, "inner_loss_spread": spread,
            "epochs_run": len(curve), "loss_first": curve[0], "loss_last": curve[-1],
            "cold": not spec["warmup"], "rss_before_mb": rss0, "peak_rss_mb": peak1,
            "peak_overhead_mb": max(0.0, peak1 - rss0),
            "peak_from": "VmHWM after clear_refs" if peak_reset else "ru_maxrss",
            "ru_maxrss_before_mb": maxrss0, "ru_maxrss_after_mb": maxrss1,
            # Without the reset, a peak that did not move only bounds the fit's own peak.
            "peak_is_bound": (not peak_reset) and maxrss1 <= maxrss0 + 0.5,
            "threadpools": threadpool_report(),
            "env": {k: os.environ.get(k) for k in (*THREAD_VARS, *BLAS_HANDICAP_VARS)},
            **extra}


def main(argv: list[str] | None = None) -> int:
    """Entry of the peer's process: argv[0] is a spec as JSON, or a list of specs (run one
    after the other in this process); prints the result, or the list of results, as JSON."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m nnfast.bench.peers '<spec or [specs] as JSON>'",
              file=sys.stderr)
        return 2
    spec = json.loads(argv[0])
    out = [run_peer(s) for s in spec] if isinstance(spec, list) else run_peer(spec)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
