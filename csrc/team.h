// A thread team held for a stretch of many small kernels (an epoch's training steps): the
// OpenMP threads stay in one parallel region and each kernel's parallel work is handed to
// them by a spinning fork-join. Entering an OpenMP region costs ~0.8 us on a 2-core AMD
// EPYC (libgomp, threads already awake); this hand-off ~0.13 us, so products of a few
// hundred thousand flops can be split and still gain.
//
// A job is a number of shares (one a thread), claimed one at a time by whichever threads
// come: thread 0 (the caller) runs share 0 at once and, if the others are late, claims
// what they left, so a worker slow to arrive (its vCPU taken by the host, or asleep) finds its share done and
// the job ends without waiting for it. (Before, every worker ran its own share and
// acknowledged every job: a late worker held up every kernel of the step.) Which share
// computes which block is decided by the kernels as before, whichever thread runs it: the
// bits do not change.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>

namespace nnfast {

class Team {
 public:
  // Threads a team may have: a job has up to one share a thread, counted in 16 bits of
  // the claim word.
  static constexpr int kMaxSize = 0xffff;

  explicit Team(int size) : size_(size) {}
  int size() const { return size_; }
  // Whether a job is running: a kernel called from inside a job's body (thread 0's share)
  // runs on its own thread, as a nested OpenMP region would.
  bool busy() const { return busy_; }

  // body(s, shares) for s in [0, shares), each share once, on any of the team's threads
  // (the caller's included; shares <= size()); returns when all are done. An exception
  // thrown by any share is rethrown here, on thread 0, after all are done.
  template <typename F>
  void run(int shares, F& body) {
    busy_ = true;
    ctx_ = &body;
    invoke_ = [](void* c, int s, int n) { (*static_cast<F*>(c))(s, n); };
    done_.store(0, std::memory_order_relaxed);
    // Share 0 is this thread's, unclaimed by the others: it starts before they wake.
    const std::uint64_t job = ++jobs_;
    publish(word(job, shares, 1));
    int mine = 1;
    invoke(0, shares);
    // Wait for the shares the others run. Every 32 pauses (~1 us, about a small product's
    // share; not at once: reading the word a worker has just claimed through costs this
    // thread a cache line's trip on every job) claim the shares still unclaimed. A worker
    // counts a share done only after running it, and claims only a share of the job in
    // the word, so once all are counted none of them reads this job's fields again.
    for (unsigned spins = 1; done_.load(std::memory_order_acquire) != shares - mine; ++spins) {
      if (spins % 32 == 0) claim(word_.load(std::memory_order_acquire), &mine);
      pause();
    }
    busy_ = false;
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

  // Thread t (> 0) of the region: claims shares of the jobs until stop().
  void serve() {
    for (std::uint64_t w = 0;;) {
      w = wait_past(job(w));
      w = claim(w, nullptr);
      // Asked after the claims: the last word read may be stop()'s (no shares), and a
      // thread that waited past it would wait for ever.
      if (stopping_.load(std::memory_order_acquire)) return;
    }
  }

  void stop() {
    stopping_.store(true, std::memory_order_release);
    publish(word(++jobs_, 0, 0));
  }

 private:
  // The claim word: the job's number (32 bits), its shares (16) and its next unclaimed
  // share (16), changed together so that a claim can never take a share of a job other
  // than the one it read.
  static std::uint64_t word(std::uint64_t job, int shares, int next) {
    return (job << 32) | (std::uint64_t(shares) << 16) | std::uint64_t(next);
  }
  static std::uint64_t job(std::uint64_t w) { return w >> 32; }
  static std::uint64_t shares(std::uint64_t w) { return (w >> 16) & 0xffff; }
  static std::uint64_t next(std::uint64_t w) { return w & 0xffff; }

  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  // Claims and runs shares while the word w has unclaimed ones (of its job or, if the job
  // moved on while this thread ran one, of the next); a claim is a compare-exchange of the
  // whole word, so it fails if the job changed since the word was read. The shares run are
  // added to *ran (thread 0) or, with ran null, counted in done_ (a worker). Returns the
  // last word read.
  std::uint64_t claim(std::uint64_t w, int* ran) {
    while (next(w) < shares(w)) {
      if (word_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel)) {
        invoke(int(next(w)), int(shares(w)));
        if (ran) ++*ran;
        else done_.fetch_add(1, std::memory_order_acq_rel);
        w = word_.load(std::memory_order_acquire);
      }
    }
    return w;
  }

  void invoke(int s, int shares) {
    try {
      invoke_(ctx_, s, shares);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
  }

  void publish(std::uint64_t w) {
    word_.store(w, std::memory_order_seq_cst);  // publishes ctx_, invoke_ and done_ with it
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    }
  }

  // The claim word once its job is past `seen`: spun for (a new job normally comes within
  // microseconds), then slept for, so that a long serial stretch on thread 0 (a step's
  // exchange waiting on other ranks) leaves the other cores free.
  std::uint64_t wait_past(std::uint64_t seen) {
    constexpr int kSpins = 1 << 14;  // ~0.3-1 ms of pause instructions
    for (int i = 0; i < kSpins; ++i) {
      const std::uint64_t w = word_.load(std::memory_order_acquire);
      if (job(w) != seen) return w;
      pause();
    }
    std::unique_lock<std::mutex> lock(mu_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    cv_.wait(lock, [&] { return job(word_.load(std::memory_order_seq_cst)) != seen; });
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return word_.load(std::memory_order_acquire);
  }

  const int size_;
  bool busy_ = false;
  std::uint64_t jobs_ = 0;  // jobs published (thread 0's count; 32 bits of it in the word)
  void* ctx_ = nullptr;
  void (*invoke_)(void*, int, int) = nullptr;
  std::exception_ptr error_;
  alignas(64) std::atomic<std::uint64_t> word_{0};  // the claim word (job, shares, next)
  alignas(64) std::atomic<int> done_{0};            // shares the other threads have run
  alignas(64) std::atomic<bool> stopping_{false};
  std::atomic<int> sleepers_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

// The team the calling thread leads (null outside a fit's loop, and on its other threads).
inline thread_local Team* t_team = nullptr;

}  // namespace nnfast
