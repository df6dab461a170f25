// Hidden-layer activations: forward g(Z) and backward dZ = dA ∘ g'(Z), with g'(Z)
// written through A = g(Z) as in the lecture (σ' = a(1 - a)), so backward needs only A.
// Element-wise, so any split across threads gives the same bits.
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>

#include "common.h"
#include "gemm/config.h"
#include "nn/vmath.h"

namespace nnfast::nn {

enum class Act : int { Identity = 0, Logistic = 1, Tanh = 2, Relu = 3, LeakyRelu = 4 };

// σ(z), never overflowing, whatever |z| (vmath.h).
template <typename T>
inline T sigmoid(T z) {
  return vsigmoid(z);
}

// Each activation as a function object, so that a loop is instantiated once per
// activation with no switch inside it, and vectorises.
template <typename T> struct IdentityOp {
  T slope;
  NNFAST_VMATH T operator()(T z) const { return z; }
  NNFAST_VMATH T grad(T) const { return T(1); }
};
template <typename T> struct LogisticOp {
  T slope;
  NNFAST_VMATH T operator()(T z) const { return vsigmoid(z); }
  NNFAST_VMATH T grad(T a) const { return a * (T(1) - a); }
};
template <typename T> struct TanhOp {
  T slope;
  NNFAST_VMATH T operator()(T z) const { return vtanh(z); }
  NNFAST_VMATH T grad(T a) const { return T(1) - a * a; }
};
// NaN passes through as it does through the reference's np.maximum(z, 0): "not <= 0"
// holds for NaN (z > 0 would make it 0). Every other z gives the bits z > 0 ? z : 0 gives.
template <typename T> struct ReluOp {
  T slope;
  NNFAST_VMATH T operator()(T z) const { return !(z <= T(0)) ? z : T(0); }
  NNFAST_VMATH T grad(T a) const { return a > T(0) ? T(1) : T(0); }
};
template <typename T> struct LeakyReluOp {
  T slope;
  NNFAST_VMATH T operator()(T z) const { return z > T(0) ? z : z * slope; }
  NNFAST_VMATH T grad(T a) const { return a > T(0) ? T(1) : slope; }
};

// The widest block of columns VecOps::column_sums takes.
constexpr index_t kColumnSumWidth = 64;

// The element-wise loops, one per ISA (nn/elementwise.cpp, chosen at import with the
// GEMM's): A = g(Z), dZ = dA ∘ g'(A), z = g(z + b). Serial; callers split the range.
template <typename T>
struct VecOps {
  void (*forward)(T* A, const T* Z, index_t n, Act act, T slope);
  void (*backward)(T* dZ, const T* dA, const T* A, index_t n, Act act, T slope);
  // z (rows x n, row stride ldz) = g(z + b), b (n) added to every row.
  void (*bias_forward)(T* z, index_t ldz, const T* b, index_t rows, index_t n, Act act, T slope);
  // a (n) = σ(z), returns Σ of the binary cross-entropy from logits (output_loss.h).
  double (*logistic_head)(T* a, const T* z, const T* y, index_t n);
  // a (rows x k) = softmax(z), returns Σ of the categorical cross-entropy (output_loss.h).
  double (*softmax_head)(T* a, const T* z, const T* y, index_t rows, index_t k);
  // db (w) = column sums of dZ (m x w, row stride ld), w <= kColumnSumWidth (linear.h's bias_grad).
  void (*column_sums)(T* db, const T* dZ, index_t m, index_t ld, index_t w);
  // dZ (rows x n, row stride ldz) ∘= g'(A) (row stride lda), in place.
  void (*backward_tile)(T* dZ, index_t ldz, const T* A, index_t lda, index_t rows, index_t n,
                        Act act, T slope);
  // Whether no element of x (n) is NaN or ±inf (all_finite below).
  bool (*all_finite)(const T* x, index_t n);
};
template <typename T>
const VecOps<T>& vec_ops();
void select_vec_ops(gemm::Isa isa);

// A (n) = g(Z (n)); A may alias Z.
template <typename T>
void activation_forward(T* A, const T* Z, index_t n, Act act, T slope) {
  const auto f = vec_ops<T>().forward;
  parallel_chunks(n, [&](index_t lo, index_t hi) { f(A + lo, Z + lo, hi - lo, act, slope); });
}

// dZ (n) = dA (n) ∘ g'(Z), g' computed from A (n); dZ may alias dA.
template <typename T>
void activation_backward(T* dZ, const T* dA, const T* A, index_t n, Act act, T slope) {
  if (act == Act::Identity) {
    if (dZ != dA) std::copy(dA, dA + n, dZ);
    return;
  }
  const auto f = vec_ops<T>().backward;
  parallel_chunks(n, [&](index_t lo, index_t hi) { f(dZ + lo, dA + lo, A + lo, hi - lo, act, slope); });
}

// Whether no element of x (n) is NaN or ±inf: the input check of a whole data set
// (python/nnfast/_checks.py sends arrays of 2^20 values or more here; a 60000 x 784
// float32 X is 188 MB, read once per check). Split across threads in chunks; whichever
// chunk finds one, the answer is the same.
template <typename T>
bool all_finite(const T* x, index_t n) {
  const auto f = vec_ops<T>().all_finite;
  std::atomic<bool> finite{true};
  parallel_chunks(n, [&](index_t lo, index_t hi) {
    if (!f(x + lo, hi - lo)) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load();
}

// z (rows x n, row stride ldz) = g(z + b) in place: a finished tile of a layer's output.
template <typename T>
void bias_activation_tile(T* z, index_t ldz, const T* b, index_t rows, index_t n, Act act, T slope) {
  vec_ops<T>().bias_forward(z, ldz, b, rows, n, act, slope);
}

}  // namespace nnfast::nn
