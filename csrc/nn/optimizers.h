// The parameter updates of scikit-learn's MLP solvers (and the L2 term's sum of squares),
// element for element in the same order of operations (and in the parameters' precision,
// scalars rounded to it first, as NumPy does), so that a fit in C++ follows scikit-learn's
// within rounding of the gradients.
//   g = G + λ P                               (λ = alpha / W, the L2 term; weights only)
//   SGD:  v ← μ v - η g;  p ← p + v           (Nesterov: p ← p + (μ v - η g))
//   Adam: m ← β1 m + (1-β1) g;  v ← β2 v + (1-β2) g²;  p ← p + (-η_t m) / (√v + ε),
//         η_t = η √(1 - β2^t) / (1 - β1^t)
// The updates work on blocks (rows x cols, one row stride for the parameters, their state
// and their gradient), so that a fit can apply them to each tile of dW as the product
// finishes it (network.h), while the tile is in cache. Element-wise: the same bits for any
// split into blocks, on any thread.
#pragma once
#include "common.h"
#include "gemm/config.h"

namespace nnfast::nn {

enum class Solver : int { Sgd = 0, Adam = 1 };

// One step's constants, rounded to the parameters' precision.
template <typename T>
struct StepRule {
  Solver solver = Solver::Sgd;
  T lr = 0;           // η for SGD, the bias-corrected η_t for Adam
  T momentum = 0;     // μ; with μ = 0 and no Nesterov the velocity is never read again, and
  bool nesterov = false;  // p - η g is the same number as p + (0·v - η g): no state needed
  T beta1 = 0, beta2 = 0, c1 = 0, c2 = 0, eps = 0;  // c = 1 - β, rounded from double
  bool stateless() const { return solver == Solver::Sgd && momentum == T(0) && !nesterov; }
};

// A block of one parameter array: P, its gradient G and the optimizer's state S1 (SGD's
// velocity, Adam's first moment) and S2 (Adam's second), all rows x cols with row stride
// ld. Null state where the rule needs none.
template <typename T>
struct ParamBlock {
  T* P;
  T* S1;
  T* S2;
  const T* G;
  index_t ld, rows, cols;
};

// The update loops and the L2 term's sum, one per ISA (nn/optimizers.cpp, chosen at import
// with the GEMM's).
template <typename T>
struct UpdateOps {
  // Σ x² of n values in double, in 16 lanes added in a fixed order: the same bits
  // on every ISA (float squares are exact in double; no FMA contraction).
  double (*sum_squares)(const T* x, index_t n);
  // G += λ P (rows x cols, row stride ld): the gradient of J with its L2 term, when no
  // step follows (gradients only).
  void (*decay)(T* G, const T* P, index_t ld, index_t rows, index_t cols, T lambda);
  // One step of `rule` on the block, with g = G + λ P (λ = 0: g = G, P never read for it).
  void (*step)(const ParamBlock<T>& b, const StepRule<T>& rule, T lambda);
};
template <typename T>
const UpdateOps<T>& update_ops();
void select_update_ops(gemm::Isa isa);

// P (n) -= lr · G (n): the gradient-descent step of slide 33, in chunks across threads.
template <typename T>
void sgd_step(T* P, const T* G, index_t n, T lr) {
  StepRule<T> rule;
  rule.lr = lr;
  const auto step = update_ops<T>().step;
  parallel_chunks(n, [&](index_t lo, index_t hi) {
    step({P + lo, nullptr, nullptr, G + lo, hi - lo, 1, hi - lo}, rule, T(0));
  });
}

}  // namespace nnfast::nn
