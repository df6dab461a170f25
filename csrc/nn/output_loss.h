// The output layer fused with its loss. From the logits Z (m x k) and targets Y (m x k),
// one pass writes A = out(Z), dZ = w_i (A - Y) / W (= ∂J/∂Z; the activation's derivative
// cancels the loss's, slides 23-29) and returns the weighted loss sum Σ_i w_i L⁽ⁱ⁾, with
// w the sample weights (all 1 when absent) and W = Σ_i w_i (m when absent). Each loss is
// computed from Z, so that log(0) is never taken:
//   identity + squared error          ½ ‖a - y‖²
//   sigmoid  + binary cross-entropy   Σ_j max(z, 0) - y z + log(1 + e^(-|z|))
//   softmax  + categorical x-entropy  Σ_j y_j (logsumexp(z) - z_j)
//   exp      + Poisson deviance / 2   Σ_j y log y - y z - y + e^z
// Rows are summed in fixed chunks, then the chunks in order: the same bits at any thread count.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "nn/activations.h"

namespace nnfast::nn {

enum class Head : int { Identity = 0, Logistic = 1, Softmax = 2, Exp = 3 };

constexpr index_t kLossChunkRows = 64;

// One row: writes a (k) and dz (k), returns the row's loss; inv_w = 1 / W. a may alias z:
// each z[j] is read before a[j] is written.
template <typename T>
inline double output_row(T* a, T* dz, const T* z, const T* y, index_t k, Head head, T w,
                         T inv_w, bool weighted) {
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
      loss = vec_ops<T>().logistic_head(a, z, y, k);
      break;
    case Head::Softmax:
      loss = vec_ops<T>().softmax_head(a, z, y, 1, k);
      break;
    case Head::Exp:
      for (index_t j = 0; j < k; ++j) {
        const T zj = z[j], yj = y[j];
        const T ylogy = yj > T(0) ? yj * std::log(yj) : T(0);
        const T ez = vexp(zj);
        loss += double(ylogy - yj * zj - yj + ez);
        a[j] = ez;
      }
      break;
  }
  if (weighted) {
    for (index_t j = 0; j < k; ++j) dz[j] = w * (a[j] - y[j]) * inv_w;
    return double(w) * loss;
  }
  for (index_t j = 0; j < k; ++j) dz[j] = (a[j] - y[j]) * inv_w;
  return loss;
}

// The denominator W: Σ w_i (summed in order, in double), or m without weights.
template <typename T>
double weight_sum(const T* w, index_t m) {
  if (!w) return double(m);
  double s = 0;
  for (index_t i = 0; i < m; ++i) s += double(w[i]);
  return s;
}

// A, dZ (m x k) out (A may alias Z); Z, Y (m x k), w (m, or null) in; returns Σ_i w_i L⁽ⁱ⁾.
// wsum is the W that divides dZ: weight_sum(w, m) for a whole batch, or the whole batch's
// sum when these m rows are one chunk of it (chunks.h).
template <typename T>
double output_loss(T* A, T* dZ, const T* Z, const T* Y, const T* w, index_t m, index_t k,
                   Head head, double wsum) {
  const T W = T(wsum);
  // dZ by the reciprocal of W: a divide an element is ~17 cycles a float64 vector.
  const T inv_w = T(1) / W;
  const index_t n_chunks = (m + kLossChunkRows - 1) / kLossChunkRows;
  double stack[16];  // a batch of up to 1024 rows needs no allocation
  std::vector<double> heap(n_chunks > 16 ? static_cast<size_t>(n_chunks) : 0);
  double* partial = n_chunks > 16 ? heap.data() : stack;
  parallel_for(n_chunks, m * k, [&](index_t c) {
    const index_t r0 = c * kLossChunkRows, r1 = std::min(m, r0 + kLossChunkRows);
    if (!w && (head == Head::Logistic || head == Head::Softmax)) {  // the chunk at once
      const index_t n = (r1 - r0) * k, off = r0 * k;
      partial[c] = head == Head::Logistic
                       ? vec_ops<T>().logistic_head(A + off, Z + off, Y + off, n)
                       : vec_ops<T>().softmax_head(A + off, Z + off, Y + off, r1 - r0, k);
      for (index_t i = off; i < off + n; ++i) dZ[i] = (A[i] - Y[i]) * inv_w;
      return;
    }
    double s = 0;
    for (index_t i = r0; i < r1; ++i) {
      s += output_row(A + i * k, dZ + i * k, Z + i * k, Y + i * k, k, head, w ? w[i] : T(1), inv_w,
                      w != nullptr);
    }
    partial[c] = s;
  }, kExpCost);
  double total = 0;
  for (index_t c = 0; c < n_chunks; ++c) total += partial[c];
  return total;
}

// A (m x k) = row-wise softmax of Z (m x k), the row max subtracted first.
template <typename T>
void softmax_forward(T* A, const T* Z, index_t m, index_t k) {
  parallel_for(m, m * k, [&](index_t i) {
    const T* z = Z + i * k;
    T* a = A + i * k;
    const T zmax = *std::max_element(z, z + k);
    T s = 0;
    for (index_t j = 0; j < k; ++j) s += (a[j] = vexp(z[j] - zmax));
    for (index_t j = 0; j < k; ++j) a[j] /= s;
  });
}

// The output activation alone (prediction): A (m x k) = out(Z); A may alias Z.
template <typename T>
void output_forward(T* A, const T* Z, index_t m, index_t k, Head head) {
  if (head == Head::Softmax) return softmax_forward(A, Z, m, k);
  if (head == Head::Exp) {
    parallel_chunks(m * k, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) A[i] = vexp(Z[i]);
    });
    return;
  }
  activation_forward(A, Z, m * k, head == Head::Logistic ? Act::Logistic : Act::Identity, T(0));
}

}  // namespace nnfast::nn
