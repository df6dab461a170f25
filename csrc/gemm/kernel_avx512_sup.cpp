// AVX-512 microkernels for small products, read in place without packing (BLIS calls these
// "sup", small/unpacked): an 8-row tile of C = op(A) · B with op(A)(i, p) = a[i*rsa + p*csa]
// (either orientation of A) and B(p, j) = b[p*ldb + j] (B not transposed, so that a row
// of the tile is one or two contiguous vector loads). Partial tiles are handled in the
// kernel: columns past nr by load/store masks, rows past mr by re-reading row 0 and never
// storing it. Each C(i, j) sums p = 0, 1, ..., kc - 1 in order.
//
// For a 64-row batch of a 20-64-1 network, packing cost as much as the products; the
// packed path (kernel_avx512.cpp) stays for large products, where packing pays for itself.
#include "gemm/config.h"
#include "gemm/kernels.h"

#ifdef NNFAST_X86_KERNELS
#include <immintrin.h>

#define NNFAST_AVX512_INLINE __attribute__((target("avx512f,fma"), always_inline)) inline
#define NNFAST_AVX512 __attribute__((target("avx512f,fma")))

namespace nnfast::gemm {

namespace {

// The few operations the kernel needs, for each element type.
template <typename T> struct Zmm;
template <> struct Zmm<float> {
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;
  static NNFAST_AVX512_INLINE V zero() { return _mm512_setzero_ps(); }
  static NNFAST_AVX512_INLINE V set1(float x) { return _mm512_set1_ps(x); }
  static NNFAST_AVX512_INLINE V load(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static NNFAST_AVX512_INLINE void store(float* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  static NNFAST_AVX512_INLINE V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static NNFAST_AVX512_INLINE V add(V a, V b) { return _mm512_add_ps(a, b); }
};
template <> struct Zmm<double> {
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr int kLanes = 8;
  static NNFAST_AVX512_INLINE V zero() { return _mm512_setzero_pd(); }
  static NNFAST_AVX512_INLINE V set1(double x) { return _mm512_set1_pd(x); }
  static NNFAST_AVX512_INLINE V load(Mask m, const double* p) { return _mm512_maskz_loadu_pd(m, p); }
  static NNFAST_AVX512_INLINE void store(double* p, Mask m, V v) { _mm512_mask_storeu_pd(p, m, v); }
  static NNFAST_AVX512_INLINE V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static NNFAST_AVX512_INLINE V add(V a, V b) { return _mm512_add_pd(a, b); }
};

constexpr int kRows = 8;

// NV vectors of columns (nr <= NV lanes), 8 x NV accumulators.
template <typename T, int NV>
NNFAST_AVX512_INLINE void sup_tile(index_t kc, const T* a, index_t rsa, index_t csa, const T* b,
                                   index_t ldb, T* c, index_t ldc, bool accumulate, int mr, int nr) {
  using Z = Zmm<T>;
  using V = typename Z::V;
  using Mask = typename Z::Mask;
  // Every loop below over rows and vectors is unrolled, so that the accumulators are
  // registers (any loop left rolled makes GCC keep them on the stack, and store all of them
  // at every step p: twice as slow as packing).
  Mask mask[NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) {
    const int lanes = nr - v * Z::kLanes;
    mask[v] = lanes >= Z::kLanes ? Mask(~Mask(0)) : lanes <= 0 ? Mask(0) : Mask((1u << lanes) - 1);
  }
  index_t off[kRows];
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i) off[i] = (i < mr ? i : 0) * rsa;
  V acc[kRows][NV];
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = Z::zero();
  for (index_t p = 0; p < kc; ++p) {
    V bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bv[v] = Z::load(mask[v], b + v * Z::kLanes);
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
      const V ai = Z::set1(a[off[i]]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = Z::fma(ai, bv[v], acc[i][v]);
    }
    a += csa;
    b += ldb;
  }
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i) {
    if (i < mr) {
      T* ci = c + i * ldc;
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) {
        V out = acc[i][v];
        if (accumulate) out = Z::add(Z::load(mask[v], ci + v * Z::kLanes), out);
        Z::store(ci + v * Z::kLanes, mask[v], out);
      }
    }
  }
}

// One tile of up to 8 x 2 vectors: one vector of accumulators per row when nr fits in one.
template <typename T>
NNFAST_AVX512 void sup_avx512(index_t kc, const T* a, index_t rsa, index_t csa, const T* b,
                              index_t ldb, T* c, index_t ldc, bool accumulate, int mr, int nr) {
  if (nr <= Zmm<T>::kLanes) {
    sup_tile<T, 1>(kc, a, rsa, csa, b, ldb, c, ldc, accumulate, mr, nr);
  } else {
    sup_tile<T, 2>(kc, a, rsa, csa, b, ldb, c, ldc, accumulate, mr, nr);
  }
}

}  // namespace

SupKernel<float> avx512_sup_f32() { return {sup_avx512<float>, kRows, 2 * Zmm<float>::kLanes}; }
SupKernel<double> avx512_sup_f64() { return {sup_avx512<double>, kRows, 2 * Zmm<double>::kLanes}; }

}  // namespace nnfast::gemm
#endif
