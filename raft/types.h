// Copyright (c) Vellum authors.
//
// The vocabulary of the Raft core: log entries, the durable hard state, membership
// (ConfState and ConfChange), snapshots and messages. Plain values with no behaviour,
// shared by the core, its storage, the wire codec and the node that drives them.
//
// Thread safety: values; distinct objects may be used concurrently.

#ifndef VELLUM_RAFT_TYPES_H_
#define VELLUM_RAFT_TYPES_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace vellum::raft {

// A server's identity in the cluster. 0 means "none" (no leader, no vote).
using NodeId = uint64_t;
inline constexpr NodeId kNoNode = 0;

enum class EntryType : uint8_t {
  // An application command (or, with empty data, the leader's no-op of a new term).
  kNormal = 0,
  // A membership change: `data` is an encoded ConfChange (EncodeConfChange).
  kConfChange = 1,
};

struct Entry {
  uint64_t term = 0;
  uint64_t index = 0;
  EntryType type = EntryType::kNormal;
  Bytes data;
  // The leader's seal when the cluster authenticates its log (raft/entry_auth.h):
  // the previous entry's hash, the signer and its signature. Empty otherwise.
  Bytes seal;

  bool operator==(const Entry&) const = default;
};

// What must be on stable storage before a node sends the messages of the same Ready:
// the current term, the vote cast in it, and the highest index known committed.
struct HardState {
  uint64_t term = 0;
  NodeId vote = kNoNode;
  uint64_t commit = 0;

  bool operator==(const HardState&) const = default;
  bool empty() const { return term == 0 && vote == kNoNode && commit == 0; }
};

// The membership in force: voters decide elections and commitment; learners only
// receive the log (a new server catches up as a learner before it may vote).
struct ConfState {
  std::vector<NodeId> voters;    // sorted, unique
  std::vector<NodeId> learners;  // sorted, unique, disjoint from voters

  bool operator==(const ConfState&) const = default;
};

// One server at a time (Ongaro's thesis, section 4.1): adjacent configurations always
// have overlapping majorities, so no joint phase is needed. A change takes effect
// when it is applied; the leader proposes the next one only after the previous one
// is applied and after an entry of its own term has committed (the fix for the
// single-server-change bug described on raft-dev in 2015).
enum class ConfChangeType : uint8_t {
  kAddLearner = 0,      // a new server joins without a vote and receives the log
  kPromoteLearner = 1,  // a caught-up learner becomes a voter
  kRemoveNode = 2,      // a voter or learner leaves
};

struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddLearner;
  NodeId node_id = kNoNode;
  // Opaque to the core (the node's address, certificate, signing key...).
  Bytes context;

  bool operator==(const ConfChange&) const = default;
};

struct SnapshotMetadata {
  uint64_t index = 0;  // the last entry the snapshot covers
  uint64_t term = 0;   // that entry's term
  ConfState conf_state;
  // EntryHash of that entry (all zeros for a cluster's bootstrap snapshot): the
  // first entry after the snapshot chains to it.
  Bytes last_entry_hash;

  bool operator==(const SnapshotMetadata&) const = default;
};

struct Snapshot {
  SnapshotMetadata metadata;
  Bytes data;  // the application state at metadata.index, opaque to the core

  bool operator==(const Snapshot&) const = default;
  bool empty() const { return metadata.index == 0; }
};

enum class MessageType : uint8_t {
  kAppend = 1,          // entries (possibly none) and the leader's commit index
  kAppendResponse = 2,  // accepted up to `index`, or rejected with a hint
  kVote = 3,            // a candidate asks for a vote
  kVoteResponse = 4,
  kPreVote = 5,  // "would you vote for me?" without disturbing anyone's term
  kPreVoteResponse = 6,
  kHeartbeat = 7,  // the leader's liveness and commit index; carries a read context
  kHeartbeatResponse = 8,
  kSnapshot = 9,     // install this snapshot
  kTimeoutNow = 10,  // leadership transfer: campaign now, skipping pre-vote
  kReadIndex = 11,   // a follower forwards a read request to the leader
  kReadIndexResponse = 12,
  kPropose = 13,  // a follower forwards client entries to the leader
};

std::string_view MessageTypeName(MessageType type);

struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  uint64_t term = 0;
  // kAppend: the index and term of the entry preceding `entries`.
  // kVote/kPreVote: the candidate's last log index and term.
  // kAppendResponse: the index accepted up to, or (rejected) the index that did
  //   not match, with `reject_hint` the follower's last index and `log_term` the
  //   term at that hint (the fast backtracking of etcd-raft).
  uint64_t index = 0;
  uint64_t log_term = 0;
  uint64_t commit = 0;
  bool reject = false;
  uint64_t reject_hint = 0;
  std::vector<Entry> entries;
  Snapshot snapshot;  // kSnapshot only
  // Opaque request context: the ReadIndex request id carried by heartbeats and read
  // responses; for kVote/kPreVote a non-empty context marks a leadership transfer.
  Bytes context;

  bool operator==(const Message&) const = default;
};

// The role a node plays in its current term.
enum class Role : uint8_t { kFollower = 0, kPreCandidate = 1, kCandidate = 2, kLeader = 3 };

std::string_view RoleName(Role role);

// Volatile state that the application may want to observe (not persisted).
struct SoftState {
  NodeId leader = kNoNode;
  Role role = Role::kFollower;

  bool operator==(const SoftState&) const = default;
};

// A linearizable read is safe to serve once the local state machine has applied
// `index`: the leader confirmed with a quorum that it was still the leader when the
// read with this `request_context` arrived.
struct ReadState {
  uint64_t index = 0;
  Bytes request_context;

  bool operator==(const ReadState&) const = default;
};

}  // namespace vellum::raft

#endif  // VELLUM_RAFT_TYPES_H_
