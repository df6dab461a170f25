// Hidden-layer activations: forward g(Z) and backward dZ = dA ∘ g'(Z), with g'(Z)
// written through A = g(Z) as in the lecture (σ' = a(1 - a)), so backward needs only A.
// Element-wise, so any split across threads gives the same bits.
#pragma once
#include <algorithm>
#include <cmath>

#include "common.h"

namespace nnfast::nn {

enum class Act : int { Identity = 0, Logistic = 1, Tanh = 2, Relu = 3, LeakyRelu = 4 };

// σ(z) through e^(-|z|): never overflows, whatever |z|.
template <typename T>
inline T sigmoid(T z) {
  const T e = std::exp(-std::abs(z));
  return z >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}

template <typename T>
inline T activate(T z, Act act, T slope) {
  switch (act) {
    case Act::Identity: return z;
    case Act::Logistic: return sigmoid(z);
    case Act::Tanh: return std::tanh(z);
    case Act::Relu: return std::max(z, T(0));
    case Act::LeakyRelu: return z > T(0) ? z : z * slope;
  }
  return z;
}

template <typename T>
inline T derivative_from_output(T a, Act act, T slope) {
  switch (act) {
    case Act::Identity: return T(1);
    case Act::Logistic: return a * (T(1) - a);
    case Act::Tanh: return T(1) - a * a;
    case Act::Relu: return a > T(0) ? T(1) : T(0);
    case Act::LeakyRelu: return a > T(0) ? T(1) : slope;
  }
  return T(1);
}

// A (n) = g(Z (n)); A may alias Z.
template <typename T>
void activation_forward(T* A, const T* Z, index_t n, Act act, T slope) {
  parallel_chunks(n, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) A[i] = activate(Z[i], act, slope);
  });
}

// dZ (n) = dA (n) ∘ g'(Z), g' computed from A (n); dZ may alias dA.
template <typename T>
void activation_backward(T* dZ, const T* dA, const T* A, index_t n, Act act, T slope) {
  if (act == Act::Identity) {
    if (dZ != dA) std::copy(dA, dA + n, dZ);
    return;
  }
  parallel_chunks(n, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) dZ[i] = dA[i] * derivative_from_output(A[i], act, slope);
  });
}

// z (n) = g(z + b) in place, one row of a layer's output; the switch sits outside the
// loop so each case vectorises where the compiler can.
template <typename T>
void bias_activation_row(T* z, const T* b, index_t n, Act act, T slope) {
  switch (act) {
    case Act::Identity:
      for (index_t j = 0; j < n; ++j) z[j] += b[j];
      break;
    case Act::Relu:
      for (index_t j = 0; j < n; ++j) z[j] = std::max(z[j] + b[j], T(0));
      break;
    case Act::LeakyRelu:
      for (index_t j = 0; j < n; ++j) {
        const T v = z[j] + b[j];
        z[j] = v > T(0) ? v : v * slope;
      }
      break;
    case Act::Logistic:
      for (index_t j = 0; j < n; ++j) z[j] = sigmoid(z[j] + b[j]);
      break;
    case Act::Tanh:
      for (index_t j = 0; j < n; ++j) z[j] = std::tanh(z[j] + b[j]);
      break;
  }
}

}  // namespace nnfast::nn
