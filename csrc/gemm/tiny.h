// The direct product for shapes too small to repay packing (a 2-3-1 network, the one-unit
// output layer of a binary classifier). Force-inlined into one wrapper per ISA (kernel_*.cpp)
// so that the loops along contiguous memory vectorise at that ISA's width. Every path sums
// in an order fixed by the shape alone, never by the ISA or the thread count.
#pragma once
#include <algorithm>
#include <cstring>

#include "common.h"

#if defined(__GNUC__) || defined(__clang__)
#define NNFAST_TINY __attribute__((always_inline)) inline
#else
#define NNFAST_TINY inline
#endif

// Vectors wider than the ISA's registers are passed and returned in memory where no AVX is
// enabled, which GCC warns of (-Wpsabi) at every use; everything here is inlined into its
// ISA's wrapper, so no call carries a vector across an ABI boundary.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace nnfast::gemm::detail {

// N values of T as one vector of GCC's and Clang's vector extensions (the build's
// compilers): element-wise arithmetic that the compiler maps onto the ISA's registers.
// (A typedef in a class: GCC drops the attribute from an alias template.)
template <typename T, int N>
struct VecOf {
  typedef T type __attribute__((vector_size(N * sizeof(T))));
};
template <typename T, int N>
using Vec = typename VecOf<T, N>::type;

template <typename V, typename T>
NNFAST_TINY V load(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The sum of v's N lanes by halves: the first half plus the second, lane by lane, until
// one lane is left.
template <typename T, int N>
NNFAST_TINY T sum_by_halves(Vec<T, N> v) {
  if constexpr (N == 1) {
    return v[0];
  } else {
    Vec<T, N / 2> lo, hi;
    std::memcpy(&lo, &v, sizeof lo);
    std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
    return sum_by_halves<T, N / 2>(lo + hi);
  }
}

// Lanes [0, n) of the NV vectors v (n < NV * W) from p, the others +0. Lane by lane at
// constant indices, so that the vectors are built in registers: written to memory and read
// back as vectors, they waited for the stores to retire (~35 cycles a row of a product).
template <typename V, int NV, typename T>
NNFAST_TINY void tail_of(V (&v)[NV], const T* p, int n) {
  constexpr int W = int(sizeof(V) / sizeof(T));
  for (int k = 0; k < NV; ++k) v[k] = V{};
#pragma GCC unroll 16
  for (int l = 0; l < NV * W; ++l)
    if (l < n) v[l / W][l % W] = p[l];
}

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
  if (N == 1 && !ta && (tb || ldb == 1)) {
    // Matrix-vector with a contiguous vector: each dot product in kLanes partial sums that
    // vectorise along p, then halves added pairwise down to one (part[l] + part[l + 8],
    // then those by fours, ...): the same order on every ISA. The sums are vectors of the
    // compiler's, so they stay in registers (as an array, with the reduction in scalar
    // code, a 64 x 64 product took twice as long). The short last stretch of p goes
    // through the same arithmetic from zero-padded vectors: a partial sum starts at +0 and
    // so is never -0, and adding +0 * +0 leaves it as it is.
    constexpr int kLanes = 16, W = 32 / int(sizeof(T)), NV = kLanes / W;  // 32-byte vectors
    using V = Vec<T, W>;
    const index_t full = K - K % kLanes;
    const int tail = int(K - full);
    V b_tail[NV];
    tail_of(b_tail, B + full, tail);
    for (index_t i = 0; i < M; ++i) {
      const T* a = A + i * lda;
      V part[NV];
      for (int v = 0; v < NV; ++v) part[v] = V{};
      for (index_t p = 0; p < full; p += kLanes)
        for (int v = 0; v < NV; ++v) part[v] += load<V>(a + p + v * W) * load<V>(B + p + v * W);
      if (tail) {
        V a_tail[NV];
        tail_of(a_tail, a + full, tail);
        for (int v = 0; v < NV; ++v) part[v] += a_tail[v] * b_tail[v];
      }
      // Lanes l and l + kLanes / 2 first, then the halves of that, and so on.
      for (int n = NV / 2; n >= 1; n /= 2)
        for (int v = 0; v < n; ++v) part[v] += part[v + n];
      const T sum = sum_by_halves<T, W>(part[0]);
      // Without accumulate, C = +0 + the sum, as if C had been zeroed first (-0 becomes +0).
      T* c = C + i * ldc;
      *c = (accumulate ? *c : T(0)) + sum;
    }
    return;
  }
  if (N == 1 && ta && ldc == 1) {
    // Aᵀ times a vector into a contiguous C (dW of a one-unit output layer), along rows of
    // A: each C(i) = C(i) + the rows' products four at a time, ((p0 + p1) + (p2 + p3)), then
    // the rows left one by one. Blocks of kBlock vectors of C stay in registers through all
    // the rows (C once in memory per pass was ~3x slower: a product of 64 x 64 is 16
    // passes); the block's end, fewer than kBlock vectors, goes element by element.
    constexpr int W = 32 / int(sizeof(T)), kBlock = 4;  // 32-byte vectors
    using V = Vec<T, W>;
    const index_t K4 = K - K % 4;
    const auto b = [&](index_t p) { return B[tb ? p : p * ldb]; };
    index_t i0 = 0;
    for (; i0 + kBlock * W <= M; i0 += kBlock * W) {
      V acc[kBlock];
      for (int v = 0; v < kBlock; ++v) acc[v] = accumulate ? load<V>(C + i0 + v * W) : V{};
      for (index_t p = 0; p < K4; p += 4) {
        const T* a = A + p * lda + i0;
        const T b0 = b(p), b1 = b(p + 1), b2 = b(p + 2), b3 = b(p + 3);
        for (int v = 0; v < kBlock; ++v) {
          const T* av = a + v * W;
          acc[v] += (load<V>(av) * b0 + load<V>(av + lda) * b1) +
                    (load<V>(av + 2 * lda) * b2 + load<V>(av + 3 * lda) * b3);
        }
      }
      for (index_t p = K4; p < K; ++p)
        for (int v = 0; v < kBlock; ++v) acc[v] += load<V>(A + p * lda + i0 + v * W) * b(p);
      std::memcpy(C + i0, acc, sizeof acc);
    }
    for (index_t i = i0; i < M; ++i) {
      T c = accumulate ? C[i] : T(0);
      for (index_t p = 0; p < K4; p += 4) {
        const T* a = A + p * lda + i;
        c += (a[0] * b(p) + a[lda] * b(p + 1)) + (a[2 * lda] * b(p + 2) + a[3 * lda] * b(p + 3));
      }
      for (index_t p = K4; p < K; ++p) c += A[p * lda + i] * b(p);
      C[i] = c;
    }
    return;
  }
  if (!accumulate)
    for (index_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, T(0));
  if (N == 1 && ta) {  // Aᵀ times a vector (dW of a one-unit output layer): along rows of A
    for (index_t p = 0; p < K; ++p) {
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

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
