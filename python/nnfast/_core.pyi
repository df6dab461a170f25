"""Type stubs for nnfast._core, the C++ kernels. Every array function exists for float32
and float64 (all arrays of one call share the dtype) and never converts or copies:
outputs must be C-contiguous, writable arrays of the right shape."""
import enum
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

_F = npt.NDArray[np.floating[Any]]
# X of the epoch loop: dense, or CSR rows (data, indices, indptr, n_features)
_X = _F | tuple[_F, npt.NDArray[np.integer[Any]], npt.NDArray[np.integer[Any]], int]
# a distributed fit's exchange (nnfast.distributed._session): ranks, rank, send, receive
# buffers, the Allgatherv, and the shard (None: every rank has the whole data)
_Exchange = tuple[int, int, npt.NDArray[np.uint8], npt.NDArray[np.uint8], Callable[[], None],
                  tuple[int, int, int] | None]

class Activation(enum.IntEnum):
    identity = 0
    logistic = 1
    tanh = 2
    relu = 3
    leaky_relu = 4

class Head(enum.IntEnum):
    identity = 0
    logistic = 1
    softmax = 2
    exp = 3

class Solver(enum.IntEnum):
    sgd = 0
    adam = 1

class Schedule(enum.IntEnum):
    constant = 0
    invscaling = 1
    adaptive = 2

class FitStatus(enum.IntEnum):
    max_iter = 0
    converged = 1
    incremental = 2
    stopped = 3
    interrupted = 4
    diverged = 5

class FitConfig:
    solver: Solver
    learning_rate_init: float
    learning_rate: Schedule
    power_t: float
    momentum: float
    nesterovs_momentum: bool
    beta_1: float
    beta_2: float
    epsilon: float
    alpha: float
    loss_scale: float
    batch_size: int
    max_iter: int
    tol: float
    n_iter_no_change: int
    incremental: bool
    early_stopping: bool
    reduction_chunks: int
    def __init__(self, **fields: Any) -> None: ...

class FitState:
    learning_rate: float
    adam_t: int
    t: int
    n_iter: int
    loss: float
    best_loss: float
    best_validation_score: float
    no_improvement_count: int
    def __init__(self, **fields: Any) -> None: ...

def gemm(C: _F, A: _F, B: _F, trans_a: bool, trans_b: bool, accumulate: bool = False,
         naive: bool = False) -> None: ...
def activation_forward(A: _F, Z: _F, act: int, slope: float) -> None: ...
def activation_backward(dZ: _F, dA: _F, A: _F, act: int, slope: float) -> None: ...
def softmax_forward(A: _F, Z: _F) -> None: ...
def output_loss(A: _F, dZ: _F, Z: _F, Y: _F, sample_weight: _F | None, head: int) -> float: ...
def linear_forward(A: _F, A_prev: _F, W: _F, b: _F, act: int, slope: float) -> None: ...
def linear_backward(dA_prev: _F | None, dW: _F, db: _F, dZ: _F, A_prev: _F, W: _F) -> None: ...
def sgd_step(P: _F, G: _F, lr: float) -> None: ...
def all_finite(x: _F, threaded: bool = True) -> bool: ...
def forward(As: Sequence[_F], X: _F, Ws: Sequence[_F], bs: Sequence[_F], act: int, slope: float,
            head: int, logits: bool) -> None: ...
def predict(out: _F, X: _F, Ws: Sequence[_F], bs: Sequence[_F], act: int, slope: float,
            head: int) -> None: ...
def loss_and_gradients(dWs: Sequence[_F], dbs: Sequence[_F], X: _F, Y: _F, Ws: Sequence[_F],
                       bs: Sequence[_F], act: int, slope: float, head: int, alpha: float,
                       sample_weight: _F | None = None) -> float: ...
def backward(dWs: Sequence[_F], dbs: Sequence[_F], activations: Sequence[_F], dZ: _F,
             Ws: Sequence[_F], act: int, slope: float) -> None: ...
def run_epochs(loss_curve: list[float], X: _X, Y: _F, sample_weight: _F | None,
               Ws: Sequence[_F], bs: Sequence[_F], act: int | Activation, slope: float,
               head: int | Head, config: FitConfig,
               state: FitState, s1: Sequence[_F] | None, s2: Sequence[_F] | None,
               best: Sequence[_F] | None, order: npt.NDArray[np.int64] | None,
               rng: npt.NDArray[np.uint32] | None,
               epoch_end: Callable[[int, float], tuple[bool, float | None]] | None,
               poll_signals: bool, exchange: _Exchange | None = None) -> FitStatus: ...
def chunked_loss_and_gradients(dWs: Sequence[_F], dbs: Sequence[_F], X: _X, Y: _F,
                               sample_weight: _F | None, Ws: Sequence[_F], bs: Sequence[_F],
                               act: int, slope: float, head: int, alpha: float,
                               loss_scale: float, chunks: int,
                               exchange: _Exchange | None = None) -> float: ...
MAX_REDUCTION_CHUNKS: int
def exchange_sizes(reduction_chunks: int, ranks: int, n_params: int, itemsize: int) -> list[int]: ...
def config() -> dict[str, Any]: ...
def fma_peak_gflops(f32: bool = True, seconds: float = 0.2) -> float: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
