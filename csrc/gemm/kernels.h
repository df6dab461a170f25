// The microkernels: C[0:MR, 0:NR] (= or +=) the product of a packed A micro-panel
// (kc x MR, row i of step p at a[p * MR + i]) and a packed B micro-panel (kc x NR, at
// b[p * NR + j]). Always a full tile: the driver hands partial tiles a scratch C.
// Each accumulator sums p = 0, 1, ..., kc - 1 in order, whatever the thread.
#pragma once
#include "common.h"

namespace nnfast::gemm {

template <typename T>
using MicroKernel = void (*)(index_t kc, const T* a, const T* b, T* c, index_t ldc, bool accumulate);
// Packing of one micro-panel (see pack.h), compiled for the same ISA as its microkernel.
template <typename T>
using PackA = void (*)(T* dst, const T* A, index_t lda, bool trans, index_t rows, index_t kc);
template <typename T>
using PackB = void (*)(T* dst, const T* B, index_t ldb, bool trans, index_t cols, index_t kc);
// The unpacked product for tiny shapes (gemm/tiny.h), same contract as gemm::gemm.
template <typename T>
using Tiny = void (*)(T* C, index_t ldc, const T* A, index_t lda, bool ta, const T* B,
                      index_t ldb, bool tb, index_t M, index_t N, index_t K, bool accumulate);

// Everything the blocked driver needs from one ISA for one dtype.
template <typename T>
struct Kernel {
  MicroKernel<T> micro;
  PackA<T> pack_a;
  PackB<T> pack_b;
  Tiny<T> tiny;
  int MR, NR;
  index_t MC, KC, NC;
};

// The unpacked kernel for small products (gemm/sup.h, per ISA): one tile of up to MR x NR
// of C (= or +=) op(A) · B, with op(A)(i, p) = a[i * rsa + p * csa], B(p, j) = b[p * ldb + j],
// read in place; mr <= MR rows and nr <= NR columns are computed and stored.
template <typename T>
using SupTile = void (*)(index_t kc, const T* a, index_t rsa, index_t csa, const T* b,
                         index_t ldb, T* c, index_t ldc, bool accumulate, int mr, int nr);
// The unpacked kernel for op(A) = Aᵀ and B a few columns wide (gemm/sup.h's sup_cols): rows
// [0, mr) (mr <= MR_cols) and all n <= kColsMaxN columns of C (= or +=) Aᵀ · B, with
// Aᵀ(i, p) = a[p * lda + i] (a row of A is contiguous along C's column) and B(p, j) =
// b[p * ldb + j].
constexpr int kColsMaxN = 12;
template <typename T>
using SupCols = void (*)(index_t kc, const T* a, index_t lda, const T* b, index_t ldb, T* c,
                         index_t ldc, bool accumulate, int mr, int n);
template <typename T>
struct SupKernel {
  SupTile<T> tile;  // null where the ISA has none
  int MR, NR;
  SupCols<T> cols = nullptr;  // null where the ISA has none
  int MR_cols = 0;            // rows of C per call (two vectors)
};

// The driver's scratch for edge tiles holds the largest register tile of any ISA.
constexpr int kMaxTile = 8 * 32;

// Build a Kernel from a config (MR, NR, MC, KC, NC) and the ISA's functions.
template <typename Cfg, typename T>
constexpr Kernel<T> make_kernel(MicroKernel<T> micro, PackA<T> pa, PackB<T> pb, Tiny<T> tiny) {
  static_assert(Cfg::MR * Cfg::NR <= kMaxTile, "edge-tile scratch too small for this tile");
  return {micro, pa, pb, tiny, Cfg::MR, Cfg::NR, Cfg::MC, Cfg::KC, Cfg::NC};
}

// One per ISA and dtype, each in its own file; microkernels inside are named by dtype,
// ISA and tile, as in BLIS (sgemm_avx512_8x32). The x86 ones are compiled with a target
// attribute (never -march), so only the chosen one runs and the wheel runs anywhere.
Kernel<float> generic_kernel_f32();
Kernel<double> generic_kernel_f64();
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NNFAST_X86_KERNELS 1
Kernel<float> avx2_kernel_f32();
Kernel<double> avx2_kernel_f64();
SupKernel<float> avx2_sup_f32();
SupKernel<double> avx2_sup_f64();
Kernel<float> avx512_kernel_f32();
Kernel<float> avx512_narrow_kernel_f32();  // for N <= 16 (Avx512NarrowConfig)
SupKernel<float> avx512_sup_f32();
SupKernel<double> avx512_sup_f64();
Kernel<double> avx512_kernel_f64();
#endif

}  // namespace nnfast::gemm
