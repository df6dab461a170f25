// The optimizers' update loops for each ISA, and the choice among them (made with the
// GEMM's, once, at import). Compiled without FMA contraction (CMakeLists.txt): each
// multiply and add rounds on its own, as NumPy's do in scikit-learn's solvers.
#include <cmath>

#include "nn/optimizers.h"
#include "nn/vmath.h"

namespace nnfast::nn {

namespace detail {

// The loops are force-inlined into each ISA's wrapper below, so they vectorise at its width;
// the rule's branches are taken once per block, outside them.
template <typename T>
NNFAST_VMATH double sum_squares(const T* x, index_t n) {
  constexpr index_t kLanes = 16;  // independent chains: the adds' latencies overlap
  double acc[kLanes] = {};
  const index_t body = n - n % kLanes;
  for (index_t i = 0; i < body; i += kLanes)
    for (index_t j = 0; j < kLanes; ++j) acc[j] += double(x[i + j]) * double(x[i + j]);
  for (index_t i = body; i < n; ++i) acc[i - body] += double(x[i]) * double(x[i]);
  double s = 0;
  for (index_t j = 0; j < kLanes; ++j) s += acc[j];
  return s;
}

template <typename T>
NNFAST_VMATH void decay(T* G, const T* P, index_t ld, index_t rows, index_t cols, T lambda) {
  for (index_t i = 0; i < rows; ++i) {
    T* __restrict g = G + i * ld;
    const T* __restrict p = P + i * ld;
    for (index_t j = 0; j < cols; ++j) g[j] += lambda * p[j];
  }
}

// g = G + λ P (or G alone), then the rule's step; `Decay` and `Momentum` select the form.
template <bool Decay, bool Momentum, typename T>
NNFAST_VMATH void sgd(const ParamBlock<T>& b, T eta, T mu, bool nesterov, T lambda) {
  for (index_t i = 0; i < b.rows; ++i) {
    T* __restrict p = b.P + i * b.ld;
    const T* __restrict G = b.G + i * b.ld;
    if constexpr (!Momentum) {
      for (index_t j = 0; j < b.cols; ++j) {
        const T g = Decay ? G[j] + lambda * p[j] : G[j];
        p[j] -= eta * g;
      }
    } else {
      T* __restrict vel = b.S1 + i * b.ld;
      for (index_t j = 0; j < b.cols; ++j) {
        const T g = Decay ? G[j] + lambda * p[j] : G[j];
        const T v = mu * vel[j] - eta * g;
        vel[j] = v;
        p[j] += nesterov ? mu * v - eta * g : v;
      }
    }
  }
}

template <bool Decay, typename T>
NNFAST_VMATH void adam(const ParamBlock<T>& b, const StepRule<T>& r, T lambda) {
  const T b1 = r.beta1, b2 = r.beta2, c1 = r.c1, c2 = r.c2;
  const T neg_lr = -r.lr, e = r.eps;
  for (index_t i = 0; i < b.rows; ++i) {
    T* __restrict p = b.P + i * b.ld;
    T* __restrict m = b.S1 + i * b.ld;
    T* __restrict v = b.S2 + i * b.ld;
    const T* __restrict G = b.G + i * b.ld;
    for (index_t j = 0; j < b.cols; ++j) {
      const T g = Decay ? G[j] + lambda * p[j] : G[j];
      m[j] = b1 * m[j] + c1 * g;
      v[j] = b2 * v[j] + c2 * (g * g);
      p[j] += neg_lr * m[j] / (std::sqrt(v[j]) + e);
    }
  }
}

template <typename T>
NNFAST_VMATH void step(const ParamBlock<T>& b, const StepRule<T>& r, T lambda) {
  const bool d = lambda != T(0);
  if (r.solver == Solver::Adam) {
    d ? adam<true>(b, r, lambda) : adam<false>(b, r, lambda);
  } else if (r.stateless()) {
    d ? sgd<true, false>(b, r.lr, r.momentum, false, lambda)
      : sgd<false, false>(b, r.lr, r.momentum, false, lambda);
  } else {
    d ? sgd<true, true>(b, r.lr, r.momentum, r.nesterov, lambda)
      : sgd<false, true>(b, r.lr, r.momentum, r.nesterov, lambda);
  }
}

}  // namespace detail

#define NNFAST_DEFINE_UPDATE_OPS(NAME, ATTR)                                            \
  namespace {                                                                           \
  template <typename T>                                                                 \
  ATTR double NAME##_sum_squares(const T* x, index_t n) {                               \
    return detail::sum_squares(x, n);                                                   \
  }                                                                                     \
  template <typename T>                                                                 \
  ATTR void NAME##_decay(T* G, const T* P, index_t ld, index_t rows, index_t cols,      \
                         T lambda) {                                                    \
    detail::decay(G, P, ld, rows, cols, lambda);                                        \
  }                                                                                     \
  template <typename T>                                                                 \
  ATTR void NAME##_step(const ParamBlock<T>& b, const StepRule<T>& r, T lambda) {       \
    detail::step(b, r, lambda);                                                         \
  }                                                                                     \
  template <typename T>                                                                 \
  UpdateOps<T> NAME##_update_ops() {                                                    \
    return {NAME##_sum_squares<T>, NAME##_decay<T>, NAME##_step<T>};                    \
  }                                                                                     \
  }

NNFAST_DEFINE_UPDATE_OPS(generic, )
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
NNFAST_DEFINE_UPDATE_OPS(avx2, __attribute__((target("avx2,fma"))))
NNFAST_DEFINE_UPDATE_OPS(avx512, __attribute__((target("avx512f"))))
#endif
#undef NNFAST_DEFINE_UPDATE_OPS

namespace {
UpdateOps<float> g_f32 = generic_update_ops<float>();
UpdateOps<double> g_f64 = generic_update_ops<double>();
}  // namespace

void select_update_ops(gemm::Isa isa) {
  g_f32 = generic_update_ops<float>();
  g_f64 = generic_update_ops<double>();
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (isa == gemm::Isa::Avx2) {
    g_f32 = avx2_update_ops<float>();
    g_f64 = avx2_update_ops<double>();
  } else if (isa == gemm::Isa::Avx512) {
    g_f32 = avx512_update_ops<float>();
    g_f64 = avx512_update_ops<double>();
  }
#endif
}

template <> const UpdateOps<float>& update_ops<float>() { return g_f32; }
template <> const UpdateOps<double>& update_ops<double>() { return g_f64; }

}  // namespace nnfast::nn
