// The direct product for shapes too small to repay packing (a 2-3-1 network, the one-unit
// output layer of a binary classifier). Force-inlined into one wrapper per ISA (kernel_*.cpp)
// so that the loops along contiguous memory vectorise at that ISA's width. Every path sums
// in an order fixed by the shape alone, never by the ISA or the thread count.
#pragma once
#include <algorithm>

#include "common.h"

#if defined(__GNUC__) || defined(__clang__)
#define NNFAST_TINY __attribute__((always_inline)) inline
#else
#define NNFAST_TINY inline
#endif

namespace nnfast::gemm::detail {

template <typename T>
NNFAST_TINY void gemm_tiny(T* C, index_t ldc, const T* A, index_t lda, bool ta, const T* B,
                           index_t ldb, bool tb, index_t M, index_t N, index_t K,
                           bool accumulate) {
  if (K == 1) {  // an outer product (dZ · Wᵀ for a one-unit output layer), C written once
    for (index_t i = 0; i < M; ++i) {
      const T a = A[ta ? i : i * lda];
      T* c = C + i * ldc;
      if (accumulate) {
        for (index_t j = 0; j < N; ++j) c[j] += a * B[tb ? j * ldb : j];
      } else {
        for (index_t j = 0; j < N; ++j) c[j] = a * B[tb ? j * ldb : j];
      }
    }
    return;
  }
  if (!accumulate)
    for (index_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, T(0));
  if (N == 1 && !ta && (tb || ldb == 1)) {
    // Matrix-vector with a contiguous vector: each dot product in kLanes partial sums that
    // vectorise along p, added in a fixed order at the end (the same order on every ISA).
    constexpr index_t kLanes = 16;
    for (index_t i = 0; i < M; ++i) {
      const T* a = A + i * lda;
      T part[kLanes] = {};
      index_t p = 0;
      for (; p + kLanes <= K; p += kLanes)
        for (index_t l = 0; l < kLanes; ++l) part[l] += a[p + l] * B[p + l];
      for (index_t l = 0; p + l < K; ++l) part[l] += a[p + l] * B[p + l];
      // Halves added pairwise, written out level by level: a loop over the width compiled
      // to a chain of scalar adds through memory, a quarter of this function's time.
      T h8[8], h4[4];
      for (index_t l = 0; l < 8; ++l) h8[l] = part[l] + part[l + 8];
      for (index_t l = 0; l < 4; ++l) h4[l] = h8[l] + h8[l + 4];
      C[i * ldc] += (h4[0] + h4[2]) + (h4[1] + h4[3]);
    }
  } else if (N == 1 && ta) {  // Aᵀ times a vector (dW of a one-unit output layer): along rows of A
    index_t p = 0;
    if (ldc == 1) {
      // A contiguous C: four rows of A per pass, summed before they reach C, so that C is
      // read and written a quarter as often (each pass waits on the last one's store).
      for (; p + 4 <= K; p += 4) {
        const T* a = A + p * lda;
        const T b0 = B[tb ? p : p * ldb], b1 = B[tb ? p + 1 : (p + 1) * ldb];
        const T b2 = B[tb ? p + 2 : (p + 2) * ldb], b3 = B[tb ? p + 3 : (p + 3) * ldb];
        for (index_t i = 0; i < M; ++i)
          C[i] += (a[i] * b0 + a[lda + i] * b1) + (a[2 * lda + i] * b2 + a[3 * lda + i] * b3);
      }
    }
    for (; p < K; ++p) {
      const T b = B[tb ? p : p * ldb];
      const T* a = A + p * lda;
      for (index_t i = 0; i < M; ++i) C[i * ldc] += a[i] * b;
    }
  } else if (tb) {  // op(B)(p, j) = B[j * ldb + p]: dot products along p
    for (index_t i = 0; i < M; ++i)
      for (index_t j = 0; j < N; ++j) {
        const T* b = B + j * ldb;
        T s = C[i * ldc + j];
        if (ta) {
          for (index_t p = 0; p < K; ++p) s += A[p * lda + i] * b[p];
        } else {
          const T* a = A + i * lda;
          for (index_t p = 0; p < K; ++p) s += a[p] * b[p];
        }
        C[i * ldc + j] = s;
      }
  } else {  // op(B)(p, j) = B[p * ldb + j]: rank-1 updates along j
    for (index_t p = 0; p < K; ++p) {
      const T* b = B + p * ldb;
      for (index_t i = 0; i < M; ++i) {
        const T a = ta ? A[p * lda + i] : A[i * lda + p];
        T* c = C + i * ldc;
        for (index_t j = 0; j < N; ++j) c[j] += a * b[j];
      }
    }
  }
}

}  // namespace nnfast::gemm::detail
