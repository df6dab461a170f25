// AVX-512F microkernels: 8 rows x 2 zmm vectors of C in 16 accumulators. Per step p:
// two loads of B, eight broadcasts of A, sixteen FMAs.
#include "gemm/config.h"
#include "gemm/kernels.h"
#include "gemm/tiny.h"

#ifdef NNFAST_X86_KERNELS
#include <immintrin.h>

#include "gemm/pack_x86.h"

#define NNFAST_AVX512 __attribute__((target("avx512f,fma")))

namespace nnfast::gemm {

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

NNFAST_AVX512 void sgemm_avx512_8x32(index_t kc, const float* a, const float* b, float* c,
                                     index_t ldc, bool accumulate) {
#define DECL(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = _mm512_setzero_ps();
  ROWS(DECL)
#undef DECL
  // The C tile is read (or written) once at the end: start fetching it now.
  for (int i = 0; i < 8; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16), _MM_HINT_T0);
  }
#define STEP(i)                                  \
  {                                              \
    const __m512 ai = _mm512_set1_ps(a[i]);      \
    c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0);  \
    c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1);  \
  }
#define K_STEP                                                            \
  {                                                                       \
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16); \
    ROWS(STEP)                                                            \
    a += 8;                                                               \
    b += 32;                                                              \
  }
  index_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    K_STEP K_STEP K_STEP K_STEP
  }
  for (; p < kc; ++p) K_STEP
#undef K_STEP
#undef STEP
#define STORE(i)                                                                          \
  {                                                                                       \
    float* ci = c + i * ldc;                                                              \
    if (accumulate) {                                                                     \
      c##i##0 = _mm512_add_ps(_mm512_loadu_ps(ci), c##i##0);                              \
      c##i##1 = _mm512_add_ps(_mm512_loadu_ps(ci + 16), c##i##1);                         \
    }                                                                                     \
    _mm512_storeu_ps(ci, c##i##0);                                                        \
    _mm512_storeu_ps(ci + 16, c##i##1);                                                   \
  }
  ROWS(STORE)
#undef STORE
}

#define ROWS16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)

// The narrow tile: 16 rows x 1 zmm vector, 16 accumulators; per step p one load of B,
// sixteen broadcasts of A, sixteen FMAs.
NNFAST_AVX512 void sgemm_avx512_16x16(index_t kc, const float* a, const float* b, float* c,
                                      index_t ldc, bool accumulate) {
#define DECL(i) __m512 c##i = _mm512_setzero_ps();
  ROWS16(DECL)
#undef DECL
  for (int i = 0; i < 16; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
#define STEP(i) c##i = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), b0, c##i);
#define K_STEP                              \
  {                                         \
    const __m512 b0 = _mm512_loadu_ps(b);   \
    ROWS16(STEP)                            \
    a += 16;                                \
    b += 16;                                \
  }
  index_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    K_STEP K_STEP K_STEP K_STEP
  }
  for (; p < kc; ++p) K_STEP
#undef K_STEP
#undef STEP
#define STORE(i)                                                        \
  {                                                                     \
    float* ci = c + i * ldc;                                            \
    if (accumulate) c##i = _mm512_add_ps(_mm512_loadu_ps(ci), c##i);    \
    _mm512_storeu_ps(ci, c##i);                                         \
  }
  ROWS16(STORE)
#undef STORE
}

#undef ROWS16

NNFAST_AVX512 void dgemm_avx512_8x16(index_t kc, const double* a, const double* b, double* c,
                                     index_t ldc, bool accumulate) {
#define DECL(i) __m512d c##i##0 = _mm512_setzero_pd(), c##i##1 = _mm512_setzero_pd();
  ROWS(DECL)
#undef DECL
  for (int i = 0; i < 8; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 8), _MM_HINT_T0);
  }
#define STEP(i)                                  \
  {                                              \
    const __m512d ai = _mm512_set1_pd(a[i]);     \
    c##i##0 = _mm512_fmadd_pd(ai, b0, c##i##0);  \
    c##i##1 = _mm512_fmadd_pd(ai, b1, c##i##1);  \
  }
#define K_STEP                                                               \
  {                                                                          \
    const __m512d b0 = _mm512_loadu_pd(b), b1 = _mm512_loadu_pd(b + 8);    \
    ROWS(STEP)                                                               \
    a += 8;                                                                  \
    b += 16;                                                                 \
  }
  index_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    K_STEP K_STEP K_STEP K_STEP
  }
  for (; p < kc; ++p) K_STEP
#undef K_STEP
#undef STEP
#define STORE(i)                                                                          \
  {                                                                                       \
    double* ci = c + i * ldc;                                                             \
    if (accumulate) {                                                                     \
      c##i##0 = _mm512_add_pd(_mm512_loadu_pd(ci), c##i##0);                              \
      c##i##1 = _mm512_add_pd(_mm512_loadu_pd(ci + 8), c##i##1);                          \
    }                                                                                     \
    _mm512_storeu_pd(ci, c##i##0);                                                        \
    _mm512_storeu_pd(ci + 8, c##i##1);                                                    \
  }
  ROWS(STORE)
#undef STORE
}

#undef ROWS

namespace {
template <typename T, int MR>
NNFAST_AVX512 void pack_a_avx512(T* dst, const T* A, index_t lda, bool trans, index_t rows, index_t kc) {
  x86::pack_a<MR>(dst, A, lda, trans, rows, kc);
}
template <typename T, int NR>
NNFAST_AVX512 void pack_b_avx512(T* dst, const T* B, index_t ldb, bool trans, index_t cols, index_t kc) {
  x86::pack_b<NR>(dst, B, ldb, trans, cols, kc);
}
template <typename T>
NNFAST_AVX512 void tiny_avx512(T* C, index_t ldc, const T* A, index_t lda, bool ta, const T* B, index_t ldb,
                               bool tb, index_t M, index_t N, index_t K, bool accumulate) {
  detail::gemm_tiny(C, ldc, A, lda, ta, B, ldb, tb, M, N, K, accumulate);
}

// Each kernel with the packing and tiny loops of its ISA, packing to its own tile.
template <typename Cfg, typename T>
Kernel<T> avx512_kernel(MicroKernel<T> micro) {
  return make_kernel<Cfg, T>(micro, pack_a_avx512<T, Cfg::MR>, pack_b_avx512<T, Cfg::NR>,
                             tiny_avx512<T>);
}
}  // namespace

Kernel<float> avx512_kernel_f32() { return avx512_kernel<Avx512Config<float>>(sgemm_avx512_8x32); }
Kernel<float> avx512_narrow_kernel_f32() {
  return avx512_kernel<Avx512NarrowConfig<float>>(sgemm_avx512_16x16);
}
Kernel<double> avx512_kernel_f64() { return avx512_kernel<Avx512Config<double>>(dgemm_avx512_8x16); }

}  // namespace nnfast::gemm
#endif
