// Copyright (c) Vellum authors.
//
// InProcessCluster: ReplicatedLedger members in one process on one in-memory Env,
// with messages passed by hand, one round at a time, for tests that drive a cluster
// step by step. A derived test cluster sets each member's options (Options) and may
// act on each delivered message (AfterDelivery); the driving — rounds, elections,
// writes through the leader — is here.

#ifndef VELLUM_TESTS_NODE_IN_PROCESS_CLUSTER_H_
#define VELLUM_TESTS_NODE_IN_PROCESS_CLUSTER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "crypto/random.h"
#include "node/replicated_ledger.h"
#include "tests/node/test_authenticator.h"
#include "vellum/env.h"

namespace vellum::node::testing {

class InProcessCluster {
 public:
  InProcessCluster(uint64_t env_seed, uint64_t random_seed)
      : env_(NewMemEnv(env_seed)), random_(random_seed) {}
  virtual ~InProcessCluster() = default;

  // Opens member `id` (again, after Stop) with Options(id).
  Status Start(uint64_t id) {
    if (!auth_.contains(id)) auth_[id] = std::make_unique<TestAuthenticator>(id, &keys_);
    ReplicatedLedgerOptions o = Options(id);
    o.node_id = id;
    o.env = env_.get();
    o.authenticator = auth_[id].get();
    o.random_seed = id;
    o.random = &random_;
    auto r = ReplicatedLedger::Open(o);
    if (!r.ok()) return r.status();
    nodes_[id] = std::move(r).value();
    return Status::OK();
  }
  void Stop(uint64_t id) { nodes_.erase(id); }
  ReplicatedLedger& node(uint64_t id) { return *nodes_.at(id); }
  bool up(uint64_t id) const { return nodes_.contains(id); }
  std::set<uint64_t>& cut() { return cut_; }
  Env* env() { return env_.get(); }

  // One round: tick everyone, process, deliver every message (to live members that
  // are not cut off). Messages produced while handling the deliveries go out next
  // round.
  void Round(bool tick = true) {
    for (auto& [id, n] : nodes_) {
      if (tick) n->Tick();
    }
    for (auto& [id, n] : nodes_) n->Process(&in_flight_).IgnoreError();
    std::vector<raft::Message> deliver = std::move(in_flight_);
    in_flight_.clear();
    for (const raft::Message& m : deliver) {
      auto it = nodes_.find(m.to);
      if (it == nodes_.end() || cut_.contains(m.to) || cut_.contains(m.from)) continue;
      it->second->Step(m).IgnoreError();
      AfterDelivery(m);
    }
  }
  uint64_t Leader() {
    for (auto& [id, n] : nodes_) {
      if (n->is_leader()) return id;
    }
    return 0;
  }
  // Runs until one member leads and every live member knows it; 0 if none does.
  uint64_t ElectLeader() {
    for (int i = 0; i < 300; ++i) {
      const uint64_t lead = Leader();
      bool known = lead != 0;
      for (auto& [id, n] : nodes_) known = known && n->leader() == lead;
      if (known) return lead;
      Round();
    }
    return 0;
  }
  // Proposes on the leader and runs until the callback ran.
  Result<WriteResult> Write(const WriteBatch& batch) {
    std::optional<Result<WriteResult>> result;
    const uint64_t lead = ElectLeader();
    if (lead == 0) return Status::Unavailable("no leader");
    Status s = node(lead).Propose(batch, [&](Result<WriteResult> r) { result = std::move(r); });
    if (!s.ok()) return s;
    for (int i = 0; i < 200 && !result.has_value(); ++i) Round(i % 4 == 0);
    if (!result.has_value()) return Status::Unavailable("no result");
    return *result;
  }
  void Settle(int rounds = 20) {
    for (int i = 0; i < rounds; ++i) Round();
  }

 protected:
  // Member `id`'s options; Start sets the node id, Env, authenticator and randomness.
  virtual ReplicatedLedgerOptions Options(uint64_t id) = 0;
  // Called after `m` was stepped into its (live) recipient.
  virtual void AfterDelivery(const raft::Message& /*m*/) {}

  std::map<uint64_t, std::unique_ptr<ReplicatedLedger>>& nodes() { return nodes_; }
  std::map<uint64_t, crypto::Ed25519KeyPair>& keys() { return keys_; }

 private:
  std::unique_ptr<Env> env_;
  crypto::SeededRandom random_;
  std::map<uint64_t, crypto::Ed25519KeyPair> keys_;
  std::map<uint64_t, std::unique_ptr<TestAuthenticator>> auth_;
  std::map<uint64_t, std::unique_ptr<ReplicatedLedger>> nodes_;
  std::set<uint64_t> cut_;
  std::vector<raft::Message> in_flight_;
};

}  // namespace vellum::node::testing

#endif  // VELLUM_TESTS_NODE_IN_PROCESS_CLUSTER_H_
