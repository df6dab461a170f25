// AVX-512 kernels for small products, read in place without packing (BLIS calls these
// "sup", small/unpacked): gemm/sup.h's tile with 8 rows x up to 2 zmm vectors (float32) or
// 3 (float64), masks in mask registers. For a 64-row batch of a 20-64-1 network, packing
// cost as much as the products; the packed path (kernel_avx512.cpp) stays for large
// products, where packing pays for itself.
#include "gemm/config.h"
#include "gemm/kernels.h"

#ifdef NNFAST_X86_KERNELS
#include <immintrin.h>

#define NNFAST_SUP_TARGET __attribute__((target("avx512f,fma")))
#include "gemm/sup.h"

namespace nnfast::gemm {

namespace {

// The few operations the tile needs, for each element type.
template <typename T> struct Zmm;
template <> struct Zmm<float> {
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;
  static NNFAST_SUP_INLINE Mask first(int lanes) {
    return lanes >= kLanes ? Mask(0xFFFF) : lanes <= 0 ? Mask(0) : Mask((1u << lanes) - 1);
  }
  static NNFAST_SUP_INLINE V zero() { return _mm512_setzero_ps(); }
  static NNFAST_SUP_INLINE V set1(float x) { return _mm512_set1_ps(x); }
  static NNFAST_SUP_INLINE V load(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static NNFAST_SUP_INLINE void store(float* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  static NNFAST_SUP_INLINE V load(const float* p) { return _mm512_loadu_ps(p); }
  static NNFAST_SUP_INLINE void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static NNFAST_SUP_INLINE V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static NNFAST_SUP_INLINE V add(V a, V b) { return _mm512_add_ps(a, b); }
};
template <> struct Zmm<double> {
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr int kLanes = 8;
  static NNFAST_SUP_INLINE Mask first(int lanes) {
    return lanes >= kLanes ? Mask(0xFF) : lanes <= 0 ? Mask(0) : Mask((1u << lanes) - 1);
  }
  static NNFAST_SUP_INLINE V zero() { return _mm512_setzero_pd(); }
  static NNFAST_SUP_INLINE V set1(double x) { return _mm512_set1_pd(x); }
  static NNFAST_SUP_INLINE V load(Mask m, const double* p) { return _mm512_maskz_loadu_pd(m, p); }
  static NNFAST_SUP_INLINE void store(double* p, Mask m, V v) { _mm512_mask_storeu_pd(p, m, v); }
  static NNFAST_SUP_INLINE V load(const double* p) { return _mm512_loadu_pd(p); }
  static NNFAST_SUP_INLINE void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static NNFAST_SUP_INLINE V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static NNFAST_SUP_INLINE V add(V a, V b) { return _mm512_add_pd(a, b); }
};

// 32 zmm registers: 8 rows x 2 vectors = 16 accumulators, 2 for B, 1 broadcast. float64 takes
// 3 vectors (24 accumulators, 3 for B): 2 of its 8-lane vectors make a tile 16 columns wide,
// twice the tiles and broadcasts per multiply-add of float32's. 8 x 3 against 8 x 2 (_core.gemm,
// best of 7, 3 alternated rounds): digits' 64x100x200 A^T 36.2-36.8 -> 33.9-34.4 us, digits'
// float64 fit 56.2 -> 53.9 ms (best of 4 rounds); float32 at 8 x 3 was within noise.
constexpr int kRows = 8;

}  // namespace

SupKernel<float> avx512_sup_f32() { return make_sup<Zmm<float>, kRows, 2, float>(); }
SupKernel<double> avx512_sup_f64() { return make_sup<Zmm<double>, kRows, 3, double>(); }

}  // namespace nnfast::gemm
#endif
