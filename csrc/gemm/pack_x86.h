// Packing for the x86 kernels: the two copies that read across rows (op(A) = A, where MR
// rows are interleaved, and op(B) = Bᵀ, where NR rows are) go through 8 x 8 (float) or
// 4 x 4 (double) register transposes instead of one scalar load per element. Included
// only by the AVX2 / AVX-512 kernel files; everything else falls back to pack.h.
#pragma once
#include <immintrin.h>

#include "gemm/pack.h"

namespace nnfast::gemm::x86 {

#define NNFAST_AVX2_INLINE __attribute__((target("avx2"), always_inline)) inline

// dst[k * ldd + i] = src[i * ld + k] for i, k < 8.
NNFAST_AVX2_INLINE void transpose8(float* dst, index_t ldd, const float* src, index_t ld) {
  __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ld);
  __m256 r2 = _mm256_loadu_ps(src + 2 * ld), r3 = _mm256_loadu_ps(src + 3 * ld);
  __m256 r4 = _mm256_loadu_ps(src + 4 * ld), r5 = _mm256_loadu_ps(src + 5 * ld);
  __m256 r6 = _mm256_loadu_ps(src + 6 * ld), r7 = _mm256_loadu_ps(src + 7 * ld);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(s3, s7, 0x31));
}

// dst[k * ldd + i] = src[i * ld + k] for i, k < 4.
NNFAST_AVX2_INLINE void transpose4(double* dst, index_t ldd, const double* src, index_t ld) {
  __m256d r0 = _mm256_loadu_pd(src), r1 = _mm256_loadu_pd(src + ld);
  __m256d r2 = _mm256_loadu_pd(src + 2 * ld), r3 = _mm256_loadu_pd(src + 3 * ld);
  __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
  __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
  _mm256_storeu_pd(dst, _mm256_permute2f128_pd(t0, t2, 0x20));
  _mm256_storeu_pd(dst + ldd, _mm256_permute2f128_pd(t1, t3, 0x20));
  _mm256_storeu_pd(dst + 2 * ldd, _mm256_permute2f128_pd(t0, t2, 0x31));
  _mm256_storeu_pd(dst + 3 * ldd, _mm256_permute2f128_pd(t1, t3, 0x31));
}

template <typename T> constexpr int kBlock = sizeof(T) == 4 ? 8 : 4;

NNFAST_AVX2_INLINE void transpose(float* d, index_t ldd, const float* s, index_t ld) { transpose8(d, ldd, s, ld); }
NNFAST_AVX2_INLINE void transpose(double* d, index_t ldd, const double* s, index_t ld) { transpose4(d, ldd, s, ld); }

// W rows of src (row stride ld) interleaved into dst (W values per step p), for p < kc:
// dst[p * W + i] = src[i * ld + p]. W must be a multiple of the transpose block.
template <int W, typename T>
NNFAST_AVX2_INLINE void interleave_rows(T* dst, const T* src, index_t ld, index_t kc) {
  constexpr int BK = kBlock<T>;
  static_assert(W % BK == 0, "panel width must be a multiple of the transpose block");
  index_t p = 0;
  for (; p + BK <= kc; p += BK)
    for (int g = 0; g < W; g += BK) transpose(dst + p * W + g, W, src + g * ld + p, ld);
  for (; p < kc; ++p)
    for (int i = 0; i < W; ++i) dst[p * W + i] = src[i * ld + p];
}

// W contiguous values from each of kc rows of src (row stride ld) into dst, one row after
// the other: dst[p * W + j] = src[p * ld + j]. Each row is another cache line, kilobytes
// apart (a batch's columns for dW = A_prevᵀ dZ, a weight matrix's rows in the forward
// pass), a walk down the columns of a row-major matrix that the hardware prefetchers do not
// follow: the load of each row stalled the copy (40 % of a 1-thread mnist_like step's
// packing time). The driver packs the panels left to right, so while copying this one,
// fetch the lines the next panel will read from the same rows.
template <int W, typename T>
NNFAST_AVX2_INLINE void copy_rows(T* __restrict dst, const T* __restrict src, index_t ld, index_t kc) {
  constexpr int kLine = 64 / sizeof(T);
  constexpr int kAhead = W > kLine ? W : kLine;  // the first value past this panel's lines
  for (index_t p = 0; p < kc; ++p) {
    const T* row = src + p * ld;
    for (int l = 0; l < W; l += kLine)
      _mm_prefetch(reinterpret_cast<const char*>(row + kAhead + l), _MM_HINT_T0);
    for (int j = 0; j < W; ++j) dst[p * W + j] = row[j];
  }
}

template <int MR, typename T>
NNFAST_AVX2_INLINE void pack_a(T* dst, const T* A, index_t lda, bool trans, index_t rows, index_t kc) {
  if constexpr (MR % kBlock<T> == 0) {
    if (!trans && rows == MR) return interleave_rows<MR>(dst, A, lda, kc);
  }
  if (trans && rows == MR) return copy_rows<MR>(dst, A, lda, kc);
  gemm::pack_a<MR>(dst, A, lda, trans, rows, kc);
}

template <int NR, typename T>
NNFAST_AVX2_INLINE void pack_b(T* dst, const T* B, index_t ldb, bool trans, index_t cols, index_t kc) {
  if constexpr (NR % kBlock<T> == 0) {
    if (trans && cols == NR) return interleave_rows<NR>(dst, B, ldb, kc);
  }
  if (!trans && cols == NR) return copy_rows<NR>(dst, B, ldb, kc);
  gemm::pack_b<NR>(dst, B, ldb, trans, cols, kc);
}

#undef NNFAST_AVX2_INLINE

}  // namespace nnfast::gemm::x86
