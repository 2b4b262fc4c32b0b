// Copyright (c) Vellum authors.
//
// Tests of the linearizability checker: hand-written histories with known verdicts,
// histories recorded from real sequential executions (linearizable by construction) and
// mutations of them that are violations by construction, the search budget, and a
// simulation-sized history.

#include "tests/sim/linearizability.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"

namespace vellum::sim {

void PrintTo(CheckResult::Verdict verdict, std::ostream* os) { *os << VerdictName(verdict); }

namespace {

using Verdict = CheckResult::Verdict;
constexpr uint64_t kNoReply = Operation::kUnknown;

Operation Put(uint64_t client, std::string_view key, std::string_view value, uint64_t invoke,
              uint64_t complete, std::string_view table = "t") {
  Operation op;
  op.client_id = client;
  op.kind = OpKind::kPut;
  op.table = std::string(table);
  op.key = ToBytes(key);
  op.value = ToBytes(value);
  op.invoke_time = invoke;
  op.complete_time = complete;
  return op;
}

Operation Delete(uint64_t client, std::string_view key, uint64_t invoke, uint64_t complete,
                 std::string_view table = "t") {
  Operation op = Put(client, key, "", invoke, complete, table);
  op.kind = OpKind::kDelete;
  op.value.clear();
  return op;
}

// `observed` nullopt: the Get found the key absent.
Operation Get(uint64_t client, std::string_view key, std::optional<std::string_view> observed,
              uint64_t invoke, uint64_t complete, std::string_view table = "t") {
  Operation op = Put(client, key, "", invoke, complete, table);
  op.kind = OpKind::kGet;
  op.value.clear();
  if (observed.has_value()) op.observed = ToBytes(*observed);
  return op;
}

void ExpectVerdict(const std::vector<Operation>& ops, Verdict want) {
  const CheckResult r = CheckLinearizable(ops);
  EXPECT_EQ(r.verdict, want) << r.explanation;
  if (want == Verdict::kNotLinearizable && r.verdict == want) {
    EXPECT_NE(r.explanation.find("not linearizable"), std::string::npos) << r.explanation;
  }
}

void ExpectLinearizable(const std::vector<Operation>& ops) {
  ExpectVerdict(ops, Verdict::kLinearizable);
}
void ExpectNotLinearizable(const std::vector<Operation>& ops) {
  ExpectVerdict(ops, Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, EmptyHistoryIsLinearizable) {
  const CheckResult r = CheckLinearizable({});
  EXPECT_EQ(r.verdict, Verdict::kLinearizable);
  EXPECT_EQ(r.keys_checked, 0u);
  EXPECT_EQ(r.operations_checked, 0u);
}

TEST(LinearizabilityTest, SequentialPutsAndGetsAreLinearizable) {
  const std::vector<Operation> ops = {
      Get(1, "k", std::nullopt, 0, 5), Put(1, "k", "a", 10, 20), Get(2, "k", "a", 30, 40),
      Put(2, "k", "b", 50, 60),        Get(1, "k", "b", 70, 80),
  };
  const CheckResult r = CheckLinearizable(ops);
  EXPECT_EQ(r.verdict, Verdict::kLinearizable) << r.explanation;
  EXPECT_EQ(r.keys_checked, 1u);
  EXPECT_EQ(r.operations_checked, 5u);
}

TEST(LinearizabilityTest, StaleReadAfterCompletedWriteIsNot) {
  ExpectNotLinearizable({Put(1, "k", "a", 0, 10), Get(2, "k", std::nullopt, 20, 30)});
  ExpectNotLinearizable(
      {Put(1, "k", "a", 0, 10), Put(1, "k", "b", 20, 30), Get(2, "k", "a", 40, 50)});
}

TEST(LinearizabilityTest, ReadConcurrentWithWriteMayObserveOldOrNew) {
  ExpectLinearizable({Put(1, "k", "a", 0, 10), Put(1, "k", "b", 20, 60), Get(2, "k", "a", 30, 40)});
  ExpectLinearizable({Put(1, "k", "a", 0, 10), Put(1, "k", "b", 20, 60), Get(2, "k", "b", 30, 40)});
  // The read may even start first, as long as the intervals overlap.
  ExpectLinearizable({Put(1, "k", "a", 20, 60), Get(2, "k", "a", 10, 30)});
}

TEST(LinearizabilityTest, NewThenOldReadsAroundOneWriteAreNot) {
  // Both reads overlap the write of "b" but not each other: once a read has seen "b",
  // every later read must too.
  ExpectNotLinearizable({Put(1, "k", "a", 0, 10), Put(1, "k", "b", 20, 100),
                         Get(2, "k", "b", 30, 40), Get(3, "k", "a", 50, 60)});
  // Old then new is fine, and so is new then old when the reads overlap.
  ExpectLinearizable({Put(1, "k", "a", 0, 10), Put(1, "k", "b", 20, 100), Get(2, "k", "a", 30, 40),
                      Get(3, "k", "b", 50, 60)});
  ExpectLinearizable({Put(1, "k", "a", 0, 10), Put(1, "k", "b", 20, 100), Get(2, "k", "b", 30, 55),
                      Get(3, "k", "a", 50, 60)});
}

TEST(LinearizabilityTest, ReadOfAValueNeverWrittenIsNot) {
  ExpectNotLinearizable({Put(1, "k", "a", 0, 10), Get(2, "k", "zzz", 5, 30)});
  // Written on another key or another table does not count.
  ExpectNotLinearizable({Put(1, "j", "a", 0, 10), Get(2, "k", "a", 20, 30)});
  ExpectNotLinearizable({Put(1, "k", "a", 0, 10, "t"), Get(2, "k", "a", 20, 30, "u")});
}

TEST(LinearizabilityTest, LostAcknowledgedWriteIsNot) {
  ExpectNotLinearizable({Put(1, "k", "a", 0, 10), Put(2, "k", "b", 20, 30),
                         Get(3, "k", "a", 40, 50), Get(3, "k", "a", 60, 70)});
}

TEST(LinearizabilityTest, DeleteMakesTheKeyAbsent) {
  ExpectLinearizable(
      {Put(1, "k", "a", 0, 10), Delete(1, "k", 20, 30), Get(2, "k", std::nullopt, 40, 50)});
  ExpectNotLinearizable(
      {Put(1, "k", "a", 0, 10), Delete(1, "k", 20, 30), Get(2, "k", "a", 40, 50)});
  // Deleting an absent key is fine, and a read concurrent with the delete may see either.
  ExpectLinearizable({Delete(1, "k", 0, 10), Put(1, "k", "a", 20, 30), Delete(1, "k", 40, 90),
                      Get(2, "k", "a", 50, 60), Get(2, "k", std::nullopt, 70, 80)});
}

TEST(LinearizabilityTest, UnknownOutcomeWriteMayHaveTakenEffect) {
  // The client never heard back, but a later read saw the value: it happened.
  ExpectLinearizable({Put(1, "k", "a", 0, kNoReply), Get(2, "k", "a", 100, 110)});
  // ... at any time after it was sent, not only while the client waited.
  ExpectLinearizable({Put(1, "k", "a", 0, 10), Put(2, "k", "b", 20, kNoReply),
                      Get(3, "k", "a", 30, 40), Get(3, "k", "b", 1000, 1010)});
}

TEST(LinearizabilityTest, UnknownOutcomeWriteMayNotHaveTakenEffect) {
  ExpectLinearizable({Put(1, "k", "a", 0, kNoReply), Get(2, "k", std::nullopt, 100, 110)});
  ExpectLinearizable({Put(1, "k", "a", 0, 10), Delete(2, "k", 20, kNoReply),
                      Get(3, "k", "a", 30, 40), Get(3, "k", "a", 50, 60)});
  // Once seen, it cannot be undone.
  ExpectNotLinearizable({Put(1, "k", "a", 0, kNoReply), Get(2, "k", "a", 100, 110),
                         Get(2, "k", std::nullopt, 120, 130)});
}

TEST(LinearizabilityTest, UnknownOutcomeWriteCannotJustifyAnEarlierRead) {
  ExpectNotLinearizable({Get(2, "k", "a", 0, 10), Put(1, "k", "a", 20, kNoReply)});
  // Nor a read that completes exactly when the write is sent.
  ExpectNotLinearizable({Get(2, "k", "a", 0, 20), Put(1, "k", "a", 20, kNoReply)});
  ExpectLinearizable({Get(2, "k", "a", 0, 21), Put(1, "k", "a", 20, kNoReply)});
}

TEST(LinearizabilityTest, ReadWithoutReplyIsDropped) {
  const std::vector<Operation> ops = {Put(1, "k", "a", 0, 10), Get(2, "k", "zzz", 20, kNoReply)};
  const CheckResult r = CheckLinearizable(ops);
  EXPECT_EQ(r.verdict, Verdict::kLinearizable) << r.explanation;
  EXPECT_EQ(r.operations_checked, 1u);
}

TEST(LinearizabilityTest, FailedWriteNeverTakesEffect) {
  History history;
  const size_t put = history.BeginPut(1, "t", ToBytes("k"), ToBytes("a"), 0);
  history.EndFailed(put, 10);
  const size_t get = history.BeginGet(2, "t", ToBytes("k"), 20);
  history.EndGet(get, ToBytes("a"), 30);
  ExpectNotLinearizable(history.operations());

  History absent;
  absent.EndFailed(absent.BeginPut(1, "t", ToBytes("k"), ToBytes("a"), 0), 10);
  absent.EndGet(absent.BeginGet(2, "t", ToBytes("k"), 5), std::nullopt, 30);
  ExpectLinearizable(absent.operations());
}

TEST(LinearizabilityTest, EqualTimesMeanHappensBefore) {
  // The write completes at 10 and the read is sent at 10: the write came first.
  ExpectNotLinearizable({Put(1, "k", "a", 0, 10), Get(2, "k", std::nullopt, 10, 20)});
  ExpectLinearizable({Put(1, "k", "a", 0, 11), Get(2, "k", std::nullopt, 10, 20)});
  ExpectLinearizable({Put(1, "k", "a", 0, 10), Get(2, "k", "a", 10, 20)});
  // Whatever their order in the history.
  ExpectNotLinearizable({Get(2, "k", std::nullopt, 10, 20), Put(1, "k", "a", 0, 10)});
  ExpectNotLinearizable({Get(2, "k", "a", 0, 10), Put(1, "k", "a", 10, 20)});
  ExpectLinearizable({Get(2, "k", "a", 0, 11), Put(1, "k", "a", 10, 20)});
  // Instantaneous operations at one instant are ordered by their position.
  ExpectLinearizable({Put(1, "k", "a", 5, 5), Get(2, "k", "a", 5, 5)});
  ExpectNotLinearizable({Get(2, "k", "a", 5, 5), Put(1, "k", "a", 5, 5)});
  ExpectLinearizable({Get(2, "k", std::nullopt, 5, 5), Put(1, "k", "a", 5, 5)});
}

TEST(LinearizabilityTest, SearchBacktracksOverConcurrentWrites) {
  // Only the order b, a, c explains the reads; a greedy order would fail.
  ExpectLinearizable({Put(1, "k", "a", 0, 100), Put(2, "k", "b", 0, 100), Put(3, "k", "c", 0, 100),
                      Get(4, "k", "b", 10, 20), Get(4, "k", "a", 30, 40),
                      Get(4, "k", "c", 150, 160)});
  // "a" seen twice around "b" would need "a" written twice.
  ExpectNotLinearizable({Put(1, "k", "a", 0, 100), Put(2, "k", "b", 0, 100),
                         Get(4, "k", "a", 10, 20), Get(4, "k", "b", 30, 40),
                         Get(4, "k", "a", 50, 60)});
}

TEST(LinearizabilityTest, NonPrintableKeysAndValues) {
  Operation put = Put(1, "", "", 0, 10);
  put.key = Bytes{0x00, 0xff};
  put.value = Bytes{0x01, 0x02, 0x03};
  Operation get = Get(2, "", std::nullopt, 20, 30);
  get.key = put.key;
  get.observed = Bytes{0x01, 0x02};
  const CheckResult r = CheckLinearizable({put, get});
  EXPECT_EQ(r.verdict, Verdict::kNotLinearizable);
  EXPECT_NE(r.explanation.find("key 00ff"), std::string::npos) << r.explanation;
  EXPECT_NE(r.explanation.find("0x0102"), std::string::npos) << r.explanation;
  EXPECT_NE(r.explanation.find("0x010203"), std::string::npos) << r.explanation;
}

TEST(LinearizabilityTest, KeysAreIndependentAndTheViolatingKeyIsNamed) {
  std::vector<Operation> ops;
  for (int k = 0; k < 50; ++k) {
    const std::string key = "key" + std::to_string(k);
    const uint64_t t = 1000 * static_cast<uint64_t>(k);
    ops.push_back(Put(1, key, "a", t, t + 100));
    ops.push_back(Put(2, key, "b", t + 50, t + 150));
    ops.push_back(Get(3, key, "a", t + 60, t + 70));
    ops.push_back(Get(3, key, "b", t + 200, t + 210));
  }
  // The same key in two tables: two registers.
  ops.push_back(Put(1, "key7", "x", 0, 10, "other"));
  ops.push_back(Get(2, "key7", "x", 20, 30, "other"));
  EXPECT_EQ(CheckLinearizable(ops).verdict, Verdict::kLinearizable);

  // key31 sees "b" and then "a" again after both writes completed.
  ops.push_back(Get(4, "key31", "a", 31'500, 31'510));
  const CheckResult r = CheckLinearizable(ops);
  ASSERT_EQ(r.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(r.keys_checked, 51u);
  EXPECT_EQ(r.operations_checked, ops.size());
  EXPECT_NE(r.explanation.find("table \"t\" key " + HexEncode(AsBytes("key31"))), std::string::npos)
      << r.explanation;
  EXPECT_EQ(r.explanation.find("key30"), std::string::npos) << r.explanation;
}

TEST(LinearizabilityTest, ExplanationShowsTheFurthestPoint) {
  const CheckResult r = CheckLinearizable({Put(1, "k1", "a", 0, 10), Put(2, "k1", "b", 20, 100),
                                           Get(3, "k1", "b", 30, 40), Get(4, "k1", "a", 50, 60)});
  ASSERT_EQ(r.verdict, Verdict::kNotLinearizable);
  const std::string& e = r.explanation;
  SCOPED_TRACE(e);
  EXPECT_NE(e.find("table \"t\" key 6b31 (\"k1\")"), std::string::npos);
  EXPECT_NE(e.find("furthest point the search reached: 3 of 4 operations linearized"),
            std::string::npos);
  EXPECT_NE(e.find("#3 client 4 get -> \"a\" [50, 60]: observed \"a\" (written by #0), but the "
                   "register holds \"b\""),
            std::string::npos);
  EXPECT_NE(e.find("#3 must take effect by time 60"), std::string::npos);
  EXPECT_NE(e.find("#1 client 2 put \"b\" [20, 100]"), std::string::npos);
  EXPECT_NE(e.find("operations on this key"), std::string::npos);
}

TEST(LinearizabilityTest, HistoryRecordsOutcomes) {
  History h;
  const size_t put = h.BeginPut(7, "t", ToBytes("k"), ToBytes("v"), 1);
  const size_t del = h.BeginDelete(8, "t", ToBytes("k"), 2);
  const size_t get = h.BeginGet(9, "t", ToBytes("k"), 3);
  const size_t lost = h.BeginPut(7, "t", ToBytes("k"), ToBytes("w"), 4);
  const size_t rejected = h.BeginDelete(8, "t", ToBytes("k"), 5);
  h.EndWrite(put, 10);
  h.EndGet(get, ToBytes("v"), 11);
  h.EndFailed(rejected, 12);
  ASSERT_EQ(h.size(), 5u);
  const std::vector<Operation>& ops = h.operations();
  EXPECT_EQ(ops[put].kind, OpKind::kPut);
  EXPECT_EQ(ops[put].client_id, 7u);
  EXPECT_EQ(ops[put].complete_time, 10u);
  EXPECT_EQ(ops[del].complete_time, Operation::kUnknown);
  EXPECT_EQ(ops[get].observed, ToBytes("v"));
  EXPECT_EQ(ops[lost].complete_time, Operation::kUnknown);
  EXPECT_TRUE(ops[rejected].failed);
  EXPECT_FALSE(ops[put].failed);
  const CheckResult r = CheckLinearizable(ops);
  EXPECT_EQ(r.verdict, Verdict::kLinearizable) << r.explanation;
  EXPECT_EQ(r.operations_checked, 4u);
}

TEST(LinearizabilityDeathTest, MalformedHistoryIsARecorderBug) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(CheckLinearizable({Put(1, "k", "a", 10, 5)}), "completes before it was invoked");
  History h;
  const size_t id = h.BeginGet(1, "t", ToBytes("k"), 0);
  h.EndGet(id, std::nullopt, 1);
  EXPECT_DEATH(h.EndGet(id, std::nullopt, 2), "ended twice");
}

// Histories recorded from a real sequential execution: every operation takes effect at
// a distinct instant, and the client's interval is drawn around it.
struct GenConfig {
  size_t num_ops = 300;
  uint64_t num_keys = 3;
  uint64_t num_clients = 6;
  uint64_t max_latency = 40;
  double other_table_rate = 0.2;
  // No reply: a write then took effect or not (even odds), and a Get is dropped.
  double unknown_rate = 0.05;
  // A clear rejection: nothing took effect.
  double failed_rate = 0.03;
};

History GenerateHistory(uint64_t seed, const GenConfig& config) {
  std::mt19937_64 rng(seed);
  const auto uniform = [&](uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  const auto chance = [&](double p) { return std::bernoulli_distribution(p)(rng); };
  std::map<std::pair<std::string, std::string>, std::optional<std::string>> registers;
  std::vector<uint64_t> busy_until(config.num_clients, 0);
  History history;
  uint64_t instant = 0;
  // Each round advances time, so even when every client is busy the loop ends.
  for (size_t round = 0; history.size() < config.num_ops && round < 20 * config.num_ops; ++round) {
    instant += 10;
    std::vector<uint64_t> idle;
    for (uint64_t c = 0; c < config.num_clients; ++c) {
      if (busy_until[c] <= instant) idle.push_back(c);
    }
    if (idle.empty()) continue;
    const uint64_t client = idle[uniform(0, idle.size() - 1)];
    const uint64_t invoke =
        std::max(busy_until[client], instant - uniform(0, std::min(config.max_latency, instant)));
    const uint64_t complete = instant + uniform(0, config.max_latency);
    const std::string table = chance(config.other_table_rate) ? "u" : "t";
    const std::string key = "k" + std::to_string(uniform(0, config.num_keys - 1));
    std::optional<std::string>& reg = registers[{table, key}];
    const bool unknown = chance(config.unknown_rate);
    const bool failed = !unknown && chance(config.failed_rate);
    const bool applied = !failed && (!unknown || chance(0.5));
    const uint64_t roll = uniform(0, 99);
    size_t id = 0;
    if (roll < 45) {
      const std::string value = "v" + std::to_string(history.size());  // unique
      id = history.BeginPut(client, table, ToBytes(key), ToBytes(value), invoke);
      if (applied) reg = value;
      if (!unknown && !failed) history.EndWrite(id, complete);
    } else if (roll < 55) {
      id = history.BeginDelete(client, table, ToBytes(key), invoke);
      if (applied) reg.reset();
      if (!unknown && !failed) history.EndWrite(id, complete);
    } else {
      id = history.BeginGet(client, table, ToBytes(key), invoke);
      if (!unknown && !failed) {
        history.EndGet(id, reg.has_value() ? std::optional<Bytes>(ToBytes(*reg)) : std::nullopt,
                       complete);
      }
    }
    if (failed) history.EndFailed(id, complete);
    // A client that timed out moves on without waiting for the reply.
    busy_until[client] = unknown ? instant + 1 : complete;
  }
  return history;
}

bool SameKey(const Operation& a, const Operation& b) {
  return a.table == b.table && a.key == b.key;
}
bool Acknowledged(const Operation& op) {
  return !op.failed && op.complete_time != Operation::kUnknown;
}

enum class Mutation { kNeverWritten, kFutureValue, kStaleValue };

// Changes what one acknowledged Get observed so that no linearization can explain it, and
// says what it did; false if the history has no Get to mutate. `preferred` falls back to
// kNeverWritten when the history offers no candidate for it.
bool Mutate(std::vector<Operation>* ops, Mutation preferred, std::mt19937_64* rng,
            std::string* what) {
  std::vector<size_t> gets;
  for (size_t i = 0; i < ops->size(); ++i) {
    if ((*ops)[i].kind == OpKind::kGet && Acknowledged((*ops)[i])) gets.push_back(i);
  }
  if (gets.empty()) return false;
  std::shuffle(gets.begin(), gets.end(), *rng);
  for (const size_t g : gets) {
    Operation& get = (*ops)[g];
    for (size_t w = 0; w < ops->size(); ++w) {
      const Operation& write = (*ops)[w];
      if (!SameKey(write, get) || write.kind != OpKind::kPut || write.failed) continue;
      if (preferred == Mutation::kFutureValue && write.invoke_time > get.complete_time) {
        // Values are unique, and this write was sent after the Get returned.
        get.observed = write.value;
        *what =
            "get #" + std::to_string(g) + " observes the value of later put #" + std::to_string(w);
        return true;
      }
      if (preferred != Mutation::kStaleValue || !Acknowledged(write)) continue;
      for (size_t o = 0; o < ops->size(); ++o) {
        const Operation& over = (*ops)[o];
        if (!SameKey(over, get) || over.kind == OpKind::kGet || !Acknowledged(over)) continue;
        if (write.complete_time < over.invoke_time && over.complete_time < get.invoke_time) {
          // put #w, then write #o, then the Get, all in real-time order: #w's unique value
          // was overwritten before the Get began.
          get.observed = write.value;
          *what = "get #" + std::to_string(g) + " observes put #" + std::to_string(w) +
                  ", overwritten by #" + std::to_string(o);
          return true;
        }
      }
    }
  }
  Operation& get = (*ops)[gets.front()];
  get.observed = ToBytes("never-written");
  *what = "get #" + std::to_string(gets.front()) + " observes a value never written";
  return true;
}

TEST(LinearizabilityRandomTest, RealExecutionsAreLinearizableAndMutationsAreNot) {
  constexpr uint64_t kSeeds = 200;
  size_t unknown_writes = 0;
  size_t failed_ops = 0;
  size_t mutations = 0;
  uint64_t max_steps = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    GenConfig config;
    config.num_ops = 100 + (seed * 37) % 300;
    config.num_keys = 1 + seed % 4;
    config.num_clients = 2 + seed % 7;
    config.max_latency = 10 + (seed * 13) % 50;
    config.unknown_rate = seed % 3 == 0 ? 0.0 : 0.08;
    const History history = GenerateHistory(seed, config);
    for (const Operation& op : history.operations()) {
      if (op.failed) ++failed_ops;
      if (op.kind != OpKind::kGet && op.complete_time == Operation::kUnknown) ++unknown_writes;
    }

    const CheckResult clean = CheckLinearizable(history.operations());
    ASSERT_EQ(clean.verdict, Verdict::kLinearizable) << clean.explanation;
    max_steps = std::max(max_steps, clean.search_steps);

    std::vector<Operation> mutated = history.operations();
    std::mt19937_64 rng(seed);
    std::string what;
    if (!Mutate(&mutated, static_cast<Mutation>(seed % 3), &rng, &what)) continue;
    ++mutations;
    SCOPED_TRACE(what);
    const CheckResult bad = CheckLinearizable(mutated);
    ASSERT_EQ(bad.verdict, Verdict::kNotLinearizable) << bad.explanation;
    max_steps = std::max(max_steps, bad.search_steps);
  }
  // The generator exercised what it is meant to.
  EXPECT_GT(unknown_writes, 100u);
  EXPECT_GT(failed_ops, 50u);
  EXPECT_GT(mutations, kSeeds * 9 / 10);
  std::printf("most search steps for one history: %llu\n",
              static_cast<unsigned long long>(max_steps));
}

// Real-time order as the header defines it, for the brute force below.
bool Precedes(const std::vector<Operation>& ops, size_t a, size_t b) {
  const Operation& x = ops[a];
  const Operation& y = ops[b];
  if (x.complete_time == Operation::kUnknown || x.complete_time > y.invoke_time) return false;
  if (x.complete_time < y.invoke_time) return true;
  // Equal: the reply came first, unless both are instants at the same time (then by
  // position).
  const bool both_instants = x.invoke_time == x.complete_time && y.invoke_time == y.complete_time;
  return !both_instants || a < b;
}

// Tries every order of every admissible subset: the definition, without the cleverness.
bool BruteForceSearch(const std::vector<Operation>& ops, const std::vector<size_t>& live,
                      std::vector<bool>* placed, std::vector<bool>* excluded,
                      const std::optional<Bytes>& state) {
  bool done = true;
  for (const size_t i : live) {
    if (!(*placed)[i] && ops[i].complete_time != Operation::kUnknown) done = false;
  }
  if (done) return true;
  for (const size_t x : live) {
    if ((*placed)[x] || (*excluded)[x]) continue;
    bool blocked = false;
    std::vector<size_t> newly_excluded;
    for (const size_t y : live) {
      if (y == x || (*placed)[y] || (*excluded)[y] || !Precedes(ops, y, x)) continue;
      // A required op that must come first blocks x; an optional one can no longer happen.
      if (ops[y].complete_time != Operation::kUnknown) blocked = true;
      newly_excluded.push_back(y);
    }
    if (blocked) continue;
    const Operation& op = ops[x];
    std::optional<Bytes> next = state;
    if (op.kind == OpKind::kPut) next = op.value;
    if (op.kind == OpKind::kDelete) next.reset();
    if (op.kind == OpKind::kGet && op.observed != state) continue;
    (*placed)[x] = true;
    for (const size_t y : newly_excluded) (*excluded)[y] = true;
    const bool ok = BruteForceSearch(ops, live, placed, excluded, next);
    (*placed)[x] = false;
    for (const size_t y : newly_excluded) (*excluded)[y] = false;
    if (ok) return true;
  }
  return false;
}

bool BruteForceLinearizable(const std::vector<Operation>& ops) {
  std::vector<size_t> live;
  for (size_t i = 0; i < ops.size(); ++i) {
    const bool no_reply = ops[i].complete_time == Operation::kUnknown;
    if (!ops[i].failed && !(ops[i].kind == OpKind::kGet && no_reply)) live.push_back(i);
  }
  std::vector<bool> placed(ops.size(), false);
  std::vector<bool> excluded(ops.size(), false);
  return BruteForceSearch(ops, live, &placed, &excluded, std::nullopt);
}

TEST(LinearizabilityRandomTest, AgreesWithBruteForceOnSmallHistories) {
  constexpr uint64_t kSeeds = 20'000;
  size_t linearizable = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const auto uniform = [&](uint64_t lo, uint64_t hi) {
      return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
    };
    // Few values and short, often equal times: repeated values, ties and instants.
    const std::vector<std::optional<std::string_view>> values = {std::nullopt, "a", "b", "c"};
    std::vector<Operation> ops;
    const uint64_t n = uniform(1, 7);
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t invoke = uniform(0, 12);
      uint64_t complete = invoke + uniform(0, 6);
      if (uniform(0, 9) == 0) complete = kNoReply;
      const uint64_t roll = uniform(0, 9);
      if (roll < 4) {
        ops.push_back(Put(i, "k", *values[uniform(1, 3)], invoke, complete));
      } else if (roll < 5) {
        ops.push_back(Delete(i, "k", invoke, complete));
      } else {
        ops.push_back(Get(i, "k", values[uniform(0, 3)], invoke, complete));
      }
      if (complete != kNoReply && uniform(0, 19) == 0) ops.back().failed = true;
    }
    const bool want = BruteForceLinearizable(ops);
    CheckOptions options;
    // Every other history without memoization: forgetting states must not change a
    // verdict.
    if (seed % 2 == 0) options.max_memo_bytes_per_key = 0;
    const CheckResult r = CheckLinearizable(ops, options);
    ASSERT_EQ(r.verdict, want ? Verdict::kLinearizable : Verdict::kNotLinearizable)
        << r.explanation;
    if (want) ++linearizable;
  }
  // Both verdicts are well represented.
  EXPECT_GT(linearizable, kSeeds / 5);
  EXPECT_LT(linearizable, kSeeds * 4 / 5);
}

TEST(LinearizabilityBudgetTest, ExhaustedBudgetIsUnknown) {
  // 24 concurrent puts, then two sequential reads of different values: refuting it means
  // trying the orders of the puts, far more than the budget.
  std::vector<Operation> ops;
  for (int i = 0; i < 24; ++i) {
    ops.push_back(Put(static_cast<uint64_t>(i), "hot", "v" + std::to_string(i), 0, 100));
  }
  ops.push_back(Get(100, "hot", "v0", 200, 210));
  ops.push_back(Get(100, "hot", "v1", 220, 230));
  ops.push_back(Put(1, "cold", "x", 0, 10));
  ops.push_back(Get(2, "cold", "x", 20, 30));
  CheckOptions options;
  options.max_search_steps_per_key = 1000;
  const CheckResult r = CheckLinearizable(ops, options);
  EXPECT_EQ(r.verdict, Verdict::kUnknown) << r.explanation;
  EXPECT_NE(r.explanation.find("key " + HexEncode(AsBytes("hot"))), std::string::npos)
      << r.explanation;
  EXPECT_EQ(r.explanation.find("key " + HexEncode(AsBytes("cold"))), std::string::npos)
      << r.explanation;
  EXPECT_LE(r.search_steps, 2 * options.max_search_steps_per_key);

  // The same shape with reads that the first order tried explains is proven within the
  // tiny budget: the budget bounds work, it does not stand for a verdict.
  ops[24].observed = ToBytes("v23");
  ops[25].observed = ToBytes("v23");
  EXPECT_EQ(CheckLinearizable(ops, options).verdict, Verdict::kLinearizable);

  // A definite violation elsewhere still wins over an exhausted budget.
  ops[24].observed = ToBytes("v0");
  ops[25].observed = ToBytes("v1");
  ops.push_back(Get(2, "cold", std::nullopt, 40, 50));
  const CheckResult both = CheckLinearizable(ops, options);
  EXPECT_EQ(both.verdict, Verdict::kNotLinearizable) << both.explanation;
  EXPECT_NE(both.explanation.find("ran out of budget"), std::string::npos) << both.explanation;
}

double CheckMillis(const std::vector<Operation>& ops, CheckResult* result) {
  const auto start = std::chrono::steady_clock::now();
  *result = CheckLinearizable(ops);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// Not a timed assertion: the sizes of a simulation run must reach a verdict within the
// default budget. The times are printed for comparison across changes.
TEST(LinearizabilityPerformanceTest, SimulationSizedHistoriesReachAVerdict) {
  GenConfig config;
  config.num_ops = 5000;
  config.num_keys = 20;
  config.num_clients = 8;
  config.max_latency = 60;
  config.other_table_rate = 0;
  const History history = GenerateHistory(42, config);
  ASSERT_EQ(history.size(), 5000u);

  CheckResult r;
  double ms = CheckMillis(history.operations(), &r);
  EXPECT_EQ(r.verdict, Verdict::kLinearizable) << r.explanation;
  EXPECT_EQ(r.keys_checked, 20u);
  std::printf("5000 ops, 20 keys, 8 clients: %s in %.2f ms, %llu steps\n", VerdictName(r.verdict),
              ms, static_cast<unsigned long long>(r.search_steps));

  std::vector<Operation> mutated = history.operations();
  std::mt19937_64 rng(42);
  std::string what;
  ASSERT_TRUE(Mutate(&mutated, Mutation::kStaleValue, &rng, &what));
  ms = CheckMillis(mutated, &r);
  EXPECT_EQ(r.verdict, Verdict::kNotLinearizable) << what;
  std::printf("the same with a stale read (%s): %s in %.2f ms, %llu steps\n", what.c_str(),
              VerdictName(r.verdict), ms, static_cast<unsigned long long>(r.search_steps));

  // Thousands of operations on one key.
  config.num_ops = 4000;
  config.num_keys = 1;
  const History hot = GenerateHistory(7, config);
  ms = CheckMillis(hot.operations(), &r);
  EXPECT_EQ(r.verdict, Verdict::kLinearizable) << r.explanation;
  std::printf("4000 ops on one key, 8 clients: %s in %.2f ms, %llu steps\n", VerdictName(r.verdict),
              ms, static_cast<unsigned long long>(r.search_steps));
}

}  // namespace
}  // namespace vellum::sim
