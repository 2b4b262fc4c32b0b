// Copyright (c) Vellum authors.
//
// RawNode: the Raft core as the node drives it (etcd-raft's RawNode). Inputs are
// Tick, Step, Propose, ReadIndex, TransferLeadership and ApplyConfChange; output is
// a Ready bundle the node acts on, in this order, before calling Advance:
//
//   0. send `early_messages` — a leader's appends and heartbeats, which promise
//      nothing about this node's storage — at once, so followers write their logs
//      while this node writes its own (Ongaro's thesis, section 10.2.1);
//   1. persist `hard_state`, `entries` and `snapshot` (synced to stable storage when
//      `must_sync`), so that a vote or an acknowledged entry survives a crash;
//   2. send `messages` (only after step 1: they may acknowledge what was persisted);
//   3. apply `snapshot`, then `committed_entries` in order, calling ApplyConfChange
//      for each membership change; serve reads whose ReadState index is applied;
//   4. Advance(ready).
//
// Thread safety: none; drive a RawNode from one thread (the node's event loop).

#ifndef VELLUM_RAFT_RAW_NODE_H_
#define VELLUM_RAFT_RAW_NODE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft/config.h"
#include "raft/types.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::raft {

class Raft;

struct Ready {
  std::optional<SoftState> soft_state;  // set when leader or role changed
  std::optional<HardState> hard_state;  // set when term, vote or commit changed
  std::vector<ReadState> read_states;
  std::vector<Entry> entries;            // to persist, in order, after truncating conflicts
  Snapshot snapshot;                     // to persist and apply, when not empty()
  std::vector<Entry> committed_entries;  // to apply, in order
  std::vector<Message> messages;         // to send after persisting
  // To send before persisting (or with `messages`: either is correct). A leader
  // counts its own copy of an entry towards commitment only once Advance reports
  // it persisted, so sending early never commits an entry on fewer durable copies.
  std::vector<Message> early_messages;
  // Peer messages refused to protect the log's integrity: log them and raise an
  // alarm (metrics); the core carries on without them.
  std::vector<std::string> alarms;
  // Whether step 1 must reach stable storage before step 2 (a vote, a term or
  // entries changed); commit-index-only changes need not be synced.
  bool must_sync = false;
};

// A snapshot of the core's state for status pages and tests.
struct NodeStatus {
  NodeId id = kNoNode;
  HardState hard_state;
  SoftState soft_state;
  uint64_t applied = 0;
  uint64_t last_index = 0;
  NodeId lead_transferee = kNoNode;
  ConfState conf_state;
  // Leader only: each member's acknowledged index.
  std::vector<std::pair<NodeId, uint64_t>> match;
};

class RawNode {
 public:
  // InvalidArgument for an invalid config.
  static Result<std::unique_ptr<RawNode>> Create(const Config& config);
  ~RawNode();
  RawNode(const RawNode&) = delete;
  RawNode& operator=(const RawNode&) = delete;

  void Tick();
  void Campaign();
  // Proposes an application command. See Raft::Propose for the errors.
  Status Propose(Bytes data);
  // Proposes a membership change (on the leader only).
  Status ProposeConfChange(const ConfChange& change);
  // A message from a peer (already authenticated by the transport). Messages not
  // addressed to this node are InvalidArgument.
  Status Step(const Message& message);
  Status ReadIndex(Bytes request_context);
  Status TransferLeadership(NodeId to);
  ConfState ApplyConfChange(const ConfChange& change);
  void ReportUnreachable(NodeId id);
  void ReportSnapshot(NodeId id, bool delivered);

  bool HasReady() const;
  // The next Ready; call Advance with it before asking again.
  Ready GetReady();
  void Advance(const Ready& ready);

  NodeStatus GetStatus() const;
  // The core itself, for tests and invariant checks.
  const Raft& raft() const { return *raft_; }

 private:
  explicit RawNode(std::unique_ptr<Raft> raft);

  std::unique_ptr<Raft> raft_;
  uint64_t max_committed_bytes_per_ready_ = 0;
  SoftState prev_soft_state_;
  HardState prev_hard_state_;
};

// The snapshot every member of a new cluster starts from: index 1, term 1, the given
// voters, empty application data. Store it with MemoryStorage::ApplySnapshot (and a
// HardState{term 1, commit 1}) on each initial member; nodes that join later start
// empty and receive a snapshot from the leader.
Snapshot BootstrapSnapshot(std::vector<NodeId> voters);

}  // namespace vellum::raft

#endif  // VELLUM_RAFT_RAW_NODE_H_
