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
        h.update(repr(a.tolist()).encode() if a.dtype == object else np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _array_like(a):
    return a if a is None or (hasattr(a, "shape") and hasattr(a, "dtype")) else np.asarray(a)


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

    # ------------------------------------------------------------------
    # before training: every rank must have called with the same problem
    # ------------------------------------------------------------------

    def agree(self, est, X, y, sample_weight, *, incremental, classes=None, X_val=None,
              y_val=None):
        """Raise the same ValueError on every rank when the ranks' calls disagree (a
        collective: every rank must call it). Returns (X, y) as array-likes."""
        X, y = _array_like(X), _array_like(y)
        S = est.reduction_chunks
        if S is None or S % self.size:
            raise ValueError(
                f"a distributed fit on {self.size} processes needs reduction_chunks, a multiple "
                f"of {self.size}, on the estimator; got reduction_chunks={S!r}")
        if est.solver == "lbfgs" and (self.data == "sharded" or incremental):
            raise ValueError("solver='lbfgs' takes the whole data set on every rank: "
                             "data='global' and fit (not partial_fit)")
        if self.data == "sharded" and est.early_stopping and not incremental and X_val is None:
            raise ValueError("early_stopping with data='sharded' needs a validation set, the same "
                             "on every rank: fit(..., X_val=, y_val=)")
        if not isinstance(est.random_state, (int, np.integer)):
            # None or a RandomState would draw different weights on every rank
            seed = None
            if self.rank == 0:
                seed = int(check_random_state(est.random_state).randint(np.iinfo(np.int32).max))
            est.random_state = self.comm.bcast(seed, root=0)
        mine = self._fingerprint(est, X, y, sample_weight, incremental, classes, X_val, y_val)
        everyone = self.comm.allgather(mine)
        for key in everyone[0]:
            differ = [r for r, fp in enumerate(everyone) if fp[key] != everyone[0][key]]
            if differ:
                shown = ", ".join(f"rank {r}: {everyone[r][key]}" for r in [0, *differ[:3]])
                raise ValueError(f"the {self.size} processes disagree on {key} ({shown}); every "
                                 f"rank must call with the same estimator and "
                                 f"{'data' if self.data == 'global' else 'kind of data'}")
        if self.data == "sharded":
            self.n_rows = self.comm.allgather(int(X.shape[0]))
            if is_classifier(est) and classes is None and not incremental:
                labels = self.comm.allgather(np.unique(np.asarray(y)) if np.ndim(y) == 1 else None)
                if all(lab is not None for lab in labels):
                    self.classes = np.unique(np.concatenate(labels))
        return X, y

    def _fingerprint(self, est, X, y, sample_weight, incremental, classes, X_val, y_val):
        params = {k: v for k, v in est.get_params(deep=False).items()
                  if k not in ("callbacks", "verbose")}
        fp = {
            "the estimator": type(est).__name__,
            "the parameters": repr(sorted(params.items())),
            "the mode": f"{self.data}, {'partial_fit' if incremental else 'fit'}",
            "X's features, dtype and format": (
                f"{X.shape[1:] if hasattr(X, 'shape') else '?'} {getattr(X, 'dtype', '?')} "
                f"{getattr(X, 'format', 'dense')}"),
            "y's shape and dtype": f"{np.shape(y)[1:]} {np.asarray(y[:0]).dtype}",
            "sample_weight's presence": sample_weight is not None,
            "the classes argument": _digest(classes),
            "the validation set": _digest(X_val, y_val),
            "the fitted state it starts from": _digest(*getattr(est, "coefs_", []),
                                                       *getattr(est, "intercepts_", [])),
        }
        if self.data == "global":
            fp["the number of samples"] = int(X.shape[0])
            # y and the weights whole (they are small), X's first and last rows
            first_last = None if X.shape[0] == 0 else (X[:1], X[-1:])
            fp["the data (y, sample_weight, X's first and last rows)"] = _digest(
                y, sample_weight, *(first_last or ()))
        return fp

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
        if _is_local(self.comm):
            def run():
                self.comm.Allgatherv(send, (recv, sizes, displs))
        else:
            from mpi4py import MPI

            spec = [recv, sizes, displs, MPI.BYTE]

            def run():
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
        rank 0 alone decides what depends on time or callbacks."""
        def hook(epoch, loss):
            return self.comm.bcast(epoch_end(epoch, loss), root=0)
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
