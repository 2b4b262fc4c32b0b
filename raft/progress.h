// Copyright (c) Vellum authors.
//
// What a leader knows about each follower's log (Progress), with the flow control
// that keeps it from flooding a slow follower, and the tracker that counts quorums
// for votes, commitment and liveness. Internal to the core.
//
// Thread safety: none; owned by one Raft.

#ifndef VELLUM_RAFT_PROGRESS_H_
#define VELLUM_RAFT_PROGRESS_H_

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "raft/types.h"

namespace vellum::raft {

// The last indexes of the append messages in flight to one follower, oldest first,
// bounded: when full, the leader stops sending until acknowledgements free slots.
class Inflights {
 public:
  explicit Inflights(size_t capacity) : capacity_(capacity) {}
  bool Full() const { return last_indexes_.size() >= capacity_; }
  size_t count() const { return last_indexes_.size(); }
  void Add(uint64_t last_index);
  // Frees every message whose last index is <= `index` (acknowledged).
  void FreeLE(uint64_t index);
  // Frees the oldest slot: a heartbeat answer shows the follower is alive, so an
  // append lost on the way must not stall the window forever.
  void FreeFirstOne() {
    if (!last_indexes_.empty()) last_indexes_.pop_front();
  }
  void Reset() { last_indexes_.clear(); }

 private:
  size_t capacity_;
  std::deque<uint64_t> last_indexes_;
};

enum class ProgressState : uint8_t {
  // The leader does not know where the follower's log matches: it sends one append
  // at a time and waits for the answer (or a heartbeat response) before the next.
  kProbe = 0,
  // The logs match up to `match`: appends are pipelined, bounded by Inflights.
  kReplicate = 1,
  // The follower needs entries that were compacted: a snapshot is on its way.
  kSnapshot = 2,
};

struct Progress {
  explicit Progress(size_t max_inflight) : inflights(max_inflight) {}

  uint64_t match = 0;
  uint64_t next = 1;
  ProgressState state = ProgressState::kProbe;
  uint64_t pending_snapshot = 0;
  // In kProbe: an append was sent and no answer came yet.
  bool probe_sent = false;
  // Heard from within the current election timeout (check-quorum).
  bool recent_active = false;
  bool is_learner = false;
  Inflights inflights;

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(uint64_t snapshot_index);
  // The follower acknowledged up to `index`: true when `match` moved.
  bool MaybeUpdate(uint64_t index);
  // Pipelining: the leader assumes an append up to `last` will succeed.
  void OptimisticUpdate(uint64_t last) { next = last + 1; }
  // The follower rejected an append at `rejected`; `hint` is the index to retry
  // from. False when the rejection is stale (an answer to an older message).
  bool MaybeDecreaseTo(uint64_t rejected, uint64_t hint);
  bool IsPaused() const;
};

enum class VoteResult : uint8_t { kPending = 0, kWon = 1, kLost = 2 };

// The membership and every member's progress, with quorum arithmetic over voters.
class ProgressTracker {
 public:
  explicit ProgressTracker(size_t max_inflight) : max_inflight_(max_inflight) {}

  // Replaces the membership, keeping the progress of members that stay.
  void SetConf(const ConfState& conf, uint64_t next_index);
  ConfState conf() const;
  bool IsVoter(NodeId id) const;
  bool IsLearner(NodeId id) const;
  bool IsMember(NodeId id) const { return progress_.contains(id); }
  size_t voter_count() const;

  Progress* Get(NodeId id);
  const Progress* Get(NodeId id) const;
  // Forgets what is known of every log (a new term): match 0, next `next_index`,
  // all active; `self` matches up to `self_match`.
  void ResetProgress(uint64_t next_index, NodeId self, uint64_t self_match);
  std::map<NodeId, Progress>& all() { return progress_; }
  const std::map<NodeId, Progress>& all() const { return progress_; }

  // The highest index replicated on a majority of voters.
  uint64_t QuorumMatch() const;
  // Whether a majority of voters were recently active (`self` always counts).
  bool QuorumActive(NodeId self) const;

  void ResetVotes() { votes_.clear(); }
  void RecordVote(NodeId id, bool granted);
  VoteResult TallyVotes() const;

 private:
  size_t max_inflight_;
  std::map<NodeId, Progress> progress_;
  std::map<NodeId, bool> votes_;
};

}  // namespace vellum::raft

#endif  // VELLUM_RAFT_PROGRESS_H_
