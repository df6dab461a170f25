// Block sizes of the matrix product, in one place per ISA (BLIS names). MR x NR is the
// register tile of the microkernel (row-major C: NR runs along a row, in vectors, and MR
// rows of A are broadcast). An MR x KC micro-panel of op(A) stays in L1 while the KC x NR
// micro-panels of the packed KC x NC block of op(B) stream past it from L2; the MC x KC
// block of op(A) comes from L3.
#pragma once
#include "common.h"

namespace nnfast::gemm {

enum class Isa : int { Generic = 0, Avx2 = 1, Avx512 = 2 };

// Portable C++, left to the auto-vectoriser (SSE2 baseline on x86-64, NEON on aarch64):
// 8 vector registers of accumulators at 16 bytes each.
template <typename T> struct GenericConfig;
template <> struct GenericConfig<double> {
  static constexpr int MR = 4, NR = 4;
  static constexpr index_t MC = 128, KC = 256, NC = 2048;
};
template <> struct GenericConfig<float> {
  static constexpr int MR = 4, NR = 8;
  static constexpr index_t MC = 128, KC = 256, NC = 2048;
};

// AVX2 + FMA, 16 ymm registers: 6 rows x 2 vectors = 12 accumulators, 2 for B, 1 broadcast.
template <typename T> struct Avx2Config;
template <> struct Avx2Config<float> {
  static constexpr int MR = 6, NR = 16;
  static constexpr index_t MC = 144, KC = 256, NC = 2048;
};
template <> struct Avx2Config<double> {
  static constexpr int MR = 6, NR = 8;
  static constexpr index_t MC = 96, KC = 256, NC = 2048;
};

// AVX-512, 32 zmm registers: 8 rows x 2 vectors = 16 accumulators; MR = 8 divides the
// batch sizes and layer widths networks use (128, 256, 512, ...), so edge tiles are rare.
// The A micro-panel is 8 KiB (float) / 16 KiB (double) of a 32-48 KiB L1; the B block
// 1 MiB of a 1-2 MiB L2.
template <typename T> struct Avx512Config;
template <> struct Avx512Config<float> {
  static constexpr int MR = 8, NR = 32;
  static constexpr index_t MC = 256, KC = 256, NC = 1024;
};
// For products at most 16 columns wide (a 10-class output layer): a 32-wide tile would
// leave two thirds of its lanes idle. One vector of 16 columns, 16 rows of A broadcast.
template <typename T> struct Avx512NarrowConfig;
template <> struct Avx512NarrowConfig<float> {
  static constexpr int MR = 16, NR = 16;
  static constexpr index_t MC = 256, KC = 256, NC = 1024;
};
template <> struct Avx512Config<double> {
  static constexpr int MR = 8, NR = 16;
  static constexpr index_t MC = 256, KC = 256, NC = 512;
};

}  // namespace nnfast::gemm
