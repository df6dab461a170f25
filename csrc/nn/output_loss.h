// The output layer fused with its loss. From the logits Z (m x k) and targets Y (m x k),
// one pass writes A = out(Z), dZ = (A - Y) / m (= ∂J/∂Z; the activation's derivative
// cancels the loss's, slides 23-29) and returns the summed loss Σ_i L⁽ⁱ⁾, computed from Z
// so that log(0) is never taken:
//   identity + squared error          ½ ‖a - y‖²
//   sigmoid  + binary cross-entropy   Σ_j max(z, 0) - y z + log(1 + e^(-|z|))
//   softmax  + categorical x-entropy  Σ_j y_j (logsumexp(z) - z_j)
// Rows are summed in fixed chunks, then the chunks in order: the same bits at any thread count.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "nn/activations.h"

namespace nnfast::nn {

enum class Head : int { Identity = 0, Logistic = 1, Softmax = 2 };

constexpr index_t kLossChunkRows = 64;

// One row: writes a (k) and dz (k), returns the row's loss. a may alias z: each z[j] is
// read before a[j] is written.
template <typename T>
inline double output_row(T* a, T* dz, const T* z, const T* y, index_t k, Head head, T m) {
  double loss = 0;
  switch (head) {
    case Head::Identity:
      for (index_t j = 0; j < k; ++j) {
        const T d = z[j] - y[j];
        loss += double(T(0.5) * d * d);
        a[j] = z[j];
      }
      break;
    case Head::Logistic:
      for (index_t j = 0; j < k; ++j) {
        const T zj = z[j];
        loss += double(std::max(zj, T(0)) - y[j] * zj + std::log1p(std::exp(-std::abs(zj))));
        a[j] = sigmoid(zj);
      }
      break;
    case Head::Softmax: {
      const T zmax = *std::max_element(z, z + k);
      T s = 0;
      for (index_t j = 0; j < k; ++j) s += std::exp(z[j] - zmax);
      const T lse = zmax + std::log(s);
      for (index_t j = 0; j < k; ++j) {
        const T zj = z[j];
        loss += double(y[j] * (lse - zj));
        a[j] = std::exp(zj - zmax) / s;
      }
      break;
    }
  }
  for (index_t j = 0; j < k; ++j) dz[j] = (a[j] - y[j]) / m;
  return loss;
}

// A, dZ (m x k) out (A may alias Z); Z, Y (m x k) in; returns Σ over rows of the per-example loss.
template <typename T>
double output_loss(T* A, T* dZ, const T* Z, const T* Y, index_t m, index_t k, Head head) {
  const index_t n_chunks = (m + kLossChunkRows - 1) / kLossChunkRows;
  double stack[16];  // a batch of up to 1024 rows needs no allocation
  std::vector<double> heap(n_chunks > 16 ? static_cast<size_t>(n_chunks) : 0);
  double* partial = n_chunks > 16 ? heap.data() : stack;
  parallel_for(n_chunks, m * k >= kParallelElems, [&](index_t c) {
    double s = 0;
    for (index_t i = c * kLossChunkRows; i < std::min(m, (c + 1) * kLossChunkRows); ++i) {
      s += output_row(A + i * k, dZ + i * k, Z + i * k, Y + i * k, k, head, T(m));
    }
    partial[c] = s;
  });
  double total = 0;
  for (index_t c = 0; c < n_chunks; ++c) total += partial[c];
  return total;
}

// A (m x k) = row-wise softmax of Z (m x k), the row max subtracted first.
template <typename T>
void softmax_forward(T* A, const T* Z, index_t m, index_t k) {
  parallel_for(m, m * k >= kParallelElems, [&](index_t i) {
    const T* z = Z + i * k;
    T* a = A + i * k;
    const T zmax = *std::max_element(z, z + k);
    T s = 0;
    for (index_t j = 0; j < k; ++j) s += (a[j] = std::exp(z[j] - zmax));
    for (index_t j = 0; j < k; ++j) a[j] /= s;
  });
}

// The output activation alone (prediction): A (m x k) = out(Z); A may alias Z.
template <typename T>
void output_forward(T* A, const T* Z, index_t m, index_t k, Head head) {
  if (head == Head::Softmax) return softmax_forward(A, Z, m, k);
  activation_forward(A, Z, m * k, head == Head::Logistic ? Act::Logistic : Act::Identity, T(0));
}

}  // namespace nnfast::nn
