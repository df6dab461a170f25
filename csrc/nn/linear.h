// One fully-connected layer, Z = A_prev · W + b, A = g(Z) (slides 12-17), and its backward
// pass (slides 24-32). Shapes: A_prev m x n_in, W n_in x n_out, b n_out, A and dZ m x n_out.
// Backward kernels overwrite their outputs (never accumulate).
#pragma once
#include <algorithm>
#include <vector>

#include "common.h"
#include "gemm/gemm.h"
#include "nn/activations.h"

namespace nnfast::nn {

// A (m x n_out) = g(A_prev (m x n_in) · W (n_in x n_out) + b (n_out)).
template <typename T>
void linear_forward(T* A, const T* A_prev, const T* W, const T* b, index_t m, index_t n_in,
                    index_t n_out, Act act, T slope) {
  gemm::gemm(A, n_out, A_prev, n_in, false, W, n_out, false, m, n_out, n_in, T(0));
  bias_activation_forward(A, A, b, m, n_out, act, slope);
}

// db (n) = Σ_rows dZ (m x n). Each thread owns whole columns and adds rows in order,
// so the sum is the same at any thread count.
template <typename T>
void bias_grad(T* db, const T* dZ, index_t m, index_t n) {
  constexpr index_t kCols = 64;
  const index_t blocks = (n + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (m * n >= kParallelElems)
  for (index_t cb = 0; cb < blocks; ++cb) {
    const index_t j0 = cb * kCols, j1 = std::min(n, j0 + kCols);
    for (index_t j = j0; j < j1; ++j) db[j] = T(0);
    for (index_t i = 0; i < m; ++i)
      for (index_t j = j0; j < j1; ++j) db[j] += dZ[i * n + j];
  }
}

// dA_prev (m x n_in) = dZ · Wᵀ (skipped when null: the first layer needs no dX);
// dW (n_in x n_out) = A_prevᵀ · dZ; db (n_out) = Σ_rows dZ.
template <typename T>
void linear_backward(T* dA_prev, T* dW, T* db, const T* dZ, const T* A_prev, const T* W,
                     index_t m, index_t n_in, index_t n_out) {
  if (dA_prev) gemm::gemm(dA_prev, n_in, dZ, n_out, false, W, n_out, true, m, n_in, n_out, T(0));
  gemm::gemm(dW, n_out, A_prev, n_in, true, dZ, n_out, false, n_in, n_out, m, T(0));
  bias_grad(db, dZ, m, n_out);
}

// P (n) -= lr · G (n): the gradient-descent step of slide 33.
template <typename T>
void sgd_step(T* P, const T* G, index_t n, T lr) {
#pragma omp parallel for schedule(static) if (n >= kParallelElems)
  for (index_t i = 0; i < n; ++i) P[i] -= lr * G[i];
}

}  // namespace nnfast::nn
