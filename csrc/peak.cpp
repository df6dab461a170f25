// The CPU's fused multiply-add peak, measured: independent FMA chains on the widest vectors
// the active GEMM ISA uses, so benchmarks can state GFLOP/s as a fraction of this machine's
// limit. One thread; run it once per thread count you care about.
#include "peak.h"

#include <chrono>

#include "gemm/gemm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define NNFAST_X86 1
#endif

namespace nnfast {

namespace {

// Twelve accumulators: more than latency (4) x ports (2) needs, fewer than 16 registers.
#define NNFAST_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

#ifdef NNFAST_X86

__attribute__((target("avx512f"), noinline)) double run_avx512(long iters, bool f32) {
  if (f32) {
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
#define D(i) __m512 a##i = _mm512_set1_ps(float(i));
#define F(i) a##i = _mm512_fmadd_ps(a##i, x, y);
#define S(i) s = _mm512_add_ps(s, a##i);
    NNFAST_CHAINS(D)
    for (long it = 0; it < iters; ++it) { NNFAST_CHAINS(F) }
    __m512 s = _mm512_setzero_ps();
    NNFAST_CHAINS(S)
#undef D
#undef F
#undef S
    return double(_mm512_reduce_add_ps(s));
  }
  const __m512d x = _mm512_set1_pd(0.999999), y = _mm512_set1_pd(1e-7);
#define D(i) __m512d a##i = _mm512_set1_pd(double(i));
#define F(i) a##i = _mm512_fmadd_pd(a##i, x, y);
#define S(i) s = _mm512_add_pd(s, a##i);
  NNFAST_CHAINS(D)
  for (long it = 0; it < iters; ++it) { NNFAST_CHAINS(F) }
  __m512d s = _mm512_setzero_pd();
  NNFAST_CHAINS(S)
#undef D
#undef F
#undef S
  return _mm512_reduce_add_pd(s);
}

__attribute__((target("avx2,fma"), noinline)) double run_avx2(long iters, bool f32) {
  if (f32) {
    const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
#define D(i) __m256 a##i = _mm256_set1_ps(float(i));
#define F(i) a##i = _mm256_fmadd_ps(a##i, x, y);
#define S(i) s = _mm256_add_ps(s, a##i);
    NNFAST_CHAINS(D)
    for (long it = 0; it < iters; ++it) { NNFAST_CHAINS(F) }
    __m256 s = _mm256_setzero_ps();
    NNFAST_CHAINS(S)
#undef D
#undef F
#undef S
    alignas(32) float o[8];
    _mm256_store_ps(o, s);
    return double(o[0]);
  }
  const __m256d x = _mm256_set1_pd(0.999999), y = _mm256_set1_pd(1e-7);
#define D(i) __m256d a##i = _mm256_set1_pd(double(i));
#define F(i) a##i = _mm256_fmadd_pd(a##i, x, y);
#define S(i) s = _mm256_add_pd(s, a##i);
  NNFAST_CHAINS(D)
  for (long it = 0; it < iters; ++it) { NNFAST_CHAINS(F) }
  __m256d s = _mm256_setzero_pd();
  NNFAST_CHAINS(S)
#undef D
#undef F
#undef S
  alignas(32) double o[4];
  _mm256_store_pd(o, s);
  return o[0];
}
#endif

// Portable: twelve scalar chains, which the compiler may vectorise for the build's ISA.
template <typename T>
__attribute__((noinline)) double run_generic(long iters) {
  T a[12];
  for (int i = 0; i < 12; ++i) a[i] = T(i);
  const T x = T(0.999999), y = T(1e-7);
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = a[i] * x + y;
  T s = 0;
  for (int i = 0; i < 12; ++i) s += a[i];
  return double(s);
}

}  // namespace

double fma_peak_gflops(bool f32, double seconds) {
  const gemm::Isa isa = gemm::active_isa();
  int lanes = 1;
  auto run = [&](long iters) -> double {
#ifdef NNFAST_X86
    if (isa == gemm::Isa::Avx512) return run_avx512(iters, f32);
    if (isa == gemm::Isa::Avx2) return run_avx2(iters, f32);
#endif
    return f32 ? run_generic<float>(iters) : run_generic<double>(iters);
  };
#ifdef NNFAST_X86
  if (isa == gemm::Isa::Avx512) lanes = f32 ? 16 : 8;
  if (isa == gemm::Isa::Avx2) lanes = f32 ? 8 : 4;
#endif
  // Grow the iteration count until one run takes at least `seconds`; keep the best rate.
  double best = 0, sink = 0;
  for (long iters = 1 << 16;; iters *= 2) {
    const auto t0 = std::chrono::steady_clock::now();
    sink += run(iters);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double rate = 2.0 * 12 * lanes * double(iters) / s / 1e9;
    if (rate > best) best = rate;
    if (s >= seconds) break;
  }
  return sink == 12345.678 ? -best : best;  // keeps `sink` alive; never true in practice
}

}  // namespace nnfast
