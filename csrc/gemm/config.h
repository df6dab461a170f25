// Block sizes of the matrix product, in one place per ISA (BLIS names):
// MR x NR is the register tile of the microkernel; a KC x NC panel of op(B) and an
// MC x KC block of op(A) are packed so that the microkernel streams contiguous memory.
#pragma once
#include "common.h"

namespace nnfast::gemm {

// Portable C++ path, left to the compiler's auto-vectoriser (SSE2 baseline on x86-64,
// NEON on aarch64). The tile holds 8 vector registers of accumulators at 16 bytes each.
template <typename T> struct GenericConfig;
template <> struct GenericConfig<double> {
  static constexpr int MR = 4, NR = 4;
  static constexpr index_t MC = 128, KC = 256, NC = 2048;
};
template <> struct GenericConfig<float> {
  static constexpr int MR = 4, NR = 8;
  static constexpr index_t MC = 128, KC = 256, NC = 2048;
};

}  // namespace nnfast::gemm
