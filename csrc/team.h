// A thread team held for a stretch of many small kernels (an epoch's training steps): the
// OpenMP threads stay in one parallel region and each kernel's parallel work is handed to
// them by a spinning fork-join. Entering an OpenMP region costs ~0.8 us on a 2-core AMD
// EPYC (libgomp, threads already awake); this hand-off ~0.13 us, so products of a few
// hundred thousand flops can be split and still gain. Which thread computes which block is
// decided by the kernels as before: the bits do not change.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>

namespace nnfast {

class Team {
 public:
  explicit Team(int size) : size_(size) {}
  int size() const { return size_; }
  // Whether a job is running: a kernel called from inside a job's body (thread 0's share)
  // runs on its own thread, as a nested OpenMP region would.
  bool busy() const { return busy_; }

  // body(t, used) on threads 0..used-1 (the caller is thread 0); returns when all are done.
  // An exception thrown by any share is rethrown here, on thread 0, after all are done.
  template <typename F>
  void run(int used, F& body) {
    busy_ = true;
    used_ = used;
    ctx_ = &body;
    invoke_ = [](void* c, int t, int n) { (*static_cast<F*>(c))(t, n); };
    done_.store(0, std::memory_order_relaxed);
    publish();
    share(0);
    // Every worker acknowledges every job, taking part or not: a worker slow to see job g
    // must not read job g + 1's fields as g's (it would run a share twice).
    while (done_.load(std::memory_order_acquire) != size_ - 1) pause();
    busy_ = false;
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

  // Thread t (> 0) of the region: runs its shares of the jobs until stop().
  void serve(int t) {
    std::uint64_t seen = 0;
    for (;;) {
      const std::uint64_t g = wait_past(seen);
      seen = g;
      if (stopping_.load(std::memory_order_acquire)) return;
      if (t < used_) share(t);
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  void stop() {
    stopping_.store(true, std::memory_order_release);
    publish();
  }

 private:
  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  void share(int t) {
    try {
      invoke_(ctx_, t, used_);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
  }

  void publish() {
    gen_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    }
  }

  // The next generation after `seen`: spun for (a new job normally comes within
  // microseconds), then slept for, so that a long serial stretch on thread 0 (a step's
  // exchange waiting on other ranks) leaves the other cores free.
  std::uint64_t wait_past(std::uint64_t seen) {
    constexpr int kSpins = 1 << 14;  // ~0.3-1 ms of pause instructions
    for (int i = 0; i < kSpins; ++i) {
      const std::uint64_t g = gen_.load(std::memory_order_acquire);
      if (g != seen) return g;
      pause();
    }
    std::unique_lock<std::mutex> lock(mu_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    cv_.wait(lock, [&] { return gen_.load(std::memory_order_seq_cst) != seen; });
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return gen_.load(std::memory_order_acquire);
  }

  const int size_;
  bool busy_ = false;
  int used_ = 0;
  void* ctx_ = nullptr;
  void (*invoke_)(void*, int, int) = nullptr;
  std::exception_ptr error_;
  alignas(64) std::atomic<std::uint64_t> gen_{0};
  alignas(64) std::atomic<int> done_{0};
  alignas(64) std::atomic<bool> stopping_{false};
  std::atomic<int> sleepers_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

// The team the calling thread leads (null outside a fit's loop, and on its other threads).
inline thread_local Team* t_team = nullptr;

}  // namespace nnfast
