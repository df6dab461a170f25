// Packing: copy a block of op(A) or op(B) into the order the microkernel reads it,
// padding partial tiles with zeros so the microkernel always computes a full MR x NR tile.
#pragma once
#include "common.h"

namespace nnfast::gemm {

// op(A) rows [0, mc) x cols [0, kc) (pointer already at the block's corner) into
// ceil(mc / MR) panels; panel r holds, for each p < kc, the MR values op(A)(r*MR + i, p).
template <int MR, typename T>
void pack_a_panel(T* dst, const T* A, index_t lda, bool trans, index_t rows, index_t kc) {
  for (index_t p = 0; p < kc; ++p) {
    for (int i = 0; i < MR; ++i) {
      dst[p * MR + i] = i < rows ? (trans ? A[p * lda + i] : A[i * lda + p]) : T(0);
    }
  }
}

// op(B) rows [0, kc) x cols [0, nc) into ceil(nc / NR) panels; panel c holds, for each
// p < kc, the NR values op(B)(p, c*NR + j).
template <int NR, typename T>
void pack_b_panel(T* dst, const T* B, index_t ldb, bool trans, index_t cols, index_t kc) {
  for (index_t p = 0; p < kc; ++p) {
    for (int j = 0; j < NR; ++j) {
      dst[p * NR + j] = j < cols ? (trans ? B[j * ldb + p] : B[p * ldb + j]) : T(0);
    }
  }
}

}  // namespace nnfast::gemm
