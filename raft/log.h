// Copyright (c) Vellum authors.
//
// RaftLog: the log as the core sees it — a stable prefix in Storage followed by an
// unstable suffix (entries, or a snapshot, the node has not persisted yet), with the
// commit and applied indexes. Internal to the core.
//
// Thread safety: none; owned by one Raft.

#ifndef VELLUM_RAFT_LOG_H_
#define VELLUM_RAFT_LOG_H_

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "raft/storage.h"
#include "raft/types.h"

namespace vellum::raft {

class RaftLog {
 public:
  // `storage` must outlive the log.
  explicit RaftLog(const Storage* storage);

  uint64_t committed() const { return committed_; }
  uint64_t applied() const { return applied_; }
  uint64_t FirstIndex() const;
  uint64_t LastIndex() const;
  uint64_t LastTerm() const;
  // The term of entry `index`, or nullopt when it is compacted or beyond the end.
  std::optional<uint64_t> Term(uint64_t index) const;
  bool MatchTerm(uint64_t index, uint64_t term) const;
  // Whether a candidate whose log ends at (last_index, last_term) is at least as
  // up to date as this log (Raft's election restriction, section 5.4.1).
  bool IsUpToDate(uint64_t last_index, uint64_t last_term) const;

  // Appends entries that follow (prev_index, prev_term) as received from a leader,
  // truncating a conflicting suffix. Returns the new last index, or nullopt when
  // the log does not contain (prev_index, prev_term). The commit index moves to
  // min(leader_commit, the last new entry).
  std::optional<uint64_t> MaybeAppend(uint64_t prev_index, uint64_t prev_term,
                                      uint64_t leader_commit, std::span<const Entry> entries);
  // The index of the first entry that is missing or has another term here, or 0.
  uint64_t FindConflict(std::span<const Entry> entries) const;
  // Appends at the end (the leader's own entries). Returns the new last index.
  uint64_t Append(std::span<const Entry> entries);

  // Entries [lo, LastIndex()] within max_bytes (at least one), or NotFound when lo
  // was compacted.
  Result<std::vector<Entry>> EntriesFrom(uint64_t lo, uint64_t max_bytes) const;
  Result<std::vector<Entry>> Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;

  // Commits up to `index` if it is newer and its entry has `term` (only entries of the
  // leader's current term are committed by counting replicas, section 5.4.2).
  bool MaybeCommit(uint64_t index, uint64_t term);
  void CommitTo(uint64_t index);
  void AppliedTo(uint64_t index);

  // What the node must persist: the unstable entries and snapshot.
  std::span<const Entry> UnstableEntries() const { return unstable_entries_; }
  const std::optional<Snapshot>& UnstableSnapshot() const { return unstable_snapshot_; }
  // Committed entries not yet handed out for applying, up to max_bytes.
  std::vector<Entry> NextCommittedEntries(uint64_t max_bytes) const;
  bool HasNextCommittedEntries() const;

  // The node persisted everything up to (index, term) / the unstable snapshot.
  void StableTo(uint64_t index, uint64_t term);
  void StableSnapshotTo(uint64_t index);

  // Replaces the log by a snapshot received from the leader.
  void Restore(const Snapshot& snapshot);
  // The snapshot to send a follower: the unstable one if any, else the storage's.
  Result<Snapshot> GetSnapshot() const;

 private:
  void TruncateAndAppendUnstable(std::span<const Entry> entries);

  const Storage* storage_;
  // Entries from unstable_offset_ on, not yet persisted by the node.
  std::vector<Entry> unstable_entries_;
  uint64_t unstable_offset_ = 0;
  std::optional<Snapshot> unstable_snapshot_;
  uint64_t committed_ = 0;
  uint64_t applied_ = 0;
};

}  // namespace vellum::raft

#endif  // VELLUM_RAFT_LOG_H_
