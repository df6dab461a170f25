// C = op(A) · op(B) + beta · C, row-major, for the three products of a layer:
//   forward   Z       = A_prev · W      (no transpose)
//   backward  dA_prev = dZ · Wᵀ         (trans_b)
//             dW      = A_prevᵀ · dZ    (trans_a)
// Shapes: op(A) is M x K, op(B) is K x N, C is M x N with row stride ldc.
// op(A)(i, p) = trans_a ? A[p * lda + i] : A[i * lda + p]; likewise for B.
// beta is 0 (C is overwritten and never read, so it may hold garbage) or 1 (accumulate).
//
// Threads split M and N only, never K: every C(i, j) is summed in the same order at any
// thread count, so results are bitwise identical whatever OMP_NUM_THREADS is.
#pragma once
#include "common.h"

namespace nnfast::gemm {

template <typename T>
void gemm(T* C, index_t ldc, const T* A, index_t lda, bool trans_a, const T* B, index_t ldb,
          bool trans_b, index_t M, index_t N, index_t K, T beta);

// The oracle: a plain triple loop, same contract, one thread.
template <typename T>
void gemm_naive(T* C, index_t ldc, const T* A, index_t lda, bool trans_a, const T* B,
                index_t ldb, bool trans_b, index_t M, index_t N, index_t K, T beta);

}  // namespace nnfast::gemm
