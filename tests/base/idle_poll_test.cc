// Copyright (c) Vellum authors.

#include "base/idle_poll.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>

namespace vellum {
namespace {

using std::chrono::microseconds;

TEST(IdlePoller, AZeroBudgetNeverPolls) {
  IdlePoller poller(microseconds(0));
  int calls = 0;
  EXPECT_FALSE(poller.Poll([&] { return ++calls > 0; }));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(poller.polls(), 0u);
}

TEST(IdlePoller, FindsWorkThatArrivesWithinTheBudget) {
  IdlePoller poller(std::chrono::seconds(10));
  int calls = 0;
  EXPECT_TRUE(poller.Poll([&] { return ++calls == 5; }));
  EXPECT_EQ(calls, 5);
}

TEST(IdlePoller, GivesUpAfterTheBudget) {
  IdlePoller poller(microseconds(200));
  const auto start = std::chrono::steady_clock::now();
  int calls = 0;
  EXPECT_FALSE(poller.Poll([&] { return ++calls < 0; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, microseconds(200));
  EXPECT_GE(calls, 1);
}

// The adaptive policy: a run of misses stops polling; then only every
// kProbeInterval-th wait probes; a probe that finds work turns polling back on.
TEST(IdlePoller, StopsPollingWhenNothingComesAndProbesNowAndThen) {
  IdlePoller poller(microseconds(1));
  const auto never = [] { return false; };
  int misses_polled = 0;
  while (misses_polled < 1000) {
    const uint64_t before = poller.polls();
    EXPECT_FALSE(poller.Poll(never));
    if (poller.polls() == before) break;
    ++misses_polled;
  }
  // About kWindow * ln(1024 / kMinHitRate) misses: 16 with the constants.
  EXPECT_GE(misses_polled, 8);
  EXPECT_LE(misses_polled, 32);
  // Off: the waits until the probe do not look at all.
  int calls = 0;
  const auto counted = [&] {
    ++calls;
    return true;
  };
  const uint64_t polls = poller.polls();
  for (uint32_t i = 2; i < IdlePoller::kProbeInterval; ++i) EXPECT_FALSE(poller.Poll(counted));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(poller.polls(), polls);
  EXPECT_TRUE(poller.Poll(counted));  // the probe, and it pays
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(poller.Poll(counted));  // polling is back on
  EXPECT_EQ(poller.polls(), polls + 2);
}

// Work that comes in half the waits keeps it polling.
TEST(IdlePoller, KeepsPollingWhileSomePollsFindWork) {
  IdlePoller poller(microseconds(1));
  for (int i = 0; i < 1000; ++i) {
    const bool hit = i % 2 == 0;
    poller.Poll([hit] { return hit; });
  }
  EXPECT_EQ(poller.polls(), 1000u);
}

// An io_context stand-in: handlers become ready after a number of polls, as if they
// arrived while the thread polled; run_one takes one whether ready or not.
struct FakeIo {
  struct Pending {
    int ready_after_polls;
    std::function<void()> handler;
  };
  std::deque<Pending> pending;
  int polls = 0;
  int run_ones = 0;
  bool stop_when_empty = true;

  size_t poll() {
    ++polls;
    size_t ran = 0;
    while (!pending.empty() && pending.front().ready_after_polls <= polls) {
      std::function<void()> handler = std::move(pending.front().handler);
      pending.pop_front();
      handler();
      ++ran;
    }
    return ran;
  }
  bool stopped() const { return stop_when_empty && pending.empty(); }
  size_t run_one() {
    ++run_ones;
    if (pending.empty()) return 0;
    std::function<void()> handler = std::move(pending.front().handler);
    pending.pop_front();
    handler();
    return 1;
  }
  void run() {
    while (run_one() > 0) {
    }
  }
};

TEST(RunWithIdlePolling, RunsEveryHandlerAndReturnsWhenTheContextStops) {
  FakeIo io;
  int ran = 0;
  io.pending.push_back({1, [&] { ++ran; }});
  io.pending.push_back({3, [&] { ++ran; }});  // found by polling, not by sleeping
  RunWithIdlePolling(io, std::chrono::seconds(10));
  EXPECT_EQ(ran, 2);
  EXPECT_EQ(io.run_ones, 0);
}

TEST(RunWithIdlePolling, SleepsInRunOneWhenNothingArrivesWithinTheBudget) {
  FakeIo io;
  int ran = 0;
  io.pending.push_back({1 << 30, [&] { ++ran; }});  // never ready to a poll
  RunWithIdlePolling(io, microseconds(100));
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(io.run_ones, 1);
}

TEST(RunWithIdlePolling, AZeroBudgetIsPlainRun) {
  FakeIo io;
  int ran = 0;
  io.pending.push_back({1, [&] { ++ran; }});
  RunWithIdlePolling(io, microseconds(0));
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(io.polls, 0);
}

}  // namespace
}  // namespace vellum
