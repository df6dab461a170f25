"""One distributed fit's link to its communicator: the ranks' agreement before training,
the route of the chunk gradients (csrc/nn/chunks.h) and the per-epoch verdict.

A Session is attached to an estimator for one fit / partial_fit call only (as the private
attribute ``_distributed_session``, removed afterwards): the communicator is neither an
estimator parameter nor picklable.
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils import check_random_state

from .. import _core

ATTRIBUTE = "_distributed_session"
MODES = ("global", "sharded")


def _is_local(comm):
    from .local import LocalComm

    return isinstance(comm, LocalComm)


def _digest(*arrays):
    """SHA-256 of arrays' dtypes, shapes and values (None counts as absent)."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        if hasattr(a, "tocsr"):  # sparse: its defining arrays
            a = a.tocsr()
            h.update(_digest(a.data, a.indices, a.indptr).encode())
            continue
        a = np.asarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        if a.dtype == object:
            h.update(repr(a.tolist()).encode())
        else:  # the buffer itself (a memory map is read, not copied)
            h.update(memoryview(np.ascontiguousarray(a)).cast("B"))
    return h.hexdigest()


def _plain(v):
    """A parameter as a comparable plain value: numbers by value, sequences as lists."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, (tuple, list, np.ndarray)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {repr(k): _plain(x) for k, x in v.items()}
    return repr(v)


def _shown(value, shown_with):
    """value, or for parameter dicts only the entries on which the dicts shown_with differ."""
    if isinstance(value, dict) and all(isinstance(v, dict) for v in shown_with):
        keys = sorted({k for v in shown_with for k in v if any(v.get(k) != w.get(k)
                                                               for w in shown_with)})
        return ", ".join(f"{k}={value.get(k)!r}" for k in keys)
    return str(value)


def _first_last(X):
    """X's first and last rows (any array-like, DataFrame or sparse format)."""
    n = np.shape(X)[0] if np.ndim(X) else 0
    if not n:
        return ()
    if hasattr(X, "tocsr"):
        X = X.tocsr()
    elif hasattr(X, "iloc"):
        return (np.asarray(X.iloc[[0, n - 1]]),)
    elif not hasattr(X, "dtype"):
        return (np.asarray(X[0]), np.asarray(X[n - 1]))
    return (X[:1], X[n - 1:])


def _fitted_digest(est):
    """SHA-256 of everything a fitted estimator carries into the next fit (parameters,
    optimizer state, the stopping rules' bookkeeping); "unfitted" when it is not."""
    from .. import state

    try:
        fitted = state.export(est)
    except Exception:  # NotFittedError, or a half-set estimator: nothing carried
        return "unfitted"
    fitted.pop("params", None)
    h = hashlib.sha256()
    for key in sorted(fitted):
        value = fitted[key]
        h.update(key.encode())
        arrays = value if isinstance(value, (list, tuple)) else [value]
        for a in arrays:
            h.update(_digest(a).encode() if isinstance(a, np.ndarray) else repr(a).encode())
    return h.hexdigest()


class Session:
    """A communicator (mpi4py's, or nnfast.distributed.local's) as one fit uses it."""

    def __init__(self, comm: Any, data: str):
        if data not in MODES:
            raise ValueError(f"data must be one of {MODES}, got {data!r}")
        needed = ("Get_rank", "Get_size", "allgather", "bcast", "Allgatherv")
        if not all(callable(getattr(comm, name, None)) for name in needed):
            raise TypeError(f"comm must be an mpi4py communicator (or a nnfast.distributed."
                            f"local.LocalComm), got {type(comm).__name__}")
        self.comm = comm
        self.data = data
        self.size = int(comm.Get_size())
        self.rank = int(comm.Get_rank())
        self.classes = None  # sharded classifiers: the union of every rank's labels
        self.n_rows: list[int] = []  # sharded: every rank's row count
        self.started = False  # the start of training (ready / fail) has been agreed
        self.interrupted = False  # SIGINT reached this rank: sent as the stop flag

    # ------------------------------------------------------------------
    # before training: every rank must have called with the same problem
    # ------------------------------------------------------------------

    def agree(self, est, X, y, sample_weight, *, incremental, classes=None, X_val=None,
              y_val=None):
        """Raise the same error on every rank when a rank's call is wrong or the ranks'
        calls disagree (a collective: every rank must call it, and every rank leaves it
        together, raising or not)."""
        problem = fp = None
        try:
            self._check_call(est, incremental, X_val)
            fp = self._fingerprint(est, X, y, sample_weight, incremental, classes, X_val, y_val)
        except (ValueError, TypeError) as exc:
            problem = (type(exc).__name__, str(exc))
        everyone = self.comm.allgather((problem, fp))
        failed = [(r, p) for r, (p, _) in enumerate(everyone) if p is not None]
        if failed:
            self.started = True  # every rank raises here: nobody waits in ready()
            r, (kind, msg) = failed[0]
            raise (TypeError if kind == "TypeError" else ValueError)(
                msg if r == self.rank or len(failed) == self.size else f"rank {r}: {msg}")
        fps = [f for _, f in everyone]
        for key in fps[0]:
            differ = [r for r, f in enumerate(fps) if f[key] != fps[0][key]]
            if differ:
                self.started = True
                ranks = [0, *differ[:3]]
                shown = "; ".join(f"rank {r}: {_shown(fps[r][key], [fps[q][key] for q in ranks])}"
                                  for r in ranks)
                raise ValueError(f"the {self.size} processes disagree on {key} ({shown}); every "
                                 f"rank must call with the same estimator and "
                                 f"{'data' if self.data == 'global' else 'kind of data'}")
        if not isinstance(est.random_state, (int, np.integer)):
            # None or a RandomState (on every rank: compared above) would draw different
            # weights on every rank: rank 0 draws the seed for all
            seed = None
            if self.rank == 0:
                seed = int(check_random_state(est.random_state).randint(np.iinfo(np.int32).max))
            est.random_state = self.comm.bcast(seed, root=0)
        if self.data == "sharded":
            self.n_rows = self.comm.allgather(int(np.shape(X)[0]))
            if is_classifier(est) and classes is None and not incremental:
                yy = np.asarray(y)
                mine = np.unique(yy.ravel()) if yy.ndim == 1 or yy.shape[1] == 1 else None
                labels = self.comm.allgather(mine)
                if all(lab is not None for lab in labels):
                    self.classes = np.unique(np.concatenate(labels))

    def _check_call(self, est, incremental, X_val):
        """What one rank can tell alone is wrong with its call (raised, then shared)."""
        from .._mlp_base import BaseMultilayerPerceptron

        if not isinstance(est, BaseMultilayerPerceptron):
            raise TypeError(f"nnfast.distributed fits nnfast's MLPClassifier or MLPRegressor, "
                            f"got {type(est).__name__}")
        S = est.reduction_chunks
        if not isinstance(S, (int, np.integer)) or isinstance(S, bool) or S < 1 or S % self.size:
            raise ValueError(
                f"a distributed fit on {self.size} processes needs reduction_chunks, a multiple "
                f"of {self.size}, on the estimator; got reduction_chunks={S!r}")
        if est.solver == "lbfgs" and (self.data == "sharded" or incremental):
            raise ValueError("solver='lbfgs' takes the whole data set on every rank: "
                             "data='global' and fit (not partial_fit)")
        if self.data == "sharded":
            if est.early_stopping and not incremental and X_val is None:
                raise ValueError("early_stopping with data='sharded' needs a validation set, "
                                 "the same on every rank: fit(..., X_val=, y_val=)")
            if getattr(est, "class_weight", None) == "balanced":
                raise ValueError("class_weight='balanced' with data='sharded' would weigh each "
                                 "shard's classes by its own counts: pass the whole data's "
                                 "weights as a dict")

    def _fingerprint(self, est, X, y, sample_weight, incremental, classes, X_val, y_val):
        # n_jobs changes no bit; numbers and sequences compare by value (2 == np.int64(2),
        # (3,) == [3])
        params = {k: _plain(v) for k, v in est.get_params(deep=False).items()
                  if k not in ("callbacks", "verbose", "n_jobs")}
        if not isinstance(est.random_state, (int, np.integer)):
            params["random_state"] = "drawn by rank 0"  # a RandomState's repr is its id
        shape = tuple(np.shape(X))
        dtype = getattr(X, "dtype", None)
        if dtype is None and hasattr(X, "dtypes"):  # a DataFrame: its columns' dtypes
            dtype = ",".join(map(str, X.dtypes))
        columns = list(map(str, X.columns)) if hasattr(X, "columns") else None
        fp = {
            "the estimator": type(est).__name__,
            "the parameters": params,
            "the mode": f"{self.data}, {'partial_fit' if incremental else 'fit'}",
            "X's features, dtype and format": (
                f"{shape[1:]} {dtype} {getattr(X, 'format', 'dense')} columns={columns}"),
            "y's shape": f"{np.shape(y)[1:]}",
            "sample_weight's presence": sample_weight is not None,
            "the classes argument": _digest(classes),
            "the validation set": _digest(X_val, y_val),
        }
        if incremental or est.warm_start:  # a fresh fit starts from nothing it holds
            fp["the fitted state it starts from"] = _fitted_digest(est)
        if self.data == "global":
            fp["the number of samples"] = shape[0] if shape else None
            fp["the data (y, sample_weight, X's first and last rows)"] = _digest(
                y, sample_weight, *_first_last(X))
        return fp

    # ------------------------------------------------------------------
    # the start of training: a rank that failed in its own input checks
    # ------------------------------------------------------------------

    def ready(self):
        """Called by the estimator where training starts, after its own input checks:
        every rank has got there, or all raise (a collective, once per call)."""
        self._start(None)

    def fail(self, exc):
        """This rank raised before training: the others, waiting in ready(), learn it."""
        self._start((type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""))

    def _start(self, problem):
        if self.started:
            return
        self.started = True
        problems = self.comm.allgather(problem)
        failed = [(r, p) for r, p in enumerate(problems) if p is not None]
        if failed and problem is None:
            r, (kind, msg) = failed[0]
            raise ValueError(f"rank {r} failed before training ({kind}: {msg}); no rank trained")

    # ------------------------------------------------------------------
    # during training (called by the estimator's stochastic solver)
    # ------------------------------------------------------------------

    def route(self, chunks, params, batch_size):
        """The exchange of run_epochs and chunked_loss_and_gradients: (ranks, rank, send,
        recv, run, shard); batch_size None for L-BFGS's whole-data batches."""
        n_params = sum(int(p.size) for p in params)
        sizes = _core.exchange_sizes(chunks, self.size, n_params, params[0].dtype.itemsize)
        displs = np.concatenate([[0], np.cumsum(sizes[:-1])]).astype(np.int64).tolist()
        send = np.empty(sizes[self.rank], dtype=np.uint8)
        recv = np.empty(sum(sizes), dtype=np.uint8)
        flags = send[:8].view(np.int64)  # the header's first field (csrc/nn/chunks.h)
        if _is_local(self.comm):
            spec = (recv, sizes, displs)
        else:
            from mpi4py import MPI

            spec = [recv, sizes, displs, MPI.BYTE]

        def run():
            if self.interrupted:  # SIGINT on this rank: every rank stops after this batch
                flags[0] |= 1
            self.comm.Allgatherv(send, spec)
        shard = None
        if self.data == "sharded" and batch_size is not None:  # (None: L-BFGS, all rows)
            n_total = sum(self.n_rows)
            b = min(200, n_total) if batch_size == "auto" else min(int(batch_size), n_total)
            local = -(-b // self.size)
            steps = max(-(-n // local) for n in self.n_rows)
            shard = (local, steps, n_total)
        return self.size, self.rank, send, recv, run, shard

    def agreed(self, epoch_end):
        """epoch_end whose verdict (go on?, validation score) is rank 0's on every rank:
        rank 0 alone decides what depends on time or callbacks. Ctrl-C or an exception in
        any rank's epoch_end ends every rank's fit at this epoch (KeyboardInterrupt, or the
        exception: its own on the failing rank, a RuntimeError naming it elsewhere)."""
        def hook(epoch, loss):
            verdict, problem = None, None
            try:
                verdict = epoch_end(epoch, loss)
            except KeyboardInterrupt:
                self.interrupted = True
            except Exception as exc:  # shared below, then raised on every rank
                problem = exc
            views = self.comm.allgather((verdict, self.interrupted,
                                         None if problem is None else f"{type(problem).__name__}: "
                                         f"{problem}"))
            if any(stop for _, stop, _ in views):
                raise KeyboardInterrupt
            failed = [(r, p) for r, (_, _, p) in enumerate(views) if p is not None]
            if failed:
                if problem is not None:
                    raise problem
                raise RuntimeError(f"rank {failed[0][0]}'s epoch end raised {failed[0][1]}")
            return views[0][0]
        return hook


@contextmanager
def attached(est, session):
    """The session on the estimator for one call."""
    if getattr(est, ATTRIBUTE, None) is not None:
        raise RuntimeError("this estimator is already in a distributed fit")
    setattr(est, ATTRIBUTE, session)
    try:
        yield est
    finally:
        try:
            delattr(est, ATTRIBUTE)
        except AttributeError:
            pass
