// Portable microkernels: plain loops over a fixed-size tile, which the compiler unrolls
// and vectorises for whatever the build targets (SSE2 on x86-64, NEON on aarch64).
#include "gemm/config.h"
#include "gemm/kernels.h"
#include "gemm/tiny.h"
#include "gemm/pack.h"

namespace nnfast::gemm {

namespace {
template <typename T, int MR, int NR>
inline void microkernel(index_t kc, const T* __restrict a, const T* __restrict b, T* __restrict c,
                        index_t ldc, bool accumulate) {
  T acc[MR][NR] = {};
  for (index_t p = 0; p < kc; ++p) {
    for (int i = 0; i < MR; ++i) {
      const T ai = a[p * MR + i];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[p * NR + j];
    }
  }
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < NR; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
  }
}

void sgemm_generic_4x8(index_t kc, const float* a, const float* b, float* c, index_t ldc, bool acc) {
  microkernel<float, GenericConfig<float>::MR, GenericConfig<float>::NR>(kc, a, b, c, ldc, acc);
}
void dgemm_generic_4x4(index_t kc, const double* a, const double* b, double* c, index_t ldc, bool acc) {
  microkernel<double, GenericConfig<double>::MR, GenericConfig<double>::NR>(kc, a, b, c, ldc, acc);
}

template <typename T>
void pack_a_generic(T* dst, const T* A, index_t lda, bool trans, index_t rows, index_t kc) {
  pack_a<GenericConfig<T>::MR>(dst, A, lda, trans, rows, kc);
}
template <typename T>
void pack_b_generic(T* dst, const T* B, index_t ldb, bool trans, index_t cols, index_t kc) {
  pack_b<GenericConfig<T>::NR>(dst, B, ldb, trans, cols, kc);
}
template <typename T>
void tiny_generic(T* C, index_t ldc, const T* A, index_t lda, bool ta, const T* B, index_t ldb,
                  bool tb, index_t M, index_t N, index_t K, bool accumulate) {
  detail::gemm_tiny(C, ldc, A, lda, ta, B, ldb, tb, M, N, K, accumulate);
}
}  // namespace

Kernel<float> generic_kernel_f32() {
  return make_kernel<GenericConfig<float>, float>(sgemm_generic_4x8, pack_a_generic<float>,
                                                  pack_b_generic<float>, tiny_generic<float>);
}
Kernel<double> generic_kernel_f64() {
  return make_kernel<GenericConfig<double>, double>(dgemm_generic_4x4, pack_a_generic<double>,
                                                    pack_b_generic<double>, tiny_generic<double>);
}

}  // namespace nnfast::gemm
