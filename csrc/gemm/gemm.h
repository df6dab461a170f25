// C = op(A) · op(B) (+ C), row-major, for the three products of a layer:
//   forward   Z       = A_prev · W      (no transpose)
//   backward  dA_prev = dZ · Wᵀ         (trans_b)
//             dW      = A_prevᵀ · dZ    (trans_a)
// Shapes: op(A) is M x K, op(B) is K x N, C is M x N with row stride ldc.
// op(A)(i, p) = trans_a ? A[p * lda + i] : A[i * lda + p]; likewise for B.
// With accumulate = false C is overwritten and never read (it may hold garbage).
//
// Threads split M and N only, never K: every C(i, j) is summed in the same order at any
// thread count, so results are bitwise identical whatever OMP_NUM_THREADS is. Which code
// path runs depends on the shape and the ISA only, never on the thread count.
#pragma once
#include <string>

#include "common.h"
#include "gemm/config.h"

namespace nnfast::gemm {

// Applied to each finished block of C (rows [r0, r0 + rows), cols [c0, c0 + cols), at
// tile[i * ldc + j]: one tile or a few, or the whole of a tiny product) while it is still
// in cache: the layer's bias + activation.
template <typename T>
struct Epilogue {
  void (*apply)(const void* ctx, T* tile, index_t ldc, index_t r0, index_t c0, index_t rows,
                index_t cols);
  const void* ctx;
};

template <typename T>
void gemm(T* C, index_t ldc, const T* A, index_t lda, bool trans_a, const T* B, index_t ldb,
          bool trans_b, index_t M, index_t N, index_t K, bool accumulate,
          const Epilogue<T>* epilogue = nullptr);

// The oracle: a plain triple loop, same contract, one thread.
template <typename T>
void gemm_naive(T* C, index_t ldc, const T* A, index_t lda, bool trans_a, const T* B,
                index_t ldb, bool trans_b, index_t M, index_t N, index_t K, bool accumulate);

// The microkernel ISA: chosen once, at import, from cpuid, or from the environment
// variable NNFAST_GEMM_ISA (generic / avx2 / avx512) to force a path in tests. Returns
// an error message, empty when all is well.
std::string select_isa();
Isa active_isa();
const char* isa_name(Isa isa);
bool isa_supported(Isa isa);

}  // namespace nnfast::gemm
