"""Data-parallel training over MPI that gives the same model, bit for bit, at any number of
processes.

Every process (rank) calls :func:`fit` (or :func:`partial_fit`) with an estimator of the
same parameters, ``reduction_chunks=S`` among them, and a communicator (mpi4py's; by
default ``MPI.COMM_WORLD``). Each mini-batch is cut into S fixed, contiguous chunks; rank r
of K computes the gradients of chunks r S/K .. (r+1) S/K - 1 (each normalised by the whole
batch's weight sum), sums the maximal aligned blocks of them in the fixed pairwise tree,
and the ranks exchange those sums (``Allgatherv``, never MPI's own SUM, whose bracketing
depends on the algorithm the library picks); every rank finishes the same tree and takes
the same step. So for any K dividing S the fitted model equals, bit for bit, the
one-process fit with the same ``reduction_chunks`` (which also equals itself at any
thread count). The same exchange carries each rank's stop flag (Ctrl-C); the per-epoch
verdict (callbacks, ``time_budget``, the validation score) is rank 0's, broadcast.

Data, ``data=``:

* ``"global"`` (default): every rank passes the whole dataset, typically
  ``np.load(path, mmap_mode="r")``, and reads only the rows of its own chunks (every rank
  draws the same shuffle from ``random_state``). The model is the one-process model.
* ``"sharded"``: each rank passes only its own rows. A batch is then every rank's next
  ceil(batch_size / K) rows of its own shard (shuffled by each rank, from the same
  random_state), cut into that rank's S/K chunks; a rank whose shard runs out contributes
  empty chunks until the longest shard is done; the gradient is divided by the whole
  batch's weight sum once the ranks' sums are known. The model is deterministic for a
  given K and sharding (it is not the global-mode model: the batches differ).
  Classifiers take the union of the ranks' labels as ``classes_``; early stopping needs
  a validation set given to fit (``X_val``, ``y_val``), the same on every rank.

Before any step the ranks compare what they were called with (estimator class and
parameters, features, dtypes, format, classes, the fitted state they start from and, in
global mode, the sample count, y, the weights and X's first and last rows): if any
differ, or a rank's own checks fail, every rank raises (the same ValueError, or "rank r
failed before training") and nothing trains. ``random_state`` None or a RandomState is
replaced by a seed drawn on rank 0. During training a callback's exception or Ctrl-C on
any rank ends every rank at the same epoch or batch; any other exception on one rank
leaves the others waiting at the next exchange: run under
``mpiexec -n K python -m mpi4py script.py``, which aborts the whole job on an uncaught
exception. All three solvers: L-BFGS (data="global", fit) takes the same chunked
whole-data gradient, one exchange per evaluation, so scipy's iterations agree on every
rank.

Example (``mpiexec -n 2 python -m mpi4py train.py``)::

    import numpy as np
    from nnfast import MLPClassifier, distributed

    X = np.load("X.npy", mmap_mode="r"); y = np.load("y.npy")
    clf = distributed.fit(MLPClassifier((256, 128), reduction_chunks=8, random_state=0), X, y)
    if distributed.rank() == 0:
        clf.save("model.nnf")

``nnfast.distributed.local.LocalWorld(K)`` runs K ranks as threads of one process, to try
this without MPI.
"""
from __future__ import annotations

import signal
import threading
from typing import Any, Literal, TypeVar

from ._session import Session, attached

__all__ = ["fit", "partial_fit", "rank", "world"]

Est = TypeVar("Est")


def world() -> Any:
    """mpi4py's ``MPI.COMM_WORLD`` (ImportError naming the extra if mpi4py is missing)."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError("nnfast.distributed needs mpi4py and an MPI: "
                          "pip install 'nnfast[mpi]'") from exc
    return MPI.COMM_WORLD


def rank(comm: Any = None) -> int:
    """This process's rank in comm (default: the world)."""
    return int((comm if comm is not None else world()).Get_rank())


def fit(estimator: Est, X: Any, y: Any, *, comm: Any = None, sample_weight: Any = None,
        data: Literal["global", "sharded"] = "global", X_val: Any = None, y_val: Any = None,
        sample_weight_val: Any = None) -> Est:
    """Fit `estimator` on every rank of `comm` together; returns it, equal on every rank.

    Parameters
    ----------
    estimator : nnfast.MLPClassifier or nnfast.MLPRegressor
        With ``reduction_chunks`` a multiple of the number of ranks K; the same
        parameters on every rank.
    X : array-like or sparse matrix of shape (m, d)
        data="global": the whole training set on every rank (a read-only memory map is
        read in place, only this rank's rows); data="sharded": this rank's rows.
    y : array-like of shape (m,) or (m, k)
        The targets of those rows.
    comm : mpi4py communicator, default=None
        ``MPI.COMM_WORLD`` when None; or a ``nnfast.distributed.local.LocalComm``.
    sample_weight : array-like of shape (m,), default=None
    data : {"global", "sharded"}, default="global"
        See the module docstring.
    X_val, y_val, sample_weight_val : default=None
        A validation set, as for the estimator's fit, the same on every rank.
    """
    return _call(estimator, X, y, comm, data, sample_weight, incremental=False,
                 X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val)


def partial_fit(estimator: Est, X: Any, y: Any, *, comm: Any = None, sample_weight: Any = None,
                classes: Any = None, data: Literal["global", "sharded"] = "global") -> Est:
    """One epoch of `estimator` over X, y on every rank of `comm` together (see :func:`fit`);
    `classes` as for the classifier's partial_fit, the same on every rank."""
    return _call(estimator, X, y, comm, data, sample_weight, incremental=True, classes=classes)


def _call(est, X, y, comm, data, sample_weight, *, incremental, classes=None, **val):
    session = Session(comm if comm is not None else world(), data)
    random_state = getattr(est, "random_state", None)  # agree() may put rank 0's seed there
    previous = _on_sigint(session)
    try:
        session.agree(est, X, y, sample_weight, incremental=incremental, classes=classes,
                      X_val=val.get("X_val"), y_val=val.get("y_val"))
        with attached(est, session):
            try:
                if incremental:
                    kw = {} if classes is None else {"classes": classes}
                    return est.partial_fit(X, y, sample_weight=sample_weight, **kw)
                return est.fit(X, y, sample_weight=sample_weight, **val)
            except BaseException as exc:
                if not session.started:  # its own input checks failed on this rank: the
                    session.fail(exc)    # others wait where training starts; tell them
                raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if hasattr(est, "random_state"):
            est.random_state = random_state


def _on_sigint(session):
    """Under MPI, in the main thread: SIGINT sets the session's stop flag (sent with the
    next exchange, so every rank stops after the same batch) instead of raising on this
    rank alone. Returns the previous handler, or None when none was installed."""
    from .local import LocalComm

    if isinstance(session.comm, LocalComm) or threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum, frame):
        session.interrupted = True
    return signal.signal(signal.SIGINT, stop)
