// AVX2 + FMA microkernels: 6 rows x 2 ymm vectors of C in 12 accumulators (16 ymm
// registers: 12 + 2 for B + 1 broadcast).
#include "gemm/config.h"
#include "gemm/kernels.h"
#include "gemm/tiny.h"

#ifdef NNFAST_X86_KERNELS
#include <immintrin.h>

#include "gemm/pack_x86.h"

#define NNFAST_AVX2 __attribute__((target("avx2,fma")))

namespace nnfast::gemm {

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

NNFAST_AVX2 void sgemm_avx2_6x16(index_t kc, const float* a, const float* b, float* c,
                                 index_t ldc, bool accumulate) {
#define DECL(i) __m256 c##i##0 = _mm256_setzero_ps(), c##i##1 = _mm256_setzero_ps();
  ROWS(DECL)
#undef DECL
  for (index_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#define STEP(i)                                  \
  {                                              \
    const __m256 ai = _mm256_broadcast_ss(a + i); \
    c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);  \
    c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);  \
  }
    ROWS(STEP)
#undef STEP
    a += 6;
    b += 16;
  }
#define STORE(i)                                                  \
  {                                                               \
    float* ci = c + i * ldc;                                      \
    if (accumulate) {                                             \
      c##i##0 = _mm256_add_ps(_mm256_loadu_ps(ci), c##i##0);      \
      c##i##1 = _mm256_add_ps(_mm256_loadu_ps(ci + 8), c##i##1);  \
    }                                                             \
    _mm256_storeu_ps(ci, c##i##0);                                \
    _mm256_storeu_ps(ci + 8, c##i##1);                            \
  }
  ROWS(STORE)
#undef STORE
}

NNFAST_AVX2 void dgemm_avx2_6x8(index_t kc, const double* a, const double* b, double* c,
                                index_t ldc, bool accumulate) {
#define DECL(i) __m256d c##i##0 = _mm256_setzero_pd(), c##i##1 = _mm256_setzero_pd();
  ROWS(DECL)
#undef DECL
  for (index_t p = 0; p < kc; ++p) {
    const __m256d b0 = _mm256_loadu_pd(b), b1 = _mm256_loadu_pd(b + 4);
#define STEP(i)                                   \
  {                                               \
    const __m256d ai = _mm256_broadcast_sd(a + i); \
    c##i##0 = _mm256_fmadd_pd(ai, b0, c##i##0);   \
    c##i##1 = _mm256_fmadd_pd(ai, b1, c##i##1);   \
  }
    ROWS(STEP)
#undef STEP
    a += 6;
    b += 8;
  }
#define STORE(i)                                                  \
  {                                                               \
    double* ci = c + i * ldc;                                     \
    if (accumulate) {                                             \
      c##i##0 = _mm256_add_pd(_mm256_loadu_pd(ci), c##i##0);      \
      c##i##1 = _mm256_add_pd(_mm256_loadu_pd(ci + 4), c##i##1);  \
    }                                                             \
    _mm256_storeu_pd(ci, c##i##0);                                \
    _mm256_storeu_pd(ci + 4, c##i##1);                            \
  }
  ROWS(STORE)
#undef STORE
}

#undef ROWS

namespace {
template <typename T>
NNFAST_AVX2 void pack_a_avx2(T* dst, const T* A, index_t lda, bool trans, index_t rows, index_t kc) {
  x86::pack_a<Avx2Config<T>::MR>(dst, A, lda, trans, rows, kc);
}
template <typename T>
NNFAST_AVX2 void pack_b_avx2(T* dst, const T* B, index_t ldb, bool trans, index_t cols, index_t kc) {
  x86::pack_b<Avx2Config<T>::NR>(dst, B, ldb, trans, cols, kc);
}
template <typename T>
NNFAST_AVX2 void tiny_avx2(T* C, index_t ldc, const T* A, index_t lda, bool ta, const T* B, index_t ldb,
                           bool tb, index_t M, index_t N, index_t K, bool accumulate) {
  detail::gemm_tiny(C, ldc, A, lda, ta, B, ldb, tb, M, N, K, accumulate);
}
}  // namespace

Kernel<float> avx2_kernel_f32() {
  return make_kernel<Avx2Config<float>, float>(sgemm_avx2_6x16, pack_a_avx2<float>, pack_b_avx2<float>,
      tiny_avx2<float>);
}
Kernel<double> avx2_kernel_f64() {
  return make_kernel<Avx2Config<double>, double>(dgemm_avx2_6x8, pack_a_avx2<double>, pack_b_avx2<double>,
      tiny_avx2<double>);
}

}  // namespace nnfast::gemm
#endif
