// The epoch loop's binding (csrc/nn/epochs.h): its enums and its FitConfig / FitState
// classes, defined here once for Python, and run_epochs, which checks every argument
// (CSR arrays included) before it releases the GIL.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bind_checks.h"
#include "nn/epochs.h"

namespace nnfast::bind {

namespace nn = nnfast::nn;

// What the field types of a FitConfig leave open, checked before the loop trusts it.
inline void check_config(const nn::FitConfig& c) {
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
  need(c.reduction_chunks >= 0 && c.reduction_chunks <= std::min(c.batch_size, nn::kMaxChunks),
       "reduction_chunks must be in [0, min(batch_size, MAX_REDUCTION_CHUNKS)] (0: off)");
}

using bytes_array = py::array_t<std::uint8_t, py::array::c_style>;

// The route of a distributed fit's chunk gradients: (ranks, rank, send, recv, run, shard),
// send and recv uint8 arrays sized by exchange_sizes (this rank's message; all of them end
// to end), run() a Python callable that fills recv from every rank's send (an Allgatherv),
// shard None (every rank holds all rows) or (local_batch, steps, n_total) (nn::Exchange).
template <typename T>
nn::Exchange exchange_route(py::handle route, index_t S, const nn::Network<T>& net) {
  const index_t n_params = net.params();
  if (!py::isinstance<py::tuple>(route) || py::len(route) != 6)
    throw py::type_error("exchange must be (ranks, rank, send, recv, run, shard)");
  auto t = py::reinterpret_borrow<py::tuple>(route);
  nn::Exchange ex;
  try {
    ex.ranks = t[0].cast<index_t>();
    ex.rank = t[1].cast<index_t>();
  } catch (const py::cast_error&) {
    throw py::type_error("exchange's ranks and rank must be ints");
  }
  if (S < 1) fail("a distributed fit needs reduction_chunks >= 1");
  if (ex.ranks < 1 || ex.ranks > S || S % ex.ranks != 0)
    fail("reduction_chunks (" + std::to_string(S) + ") must be a multiple of the number of "
         "processes (" + std::to_string(ex.ranks) + ")");
  if (ex.rank < 0 || ex.rank >= ex.ranks) fail("exchange's rank must be in [0, ranks)");
  if (!py::isinstance<bytes_array>(t[2]) || !py::isinstance<bytes_array>(t[3]))
    throw py::type_error("exchange's send and recv must be C-contiguous uint8 arrays");
  auto send = py::reinterpret_borrow<bytes_array>(t[2]);
  auto recv = py::reinterpret_borrow<bytes_array>(t[3]);
  index_t total = 0;
  for (index_t r = 0; r < ex.ranks; ++r)
    total += nn::message_bytes(S, ex.ranks, r, n_params, sizeof(T));
  if (send.size() != nn::message_bytes(S, ex.ranks, ex.rank, n_params, sizeof(T)) ||
      recv.size() != total)
    fail("exchange's send and recv must have the sizes exchange_sizes gives");
  if (reinterpret_cast<std::uintptr_t>(recv.data()) % alignof(double) != 0 ||
      reinterpret_cast<std::uintptr_t>(send.data()) % alignof(double) != 0)
    fail("exchange's send and recv must be aligned to 8 bytes");
  if (!py::isinstance<py::function>(t[4])) throw py::type_error("exchange's run must be callable");
  ex.send = send.mutable_data();
  ex.recv = recv.mutable_data();
  auto run = py::reinterpret_borrow<py::function>(t[4]);
  ex.run = [run] {
    py::gil_scoped_acquire gil;
    run();
  };
  if (!t[5].is_none()) {  // sharded rows: (local_batch, steps, n_total)
    try {
      auto shard = t[5].cast<std::tuple<index_t, index_t, index_t>>();
      ex.local_batch = std::get<0>(shard);
      ex.steps = std::get<1>(shard);
      ex.n_total = std::get<2>(shard);
    } catch (const py::cast_error&) {
      throw py::type_error("exchange's shard must be None or (local_batch, steps, n_total)");
    }
    // steps: the longest shard's batches, so at most ceil(n_total / local_batch)
    if (ex.local_batch < 1 || ex.steps < 1 || ex.n_total < 1 || ex.local_batch > ex.n_total ||
        ex.steps > (ex.n_total + ex.local_batch - 1) / ex.local_batch)
      fail("exchange's shard (local_batch, steps, n_total) must be positive, local_batch at "
           "most n_total and steps at most ceil(n_total / local_batch)");
  }
  return ex;
}

inline void check_state(const nn::FitState& s) {
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

// The training set as the loops read it: X (dense or CSR rows, see training_inputs), Y (m x
// the network's outputs, m >= 1), sample weights (m) or none.
template <typename T>
nn::TrainingData<T> training_data(py::handle X, const carray<T>& Y,
                                  const std::optional<carray<T>>& sample_weight,
                                  const nn::Network<T>& net) {
  require_ndim(Y, 2, "Y");
  const index_t m = Y.shape(0);
  if (m < 1) fail("Y must have at least one row");
  require_shape(Y, {m, net.sizes.back()}, "Y");
  nn::TrainingData<T> data;
  training_inputs(data, X, m, net.sizes[0]);
  data.Y = Y.data();
  data.w = weights_ptr(sample_weight, m);
  data.m = m;
  return data;
}

// Every epoch of a stochastic fit (csrc/nn/epochs.h). `config` is read, `state` (the
// bookkeeping carried across calls) written back, also when a callback raises; the
// optimizer state arrays, the best parameters (early stopping) and the shuffle RNG's
// state (rng: the MT19937 key, 624 words, then the position) are updated in place, and
// each completed epoch's loss is appended to loss_curve (a list, so nothing is sized by
// max_iter, which may be as large as an int64 holds).
template <typename T>
nn::FitStatus run_epochs(py::list loss_curve, py::object X, carray<T> Y,
                         std::optional<carray<T>> sample_weight, py::list Ws, py::list bs,
                         int act, double slope, int head, const nn::FitConfig& config,
                         nn::FitState& state, std::optional<py::list> s1,
                         std::optional<py::list> s2, std::optional<py::list> best,
                         std::optional<carray<std::int64_t>> order,
                         std::optional<py::array_t<std::uint32_t, py::array::c_style>> rng,
                         std::optional<py::function> epoch_end, bool poll_signals,
                         std::optional<py::tuple> exchange) {
  auto net = network<T>(Ws, bs, act, slope, head, true);
  const nn::TrainingData<T> data = training_data(X, Y, sample_weight, net);
  const index_t m = data.m;

  // Copies: a callback may change the Python objects while the loop runs.
  const nn::FitConfig cfg = config;
  check_config(cfg);
  nn::FitState st = state;
  check_state(st);

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
  std::uint32_t* rng_out = nullptr;
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
    rng_out = rng->mutable_data();  // here, not after the loop: a read-only array raises now
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
      try {
        if (!t[1].is_none()) *val = t[1].cast<double>();
        return t[0].cast<bool>();
      } catch (const py::cast_error&) {
        throw py::type_error("epoch_end must return (bool, float or None)");
      }
    };
  }
  if (exchange) {
    hooks.exchange = exchange_route<T>(*exchange, cfg.reduction_chunks, net);
    if (hooks.exchange.sharded() && m > hooks.exchange.n_total)
      fail("exchange's n_total must count this rank's rows too");
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
  std::vector<double> curve;
  auto write_back = [&] {
    state = st;
    // One NumPy array, turned into floats by its tolist: appending 5000 losses one
    // py::float_ at a time was 2 % of the XOR benchmark's 5000-epoch fit.
    py::array_t<double> losses(static_cast<py::ssize_t>(curve.size()));
    if (!curve.empty()) std::memcpy(losses.mutable_data(), curve.data(), curve.size() * sizeof(double));
    loss_curve.attr("extend")(losses.attr("tolist")());
    if (rng_out) {
      std::memcpy(rng_out, gen.key, sizeof(gen.key));
      rng_out[nn::LegacyRng::kN] = std::uint32_t(gen.pos);
    }
  };
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
inline void register_types(py::module_& m) {
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
      .field("reduction_chunks", &C::reduction_chunks,
             "S > 0: each batch's gradient as S chunk gradients added in a fixed tree (0: off)")
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

// L-BFGS's whole-data J and gradients (written to dWs, dbs; L2 term included, the data
// term times loss_scale) as `chunks` chunk gradients added in the fixed tree, with the
// other ranks of `exchange` when given (csrc/nn/epochs.h, chunked_loss_and_gradients).
template <typename T>
double chunked_loss_and_gradients(py::list dWs, py::list dbs, py::object X, carray<T> Y,
                                  std::optional<carray<T>> sample_weight, py::list Ws,
                                  py::list bs, int act, double slope, int head, double alpha,
                                  double loss_scale, index_t chunks,
                                  std::optional<py::tuple> exchange) {
  auto net = network<T>(Ws, bs, act, slope, head);
  const nn::TrainingData<T> data = training_data(X, Y, sample_weight, net);
  const index_t m = data.m;
  if (chunks < 1 || chunks > std::min(m, nn::kMaxChunks))
    fail("chunks must be in [1, min(rows, MAX_REDUCTION_CHUNKS)]");
  if (!std::isfinite(alpha) || alpha < 0) fail("alpha must be a finite number >= 0");
  if (!std::isfinite(loss_scale) || loss_scale <= 0) fail("loss_scale must be a finite number > 0");
  auto gW = layer_outputs(dWs, net, "dWs", false), gb = layer_outputs(dbs, net, "dbs", true);
  nn::Exchange ex;
  if (exchange) {
    ex = exchange_route<T>(*exchange, chunks, net);
    if (ex.sharded()) fail("the whole-data gradient takes every row on every rank (no shard)");
  }
  py::gil_scoped_release nogil;
  return nn::chunked_loss_and_gradients(net, data, chunks, ex, alpha, loss_scale, gW, gb);
}

// Bytes of each rank's message in a distributed fit (csrc/nn/chunks.h), rank 0 first.
inline std::vector<index_t> exchange_sizes(index_t S, index_t K, index_t n_params, index_t itemsize) {
  if (S < 1 || S > nn::kMaxChunks || K < 1 || K > S || S % K != 0)
    fail("reduction_chunks must be a positive multiple of the process count, at most "
         "MAX_REDUCTION_CHUNKS");
  if (n_params < 1 || (itemsize != 4 && itemsize != 8)) fail("n_params must be >= 1 and itemsize 4 or 8");
  std::vector<index_t> out;
  for (index_t r = 0; r < K; ++r) out.push_back(nn::message_bytes(S, K, r, n_params, itemsize));
  return out;
}

template <typename T>
void register_epochs(py::module_& m) {
  using py::arg;
  m.def("run_epochs", &run_epochs<T>, arg("loss_curve"), arg("X"),
        arg("Y").noconvert(), arg("sample_weight").noconvert().none(true), arg("Ws"), arg("bs"),
        arg("act"), arg("slope"), arg("head"), arg("config"), arg("state"),
        arg("s1").none(true), arg("s2").none(true), arg("best").none(true),
        arg("order").noconvert().none(true), arg("rng").noconvert().none(true),
        arg("epoch_end").none(true), arg("poll_signals"), arg("exchange").none(true) = py::none(),
        "Every epoch of a stochastic fit in C++ (batches, solver, schedule, stopping rules); "
        "X dense or CSR rows (data, indices, indptr, n_features). Returns a FitStatus.");
  m.def("chunked_loss_and_gradients", &chunked_loss_and_gradients<T>, arg("dWs"), arg("dbs"),
        arg("X"), arg("Y").noconvert(), arg("sample_weight").noconvert().none(true), arg("Ws"),
        arg("bs"), arg("act"), arg("slope"), arg("head"), arg("alpha"), arg("loss_scale"),
        arg("chunks"), arg("exchange").none(true) = py::none(),
        "The whole data set's J and gradients as `chunks` chunk gradients added in a fixed "
        "tree (L-BFGS with reduction_chunks); X dense or CSR rows. Writes dWs, dbs; returns J.");
}

}  // namespace nnfast::bind
