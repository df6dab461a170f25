// The element-wise loops for each ISA, and the choice among them (made with the GEMM's,
// once, at import: see gemm::select_isa).
#include "nn/elementwise.h"

#include "gemm/gemm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

namespace nnfast::nn {

NNFAST_DEFINE_VEC_OPS(generic, )
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
NNFAST_DEFINE_VEC_OPS(avx2, __attribute__((target("avx2,fma"))))
NNFAST_DEFINE_VEC_OPS(avx512, __attribute__((target("avx512f"))))
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
namespace {
// float32 tanh on AVX-512 by hand: vtanh's rational function with the division replaced by
// rcp14 and one Newton step (the divide was the bottleneck: ~10 cycles a vector, half of a
// small tanh network's activation time). Within 8 ulp, as vtanh (test_stability.py).
#define NNFAST_AVX512_F __attribute__((target("avx512f"), always_inline)) inline
NNFAST_AVX512_F __m512 tanh16(__m512 x) {
  using C = TanhF32;
  // No clamp of x: beyond kClamp the result is overwritten with ±1 below (even inf or NaN
  // from the polynomials there).
  const __m512 s = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(C::P[0]), q = _mm512_set1_ps(C::Q[0]);
  for (int k = 1; k < 7; ++k) p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(C::P[k]));
  for (int k = 1; k < 4; ++k) q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(C::Q[k]));
  p = _mm512_mul_ps(p, x);
  __m512 r = _mm512_rcp14_ps(q);  // 1/q to 2^-14, then one Newton step: r (2 - q r)
  r = _mm512_fmadd_ps(r, _mm512_fnmadd_ps(q, r, _mm512_set1_ps(1.0f)), r);
  // Within [-1, 1] (the reciprocal's last ulp could step past it), and exactly ±1 from the
  // clamp on, as vtanh's division gives.
  const __m512 one = _mm512_set1_ps(1.0f), minus_one = _mm512_set1_ps(-1.0f);
  __m512 out = _mm512_max_ps(minus_one, _mm512_min_ps(_mm512_mul_ps(p, r), one));
  out = _mm512_mask_mov_ps(out, _mm512_cmp_ps_mask(x, _mm512_set1_ps(C::kClamp), _CMP_GE_OQ), one);
  out = _mm512_mask_mov_ps(out, _mm512_cmp_ps_mask(x, _mm512_set1_ps(-C::kClamp), _CMP_LE_OQ), minus_one);
  const __m512 ax = _mm512_abs_ps(x);
  // |x| below kTiny, and NaN (unordered), return x itself.
  const __mmask16 keep = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(C::kTiny), _CMP_NGE_UQ);
  return _mm512_mask_blend_ps(keep, out, x);
}

// float64 tanh on AVX-512 by hand: vtanh's u / (u + 2), u = e^(2|x|) - 1, with e^(2|x|) =
// 2^n 2^(j/16) e^r, |r| <= ln2/32. The 16 values of 2^(j/16) (and their rounding errors, so
// that 2^(j/16) - 1 keeps full precision when n = 0) come from two-register permutes indexed
// by the low bits of the rounded argument, so e^r - 1 needs degree 7 (vtanh's needs 13 on
// |r| <= ln2/2), and 2^n is one vscalefpd. The loop is bound by the divider (~17 cycles a
// vector here) and the 512-bit ports: ~30 uops a vector against ~47 for the auto-vectorised
// vtanh; 1.17 -> 0.98 ns an element (C loop over a 64 x 64 block, best of 5). Replacing the
// divide by rcp14 and Newton steps was slower again (1.12-1.76 ns): more uops, longer chain.
// Within 8 ulp, as vtanh (test_stability.py; 4.1 ulp max over 4 M arguments vs tanhl).
alignas(64) constexpr double kExp2Sixteenths[16] = {  // 2^(j/16) rounded to double
    0x1.0000000000000p+0, 0x1.0b5586cf9890fp+0, 0x1.172b83c7d517bp+0, 0x1.2387a6e756238p+0,
    0x1.306fe0a31b715p+0, 0x1.3dea64c123422p+0, 0x1.4bfdad5362a27p+0, 0x1.5ab07dd485429p+0,
    0x1.6a09e667f3bcdp+0, 0x1.7a11473eb0187p+0, 0x1.8ace5422aa0dbp+0, 0x1.9c49182a3f090p+0,
    0x1.ae89f995ad3adp+0, 0x1.c199bdd85529cp+0, 0x1.d5818dcfba487p+0, 0x1.ea4afa2a490dap+0};
alignas(64) constexpr double kExp2SixteenthsLo[16] = {  // 2^(j/16) minus the above
    0x0.0p+0,               0x1.8a62e4adc610bp-54,  -0x1.19041b9d78a76p-55, 0x1.9b07eb6c70573p-54,
    0x1.6f46ad23182e4p-55,  0x1.ada0911f09ebcp-55,  0x1.d4397afec42e2p-56,  0x1.6324c054647adp-54,
    -0x1.bdd3413b26456p-54, -0x1.41577ee04992fp-55, 0x1.6e9f156864b27p-54,  0x1.c7c46b071f2bep-56,
    0x1.7a1cd345dcc81p-54,  0x1.11065895048ddp-55,  0x1.2ed02d75b3707p-55,  -0x1.e9c23179c2893p-54};
NNFAST_AVX512_F __m512d tanh8d(__m512d x) {
  using E = ExpTraits<double>;
  const __m512d round = _mm512_set1_pd(E::kRound), one = _mm512_set1_pd(1.0);
  // min(20, |x|): vminpd returns its second operand when either is NaN, so NaN flows through
  // to the result; tanh is 1 in float64 from 19.1 on.
  const __m512d a = _mm512_min_pd(_mm512_set1_pd(20.0), _mm512_abs_pd(x));
  const __m512d y = _mm512_add_pd(a, a);
  // y = k ln2/16 + r; k >= 0 sits in the low bits of t (as in reduce_ln2), j = k mod 16 in
  // its lowest four, which is all that vpermt2pd reads of an index.
  const __m512d t = _mm512_fmadd_pd(y, _mm512_set1_pd(16 * 1.4426950408889634), round);
  const __m512d k = _mm512_sub_pd(t, round);
  __m512d r = _mm512_fnmadd_pd(k, _mm512_set1_pd(E::kLn2Hi / 16), y);
  r = _mm512_fnmadd_pd(k, _mm512_set1_pd(E::kLn2Lo / 16), r);
  // e^r - 1 = r (1 + r/2! + ... + r^6/7!) by Estrin's scheme, written out: vmath.h's estrin
  // is compiled without AVX-512, where a 512-bit vector argument changes the ABI.
  const double* c = kInvFact + 1;
  const __m512d r2 = _mm512_mul_pd(r, r), r4 = _mm512_mul_pd(r2, r2);
  const __m512d c01 = _mm512_fmadd_pd(r, _mm512_set1_pd(c[1]), _mm512_set1_pd(c[0]));
  const __m512d c23 = _mm512_fmadd_pd(r, _mm512_set1_pd(c[3]), _mm512_set1_pd(c[2]));
  const __m512d c45 = _mm512_fmadd_pd(r, _mm512_set1_pd(c[5]), _mm512_set1_pd(c[4]));
  const __m512d c46 = _mm512_fmadd_pd(r2, _mm512_set1_pd(c[6]), c45);
  const __m512d q = _mm512_mul_pd(r, _mm512_fmadd_pd(r4, c46, _mm512_fmadd_pd(r2, c23, c01)));
  const __m512i j = _mm512_castpd_si512(t);
  const __m512d th = _mm512_permutex2var_pd(_mm512_load_pd(kExp2Sixteenths), j,
                                            _mm512_load_pd(kExp2Sixteenths + 8));
  const __m512d tl = _mm512_permutex2var_pd(_mm512_load_pd(kExp2SixteenthsLo), j,
                                            _mm512_load_pd(kExp2SixteenthsLo + 8));
  // u = 2^n (T q + T_lo) + (2^n T - 1), 2^n by vscalefpd of k/16 (it takes the floor).
  const __m512d n = _mm512_mul_pd(k, _mm512_set1_pd(1.0 / 16));
  const __m512d u = _mm512_add_pd(_mm512_scalef_pd(_mm512_fmadd_pd(th, q, tl), n),
                                  _mm512_sub_pd(_mm512_scalef_pd(th, n), one));
  const __m512d tanh_a = _mm512_div_pd(u, _mm512_add_pd(u, _mm512_set1_pd(2.0)));
  // x's sign bit on tanh|x| (bit select 0xCA: sign ? x : tanh_a).
  const __m512i sign = _mm512_set1_epi64(std::int64_t(0x8000000000000000ull));
  return _mm512_castsi512_pd(_mm512_ternarylogic_epi64(sign, _mm512_castpd_si512(x),
                                                       _mm512_castpd_si512(tanh_a), 0xCA));
}
// What the AVX-512 tanh loops below need of each precision; mask(left): the first
// min(left, kLanes) lanes.
template <typename T> struct Avx512Tanh;
template <> struct Avx512Tanh<float> {
  using V = __m512;
  using M = __mmask16;
  static constexpr index_t kLanes = 16;
  static NNFAST_AVX512_F M mask(index_t left) {
    return left >= 16 ? M(0xFFFF) : M((1u << left) - 1);
  }
  static NNFAST_AVX512_F V load(M m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static NNFAST_AVX512_F void store(float* p, M m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  static NNFAST_AVX512_F V add(V a, V b) { return _mm512_add_ps(a, b); }
  static NNFAST_AVX512_F V tanh(V x) { return tanh16(x); }
};
template <> struct Avx512Tanh<double> {
  using V = __m512d;
  using M = __mmask8;
  static constexpr index_t kLanes = 8;
  static NNFAST_AVX512_F M mask(index_t left) { return left >= 8 ? M(0xFF) : M((1u << left) - 1); }
  static NNFAST_AVX512_F V load(M m, const double* p) { return _mm512_maskz_loadu_pd(m, p); }
  static NNFAST_AVX512_F void store(double* p, M m, V v) { _mm512_mask_storeu_pd(p, m, v); }
  static NNFAST_AVX512_F V add(V a, V b) { return _mm512_add_pd(a, b); }
  static NNFAST_AVX512_F V tanh(V x) { return tanh8d(x); }
};
// The tail of a row goes through the same arithmetic as the rest, masked.
template <typename T>
__attribute__((target("avx512f"))) void avx512_tanh_forward(T* A, const T* Z, index_t n, Act act,
                                                            T slope) {
  using O = Avx512Tanh<T>;
  if (act != Act::Tanh) return avx512_forward<T>(A, Z, n, act, slope);
  for (index_t i = 0; i < n; i += O::kLanes) {
    const auto m = O::mask(n - i);
    O::store(A + i, m, O::tanh(O::load(m, Z + i)));
  }
}
template <typename T>
__attribute__((target("avx512f"))) void avx512_tanh_bias(T* z, index_t ldz, const T* b,
                                                         index_t rows, index_t n, Act act, T slope) {
  using O = Avx512Tanh<T>;
  if (act != Act::Tanh) return avx512_bias<T>(z, ldz, b, rows, n, act, slope);
  for (index_t r = 0; r < rows; ++r, z += ldz) {
    for (index_t i = 0; i < n; i += O::kLanes) {
      const auto m = O::mask(n - i);
      O::store(z + i, m, O::tanh(O::add(O::load(m, z + i), O::load(m, b + i))));
    }
  }
}
#undef NNFAST_AVX512_F

// The same on AVX2: rcp_ps is good to 2^-12, so after its Newton step 1/q is within
// ~2^-23, about an ulp more than rcp14's; still inside vtanh's bound (test_stability.py runs
// under every ISA). The gain is smaller than on AVX-512 (bias + tanh 25 % -> 21 % of a
// forced-AVX2 small-network step): on 8 lanes the divide was less of the cost.
#define NNFAST_AVX2_F __attribute__((target("avx2,fma"), always_inline)) inline
NNFAST_AVX2_F __m256 tanh8(__m256 x) {
  using C = TanhF32;
  const __m256 s = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(C::P[0]), q = _mm256_set1_ps(C::Q[0]);
  for (int k = 1; k < 7; ++k) p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(C::P[k]));
  for (int k = 1; k < 4; ++k) q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(C::Q[k]));
  p = _mm256_mul_ps(p, x);
  const __m256 one = _mm256_set1_ps(1.0f), minus_one = _mm256_set1_ps(-1.0f);
  __m256 r = _mm256_rcp_ps(q);
  r = _mm256_fmadd_ps(r, _mm256_fnmadd_ps(q, r, one), r);
  __m256 out = _mm256_max_ps(minus_one, _mm256_min_ps(_mm256_mul_ps(p, r), one));
  out = _mm256_blendv_ps(out, one, _mm256_cmp_ps(x, _mm256_set1_ps(C::kClamp), _CMP_GE_OQ));
  out = _mm256_blendv_ps(out, minus_one, _mm256_cmp_ps(x, _mm256_set1_ps(-C::kClamp), _CMP_LE_OQ));
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  return _mm256_blendv_ps(out, x, _mm256_cmp_ps(ax, _mm256_set1_ps(C::kTiny), _CMP_NGE_UQ));
}
// float64 tanh on AVX2 by hand: vtanh's u / (u + 2), u = e^(2|x|) - 1 = 2^k (e^r - 1) +
// (2^k - 1), with vtanh's reduction and degree (so its accuracy: 4.4 ulp at most against
// tanhl over 1 M arguments, as vtanh) but a shorter dependency chain: y = 2|x| is formed
// beside the rounding of 2|x|/ln2 rather than before it, the polynomial is Estrin's in fused
// multiply-adds (vtanh is compiled with -ffp-contract=off), r 2^k is formed beside it and u
// is one multiply-add: 2.4 -> 1.5 ns an element over a 64 x 64 block (C loop, best of 7),
// the auto-vectorised loop having been bound by its chain's latency. This one no longer is:
// two vectors interleaved step by step gained 4-6 %, and without the divide it takes
// 1.24-1.33 ns (~43 instructions a vector). AVX2 has no 16-entry permute, so the AVX-512
// version's table of 2^(j/16) would take gathers (2.0 ns measured).
NNFAST_AVX2_F __m256d tanh4d(__m256d x) {
  using E = ExpTraits<double>;
  const __m256d round = _mm256_set1_pd(E::kRound), one = _mm256_set1_pd(1.0);
  const __m256d sign = _mm256_set1_pd(-0.0);
  // min(20, |x|): vminpd returns its second operand when either is NaN, so NaN flows through
  // to the result; tanh is 1 in float64 from 19.1 on.
  const __m256d a = _mm256_min_pd(_mm256_set1_pd(20.0), _mm256_andnot_pd(sign, x));
  const __m256d t = _mm256_fmadd_pd(a, _mm256_set1_pd(2 * 1.4426950408889634), round);
  const __m256d y = _mm256_add_pd(a, a);
  const __m256d k = _mm256_sub_pd(t, round);
  __m256d r = _mm256_fnmadd_pd(k, _mm256_set1_pd(E::kLn2Hi), y);
  r = _mm256_fnmadd_pd(k, _mm256_set1_pd(E::kLn2Lo), r);
  // e^r - 1 = r Σ r^i / (i + 1)!, i = 0..12 (vexpm1's degree), by Estrin's scheme.
  const double* c = kInvFact + 1;
  const __m256d r2 = _mm256_mul_pd(r, r), r4 = _mm256_mul_pd(r2, r2), r8 = _mm256_mul_pd(r4, r4);
  __m256d c2[6];  // c[2i] + c[2i+1] r
  for (int i = 0; i < 6; ++i)
    c2[i] = _mm256_fmadd_pd(r, _mm256_set1_pd(c[2 * i + 1]), _mm256_set1_pd(c[2 * i]));
  const __m256d c03 = _mm256_fmadd_pd(r2, c2[1], c2[0]), c47 = _mm256_fmadd_pd(r2, c2[3], c2[2]);
  const __m256d c8b = _mm256_fmadd_pd(r2, c2[5], c2[4]);
  const __m256d c07 = _mm256_fmadd_pd(r4, c47, c03);
  const __m256d c8c = _mm256_fmadd_pd(r4, _mm256_set1_pd(c[12]), c8b);
  const __m256d p = _mm256_fmadd_pd(r8, c8c, c07);
  // 2^k from the low bits of t (k >= 0, as in reduce_ln2); r 2^k is exact.
  const __m256i kb = _mm256_sub_epi64(_mm256_castpd_si256(t), _mm256_castpd_si256(round));
  const __m256d scale = _mm256_castsi256_pd(
      _mm256_slli_epi64(_mm256_add_epi64(kb, _mm256_set1_epi64x(E::kBias)), E::kMantissa));
  const __m256d u = _mm256_fmadd_pd(_mm256_mul_pd(scale, r), p, _mm256_sub_pd(scale, one));
  const __m256d tanh_a = _mm256_div_pd(u, _mm256_add_pd(u, _mm256_set1_pd(2.0)));
  return _mm256_or_pd(tanh_a, _mm256_and_pd(sign, x));  // x's sign on tanh|x|
}
// What the AVX2 tanh loops below need of each precision. mask(left): lanes [0, min(left,
// kLanes)), so the tail of a row goes through the same arithmetic as the rest.
template <typename T> struct Avx2Tanh;
template <> struct Avx2Tanh<float> {
  using V = __m256;
  static constexpr index_t kLanes = 8;
  static NNFAST_AVX2_F __m256i mask(index_t left) {
    const int n = left < 8 ? int(left) : 8;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static NNFAST_AVX2_F V load(const float* p) { return _mm256_loadu_ps(p); }
  static NNFAST_AVX2_F void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static NNFAST_AVX2_F V load(__m256i m, const float* p) { return _mm256_maskload_ps(p, m); }
  static NNFAST_AVX2_F void store(float* p, __m256i m, V v) { _mm256_maskstore_ps(p, m, v); }
  static NNFAST_AVX2_F V add(V a, V b) { return _mm256_add_ps(a, b); }
  static NNFAST_AVX2_F V tanh(V x) { return tanh8(x); }
};
template <> struct Avx2Tanh<double> {
  using V = __m256d;
  static constexpr index_t kLanes = 4;
  static NNFAST_AVX2_F __m256i mask(index_t left) {
    const long long n = left < 4 ? left : 4;
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static NNFAST_AVX2_F V load(const double* p) { return _mm256_loadu_pd(p); }
  static NNFAST_AVX2_F void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static NNFAST_AVX2_F V load(__m256i m, const double* p) { return _mm256_maskload_pd(p, m); }
  static NNFAST_AVX2_F void store(double* p, __m256i m, V v) { _mm256_maskstore_pd(p, m, v); }
  static NNFAST_AVX2_F V add(V a, V b) { return _mm256_add_pd(a, b); }
  static NNFAST_AVX2_F V tanh(V x) { return tanh4d(x); }
};
template <typename T>
__attribute__((target("avx2,fma"))) void avx2_tanh_forward(T* A, const T* Z, index_t n, Act act,
                                                           T slope) {
  using O = Avx2Tanh<T>;
  if (act != Act::Tanh) return avx2_forward<T>(A, Z, n, act, slope);
  index_t i = 0;
  for (; i + O::kLanes <= n; i += O::kLanes) O::store(A + i, O::tanh(O::load(Z + i)));
  if (i < n) {
    const __m256i m = O::mask(n - i);
    O::store(A + i, m, O::tanh(O::load(m, Z + i)));
  }
}
// The tanh's constants outnumber the registers, and GCC re-broadcasts and spills them in the
// preheader of the innermost loop, so that loop runs the long way: down the rows for a run
// of the unpacked product's tiles (24 rows of 8 float64 values: row by row, the spills came
// every 2 vectors and made the float64 tanh 1.8x slower than over the same values in one
// flat run), along the row for the packed product's (6 rows of up to 64 values).
template <typename T>
__attribute__((target("avx2,fma"))) void avx2_tanh_bias(T* z, index_t ldz, const T* b,
                                                        index_t rows, index_t n, Act act, T slope) {
  using O = Avx2Tanh<T>;
  if (act != Act::Tanh) return avx2_bias<T>(z, ldz, b, rows, n, act, slope);
  const index_t full = n - n % O::kLanes;  // columns in whole vectors
  if (rows >= full / O::kLanes) {
    for (index_t i = 0; i < full; i += O::kLanes) {
      const typename O::V bi = O::load(b + i);
      for (index_t r = 0; r < rows; ++r)
        O::store(z + r * ldz + i, O::tanh(O::add(O::load(z + r * ldz + i), bi)));
    }
  } else {
    for (index_t r = 0; r < rows; ++r)
      for (index_t i = 0; i < full; i += O::kLanes)
        O::store(z + r * ldz + i, O::tanh(O::add(O::load(z + r * ldz + i), O::load(b + i))));
  }
  if (full < n) {
    const __m256i m = O::mask(n - full);
    const typename O::V bi = O::load(m, b + full);
    for (index_t r = 0; r < rows; ++r)
      O::store(z + r * ldz + full, m, O::tanh(O::add(O::load(m, z + r * ldz + full), bi)));
  }
}
#undef NNFAST_AVX2_F
}  // namespace
#endif

namespace {
VecOps<float> g_f32 = generic_f32();
VecOps<double> g_f64 = generic_f64();
}  // namespace

void select_vec_ops(gemm::Isa isa) {
  g_f32 = generic_f32();
  g_f64 = generic_f64();
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (isa == gemm::Isa::Avx2) {
    g_f32 = avx2_f32();
    g_f32.forward = avx2_tanh_forward<float>;
    g_f32.bias_forward = avx2_tanh_bias<float>;
    g_f64 = avx2_f64();
    g_f64.forward = avx2_tanh_forward<double>;
    g_f64.bias_forward = avx2_tanh_bias<double>;
  } else if (isa == gemm::Isa::Avx512) {
    g_f32 = avx512_f32();
    g_f32.forward = avx512_tanh_forward<float>;
    g_f32.bias_forward = avx512_tanh_bias<float>;
    g_f64 = avx512_f64();
    g_f64.forward = avx512_tanh_forward<double>;
    g_f64.bias_forward = avx512_tanh_bias<double>;
  }
#endif
}

template <> const VecOps<float>& vec_ops<float>() { return g_f32; }
template <> const VecOps<double>& vec_ops<double>() { return g_f64; }

}  // namespace nnfast::nn
