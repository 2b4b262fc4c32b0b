// Copyright (c) Vellum authors.

#include "tests/raft/raft_cluster.h"

#include <algorithm>

namespace vellum::raft::testing {

namespace {

class TestAuthenticator final : public MemberAuthenticator {
 public:
  TestAuthenticator(const crypto::Ed25519KeyPair* key,
                    const std::map<NodeId, crypto::Ed25519KeyPair>* keys,
                    const std::set<NodeId>* members)
      : key_(key), keys_(keys), members_(members) {}
  Result<Bytes> Sign(ByteView message) override {
    const crypto::Ed25519Signature sig = key_->Sign(message);
    return Bytes(sig.begin(), sig.end());
  }
  Status Verify(NodeId signer, ByteView message, ByteView signature) const override {
    if (!members_->contains(signer)) {
      return Status::PermissionDenied("node " + std::to_string(signer) + " is not a member");
    }
    return crypto::Ed25519Verify(keys_->at(signer).public_key(), message, signature);
  }

 private:
  const crypto::Ed25519KeyPair* key_;
  const std::map<NodeId, crypto::Ed25519KeyPair>* keys_;
  const std::set<NodeId>* members_;
};

}  // namespace

TestKeyring::TestKeyring() {
  for (NodeId id = 1; id <= kMaxTestNodes; ++id) {
    crypto::SecureBytes seed(crypto::Ed25519KeyPair::kSeedSize);
    std::fill(seed.data(), seed.data() + seed.size(), static_cast<uint8_t>(id));
    auto key = crypto::Ed25519KeyPair::FromSeed(seed);
    VELLUM_CHECK(key.ok());
    keys_.emplace(id, std::move(key).value());
  }
}

std::unique_ptr<MemberAuthenticator> TestKeyring::AuthenticatorFor(NodeId id) {
  return std::make_unique<TestAuthenticator>(&keys_.at(id), &keys_, &members_);
}

Bytes TestKeyring::SignAs(NodeId id, ByteView message) const {
  const crypto::Ed25519Signature sig = keys_.at(id).Sign(message);
  return Bytes(sig.begin(), sig.end());
}

namespace {

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

RaftCluster::RaftCluster(std::vector<NodeId> voters, ClusterOptions options)
    : options_(options), crash_rng_(options.seed ^ 0x5eedc0ffeeULL) {
  for (NodeId id : voters) keyring_.members().insert(id);
  const Snapshot boot = BootstrapSnapshot(voters);
  for (NodeId id : voters) {
    ClusterNode& n = nodes_[id];
    n.id = id;
    VELLUM_CHECK(n.storage->ApplySnapshot(boot).ok());
    const HardState hs{1, kNoNode, 1};
    n.storage->SetHardState(hs);
    synced_hard_state_[id] = hs;
    n.conf = boot.metadata.conf_state;
    n.applied_index = 1;
    StartCore(n);
  }
}

void RaftCluster::AddServer(NodeId id) {
  VELLUM_CHECK(!nodes_.contains(id));
  keyring_.members().insert(id);
  ClusterNode& n = nodes_[id];
  n.id = id;
  synced_hard_state_[id] = HardState{};
  StartCore(n);
}

void RaftCluster::StartCore(ClusterNode& n) {
  Config c;
  c.id = n.id;
  c.storage = n.storage.get();
  c.applied = n.applied_index;
  c.election_ticks = options_.election_ticks;
  c.heartbeat_ticks = options_.heartbeat_ticks;
  c.pre_vote = options_.pre_vote;
  c.check_quorum = options_.check_quorum;
  c.random_seed = options_.seed * 1000003 + n.id;
  c.max_message_bytes = options_.max_message_bytes;
  c.max_inflight_messages = options_.max_inflight_messages;
  if (options_.authenticate_entries) {
    auto& auth = authenticators_[n.id];
    if (!auth) auth = keyring_.AuthenticatorFor(n.id);
    c.entry_authenticator = auth.get();
  }
  auto core = RawNode::Create(c);
  VELLUM_CHECK(core.ok());
  n.core = std::move(core).value();
  n.up = true;
}

ClusterNode& RaftCluster::node(NodeId id) {
  auto it = nodes_.find(id);
  VELLUM_CHECK(it != nodes_.end());
  return it->second;
}

std::vector<NodeId> RaftCluster::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

void RaftCluster::Isolate(NodeId id) {
  for (const auto& [other, n] : nodes_) {
    if (other != id) CutBoth(id, other);
  }
}

void RaftCluster::Partition(const std::vector<std::vector<NodeId>>& groups) {
  cut_.clear();
  std::map<NodeId, size_t> group_of;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (NodeId id : groups[g]) group_of[id] = g;
  }
  for (const auto& [a, na] : nodes_) {
    for (const auto& [b, nb] : nodes_) {
      if (a != b && group_of[a] != group_of[b]) Cut(a, b);
    }
  }
}

Bytes RaftCluster::EncodeStateMachine(const ClusterNode& n) {
  Bytes out;
  PutVarint64(&out, n.applied_commands.size());
  for (const Bytes& c : n.applied_commands) {
    PutVarint64(&out, c.size());
    out.insert(out.end(), c.begin(), c.end());
  }
  return out;
}

void RaftCluster::DecodeStateMachine(ByteView data, ClusterNode* n) {
  n->applied_commands.clear();
  if (data.empty()) return;  // the bootstrap snapshot
  uint64_t count = 0;
  VELLUM_CHECK(GetVarint64(&data, &count));
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t len = 0;
    VELLUM_CHECK(GetVarint64(&data, &len) && len <= data.size());
    n->applied_commands.emplace_back(data.begin(), data.begin() + static_cast<ptrdiff_t>(len));
    data = data.subspan(len);
  }
}

void RaftCluster::ApplyEntry(ClusterNode& n, const Entry& e) {
  VELLUM_CHECK_EQ(e.index, n.applied_index + 1);
  n.applied_index = e.index;
  auto [it, inserted] = applied_anywhere_.try_emplace(e.index, e.term, e.data);
  if (!inserted && (it->second.first != e.term || it->second.second != e.data) &&
      first_violation_.empty()) {
    first_violation_ = "state machine safety: node " + std::to_string(n.id) + " applied index " +
                       std::to_string(e.index) + " term " + std::to_string(e.term) +
                       " but another node applied term " + std::to_string(it->second.first);
  }
  if (e.type == EntryType::kConfChange) {
    auto change = DecodeConfChange(e.data);
    VELLUM_CHECK(change.ok());
    n.conf = n.core->ApplyConfChange(*change);
    return;
  }
  if (!e.data.empty()) n.applied_commands.push_back(e.data);
}

void RaftCluster::HandleReady(ClusterNode& n) {
  Ready rd = n.core->GetReady();
  // 0. A leader's appends and heartbeats go out before its own write.
  for (Message& m : rd.early_messages) in_flight_.push_back(std::move(m));
  if (options_.crash_before_persist_percent > 0 && !rd.entries.empty() &&
      SplitMix(&crash_rng_) % 100 < options_.crash_before_persist_percent) {
    // The node dies with its appends on the wire and its own copy never written:
    // the cluster must not have counted that copy towards commitment.
    ++crashes_before_persist_;
    n.up = false;
    n.core.reset();
    n.storage->SetHardState(synced_hard_state_[n.id]);
    n.read_states.clear();
    for (const Message& m : in_flight_) {
      if (m.to == n.id) ReportSnapshot(m, false);
    }
    std::erase_if(in_flight_, [&](const Message& m) { return m.to == n.id; });
    return;
  }
  // 1. Persist.
  if (!rd.snapshot.empty()) VELLUM_CHECK(n.storage->ApplySnapshot(rd.snapshot).ok());
  n.storage->Append(rd.entries);
  if (rd.hard_state) {
    // A commit-only change is not synced: a crash may lose it (the node relearns
    // its commit index from the leader).
    if (rd.must_sync) {
      synced_hard_state_[n.id] = *rd.hard_state;
      n.storage->SetHardState(*rd.hard_state);
    } else {
      n.storage->SetHardState(*rd.hard_state);
    }
  } else if (rd.must_sync) {
    synced_hard_state_[n.id] = n.core->raft().hard_state();
  }
  // 2. Send.
  for (Message& m : rd.messages) in_flight_.push_back(std::move(m));
  // 3. Apply.
  if (!rd.snapshot.empty()) {
    DecodeStateMachine(rd.snapshot.data, &n);
    n.applied_index = rd.snapshot.metadata.index;
    n.conf = rd.snapshot.metadata.conf_state;
  }
  for (const Entry& e : rd.committed_entries) ApplyEntry(n, e);
  for (const ReadState& rs : rd.read_states) n.read_states.push_back(rs);
  for (const std::string& alarm : rd.alarms) n.alarms.push_back(alarm);
  n.core->Advance(rd);

  // Election safety and leader completeness, checked as leaders appear.
  const Raft& r = n.core->raft();
  if (r.role() == Role::kLeader) {
    auto [it, inserted] = leaders_by_term_.try_emplace(r.term(), n.id);
    if (!inserted && it->second != n.id && first_violation_.empty()) {
      first_violation_ = "election safety: nodes " + std::to_string(it->second) + " and " +
                         std::to_string(n.id) + " both led term " + std::to_string(r.term());
    }
    if (inserted) {
      for (const auto& [index, entry] : applied_anywhere_) {
        if (index < r.log().FirstIndex()) continue;  // inside its snapshot
        const auto term = r.log().Term(index);
        if ((!term || *term != entry.first) && first_violation_.empty()) {
          first_violation_ = "leader completeness: leader " + std::to_string(n.id) + " of term " +
                             std::to_string(r.term()) + " lacks applied entry " +
                             std::to_string(index);
        }
      }
    }
  }
}

void RaftCluster::ProcessReadies() {
  // Bounded: each pass drains every node's pending output once.
  for (int pass = 0; pass < 100; ++pass) {
    bool any = false;
    for (auto& [id, n] : nodes_) {
      if (n.up && n.core->HasReady()) {
        HandleReady(n);
        any = true;
      }
    }
    if (!any) return;
  }
}

void RaftCluster::ReportSnapshot(const Message& m, bool delivered) {
  if (m.type != MessageType::kSnapshot) return;
  auto from = nodes_.find(m.from);
  if (from != nodes_.end() && from->second.up) from->second.core->ReportSnapshot(m.to, delivered);
}

void RaftCluster::DropOne() {
  if (in_flight_.empty()) return;
  ReportSnapshot(in_flight_.front(), false);
  in_flight_.pop_front();
}

bool RaftCluster::DeliverOne() {
  if (in_flight_.empty()) return false;
  Message m = std::move(in_flight_.front());
  in_flight_.pop_front();
  auto it = nodes_.find(m.to);
  auto from = nodes_.find(m.from);
  const bool deliverable = it != nodes_.end() && it->second.up && from != nodes_.end() &&
                           from->second.up && Linked(m.from, m.to) && (!filter || filter(m));
  if (!deliverable) {
    ReportSnapshot(m, false);
    return true;
  }
  if (mutate) mutate(m);
  VELLUM_CHECK(it->second.core->Step(m).ok());
  ReportSnapshot(m, true);
  return true;
}

void RaftCluster::Settle(int max_rounds) {
  for (int round = 0; round < max_rounds; ++round) {
    ProcessReadies();
    if (in_flight_.empty()) return;
    // Deliver what is queued now; replies queue behind for the next round.
    size_t n = in_flight_.size();
    while (n-- > 0) DeliverOne();
  }
}

void RaftCluster::Tick(NodeId id) {
  ClusterNode& n = node(id);
  if (!n.up) return;
  n.core->Tick();
  ++n.ticks;
}

void RaftCluster::TickAll(int ticks) {
  for (int t = 0; t < ticks; ++t) {
    for (auto& [id, n] : nodes_) Tick(id);
    Settle();
  }
}

NodeId RaftCluster::ElectLeader(int max_ticks) {
  for (int t = 0; t < max_ticks; ++t) {
    const NodeId lead = Leader();
    if (lead != kNoNode) {
      // Known by a majority of the live voters in its configuration.
      size_t knows = 0;
      for (const auto& [id, n] : nodes_) {
        if (n.up && n.core->raft().leader() == lead) ++knows;
      }
      if (knows > raft(lead).tracker().voter_count() / 2) return lead;
    }
    TickAll(1);
  }
  return kNoNode;
}

void RaftCluster::Campaign(NodeId id) {
  node(id).core->Campaign();
  Settle();
}

NodeId RaftCluster::Leader() const {
  NodeId lead = kNoNode;
  uint64_t term = 0;
  for (const auto& [id, n] : nodes_) {
    if (!n.up) continue;
    const Raft& r = n.core->raft();
    if (r.role() == Role::kLeader && r.term() >= term) {
      lead = id;
      term = r.term();
    }
  }
  return lead;
}

Status RaftCluster::Propose(NodeId id, std::string_view command) {
  return node(id).core->Propose(ToBytes(command));
}

Status RaftCluster::ProposeAndCommit(std::string_view command) {
  const NodeId lead = Leader();
  if (lead == kNoNode) return Status::Unavailable("no leader");
  if (Status s = Propose(lead, command); !s.ok()) return s;
  Settle();
  const uint64_t index = raft(lead).log().LastIndex();
  if (raft(lead).log().committed() < index) return Status::Unavailable("not committed");
  return Status::OK();
}

void RaftCluster::Crash(NodeId id) {
  ClusterNode& n = node(id);
  n.up = false;
  n.core.reset();
  // What was not synced is gone: the hard state falls back to the synced one.
  n.storage->SetHardState(synced_hard_state_[id]);
  n.read_states.clear();
  for (const Message& m : in_flight_) {
    if (m.to == id) ReportSnapshot(m, false);
  }
  std::erase_if(in_flight_, [&](const Message& m) { return m.to == id || m.from == id; });
}

void RaftCluster::Restart(NodeId id) {
  ClusterNode& n = node(id);
  VELLUM_CHECK(!n.up);
  // The state machine is rebuilt from the snapshot; committed entries are replayed.
  auto snapshot = n.storage->GetSnapshot();
  VELLUM_CHECK(snapshot.ok());
  DecodeStateMachine(snapshot->data, &n);
  n.applied_index = snapshot->metadata.index;
  n.conf = snapshot->metadata.conf_state;
  StartCore(n);
}

void RaftCluster::Compact(NodeId id) {
  ClusterNode& n = node(id);
  if (n.applied_index < n.storage->FirstIndex()) return;  // nothing new to compact
  VELLUM_CHECK(n.storage->CreateSnapshot(n.applied_index, n.conf, EncodeStateMachine(n)).ok());
  VELLUM_CHECK(n.storage->Compact(n.applied_index).ok());
}

std::vector<std::string> RaftCluster::AppliedCommands(NodeId id) {
  std::vector<std::string> out;
  for (const Bytes& c : node(id).applied_commands) out.emplace_back(AsChars(c));
  return out;
}

std::string RaftCluster::CheckInvariants() {
  if (!first_violation_.empty()) return first_violation_;
  // Log matching over every pair of live nodes: find the last index where both
  // hold an entry of the same term; everything up to it must be identical.
  std::vector<const ClusterNode*> live;
  for (const auto& [id, n] : nodes_) {
    if (n.up) live.push_back(&n);
  }
  for (size_t i = 0; i < live.size(); ++i) {
    for (size_t j = i + 1; j < live.size(); ++j) {
      const RaftLog& a = live[i]->core->raft().log();
      const RaftLog& b = live[j]->core->raft().log();
      const uint64_t first = std::max(a.FirstIndex(), b.FirstIndex());
      const uint64_t last = std::min(a.LastIndex(), b.LastIndex());
      uint64_t match = 0;
      for (uint64_t k = last; k >= first && k > 0; --k) {
        if (a.Term(k) == b.Term(k)) {
          match = k;
          break;
        }
      }
      if (match < first) continue;
      auto ea = a.Slice(first, match + 1, UINT64_MAX);
      auto eb = b.Slice(first, match + 1, UINT64_MAX);
      if (!ea.ok() || !eb.ok() || *ea != *eb) {
        return "log matching: nodes " + std::to_string(live[i]->id) + " and " +
               std::to_string(live[j]->id) + " agree on the term at " + std::to_string(match) +
               " but differ before it";
      }
    }
  }
  return "";
}

}  // namespace vellum::raft::testing
