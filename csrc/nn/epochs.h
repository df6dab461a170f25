// The epoch loop of every stochastic fit: epochs of mini-batches, the solver's updates, the
// learning-rate schedule, the loss curve and scikit-learn's stopping rules, without
// returning to Python (the caller releases the GIL). Mirrors sklearn.neural_network's
// _fit_stochastic step by step; Python is called back only when asked for (early
// stopping's validation score, verbose output, user callbacks) and to poll for Ctrl-C
// about every 100 ms. The rows come from a dense matrix or from CSR arrays, densified one
// batch at a time; both give the same bits.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <vector>

#include "common.h"
#include "nn/chunks.h"
#include "nn/mt19937.h"
#include "nn/network.h"
#include "nn/optimizers.h"

namespace nnfast::nn {

enum class Schedule : int { Constant = 0, InvScaling = 1, Adaptive = 2 };

// A stochastic fit's hyper-parameters, named as scikit-learn's MLP names them (bound as
// nnfast._core.FitConfig). Read-only to the loop.
struct FitConfig {
  Solver solver = Solver::Adam;
  double learning_rate_init = 1e-3;
  Schedule learning_rate = Schedule::Constant;  // scikit-learn's `learning_rate`: the schedule
  double power_t = 0.5;
  double momentum = 0.9;
  bool nesterovs_momentum = true;
  double beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-8;
  double alpha = 1e-4;
  // Multiplies the data term of J (not the L2 term) in the reported loss and the stopping
  // rule: scikit-learn's squared error averages over outputs too (1 / n_outputs).
  double loss_scale = 1.0;
  std::int64_t batch_size = 200;
  std::int64_t max_iter = 200;
  double tol = 1e-4;
  std::int64_t n_iter_no_change = 10;
  bool incremental = false;     // partial_fit: one epoch
  bool early_stopping = false;  // the epoch hook supplies a validation score
  // S > 0: every batch's gradient by the chunked reduction over S chunks (chunks.h), the
  // same bits at any thread count and for any number of processes dividing S.
  std::int64_t reduction_chunks = 0;
};

// The estimator's bookkeeping, carried across calls (warm_start, partial_fit), named after
// the scikit-learn attributes it becomes (bound as nnfast._core.FitState).
struct FitState {
  double learning_rate = 1e-3;  // _optimizer.learning_rate: SGD's rate; Adam's last η_t
  std::int64_t adam_t = 0;      // _optimizer.t: Adam's step count
  std::int64_t t = 0;           // t_: samples seen
  std::int64_t n_iter = 0;      // epochs run by this call (n_iter_ counts them)
  double loss = std::numeric_limits<double>::quiet_NaN();  // loss_: the last epoch's
  double best_loss = std::numeric_limits<double>::infinity();              // best_loss_
  double best_validation_score = -std::numeric_limits<double>::infinity();  // best_validation_score_
  std::int64_t no_improvement_count = 0;                                    // _no_improvement_count
};

enum class FitStatus : int {
  MaxIter = 0,      // ran max_iter epochs without meeting the tol rule
  Converged = 1,    // the tol / n_iter_no_change rule stopped it
  Incremental = 2,  // partial_fit's single epoch is done
  Stopped = 3,      // a callback asked to stop
  Interrupted = 4,  // Ctrl-C: parameters are those after the last completed batch
  Diverged = 5,     // the loss became inf or NaN: parameters restored to the epoch's start
};

// X as CSR arrays: row r's values data[indptr[r] .. indptr[r+1]) in the columns indices[..].
// The index arrays are scipy's own, int32 or int64 (`wide`); the caller checked them
// (indptr non-decreasing, within data, indices within the columns).
template <typename T>
struct CsrRows {
  const T* data = nullptr;
  const void* indices = nullptr;
  const void* indptr = nullptr;
  bool wide = false;

  // Xb (mb x d) = the dense rows rows[0..mb), or first..first+mb when rows is null.
  // Duplicate entries add up, in storage order, as scipy's toarray adds them, so a batch
  // holds the same bits as the dense matrix's rows.
  void gather(T* Xb, const std::int64_t* rows, index_t first, index_t mb, index_t d) const {
    if (wide) gather_as<std::int64_t>(Xb, rows, first, mb, d);
    else gather_as<std::int32_t>(Xb, rows, first, mb, d);
  }

 private:
  template <typename I>
  void gather_as(T* Xb, const std::int64_t* rows, index_t first, index_t mb, index_t d) const {
    const I* idx = static_cast<const I*>(indices);
    const I* ptr = static_cast<const I*>(indptr);
    parallel_for(mb, mb * d, [&](index_t i) {
      const index_t r = rows ? rows[i] : first + i;
      T* out = Xb + i * d;
      std::fill(out, out + d, T(0));
      for (index_t p = ptr[r]; p < ptr[r + 1]; ++p) out[idx[p]] += data[p];
    });
  }
};

// The training set: X (m x d) dense row-major, or CSR when X is null; Y (m x k); sample
// weights w (m) or null.
template <typename T>
struct TrainingData {
  const T* X = nullptr;
  CsrRows<T> csr;
  const T* Y = nullptr;
  const T* w = nullptr;
  index_t m = 0;
};

// Where each epoch's rows come from.
struct RowOrder {
  const std::int64_t* rows = nullptr;  // explicit: epoch e visits rows[e * n ...]
  index_t n = 0;                       // rows per epoch
  LegacyRng* rng = nullptr;            // else shuffle like sklearn when set, else 0..n-1
};

template <typename T>
struct EpochHooks {
  // After each epoch (when set): given the epoch number (1-based) and its loss; writes a
  // validation score when early stopping; returns false to stop.
  std::function<bool(std::int64_t, double, double*)> epoch_end;
  // Polled at batch boundaries about every 100 ms; true means stop now (Ctrl-C).
  std::function<bool()> interrupted;
  // With reduction_chunks: where the chunk gradients go to and come from (one process
  // when `run` is empty); this rank computes only its own chunks.
  Exchange exchange;
};

// Optimizer state: per parameter array (W[0..L-1] then b[0..L-1], scikit-learn's order),
// velocities (SGD) or first and second moments (Adam). Null pointers when not needed.
template <typename T>
struct SolverState {
  std::vector<T*> s1, s2;
};

// Yb, wb (and Xb for dense X) = the rows rows[0..mb) (in that order) of the data.
template <typename T>
void gather_rows(Workspace<T>& ws, const TrainingData<T>& data, const std::int64_t* rows,
                 index_t mb, index_t d, index_t k) {
  // Rows copy independently: any split gives the same batch (a 60000-row shuffled fit
  // copies 128 x 784 values a step, serial time that 16 threads would otherwise wait on).
  parallel_for(mb, mb * (d + k), [&](index_t i) {
    const index_t r = rows[i];
    if (data.X) std::memcpy(ws.Xb.data() + i * d, data.X + r * d, sizeof(T) * d);
    std::memcpy(ws.Yb.data() + i * k, data.Y + r * k, sizeof(T) * k);
    if (data.w) ws.wb[i] = data.w[r];
  });
}

// One chunk's part of a batch (a ChunkedGradient Leaf): the gradient g (P values, laid
// out as cg lays them) and loss part *J of the mc rows from `first` (of rows[], or of the
// data when rows is null), dZ divided by wnorm (the whole batch's weight sum; 1 when it is
// known only later), then added up the tree (`into`) tile by tile as the products finish
// them. No L2 term: the tree's sum gets it once.
template <typename T>
void chunk_gradient(const Network<T>& net, Workspace<T>& ws, const TrainingData<T>& data,
                    const std::int64_t* rows, index_t first, index_t mc, double wnorm,
                    double loss_scale, const ChunkedGradient<T>& cg, T* g, double* J,
                    const std::vector<T*>& into) {
  const index_t L = net.layers(), d = net.sizes[0], k = net.sizes[L];
  if (mc == 0) {  // a short batch's empty chunk slot
    std::fill(g, g + cg.params(), T(0));
    *J = 0;
    parallel_chunks(cg.params(), [&](index_t lo, index_t hi) { add_up(g, into, lo, 0, 1, hi - lo); });
    return;
  }
  const T *Xc = data.X ? data.X + first * d : nullptr, *Yc = data.Y + first * k;
  const T* wc = data.w ? data.w + first : nullptr;
  if (rows) {
    gather_rows(ws, data, rows + first, mc, d, k);
    Xc = ws.Xb.data();
    Yc = ws.Yb.data();
    wc = data.w ? ws.wb.data() : nullptr;
  }
  if (!data.X) {
    data.csr.gather(ws.Xb.data(), rows ? rows + first : nullptr, first, mc, d);
    Xc = ws.Xb.data();
  }
  forward(ws.As, Xc, mc, net, true);
  *J = loss_scale * output_loss(ws.As[L - 1], ws.dZ.data(), ws.As[L - 1], Yc, wc, mc, k,
                                net.head, wnorm) / wnorm;
  std::vector<T*> dWs(static_cast<size_t>(L)), dbs(static_cast<size_t>(L));
  for (index_t l = 0; l < L; ++l) {
    dWs[l] = g + cg.offW(l);
    dbs[l] = g + cg.offb(l);
  }
  backprop(net, ws.As, Xc, ws.dZ.data(), ws.dA.data(), mc, dWs, dbs,
           [&](index_t l, index_t r0, index_t c0, index_t rs, index_t cs) {
             const index_t ld = net.sizes[l + 1];
             add_up(g, into, cg.offW(l) + r0 * ld + c0, ld, rs, cs);
           },
           [&](index_t l) { add_up(g, into, cg.offb(l), 0, 1, net.sizes[l + 1]); });
}

// The whole data set's J and gradients dWs, dbs (with the L2 term) as S chunks added in
// the fixed tree, over `ex`'s ranks when given (each computes its chunks): L-BFGS's
// full-batch gradient with reduction_chunks.
template <typename T>
double chunked_loss_and_gradients(const Network<T>& net, const TrainingData<T>& data,
                                  index_t S, const Exchange& ex, double alpha, double loss_scale,
                                  const std::vector<T*>& dWs, const std::vector<T*>& dbs) {
  const index_t m = data.m, L = net.layers();
  ChunkedGradient<T> cg(net, S, ex, max_threads());
  std::vector<Workspace<T>> ws;
  for (int s = 0; s < cg.slots(); ++s) ws.emplace_back(net, (m + S - 1) / S, net.sizes[L], data.X == nullptr);
  Header mine, all;
  mine.rows = m;
  mine.wsum = 0;
  if (data.w) {
    for (index_t i = 0; i < m; ++i) mine.wsum += double(data.w[i]);
  } else {
    mine.wsum = double(m);
  }
  double J = 0;
  const T* G = cg.reduce(
      [&](index_t c, T* g, double* Jc, const std::vector<T*>& into, int slot) {
        const index_t r0 = cg.chunk_begin(c, m);
        chunk_gradient(net, ws[slot], data, nullptr, r0, cg.chunk_begin(c + 1, m) - r0,
                       mine.wsum, loss_scale, cg, g, Jc, into);
      },
      mine, &J, &all);
  const T lambda = T(alpha / mine.wsum);
  const auto decay = update_ops<T>().decay;
  for (index_t l = 0; l < L; ++l) {
    const index_t n_in = net.sizes[l], n_out = net.sizes[l + 1];
    std::memcpy(dWs[l], G + cg.offW(l), sizeof(T) * n_in * n_out);
    std::memcpy(dbs[l], G + cg.offb(l), sizeof(T) * n_out);
    if (alpha > 0) decay(dWs[l], net.W[l], n_out, n_in, n_out, lambda);
  }
  return J + l2_term(net, alpha, mine.wsum);
}

template <typename T>
class EpochLoop {
 public:
  EpochLoop(Network<T>& net, const FitConfig& cfg, FitState& st, SolverState<T>& opt,
            const std::vector<T*>& best_W, const std::vector<T*>& best_b)
      : net_(net), cfg_(cfg), st_(st), opt_(opt), best_W_(best_W), best_b_(best_b) {}

  // loss_curve receives each epoch's loss, appended (st_.n_iter says how many ran): it
  // grows with the epochs run, never to max_iter (scikit-learn allows any positive int).
  FitStatus run(std::vector<double>& loss_curve, const TrainingData<T>& data, const RowOrder& order,
                const EpochHooks<T>& hooks) {
    const index_t n = order.rows ? order.n : data.m;
    const Exchange& ex = hooks.exchange;
    // Sharded, a batch is local_batch rows of each rank's shard: `steps` of them an epoch.
    const index_t batch = std::min(ex.sharded() ? ex.local_batch : index_t(cfg_.batch_size), n);
    const index_t steps = ex.sharded() ? ex.steps : (n + batch - 1) / batch;
    const index_t n_total = ex.sharded() ? ex.n_total : n;
    const index_t d = net_.sizes[0], k = net_.sizes[net_.layers()];
    const bool sparse = data.X == nullptr;
    const index_t S = cfg_.reduction_chunks;
    std::unique_ptr<ChunkedGradient<T>> chunked;
    if (S > 0) chunked = std::make_unique<ChunkedGradient<T>>(net_, S, ex, max_threads());
    sharded_ = ex.sharded();
    // A chunked step holds one chunk at a time: at most ceil(batch / chunks) rows, the
    // chunks being S of the batch, or sharded this rank's S / ranks of its part.
    const index_t parts = S > 0 ? (sharded_ ? S / ex.ranks : S) : 1;
    const bool gather = sparse || order.rows != nullptr || order.rng != nullptr;
    std::vector<Workspace<T>> wss;  // one per chunk slot (threads as virtual ranks)
    for (int s = 0; s < (chunked ? chunked->slots() : 1); ++s)
      wss.emplace_back(net_, (batch + parts - 1) / parts, k, gather);
    Workspace<T>& ws = wss[0];
    // The shuffled order, carried from epoch to epoch (only when shuffling: a memory-mapped
    // fit of 1.5 M rows need not hold 12 MB of indices it never reads).
    std::vector<std::int64_t> sample_idx(static_cast<size_t>(order.rng && !order.rows ? n : 0));
    std::iota(sample_idx.begin(), sample_idx.end(), std::int64_t(0));
    checkpoint_alloc();
    // Room for the usual curve up front (no reallocation in a short fit's epochs), never
    // max_iter's worth: it may be as large as an int64 holds.
    loss_curve.reserve(static_cast<size_t>(std::min<std::int64_t>(cfg_.max_iter, 1 << 14)));
    // Ctrl-C is polled about every 100 ms. Reading the clock costs ~20 ns, 3 % of a XOR
    // step, so it is read every `stride` batches, the stride doubled while reads come
    // less than a millisecond apart.
    auto last_poll = std::chrono::steady_clock::now(), last_read = last_poll;
    index_t stride = 1, since_read = 0;
    auto poll = [&] {
      if (!hooks.interrupted || ++since_read < stride) return false;
      since_read = 0;
      const auto now = std::chrono::steady_clock::now();
      if (now - last_read < std::chrono::milliseconds(1) && stride < 4096) stride *= 2;
      last_read = now;
      if (now - last_poll <= std::chrono::milliseconds(100)) return false;
      last_poll = now;
      return hooks.interrupted();
    };
    st_.n_iter = 0;
    // A team pays only when some kernel of the step splits: a product that threads_for
    // gives two of a team's threads, or chunks shared among threads. (XOR's 1-step epochs
    // would pay for entering the region each epoch and gain nothing.)
    double most_flops = 0;
    for (index_t l = 0; l < net_.layers(); ++l)
      most_flops = std::max(most_flops, 2.0 * double(batch) * double(net_.sizes[l] * net_.sizes[l + 1]));
    const bool use_team = threads_for(most_flops, kTeamFlopsPerThread) > 1 ||
                          (chunked && chunked->slots() > 1);

    for (index_t it = 0; it < cfg_.max_iter; ++it) {
      const std::int64_t* rows = nullptr;
      if (order.rows) {
        rows = order.rows + it * n;
      } else if (order.rng) {  // sklearn.utils.shuffle(sample_idx, random_state)
        // Fisher-Yates swaps positions only: shuffling sample_idx in place gives
        // sample_idx[perm] for the perm that shuffling 0..n-1 would give, with no copies.
        order.rng->shuffle(sample_idx.data(), n);
        rows = sample_idx.data();
      }
      checkpoint_save();
      // The epoch's batches, with the threads held as a team (common.h's with_team) when
      // some product of the step splits: its kernels hand their shares to threads already
      // spinning instead of entering an OpenMP region each. Python hooks run outside it.
      double total = 0;
      auto batches = [&]() -> std::optional<FitStatus> {
        for (index_t step_i = 0; step_i < steps; ++step_i) {
          const index_t start = std::min(step_i * batch, n), mb = std::min(batch, n - start);
          if (chunked) {
            // Every rank sees every row's weight (or, sharded, every rank's sum), so all skip
            // a batch alike and normalise by the same sum; a stop flagged by any rank stops
            // all, before the step.
            Header mine, all;
            mine.rows = mb;
            mine.wsum = batch_weight_sum(data.w, rows, start, mb);
            if (!ex.sharded() && !(mine.wsum > 0)) continue;
            mine.flags = poll() ? kFlagStop : 0;
            const double J = chunked_step(*chunked, wss, data, rows, start, mb, mine, &all);
            if (all.flags & kFlagStop) return FitStatus::Interrupted;
            if (!(all.wsum > 0)) continue;  // sharded: a batch of zero weight in all
            if (!std::isfinite(J)) {
              checkpoint_restore();
              return FitStatus::Diverged;
            }
            total += J * double(ex.sharded() ? all.rows : mb);  // (global: every rank's mb)
            continue;
          }
          const T *Xb = data.X ? data.X + start * d : nullptr, *Yb = data.Y + start * k;
          const T* wb = data.w ? data.w + start : nullptr;
          if (rows) {  // (X's rows too when dense)
            gather_rows(ws, data, rows + start, mb, d, k);
            Xb = ws.Xb.data();
            Yb = ws.Yb.data();
            wb = data.w ? ws.wb.data() : nullptr;
          }
          const double wsum = weight_sum(wb, mb);
          // A batch of zero weight carries no information (scikit-learn would divide by its
          // zero sum): no step, nothing added to the loss, which still averages over all n.
          // (Checked before a sparse batch is densified, which it then need not be.)
          if (!(wsum > 0)) continue;
          if (sparse) {
            data.csr.gather(ws.Xb.data(), rows ? rows + start : nullptr, start, mb, d);
            Xb = ws.Xb.data();
          }
          const double J = step(ws, Xb, Yb, wb, mb, wsum);
          if (!std::isfinite(J)) {
            checkpoint_restore();
            return FitStatus::Diverged;
          }
          total += J * double(mb);
          if (poll()) return FitStatus::Interrupted;
        }
        return std::nullopt;
      };
      std::optional<FitStatus> halt;
      if (use_team) with_team([&] { halt = batches(); });
      else halt = batches();
      if (halt) return *halt;
      st_.n_iter += 1;
      st_.loss = total / double(n_total);
      st_.t += n_total;
      loss_curve.push_back(st_.loss);

      double val = std::numeric_limits<double>::quiet_NaN();
      const bool go_on = !hooks.epoch_end || hooks.epoch_end(st_.n_iter, st_.loss, &val);
      update_no_improvement(val);  // before stopping, so the best parameters are current
      if (!go_on) return FitStatus::Stopped;
      if (cfg_.solver == Solver::Sgd && cfg_.learning_rate == Schedule::InvScaling) {
        st_.learning_rate = cfg_.learning_rate_init / std::pow(double(st_.t + 1), cfg_.power_t);
      }
      if (st_.no_improvement_count > cfg_.n_iter_no_change) {
        // sklearn's trigger_stopping: 'adaptive' SGD divides the rate by 5 until 1e-6.
        if (cfg_.solver == Solver::Sgd && cfg_.learning_rate == Schedule::Adaptive &&
            st_.learning_rate > 1e-6) {
          st_.learning_rate /= 5.0;
          st_.no_improvement_count = 0;
        } else {
          return FitStatus::Converged;
        }
      }
      if (cfg_.incremental) return FitStatus::Incremental;
    }
    return FitStatus::MaxIter;
  }

 private:
  // One batch of weight sum wsum > 0: forward, fused loss, backprop, and the update of
  // each block of W[l] as soon as the product has finished its gradient (then b[l]'s).
  // Returns the batch's J (before the step).
  double step(Workspace<T>& ws, const T* Xb, const T* Yb, const T* wb, index_t mb,
              double wsum) {
    const index_t L = net_.layers();
    forward(ws.As, Xb, mb, net_, true);
    double J = cfg_.loss_scale * output_loss(ws.As[L - 1], ws.dZ.data(), ws.As[L - 1], Yb, wb,
                                             mb, net_.sizes[L], net_.head, wsum) / wsum;
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

  // One batch by the chunked reduction: this rank's chunks' gradients, the exchange, the
  // tree, then the step on the whole gradient. No step when a rank flagged a stop, the
  // batch weighs nothing (all->wsum = 0) or J is not finite (the caller restores). mine:
  // this rank's rows of the batch (from `start`, mb of them) and their weight sum.
  // Returns the batch's J; all: the headers summed over the ranks.
  double chunked_step(ChunkedGradient<T>& cg, std::vector<Workspace<T>>& ws,
                      const TrainingData<T>& data,
                      const std::int64_t* rows, index_t start, index_t mb, const Header& mine,
                      Header* all) {
    const index_t L = net_.layers();
    // Sharded, the batch's weight sum is known only after the exchange: the chunks' dZ
    // are left unnormalised (W = 1, exact) and the sum is divided by it afterwards.
    const bool sharded = sharded_;
    const double wnorm = sharded ? 1.0 : mine.wsum;
    auto leaf = [&](index_t c, T* g, double* J, const std::vector<T*>& into, int slot) {
      const index_t r0 = cg.chunk_begin(c, mb);
      chunk_gradient(net_, ws[slot], data, rows, start + r0, cg.chunk_begin(c + 1, mb) - r0,
                     wnorm, cfg_.loss_scale, cg, g, J, into);
    };
    double J = 0;
    T* G = cg.reduce(leaf, mine, &J, all);
    if ((all->flags & kFlagStop) || !(all->wsum > 0)) return J;
    const double wsum = sharded ? all->wsum : mine.wsum;
    if (sharded) {
      J /= wsum;
      const T inv = T(1) / T(wsum);
      parallel_chunks(cg.params(), [&](index_t lo, index_t hi) {
        for (index_t i = lo; i < hi; ++i) G[i] *= inv;
      });
    }
    J += l2_term(net_, cfg_.alpha, wsum);
    if (!std::isfinite(J)) return J;
    const StepRule<T> rule = step_rule();
    const T lambda = cfg_.alpha > 0 ? T(cfg_.alpha / wsum) : T(0);
    const auto update = update_ops<T>().step;
    constexpr index_t kRows = 16;  // element-wise: any split gives the same bits
    for (index_t l = 0; l < L; ++l) {
      const index_t n_in = net_.sizes[l], n_out = net_.sizes[l + 1];
      parallel_for((n_in + kRows - 1) / kRows, n_in * n_out, [&](index_t blk) {
        const index_t r0 = blk * kRows, off = r0 * n_out;
        update({net_.W[l] + off, state(opt_.s1, l, off), state(opt_.s2, l, off),
                G + cg.offW(l) + off, n_out, std::min(kRows, n_in - r0), n_out},
               rule, lambda);
      });
      update({net_.b[l], state(opt_.s1, L + l, 0), state(opt_.s2, L + l, 0), G + cg.offb(l),
              n_out, 1, n_out},
             rule, T(0));
    }
    return J;
  }

  // Σ w over the batch's rows in their order (in double), or mb without weights: every
  // rank computes it from all rows, whichever chunks it owns.
  static double batch_weight_sum(const T* w, const std::int64_t* rows, index_t start, index_t mb) {
    if (!w) return double(mb);  // (0 for a sharded rank's batch past its shard's end)
    double s = 0;
    for (index_t i = 0; i < mb; ++i) s += double(w[rows ? rows[start + i] : start + i]);
    return s;
  }

  // This batch's rule; Adam's bias-corrected rate is computed once per batch, as
  // scikit-learn does, and kept as the current rate.
  StepRule<T> step_rule() {
    StepRule<T> r;
    r.solver = cfg_.solver;
    if (cfg_.solver == Solver::Adam) {
      st_.adam_t += 1;
      const double t = double(st_.adam_t);
      st_.learning_rate = cfg_.learning_rate_init * std::sqrt(1 - std::pow(cfg_.beta_2, t)) /
                          (1 - std::pow(cfg_.beta_1, t));
      r.beta1 = T(cfg_.beta_1), r.beta2 = T(cfg_.beta_2), r.eps = T(cfg_.epsilon);
      r.c1 = T(1 - cfg_.beta_1), r.c2 = T(1 - cfg_.beta_2);
    } else {
      r.momentum = T(cfg_.momentum);
      r.nesterov = cfg_.nesterovs_momentum;
    }
    r.lr = T(st_.learning_rate);
    return r;
  }

  // Parameter array `slot`'s optimizer state at offset `off` (null where the rule keeps none).
  static T* state(const std::vector<T*>& s, index_t slot, index_t off) {
    return s.empty() || !s[slot] ? nullptr : s[slot] + off;
  }

  // sklearn's _update_no_improvement_count: on the validation score when early stopping
  // (keeping the best parameters), else on the training loss.
  void update_no_improvement(double val) {
    if (cfg_.early_stopping) {
      if (val < st_.best_validation_score + cfg_.tol) st_.no_improvement_count += 1;
      else st_.no_improvement_count = 0;
      if (val > st_.best_validation_score) {
        st_.best_validation_score = val;
        copy_params(best_W_, best_b_, false);
      }
      return;
    }
    if (st_.loss > st_.best_loss - cfg_.tol) st_.no_improvement_count += 1;
    else st_.no_improvement_count = 0;
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
  bool sharded_ = false;
};

}  // namespace nnfast::nn
