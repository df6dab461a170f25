// A thread team held for a stretch of many small kernels (an epoch's training steps): the
// OpenMP threads stay in one parallel region and each kernel's parallel work is handed to
// them by a spinning fork-join. Entering an OpenMP region costs ~0.8 us on a 2-core AMD
// EPYC (libgomp, threads already awake); this hand-off ~0.13 us, so products of a few
// hundred thousand flops can be split and still gain.
//
// Each thread t of a job's `used` runs share t, as before, but thread 0 may take a share
// whose worker has not started it after ~1 us (its vCPU taken by the host, or asleep), so a
// late worker no longer holds up every kernel of a step. The worker and thread 0 settle
// who runs it without a read-modify-write on the fast path (each writes its own flag, then
// reads the other's: Dekker's handshake), since a compare-exchange on a shared word cost a
// worker a cache line's trip on every job (small 2-thread fits 4-5 % slower). Which thread
// runs a share never changes what it computes: the bits do not change.
//
// Whether a team pays depends on the host as much as on the work: a worker the host takes
// off its core inside a share holds thread 0 up for a scheduler slice (milliseconds, for
// shares of microseconds), and on this VM the fork-join's round trip moves between ~0.13
// and ~0.55 us from one hour to the next; either made 2-thread fits of small and digits
// slower than 1-thread ones, 1.3-13x. So thread 0 watches what the team gives (Lateness
// below): on a stall (a wait over twice its own share's time and ~0.1 ms) or when a sample
// of jobs took over 0.9 of what thread 0 alone would have taken, it runs every share itself
// for a while (the same bits): 2 ms, doubled while it keeps coming back (to 0.25 s), back
// to 2 ms after a long stretch in which the team paid.
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>

namespace nnfast {

// Whether the teams led by this thread run on it alone (Team::run), and what the team gave
// lately. Per leading thread and across teams: a fit's epochs each hold a team, and an
// epoch of a small network is a few milliseconds, shorter than one stall.
struct Lateness {
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration kMinAlone = std::chrono::milliseconds(2);
  static constexpr Clock::duration kMaxAlone = std::chrono::milliseconds(250);
  // Of a stretch in team, the first kWarmJobs jobs go unsampled (a worker that slept while
  // thread 0 ran alone takes tens of microseconds to wake), then one job in kEvery is timed,
  // and every kSamples timed jobs are judged together.
  static constexpr std::uint64_t kWarmJobs = 64, kEvery = 8, kSamples = 32;

  Clock::time_point alone_until{};  // jobs starting before it run on thread 0 alone
  Clock::duration alone_for = kMinAlone;
  Clock::time_point last_alone{};
  std::uint64_t jobs_in_team = 0;       // since the last stretch alone
  std::int64_t team_ticks = 0, alone_ticks = 0;  // the samples' sums: as run, and estimated alone
  std::uint64_t samples = 0;
  std::uint64_t stalls = 0, unpaid = 0, jobs_alone = 0;  // for tests and diagnostics

  bool alone() {
    if (alone_until == Clock::time_point{}) return false;
    if (Clock::now() < alone_until) return true;
    alone_until = Clock::time_point{};
    return false;
  }
  bool sample() { return ++jobs_in_team > kWarmJobs && jobs_in_team % kEvery == 0; }
  // A timed job: `ticks` as run, `own` of them thread 0's share (shares are equal blocks of
  // work, so alone it would have taken about `used` times that).
  void sampled(std::int64_t ticks, std::int64_t own, int used) {
    team_ticks += ticks;
    alone_ticks += own * used;
    if (++samples < kSamples) return;
    if (10 * team_ticks > 9 * alone_ticks) {
      ++unpaid;
      go_alone();
    } else {
      restart_samples();
    }
  }
  void stalled() { ++stalls, go_alone(); }

  // Run alone for the next stretch: twice the last one if the last was recent (the team
  // keeps not paying), else the shortest.
  void go_alone() {
    const Clock::time_point now = Clock::now();
    alone_for = now - last_alone > 8 * alone_for
                    ? kMinAlone
                    : std::min<Clock::duration>(2 * alone_for, kMaxAlone);
    last_alone = now;
    alone_until = now + alone_for;
    jobs_in_team = 0;
    restart_samples();
  }
  void restart_samples() {
    team_ticks = alone_ticks = 0;
    samples = 0;
  }
};
inline thread_local Lateness t_lateness;

class Team {
 public:
  // Threads a team may have (a job's thread count is published in 16 bits of its word).
  static constexpr int kMaxSize = 0xffff;

  explicit Team(int size)
      : size_(size), flags_(new Flags[size]), state_(new std::uint8_t[size]) {}
  int size() const { return size_; }
  // Whether a job is running: a kernel called from inside a job's body (thread 0's share)
  // runs on its own thread, as a nested OpenMP region would.
  bool busy() const { return busy_; }

  // body(t, used) for t in [0, used) (used <= size()), each once, share t by thread t or,
  // if that thread is late, by thread 0 (the caller); returns when all are done. An
  // exception thrown by any share is rethrown here, on thread 0, after all are done.
  template <typename F>
  void run(int used, F& body) {
    busy_ = true;
    ctx_ = &body;
    invoke_ = [](void* c, int s, int n) { (*static_cast<F*>(c))(s, n); };
    Lateness& lateness = t_lateness;
    if (lateness.alone()) {
      for (int s = 0; s < used; ++s) invoke(s, used);
      ++lateness.jobs_alone;
      return finish();
    }
    done_.store(0, std::memory_order_relaxed);
    const bool timed = lateness.sample();
    const std::int64_t start = ticks();
    const std::uint64_t job = ++jobs_;
    for (int t = 1; t < used; ++t) state_[t] = kTheirs;
    publish(word(job, used));
    invoke(0, used);
    const std::int64_t own_end = timed ? ticks() : 0;
    int mine = 1;
    std::int64_t own = 0;  // ticks() - start ~6 us after thread 0's own share ended
    bool stalled = false;
    for (unsigned spins = 1; done_.load(std::memory_order_acquire) != used - mine; ++spins) {
      if (spins % 32 == 0) {
        mine += take_late(job, used);
        // Past ~0.1 ms of pauses (24 ns each on Zen 3, ~40 on Skylake-X), a wait over twice
        // thread 0's own share is a stall: shares are equal blocks of work.
        if (spins == 256) {
          own = ticks() - start;
        } else if (spins >= 4096 && spins % 256 == 0 && !stalled) {
          stalled = ticks() - start > 3 * own;
        }
      }
      pause();
    }
    if (stalled) {
      lateness.stalled();
    } else if (timed) {
      lateness.sampled(ticks() - start, own_end - start, used);
    }
    finish();
  }

  // Thread t (> 0) of the region: runs its shares of the jobs until stop().
  void serve(int t) {
    Flags& f = flags_[t];
    for (std::uint64_t w = 0;;) {
      w = wait_past(job(w));
      if (stopping_.load(std::memory_order_acquire)) return;
      const std::uint64_t j = job(w);
      if (t >= used(w)) continue;
      f.started.store(j, std::memory_order_seq_cst);
      // Taken by thread 0 (this job), or thread 0 is past this job (a later one): leave
      // it, and say so, in case thread 0 saw `started` and waits for this thread.
      if (f.taken.load(std::memory_order_seq_cst) >= j) {
        f.yielded.store(j, std::memory_order_release);
        continue;
      }
      invoke(t, int(used(w)));
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  void stop() {
    stopping_.store(true, std::memory_order_release);
    publish(word(++jobs_, 0));
  }

 private:
  // Per worker, each on its own cache lines: `started` and `yielded` (the last jobs it
  // started and gave up) written by the worker, `taken` (the last job whose share thread 0
  // took from it) by thread 0. Job numbers only grow.
  struct Flags {
    alignas(64) std::atomic<std::uint64_t> started{0};
    std::atomic<std::uint64_t> yielded{0};
    alignas(64) std::atomic<std::uint64_t> taken{0};
  };
  enum : std::uint8_t { kTheirs, kStarted, kDone };  // thread 0's view of a share

  void finish() {
    busy_ = false;
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

  // A cycle count to compare two stretches of time on one thread: the TSC on x86 (~11 ns a
  // read against ~29 for steady_clock on the 2-core AMD EPYC), never turned into seconds.
  static std::int64_t ticks() {
#if defined(__x86_64__) || defined(__i386__)
    return std::int64_t(__builtin_ia32_rdtsc());
#else
    return std::chrono::steady_clock::now().time_since_epoch().count();
#endif
  }

  // The job's word: its number (48 bits) and its thread count (16), published together
  // so that a worker never reads the count of a job other than the one it saw.
  static std::uint64_t word(std::uint64_t job, int used) { return (job << 16) | std::uint64_t(used); }
  static std::uint64_t job(std::uint64_t w) { return w >> 16; }
  static std::uint64_t used(std::uint64_t w) { return w & 0xffff; }

  // Thread 0: runs the shares of this job whose workers have not started them, or gave
  // them up; returns how many. Thread 0 writes `taken` then reads `started`, a worker
  // writes `started` then reads `taken`: of the two, at least one sees the other's write,
  // so a share is never run twice (the worker leaves it if it sees `taken`) nor by neither
  // (a worker that leaves it after thread 0 saw `started` says so in `yielded`).
  int take_late(std::uint64_t job, int used) {
    int ran = 0;
    for (int t = 1; t < used; ++t) {
      Flags& f = flags_[t];
      if (state_[t] == kTheirs) {
        f.taken.store(job, std::memory_order_seq_cst);
        state_[t] = f.started.load(std::memory_order_seq_cst) == job ? kStarted : kDone;
        if (state_[t] == kDone) invoke(t, used), ++ran;
      } else if (state_[t] == kStarted && f.yielded.load(std::memory_order_acquire) == job) {
        state_[t] = kDone;
        invoke(t, used), ++ran;
      }
    }
    return ran;
  }

  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  void invoke(int s, int used) {
    try {
      invoke_(ctx_, s, used);
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

  // The job's word once its job is past `seen`: spun for (a new job normally comes within
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
  std::uint64_t jobs_ = 0;  // jobs published (thread 0's count)
  void* ctx_ = nullptr;
  void (*invoke_)(void*, int, int) = nullptr;
  std::exception_ptr error_;
  std::unique_ptr<Flags[]> flags_;
  std::unique_ptr<std::uint8_t[]> state_;   // thread 0's view of each share of its job
  alignas(64) std::atomic<std::uint64_t> word_{0};  // the job's word (number, thread count)
  alignas(64) std::atomic<int> done_{0};            // shares the workers have run
  alignas(64) std::atomic<bool> stopping_{false};
  std::atomic<int> sleepers_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

// The team the calling thread leads (null outside a fit's loop, and on its other threads).
inline thread_local Team* t_team = nullptr;

}  // namespace nnfast
