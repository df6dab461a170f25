// What every binding checks before a kernel runs: dtype, layout, alignment and shape of
// each array (ValueError / TypeError naming it), and the network the parameter lists make.
// Included by bindings.cpp (the kernels) and bind_epochs.h (the epoch loop) alone.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "nn/activations.h"
#include "nn/network.h"
#include "nn/output_loss.h"

namespace nnfast::bind {

namespace py = pybind11;
using nnfast::index_t;
using nnfast::nn::Act;
using nnfast::nn::Head;

template <typename T>
using carray = py::array_t<T, py::array::c_style>;

[[noreturn]] inline void fail(const std::string& msg) { throw py::value_error(msg); }

// NumPy can hand over arrays whose data is not aligned to the element size (a view of a
// byte buffer at an odd offset); reading them through T* is undefined behaviour.
template <typename T>
void require_aligned(const py::array_t<T>& a, const char* name) {
  if (reinterpret_cast<std::uintptr_t>(a.data()) % alignof(T) != 0)
    fail(std::string(name) + " is not aligned to its element size; copy it first");
}

template <typename T>
void require_shape(const carray<T>& a, std::vector<index_t> shape, const char* name) {
  require_aligned<T>(a, name);
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = a.shape(i) == shape[i];
  if (!ok) {
    std::string want = "(";
    for (size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + std::to_string(shape[i]);
    fail(std::string(name) + " must have shape " + want + ")");
  }
}

template <typename T>
void require_ndim(const carray<T>& a, int ndim, const char* name) {
  require_aligned<T>(a, name);
  if (a.ndim() != ndim) fail(std::string(name) + " must be " + std::to_string(ndim) + "-D");
}

inline Act to_act(int a) {
  if (a < 0 || a > 4) fail("unknown activation code " + std::to_string(a));
  return static_cast<Act>(a);
}
inline Head to_head(int h) {
  if (h < 0 || h > 3) fail("unknown output head code " + std::to_string(h));
  return static_cast<Head>(h);
}

// Sample weights: None, or m non-negative weights with a positive sum.
template <typename T>
const T* weights_ptr(const std::optional<carray<T>>& w, index_t m) {
  if (!w) return nullptr;
  require_shape(*w, {m}, "sample_weight");
  const T* p = w->data();
  double s = 0;
  for (index_t i = 0; i < m; ++i) {
    if (!(p[i] >= T(0))) fail("sample_weight must be non-negative and finite");
    s += double(p[i]);
  }
  if (!(s > 0) || !std::isfinite(s)) fail("sample_weight must have a positive, finite sum");
  return p;
}

// One element of a list of arrays, without conversion: a copy would lose in-place writes.
template <typename T>
carray<T> as_array(py::handle obj, const char* list, size_t l) {
  if (!py::isinstance<carray<T>>(obj))
    throw py::type_error(std::string(list) + "[" + std::to_string(l) +
                         "] must be a C-contiguous array of the same dtype as the others");
  auto a = py::reinterpret_borrow<carray<T>>(obj);
  require_aligned<T>(a, list);
  return a;
}

// Output arrays, one per layer, of the shapes of the weights / biases.
template <typename T>
std::vector<T*> layer_outputs(const py::list& outs, const nnfast::nn::Network<T>& net,
                              const char* name, bool bias) {
  if (static_cast<index_t>(outs.size()) != net.layers()) fail(std::string(name) + " must hold one array per layer");
  std::vector<T*> ptrs;
  for (index_t l = 0; l < net.layers(); ++l) {
    auto a = as_array<T>(outs[l], name, l);
    if (bias) require_shape(a, {net.sizes[l + 1]}, name);
    else require_shape(a, {net.sizes[l], net.sizes[l + 1]}, name);
    ptrs.push_back(a.mutable_data());
  }
  return ptrs;
}

// The network's parameters as views of the caller's arrays (no copies: train updates them).
// With bs = None the network has no biases (backprop alone never reads them). Only
// training writes the parameters; elsewhere read-only arrays are fine.
template <typename T>
nnfast::nn::Network<T> network(const py::list& Ws, std::optional<py::list> bs, int act,
                               double slope, int head, bool writable = false) {
  nnfast::nn::Network<T> net;
  net.act = to_act(act);
  net.slope = T(slope);
  net.head = to_head(head);
  if (Ws.size() == 0 || (bs && Ws.size() != bs->size()))
    fail("weights and biases must be non-empty lists of equal length");
  for (size_t l = 0; l < Ws.size(); ++l) {
    auto W = as_array<T>(Ws[l], "weights", l);
    require_ndim(W, 2, "weights[l]");
    if (l == 0) net.sizes.push_back(W.shape(0));
    if (W.shape(0) != net.sizes.back()) fail("weights[" + std::to_string(l) + "] does not chain with the previous layer");
    net.sizes.push_back(W.shape(1));
    net.W.push_back(writable ? W.mutable_data() : const_cast<T*>(W.data()));
    if (bs) {
      auto b = as_array<T>((*bs)[l], "biases", l);
      require_shape(b, {W.shape(1)}, "biases[l]");
      net.b.push_back(writable ? b.mutable_data() : const_cast<T*>(b.data()));
    }
  }
  for (index_t n : net.sizes)
    if (n < 1) fail("every layer needs at least one unit");
  return net;
}

// Per-layer arrays (W[0..L-1] then b[0..L-1] shapes) given by the caller, or none.
template <typename T>
std::vector<T*> param_arrays(const std::optional<py::list>& arrays,
                             const nnfast::nn::Network<T>& net, const char* name) {
  std::vector<T*> out;
  if (!arrays) return out;
  const index_t L = net.layers();
  if (static_cast<index_t>(arrays->size()) != 2 * L)
    fail(std::string(name) + " must hold one array per weight matrix and per bias vector");
  for (index_t i = 0; i < 2 * L; ++i) {
    auto a = as_array<T>((*arrays)[i], name, i);
    if (i < L) require_shape(a, {net.sizes[i], net.sizes[i + 1]}, name);
    else require_shape(a, {net.sizes[i - L + 1]}, name);
    out.push_back(a.mutable_data());
  }
  return out;
}

}  // namespace nnfast::bind
