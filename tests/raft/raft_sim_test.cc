// Copyright (c) Vellum authors.
//
// Deterministic simulation of whole Raft clusters: real cores, a key-value state
// machine, clients, and a seeded network that drops, delays, duplicates and
// reorders messages, makes symmetric and one-way partitions, crashes and restarts
// nodes (losing what they had not synced) and skews their timers. Raft's safety
// properties are checked after every step; each run's client history is checked
// for linearizability at the end.
//
// Every run is a pure function of its seed. A failure prints the seed; replay it
// alone with
//   VELLUM_SIM_SEED=<seed> build/release/tests/raft/vellum_raft_sim_test
// VELLUM_SIM_SEEDS=<n> changes how many seeds each shard runs (default 50; ten
// shards, so 500 seeds in all).

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>

#include "tests/raft/raft_cluster.h"
#include "tests/sim/linearizability.h"

namespace vellum::raft {
namespace {

using testing::ClusterNode;
using testing::ClusterOptions;
using testing::RaftCluster;

constexpr int kShards = 10;

// A command of the simulated key-value store: "<op id> p <key> <value>" or
// "<op id> d <key>". The op id makes applying idempotent (a duplicated forward
// of a proposal may reach the log twice; the second copy is ignored, as a real
// store's client sessions would).
struct Command {
  uint64_t op_id = 0;
  bool is_put = false;
  std::string key;
  std::string value;
};

std::string EncodeCommand(const Command& c) {
  return std::to_string(c.op_id) + (c.is_put ? " p " : " d ") + c.key +
         (c.is_put ? " " + c.value : "");
}

Command DecodeCommand(std::string_view s) {
  Command c;
  const size_t a = s.find(' ');
  c.op_id = std::stoull(std::string(s.substr(0, a)));
  c.is_put = s[a + 1] == 'p';
  const std::string_view rest = s.substr(a + 3);
  const size_t b = rest.find(' ');
  c.key = std::string(rest.substr(0, b));
  if (c.is_put) c.value = std::string(rest.substr(b + 1));
  return c;
}

// One node's key-value state, folded from its applied commands.
struct KvState {
  size_t folded = 0;
  std::set<uint64_t> applied_ops;
  std::map<std::string, std::string> kv;
};

struct PendingOp {
  size_t history_id = 0;
  NodeId node = kNoNode;
  uint64_t op_id = 0;
  bool is_read = false;
  std::string key;
  uint64_t read_index = 0;  // once the ReadState arrived
  bool read_confirmed = false;
  uint64_t deadline = 0;
};

class Simulation {
 public:
  explicit Simulation(uint64_t seed) : seed_(seed), rng_(seed) {
    const int n = rng_() % 2 == 0 ? 3 : 5;
    for (int i = 1; i <= n; ++i) voters_.push_back(static_cast<NodeId>(i));
    ClusterOptions options;
    options.seed = seed;
    options.pre_vote = rng_() % 4 != 0;
    options.check_quorum = rng_() % 4 != 0;
    options.max_message_bytes = rng_() % 3 == 0 ? 0 : 4096;
    options.max_inflight_messages = 1 + rng_() % 8;
    // Half the runs seal and verify every entry, as a hardened cluster does.
    options.authenticate_entries = rng_() % 2 == 0;
    // Half the runs crash nodes between sending a leader's appends and writing them.
    options.crash_before_persist_percent = rng_() % 2 == 0 ? 2 : 0;
    cluster_ = std::make_unique<RaftCluster>(voters_, options);
    for (NodeId id : voters_) {
      // Skewed timers: a node ticks every 8 to 14 steps.
      tick_period_[id] = 8 + rng_() % 7;
    }
    drop_percent_ = rng_() % 15;
    duplicate_percent_ = rng_() % 8;
  }

  // Runs the simulation; returns "" or a description of the first failure.
  std::string Run(int steps) {
    for (now_ = 1; now_ <= static_cast<uint64_t>(steps); ++now_) {
      Step();
      if (std::string v = cluster_->CheckInvariantsCheap(); !v.empty()) return At(v);
      if (now_ % 25 == 0) {
        if (std::string v = cluster_->CheckInvariants(); !v.empty()) return At(v);
      }
    }
    // Heal everything and let the cluster converge, so every node ends applied.
    cluster_->set_crash_before_persist_percent(0);
    cluster_->HealAll();
    for (NodeId id : voters_) {
      if (!cluster_->node(id).up) cluster_->Restart(id);
    }
    for (int round = 0; round < 400; ++round, ++now_) {
      cluster_->TickAll(1);
      CollectResults();
    }
    if (std::string v = cluster_->CheckInvariants(); !v.empty()) return At(v);
    // Every node applied the same commands (state machine safety, end to end).
    if (std::getenv("VELLUM_SIM_VERBOSE")) DumpState();
    const auto reference = cluster_->AppliedCommands(voters_.front());
    for (NodeId id : voters_) {
      if (cluster_->AppliedCommands(id) != reference) {
        return At("node " + std::to_string(id) + " applied different commands than node " +
                  std::to_string(voters_.front()));
      }
    }
    // An honest cluster never raises an alarm, however the network behaves.
    for (NodeId id : voters_) {
      if (!cluster_->node(id).alarms.empty()) {
        return At("node " + std::to_string(id) +
                  " raised an alarm in an honest cluster: " + cluster_->node(id).alarms.front());
      }
    }
    const sim::CheckResult lin = sim::CheckLinearizable(history_.operations());
    if (lin.verdict != sim::CheckResult::Verdict::kLinearizable) {
      return At(std::string("client history is ") + sim::VerdictName(lin.verdict) + ": " +
                lin.explanation);
    }
    operations_checked_ = lin.operations_checked;
    return "";
  }

  size_t operations_checked() const { return operations_checked_; }
  size_t commands_applied() { return cluster_->AppliedCommands(voters_.front()).size(); }
  uint64_t crashes_before_persist() const { return cluster_->crashes_before_persist(); }

 private:
  std::string At(const std::string& what) const {
    return "seed " + std::to_string(seed_) + ", step " + std::to_string(now_) + ": " + what;
  }

  // With VELLUM_SIM_VERBOSE set: every node's core state and the leader's view of
  // its followers, for replaying a failing seed.
  void DumpState() {
    for (NodeId id : voters_) {
      const Raft& r = cluster_->raft(id);
      std::printf(
          "node %llu: up %d role %s term %llu leader %llu last %llu commit %llu "
          "applied commands %zu\n",
          static_cast<unsigned long long>(id), cluster_->node(id).up ? 1 : 0,
          std::string(RoleName(r.role())).c_str(), static_cast<unsigned long long>(r.term()),
          static_cast<unsigned long long>(r.leader()),
          static_cast<unsigned long long>(r.log().LastIndex()),
          static_cast<unsigned long long>(r.log().committed()),
          cluster_->AppliedCommands(id).size());
      if (r.role() != Role::kLeader) continue;
      for (const auto& [peer, pr] : r.tracker().all()) {
        std::printf("  follower %llu: state %d match %llu next %llu paused %d\n",
                    static_cast<unsigned long long>(peer), static_cast<int>(pr.state),
                    static_cast<unsigned long long>(pr.match),
                    static_cast<unsigned long long>(pr.next), pr.IsPaused() ? 1 : 0);
      }
    }
  }

  uint64_t Percent() { return rng_() % 100; }
  NodeId RandomNode() { return voters_[rng_() % voters_.size()]; }

  void Step() {
    // Timers: each node on its own period.
    for (NodeId id : voters_) {
      if (now_ % tick_period_[id] == 0) cluster_->Tick(id);
    }
    cluster_->ProcessReadies();
    // The network: deliver a few messages, in random order, with loss and duplicates.
    auto& queue = cluster_->in_flight();
    const int deliveries = static_cast<int>(rng_() % 6);
    for (int d = 0; d < deliveries && !queue.empty(); ++d) {
      const size_t pick = rng_() % std::min<size_t>(queue.size(), 8);
      std::swap(queue[0], queue[pick]);
      if (Percent() < drop_percent_) {
        cluster_->DropOne();
        continue;
      }
      if (Percent() < duplicate_percent_) queue.push_back(queue.front());
      cluster_->DeliverOne();
      cluster_->ProcessReadies();
    }
    // Faults, rarely.
    const uint64_t p = rng_() % 1000;
    if (p < 8) {
      const NodeId id = RandomNode();
      if (cluster_->node(id).up) cluster_->Crash(id);
    } else if (p < 20) {
      for (NodeId id : voters_) {
        if (!cluster_->node(id).up) {
          cluster_->Restart(id);
          break;
        }
      }
    } else if (p < 24) {
      // A random symmetric split.
      std::vector<NodeId> a, b;
      for (NodeId id : voters_) (rng_() % 2 ? a : b).push_back(id);
      cluster_->Partition({a, b});
    } else if (p < 27) {
      const NodeId x = RandomNode(), y = RandomNode();
      if (x != y) cluster_->Cut(x, y);  // one-way
    } else if (p < 38) {
      cluster_->HealAll();
    } else if (p < 41) {
      const NodeId id = RandomNode();
      if (cluster_->node(id).up) cluster_->Compact(id);
    }
    // Clients: up to eight, each with one operation outstanding.
    if (Percent() < 60 && pending_.size() < 8) StartClientOp();
    CollectResults();
  }

  void StartClientOp() {
    uint64_t client = 0;
    while (busy_clients_.contains(client)) ++client;
    const NodeId id = RandomNode();
    PendingOp op;
    op.node = id;
    op.op_id = ++next_op_id_;
    op.key = "k" + std::to_string(rng_() % 4);
    op.deadline = now_ + 400;
    const uint64_t kind = rng_() % 10;
    if (kind < 4) {
      op.is_read = true;
      op.history_id = history_.BeginGet(client, "t", ToBytes(op.key), now_);
      if (!cluster_->node(id).up ||
          !cluster_->core(id).ReadIndex(ToBytes(std::to_string(op.op_id))).ok()) {
        history_.EndFailed(op.history_id, now_);
        return;
      }
    } else {
      Command c;
      c.op_id = op.op_id;
      c.is_put = kind < 8;
      c.key = op.key;
      c.value = "v" + std::to_string(op.op_id);
      op.history_id = c.is_put
                          ? history_.BeginPut(client, "t", ToBytes(c.key), ToBytes(c.value), now_)
                          : history_.BeginDelete(client, "t", ToBytes(c.key), now_);
      if (!cluster_->node(id).up || !cluster_->Propose(id, EncodeCommand(c)).ok()) {
        history_.EndFailed(op.history_id, now_);
        return;
      }
    }
    busy_clients_.insert(client);
    client_of_[op.op_id] = client;
    pending_[op.op_id] = op;
  }

  KvState& Fold(NodeId id) {
    KvState& s = kv_[id];
    const auto& applied = cluster_->node(id).applied_commands;
    if (applied.size() < s.folded) s = KvState{};  // restarted from a snapshot
    for (; s.folded < applied.size(); ++s.folded) {
      const Command c = DecodeCommand(AsChars(applied[s.folded]));
      if (!s.applied_ops.insert(c.op_id).second) continue;  // a duplicate
      if (c.is_put) {
        s.kv[c.key] = c.value;
      } else {
        s.kv.erase(c.key);
      }
      newly_applied_[id].push_back(c.op_id);
    }
    return s;
  }

  void Finish(uint64_t op_id) {
    busy_clients_.erase(client_of_[op_id]);
    pending_.erase(op_id);
  }

  void CollectResults() {
    for (NodeId id : voters_) {
      ClusterNode& n = cluster_->node(id);
      if (!n.up) {
        kv_[id].folded = SIZE_MAX;  // rebuilt when it comes back
        continue;
      }
      if (kv_[id].folded == SIZE_MAX) kv_[id] = KvState{};
      KvState& s = Fold(id);
      // Writes are acknowledged when the node they were sent to applies them.
      for (uint64_t op_id : newly_applied_[id]) {
        auto it = pending_.find(op_id);
        if (it != pending_.end() && !it->second.is_read && it->second.node == id) {
          history_.EndWrite(it->second.history_id, now_);
          Finish(op_id);
        }
      }
      newly_applied_[id].clear();
      // Reads: the ReadState says which index to wait for.
      for (const ReadState& rs : n.read_states) {
        const uint64_t op_id = std::stoull(std::string(AsChars(rs.request_context)));
        auto it = pending_.find(op_id);
        if (it != pending_.end() && it->second.node == id) {
          it->second.read_index = rs.index;
          it->second.read_confirmed = true;
        }
      }
      n.read_states.clear();
      for (auto it = pending_.begin(); it != pending_.end();) {
        PendingOp& op = it->second;
        ++it;
        if (op.node != id || !op.is_read || !op.read_confirmed) continue;
        if (n.applied_index < op.read_index) continue;
        auto v = s.kv.find(op.key);
        history_.EndGet(op.history_id,
                        v == s.kv.end() ? std::nullopt : std::optional<Bytes>(ToBytes(v->second)),
                        now_);
        Finish(op.op_id);
      }
    }
    // Operations that took too long: the client gives up (outcome unknown).
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline < now_ || !cluster_->node(it->second.node).up) {
        busy_clients_.erase(client_of_[it->first]);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }

  const uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<NodeId> voters_;
  std::unique_ptr<RaftCluster> cluster_;
  std::map<NodeId, uint64_t> tick_period_;
  uint64_t drop_percent_ = 0;
  uint64_t duplicate_percent_ = 0;
  uint64_t now_ = 0;
  uint64_t next_op_id_ = 0;
  sim::History history_;
  std::map<uint64_t, PendingOp> pending_;
  std::set<uint64_t> busy_clients_;
  std::map<uint64_t, uint64_t> client_of_;
  std::map<NodeId, KvState> kv_;
  std::map<NodeId, std::vector<uint64_t>> newly_applied_;
  size_t operations_checked_ = 0;
};

constexpr int kStepsPerRun = 3000;

class RaftSimulation : public ::testing::TestWithParam<int> {};

TEST_P(RaftSimulation, SafetyAndLinearizabilityHoldForEverySeed) {
  if (const char* one = std::getenv("VELLUM_SIM_SEED")) {
    if (GetParam() != 0) GTEST_SKIP() << "replaying one seed in shard 0";
    const uint64_t seed = std::stoull(one);
    Simulation sim(seed);
    const std::string failure = sim.Run(kStepsPerRun);
    EXPECT_EQ(failure, "") << "replay: VELLUM_SIM_SEED=" << seed;
    std::printf("seed %llu: %zu operations checked, %zu commands applied\n",
                static_cast<unsigned long long>(seed), sim.operations_checked(),
                sim.commands_applied());
    return;
  }
  int seeds = 50;
  if (const char* n = std::getenv("VELLUM_SIM_SEEDS")) seeds = std::atoi(n);
  size_t operations = 0;
  size_t commands = 0;
  uint64_t early_crashes = 0;
  for (int i = 0; i < seeds; ++i) {
    const uint64_t seed = static_cast<uint64_t>(GetParam()) * 100000 + static_cast<uint64_t>(i) + 1;
    Simulation sim(seed);
    const std::string failure = sim.Run(kStepsPerRun);
    ASSERT_EQ(failure, "") << "replay: VELLUM_SIM_SEED=" << seed;
    operations += sim.operations_checked();
    commands += sim.commands_applied();
    early_crashes += sim.crashes_before_persist();
  }
  // A shard in which nothing commits proves nothing about safety.
  EXPECT_GT(commands, 0u) << "no command was applied in any run of this shard";
  std::printf(
      "shard %d: %d seeds, %zu client operations checked, %zu commands applied, %llu crashes "
      "between a leader's early appends and its own write\n",
      GetParam(), seeds, operations, commands, static_cast<unsigned long long>(early_crashes));
}

INSTANTIATE_TEST_SUITE_P(Shards, RaftSimulation, ::testing::Range(0, kShards));

}  // namespace
}  // namespace vellum::raft
