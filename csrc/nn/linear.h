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

// The forward epilogue: bias + activation on a finished tile of Z, while it is in cache.
template <typename T>
struct BiasAct {
  const T* b;
  Act act;
  T slope;
};

template <typename T>
void bias_act_tile(const void* ctx, T* tile, index_t ldc, index_t, index_t c0, index_t rows,
                   index_t cols) {
  const auto& e = *static_cast<const BiasAct<T>*>(ctx);
  bias_activation_tile(tile, ldc, e.b + c0, rows, cols, e.act, e.slope);
}

// A (m x n_out) = g(A_prev (m x n_in) · W (n_in x n_out) + b (n_out)), the bias and
// activation fused into the product.
template <typename T>
void linear_forward(T* A, const T* A_prev, const T* W, const T* b, index_t m, index_t n_in,
                    index_t n_out, Act act, T slope) {
  const BiasAct<T> ctx{b, act, slope};
  const gemm::Epilogue<T> ep{&bias_act_tile<T>, &ctx};
  gemm::gemm(A, n_out, A_prev, n_in, false, W, n_out, false, m, n_out, n_in, false, &ep);
}

// db (n) = Σ_rows dZ (m x n). Each thread owns whole columns and adds rows in order,
// so the sum is the same at any thread count.
template <typename T>
void bias_grad(T* db, const T* dZ, index_t m, index_t n) {
  constexpr index_t kCols = kColumnSumWidth;
  const index_t blocks = (n + kCols - 1) / kCols;
  const auto sums = vec_ops<T>().column_sums;
  parallel_for(blocks, m * n, [&](index_t cb) {
    const index_t j0 = cb * kCols;
    sums(db + j0, dZ + j0, m, n, std::min(kCols, n - j0));
  });
}

// The backward epilogue: each finished tile of dA_prev times g'(A_prev), so that the
// product leaves dZ_prev = dA_prev ∘ g'(A_prev) (slide 30) without another pass over it.
template <typename T>
struct ActGrad {
  const T* A;  // A_prev, m x lda
  index_t lda;
  Act act;
  T slope;
};

template <typename T>
void act_grad_tile(const void* ctx, T* tile, index_t ldc, index_t r0, index_t c0, index_t rows,
                   index_t cols) {
  const auto& e = *static_cast<const ActGrad<T>*>(ctx);
  vec_ops<T>().backward_tile(tile, ldc, e.A + r0 * e.lda + c0, e.lda, rows, cols, e.act, e.slope);
}

// dA_prev (m x n_in) = dZ · Wᵀ (skipped when null: the first layer needs no dX), times
// g'(A_prev) element-wise when act_prev is given (then it holds dZ_prev);
// dW (n_in x n_out) = A_prevᵀ · dZ, each finished block passed to dW_ep when given;
// db (n_out) = Σ_rows dZ.
template <typename T>
void linear_backward(T* dA_prev, T* dW, T* db, const T* dZ, const T* A_prev, const T* W,
                     index_t m, index_t n_in, index_t n_out, const Act* act_prev = nullptr,
                     T slope = T(0), const gemm::Epilogue<T>* dW_ep = nullptr) {
  if (dA_prev) {
    const ActGrad<T> ctx{A_prev, n_in, act_prev ? *act_prev : Act::Identity, slope};
    const gemm::Epilogue<T> ep{&act_grad_tile<T>, &ctx};
    const bool fuse = act_prev && *act_prev != Act::Identity;
    gemm::gemm(dA_prev, n_in, dZ, n_out, false, W, n_out, true, m, n_in, n_out, false,
               fuse ? &ep : nullptr);
  }
  gemm::gemm(dW, n_out, A_prev, n_in, true, dZ, n_out, false, n_in, n_out, m, false, dW_ep);
  bias_grad(db, dZ, m, n_out);
}

}  // namespace nnfast::nn
