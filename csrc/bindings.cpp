// pybind11 only: check every array's dtype, layout and shape, then run the kernel with the
// GIL released. Each function is registered for float32 and float64 with noconvert, so an
// array is never silently copied (an in-place update must reach the caller's array).
// nnfast.functional validates arguments with friendly messages first; the checks here are
// the last line, so that the C++ never sees inconsistent sizes whoever calls it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "cpu.h"
#include "peak.h"
#include "gemm/gemm.h"
#include "nn/activations.h"
#include "nn/epochs.h"
#include "nn/linear.h"
#include "nn/network.h"
#include "nn/output_loss.h"

namespace py = pybind11;
namespace nn = nnfast::nn;
using nnfast::index_t;
using nnfast::nn::Act;
using nnfast::nn::Head;

namespace {

template <typename T>
using carray = py::array_t<T, py::array::c_style>;

[[noreturn]] void fail(const std::string& msg) { throw py::value_error(msg); }

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

Act to_act(int a) {
  if (a < 0 || a > 4) fail("unknown activation code " + std::to_string(a));
  return static_cast<Act>(a);
}
Head to_head(int h) {
  if (h < 0 || h > 3) fail("unknown output head code " + std::to_string(h));
  return static_cast<Head>(h);
}

// A 2-D operand of the matrix product in any layout with one unit stride: row-major as is,
// column-major (Fortran, or a transposed view) read as the transpose of a row-major matrix.
template <typename T>
struct Operand {
  const T* ptr;
  index_t ld;
  bool trans;
  index_t rows, cols;  // of op(X)
};

template <typename T>
Operand<T> operand(const py::array_t<T>& x, bool trans, const char* name) {
  if (x.ndim() != 2) fail(std::string(name) + " must be 2-D");
  require_aligned<T>(x, name);
  const index_t r = x.shape(0), c = x.shape(1);
  const index_t s0 = x.strides(0), s1 = x.strides(1), it = sizeof(T);
  Operand<T> op{x.data(), 0, trans, trans ? c : r, trans ? r : c};
  if (r == 0 || c == 0) {
    op.ld = std::max<index_t>(c, 1);  // nothing is read
  } else if ((s1 == it || c <= 1) && s0 > 0 && s0 % it == 0 && s0 / it >= c) {
    op.ld = s0 / it;
  } else if ((s0 == it || r <= 1) && s1 > 0 && s1 % it == 0 && s1 / it >= r) {
    op.ld = s1 / it;
    op.trans = !trans;
  } else if (r <= 1 && c <= 1) {
    op.ld = 1;
  } else {
    fail(std::string(name) + " needs one unit stride (C or Fortran order); copy it first");
  }
  if (op.ld < 1) op.ld = 1;
  return op;
}

template <typename T>
void gemm(carray<T> C, py::array_t<T> A, py::array_t<T> B, bool trans_a, bool trans_b,
          bool accumulate, bool naive) {
  const Operand<T> a = operand(A, trans_a, "A"), b = operand(B, trans_b, "B");
  if (a.cols != b.rows) fail("op(A) and op(B) have different inner dimensions");
  require_shape(C, {a.rows, b.cols}, "C");
  T* c = C.mutable_data();
  py::gil_scoped_release nogil;
  if (naive) {
    nnfast::gemm::gemm_naive<T>(c, std::max<index_t>(b.cols, 1), a.ptr, a.ld, a.trans, b.ptr, b.ld,
                                b.trans, a.rows, b.cols, a.cols, accumulate);
    return;
  }
  nnfast::gemm::gemm<T>(c, std::max<index_t>(b.cols, 1), a.ptr, a.ld, a.trans, b.ptr, b.ld, b.trans, a.rows, b.cols,
    a.cols, accumulate);
}

template <typename T>
void activation_forward(carray<T> A, carray<T> Z, int act, double slope) {
  require_aligned<T>(A, "A");
  require_aligned<T>(Z, "Z");
  if (A.size() != Z.size()) fail("A and Z must have the same size");
  T* a = A.mutable_data();
  py::gil_scoped_release nogil;
  nnfast::nn::activation_forward(a, Z.data(), Z.size(), to_act(act), T(slope));
}

template <typename T>
void activation_backward(carray<T> dZ, carray<T> dA, carray<T> A, int act, double slope) {
  require_aligned<T>(dZ, "dZ");
  require_aligned<T>(dA, "dA");
  require_aligned<T>(A, "A");
  if (dZ.size() != dA.size() || A.size() != dA.size()) fail("dZ, dA and A must have the same size");
  T* dz = dZ.mutable_data();
  py::gil_scoped_release nogil;
  nnfast::nn::activation_backward(dz, dA.data(), A.data(), A.size(), to_act(act), T(slope));
}

template <typename T>
void softmax_forward(carray<T> A, carray<T> Z) {
  require_ndim(Z, 2, "Z");
  require_shape(A, {Z.shape(0), Z.shape(1)}, "A");
  if (Z.shape(1) == 0) fail("Z must have at least one column");
  T* a = A.mutable_data();
  py::gil_scoped_release nogil;
  nnfast::nn::softmax_forward(a, Z.data(), Z.shape(0), Z.shape(1));
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

template <typename T>
double output_loss(carray<T> A, carray<T> dZ, carray<T> Z, carray<T> Y,
                   std::optional<carray<T>> sample_weight, int head) {
  require_ndim(Z, 2, "Z");
  const index_t m = Z.shape(0), k = Z.shape(1);
  if (m == 0 || k == 0) fail("Z must not be empty");
  require_shape(Y, {m, k}, "Y");
  require_shape(A, {m, k}, "A");
  require_shape(dZ, {m, k}, "dZ");
  const Head h = to_head(head);
  const T* w = weights_ptr(sample_weight, m);
  T* a = A.mutable_data();
  T* dz = dZ.mutable_data();
  py::gil_scoped_release nogil;
  return nnfast::nn::output_loss(a, dz, Z.data(), Y.data(), w, m, k, h);
}

template <typename T>
void linear_forward(carray<T> A, carray<T> A_prev, carray<T> W, carray<T> b, int act,
                    double slope) {
  require_ndim(A_prev, 2, "A_prev");
  require_ndim(W, 2, "W");
  const index_t m = A_prev.shape(0), n_in = A_prev.shape(1), n_out = W.shape(1);
  require_shape(W, {n_in, n_out}, "W");
  require_shape(b, {n_out}, "b");
  require_shape(A, {m, n_out}, "A");
  const Act g = to_act(act);
  T* a = A.mutable_data();
  py::gil_scoped_release nogil;
  nnfast::nn::linear_forward(a, A_prev.data(), W.data(), b.data(), m, n_in, n_out, g, T(slope));
}

template <typename T>
void linear_backward(std::optional<carray<T>> dA_prev, carray<T> dW, carray<T> db, carray<T> dZ,
                     carray<T> A_prev, carray<T> W) {
  require_ndim(dZ, 2, "dZ");
  require_ndim(A_prev, 2, "A_prev");
  const index_t m = dZ.shape(0), n_out = dZ.shape(1), n_in = A_prev.shape(1);
  require_shape(A_prev, {m, n_in}, "A_prev");
  require_shape(W, {n_in, n_out}, "W");
  require_shape(dW, {n_in, n_out}, "dW");
  require_shape(db, {n_out}, "db");
  T* da = nullptr;
  if (dA_prev) {
    require_shape(*dA_prev, {m, n_in}, "dA_prev");
    da = dA_prev->mutable_data();
  }
  T* dw = dW.mutable_data();
  T* dbp = db.mutable_data();
  py::gil_scoped_release nogil;
  nnfast::nn::linear_backward(da, dw, dbp, dZ.data(), A_prev.data(), W.data(), m, n_in, n_out);
}

template <typename T>
void sgd_step(carray<T> P, carray<T> G, double lr) {
  require_aligned<T>(P, "P");
  require_aligned<T>(G, "G");
  if (P.size() != G.size()) fail("P and G must have the same size");
  T* p = P.mutable_data();
  py::gil_scoped_release nogil;
  nnfast::nn::sgd_step(p, G.data(), P.size(), T(lr));
}

template <typename T>
bool all_finite(carray<T> x, bool threaded) {
  require_aligned<T>(x, "x");
  const T* p = x.data();
  const index_t n = x.size();
  py::gil_scoped_release nogil;
  // Unthreaded, no OpenMP region is entered at all (see _checks.THREADED_CHECK).
  return threaded ? nnfast::nn::all_finite(p, n) : nnfast::nn::vec_ops<T>().all_finite(p, n);
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

template <typename T>
void forward(py::list As, carray<T> X, py::list Ws, py::list bs, int act, double slope, int head,
             bool logits) {
  auto net = network<T>(Ws, bs, act, slope, head);
  require_ndim(X, 2, "X");
  const index_t m = X.shape(0);
  require_shape(X, {m, net.sizes[0]}, "X");
  if (static_cast<index_t>(As.size()) != net.layers()) fail("As must hold one array per layer");
  std::vector<T*> out;
  for (index_t l = 0; l < net.layers(); ++l) {
    auto A = as_array<T>(As[l], "As", l);
    require_shape(A, {m, net.sizes[l + 1]}, "As[l]");
    out.push_back(A.mutable_data());
  }
  py::gil_scoped_release nogil;
  nnfast::nn::forward(out, X.data(), m, net, logits);
}

template <typename T>
void predict(carray<T> out, carray<T> X, py::list Ws, py::list bs, int act, double slope, int head) {
  auto net = network<T>(Ws, bs, act, slope, head);
  require_ndim(X, 2, "X");
  const index_t m = X.shape(0);
  require_shape(X, {m, net.sizes[0]}, "X");
  require_shape(out, {m, net.sizes.back()}, "out");
  T* o = out.mutable_data();
  py::gil_scoped_release nogil;
  nnfast::nn::predict(o, X.data(), m, net);
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

// ---------------------------------------------------------------------------------------
// The epoch loop (csrc/nn/epochs.h)
// ---------------------------------------------------------------------------------------

// What the field types of a FitConfig leave open, checked before the loop trusts it.
void check_config(const nn::FitConfig& c) {
  auto need = [](bool ok, const char* what) {
    if (!ok) fail(std::string("config.") + what);
  };
  need(c.solver == nn::Solver::Sgd || c.solver == nn::Solver::Adam, "solver is not a Solver");
  need(c.learning_rate == nn::Schedule::Constant || c.learning_rate == nn::Schedule::InvScaling ||
           c.learning_rate == nn::Schedule::Adaptive,
       "learning_rate is not a Schedule");
  need(std::isfinite(c.learning_rate_init) && c.learning_rate_init > 0,
       "learning_rate_init must be a finite number > 0");
  need(std::isfinite(c.power_t) && c.power_t >= 0, "power_t must be a finite number >= 0");
  need(c.momentum >= 0 && c.momentum <= 1, "momentum must be in [0, 1]");
  need(c.beta_1 >= 0 && c.beta_1 < 1, "beta_1 must be in [0, 1)");
  need(c.beta_2 >= 0 && c.beta_2 < 1, "beta_2 must be in [0, 1)");
  need(std::isfinite(c.epsilon) && c.epsilon > 0, "epsilon must be a finite number > 0");
  need(std::isfinite(c.alpha) && c.alpha >= 0, "alpha must be a finite number >= 0");
  need(std::isfinite(c.loss_scale) && c.loss_scale > 0, "loss_scale must be a finite number > 0");
  need(c.tol >= 0, "tol must be >= 0");
  need(c.batch_size >= 1, "batch_size must be >= 1");
  need(c.max_iter >= 1, "max_iter must be >= 1");
  need(c.n_iter_no_change >= 1, "n_iter_no_change must be >= 1");
}

void check_state(const nn::FitState& s) {
  if (!std::isfinite(s.learning_rate) || s.learning_rate < 0)
    fail("state.learning_rate must be a finite number >= 0");
  if (s.adam_t < 0 || s.t < 0 || s.no_improvement_count < 0)
    fail("state.adam_t, state.t and state.no_improvement_count must be >= 0");
}

// A scipy index array (indices or indptr): 1-D, C-contiguous, aligned, of type I.
template <typename I>
bool is_index_array(py::handle a) {
  if (!py::isinstance<py::array_t<I, py::array::c_style>>(a)) return false;
  auto arr = py::reinterpret_borrow<py::array_t<I, py::array::c_style>>(a);
  return arr.ndim() == 1 && reinterpret_cast<std::uintptr_t>(arr.data()) % alignof(I) == 0;
}

// CSR index arrays the loop can trust: indptr (m + 1) non-decreasing from >= 0 to at most
// `stored` (the entries data and indices hold), every column index used in [0, d).
template <typename I>
void check_csr(const I* indptr, const I* indices, index_t m, index_t stored, index_t d) {
  if (indptr[0] < 0) fail("X.indptr[0] must be >= 0");
  for (index_t r = 0; r < m; ++r)
    if (indptr[r + 1] < indptr[r]) fail("X.indptr must be non-decreasing");
  if (index_t(indptr[m]) > stored) fail("X.indptr points past the end of X.data / X.indices");
  for (index_t p = index_t(indptr[0]); p < index_t(indptr[m]); ++p)
    if (indices[p] < 0 || index_t(indices[p]) >= d)
      fail("X.indices holds a column index outside [0, n_features)");
}

// X as the loop reads it (m rows of d values): a C-contiguous (m, d) array of T, or CSR rows
// as the tuple (data, indices, indptr, n_features) of a scipy CSR matrix's own arrays (read
// in place, never copied), indices and indptr both int32 or both int64.
template <typename T>
void training_inputs(nn::TrainingData<T>& td, py::handle X, index_t m, index_t d) {
  if (py::isinstance<carray<T>>(X)) {
    auto x = py::reinterpret_borrow<carray<T>>(X);
    require_shape(x, {m, d}, "X");
    td.X = x.data();
    return;
  }
  if (!py::isinstance<py::tuple>(X) || py::len(X) != 4)
    throw py::type_error("X must be a C-contiguous 2-D array of Y's dtype, or CSR rows as "
                         "(data, indices, indptr, n_features)");
  auto parts = py::reinterpret_borrow<py::tuple>(X);
  if (!py::isinstance<carray<T>>(parts[0]))
    throw py::type_error("X.data must be a C-contiguous array of Y's dtype");
  auto data = py::reinterpret_borrow<carray<T>>(parts[0]);
  require_ndim(data, 1, "X.data");
  if (!py::isinstance<py::int_>(parts[3]) || parts[3].cast<index_t>() != d)
    fail("X's n_features must be the int " + std::to_string(d) + " (the network's inputs)");
  const bool wide = is_index_array<std::int64_t>(parts[1]) && is_index_array<std::int64_t>(parts[2]);
  if (!wide && !(is_index_array<std::int32_t>(parts[1]) && is_index_array<std::int32_t>(parts[2])))
    throw py::type_error("X.indices and X.indptr must be 1-D C-contiguous arrays, both int32 "
                         "or both int64");
  auto indices = py::reinterpret_borrow<py::array>(parts[1]);
  auto indptr = py::reinterpret_borrow<py::array>(parts[2]);
  if (indptr.size() != m + 1) fail("X.indptr must have one entry per row of Y, plus one");
  const index_t stored = std::min<index_t>(data.size(), indices.size());
  if (wide) {
    check_csr(static_cast<const std::int64_t*>(indptr.data()),
              static_cast<const std::int64_t*>(indices.data()), m, stored, d);
  } else {
    check_csr(static_cast<const std::int32_t*>(indptr.data()),
              static_cast<const std::int32_t*>(indices.data()), m, stored, d);
  }
  td.csr = {data.data(), indices.data(), indptr.data(), wide};
}

// Every epoch of a stochastic fit (csrc/nn/epochs.h). `config` is read, `state` (the
// bookkeeping carried across calls) written back, also when a callback raises; the
// optimizer state arrays, the best parameters (early stopping) and the shuffle RNG's
// state (rng: the MT19937 key, 624 words, then the position) are updated in place.
template <typename T>
nn::FitStatus run_epochs(carray<double> loss_curve, py::object X, carray<T> Y,
                         std::optional<carray<T>> sample_weight, py::list Ws, py::list bs,
                         int act, double slope, int head, const nn::FitConfig& config,
                         nn::FitState& state, std::optional<py::list> s1,
                         std::optional<py::list> s2, std::optional<py::list> best,
                         std::optional<carray<std::int64_t>> order,
                         std::optional<py::array_t<std::uint32_t, py::array::c_style>> rng,
                         std::optional<py::function> epoch_end, bool poll_signals) {
  auto net = network<T>(Ws, bs, act, slope, head, true);
  require_ndim(Y, 2, "Y");
  const index_t m = Y.shape(0);
  if (m < 1) fail("Y must have at least one row");
  require_shape(Y, {m, net.sizes.back()}, "Y");
  nn::TrainingData<T> data;
  training_inputs(data, X, m, net.sizes[0]);
  data.Y = Y.data();
  data.w = weights_ptr(sample_weight, m);
  data.m = m;

  // Copies: a callback may change the Python objects while the loop runs.
  const nn::FitConfig cfg = config;
  check_config(cfg);
  nn::FitState st = state;
  check_state(st);
  require_shape(loss_curve, {index_t(cfg.max_iter)}, "loss_curve");

  nn::SolverState<T> opt;
  opt.s1 = param_arrays(s1, net, "optimizer state");
  opt.s2 = param_arrays(s2, net, "optimizer state");
  const bool sgd_needs = cfg.solver == nn::Solver::Sgd && (cfg.momentum != 0 || cfg.nesterovs_momentum);
  if ((cfg.solver == nn::Solver::Adam && (opt.s1.empty() || opt.s2.empty())) ||
      (sgd_needs && opt.s1.empty()))
    fail("the solver needs its state arrays");
  std::vector<T*> best_all = param_arrays(best, net, "best parameters");
  if (cfg.early_stopping && best_all.empty()) fail("early stopping needs arrays for the best parameters");
  const index_t L = net.layers();
  std::vector<T*> best_W(best_all.begin(), best_all.begin() + (best_all.empty() ? 0 : L));
  std::vector<T*> best_b(best_all.begin() + (best_all.empty() ? 0 : L), best_all.end());

  nn::RowOrder ord;
  nn::LegacyRng gen;
  if (order) {
    require_ndim(*order, 2, "order");
    ord.n = order->shape(1);
    require_shape(*order, {index_t(cfg.max_iter), ord.n}, "order");
    if (ord.n < 1) fail("order must not be empty");
    ord.rows = order->data();
    for (index_t i = 0; i < order->size(); ++i)
      if (ord.rows[i] < 0 || ord.rows[i] >= m) fail("order holds a row index outside [0, m)");
  } else if (rng) {
    require_shape(*rng, {nn::LegacyRng::kN + 1}, "rng");
    const std::uint32_t pos = rng->data()[nn::LegacyRng::kN];
    if (pos > std::uint32_t(nn::LegacyRng::kN)) fail("rng's position (its last word) must be <= 624");
    std::memcpy(gen.key, rng->data(), sizeof(gen.key));
    gen.pos = int(pos);
    ord.rng = &gen;
  }

  nn::EpochHooks<T> hooks;
  if (epoch_end) {
    hooks.epoch_end = [&](std::int64_t epoch, double loss, double* val) {
      py::gil_scoped_acquire gil;
      py::object r = (*epoch_end)(epoch, loss);
      if (!py::isinstance<py::tuple>(r) || py::len(r) != 2)
        throw py::type_error("epoch_end must return (continue, validation_score)");
      auto t = r.cast<py::tuple>();
      if (!t[1].is_none()) *val = t[1].cast<double>();
      return t[0].cast<bool>();
    };
  }
  if (poll_signals) {
    hooks.interrupted = [] {
      py::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() == 0) return false;
      PyErr_Clear();  // reported through the status: the caller raises or warns
      return true;
    };
  }

  // The state reaches Python however the loop ends: a callback's exception (Ctrl-C in
  // Python code) leaves it as of the last completed epoch, the RNG where it stopped.
  auto write_back = [&] {
    state = st;
    if (ord.rng) {
      std::uint32_t* out = rng->mutable_data();
      std::memcpy(out, gen.key, sizeof(gen.key));
      out[nn::LegacyRng::kN] = std::uint32_t(gen.pos);
    }
  };
  double* curve = loss_curve.mutable_data();
  nn::FitStatus status;
  try {
    py::gil_scoped_release nogil;
    nn::EpochLoop<T> loop(net, cfg, st, opt, best_W, best_b);
    status = loop.run(curve, data, ord, hooks);
  } catch (...) {
    write_back();
    throw;
  }
  write_back();
  return status;
}


template <typename T>
double loss_and_gradients(py::list dWs, py::list dbs, carray<T> X, carray<T> Y, py::list Ws,
                          py::list bs, int act, double slope, int head, double alpha,
                          std::optional<carray<T>> sample_weight) {
  auto net = network<T>(Ws, bs, act, slope, head);
  require_ndim(X, 2, "X");
  const index_t m = X.shape(0);
  if (m < 1) fail("X must have at least one row");
  require_shape(X, {m, net.sizes[0]}, "X");
  require_shape(Y, {m, net.sizes.back()}, "Y");
  auto gW = layer_outputs(dWs, net, "dWs", false), gb = layer_outputs(dbs, net, "dbs", true);
  const T* w = weights_ptr(sample_weight, m);
  py::gil_scoped_release nogil;
  return nnfast::nn::loss_and_gradients(gW, gb, net, X.data(), Y.data(), w, m, alpha);
}

template <typename T>
void backward(py::list dWs, py::list dbs, py::list As, carray<T> dZ, py::list Ws, int act,
              double slope) {
  auto net = network<T>(Ws, std::nullopt, act, slope, 0);
  require_ndim(dZ, 2, "dZ");
  const index_t m = dZ.shape(0), L = net.layers();
  require_shape(dZ, {m, net.sizes.back()}, "dZ");
  if (static_cast<index_t>(As.size()) < L) fail("activations must hold A[0]..A[L-1]");
  std::vector<T*> acts;
  for (index_t l = 0; l < L; ++l) {
    auto A = as_array<T>(As[l], "activations", l);
    require_shape(A, {m, net.sizes[l]}, "activations[l]");
    acts.push_back(const_cast<T*>(A.data()));  // backprop only reads them
  }
  auto gW = layer_outputs(dWs, net, "dWs", false), gb = layer_outputs(dbs, net, "dbs", true);
  // Backprop consumes its dZ: work on a copy, never the caller's array.
  std::vector<T> dz(dZ.data(), dZ.data() + dZ.size()), da(static_cast<size_t>(m * net.widest()));
  dz.resize(da.size());
  const T* X = acts[0];
  acts.erase(acts.begin());
  py::gil_scoped_release nogil;
  nnfast::nn::backprop_gradients(net, acts, X, dz.data(), da.data(), m, 0.0, double(m), gW, gb);
}

template <typename T>
void register_dtype(py::module_& m) {
  using py::arg;
  m.def("gemm", &gemm<T>, arg("C").noconvert(), arg("A").noconvert(), arg("B").noconvert(),
        arg("trans_a"), arg("trans_b"), arg("accumulate") = false, arg("naive") = false,
        "C (+)= op(A) @ op(B); A and B may be C- or Fortran-ordered.");
  m.def("activation_forward", &activation_forward<T>, arg("A").noconvert(), arg("Z").noconvert(),
        arg("act"), arg("slope"));
  m.def("activation_backward", &activation_backward<T>, arg("dZ").noconvert(),
        arg("dA").noconvert(), arg("A").noconvert(), arg("act"), arg("slope"));
  m.def("softmax_forward", &softmax_forward<T>, arg("A").noconvert(), arg("Z").noconvert());
  m.def("output_loss", &output_loss<T>, arg("A").noconvert(), arg("dZ").noconvert(),
        arg("Z").noconvert(), arg("Y").noconvert(), arg("sample_weight").noconvert().none(true),
        arg("head"), "Writes A and dZ = w (A - Y) / sum(w); returns the weighted loss sum.");
  m.def("linear_forward", &linear_forward<T>, arg("A").noconvert(), arg("A_prev").noconvert(),
        arg("W").noconvert(), arg("b").noconvert(), arg("act"), arg("slope"));
  m.def("linear_backward", &linear_backward<T>, arg("dA_prev").noconvert().none(true),
        arg("dW").noconvert(), arg("db").noconvert(), arg("dZ").noconvert(),
        arg("A_prev").noconvert(), arg("W").noconvert());
  m.def("sgd_step", &sgd_step<T>, arg("P").noconvert(), arg("G").noconvert(), arg("lr"));
  m.def("all_finite", &all_finite<T>, arg("x").noconvert(), arg("threaded") = true,
        "Whether the C-contiguous array x holds no NaN or infinity (a scan on the OpenMP "
        "threads, or on the calling thread alone).");
  m.def("forward", &forward<T>, arg("As"), arg("X").noconvert(), arg("Ws"), arg("bs"),
        arg("act"), arg("slope"), arg("head"), arg("logits"));
  m.def("predict", &predict<T>, arg("out").noconvert(), arg("X").noconvert(), arg("Ws"),
        arg("bs"), arg("act"), arg("slope"), arg("head"));
  m.def("loss_and_gradients", &loss_and_gradients<T>, arg("dWs"), arg("dbs"),
        arg("X").noconvert(), arg("Y").noconvert(), arg("Ws"), arg("bs"), arg("act"),
        arg("slope"), arg("head"), arg("alpha"),
        arg("sample_weight").noconvert().none(true) = py::none(),
        "Forward, fused output loss, backprop and L2 term in one call; writes dWs, dbs, returns J.");
  m.def("backward", &backward<T>, arg("dWs"), arg("dbs"), arg("activations"),
        arg("dZ").noconvert(), arg("Ws"), arg("act"), arg("slope"),
        "Backprop from dZ = dJ/dZ[L] given A[0]..A[L-1]; writes dWs, dbs.");
  m.def("run_epochs", &run_epochs<T>, arg("loss_curve").noconvert(), arg("X"),
        arg("Y").noconvert(), arg("sample_weight").noconvert().none(true), arg("Ws"), arg("bs"),
        arg("act"), arg("slope"), arg("head"), arg("config"), arg("state"),
        arg("s1").none(true), arg("s2").none(true), arg("best").none(true),
        arg("order").noconvert().none(true), arg("rng").noconvert().none(true),
        arg("epoch_end").none(true), arg("poll_signals"),
        "Every epoch of a stochastic fit in C++ (batches, solver, schedule, stopping rules); "
        "X dense or CSR rows (data, indices, indptr, n_features). Returns a FitStatus.");
}

}  // namespace

namespace {
// GNU libgomp's thread pool does not survive fork(): a child that enters a parallel region
// waits forever for threads that were not copied. Children therefore run the kernels on one
// thread (they never enter the OpenMP runtime then), as PyTorch does; once the parent has
// run a team, for good (max_threads() in common.h), since a later set_num_threads or
// threadpoolctl limit in the child would bring the hang back.
void one_thread_after_fork() {
#ifdef _OPENMP
  omp_set_num_threads(1);
  if (nnfast::g_teams_started.load()) nnfast::g_forked_after_teams.store(true);
#endif
}
}  // namespace

namespace {
// A struct's fields as Python attributes, plus a keyword constructor that takes exactly
// those names (any other raises TypeError) and a repr listing them.
template <typename C>
class Fields {
 public:
  Fields(py::module_& m, const char* name, const char* doc) : cls_(m, name, doc), name_(name) {}
  template <typename M>
  Fields& field(const char* n, M C::*p, const char* doc) {
    cls_.def_readwrite(n, p, doc);
    names_->push_back(n);
    return *this;
  }
  void finish() {
    auto names = names_;
    const std::string cls_name = name_;
    cls_.def(py::init([names, cls_name](const py::kwargs& kw) {
               py::object self = py::cast(C{});
               for (auto item : kw) {
                 const std::string key = py::str(item.first);
                 if (std::find(names->begin(), names->end(), key) == names->end())
                   throw py::type_error(cls_name + "() got an unexpected keyword argument '" +
                                        key + "'");
                 self.attr(key.c_str()) = item.second;
               }
               return self.cast<C>();
             }),
             "Defaults, then the given fields (keywords named as the attributes).");
    cls_.def("__repr__", [names, cls_name](py::object self) {
      std::string out = cls_name + "(";
      for (size_t i = 0; i < names->size(); ++i)
        out += (i ? ", " : "") + (*names)[i] + "=" +
               std::string(py::repr(self.attr((*names)[i].c_str())));
      return out + ")";
    });
  }

 private:
  py::class_<C> cls_;
  std::string name_;
  std::shared_ptr<std::vector<std::string>> names_ = std::make_shared<std::vector<std::string>>();
};

// The enums and structs shared with Python: the one definition of their names and codes
// (nnfast._codes derives its name tables from these).
void register_types(py::module_& m) {
  py::enum_<nn::Act>(m, "Activation", "Hidden-layer activations (csrc/nn/activations.h).")
      .value("identity", nn::Act::Identity)
      .value("logistic", nn::Act::Logistic)
      .value("tanh", nn::Act::Tanh)
      .value("relu", nn::Act::Relu)
      .value("leaky_relu", nn::Act::LeakyRelu);
  py::enum_<nn::Head>(m, "Head", "Output layers with their losses (csrc/nn/output_loss.h).")
      .value("identity", nn::Head::Identity)
      .value("logistic", nn::Head::Logistic)
      .value("softmax", nn::Head::Softmax)
      .value("exp", nn::Head::Exp);
  py::enum_<nn::Solver>(m, "Solver", "The stochastic solvers (csrc/nn/optimizers.h).")
      .value("sgd", nn::Solver::Sgd)
      .value("adam", nn::Solver::Adam);
  py::enum_<nn::Schedule>(m, "Schedule", "SGD's learning-rate schedules (csrc/nn/epochs.h).")
      .value("constant", nn::Schedule::Constant)
      .value("invscaling", nn::Schedule::InvScaling)
      .value("adaptive", nn::Schedule::Adaptive);
  py::enum_<nn::FitStatus>(m, "FitStatus", "How run_epochs ended (csrc/nn/epochs.h).")
      .value("max_iter", nn::FitStatus::MaxIter)
      .value("converged", nn::FitStatus::Converged)
      .value("incremental", nn::FitStatus::Incremental)
      .value("stopped", nn::FitStatus::Stopped)
      .value("interrupted", nn::FitStatus::Interrupted)
      .value("diverged", nn::FitStatus::Diverged);

  using C = nn::FitConfig;
  Fields<C>(m, "FitConfig", "A stochastic fit's hyper-parameters, named as scikit-learn's MLP "
                            "names them (csrc/nn/epochs.h).")
      .field("solver", &C::solver, "Solver")
      .field("learning_rate_init", &C::learning_rate_init, "η₀")
      .field("learning_rate", &C::learning_rate, "Schedule (SGD)")
      .field("power_t", &C::power_t, "invscaling's exponent")
      .field("momentum", &C::momentum, "SGD's μ")
      .field("nesterovs_momentum", &C::nesterovs_momentum, "SGD: Nesterov's momentum")
      .field("beta_1", &C::beta_1, "Adam's β₁")
      .field("beta_2", &C::beta_2, "Adam's β₂")
      .field("epsilon", &C::epsilon, "Adam's ε")
      .field("alpha", &C::alpha, "the L2 term's weight")
      .field("loss_scale", &C::loss_scale,
             "multiplies the data term of the reported loss (1 / n_outputs: scikit-learn's "
             "squared error)")
      .field("batch_size", &C::batch_size, "rows per batch (clipped to the rows per epoch)")
      .field("max_iter", &C::max_iter, "epochs at most")
      .field("tol", &C::tol, "the no-improvement rule's tolerance")
      .field("n_iter_no_change", &C::n_iter_no_change, "the no-improvement rule's patience")
      .field("incremental", &C::incremental, "one epoch (partial_fit)")
      .field("early_stopping", &C::early_stopping,
             "the rule reads epoch_end's validation score and keeps the best parameters")
      .finish();
  using S = nn::FitState;
  Fields<S>(m, "FitState", "The bookkeeping a fit carries across calls, named after the "
                           "scikit-learn attributes it becomes (csrc/nn/epochs.h).")
      .field("learning_rate", &S::learning_rate, "_optimizer.learning_rate")
      .field("adam_t", &S::adam_t, "_optimizer.t (Adam's steps)")
      .field("t", &S::t, "t_: samples seen")
      .field("n_iter", &S::n_iter, "epochs run by the last call")
      .field("loss", &S::loss, "loss_: the last epoch's loss")
      .field("best_loss", &S::best_loss, "best_loss_")
      .field("best_validation_score", &S::best_validation_score, "best_validation_score_")
      .field("no_improvement_count", &S::no_improvement_count, "_no_improvement_count")
      .finish();
}
}  // namespace

PYBIND11_MODULE(_core, m) {
#if defined(__unix__) || defined(__APPLE__)
  pthread_atfork(nullptr, nullptr, one_thread_after_fork);
#endif
  m.doc() = "nnfast's C++ kernels. Use nnfast / nnfast.functional, which validate arguments.";
  // The GEMM microkernel is chosen here, once, from cpuid (or NNFAST_GEMM_ISA).
  if (std::string err = nnfast::gemm::select_isa(); !err.empty()) throw py::import_error(err);
  nnfast::nn::select_vec_ops(nnfast::gemm::active_isa());
  nnfast::nn::select_update_ops(nnfast::gemm::active_isa());
  register_types(m);
  register_dtype<float>(m);
  register_dtype<double>(m);
  m.def(
      "fma_peak_gflops",
      [](bool f32, double seconds) {
        py::gil_scoped_release nogil;
        return nnfast::fma_peak_gflops(f32, seconds);
      },
      py::arg("f32") = true, py::arg("seconds") = 0.2,
      "Measured FMA peak of one core, GFLOP/s, with the active GEMM ISA's vectors.");
  m.def(
      "set_num_threads",
      [](int n) {
        if (n < 1) fail("the number of threads must be >= 1");
#ifdef _OPENMP
        omp_set_num_threads(n);
#endif
      },
      py::arg("n"),
      "Threads the kernels may use from now on, for calls made from this Python thread.");
  m.def("get_num_threads", [] { return nnfast::max_threads(); },
        "Threads the kernels may use for calls made from this Python thread.");
  m.def("config", [] {
    py::dict d;
    d["version"] = NNFAST_VERSION;
    d["compiled_simd"] = nnfast::compiled_simd();
    d["cpu_features"] = nnfast::cpu_features();
    d["gemm_kernel"] = nnfast::selected_kernel();
    d["openmp"] = nnfast::openmp_enabled();
    d["max_threads"] = nnfast::max_threads();
    return d;
  });
}
