// Copyright (c) Vellum authors.

#include "raft/raw_node.h"

#include <algorithm>
#include <string>

#include "raft/codec.h"
#include "raft/entry_auth.h"
#include "raft/raft.h"
#include "vellum/check.h"

namespace vellum::raft {

Result<std::unique_ptr<RawNode>> RawNode::Create(const Config& config) {
  if (Status s = config.Validate(); !s.ok()) return s;
  const Storage::InitialState initial = config.storage->GetInitialState();
  if (initial.hard_state.commit > config.storage->LastIndex()) {
    return Status::Corruption(
        "stored raft commit index " + std::to_string(initial.hard_state.commit) +
        " is past the last stored entry " + std::to_string(config.storage->LastIndex()));
  }
  // A snapshot is committed by definition, even if the synced commit index lags.
  const uint64_t committed = std::max(initial.hard_state.commit, config.storage->FirstIndex() - 1);
  if (config.applied > committed) {
    return Status::InvalidArgument("applied index " + std::to_string(config.applied) +
                                   " is past the stored commit index");
  }
  auto node = std::unique_ptr<RawNode>(new RawNode(std::make_unique<Raft>(config)));
  node->max_committed_bytes_per_ready_ = config.max_committed_bytes_per_ready;
  return node;
}

RawNode::RawNode(std::unique_ptr<Raft> raft)
    : raft_(std::move(raft)),
      prev_soft_state_(raft_->soft_state()),
      prev_hard_state_(raft_->hard_state()) {}

RawNode::~RawNode() = default;

void RawNode::Tick() { raft_->Tick(); }
void RawNode::Campaign() { raft_->Campaign(); }

Status RawNode::Propose(Bytes data) {
  Entry e;
  e.type = EntryType::kNormal;
  e.data = std::move(data);
  std::vector<Entry> entries;
  entries.push_back(std::move(e));
  return raft_->Propose(std::move(entries));
}

Status RawNode::ProposeConfChange(const ConfChange& change) {
  Entry e;
  e.type = EntryType::kConfChange;
  e.data = EncodeConfChange(change);
  std::vector<Entry> entries;
  entries.push_back(std::move(e));
  return raft_->Propose(std::move(entries));
}

Status RawNode::Step(const Message& message) {
  if (message.to != raft_->id()) {
    return Status::InvalidArgument("raft message for node " + std::to_string(message.to) +
                                   " delivered to node " + std::to_string(raft_->id()));
  }
  raft_->Step(message);
  return Status::OK();
}

Status RawNode::ReadIndex(Bytes request_context) {
  return raft_->ReadIndex(std::move(request_context));
}

Status RawNode::TransferLeadership(NodeId to) { return raft_->TransferLeadership(to); }

ConfState RawNode::ApplyConfChange(const ConfChange& change) {
  return raft_->ApplyConfChange(change);
}

void RawNode::ReportUnreachable(NodeId id) { raft_->ReportUnreachable(id); }
void RawNode::ReportSnapshot(NodeId id, bool delivered) { raft_->ReportSnapshot(id, delivered); }

bool RawNode::HasReady() const {
  const RaftLog& log = raft_->log();
  return raft_->soft_state() != prev_soft_state_ || raft_->hard_state() != prev_hard_state_ ||
         !raft_->read_states().empty() || !log.UnstableEntries().empty() ||
         log.UnstableSnapshot().has_value() || log.HasNextCommittedEntries() ||
         !raft_->outbox().empty() || !raft_->alarms().empty();
}

Ready RawNode::GetReady() {
  Ready rd;
  RaftLog& log = raft_->log();
  if (raft_->soft_state() != prev_soft_state_) rd.soft_state = raft_->soft_state();
  const HardState hs = raft_->hard_state();
  if (hs != prev_hard_state_) rd.hard_state = hs;
  rd.read_states = std::move(raft_->read_states());
  raft_->read_states().clear();
  rd.entries.assign(log.UnstableEntries().begin(), log.UnstableEntries().end());
  if (log.UnstableSnapshot()) rd.snapshot = *log.UnstableSnapshot();
  rd.committed_entries = log.NextCommittedEntries(max_committed_bytes_per_ready_);
  for (Message& m : raft_->outbox()) {
    const bool early = raft_->role() == Role::kLeader && m.term == raft_->term() &&
                       (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat);
    (early ? rd.early_messages : rd.messages).push_back(std::move(m));
  }
  raft_->outbox().clear();
  rd.alarms = std::move(raft_->alarms());
  raft_->alarms().clear();
  rd.must_sync = !rd.entries.empty() || hs.term != prev_hard_state_.term ||
                 hs.vote != prev_hard_state_.vote || !rd.snapshot.empty();
  return rd;
}

void RawNode::Advance(const Ready& rd) {
  RaftLog& log = raft_->log();
  if (rd.soft_state) prev_soft_state_ = *rd.soft_state;
  if (rd.hard_state) prev_hard_state_ = *rd.hard_state;
  if (!rd.snapshot.empty()) {
    log.StableSnapshotTo(rd.snapshot.metadata.index);
    log.AppliedTo(rd.snapshot.metadata.index);
  }
  if (!rd.entries.empty()) {
    log.StableTo(rd.entries.back().index, rd.entries.back().term);
    raft_->LocalAppendPersisted(rd.entries.back().index, rd.entries.back().term);
  }
  if (!rd.committed_entries.empty()) {
    log.AppliedTo(rd.committed_entries.back().index);
    raft_->ReduceUncommittedBytes(rd.committed_entries);
  }
}

NodeStatus RawNode::GetStatus() const {
  NodeStatus st;
  st.id = raft_->id();
  st.hard_state = raft_->hard_state();
  st.soft_state = raft_->soft_state();
  st.applied = raft_->log().applied();
  st.last_index = raft_->log().LastIndex();
  st.lead_transferee = raft_->lead_transferee();
  st.conf_state = raft_->tracker().conf();
  if (raft_->role() == Role::kLeader) {
    for (const auto& [id, p] : raft_->tracker().all()) st.match.emplace_back(id, p.match);
  }
  return st;
}

Snapshot BootstrapSnapshot(std::vector<NodeId> voters) {
  std::sort(voters.begin(), voters.end());
  voters.erase(std::unique(voters.begin(), voters.end()), voters.end());
  Snapshot s;
  s.metadata.index = 1;
  s.metadata.term = 1;
  s.metadata.conf_state.voters = std::move(voters);
  s.metadata.last_entry_hash = GenesisEntryHash();
  return s;
}

}  // namespace vellum::raft
