// AVX2 + FMA kernels for small products, read in place without packing: gemm/sup.h's tile
// with 6 rows x up to 2 ymm vectors, masks as vectors (vmaskmov). The AVX-512 twin is
// kernel_avx512_sup.cpp.
#include "gemm/config.h"
#include "gemm/kernels.h"

#ifdef NNFAST_X86_KERNELS
#include <immintrin.h>

#define NNFAST_SUP_TARGET __attribute__((target("avx2,fma")))
#include "gemm/sup.h"

namespace nnfast::gemm {

namespace {

// Lanes [0, lanes) of an 8 x 32-bit mask set (64-bit lanes take two of them each).
NNFAST_SUP_INLINE __m256i first_words(int lanes) {
  const int n = lanes < 0 ? 0 : (lanes > 8 ? 8 : lanes);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The few operations the tile needs, for each element type. A masked store (vmaskmov) is
// microcoded on AMD Zen: whole vectors use plain loads and stores (GCC 12 keeps a
// vmaskmov even when the mask is constant all-ones).
template <typename T> struct Ymm;
template <> struct Ymm<float> {
  using V = __m256;
  using Mask = __m256i;
  static constexpr int kLanes = 8;
  static NNFAST_SUP_INLINE Mask first(int lanes) { return first_words(lanes); }
  static NNFAST_SUP_INLINE V zero() { return _mm256_setzero_ps(); }
  static NNFAST_SUP_INLINE V set1(float x) { return _mm256_set1_ps(x); }
  static NNFAST_SUP_INLINE V load(Mask m, const float* p) { return _mm256_maskload_ps(p, m); }
  static NNFAST_SUP_INLINE void store(float* p, Mask m, V v) { _mm256_maskstore_ps(p, m, v); }
  static NNFAST_SUP_INLINE V load(const float* p) { return _mm256_loadu_ps(p); }
  static NNFAST_SUP_INLINE void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static NNFAST_SUP_INLINE V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static NNFAST_SUP_INLINE V add(V a, V b) { return _mm256_add_ps(a, b); }
};
template <> struct Ymm<double> {
  using V = __m256d;
  using Mask = __m256i;
  static constexpr int kLanes = 4;
  static NNFAST_SUP_INLINE Mask first(int lanes) {
    return first_words(2 * (lanes < 0 ? 0 : lanes));  // a double's mask is its high word's
  }
  static NNFAST_SUP_INLINE V zero() { return _mm256_setzero_pd(); }
  static NNFAST_SUP_INLINE V set1(double x) { return _mm256_set1_pd(x); }
  static NNFAST_SUP_INLINE V load(Mask m, const double* p) { return _mm256_maskload_pd(p, m); }
  static NNFAST_SUP_INLINE void store(double* p, Mask m, V v) { _mm256_maskstore_pd(p, m, v); }
  static NNFAST_SUP_INLINE V load(const double* p) { return _mm256_loadu_pd(p); }
  static NNFAST_SUP_INLINE void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static NNFAST_SUP_INLINE V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static NNFAST_SUP_INLINE V add(V a, V b) { return _mm256_add_pd(a, b); }
};

// 16 ymm registers: 6 rows x 2 vectors = 12 accumulators, 2 for B, 1 broadcast.
constexpr int kRows = 6;

}  // namespace

SupKernel<float> avx2_sup_f32() { return make_sup<Ymm<float>, kRows, 2, float, true>(); }
SupKernel<double> avx2_sup_f64() { return make_sup<Ymm<double>, kRows, 2, double, true>(); }

}  // namespace nnfast::gemm
#endif
