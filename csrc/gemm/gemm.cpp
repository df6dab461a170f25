// The blocked, OpenMP-parallel matrix product (BLIS loop order: jc, pc, ic, then the
// (ir, jr) grid of microtiles, which is what the threads share).
#include "gemm/gemm.h"

#include <algorithm>
#include <vector>

#include "gemm/config.h"
#include "gemm/kernel_generic.h"
#include "gemm/pack.h"

namespace nnfast::gemm {

namespace {
inline index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

template <typename T>
void scale_c(T* C, index_t ldc, index_t M, index_t N, T beta) {
  for (index_t i = 0; i < M; ++i)
    for (index_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
}
}  // namespace

template <typename T>
void gemm(T* C, index_t ldc, const T* A, index_t lda, bool trans_a, const T* B, index_t ldb,
          bool trans_b, index_t M, index_t N, index_t K, T beta) {
  using Cfg = GenericConfig<T>;
  constexpr int MR = Cfg::MR, NR = Cfg::NR;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return scale_c(C, ldc, M, N, beta);

  const index_t mc_max = std::min(Cfg::MC, ceil_div(M, MR) * MR);
  const index_t nc_max = std::min(Cfg::NC, ceil_div(N, NR) * NR);
  const index_t kc_max = std::min(Cfg::KC, K);
  std::vector<T> a_pack(static_cast<size_t>(mc_max * kc_max));
  std::vector<T> b_pack(static_cast<size_t>(nc_max * kc_max));
  T* ap = a_pack.data();
  T* bp = b_pack.data();
  const int nt = threads_for(2.0 * double(M) * double(N) * double(K));
  (void)nt;

#pragma omp parallel num_threads(nt) if (nt > 1)
  for (index_t jc = 0; jc < N; jc += Cfg::NC) {
    const index_t nc = std::min(Cfg::NC, N - jc);
    const index_t n_panels = ceil_div(nc, NR);
    for (index_t pc = 0; pc < K; pc += Cfg::KC) {
      const index_t kc = std::min(Cfg::KC, K - pc);
      // Later K blocks add onto what the first one stored.
      const T beta_k = pc == 0 ? beta : T(1);
#pragma omp for schedule(static)
      for (index_t jp = 0; jp < n_panels; ++jp) {
        const index_t j0 = jc + jp * NR;
        const T* src = trans_b ? B + j0 * ldb + pc : B + pc * ldb + j0;
        pack_b_panel<NR>(bp + jp * NR * kc, src, ldb, trans_b, std::min<index_t>(NR, N - j0), kc);
      }
      for (index_t ic = 0; ic < M; ic += Cfg::MC) {
        const index_t mc = std::min(Cfg::MC, M - ic);
        const index_t m_panels = ceil_div(mc, MR);
#pragma omp for schedule(static)
        for (index_t ip = 0; ip < m_panels; ++ip) {
          const index_t i0 = ic + ip * MR;
          const T* src = trans_a ? A + pc * lda + i0 : A + i0 * lda + pc;
          pack_a_panel<MR>(ap + ip * MR * kc, src, lda, trans_a, std::min<index_t>(MR, M - i0), kc);
        }
#pragma omp for collapse(2) schedule(static)
        for (index_t ip = 0; ip < m_panels; ++ip) {
          for (index_t jp = 0; jp < n_panels; ++jp) {
            const index_t i0 = ic + ip * MR, j0 = jc + jp * NR;
            microkernel_generic<T, MR, NR>(C + i0 * ldc + j0, ldc, ap + ip * MR * kc,
                                           bp + jp * NR * kc, kc,
                                           static_cast<int>(std::min<index_t>(MR, M - i0)),
                                           static_cast<int>(std::min<index_t>(NR, N - j0)), beta_k);
          }
        }
      }
    }
  }
}

template <typename T>
void gemm_naive(T* C, index_t ldc, const T* A, index_t lda, bool trans_a, const T* B,
                index_t ldb, bool trans_b, index_t M, index_t N, index_t K, T beta) {
  for (index_t i = 0; i < M; ++i) {
    for (index_t j = 0; j < N; ++j) {
      T s = 0;
      for (index_t p = 0; p < K; ++p) {
        s += (trans_a ? A[p * lda + i] : A[i * lda + p]) * (trans_b ? B[j * ldb + p] : B[p * ldb + j]);
      }
      C[i * ldc + j] = beta == T(0) ? s : beta * C[i * ldc + j] + s;
    }
  }
}

#define NNFAST_INSTANTIATE(T)                                                                   \
  template void gemm<T>(T*, index_t, const T*, index_t, bool, const T*, index_t, bool, index_t, \
                        index_t, index_t, T);                                                   \
  template void gemm_naive<T>(T*, index_t, const T*, index_t, bool, const T*, index_t, bool,    \
                              index_t, index_t, index_t, T);
NNFAST_INSTANTIATE(float)
NNFAST_INSTANTIATE(double)
#undef NNFAST_INSTANTIATE

}  // namespace nnfast::gemm
