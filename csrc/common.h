// Shared types and the threading policy of every kernel.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include <exception>
#include <memory>
#include <new>
#include <vector>

#include "team.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace nnfast {

// Signed 64-bit sizes everywhere: products like m * n overflow 32 bits on real data.
using index_t = std::int64_t;

// A training step's buffers start on a cache line. With malloc's 16 bytes, the boundary
// between two threads' halves of a 64-wide row fell inside a line that both wrote at every
// step, and a row's vectors straddled lines (small, float32: 4 % faster at 1 and 2 threads).
template <typename T>
struct LineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kLine{64};
  LineAllocator() = default;
  template <typename U>
  LineAllocator(const LineAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kLine)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kLine); }
  template <typename U>
  bool operator==(const LineAllocator<U>&) const noexcept { return true; }
  template <typename U>
  bool operator!=(const LineAllocator<U>&) const noexcept { return false; }
};
template <typename T>
using line_vector = std::vector<T, LineAllocator<T>>;

// Whether this process has run an OpenMP team, and whether it is a child of fork() made
// after that (set by bindings.cpp's atfork handler). GNU libgomp's thread pool does not
// survive fork: a team entered in such a child waits forever for threads that were not
// copied. There every kernel runs on the calling thread, whatever the thread count says
// (set_num_threads or threadpoolctl in the child included).
inline std::atomic<bool> g_teams_started{false};
inline std::atomic<bool> g_forked_after_teams{false};

inline int max_threads() {
#ifdef _OPENMP
  if (g_forked_after_teams.load(std::memory_order_relaxed)) return 1;
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Threads worth using for `work` flops (or element updates): small problems stay on one
// thread, so that tiny networks never get slower when more threads are allowed. A thread
// gets at least 250 k flops (a few microseconds, against about one for waking the team):
// digits' 200 x 64 x 100 products split in two went from 57 to 44 ms (float32) and 112 to
// 70 ms (float64) a fit at 2 threads; 4 M, the bound before, kept them on one thread; 100 k
// split small's 64 x 20 x 64 products and lost (2-core AMD EPYC, best of 3-4 runs each).
// Inside a fit's loop the team hands work over in ~0.13 us, not ~0.8 (team.h), so there a
// thread needs 50 k flops: every product of the digits network splits (its 0.4 M-flop
// output-layer products too).
constexpr double kTeamFlopsPerThread = 5e4;
inline int threads_for(double work, double per_thread = 2.5e5) {
  if (t_team) per_thread = kTeamFlopsPerThread;
  int t = max_threads();
  double useful = work / per_thread;
  if (useful < 2.0) return 1;
  return useful < t ? static_cast<int>(useful) : t;
}

// Element-wise loops split across threads only above this many elements.
constexpr index_t kParallelElems = index_t(1) << 15;

// The block [begin, end) of [0, n) that thread t of nt owns: contiguous, in thread order.
inline void static_range(index_t n, int t, int nt, index_t& begin, index_t& end) {
  const index_t q = n / nt, r = n % nt;
  begin = t * q + (t < r ? t : r);
  end = begin + q + (t < r ? 1 : 0);
}

// Runs body(thread, n_threads) on `threads` threads (directly when it is 1). The OpenMP
// team is always the whole pool (max_threads), its threads past `threads` idle: GNU libgomp
// ends the threads a smaller team leaves out and creates new ones when a larger team
// follows, so a training step whose regions want 12, 2 and 6 threads paid thread creation
// several times a step (16-core machine: mnist_like got slower past 2 threads).
// Inside a fit's loop (with_team), the team's spinning hand-off replaces the region, and
// body(t, n) runs on thread t or, if that thread is late, on thread 0 (team.h): a kernel's
// share t is a fixed block of its work, whichever thread computes it.
template <typename F>
inline void parallel_region(int threads, F&& body) {
#ifdef _OPENMP
  if (Team* team = t_team; team && threads > 1 && !team->busy() &&
                           !g_forked_after_teams.load(std::memory_order_relaxed)) {
    team->run(threads < team->size() ? threads : team->size(), body);
    return;
  }
  if (threads > 1) {
    if (!g_teams_started.load(std::memory_order_relaxed)) g_teams_started.store(true);
#pragma omp parallel num_threads(max_threads())
    {
      const int t = omp_get_thread_num(), team = omp_get_num_threads();
      const int used = threads < team ? threads : team;
      if (t < used) body(t, used);
    }
    return;
  }
#endif
  body(0, 1);
}

// Threads held by the process's teams at this moment (with_team).
inline std::atomic<int> g_team_threads{0};

// fn() on this thread with the other threads of the pool held as its Team (team.h) until
// it returns: for stretches of many small kernels and no Python (a Python callback that
// forked inside one would leave a child waiting at the region's end for threads it does
// not have). Not nested: a thread that already leads a team, or has one thread, calls
// fn() directly; so does one whose team would put more threads in teams than the process
// has CPUs (Python threads training at once, the ranks of a LocalWorld, OMP_NUM_THREADS
// above the CPU count): spinning threads would take turns on a core and every hand-off
// would wait for the scheduler. Those run their kernels in OpenMP regions, as without.
template <typename F>
inline void with_team(F&& fn) {
#ifdef _OPENMP
  const int want = max_threads();
  if (want > 1 && want <= Team::kMaxSize && !t_team) {
    if (g_team_threads.fetch_add(want) + want <= omp_get_num_procs()) {
      g_teams_started.store(true);
      std::exception_ptr error;
      std::unique_ptr<Team> owner;
#pragma omp parallel num_threads(want)
      {
        // Built once the team's size is known; single's barrier publishes it to all.
#pragma omp single
        owner = std::make_unique<Team>(omp_get_num_threads());
        Team* team = owner.get();
        if (omp_get_thread_num() == 0) {
          t_team = team;
          try {
            fn();
          } catch (...) {
            error = std::current_exception();
          }
          t_team = nullptr;
          team->stop();
        } else {
          team->serve(omp_get_thread_num());
        }
      }
      g_team_threads.fetch_sub(want);
      if (error) std::rethrow_exception(error);
      return;
    }
    g_team_threads.fetch_sub(want);
  }
#endif
  fn();
}

// body(i) for i in [0, n) on up to `threads` threads (statically split); with one thread, a
// plain loop that never enters the OpenMP runtime (entering it costs about a microsecond,
// more than a tiny network's whole step).
template <typename F>
inline void parallel_for_n(index_t n, int threads, F&& body) {
  parallel_region(threads < n ? threads : int(n), [&](int t, int nt) {
    index_t lo, hi;
    static_range(n, t, nt, lo, hi);
    for (index_t i = lo; i < hi; ++i) body(i);
  });
}

// Inside a fit's team (with_team), where a hand-off costs a fraction of a microsecond: the
// element operations (an add, a compare; an exp counts as kExpCost) a thread needs before
// an element-wise pass splits. Digits' 200 x 10 softmax loss and 200 x 100 bias sums ran on
// thread 0 alone, ~7 % of a 2-thread step.
constexpr double kTeamElemOpsPerThread = 8192;
constexpr double kExpCost = 16;

// Threads for an element-wise pass over n elements of `cost` operations each: one per
// kParallelElems of them (per kTeamElemOpsPerThread operations inside a team), so a team
// is never woken for less work than its wake-up costs.
inline int threads_for_elems(index_t n, double cost = 1) {
  const double t = t_team ? double(n) * cost / kTeamElemOpsPerThread : double(n / kParallelElems);
  const int mt = max_threads();
  return t < 2 ? 1 : (t < mt ? int(t) : mt);
}

// body(i) for i in [0, n) where the whole loop touches `elems` elements of `cost`
// operations each.
template <typename F>
inline void parallel_for(index_t n, index_t elems, F&& body, double cost = 1) {
  parallel_for_n(n, threads_for_elems(elems, cost), body);
}

// body(begin, end) over [0, n) in chunks of 4096 elements, in parallel for large n.
template <typename F>
inline void parallel_chunks(index_t n, F&& body) {
  constexpr index_t kChunk = 4096;
  parallel_for((n + kChunk - 1) / kChunk, n, [&](index_t c) {
    body(c * kChunk, c * kChunk + kChunk < n ? c * kChunk + kChunk : n);
  });
}

}  // namespace nnfast
