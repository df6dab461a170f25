// NumPy's legacy RandomState stream (MT19937) and its shuffle, bit for bit, so that a fit
// run in C++ shuffles exactly as scikit-learn's MLP does with the same random_state
// (sklearn.utils.shuffle -> RandomState.shuffle -> random_interval). The state is read
// from and written back to the Python RandomState, which stays the one source of truth.
#pragma once
#include <cstdint>

#include "common.h"

namespace nnfast::nn {

struct LegacyRng {
  static constexpr int kN = 624;
  std::uint32_t key[kN];
  int pos = kN;

  void twist() {
    constexpr int kM = 397;
    constexpr std::uint32_t kMatrixA = 0x9908b0dfU, kUpper = 0x80000000U, kLower = 0x7fffffffU;
    int i = 0;
    std::uint32_t y;
    for (; i < kN - kM; ++i) {
      y = (key[i] & kUpper) | (key[i + 1] & kLower);
      key[i] = key[i + kM] ^ (y >> 1) ^ (-(y & 1U) & kMatrixA);
    }
    for (; i < kN - 1; ++i) {
      y = (key[i] & kUpper) | (key[i + 1] & kLower);
      key[i] = key[i + (kM - kN)] ^ (y >> 1) ^ (-(y & 1U) & kMatrixA);
    }
    y = (key[kN - 1] & kUpper) | (key[0] & kLower);
    key[kN - 1] = key[kM - 1] ^ (y >> 1) ^ (-(y & 1U) & kMatrixA);
    pos = 0;
  }

  std::uint32_t next32() {
    if (pos == kN) twist();
    std::uint32_t y = key[pos++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    return y;
  }

  std::uint64_t next64() {
    const std::uint64_t hi = next32();
    return (hi << 32) | next32();
  }

  // Uniform in [0, max] by masked rejection, NumPy's random_interval.
  std::uint64_t interval(std::uint64_t max) {
    if (max == 0) return 0;
    std::uint64_t mask = max;
    for (int s = 1; s <= 32; s *= 2) mask |= mask >> s;
    std::uint64_t v;
    if (max <= 0xffffffffULL) {
      while ((v = (next32() & mask)) > max) {
      }
    } else {
      while ((v = (next64() & mask)) > max) {
      }
    }
    return v;
  }

  // RandomState.shuffle of a 1-D array: Fisher-Yates from the end.
  void shuffle(std::int64_t* x, index_t n) {
    for (index_t i = n - 1; i >= 1; --i) {
      const index_t j = static_cast<index_t>(interval(static_cast<std::uint64_t>(i)));
      const std::int64_t t = x[j];
      x[j] = x[i];
      x[i] = t;
    }
  }
};

}  // namespace nnfast::nn
