// Copyright (c) Vellum authors.
//
// Deterministic simulation of replicated ledgers: three ReplicatedLedger members —
// the real Raft core, the real durable Raft log and the real ledger (db/), each on
// its own in-memory Env under a fault-injecting Env — with a seeded network that
// drops, duplicates, delays and reorders messages and makes symmetric and one-way
// partitions, crashes that lose every unsynced byte, restarts, skewed timers, and
// clients writing (Propose) and reading (ReadBarrier, then a verified Get). Members
// compact their Raft logs every few entries, so one that was down or cut off often
// catches up by fetching a checkpoint of the sender's ledger (some arrive damaged
// and must be refused) and installing it.
//
// Checked after every step: at most one leader per term; no member raised an
// alarm; every ledger version applied anywhere has the same state root on every
// member that applied it. At the end of a run: the members converge to the same
// version and root, and the clients' history is linearizable.
//
// A failure prints its seed; replay it with
//   VELLUM_NODE_SIM_SEED=<seed> build/release/tests/node/vellum_node_sim_test
// VELLUM_NODE_SIM_SEEDS=<n> sets the seeds per shard (default 50: 10 shards, 500
// seeds; the sanitizer build in CI runs fewer, see scripts/run-tests.sh).

#include <gtest/gtest.h>

#include <cstdlib>
#include <deque>
#include <map>
#include <random>
#include <set>

#include "base/fault_injection_env.h"
#include "crypto/random.h"
#include "node/checkpoint_archive.h"
#include "node/replicated_ledger.h"
#include "tests/node/test_authenticator.h"
#include "tests/sim/linearizability.h"

namespace vellum::node {
namespace {

constexpr int kShards = 10;
constexpr int kSteps = 600;
constexpr uint64_t kNodes = 3;
constexpr uint64_t kSnapshotIntervalEntries = 16;
constexpr uint64_t kSnapshotTailEntries = 4;

using testing::TestAuthenticator;

struct Member {
  std::unique_ptr<Env> mem;
  std::unique_ptr<FaultInjectionEnv> env;
  std::unique_ptr<TestAuthenticator> auth;
  std::unique_ptr<crypto::SeededRandom> random;
  std::unique_ptr<ReplicatedLedger> ledger;  // null while crashed
  uint64_t tick_period = 1;
  uint64_t versions_checked = 0;
  int restarts = 0;
  uint64_t installs = 0;  // snapshots installed before the last restart
};

struct Pending {
  size_t history_id = 0;
  uint64_t node = 0;
  uint64_t client = 0;
  bool is_read = false;
  std::string key;
  uint64_t deadline = 0;
};

class NodeSimulation {
 public:
  explicit NodeSimulation(uint64_t seed) : seed_(seed), rng_(seed) {
    keys_ = testing::TestNodeKeys(kNodes);
    for (uint64_t id = 1; id <= kNodes; ++id) {
      Member& m = members_[id];
      m.mem = NewMemEnv(seed * 31 + id);
      m.env = std::make_unique<FaultInjectionEnv>(m.mem.get(), seed * 17 + id);
      m.auth = std::make_unique<TestAuthenticator>(id, &keys_);
      m.random = std::make_unique<crypto::SeededRandom>(seed * 13 + id);
      m.tick_period = 3 + rng_() % 3;  // skewed timers
    }
    drop_percent_ = rng_() % 10;
    duplicate_percent_ = rng_() % 5;
  }

  std::string Run() {
    for (uint64_t id = 1; id <= kNodes; ++id) {
      if (Status s = Start(id); !s.ok())
        return At("start node " + std::to_string(id) + ": " + s.ToString());
    }
    // The table every client uses, created before the random phase.
    if (std::string e = Setup(); !e.empty()) return e;
    for (step_ = 1; step_ <= kSteps; ++step_) {
      Step();
      if (std::string v = Check(); !v.empty()) return At(v);
    }
    // Heal, restart everyone who is down, and converge.
    cut_.clear();
    for (uint64_t id = 1; id <= kNodes; ++id) {
      if (!members_[id].ledger) {
        if (Status s = Start(id); !s.ok()) return At("restart: " + s.ToString());
      }
    }
    drop_percent_ = duplicate_percent_ = 0;
    for (int i = 0; i < 400; ++i, ++step_) {
      Round(/*tick=*/true);
      Collect();
      if (std::string v = Check(); !v.empty()) return At(v);
    }
    const CommitInfo reference = members_[1].ledger->latest();
    for (uint64_t id = 2; id <= kNodes; ++id) {
      const CommitInfo latest = members_[id].ledger->latest();
      if (latest.version != reference.version || latest.state_root != reference.state_root) {
        return At("node " + std::to_string(id) + " ended at version " +
                  std::to_string(latest.version) + ", node 1 at " +
                  std::to_string(reference.version));
      }
    }
    const sim::CheckResult lin = sim::CheckLinearizable(history_.operations());
    if (lin.verdict != sim::CheckResult::Verdict::kLinearizable) {
      return At(std::string("history is ") + sim::VerdictName(lin.verdict) + ": " +
                lin.explanation);
    }
    operations_ = lin.operations_checked;
    versions_ = reference.version;
    for (auto& [id, m] : members_)
      installs_ += m.installs + m.ledger->snapshot_stats().snapshots_installed;
    return "";
  }

  size_t operations() const { return operations_; }
  uint64_t installs() const { return installs_; }
  uint64_t versions() const { return versions_; }

 private:
  std::string At(const std::string& what) const {
    return "seed " + std::to_string(seed_) + ", step " + std::to_string(step_) + ": " + what;
  }

  Status Start(uint64_t id) {
    Member& m = members_[id];
    ReplicatedLedgerOptions o;
    o.node_id = id;
    o.dir = "/node";
    o.env = m.env.get();
    o.master_key_provider = [] { return MasterKey::FromBytes(std::string(32, '\x42')); };
    o.authenticator = m.auth.get();
    o.initial_voters = {1, 2, 3};
    o.random_seed = seed_ * 7 + id + static_cast<uint64_t>(m.restarts) * 1000;
    o.random = m.random.get();
    o.proposal_timeout_ticks = 60;
    // Compact often, so that members that were down or cut off catch up through
    // snapshots as well as through the log.
    o.snapshot_interval_entries = kSnapshotIntervalEntries;
    o.snapshot_tail_entries = kSnapshotTailEntries;
    o.snapshot_retry_ticks = 10;
    o.fetch_snapshot = [this, id](const LedgerSnapshotDescriptor&, uint64_t from,
                                  const std::string& into) { return Fetch(from, id, into); };
    auto r = ReplicatedLedger::Open(o);
    if (!r.ok()) return r.status();
    m.ledger = std::move(r).value();
    m.versions_checked = 0;
    return Status::OK();
  }

  // The daemon's snapshot fetch, in process: a checkpoint of the sender's ledger in
  // its Env, packed, sent over the (faulty) network, unpacked in the follower's Env.
  Status Fetch(uint64_t from, uint64_t to, const std::string& into) {
    Member& source = members_[from];
    if (!source.ledger || cut_.contains({from, to}) || cut_.contains({to, from})) {
      return Status::Unavailable("node " + std::to_string(from) + " cannot be reached");
    }
    const std::string checkpoint = "/node/checkpoint-out";
    VELLUM_RETURN_IF_ERROR(RemoveDirTree(source.env.get(), checkpoint));
    VELLUM_RETURN_IF_ERROR(source.ledger->db()->Checkpoint(checkpoint));
    std::string archive;
    Status packed = PackCheckpoint(source.env.get(), checkpoint, [&](std::string_view piece) {
      archive.append(piece);
      return Status::OK();
    });
    VELLUM_RETURN_IF_ERROR(RemoveDirTree(source.env.get(), checkpoint));
    VELLUM_RETURN_IF_ERROR(packed);
    // The network damages some transfers: the follower must refuse those.
    if (rng_() % 100 < drop_percent_) archive[rng_() % archive.size()] ^= 0x10;
    return UnpackCheckpoint(members_[to].env.get(), archive, into, uint64_t{1} << 30);
  }

  void Crash(uint64_t id) {
    Member& m = members_[id];
    if (!m.ledger) return;
    // Power loss: nothing the process does from here reaches the disk, and every
    // byte not synced is gone.
    m.env->SetFilesystemActive(false);
    m.installs += m.ledger->snapshot_stats().snapshots_installed;
    m.ledger.reset();
    VELLUM_CHECK(m.env->DropUnsyncedData().ok());
    m.env->SetFilesystemActive(true);
    ++m.restarts;
    std::erase_if(queue_, [&](const raft::Message& msg) { return msg.to == id; });
    // Its clients never hear back: their operations stay open (outcome unknown).
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.node == id) {
        busy_.erase(it->second.client);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }

  std::string Setup() {
    for (int i = 0; i < 2000 && !table_ready_; ++i, ++step_) {
      const uint64_t lead = Leader();
      if (lead != 0 && !setup_sent_) {
        WriteBatch b;
        b.CreateTable("t");
        if (members_[lead]
                .ledger
                ->Propose(b,
                          [this](Result<WriteResult> r) {
                            table_ready_ = r.ok();
                            setup_sent_ = false;
                          })
                .ok()) {
          setup_sent_ = true;
        }
      }
      Round(true);
    }
    if (!table_ready_) return At("the cluster never created the table");
    return "";
  }

  uint64_t Leader() {
    for (auto& [id, m] : members_) {
      if (m.ledger && m.ledger->is_leader()) return id;
    }
    return 0;
  }

  // Tick (each member on its own period), process, deliver some messages.
  void Round(bool tick) {
    for (auto& [id, m] : members_) {
      if (m.ledger && tick && step_ % m.tick_period == 0) m.ledger->Tick();
    }
    for (auto& [id, m] : members_) {
      if (m.ledger) m.ledger->Process(&queue_).IgnoreError();
    }
    const size_t deliveries = queue_.size() < 4 ? queue_.size() : 4 + rng_() % queue_.size();
    for (size_t d = 0; d < deliveries && !queue_.empty(); ++d) {
      const size_t pick = rng_() % std::min<size_t>(queue_.size(), 6);  // reorder a little
      raft::Message msg = queue_[pick];
      queue_.erase(queue_.begin() + static_cast<ptrdiff_t>(pick));
      if (rng_() % 100 < drop_percent_) continue;
      if (rng_() % 100 < duplicate_percent_) queue_.push_back(msg);
      if (cut_.contains({msg.from, msg.to})) continue;
      Member& to = members_[msg.to];
      if (to.ledger) to.ledger->Step(msg).IgnoreError();
    }
    for (auto& [id, m] : members_) {
      if (m.ledger) m.ledger->Process(&queue_).IgnoreError();
    }
  }

  void Step() {
    Round(true);
    const uint64_t p = rng_() % 1000;
    if (p < 6) {
      Crash(1 + rng_() % kNodes);
    } else if (p < 20) {
      for (uint64_t id = 1; id <= kNodes; ++id) {
        if (!members_[id].ledger) {
          if (Status s = Start(id); !s.ok() && failure_.empty()) {
            failure_ = "restarting node " + std::to_string(id) + ": " + s.ToString();
          }
          break;
        }
      }
    } else if (p < 26) {
      cut_.clear();
      const uint64_t alone = 1 + rng_() % kNodes;
      for (uint64_t other = 1; other <= kNodes; ++other) {
        if (other != alone) {
          cut_.insert({alone, other});
          cut_.insert({other, alone});
        }
      }
    } else if (p < 30) {
      const uint64_t a = 1 + rng_() % kNodes, b = 1 + rng_() % kNodes;
      if (a != b) cut_.insert({a, b});  // one-way
    } else if (p < 45) {
      cut_.clear();
    }
    if (rng_() % 100 < 40 && busy_.size() < 4) StartClientOp();
    Collect();
  }

  void StartClientOp() {
    uint64_t client = 0;
    while (busy_.contains(client)) ++client;
    const uint64_t id = 1 + rng_() % kNodes;
    Member& m = members_[id];
    const std::string key = "k" + std::to_string(rng_() % 3);
    const uint64_t op = ++next_op_;
    Pending pending;
    pending.node = id;
    pending.client = client;
    pending.key = key;
    pending.deadline = step_ + 150;
    if (rng_() % 10 < 4) {
      pending.is_read = true;
      pending.history_id = history_.BeginGet(client, "t", ToBytes(key), step_);
      if (!m.ledger || !m.ledger->ReadBarrier([this, op](Status s) { OnRead(op, s); }).ok()) {
        history_.EndFailed(pending.history_id, step_);
        return;
      }
    } else {
      WriteBatch b;
      const bool put = rng_() % 4 != 0;
      const std::string value = "v" + std::to_string(op);
      if (put) {
        b.Put("t", key, value);
        pending.history_id = history_.BeginPut(client, "t", ToBytes(key), ToBytes(value), step_);
      } else {
        b.Delete("t", key);
        pending.history_id = history_.BeginDelete(client, "t", ToBytes(key), step_);
      }
      // Writes go to the member the client picked; a follower refuses (the client
      // would be redirected), which is a definite failure.
      if (!m.ledger ||
          !m.ledger->Propose(b, [this, op](Result<WriteResult> r) { OnWrite(op, r.status()); })
               .ok()) {
        history_.EndFailed(pending.history_id, step_);
        return;
      }
    }
    busy_.insert(client);
    pending_[op] = pending;
  }

  void OnWrite(uint64_t op, const Status& s) {
    auto it = pending_.find(op);
    if (it == pending_.end()) return;
    // OK: acknowledged. Unavailable: the outcome is unknown (the op stays open).
    if (s.ok()) history_.EndWrite(it->second.history_id, step_);
    busy_.erase(it->second.client);
    pending_.erase(it);
  }

  void OnRead(uint64_t op, const Status& s) {
    auto it = pending_.find(op);
    if (it == pending_.end()) return;
    if (s.ok()) {
      // The barrier passed: this member has applied everything acknowledged before
      // the read began. Read (verified) from its ledger now.
      auto v = members_[it->second.node].ledger->db()->Get({}, "t", it->second.key);
      if (v.ok()) {
        history_.EndGet(it->second.history_id,
                        v->has_value() ? std::optional<Bytes>(ToBytes(**v)) : std::nullopt, step_);
      }
    }
    busy_.erase(it->second.client);
    pending_.erase(it);
  }

  void Collect() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline < step_) {
        busy_.erase(it->second.client);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }

  std::string Check() {
    if (!failure_.empty()) return failure_;
    for (auto& [id, m] : members_) {
      if (!m.ledger) continue;
      if (!m.ledger->alarm().ok()) {
        return "node " + std::to_string(id) + " raised an alarm: " + m.ledger->alarm().ToString();
      }
      if (!m.ledger->peer_alarms().empty()) {
        return "node " + std::to_string(id) +
               " refused a peer message: " + m.ledger->peer_alarms().front();
      }
      const raft::NodeStatus st = m.ledger->status();
      if (st.soft_state.role == raft::Role::kLeader) {
        auto [it, inserted] = leaders_.try_emplace(st.hard_state.term, id);
        if (!inserted && it->second != id) {
          return "two leaders in term " + std::to_string(st.hard_state.term);
        }
      }
      // Every new version's root must match what any other member had there.
      const uint64_t latest = m.ledger->latest().version;
      for (uint64_t v = m.versions_checked + 1; v <= latest; ++v) {
        auto entry = m.ledger->db()->GetLogEntry(v);
        if (!entry.ok())
          return "reading log entry " + std::to_string(v) + ": " + entry.status().ToString();
        auto [it, inserted] = roots_.try_emplace(v, entry->state_root_after);
        if (!inserted && it->second != entry->state_root_after) {
          return "node " + std::to_string(id) + " has another state root at version " +
                 std::to_string(v);
        }
      }
      m.versions_checked = latest;
    }
    return "";
  }

  const uint64_t seed_;
  std::mt19937_64 rng_;
  std::map<uint64_t, crypto::Ed25519KeyPair> keys_;
  std::map<uint64_t, Member> members_;
  std::vector<raft::Message> queue_;
  std::set<std::pair<uint64_t, uint64_t>> cut_;
  uint64_t drop_percent_ = 0;
  uint64_t duplicate_percent_ = 0;
  uint64_t step_ = 0;
  uint64_t next_op_ = 0;
  bool table_ready_ = false;
  bool setup_sent_ = false;
  sim::History history_;
  std::map<uint64_t, Pending> pending_;
  std::set<uint64_t> busy_;
  std::map<uint64_t, uint64_t> leaders_;
  std::map<uint64_t, Hash> roots_;
  size_t operations_ = 0;
  uint64_t versions_ = 0;
  uint64_t installs_ = 0;
  std::string failure_;
};

class NodeSimulationTest : public ::testing::TestWithParam<int> {};

TEST_P(NodeSimulationTest, ReplicasAgreeAndClientsSeeALinearizableLedger) {
  if (const char* one = std::getenv("VELLUM_NODE_SIM_SEED")) {
    if (GetParam() != 0) GTEST_SKIP() << "replaying one seed in shard 0";
    const uint64_t seed = std::stoull(one);
    NodeSimulation sim(seed);
    EXPECT_EQ(sim.Run(), "") << "replay: VELLUM_NODE_SIM_SEED=" << seed;
    std::printf("seed %llu: %zu operations checked, %llu versions\n",
                static_cast<unsigned long long>(seed), sim.operations(),
                static_cast<unsigned long long>(sim.versions()));
    return;
  }
  int seeds = 50;
  if (const char* n = std::getenv("VELLUM_NODE_SIM_SEEDS")) seeds = std::atoi(n);
  size_t operations = 0;
  uint64_t versions = 0;
  uint64_t installs = 0;
  for (int i = 0; i < seeds; ++i) {
    const uint64_t seed = static_cast<uint64_t>(GetParam()) * 100000 + static_cast<uint64_t>(i) + 1;
    NodeSimulation sim(seed);
    const std::string failure = sim.Run();
    ASSERT_EQ(failure, "") << "replay: VELLUM_NODE_SIM_SEED=" << seed;
    operations += sim.operations();
    versions += sim.versions();
    installs += sim.installs();
  }
  std::printf(
      "shard %d: %d seeds, %zu client operations checked, %llu ledger versions, %llu "
      "snapshots installed\n",
      GetParam(), seeds, operations, static_cast<unsigned long long>(versions),
      static_cast<unsigned long long>(installs));
}

INSTANTIATE_TEST_SUITE_P(Shards, NodeSimulationTest, ::testing::Range(0, kShards));

}  // namespace
}  // namespace vellum::node
