// A whole fit in C++: epochs of mini-batches, the solver's updates, the learning-rate
// schedule, the loss curve and scikit-learn's stopping rules, without returning to Python
// (the caller releases the GIL). Mirrors sklearn.neural_network's _fit_stochastic step by
// step; Python is called back only when asked for (early stopping's validation score,
// verbose output, user callbacks) and to poll for Ctrl-C about every 100 ms.
#pragma once
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <vector>

#include "common.h"
#include "nn/mt19937.h"
#include "nn/network.h"
#include "nn/optimizers.h"

namespace nnfast::nn {

enum class Schedule : int { Constant = 0, InvScaling = 1, Adaptive = 2 };

struct FitConfig {
  Solver solver = Solver::Sgd;
  double lr_init = 1e-3;
  Schedule schedule = Schedule::Constant;
  double power_t = 0.5;
  double momentum = 0.9;
  bool nesterov = true;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double alpha = 1e-4;
  // Multiplies the data term of J (not the L2 term) in the reported loss and the stopping
  // rule: scikit-learn's squared error averages over outputs too (1 / n_outputs).
  double loss_scale = 1.0;
  index_t batch = 200;
  index_t max_iter = 200;
  double tol = 1e-4;
  index_t n_iter_no_change = 10;
  bool incremental = false;     // partial_fit: one epoch
  bool early_stopping = false;  // the epoch hook supplies a validation score
};

// The estimator's bookkeeping, carried across calls (warm_start, partial_fit).
struct FitState {
  double learning_rate = 1e-3;  // SGD's current rate; Adam's last bias-corrected rate
  std::int64_t adam_t = 0;      // Adam's step count
  double t = 0;                 // samples seen, scikit-learn's t_
  std::int64_t n_iter = 0;      // epochs run by this call
  double loss = 0;              // the last epoch's loss
  double best_loss = std::numeric_limits<double>::infinity();
  double best_val = -std::numeric_limits<double>::infinity();
  std::int64_t no_improvement = 0;
};

enum class FitStatus : int {
  MaxIter = 0,      // ran max_iter epochs without meeting the tol rule
  Converged = 1,    // the tol / n_iter_no_change rule stopped it
  Incremental = 2,  // partial_fit's single epoch is done
  Stopped = 3,      // a callback asked to stop
  Interrupted = 4,  // Ctrl-C: parameters are those after the last completed batch
  Diverged = 5,     // the loss became inf or NaN: parameters restored to the epoch's start
};

// Where each epoch's rows come from.
struct RowOrder {
  const std::int64_t* rows = nullptr;  // explicit: epoch e visits rows[e * n ...]
  index_t n = 0;                       // rows per epoch
  LegacyRng* rng = nullptr;            // else shuffle like sklearn when set, else 0..n-1
};

template <typename T>
struct FitHooks {
  // After each epoch (when set): given the epoch number (1-based) and its loss; writes a
  // validation score when early stopping; returns false to stop.
  std::function<bool(std::int64_t, double, double*)> epoch_end;
  // Polled at batch boundaries about every 100 ms; true means stop now (Ctrl-C).
  std::function<bool()> interrupted;
};

// Optimizer state: per parameter array (W[0..L-1] then b[0..L-1], scikit-learn's order),
// velocities (SGD) or first and second moments (Adam). Null pointers when not needed.
template <typename T>
struct SolverState {
  std::vector<T*> s1, s2;
};

template <typename T>
class Fitter {
 public:
  Fitter(Network<T>& net, const FitConfig& cfg, FitState& st, SolverState<T>& opt,
         const std::vector<T*>& best_W, const std::vector<T*>& best_b)
      : net_(net), cfg_(cfg), st_(st), opt_(opt), best_W_(best_W), best_b_(best_b) {}

  FitStatus run(double* loss_curve, const T* X, const T* Y, const T* w, index_t m,
                const RowOrder& order, const FitHooks<T>& hooks) {
    const index_t n = order.rows ? order.n : m;
    const index_t batch = std::min(cfg_.batch, n);
    const index_t d = net_.sizes[0], k = net_.sizes[net_.layers()];
    Workspace<T> ws(net_, batch, k, order.rows != nullptr || order.rng != nullptr);
    std::vector<std::int64_t> sample_idx(static_cast<size_t>(n)), perm;
    std::iota(sample_idx.begin(), sample_idx.end(), std::int64_t(0));
    checkpoint_alloc();
    // Ctrl-C is polled about every 100 ms. Reading the clock costs ~20 ns, 3 % of a XOR
    // step, so it is read every `stride` batches, the stride doubled while reads come
    // less than a millisecond apart.
    auto last_poll = std::chrono::steady_clock::now(), last_read = last_poll;
    index_t stride = 1, since_read = 0;
    st_.n_iter = 0;

    for (index_t it = 0; it < cfg_.max_iter; ++it) {
      const std::int64_t* rows = nullptr;
      if (order.rows) {
        rows = order.rows + it * n;
      } else if (order.rng) {  // sklearn.utils.shuffle(sample_idx, random_state)
        perm.resize(static_cast<size_t>(n));
        std::iota(perm.begin(), perm.end(), std::int64_t(0));
        order.rng->shuffle(perm.data(), n);
        std::vector<std::int64_t> next(static_cast<size_t>(n));
        for (index_t i = 0; i < n; ++i) next[i] = sample_idx[perm[i]];
        sample_idx.swap(next);
        rows = sample_idx.data();
      }
      checkpoint_save();
      double total = 0;
      for (index_t start = 0; start < n; start += batch) {
        const index_t mb = std::min(batch, n - start);
        const T *Xb = X + start * d, *Yb = Y + start * k, *wb = w ? w + start : nullptr;
        if (rows) {
          gather(ws, X, Y, w, rows + start, mb, d, k);
          Xb = ws.Xb.data();
          Yb = ws.Yb.data();
          wb = w ? ws.wb.data() : nullptr;
        }
        const double J = step(ws, Xb, Yb, wb, mb);
        if (!std::isfinite(J)) {
          checkpoint_restore();
          return FitStatus::Diverged;
        }
        total += J * double(mb);
        if (hooks.interrupted && ++since_read >= stride) {
          since_read = 0;
          const auto now = std::chrono::steady_clock::now();
          if (now - last_read < std::chrono::milliseconds(1) && stride < 4096) stride *= 2;
          last_read = now;
          if (now - last_poll > std::chrono::milliseconds(100)) {
            last_poll = now;
            if (hooks.interrupted()) return FitStatus::Interrupted;
          }
        }
      }
      st_.n_iter += 1;
      st_.loss = total / double(n);
      st_.t += double(n);
      loss_curve[it] = st_.loss;

      double val = std::numeric_limits<double>::quiet_NaN();
      const bool go_on = !hooks.epoch_end || hooks.epoch_end(st_.n_iter, st_.loss, &val);
      update_no_improvement(val);  // before stopping, so the best parameters are current
      if (!go_on) return FitStatus::Stopped;
      if (cfg_.solver == Solver::Sgd && cfg_.schedule == Schedule::InvScaling) {
        st_.learning_rate = cfg_.lr_init / std::pow(st_.t + 1, cfg_.power_t);
      }
      if (st_.no_improvement > cfg_.n_iter_no_change) {
        // sklearn's trigger_stopping: 'adaptive' SGD divides the rate by 5 until 1e-6.
        if (cfg_.solver == Solver::Sgd && cfg_.schedule == Schedule::Adaptive &&
            st_.learning_rate > 1e-6) {
          st_.learning_rate /= 5.0;
          st_.no_improvement = 0;
        } else {
          return FitStatus::Converged;
        }
      }
      if (cfg_.incremental) return FitStatus::Incremental;
    }
    return FitStatus::MaxIter;
  }

 private:
  // One batch: forward, fused loss, backprop, and the update of each block of W[l] as
  // soon as the product has finished its gradient (then b[l]'s). Returns the batch's J
  // (before the step).
  double step(Workspace<T>& ws, const T* Xb, const T* Yb, const T* wb, index_t mb) {
    const index_t L = net_.layers();
    forward(ws.As, Xb, mb, net_, true);
    const double wsum = weight_sum(wb, mb);
    double J = cfg_.loss_scale * output_loss(ws.As[L - 1], ws.dZ.data(), ws.As[L - 1], Yb, wb,
                                             mb, net_.sizes[L], net_.head) / wsum;
    J += l2_term(net_, cfg_.alpha, wsum);
    const StepRule<T> rule = step_rule();
    const T lambda = cfg_.alpha > 0 ? T(cfg_.alpha / wsum) : T(0);
    const auto update = update_ops<T>().step;
    backprop(net_, ws.As, Xb, ws.dZ.data(), ws.dA.data(), mb, ws.dWs, ws.dbs,
             [&](index_t l, index_t r0, index_t c0, index_t rows, index_t cols) {
               const index_t ld = net_.sizes[l + 1], off = r0 * ld + c0;
               update({net_.W[l] + off, state(opt_.s1, l, off), state(opt_.s2, l, off),
                       ws.dW.data() + off, ld, rows, cols},
                      rule, lambda);
             },
             [&](index_t l) {
               const index_t n = net_.sizes[l + 1];
               update({net_.b[l], state(opt_.s1, L + l, 0), state(opt_.s2, L + l, 0),
                       ws.db.data(), n, 1, n},
                      rule, T(0));
             });
    return J;
  }

  // This batch's rule; Adam's bias-corrected rate is computed once per batch, as
  // scikit-learn does, and kept as the current rate.
  StepRule<T> step_rule() {
    StepRule<T> r;
    r.solver = cfg_.solver;
    if (cfg_.solver == Solver::Adam) {
      st_.adam_t += 1;
      const double t = double(st_.adam_t);
      st_.learning_rate =
          cfg_.lr_init * std::sqrt(1 - std::pow(cfg_.beta2, t)) / (1 - std::pow(cfg_.beta1, t));
      r.beta1 = T(cfg_.beta1), r.beta2 = T(cfg_.beta2), r.eps = T(cfg_.epsilon);
      r.c1 = T(1 - cfg_.beta1), r.c2 = T(1 - cfg_.beta2);
    } else {
      r.momentum = T(cfg_.momentum);
      r.nesterov = cfg_.nesterov;
    }
    r.lr = T(st_.learning_rate);
    return r;
  }

  // Parameter array `slot`'s optimizer state at offset `off` (null where the rule keeps none).
  static T* state(const std::vector<T*>& s, index_t slot, index_t off) {
    return s.empty() || !s[slot] ? nullptr : s[slot] + off;
  }

  static void gather(Workspace<T>& ws, const T* X, const T* Y, const T* w,
                     const std::int64_t* rows, index_t mb, index_t d, index_t k) {
    // Rows copy independently: any split gives the same batch (a 60000-row shuffled fit
    // copies 128 x 784 values a step, serial time that 16 threads would otherwise wait on).
    parallel_for(mb, mb * (d + k), [&](index_t i) {
      const index_t r = rows[i];
      std::memcpy(ws.Xb.data() + i * d, X + r * d, sizeof(T) * d);
      std::memcpy(ws.Yb.data() + i * k, Y + r * k, sizeof(T) * k);
      if (w) ws.wb[i] = w[r];
    });
  }

  // sklearn's _update_no_improvement_count: on the validation score when early stopping
  // (keeping the best parameters), else on the training loss.
  void update_no_improvement(double val) {
    if (cfg_.early_stopping) {
      if (val < st_.best_val + cfg_.tol) st_.no_improvement += 1;
      else st_.no_improvement = 0;
      if (val > st_.best_val) {
        st_.best_val = val;
        copy_params(best_W_, best_b_, false);
      }
      return;
    }
    if (st_.loss > st_.best_loss - cfg_.tol) st_.no_improvement += 1;
    else st_.no_improvement = 0;
    if (st_.loss < st_.best_loss) st_.best_loss = st_.loss;
  }

  // to_net = false: net -> (Ws, bs); true: (Ws, bs) -> net.
  void copy_params(const std::vector<T*>& Ws, const std::vector<T*>& bs, bool to_net) {
    for (index_t l = 0; l < net_.layers(); ++l) {
      const size_t nw = size_t(net_.sizes[l] * net_.sizes[l + 1]), nb = size_t(net_.sizes[l + 1]);
      if (to_net) {
        std::memcpy(net_.W[l], Ws[l], nw * sizeof(T));
        std::memcpy(net_.b[l], bs[l], nb * sizeof(T));
      } else {
        std::memcpy(Ws[l], net_.W[l], nw * sizeof(T));
        std::memcpy(bs[l], net_.b[l], nb * sizeof(T));
      }
    }
  }

  // The parameters at the start of each epoch, restored if the loss diverges, so the
  // model stays usable. O(parameters) per epoch: small beside the epoch's products.
  void checkpoint_alloc() {
    for (index_t l = 0; l < net_.layers(); ++l) {
      ck_W_.emplace_back(size_t(net_.sizes[l] * net_.sizes[l + 1]));
      ck_b_.emplace_back(size_t(net_.sizes[l + 1]));
      ck_Wp_.push_back(ck_W_.back().data());
      ck_bp_.push_back(ck_b_.back().data());
    }
  }
  void checkpoint_save() { copy_params(ck_Wp_, ck_bp_, false); }
  void checkpoint_restore() { copy_params(ck_Wp_, ck_bp_, true); }

  Network<T>& net_;
  const FitConfig& cfg_;
  FitState& st_;
  SolverState<T>& opt_;
  const std::vector<T*>& best_W_;
  const std::vector<T*>& best_b_;
  std::vector<std::vector<T>> ck_W_, ck_b_;
  std::vector<T*> ck_Wp_, ck_bp_;
};

}  // namespace nnfast::nn
