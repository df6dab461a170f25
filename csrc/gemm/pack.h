// Packing: copy a block of op(A) or op(B) into the order the microkernel reads it,
// padding partial tiles with zeros so the microkernel always computes a full MR x NR tile.
// MR and NR are compile-time constants so the copies unroll; each ISA's kernel file
// instantiates these under its own target attribute, so they vectorise for that ISA.
#pragma once
#include "common.h"

namespace nnfast::gemm {

// op(A) rows [0, rows) x cols [0, kc), the pointer at the block's corner, into one
// micro-panel: for each p < kc, the MR values op(A)(i, p) at dst[p * MR + i].
template <int MR, typename T>
inline void pack_a(T* __restrict dst, const T* __restrict A, index_t lda, bool trans,
                   index_t rows, index_t kc) {
  if (trans) {  // op(A)(i, p) = A[p * lda + i]: each p is a contiguous run of i
    for (index_t p = 0; p < kc; ++p) {
      const T* src = A + p * lda;
      if (rows == MR) {
        for (int i = 0; i < MR; ++i) dst[p * MR + i] = src[i];
      } else {
        for (int i = 0; i < MR; ++i) dst[p * MR + i] = i < rows ? src[i] : T(0);
      }
    }
    return;
  }
  if (rows == MR) {  // MR rows read in step: MR streams in, one interleaved stream out
    for (index_t p = 0; p < kc; ++p)
      for (int i = 0; i < MR; ++i) dst[p * MR + i] = A[i * lda + p];
    return;
  }
  for (index_t p = 0; p < kc; ++p)
    for (int i = 0; i < MR; ++i) dst[p * MR + i] = i < rows ? A[i * lda + p] : T(0);
}

// op(B) rows [0, kc) x cols [0, cols) into one micro-panel: for each p < kc, the NR values
// op(B)(p, j) at dst[p * NR + j].
template <int NR, typename T>
inline void pack_b(T* __restrict dst, const T* __restrict B, index_t ldb, bool trans,
                   index_t cols, index_t kc) {
  if (!trans) {  // op(B)(p, j) = B[p * ldb + j]: a contiguous run of j per p
    if (cols == NR) {
      for (index_t p = 0; p < kc; ++p)
        for (int j = 0; j < NR; ++j) dst[p * NR + j] = B[p * ldb + j];
    } else {
      for (index_t p = 0; p < kc; ++p)
        for (int j = 0; j < NR; ++j) dst[p * NR + j] = j < cols ? B[p * ldb + j] : T(0);
    }
    return;
  }
  // op(B)(p, j) = B[j * ldb + p]: NR rows of B read in step, interleaved.
  if (cols == NR) {
    for (index_t p = 0; p < kc; ++p)
      for (int j = 0; j < NR; ++j) dst[p * NR + j] = B[j * ldb + p];
    return;
  }
  for (index_t p = 0; p < kc; ++p)
    for (int j = 0; j < NR; ++j) dst[p * NR + j] = j < cols ? B[j * ldb + p] : T(0);
}

}  // namespace nnfast::gemm
