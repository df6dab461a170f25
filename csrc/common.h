// Shared types and the threading policy of every kernel.
#pragma once
#include <cstddef>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace nnfast {

// Signed 64-bit sizes everywhere: products like m * n overflow 32 bits on real data.
using index_t = std::int64_t;

inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Threads worth using for `work` flops (or element updates): small problems stay on one
// thread, so that tiny networks never get slower when more threads are allowed.
inline int threads_for(double work, double per_thread = 2.0e6) {
  int t = max_threads();
  double useful = work / per_thread;
  if (useful < 2.0) return 1;
  return useful < t ? static_cast<int>(useful) : t;
}

// Element-wise loops split across threads only above this many elements.
constexpr index_t kParallelElems = index_t(1) << 15;

}  // namespace nnfast
