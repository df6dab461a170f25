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
#include <thread>
#include <vector>

#include "bind_checks.h"
#include "bind_epochs.h"
#include "common.h"
#include "cpu.h"
#include "peak.h"
#include "gemm/gemm.h"
#include "nn/activations.h"
#include "nn/linear.h"
#include "nn/network.h"
#include "nn/output_loss.h"

namespace py = pybind11;
using nnfast::index_t;
using nnfast::nn::Act;
using nnfast::nn::Head;

namespace {

using namespace nnfast::bind;  // the argument checks (bind_checks.h)


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
  return nnfast::nn::output_loss(a, dz, Z.data(), Y.data(), w, m, k, h, nnfast::nn::weight_sum(w, m));
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
// What a thread's Lateness (team.h) counted: the stalls, the unpaid samples, the jobs run alone.
py::dict lateness_counts(const nnfast::Lateness& l) {
  py::dict out;
  out["stalls"] = l.stalls;
  out["unpaid"] = l.unpaid;
  out["jobs_alone"] = l.jobs_alone;
  return out;
}

// A test hook for team.h's Lateness: `jobs` jobs of two shares in one team, share 0 busy for
// `work_us`, share 1 for `work_us` + `extra_us`, and share 1 of job `slow_job` then sleeping
// `sleep_ms`; which OpenMP thread ran share 1 of each job, and what the calling thread's
// Lateness counted (it starts afresh and is restored afterwards).
py::dict team_probe(int jobs, double work_us, double extra_us, int slow_job, double sleep_ms) {
  // Bounded so that no call runs past ~11 s: jobs x (work_us + extra_us) <= 1e7 us.
  if (jobs < 1 || jobs > 100000 || !(work_us >= 0 && work_us <= 1e4) ||
      !(extra_us >= 0 && extra_us <= 1e4) || !(jobs * (work_us + extra_us) <= 1e7) ||
      !(sleep_ms >= 0 && sleep_ms <= 1000))
    fail("team_probe: 1 <= jobs <= 1e5, 0 <= work_us, extra_us <= 1e4, jobs * (work_us + "
         "extra_us) <= 1e7, 0 <= sleep_ms <= 1000");
  std::vector<int> ran(std::size_t(jobs), -1);
  int size = 1;
  const nnfast::Lateness saved = nnfast::t_lateness;
  nnfast::t_lateness = nnfast::Lateness{};
  {
    py::gil_scoped_release nogil;
    nnfast::with_team([&] {
      if (nnfast::t_team) size = nnfast::t_team->size();
      for (int j = 0; j < jobs; ++j) {
        nnfast::parallel_region(2, [&](int s, int) {
          const auto until =
              std::chrono::steady_clock::now() +
              std::chrono::duration<double, std::micro>(work_us + (s == 1 ? extra_us : 0.0));
          while (std::chrono::steady_clock::now() < until) {
          }
          if (s != 1) return;
#ifdef _OPENMP
          ran[std::size_t(j)] = omp_get_thread_num();
#endif
          if (j == slow_job)
            std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(sleep_ms));
        });
      }
    });
  }
  py::dict out = lateness_counts(nnfast::t_lateness);
  out["team_size"] = size;
  out["share1_threads"] = ran;
  nnfast::t_lateness = saved;
  return out;
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
  m.attr("MAX_REDUCTION_CHUNKS") = nnfast::nn::kMaxChunks;
  m.def("exchange_sizes", &nnfast::bind::exchange_sizes, py::arg("reduction_chunks"), py::arg("ranks"),
        py::arg("n_params"), py::arg("itemsize"),
        "Bytes of each rank's chunk-gradient message in a distributed fit, rank 0 first.");
  register_dtype<float>(m);
  register_dtype<double>(m);
  register_epochs<float>(m);
  register_epochs<double>(m);
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
  m.def("_team_probe", &team_probe, py::arg("jobs"), py::arg("work_us"), py::arg("extra_us"),
        py::arg("slow_job"), py::arg("sleep_ms"),
        "Test hook: a team's jobs with one slow share (team.h's stalls).");
  m.def("_team_lateness", [] { return lateness_counts(nnfast::t_lateness); },
        "Diagnostics: how often the teams this thread led ran it alone (team.h), and why.");
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
