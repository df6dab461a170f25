// The blocked, OpenMP-parallel matrix product (BLIS loop order: jc over NC, pc over KC,
// ic over MC, then the microtiles; each thread runs these loops on its own block of C),
// an unpacked kernel for small products, and a direct loop for tiny ones.
#include "gemm/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gemm/kernels.h"

namespace nnfast::gemm {

namespace {

// The kernels of the active ISA for one dtype, chosen by select_isa().
template <typename T>
struct KernelSet {
  Kernel<T> main;
  Kernel<T> narrow;    // for products at most narrow.NR columns wide (main where none narrower)
  SupKernel<T> sup{};  // small products read in place (null tile where the ISA has none)
};
KernelSet<float> g_f32{generic_kernel_f32(), generic_kernel_f32()};
KernelSet<double> g_f64{generic_kernel_f64(), generic_kernel_f64()};
Isa g_isa = Isa::Generic;

template <typename T> const KernelSet<T>& kernels();
template <> const KernelSet<float>& kernels<float>() { return g_f32; }
template <> const KernelSet<double>& kernels<double>() { return g_f64; }

inline index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

// Scratch on a cache line (common.h's line_vector) that grows as needed and is kept
// (thread-local at its uses).
template <typename T>
T* scratch(line_vector<T>& buf, index_t n) {
  if (buf.size() < static_cast<size_t>(n)) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

// Products below this many multiply-adds skip packing (gemm/tiny.h): for a 2-3-1 network
// the packing would cost more than the arithmetic.
constexpr double kTinyWork = 16384;

// Tiles whose epilogue is one call (a run down a column panel in the unpacked product,
// along a row panel in the packed one): small's 64 x 64 bias + tanh was 44 calls a step of a
// few vectors each (in runs of 4: small 0.97, digits 0.98-0.99 at 1 thread, 0.97-1.0 at 2).
// Whole column panels (11 tiles) made small's float64 step at 2 threads 11 % slower,
// unexplained; 4 tiles stay within L1 in any case.
constexpr index_t kEpilogueRun = 4;

// Rows [r0, r1) and columns [c0, c1) of C by the serial BLIS loops, with this thread's own
// packed panels (reused across calls: a training run does not allocate per product).
template <typename T>
void gemm_block(const Kernel<T>& k, T* C, index_t ldc, const T* A, index_t lda, bool ta,
                const T* B, index_t ldb, bool tb, index_t r0, index_t r1, index_t c0,
                index_t c1, index_t K, index_t KC, bool accumulate, const Epilogue<T>* ep) {
  const int MR = k.MR, NR = k.NR;
  thread_local line_vector<T> a_buf, b_buf;
  T* ap = scratch(a_buf, std::min(k.MC, ceil_div(r1 - r0, MR) * MR) * KC);
  T* bp = scratch(b_buf, std::min(k.NC, ceil_div(c1 - c0, NR) * NR) * KC);
  for (index_t jc = c0; jc < c1; jc += k.NC) {
    const index_t nc = std::min(k.NC, c1 - jc), n_panels = ceil_div(nc, NR);
    for (index_t pc = 0; pc < K; pc += KC) {
      const index_t kc = std::min(KC, K - pc);
      const bool acc = pc > 0 || accumulate;  // later K blocks add onto the first
      const bool last_k = pc + kc == K;
      for (index_t jp = 0; jp < n_panels; ++jp) {
        const index_t j0 = jc + jp * NR;
        const T* src = tb ? B + j0 * ldb + pc : B + pc * ldb + j0;
        k.pack_b(bp + jp * NR * kc, src, ldb, tb, std::min<index_t>(NR, c1 - j0), kc);
      }
      for (index_t ic = r0; ic < r1; ic += k.MC) {
        const index_t mc = std::min(k.MC, r1 - ic), m_panels = ceil_div(mc, MR);
        for (index_t ip = 0; ip < m_panels; ++ip) {
          const index_t i0 = ic + ip * MR;
          const T* src = ta ? A + pc * lda + i0 : A + i0 * lda + pc;
          k.pack_a(ap + ip * MR * kc, src, lda, ta, std::min<index_t>(MR, r1 - i0), kc);
        }
        // ip outer: an A micro-panel stays in L1 while the B micro-panels stream past
        // from L2.
        for (index_t ip = 0; ip < m_panels; ++ip) {
          index_t run_j0 = jc;  // the epilogue's block: this row panel, from run_j0 on
          for (index_t jp = 0; jp < n_panels; ++jp) {
            const index_t i0 = ic + ip * MR, j0 = jc + jp * NR;
            const index_t mr = std::min<index_t>(MR, r1 - i0), nr = std::min<index_t>(NR, c1 - j0);
            T* c = C + i0 * ldc + j0;
            if (mr == MR && nr == NR) {
              k.micro(kc, ap + ip * MR * kc, bp + jp * NR * kc, c, ldc, acc);
            } else {  // edge tile: full tile into scratch, then the valid part
              alignas(64) T tile[kMaxTile];
              k.micro(kc, ap + ip * MR * kc, bp + jp * NR * kc, tile, NR, false);
              for (index_t i = 0; i < mr; ++i)
                for (index_t j = 0; j < nr; ++j)
                  c[i * ldc + j] = acc ? c[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
            }
            // Once per run of up to kEpilogueRun tiles along the row panel.
            if (ep && last_k && (jp + 1 == n_panels || j0 + nr - run_j0 == kEpilogueRun * NR)) {
              ep->apply(ep->ctx, C + i0 * ldc + run_j0, ldc, i0, run_j0, mr, j0 + nr - run_j0);
              run_j0 = j0 + nr;
            }
          }
        }
      }
    }
  }
}

// The threads as a tm x tn grid over C's micro-panels, each thread one block of rows and
// columns that it packs and multiplies alone: no barrier, no packed panel read from
// another core's cache. The price is packing: a block of op(A) rows is packed by each of
// the tn threads that use it, op(B) columns by tm threads. Pick the grid with the least
// time by a simple model: a thread's tiles times the tile's multiply-adds, plus the
// values it packs per step of K, each costed as a few multiply-adds (a load from L3).
struct Grid {
  int tm, tn;
};
inline Grid choose_grid(index_t m_panels, index_t n_panels, int MR, int NR, int nth) {
  constexpr double kPackCost = 8.0;
  Grid best{1, 1};
  double best_cost = -1;
  for (int tm = 1; tm <= nth && tm <= m_panels; ++tm) {
    const int tn = int(std::min<index_t>(nth / tm, n_panels));
    const index_t rows = ceil_div(m_panels, tm), cols = ceil_div(n_panels, tn);
    const double cost = double(rows * cols) * MR * NR + kPackCost * double(rows * MR + cols * NR);
    if (best_cost < 0 || cost < best_cost) best = {tm, tn}, best_cost = cost;
  }
  return best;
}

template <typename T>
void gemm_blocked(const Kernel<T>& k, T* C, index_t ldc, const T* A, index_t lda, bool ta,
                  const T* B, index_t ldb, bool tb, index_t M, index_t N, index_t K,
                  bool accumulate, const Epilogue<T>* ep) {
  // K blocks of equal size (784 = 4 x 196, not 3 x 256 + 16): a short last block would
  // pay the C tile's load and store for a few steps of work. They depend on K alone, so
  // each C(i, j) is summed the same way whichever thread computes it.
  const index_t KC = ceil_div(K, ceil_div(K, k.KC));
  const index_t m_panels = ceil_div(M, k.MR), n_panels = ceil_div(N, k.NR);
  const Grid g = choose_grid(m_panels, n_panels, k.MR, k.NR,
                             threads_for(2.0 * double(M) * double(N) * double(K)));
  parallel_region(g.tm * g.tn, [&](int t, int nth) {
    // Normally one block per thread; a loop in case the runtime granted fewer threads.
    for (int b = t; b < g.tm * g.tn; b += nth) {
      index_t ilo, ihi, jlo, jhi;
      static_range(m_panels, b / g.tn, g.tm, ilo, ihi);
      static_range(n_panels, b % g.tn, g.tn, jlo, jhi);
      gemm_block(k, C, ldc, A, lda, ta, B, ldb, tb, ilo * k.MR, std::min(M, ihi * k.MR),
                 jlo * k.NR, std::min(N, jhi * k.NR), K, KC, accumulate, ep);
    }
  });
}

// Small products read in place (gemm/sup.h): tiles with the B panel outer, so
// that it stays in L1 while the rows of A stream past, split across threads in order.
template <typename T>
void gemm_sup(const SupKernel<T>& k, T* C, index_t ldc, const T* A, index_t lda, bool ta,
              const T* B, index_t ldb, index_t M, index_t N, index_t K, bool accumulate,
              const Epilogue<T>* ep) {
  const index_t m_panels = ceil_div(M, k.MR), n_panels = ceil_div(N, k.NR);
  const index_t rsa = ta ? 1 : lda, csa = ta ? lda : 1;
  parallel_region(threads_for(2.0 * double(M) * double(N) * double(K)), [&](int t, int nth) {
    index_t lo, hi;
    static_range(m_panels * n_panels, t, nth, lo, hi);
    // The epilogue's block: this column panel, from row run_i0 on.
    index_t run_i0 = (lo % m_panels) * k.MR;
    for (index_t u = lo; u < hi; ++u) {
      const index_t i0 = (u % m_panels) * k.MR, j0 = (u / m_panels) * k.NR;
      const int mr = int(std::min<index_t>(k.MR, M - i0)), nr = int(std::min<index_t>(k.NR, N - j0));
      T* c = C + i0 * ldc + j0;
      k.tile(K, A + i0 * rsa, rsa, csa, B + j0, ldb, c, ldc, accumulate, mr, nr);
      // Once per run of up to kEpilogueRun tiles down the column panel.
      if (ep && (u + 1 == hi || i0 + mr == M || i0 + mr - run_i0 == kEpilogueRun * k.MR)) {
        ep->apply(ep->ctx, C + run_i0 * ldc + j0, ldc, run_i0, j0, i0 + mr - run_i0, nr);
        run_i0 = i0 + mr == M ? 0 : i0 + mr;
      }
    }
  });
}

// Aᵀ · B with B a few columns wide (gemm/sup.h's sup_cols): blocks of MR_cols rows of C,
// split across threads in order, each block's epilogue as soon as it is done.
template <typename T>
void gemm_sup_cols(const SupKernel<T>& k, T* C, index_t ldc, const T* A, index_t lda,
                   const T* B, index_t ldb, index_t M, index_t N, index_t K, bool accumulate,
                   const Epilogue<T>* ep) {
  const index_t blocks = ceil_div(M, k.MR_cols);
  parallel_region(threads_for(2.0 * double(M) * double(N) * double(K)), [&](int t, int nth) {
    index_t lo, hi;
    static_range(blocks, t, nth, lo, hi);
    for (index_t u = lo; u < hi; ++u) {
      const index_t i0 = u * k.MR_cols;
      const int mr = int(std::min<index_t>(k.MR_cols, M - i0));
      k.cols(K, A + i0, lda, B, ldb, C + i0 * ldc, ldc, accumulate, mr, int(N));
      if (ep) ep->apply(ep->ctx, C + i0 * ldc, ldc, i0, 0, mr, N);
    }
  });
}

// Whether the column kernel serves an unpacked Aᵀ · B better than the tile: B at most
// kColsMaxN columns wide and not a whole number of vectors (the tile then fills every lane).
template <typename T>
bool prefer_sup_cols(const SupKernel<T>& k, bool ta, index_t N) {
  return ta && k.cols && N <= kColsMaxN && N % (k.MR_cols / 2) != 0;
}

// Whether the unpacked kernel serves this product better than packing: B must not be
// transposed (its rows are read as vectors), and the product small enough that packing
// cannot pay for itself. Measured on AVX-512 (float32, 1 thread): unpacked 1.1-2x faster up
// to ~1.3 M multiply-adds (every product of the digits network), even at 4 M, slower from
// there (784x256x128: 445 vs 332 us). Depends on the shape only, never on the thread count.
constexpr double kSupMaxWork = 2.0e6;
constexpr index_t kSupMaxK = 512;
inline bool prefer_sup(index_t M, index_t N, index_t K, bool tb) {
  return !tb && K <= kSupMaxK && double(M) * double(N) * double(K) <= kSupMaxWork;
}

}  // namespace

template <typename T>
void gemm(T* C, index_t ldc, const T* A, index_t lda, bool trans_a, const T* B, index_t ldb,
          bool trans_b, index_t M, index_t N, index_t K, bool accumulate,
          const Epilogue<T>* ep) {
  if (M <= 0 || N <= 0) return;
  const KernelSet<T>& ks = kernels<T>();
  if (K <= 0 || double(M) * double(N) * double(K) <= kTinyWork) {
    ks.main.tiny(C, ldc, A, lda, trans_a, B, ldb, trans_b, M, N, std::max<index_t>(K, 0),
                 accumulate);
    if (ep) ep->apply(ep->ctx, C, ldc, 0, 0, M, N);
    return;
  }
  if (ks.sup.tile && prefer_sup(M, N, K, trans_b)) {
    if (prefer_sup_cols(ks.sup, trans_a, N))
      gemm_sup_cols(ks.sup, C, ldc, A, lda, B, ldb, M, N, K, accumulate, ep);
    else
      gemm_sup(ks.sup, C, ldc, A, lda, trans_a, B, ldb, M, N, K, accumulate, ep);
    return;
  }
  const Kernel<T>& k = N <= ks.narrow.NR ? ks.narrow : ks.main;
  gemm_blocked(k, C, ldc, A, lda, trans_a, B, ldb, trans_b, M, N, K, accumulate, ep);
}

template <typename T>
void gemm_naive(T* C, index_t ldc, const T* A, index_t lda, bool trans_a, const T* B,
                index_t ldb, bool trans_b, index_t M, index_t N, index_t K, bool accumulate) {
  for (index_t i = 0; i < M; ++i) {
    for (index_t j = 0; j < N; ++j) {
      T s = 0;
      for (index_t p = 0; p < K; ++p) {
        s += (trans_a ? A[p * lda + i] : A[i * lda + p]) * (trans_b ? B[j * ldb + p] : B[p * ldb + j]);
      }
      C[i * ldc + j] = accumulate ? C[i * ldc + j] + s : s;
    }
  }
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "generic";
  }
}

bool isa_supported(Isa isa) {
  if (isa == Isa::Generic) return true;
#ifdef NNFAST_X86_KERNELS
  __builtin_cpu_init();
  if (isa == Isa::Avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == Isa::Avx512) return __builtin_cpu_supports("avx512f");
#endif
  return false;
}

Isa active_isa() { return g_isa; }

std::string select_isa() {
  Isa isa = Isa::Generic;
  if (isa_supported(Isa::Avx2)) isa = Isa::Avx2;
  if (isa_supported(Isa::Avx512)) isa = Isa::Avx512;
  std::string err;
  if (const char* want = std::getenv("NNFAST_GEMM_ISA"); want && *want) {
    bool known = false;
    for (Isa candidate : {Isa::Generic, Isa::Avx2, Isa::Avx512}) {
      if (std::strcmp(want, isa_name(candidate)) != 0) continue;
      known = true;
      if (isa_supported(candidate)) isa = candidate;
      else err = std::string("NNFAST_GEMM_ISA=") + want + " but this CPU or build lacks it";
    }
    if (!known) err = std::string("NNFAST_GEMM_ISA must be generic, avx2 or avx512; got ") + want;
  }
  g_isa = isa;
  g_f32 = {generic_kernel_f32(), generic_kernel_f32()};
  g_f64 = {generic_kernel_f64(), generic_kernel_f64()};
#ifdef NNFAST_X86_KERNELS
  if (isa == Isa::Avx2) {
    g_f32 = {avx2_kernel_f32(), avx2_kernel_f32(), avx2_sup_f32()};
    g_f64 = {avx2_kernel_f64(), avx2_kernel_f64(), avx2_sup_f64()};
  } else if (isa == Isa::Avx512) {
    g_f32 = {avx512_kernel_f32(), avx512_narrow_kernel_f32(), avx512_sup_f32()};
    g_f64 = {avx512_kernel_f64(), avx512_kernel_f64(), avx512_sup_f64()};
  }
#endif
  return err;
}

#define NNFAST_INSTANTIATE(T)                                                                   \
  template void gemm<T>(T*, index_t, const T*, index_t, bool, const T*, index_t, bool, index_t, \
                        index_t, index_t, bool, const Epilogue<T>*);                            \
  template void gemm_naive<T>(T*, index_t, const T*, index_t, bool, const T*, index_t, bool,    \
                              index_t, index_t, index_t, bool);
NNFAST_INSTANTIATE(float)
NNFAST_INSTANTIATE(double)
#undef NNFAST_INSTANTIATE

}  // namespace nnfast::gemm
