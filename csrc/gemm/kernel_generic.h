// Portable microkernel: C[0:mr, 0:nr] (= or +=) the product of one packed A panel
// (kc x MR) and one packed B panel (kc x NR). Plain loops over a fixed-size tile, which
// the compiler unrolls and vectorises for whatever ISA the build targets.
#pragma once
#include "common.h"

namespace nnfast::gemm {

template <typename T, int MR, int NR>
inline void microkernel_generic(T* __restrict C, index_t ldc, const T* __restrict a,
                                const T* __restrict b, index_t kc, int mr, int nr, T beta) {
  T acc[MR][NR] = {};
  for (index_t p = 0; p < kc; ++p) {
    for (int i = 0; i < MR; ++i) {
      const T ai = a[p * MR + i];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[p * NR + j];
    }
  }
  for (int i = 0; i < mr; ++i) {
    T* c = C + i * ldc;
    if (beta == T(0)) {
      for (int j = 0; j < nr; ++j) c[j] = acc[i][j];
    } else {
      for (int j = 0; j < nr; ++j) c[j] = beta * c[j] + acc[i][j];
    }
  }
}

}  // namespace nnfast::gemm
