// The whole network: forward pass, prediction in bounded memory, loss and gradients, and
// backprop, all with the GIL released by the caller. Parameters live in the caller's
// arrays (the epoch loop in epochs.h updates them in place).
#pragma once
#include <algorithm>
#include <cstring>
#include <vector>

#include "common.h"
#include "nn/activations.h"
#include "nn/linear.h"
#include "nn/optimizers.h"
#include "nn/output_loss.h"

namespace nnfast::nn {

template <typename T>
struct Network {
  std::vector<index_t> sizes;  // [d, n_1, ..., n_L]
  std::vector<T*> W;           // W[l] is sizes[l] x sizes[l+1]
  std::vector<T*> b;           // b[l] has sizes[l+1]
  Act act = Act::Relu;         // hidden layers
  T slope = T(0.01);           // leaky ReLU's negative slope
  Head head = Head::Softmax;   // output layer and its loss

  index_t layers() const { return static_cast<index_t>(W.size()); }
  // How many parameters: every W[l] and b[l].
  index_t params() const {
    index_t P = 0;
    for (index_t l = 0; l < layers(); ++l) P += (sizes[l] + 1) * sizes[l + 1];
    return P;
  }
  // The widest layer after the inputs: the deltas' width (no delta is formed for X).
  index_t widest() const { return *std::max_element(sizes.begin() + 1, sizes.end()); }
};

// As[l] (m x n_(l+1)) = A[l+1] for l < L; the last is the output under `head`, or the
// logits Z[L] when `logits` is set.
template <typename T>
void forward(const std::vector<T*>& As, const T* X, index_t m, const Network<T>& net, bool logits) {
  const T* prev = X;
  for (index_t l = 0; l < net.layers(); ++l) {
    const bool last = l == net.layers() - 1;
    linear_forward(As[l], prev, net.W[l], net.b[l], m, net.sizes[l], net.sizes[l + 1],
                   last ? Act::Identity : net.act, net.slope);
    if (last && !logits) output_forward(As[l], As[l], m, net.sizes[l + 1], net.head);
    prev = As[l];
  }
}

// out (m x n_L) = the network's output, in row blocks so memory stays bounded for any m.
template <typename T>
void predict(T* out, const T* X, index_t m, const Network<T>& net) {
  constexpr index_t kRows = 1024;
  const index_t L = net.layers();
  const index_t rows = std::min(m, kRows);
  std::vector<std::vector<T>> bufs(static_cast<size_t>(L > 1 ? L - 1 : 0));
  for (index_t l = 0; l + 1 < L; ++l) bufs[l].resize(static_cast<size_t>(rows * net.sizes[l + 1]));
  std::vector<T*> As(static_cast<size_t>(L));
  for (index_t r0 = 0; r0 < m; r0 += kRows) {
    const index_t mr = std::min(kRows, m - r0);
    for (index_t l = 0; l + 1 < L; ++l) As[l] = bufs[l].data();
    As[L - 1] = out + r0 * net.sizes[L];
    forward(As, X + r0 * net.sizes[0], mr, net, false);
  }
}

// Buffers for one batch, allocated once per call of the epoch loop (epochs.h), reused by
// every batch.
template <typename T>
struct Workspace {
  std::vector<line_vector<T>> A;  // A[l] : batch x n_(l+1); the last holds the logits, then probabilities
  line_vector<T> Xb, Yb, wb;      // the gathered batch when rows come in a given order
  line_vector<T> dZ, dA, dW, db;  // reused across layers, sized for the widest layer
  std::vector<T*> As, dWs, dbs;   // per-layer pointers into the buffers above

  Workspace(const Network<T>& net, index_t batch, index_t k, bool gather) {
    const index_t L = net.layers();
    for (index_t l = 0; l < L; ++l) A.emplace_back(static_cast<size_t>(batch * net.sizes[l + 1]));
    if (gather) {
      Xb.resize(static_cast<size_t>(batch * net.sizes[0]));
      Yb.resize(static_cast<size_t>(batch * k));
      wb.resize(static_cast<size_t>(batch));
    }
    const index_t w = net.widest();
    dZ.resize(static_cast<size_t>(batch * w));
    dA.resize(static_cast<size_t>(batch * w));
    index_t wmax = 0;
    for (index_t l = 0; l < L; ++l) wmax = std::max(wmax, net.sizes[l] * net.sizes[l + 1]);
    dW.resize(static_cast<size_t>(wmax));
    db.resize(static_cast<size_t>(w));
    for (auto& a : A) As.push_back(a.data());
    dWs.assign(static_cast<size_t>(L), dW.data());  // one dW serves every layer in turn
    dbs.assign(static_cast<size_t>(L), db.data());
  }
};

// Σ x² of n values, in double. A fit computes it for every weight at every step when
// alpha > 0, so: in at most kParts parts of a size fixed by n, each summed by the ISA's
// loop (update_ops, in independent lanes), the parts on the thread team, then added in
// order: the same bits at any thread count.
template <typename T>
double sum_squares(const T* x, index_t n) {
  constexpr index_t kParts = 64, kMinPart = 4096;
  const index_t per = std::max(kMinPart, (n + kParts - 1) / kParts);
  const index_t parts = (n + per - 1) / per;
  const auto part_sum = update_ops<T>().sum_squares;
  double part[kParts];
  parallel_for(parts, n, [&](index_t p) {
    part[p] = part_sum(x + p * per, std::min(per, n - p * per));
  });
  double s = 0;
  for (index_t p = 0; p < parts; ++p) s += part[p];
  return s;
}

// (alpha / 2W) Σ_l ‖W[l]‖², the L2 term of J (biases are not penalised); W is the batch's
// weight sum (its size without sample weights).
template <typename T>
double l2_term(const Network<T>& net, double alpha, double wsum) {
  if (alpha <= 0) return 0;
  double sq = 0;  // per layer, then summed over layers, like the reference
  for (index_t l = 0; l < net.layers(); ++l)
    sq += sum_squares(net.W[l], net.sizes[l] * net.sizes[l + 1]);
  return 0.5 * alpha * sq / wsum;
}

// Backprop by the chain rule (slides 24-32) from dZ = ∂J/∂Z[L] (m x n_L), given the
// activations As[l] = A[l+1] (l < L - 1) and X = A[0]. For l = L..1 writes
// dWs[l] = A[l-1]ᵀ dZ[l] and dbs[l] = Σ_rows dZ[l]. Each block of dWs[l] the product
// finishes goes to on_dW(l, r0, c0, rows, cols) at once, while it is in cache (on that
// block's thread; W[l] is not read again by then, so a caller may update it there: the
// fit's step needs no pass of its own over dW); then on_db(l). dZ and dA are scratch of
// m x widest; dZ's content is consumed.
template <typename T, typename OnDW, typename OnDb>
void backprop(const Network<T>& net, const std::vector<T*>& As, const T* X, T* dZ, T* dA,
              index_t m, const std::vector<T*>& dWs, const std::vector<T*>& dbs, OnDW on_dW,
              OnDb on_db) {
  for (index_t l = net.layers() - 1; l >= 0; --l) {
    const index_t n_in = net.sizes[l], n_out = net.sizes[l + 1];
    const T* A_prev = l > 0 ? As[l - 1] : X;
    struct Ctx {
      OnDW* f;
      index_t l;
    } ctx{&on_dW, l};
    const gemm::Epilogue<T> dW_ep{[](const void* c, T*, index_t, index_t r0, index_t c0,
                                     index_t rows, index_t cols) {
                                    const auto& x = *static_cast<const Ctx*>(c);
                                    (*x.f)(x.l, r0, c0, rows, cols);
                                  },
                                  &ctx};
    // For l > 0 the product leaves dZ[l-1] = dA[l-1] ∘ g'(A[l-1]) (the activation's
    // derivative in its epilogue).
    linear_backward(l > 0 ? dA : nullptr, dWs[l], dbs[l], dZ, A_prev, net.W[l], m, n_in, n_out,
                    &net.act, net.slope, &dW_ep);
    on_db(l);
    if (l > 0) std::swap(dZ, dA);
  }
}

// backprop that leaves dWs[l] = ∂J/∂W[l] with the L2 term (alpha / wsum) W[l] added,
// each block as it is finished (the gradients-only entry points).
template <typename T>
void backprop_gradients(const Network<T>& net, const std::vector<T*>& As, const T* X, T* dZ,
                        T* dA, index_t m, double alpha, double wsum, const std::vector<T*>& dWs,
                        const std::vector<T*>& dbs) {
  const T lambda = T(alpha / wsum);
  const auto decay = update_ops<T>().decay;
  backprop(net, As, X, dZ, dA, m, dWs, dbs,
           [&](index_t l, index_t r0, index_t c0, index_t rows, index_t cols) {
             if (alpha <= 0) return;
             const index_t ld = net.sizes[l + 1], off = r0 * ld + c0;
             decay(dWs[l] + off, net.W[l] + off, ld, rows, cols, lambda);
           },
           [](index_t) {});
}

template <typename T>
std::vector<T*> pointers(std::vector<std::vector<T>>& bufs) {
  std::vector<T*> out;
  for (auto& b : bufs) out.push_back(b.data());
  return out;
}

// J (returned) and its gradients dWs[l], dbs[l] for one batch X (m x d), Y (m x n_L) with
// sample weights w (m, or null): forward, the fused output loss, backprop and the L2 term.
template <typename T>
double loss_and_gradients(const std::vector<T*>& dWs, const std::vector<T*>& dbs,
                          const Network<T>& net, const T* X, const T* Y, const T* w, index_t m,
                          double alpha) {
  const index_t L = net.layers();
  std::vector<std::vector<T>> acts;
  for (index_t l = 0; l < L; ++l) acts.emplace_back(static_cast<size_t>(m * net.sizes[l + 1]));
  std::vector<T*> As = pointers(acts);
  forward(As, X, m, net, true);
  std::vector<T> dZ(static_cast<size_t>(m * net.widest())), dA(dZ.size());
  const double wsum = weight_sum(w, m);
  double J = output_loss(As[L - 1], dZ.data(), As[L - 1], Y, w, m, net.sizes[L], net.head, wsum) /
             wsum;
  J += l2_term(net, alpha, wsum);
  backprop_gradients(net, As, X, dZ.data(), dA.data(), m, alpha, wsum, dWs, dbs);
  return J;
}

}  // namespace nnfast::nn
