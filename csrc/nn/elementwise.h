// The bodies of the element-wise loops (see VecOps in activations.h). Each ISA's file
// wraps them in functions compiled for that ISA; everything here is force-inlined into
// those wrappers so the loops vectorise at the wrapper's width (a lambda or an ordinary
// call would be compiled for the baseline ISA instead).
#pragma once
#include "nn/activations.h"

namespace nnfast::nn::detail {

template <typename Op, typename T>
NNFAST_VMATH void map(Op g, T* __restrict A, const T* Z, index_t n) {
  for (index_t i = 0; i < n; ++i) A[i] = g(Z[i]);
}
// dZ may alias dA (backprop works in place): in blocks read before they are written, so
// the loop vectorises without the runtime overlap check that the in-place call would fail.
template <typename Op, typename T>
NNFAST_VMATH void grad(Op g, T* dZ, const T* dA, const T* A, index_t n) {
  constexpr index_t kBlock = 16;
  index_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    T d[kBlock], a[kBlock];
    for (index_t k = 0; k < kBlock; ++k) d[k] = dA[i + k], a[k] = A[i + k];
    for (index_t k = 0; k < kBlock; ++k) dZ[i + k] = d[k] * g.grad(a[k]);
  }
  for (; i < n; ++i) dZ[i] = dA[i] * g.grad(A[i]);
}
template <typename Op, typename T>
NNFAST_VMATH void bias_map(Op g, T* __restrict z, index_t ldz, const T* __restrict b,
                           index_t rows, index_t n) {
  for (index_t i = 0; i < rows; ++i, z += ldz)
    for (index_t j = 0; j < n; ++j) z[j] = g(z[j] + b[j]);
}

// The sigmoid + binary cross-entropy head on n logits z with targets y: a = σ(z), and
// returns Σ max(z, 0) - y z + log(1 + e^-|z|), one exp per element, in kLanes partial sums
// added in a fixed order (so the same bits at any thread count). a may alias z: each block
// is read into registers before any of it is written, so the loops vectorise regardless.
template <typename T>
NNFAST_VMATH double logistic_head(T* a, const T* z, const T* y, index_t n) {
  constexpr index_t kLanes = 16;
  T part[kLanes] = {};
  for (index_t i0 = 0; i0 < n; i0 += kLanes) {
    const index_t w = n - i0;
    T zb[kLanes] = {}, yb[kLanes] = {};
    if (w >= kLanes) {
      for (index_t l = 0; l < kLanes; ++l) zb[l] = z[i0 + l], yb[l] = y[i0 + l];
    } else {
      for (index_t l = 0; l < w; ++l) zb[l] = z[i0 + l], yb[l] = y[i0 + l];
    }
    T term[kLanes];
    for (index_t l = 0; l < kLanes; ++l) {
      const T zj = zb[l];
      const T e = vexp(zj < T(0) ? zj : -zj);
      const T r = T(1) / (T(1) + e);
      term[l] = (zj > T(0) ? zj : T(0)) - yb[l] * zj + vlog1p_unit(e);
      zb[l] = zj >= T(0) ? r : e * r;
    }
    if (w >= kLanes) {
      for (index_t l = 0; l < kLanes; ++l) a[i0 + l] = zb[l], part[l] += term[l];
    } else {
      for (index_t l = 0; l < w; ++l) a[i0 + l] = zb[l], part[l] += term[l];
    }
  }
  double total = 0;
  for (index_t l = 0; l < kLanes; ++l) total += double(part[l]);
  return total;
}

// The softmax + categorical cross-entropy head on `rows` rows of k logits z with targets
// y: a = softmax(z) per row, and returns Σ_rows Σ_j y_j (log s - t_j), t = z - max(z),
// s = Σ_j e^t_j (= Σ_j y_j (logsumexp(z) - z_j)). In blocks of rows: one pass per row for
// the max, t and Σ y, Σ y t (a may alias z: it holds t next), then the exps over the whole
// block as one flat vector, the row sums, their logs as one vector, and the division.
template <typename T>
NNFAST_VMATH double softmax_head(T* a, const T* z, const T* y, index_t rows, index_t k) {
  constexpr index_t kRows = 64;
  double total = 0;
  for (index_t r0 = 0; r0 < rows; r0 += kRows) {
    const index_t nr = rows - r0 < kRows ? rows - r0 : kRows;
    T* ab = a + r0 * k;
    T ysum[kRows], yt[kRows], sum[kRows], logsum[kRows];
    for (index_t i = 0; i < nr; ++i) {
      const T* zi = z + (r0 + i) * k;
      const T* yi = y + (r0 + i) * k;
      T mx = zi[0];
      for (index_t j = 1; j < k; ++j) mx = zi[j] > mx ? zi[j] : mx;
      T ys = 0, t = 0;
      for (index_t j = 0; j < k; ++j) {
        const T tj = zi[j] - mx;
        ys += yi[j];
        t += yi[j] * tj;
        ab[i * k + j] = tj;
      }
      ysum[i] = ys;
      yt[i] = t;
    }
    for (index_t n = 0; n < nr * k; ++n) ab[n] = vexp(ab[n]);
    for (index_t i = 0; i < nr; ++i) {
      T si = 0;
      for (index_t j = 0; j < k; ++j) si += ab[i * k + j];
      sum[i] = si;
    }
    for (index_t i = 0; i < nr; ++i) logsum[i] = vlog_pos(sum[i]);
    // Times the reciprocal, not divided: a divide an element kept digits' float64 step on the
    // divider (~17 cycles a vector). Clamped at 1, which a * (1/s) could pass by an ulp.
    for (index_t i = 0; i < nr; ++i) {
      const T inv = T(1) / sum[i];
      for (index_t j = 0; j < k; ++j) {
        const T p = ab[i * k + j] * inv;
        ab[i * k + j] = p < T(1) ? p : T(1);
      }
      total += double(ysum[i] * logsum[i] - yt[i]);
    }
  }
  return total;
}

// db (w) = Σ_i dZ[i * ld + j] for j < w <= kColumnSumWidth, rows added in order (the same
// bits on every ISA and thread count), in a local block the compiler keeps in registers.
template <typename T>
NNFAST_VMATH void column_sums(T* db, const T* dZ, index_t m, index_t ld, index_t w) {
  T acc[kColumnSumWidth] = {};
  if (w == kColumnSumWidth) {
    for (index_t i = 0; i < m; ++i)
      for (index_t j = 0; j < kColumnSumWidth; ++j) acc[j] += dZ[i * ld + j];
  } else {
    for (index_t i = 0; i < m; ++i)
      for (index_t j = 0; j < w; ++j) acc[j] += dZ[i * ld + j];
  }
  for (index_t j = 0; j < w; ++j) db[j] = acc[j];
}

template <typename T>
NNFAST_VMATH void forward(T* A, const T* Z, index_t n, Act act, T slope) {
  switch (act) {
    case Act::Identity: map(IdentityOp<T>{slope}, A, Z, n); break;
    case Act::Logistic: map(LogisticOp<T>{slope}, A, Z, n); break;
    case Act::Tanh: map(TanhOp<T>{slope}, A, Z, n); break;
    case Act::Relu: map(ReluOp<T>{slope}, A, Z, n); break;
    case Act::LeakyRelu: map(LeakyReluOp<T>{slope}, A, Z, n); break;
  }
}
template <typename T>
NNFAST_VMATH void backward(T* dZ, const T* dA, const T* A, index_t n, Act act, T slope) {
  switch (act) {
    case Act::Identity: grad(IdentityOp<T>{slope}, dZ, dA, A, n); break;
    case Act::Logistic: grad(LogisticOp<T>{slope}, dZ, dA, A, n); break;
    case Act::Tanh: grad(TanhOp<T>{slope}, dZ, dA, A, n); break;
    case Act::Relu: grad(ReluOp<T>{slope}, dZ, dA, A, n); break;
    case Act::LeakyRelu: grad(LeakyReluOp<T>{slope}, dZ, dA, A, n); break;
  }
}
// dZ (rows x n, row stride ldz) ∘= g'(A) (row stride lda), in place: the backward
// epilogue of dA = dZ_next · Wᵀ on a finished tile.
template <typename T>
NNFAST_VMATH void backward_tile(T* dZ, index_t ldz, const T* A, index_t lda, index_t rows,
                                index_t n, Act act, T slope) {
  for (index_t i = 0; i < rows; ++i) backward(dZ + i * ldz, dZ + i * ldz, A + i * lda, n, act, slope);
}
// Whether no element of x (n) is NaN or ±inf: those are the values whose exponent field is
// all ones, the largest it can be, so the largest exponent field over x (integers: the
// loop vectorises without reassociating a float sum) tells.
template <typename T>
NNFAST_VMATH bool all_finite(const T* x, index_t n) {
  using E = ExpTraits<T>;
  using Bits = typename E::Bits;
  constexpr Bits kExp = Bits((Bits(1) << (8 * sizeof(T) - 1 - E::kMantissa)) - 1) << E::kMantissa;
  Bits top = 0;
  for (index_t i = 0; i < n; ++i) {
    Bits b;
    std::memcpy(&b, x + i, sizeof b);
    b &= kExp;
    top = b > top ? b : top;
  }
  return top != kExp;
}
template <typename T>
NNFAST_VMATH void bias_forward(T* z, index_t ldz, const T* b, index_t rows, index_t n, Act act,
                               T slope) {
  switch (act) {
    case Act::Identity: bias_map(IdentityOp<T>{slope}, z, ldz, b, rows, n); break;
    case Act::Logistic: bias_map(LogisticOp<T>{slope}, z, ldz, b, rows, n); break;
    case Act::Tanh: bias_map(TanhOp<T>{slope}, z, ldz, b, rows, n); break;
    case Act::Relu: bias_map(ReluOp<T>{slope}, z, ldz, b, rows, n); break;
    case Act::LeakyRelu: bias_map(LeakyReluOp<T>{slope}, z, ldz, b, rows, n); break;
  }
}
}  // namespace nnfast::nn::detail

// Defines the VecOps<float> and VecOps<double> of one ISA: NAME_f32() / NAME_f64().
#define NNFAST_DEFINE_VEC_OPS(NAME, ATTR)                                                      \
  namespace {                                                                                  \
  template <typename T>                                                                        \
  ATTR void NAME##_forward(T* A, const T* Z, index_t n, Act act, T slope) {                    \
    detail::forward(A, Z, n, act, slope);                                                      \
  }                                                                                            \
  template <typename T>                                                                        \
  ATTR void NAME##_backward(T* dZ, const T* dA, const T* A, index_t n, Act act, T slope) {     \
    detail::backward(dZ, dA, A, n, act, slope);                                                \
  }                                                                                            \
  template <typename T>                                                                        \
  ATTR double NAME##_logistic_head(T* a, const T* z, const T* y, index_t n) {                  \
    return detail::logistic_head(a, z, y, n);                                                  \
  }                                                                                            \
  template <typename T>                                                                        \
  ATTR double NAME##_softmax_head(T* a, const T* z, const T* y, index_t rows, index_t k) {     \
    return detail::softmax_head(a, z, y, rows, k);                                             \
  }                                                                                            \
  template <typename T>                                                                        \
  ATTR void NAME##_backward_tile(T* dZ, index_t ldz, const T* A, index_t lda, index_t rows,    \
                                 index_t n, Act act, T slope) {                                \
    detail::backward_tile(dZ, ldz, A, lda, rows, n, act, slope);                               \
  }                                                                                            \
  template <typename T>                                                                        \
  ATTR void NAME##_column_sums(T* db, const T* dZ, index_t m, index_t ld, index_t w) {         \
    detail::column_sums(db, dZ, m, ld, w);                                                     \
  }                                                                                            \
  template <typename T>                                                                        \
  ATTR bool NAME##_all_finite(const T* x, index_t n) {                                         \
    return detail::all_finite(x, n);                                                           \
  }                                                                                            \
  template <typename T>                                                                        \
  ATTR void NAME##_bias(T* z, index_t ldz, const T* b, index_t rows, index_t n, Act act,      \
                        T slope) {                                                             \
    detail::bias_forward(z, ldz, b, rows, n, act, slope);                                      \
  }                                                                                            \
  }                                                                                            \
  VecOps<float> NAME##_f32() {                                                                 \
    return {NAME##_forward<float>,      NAME##_backward<float>,      NAME##_bias<float>,       \
            NAME##_logistic_head<float>, NAME##_softmax_head<float>, NAME##_column_sums<float>, \
            NAME##_backward_tile<float>, NAME##_all_finite<float>};                            \
  }                                                                                            \
  VecOps<double> NAME##_f64() {                                                                \
    return {NAME##_forward<double>,      NAME##_backward<double>,      NAME##_bias<double>,    \
            NAME##_logistic_head<double>, NAME##_softmax_head<double>, NAME##_column_sums<double>, \
            NAME##_backward_tile<double>, NAME##_all_finite<double>};                          \
  }
