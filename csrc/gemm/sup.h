// The unpacked ("sup") tile for small products, written once for every ISA that has one
// (and, below it, the column kernel for Aᵀ · B with B a few columns wide):
// a kRows-row tile of C = op(A) · B with op(A)(i, p) = a[i*rsa + p*csa] (either orientation
// of A) and B(p, j) = b[p*ldb + j] (B not transposed, so that a row of the tile is one or
// two contiguous vector loads). Partial tiles are handled in the kernel: columns past nr by
// load/store masks, rows past mr by re-reading row 0 and never storing it. Each C(i, j)
// sums p = 0, 1, ..., kc - 1 in order.
//
// The including kernel file defines NNFAST_SUP_TARGET (its ISA's target attribute, which
// its vector traits carry too, so that they inline into the tile); everything here sits in
// an anonymous namespace, so each ISA's file has its own copy, compiled for that ISA.
#pragma once
#include "common.h"
#include "gemm/kernels.h"

#ifndef NNFAST_SUP_TARGET
#error "define NNFAST_SUP_TARGET (the ISA's target attribute) before including gemm/sup.h"
#endif
#define NNFAST_SUP_INLINE NNFAST_SUP_TARGET __attribute__((always_inline)) inline

namespace nnfast::gemm {
namespace {

// kRows rows x NV vectors of columns (nr <= NV lanes) of C, kRows x NV accumulators. Z
// holds the ISA's vector operations for T (see the including file): zero, set1, masked load
// and store, fma, add, and first(lanes), the mask of the first `lanes` lanes.
//
// The flags fix at compile time what most tiles share, which frees the general-purpose
// registers the general tile spends on row offsets and masks (GCC spilled two of them into
// the loop over p; digits' 64x100x200 Aᵀ product in float64 took 16 % less time): kFullRows,
// mr = kRows (no row clamped); kFullCols, nr = NV lanes (constant masks); kUnitRow, rsa = 1
// (A transposed: the rows' offsets are constants).
template <typename Z, int kRows, int NV, bool kFullRows, bool kFullCols, bool kUnitRow, typename T>
NNFAST_SUP_INLINE void sup_tile(index_t kc, const T* a, index_t rsa, index_t csa, const T* b,
                                index_t ldb, T* c, index_t ldc, bool accumulate, int mr, int nr) {
  using V = typename Z::V;
  using Mask = typename Z::Mask;
  if constexpr (kFullRows) mr = kRows;
  if constexpr (kFullCols) nr = NV * Z::kLanes;
  if constexpr (kUnitRow) rsa = 1;
  // Every loop below over rows and vectors is unrolled, so that the accumulators are
  // registers (any loop left rolled makes GCC keep them on the stack, and store all of them
  // at every step p: twice as slow as packing).
  Mask mask[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) mask[v] = Z::first(nr - v * Z::kLanes);
  // Vectors of columns read and written whole, without a mask: all with kFullCols, and
  // all but the last otherwise (sup_kernel takes as few vectors as nr needs, so only the
  // last can be partial). A constant, so that the loops below keep no branch.
  const auto whole = [](int v) { return kFullCols || v < NV - 1; };
  index_t off[kRows];
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i) off[i] = (i < mr ? i : 0) * rsa;
  V acc[kRows][NV];
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = Z::zero();
  for (index_t p = 0; p < kc; ++p) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      bv[v] = whole(v) ? Z::load(b + v * Z::kLanes) : Z::load(mask[v], b + v * Z::kLanes);
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
      const V ai = Z::set1(a[off[i]]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = Z::fma(ai, bv[v], acc[i][v]);
    }
    a += csa;
    b += ldb;
  }
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i) {
    if (i < mr) {
      T* ci = c + i * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        T* cv = ci + v * Z::kLanes;
        V out = acc[i][v];
        if (whole(v)) {
          if (accumulate) out = Z::add(Z::load(cv), out);
          Z::store(cv, out);
        } else {
          if (accumulate) out = Z::add(Z::load(mask[v], cv), out);
          Z::store(cv, mask[v], out);
        }
      }
    }
  }
}

// The tile of NV vectors specialised for this call's mr, nr and rsa (see sup_tile's flags).
template <typename Z, int kRows, int NV, typename T>
NNFAST_SUP_INLINE void sup_tile_for(index_t kc, const T* a, index_t rsa, index_t csa, const T* b,
                                    index_t ldb, T* c, index_t ldc, bool accumulate, int mr, int nr) {
#define NNFAST_SUP_TILE(ROWS, COLS, UNIT) \
  return sup_tile<Z, kRows, NV, ROWS, COLS, UNIT>(kc, a, rsa, csa, b, ldb, c, ldc, accumulate, mr, nr)
  if (mr < kRows) {
    // A short last panel (small's 20-row dW: rows 16-19) in a tile half as tall, full or
    // nearly, rather than computing kRows rows to store mr of them.
    if constexpr (kRows > 1) {
      if (mr <= kRows / 2)
        return sup_tile_for<Z, kRows / 2, NV>(kc, a, rsa, csa, b, ldb, c, ldc, accumulate, mr, nr);
    }
    NNFAST_SUP_TILE(false, false, false);
  }
  const bool full_cols = nr == NV * Z::kLanes;
  if (rsa == 1) {
    if (full_cols) NNFAST_SUP_TILE(true, true, true);
    NNFAST_SUP_TILE(true, false, true);
  }
  if (full_cols) NNFAST_SUP_TILE(true, true, false);
  NNFAST_SUP_TILE(true, false, false);
#undef NNFAST_SUP_TILE
}

// One tile of up to kRows x kVecs vectors (kVecs = 2 or 3): as few vectors of
// accumulators per row as nr needs.
template <typename Z, int kRows, int kVecs, typename T>
NNFAST_SUP_TARGET void sup_kernel(index_t kc, const T* a, index_t rsa, index_t csa, const T* b,
                                  index_t ldb, T* c, index_t ldc, bool accumulate, int mr, int nr) {
  static_assert(kVecs == 2 || kVecs == 3, "tiles of 1 to 3 vectors");
  if (nr <= Z::kLanes) {
    sup_tile_for<Z, kRows, 1>(kc, a, rsa, csa, b, ldb, c, ldc, accumulate, mr, nr);
  } else if (kVecs == 2 || nr <= 2 * Z::kLanes) {
    sup_tile_for<Z, kRows, 2>(kc, a, rsa, csa, b, ldb, c, ldc, accumulate, mr, nr);
  } else {
    sup_tile_for<Z, kRows, kVecs>(kc, a, rsa, csa, b, ldb, c, ldc, accumulate, mr, nr);
  }
}

// Rows [0, mr) (mr <= 2 vectors) and columns [0, J) of C = Aᵀ · B, Aᵀ(i, p) = a[p * lda + i]:
// the rows of C in two vectors, read whole from a row of A, times a broadcast of each of
// B's J values, 2 J accumulators (J <= 6: 15 of AVX2's 16 registers). For B a few columns
// wide, where sup_tile holds its columns in vectors and leaves most lanes idle (digits'
// 100 x 10 dW from 200 rows: 10 of 16). Each C(i, j) sums p = 0, 1, ..., kc - 1 in order,
// one fused multiply-add each from zero, as sup_tile does: the same bits.
template <typename Z, int J, bool kWhole, typename T>
NNFAST_SUP_INLINE void sup_cols_tile(index_t kc, const T* a, index_t lda, const T* b,
                                     index_t ldb, T* c, index_t ldc, bool accumulate, int mr) {
  using V = typename Z::V;
  constexpr int W = Z::kLanes;
  const typename Z::Mask m0 = Z::first(mr), m1 = Z::first(mr - W);
  V acc[2][J];
#pragma GCC unroll 8
  for (int j = 0; j < J; ++j) acc[0][j] = Z::zero(), acc[1][j] = Z::zero();
  for (index_t p = 0; p < kc; ++p) {
    const V a0 = kWhole ? Z::load(a) : Z::load(m0, a);
    const V a1 = kWhole ? Z::load(a + W) : Z::load(m1, a + W);
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) {
      const V bj = Z::set1(b[j]);
      acc[0][j] = Z::fma(a0, bj, acc[0][j]);
      acc[1][j] = Z::fma(a1, bj, acc[1][j]);
    }
    a += lda;
    b += ldb;
  }
  // C's rows are J values apart: through a small buffer, one value at a time.
  alignas(64) T out[J][2 * W];
#pragma GCC unroll 8
  for (int j = 0; j < J; ++j) Z::store(out[j], acc[0][j]), Z::store(out[j] + W, acc[1][j]);
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < J; ++j) {
      T* ci = c + i * ldc + j;
      *ci = accumulate ? *ci + out[j][i] : out[j][i];
    }
}

// All n <= kColsMaxN columns, in as few groups of at most 6 as possible, of equal width.
template <typename Z, typename T>
NNFAST_SUP_TARGET void sup_cols(index_t kc, const T* a, index_t lda, const T* b, index_t ldb,
                                T* c, index_t ldc, bool accumulate, int mr, int n) {
  const int groups = (n + 5) / 6, width = (n + groups - 1) / groups;
  const bool whole = mr == 2 * Z::kLanes;
  for (int j0 = 0; j0 < n; j0 += width) {
    const int nj = n - j0 < width ? n - j0 : width;
#define NNFAST_SUP_COLS(NJ)                                                                  \
  case NJ:                                                                                   \
    if (whole) sup_cols_tile<Z, NJ, true>(kc, a, lda, b + j0, ldb, c + j0, ldc, accumulate, mr); \
    else sup_cols_tile<Z, NJ, false>(kc, a, lda, b + j0, ldb, c + j0, ldc, accumulate, mr);      \
    break;
    switch (nj) {
      NNFAST_SUP_COLS(1) NNFAST_SUP_COLS(2) NNFAST_SUP_COLS(3)
      NNFAST_SUP_COLS(4) NNFAST_SUP_COLS(5) NNFAST_SUP_COLS(6)
    }
#undef NNFAST_SUP_COLS
  }
}

// The ISA's SupKernel for T, with vector traits Z and kRows x kVecs tiles; with kCols, the
// column kernel too.
template <typename Z, int kRows, int kVecs, typename T, bool kCols = false>
SupKernel<T> make_sup() {
  if constexpr (kCols) {
    return {sup_kernel<Z, kRows, kVecs, T>, kRows, kVecs * Z::kLanes, sup_cols<Z, T>,
            2 * Z::kLanes};
  } else {
    return {sup_kernel<Z, kRows, kVecs, T>, kRows, kVecs * Z::kLanes};
  }
}

}  // namespace
}  // namespace nnfast::gemm
