// Copyright (c) Vellum authors.
//
// Storage: the Raft core's read-only view of the stable log. The core never writes
// to it; the node persists what a Ready hands out (entries, hard state, snapshot) and
// only then calls Advance, so everything readable here is durable.
//
// MemoryStorage is the in-memory implementation used by tests, the simulation, and
// the node (which keeps the stable log both in memory and in its ledger).
//
// Thread safety: MemoryStorage is internally locked, so the node may append from its
// persistence path while the core reads; the core itself is single-threaded.

#ifndef VELLUM_RAFT_STORAGE_H_
#define VELLUM_RAFT_STORAGE_H_

#include <cstdint>
#include <mutex>
#include <vector>

#include "raft/types.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::raft {

// Errors a Storage returns that the core acts on:
//   NotFound     the entry was compacted into a snapshot (send the snapshot instead);
//   Unavailable  the entry or snapshot is not available yet (try again later).
// Anything else is a broken storage and stops the core with a check failure.
class Storage {
 public:
  virtual ~Storage() = default;

  struct InitialState {
    HardState hard_state;
    ConfState conf_state;
  };
  virtual InitialState GetInitialState() const = 0;
  // Entries [lo, hi), at least one when lo < hi, and then as many as fit in
  // `max_bytes` (the sum of the entries' data sizes).
  virtual Result<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi,
                                             uint64_t max_bytes) const = 0;
  // The term of entry `index`, for first_index() - 1 <= index <= last_index().
  virtual Result<uint64_t> Term(uint64_t index) const = 0;
  virtual uint64_t FirstIndex() const = 0;
  virtual uint64_t LastIndex() const = 0;
  virtual Result<Snapshot> GetSnapshot() const = 0;
};

class MemoryStorage final : public Storage {
 public:
  MemoryStorage();

  InitialState GetInitialState() const override;
  Result<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const override;
  Result<uint64_t> Term(uint64_t index) const override;
  uint64_t FirstIndex() const override;
  uint64_t LastIndex() const override;
  Result<Snapshot> GetSnapshot() const override;

  void SetHardState(const HardState& hard_state);
  // Sets the membership reported by GetInitialState (a bootstrap configuration, or the
  // one in force after restoring from persistent state).
  void SetConfState(const ConfState& conf_state);
  // Replaces the whole log by `snapshot`. FailedPrecondition if it is older than the
  // snapshot held.
  Status ApplySnapshot(const Snapshot& snapshot);
  // Makes a snapshot of the state at `index` (<= the applied index, which the caller
  // knows) and keeps it for GetSnapshot; `conf_state` is the membership at `index`.
  Status CreateSnapshot(uint64_t index, const ConfState& conf_state, Bytes data);
  // Discards entries before `compact_index` (which must be <= last_index()).
  Status Compact(uint64_t compact_index);
  // Appends entries, truncating any conflicting suffix first. Entries older than the
  // first index are ignored. A gap after the last index is a broken invariant.
  void Append(const std::vector<Entry>& entries);

 private:
  uint64_t FirstIndexLocked() const { return entries_.front().index + 1; }
  uint64_t LastIndexLocked() const { return entries_.front().index + entries_.size() - 1; }

  mutable std::mutex mu_;
  HardState hard_state_;
  Snapshot snapshot_;
  // entries_[0] is a placeholder holding the index and term of the last compacted
  // entry (the snapshot's); the real log follows it.
  std::vector<Entry> entries_;
};

}  // namespace vellum::raft

#endif  // VELLUM_RAFT_STORAGE_H_
