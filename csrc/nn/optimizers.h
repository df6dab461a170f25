// The parameter updates of scikit-learn's MLP solvers, element for element in the same
// order of operations (and in the parameters' precision, scalars rounded to it first, as
// NumPy does), so that a fit in C++ follows scikit-learn's within rounding of the gradients.
//   SGD:  v ← μ v - η g;  p ← p + v           (Nesterov: p ← p + (μ v - η g))
//   Adam: m ← β1 m + (1-β1) g;  v ← β2 v + (1-β2) g²;  p ← p + (-η_t m) / (√v + ε),
//         η_t = η √(1 - β2^t) / (1 - β1^t)
#pragma once
#include <cmath>

#include "common.h"

namespace nnfast::nn {

enum class Solver : int { Sgd = 0, Adam = 1 };

// SGD with momentum on n parameters; `velocity` is the optimizer's state for them. With
// μ = 0 and no Nesterov the velocity is never read again, and p - η g is the same number
// as p + (0·v - η g), so the state is skipped.
template <typename T>
void sgd_update(T* p, T* velocity, const T* g, index_t n, double lr, double momentum,
                bool nesterov) {
  const T eta = T(lr), mu = T(momentum);
  if (momentum == 0.0 && !nesterov) {
    parallel_chunks(n, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) p[i] -= eta * g[i];
    });
    return;
  }
  parallel_chunks(n, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      const T v = mu * velocity[i] - eta * g[i];
      velocity[i] = v;
      p[i] += nesterov ? mu * v - eta * g[i] : v;
    }
  });
}

// One Adam step on n parameters with the bias-corrected rate lr_t (computed by the caller
// once per batch, as scikit-learn does).
template <typename T>
void adam_update(T* p, T* m, T* v, const T* g, index_t n, double lr_t, double beta1,
                 double beta2, double eps) {
  const T b1 = T(beta1), b2 = T(beta2), c1 = T(1 - beta1), c2 = T(1 - beta2);
  const T neg_lr = T(-lr_t), e = T(eps);
  parallel_chunks(n, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      m[i] = b1 * m[i] + c1 * g[i];
      v[i] = b2 * v[i] + c2 * (g[i] * g[i]);
      p[i] += neg_lr * m[i] / (std::sqrt(v[i]) + e);
    }
  });
}

}  // namespace nnfast::nn
