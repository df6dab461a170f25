"""K ranks in one process, for trying and testing nnfast.distributed without MPI.

``LocalWorld(K).run(fn)`` calls ``fn(comm)`` on K threads, each with a communicator that
offers the part of mpi4py's ``Comm`` that nnfast.distributed uses (``Get_rank``,
``Get_size``, ``allgather``, ``bcast``, ``Allgatherv`` of bytes, ``Abort``). The C++ epoch
loop releases the GIL, so the ranks' batches run side by side; the exchange itself is a
barrier and a copy. An exception on any rank breaks the barrier, so every other rank stops
at its next exchange with ``RuntimeError`` instead of waiting forever, and ``run`` raises
the first rank's exception.

Example
-------
>>> import numpy as np
>>> from nnfast import MLPClassifier, distributed
>>> from nnfast.distributed.local import LocalWorld
>>> X = np.random.RandomState(0).rand(64, 3); y = (X[:, 0] > 0.5).astype(int)
>>> fit = lambda comm: distributed.fit(MLPClassifier((4,), max_iter=2, random_state=0,
...                                    reduction_chunks=4), X, y, comm=comm).coefs_[0]
>>> a, b = LocalWorld(2).run(fit)
>>> bool((a == b).all())
True
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["LocalComm", "LocalWorld"]


class LocalWorld:
    """`size` simulated ranks sharing one process; see the module docstring.

    timeout: seconds a rank waits at an exchange for the others before it gives up
    (RuntimeError), the bound on a hang if a rank never arrives.
    """

    def __init__(self, size: int, timeout: float = 600.0):
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or not 1 <= size <= 256:
            raise ValueError(f"size must be an int in [1, 256] (each rank is a thread), got {size!r}")
        if not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
            raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")
        self.size = int(size)
        self._barrier = threading.Barrier(self.size, timeout=timeout)
        self._slots: list[Any] = [None] * self.size

    def comm(self, rank: int) -> LocalComm:
        """Rank `rank`'s communicator."""
        if not 0 <= rank < self.size:
            raise ValueError(f"rank must be in [0, {self.size}), got {rank!r}")
        return LocalComm(self, rank)

    def run(self, fn: Callable[[LocalComm], Any]) -> list[Any]:
        """fn(comm) on every rank, each on its own thread; the results in rank order."""
        results: list[Any] = [None] * self.size
        errors: list[BaseException | None] = [None] * self.size

        def rank_main(rank):
            try:
                results[rank] = fn(self.comm(rank))
            except BaseException as exc:  # noqa: B036 - reported by run, after the others stop
                errors[rank] = exc
                self._barrier.abort()

        threads = [threading.Thread(target=rank_main, args=(r,), name=f"nnfast-rank-{r}")
                   for r in range(self.size)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # The rank that failed first, not the ranks its failure broke
        first = [e for e in errors if e is not None and not isinstance(e, _Broken)]
        first = first or [e for e in errors if e is not None]
        if first:
            raise first[0]
        return results

    def _sync(self):
        try:
            self._barrier.wait()
        except threading.BrokenBarrierError:
            raise _Broken("another rank failed or timed out; this rank stopped at an "
                          "exchange") from None


class _Broken(RuntimeError):
    """A rank stopped because another one failed (LocalWorld.run reports the other's)."""


class LocalComm:
    """One rank's view of a LocalWorld: the subset of mpi4py's Comm nnfast uses."""

    def __init__(self, world: LocalWorld, rank: int):
        self._world = world
        self._rank = rank

    def Get_rank(self) -> int:
        return self._rank

    def Get_size(self) -> int:
        return self._world.size

    def allgather(self, obj: Any) -> list[Any]:
        """Every rank's obj, in rank order."""
        w = self._world
        w._slots[self._rank] = obj
        w._sync()
        out = list(w._slots)
        w._sync()  # nobody overwrites a slot before everyone has read them
        return out

    def bcast(self, obj: Any, root: int = 0) -> Any:
        """Rank root's obj, on every rank."""
        return self.allgather(obj if self._rank == root else None)[root]

    def Allgatherv(self, sendbuf: np.ndarray, recv: tuple) -> None:
        """mpi4py's ``Allgatherv(send, [recv, counts, displs, datatype])`` for bytes."""
        recvbuf, counts, displs = recv[0], recv[1], recv[2]
        w = self._world
        w._slots[self._rank] = sendbuf
        w._sync()
        for r, (c, d) in enumerate(zip(counts, displs)):
            recvbuf[d:d + c] = w._slots[r]
        w._sync()

    def Abort(self, errorcode: int = 1) -> None:
        """Break the barrier: every rank waiting at an exchange stops."""
        self._world._barrier.abort()
