// Copyright (c) Vellum authors.
//
// IdlePoller: lets a thread that ran out of work look for more for a short while
// before it goes to sleep.
//
// Why: handing work to a sleeping thread costs a wake-up, and on a virtual machine
// whose other CPU has gone idle that is tens of microseconds (22 µs median, 50 µs
// p99 on the 2-vCPU machine of docs/PERFORMANCE.md) — several times on every
// replicated write. A thread that polls (yielding the CPU between polls, so it never
// holds up runnable work) finds the next message without one. RocksDB's write queue
// does the same (`enable_write_thread_adaptive_yield`), as do the Go runtime's idle
// schedulers.
//
// Polling costs CPU when nothing comes, so it adapts: a thread polls only while at
// least one poll in eight finds work within the budget (a moving average); below
// that it goes straight to sleep and polls again only every kProbeInterval-th wait,
// to notice when work returns. An idle node therefore polls for one budget every
// few seconds, not after every heartbeat.
//
// Thread safety: one IdlePoller per thread (it keeps that thread's record).

#ifndef VELLUM_BASE_IDLE_POLL_H_
#define VELLUM_BASE_IDLE_POLL_H_

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace vellum {

class IdlePoller {
 public:
  // A budget of zero turns polling off.
  explicit IdlePoller(std::chrono::microseconds budget) : budget_(budget) {}

  // Checks `ready` repeatedly, yielding the CPU between checks, for up to the budget,
  // unless recent waits say polling does not pay. True once `ready()` returned true
  // (the caller then need not sleep); false when the caller should sleep.
  template <typename Ready>
  bool Poll(Ready&& ready) {
    if (!ShouldPoll()) return false;
    const auto deadline = std::chrono::steady_clock::now() + budget_;
    bool found = false;
    for (;;) {
      if (ready()) {
        found = true;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      sched_yield();
    }
    Record(found);
    return found;
  }

  // How many of the waits so far polled (for tests and metrics).
  uint64_t polls() const { return polls_; }

  // The hit rate is a moving average over about the last kWindow polls, in 1/1024ths;
  // below kMinHitRate a thread stops polling and probes every kProbeInterval-th wait.
  static constexpr int kWindow = 8;
  static constexpr int kMinHitRate = 128;  // 1/8 of polls finding work
  static constexpr uint32_t kProbeInterval = 16;

 private:
  bool ShouldPoll() {
    if (budget_.count() <= 0) return false;
    if (hit_rate_ < kMinHitRate && ++waits_skipped_ < kProbeInterval) return false;
    waits_skipped_ = 0;
    ++polls_;
    return true;
  }
  // Even a low hit rate pays while the CPU has nothing better to do (a hit saves a
  // wake-up on the path of a request; a miss costs CPU no one else wanted, as
  // polling yields to any runnable thread); what must not happen is polling when
  // nothing comes at all, as on an idle node.
  void Record(bool found) { hit_rate_ += ((found ? 1024 : 0) - hit_rate_) / kWindow; }

  std::chrono::microseconds budget_;
  int hit_rate_ = 1024;
  uint32_t waits_skipped_ = 0;
  uint64_t polls_ = 0;
};

// Runs an asio io_context as run() does, except that once it has no ready handlers
// it polls them for up to `budget` (through an IdlePoller of its own) before it
// blocks. Returns when the context is stopped or runs out of work. A template so
// that this header does not depend on Boost.
template <typename IoContext>
void RunWithIdlePolling(IoContext& io, std::chrono::microseconds budget) {
  if (budget.count() <= 0) {
    io.run();
    return;
  }
  IdlePoller poller(budget);
  for (;;) {
    if (io.poll() > 0) continue;
    if (io.stopped()) return;
    if (poller.Poll([&io] { return io.poll() > 0 || io.stopped(); })) continue;
    if (io.run_one() == 0) return;
  }
}

}  // namespace vellum

#endif  // VELLUM_BASE_IDLE_POLL_H_
