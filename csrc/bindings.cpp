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
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "cpu.h"
#include "peak.h"
#include "gemm/gemm.h"
#include "nn/activations.h"
#include "nn/fit.h"
#include "nn/linear.h"
#include "nn/network.h"
#include "nn/output_loss.h"

namespace py = pybind11;
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

template <typename T>
double get(const py::dict& d, const char* key) {
  if (!d.contains(key)) fail(std::string("fit config lacks '") + key + "'");
  return d[key].cast<T>();
}

// A whole fit (see csrc/nn/fit.h). `config` holds the hyper-parameters, `state` the
// bookkeeping carried across calls (updated in place); optimizer state arrays, the best
// parameters (early stopping) and the shuffle RNG's key are updated in place too.
// Returns (status, rng_pos).
template <typename T>
std::pair<int, int> fit(carray<double> loss_curve, carray<T> X, carray<T> Y,
                        std::optional<carray<T>> sample_weight, py::list Ws, py::list bs, int act,
                        double slope, int head, py::dict config, py::dict state,
                        std::optional<py::list> s1, std::optional<py::list> s2,
                        std::optional<py::list> best, std::optional<carray<std::int64_t>> order,
                        std::optional<py::array_t<std::uint32_t, py::array::c_style>> rng_key,
                        int rng_pos, std::optional<py::function> epoch_end, bool poll_signals) {
  auto net = network<T>(Ws, bs, act, slope, head, true);
  require_ndim(X, 2, "X");
  const index_t m = X.shape(0);
  if (m < 1) fail("X must have at least one row");
  require_shape(X, {m, net.sizes[0]}, "X");
  require_shape(Y, {m, net.sizes.back()}, "Y");
  const T* w = weights_ptr(sample_weight, m);

  nnfast::nn::FitConfig cfg;
  cfg.solver = static_cast<nnfast::nn::Solver>(get<int>(config, "solver"));
  cfg.lr_init = get<double>(config, "learning_rate_init");
  cfg.schedule = static_cast<nnfast::nn::Schedule>(get<int>(config, "schedule"));
  cfg.power_t = get<double>(config, "power_t");
  cfg.momentum = get<double>(config, "momentum");
  cfg.nesterov = get<bool>(config, "nesterov");
  cfg.beta1 = get<double>(config, "beta_1");
  cfg.beta2 = get<double>(config, "beta_2");
  cfg.epsilon = get<double>(config, "epsilon");
  cfg.alpha = get<double>(config, "alpha");
  cfg.loss_scale = get<double>(config, "loss_scale");
  cfg.batch = get<index_t>(config, "batch_size");
  cfg.max_iter = get<index_t>(config, "max_iter");
  cfg.tol = get<double>(config, "tol");
  cfg.n_iter_no_change = get<index_t>(config, "n_iter_no_change");
  cfg.incremental = get<bool>(config, "incremental");
  cfg.early_stopping = get<bool>(config, "early_stopping");
  if (int(cfg.solver) < 0 || int(cfg.solver) > 1) fail("unknown solver code");
  if (int(cfg.schedule) < 0 || int(cfg.schedule) > 2) fail("unknown learning-rate schedule code");
  if (cfg.batch < 1 || cfg.max_iter < 1) fail("batch_size and max_iter must be >= 1");
  require_shape(loss_curve, {cfg.max_iter}, "loss_curve");

  nnfast::nn::FitState st;
  st.learning_rate = get<double>(state, "learning_rate");
  st.adam_t = get<std::int64_t>(state, "adam_t");
  st.t = get<double>(state, "t");
  st.best_loss = get<double>(state, "best_loss");
  st.best_val = get<double>(state, "best_validation_score");
  st.no_improvement = get<std::int64_t>(state, "no_improvement_count");

  nnfast::nn::SolverState<T> opt;
  opt.s1 = param_arrays(s1, net, "optimizer state");
  opt.s2 = param_arrays(s2, net, "optimizer state");
  const bool sgd_needs = cfg.solver == nnfast::nn::Solver::Sgd && (cfg.momentum != 0 || cfg.nesterov);
  if ((cfg.solver == nnfast::nn::Solver::Adam && (opt.s1.empty() || opt.s2.empty())) ||
      (sgd_needs && opt.s1.empty()))
    fail("the solver needs its state arrays");
  std::vector<T*> best_all = param_arrays(best, net, "best parameters");
  if (cfg.early_stopping && best_all.empty()) fail("early stopping needs arrays for the best parameters");
  const index_t L = net.layers();
  std::vector<T*> best_W(best_all.begin(), best_all.begin() + (best_all.empty() ? 0 : L));
  std::vector<T*> best_b(best_all.begin() + (best_all.empty() ? 0 : L), best_all.end());

  nnfast::nn::RowOrder ord;
  nnfast::nn::LegacyRng rng;
  if (order) {
    require_ndim(*order, 2, "order");
    ord.n = order->shape(1);
    require_shape(*order, {cfg.max_iter, ord.n}, "order");
    if (ord.n < 1) fail("order must not be empty");
    ord.rows = order->data();
    for (index_t i = 0; i < order->size(); ++i)
      if (ord.rows[i] < 0 || ord.rows[i] >= m) fail("order holds a row index outside [0, m)");
  } else if (rng_key) {
    require_shape(*rng_key, {nnfast::nn::LegacyRng::kN}, "rng_key");
    if (rng_pos < 0 || rng_pos > nnfast::nn::LegacyRng::kN) fail("rng_pos out of range");
    std::memcpy(rng.key, rng_key->data(), sizeof(rng.key));
    rng.pos = rng_pos;
    ord.rng = &rng;
  }

  nnfast::nn::FitHooks<T> hooks;
  if (epoch_end) {
    hooks.epoch_end = [&](std::int64_t epoch, double loss, double* val) {
      py::gil_scoped_acquire gil;
      py::object r = (*epoch_end)(epoch, loss);
      auto t = r.cast<py::tuple>();
      if (t.size() != 2) throw py::type_error("epoch_end must return (continue, validation_score)");
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

  double* curve = loss_curve.mutable_data();
  nnfast::nn::FitStatus status;
  {
    py::gil_scoped_release nogil;
    nnfast::nn::Fitter<T> fitter(net, cfg, st, opt, best_W, best_b);
    status = fitter.run(curve, X.data(), Y.data(), w, m, ord, hooks);
  }
  state["learning_rate"] = st.learning_rate;
  state["adam_t"] = st.adam_t;
  state["t"] = st.t;
  state["n_iter"] = st.n_iter;
  state["loss"] = st.loss;
  state["best_loss"] = st.best_loss;
  state["best_validation_score"] = st.best_val;
  state["no_improvement_count"] = st.no_improvement;
  if (ord.rng) std::memcpy(rng_key->mutable_data(), rng.key, sizeof(rng.key));
  return {static_cast<int>(status), ord.rng ? rng.pos : rng_pos};
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
  m.def("fit", &fit<T>, arg("loss_curve").noconvert(), arg("X").noconvert(),
        arg("Y").noconvert(), arg("sample_weight").noconvert().none(true), arg("Ws"), arg("bs"),
        arg("act"), arg("slope"), arg("head"), arg("config"), arg("state"),
        arg("s1").none(true), arg("s2").none(true), arg("best").none(true),
        arg("order").noconvert().none(true), arg("rng_key").noconvert().none(true),
        arg("rng_pos"), arg("epoch_end").none(true), arg("poll_signals"),
        "A whole fit in C++ (epochs, solver, schedule, stopping rules); returns (status, rng_pos).");
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

PYBIND11_MODULE(_core, m) {
#if defined(__unix__) || defined(__APPLE__)
  pthread_atfork(nullptr, nullptr, one_thread_after_fork);
#endif
  m.doc() = "nnfast's C++ kernels. Use nnfast / nnfast.functional, which validate arguments.";
  // The GEMM microkernel is chosen here, once, from cpuid (or NNFAST_GEMM_ISA).
  if (std::string err = nnfast::gemm::select_isa(); !err.empty()) throw py::import_error(err);
  nnfast::nn::select_vec_ops(nnfast::gemm::active_isa());
  nnfast::nn::select_update_ops(nnfast::gemm::active_isa());
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
