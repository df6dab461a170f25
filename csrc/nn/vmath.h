// exp, expm1, log, tanh and the logistic sigmoid written without branches or library calls,
// so that loops over them vectorise (libm's scalar exp/tanh cost ~90 instructions an element
// and were most of a small tanh network's step). Accuracy: exp within ~2 ulp over its range
// (float64: degree-13 Taylor on |r| <= ln2/2; float32: degree 7), tanh within a few ulp
// (float32: 7), log within ~1 ulp; tests/test_stability.py sweeps them against long double.
// NaN propagates, large arguments saturate or overflow exactly as libm's do.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

// Always inlined: a call inside a loop would stop it vectorising.
#if defined(__GNUC__) || defined(__clang__)
#define NNFAST_VMATH __attribute__((always_inline)) inline
#else
#define NNFAST_VMATH inline
#endif

namespace nnfast::nn {

template <typename T> struct ExpTraits;
template <> struct ExpTraits<double> {
  using Bits = std::int64_t;
  static constexpr int kMantissa = 52, kBias = 1023, kDegree = 13;
  static constexpr double kLo = -750.0, kHi = 710.0, kRound = 0x1.8p52;
  static constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
};
template <> struct ExpTraits<float> {
  using Bits = std::int32_t;
  static constexpr int kMantissa = 23, kBias = 127, kDegree = 7;
  static constexpr float kLo = -110.0f, kHi = 90.0f, kRound = 0x1.8p23f;
  static constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
};

// 1/k!, the Taylor coefficients of e^x.
constexpr double kInvFact[14] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720,
                                 1.0 / 5040, 1.0 / 40320, 1.0 / 362880, 1.0 / 3628800,
                                 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0};

// Σ c[k] r^k for k = 0..D by Estrin's scheme: p = lo(r) + r^h hi(r) with h the largest power
// of 2 <= D, recursively, so the terms pair up through r², r⁴, r⁸. Horner's form is a chain
// of D dependent multiply-adds (degree 13: ~52 cycles of latency an element), which kept the
// float64 tanh loop waiting on latency, not on its ports; here the chain is ~log2(D) deep.
template <int D, typename T>
NNFAST_VMATH T estrin(T r, const double* c) {
  static_assert(D >= 0 && D < 16, "h below covers degrees up to 15");
  if constexpr (D == 0) {
    return T(c[0]);
  } else if constexpr (D == 1) {
    return T(c[0]) + T(c[1]) * r;
  } else {
    constexpr int h = D >= 8 ? 8 : (D >= 4 ? 4 : 2);
    T rh = r * r;  // no loop: one left in would stop the caller's loop vectorising
    if constexpr (h >= 4) rh = rh * rh;
    if constexpr (h >= 8) rh = rh * rh;
    return estrin<h - 1>(r, c) + rh * estrin<D - h>(r, c + h);
  }
}

// 2^k for an integer-valued k in the exponent range, built from its bits.
template <typename T>
NNFAST_VMATH T pow2i(typename ExpTraits<T>::Bits k) {
  using E = ExpTraits<T>;
  const typename E::Bits bits = (k + E::kBias) << E::kMantissa;
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

// x = n ln2 + r with |r| <= ln2 / 2 and the integer n (returned in ni): n = round(x / ln2)
// by the add-a-magic-constant trick, so the integer also sits in the low bits of t and no
// float-to-integer conversion is needed (SSE2 has none for 64 bits); ln2 in two parts.
template <typename T>
NNFAST_VMATH T reduce_ln2(T x, typename ExpTraits<T>::Bits& ni) {
  using E = ExpTraits<T>;
  const T t = x * T(1.4426950408889634) + E::kRound;
  const T n = t - E::kRound;
  typename E::Bits tb, rb;
  const T round_const = E::kRound;
  std::memcpy(&tb, &t, sizeof(T));
  std::memcpy(&rb, &round_const, sizeof(T));
  ni = tb - rb;
  return (x - n * E::kLn2Hi) - n * E::kLn2Lo;
}

template <typename T>
NNFAST_VMATH T vexp(T x) {
  using E = ExpTraits<T>;
  using Bits = typename E::Bits;
  // Clamp (NaN to 0 so the integer conversion below stays defined; restored at the end).
  T xc = x == x ? x : T(0);
  xc = xc < E::kLo ? E::kLo : (xc > E::kHi ? E::kHi : xc);
  Bits ni;
  const T r = reduce_ln2(xc, ni);
  // e^r by its Taylor series, coefficients 1/k!.
  const T p = estrin<E::kDegree>(r, kInvFact);
  // 2^n as two halves so that neither overflows nor goes subnormal: the product then
  // underflows to 0 or overflows to inf exactly where exp does. floor(n / 2) by a logical
  // shift of a positive number (SSE2 has no 64-bit arithmetic shift).
  using UBits = std::make_unsigned_t<Bits>;
  const Bits n1 = Bits(UBits(ni + 4096) >> 1) - 2048;
  const T out = p * pow2i<T>(n1) * pow2i<T>(ni - n1);
  return x == x ? out : x;
}

// σ(z) = 1 / (1 + e^-z), through e^(-|z|) so that nothing overflows.
template <typename T>
NNFAST_VMATH T vsigmoid(T z) {
  const T e = vexp(z < T(0) ? z : -z);
  return z >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}

// log x for a positive, finite, normal x (NaN propagates): x = m 2^k with m in
// [0.707, 1.414] taken from the bits, log m = 2 atanh(s), s = (m - 1) / (m + 1),
// |s| <= 0.172, summed as its series 2s Σ s^2n / (2n + 1) to below an ulp (float64:
// n <= 11; float32: n <= 5), and k ln2 added in two parts (Cody-Waite, as in vexp).
template <typename T>
NNFAST_VMATH T vlog_pos(T x) {
  using E = ExpTraits<T>;
  using Bits = typename E::Bits;
  Bits bits;
  std::memcpy(&bits, &x, sizeof(T));
  const Bits kOne = Bits(E::kBias) << E::kMantissa;
  const Bits mbits = (bits & ((Bits(1) << E::kMantissa) - 1)) | kOne;  // m in [1, 2)
  T m;
  std::memcpy(&m, &mbits, sizeof(T));
  // The exponent as a float without an integer conversion (SSE2 has none for 64 bits):
  // added to the bits of kRound, as reduce_ln2 takes it out.
  const T round_const = E::kRound;
  Bits rb;
  std::memcpy(&rb, &round_const, sizeof(T));
  const Bits kb = rb + ((bits >> E::kMantissa) - E::kBias);
  T k;
  std::memcpy(&k, &kb, sizeof(T));
  k -= E::kRound;
  const bool up = m > T(1.4142135623730951);
  m = up ? m * T(0.5) : m;
  k = up ? k + T(1) : k;
  const T s = (m - T(1)) / (m + T(1));
  const T z = s * s;
  constexpr int kTerms = std::is_same_v<T, double> ? 11 : 5;
  T p = T(1) / T(2 * kTerms + 1);
  for (int n = kTerms - 1; n >= 0; --n) p = p * z + T(1) / T(2 * n + 1);
  const T out = k * E::kLn2Hi + (T(2) * s * p + k * E::kLn2Lo);
  return x == x ? out : x;
}

// log(1 + e) for 0 <= e <= 1 (the softplus tail log(1 + e^-|z|) of the binary
// cross-entropy): log u of u = 1 + e, with the rounding of u corrected ((u - 1) - e,
// divided by u), so that small e keep full precision.
template <typename T>
NNFAST_VMATH T vlog1p_unit(T e) {
  const T u = T(1) + e;
  return vlog_pos(u) - ((u - T(1)) - e) / u;
}

// e^x - 1 for |x| <= 40 without cancellation near 0: x = n ln2 + r, |r| <= ln2 / 2,
// e^x - 1 = 2^n (e^r - 1) + (2^n - 1), where 2^n - 1 is exact and e^r - 1 = r (1 + r/2 +
// r²/6 + ...) by the Taylor series (degree 13, as vexp).
NNFAST_VMATH double vexpm1(double x) {
  std::int64_t ni;
  const double r = reduce_ln2(x, ni);
  const double scale = pow2i<double>(ni);
  const double p = estrin<12>(r, kInvFact + 1);
  return scale * (r * p) + (scale - 1.0);
}

// tanh, per precision below.
template <typename T>
NNFAST_VMATH T vtanh(T x);

// float64: tanh(x) = sign(x) u / (u + 2), u = e^(2|x|) - 1, with |x| clamped at 20 (tanh = 1
// in float64 from 19.1 on). u comes from vexpm1, accurate near 0 too, so one formula serves
// the whole range with a single division (the Cephes-style split needed two).
template <>
NNFAST_VMATH double vtanh(double x) {
  const double a = x < 0 ? -x : x;
  const double u = vexpm1(2.0 * (a < 20.0 ? a : 20.0));
  const double th = u / (u + 2.0);
  const double out = x < 0 ? -th : th;
  return x == x ? out : x;
}

// float32: one odd rational function on the clamped range, tanh(x) ≈ x P(x²) / Q(x²)
// (Eigen's coefficients), no exp at all: a third of the work of the exp-based form, which
// made tanh most of a small network's step. Within 7 ulp (4.1e-7 relative) of the correctly
// rounded tanh over every float (checked exhaustively against float64 tanh); at the clamp
// |x| = 7.9053... it returns exactly ±1, like tanhf beyond it; below 4e-4 it returns x.
struct TanhF32 {  // the coefficients, highest degree first (shared with elementwise.cpp)
  static constexpr float kClamp = 7.90531110763549805f, kTiny = 4e-4f;
  static constexpr float P[7] = {-2.76076847742355e-16f, 2.00018790482477e-13f,
                                 -8.60467152213735e-11f, 5.12229709037114e-08f,
                                 1.48572235717979e-05f,  6.37261928875436e-04f,
                                 4.89352455891786e-03f};
  static constexpr float Q[4] = {1.19825839466702e-06f, 1.18534705686654e-04f,
                                 2.26843463243900e-03f, 4.89352518554385e-03f};
};

template <>
NNFAST_VMATH float vtanh(float x) {
  using C = TanhF32;
  const float xc = x < -C::kClamp ? -C::kClamp : (x > C::kClamp ? C::kClamp : x);
  const float s = xc * xc;
  float p = C::P[0], q = C::Q[0];
  for (int k = 1; k < 7; ++k) p = p * s + C::P[k];
  for (int k = 1; k < 4; ++k) q = q * s + C::Q[k];
  const float out = (x < 0 ? -x : x) < C::kTiny ? x : xc * p / q;
  return x == x ? out : x;
}

}  // namespace nnfast::nn
