// Copyright (c) Vellum authors.

#include <algorithm>
#include <string>

#include "raft/entry_auth.h"
#include "raft/storage.h"
#include "vellum/check.h"

namespace vellum::raft {

MemoryStorage::MemoryStorage() : entries_(1) {}

Storage::InitialState MemoryStorage::GetInitialState() const {
  std::lock_guard lock(mu_);
  return {hard_state_, snapshot_.metadata.conf_state};
}

void MemoryStorage::SetHardState(const HardState& hard_state) {
  std::lock_guard lock(mu_);
  hard_state_ = hard_state;
}

void MemoryStorage::SetConfState(const ConfState& conf_state) {
  std::lock_guard lock(mu_);
  snapshot_.metadata.conf_state = conf_state;
}

Result<std::vector<Entry>> MemoryStorage::Entries(uint64_t lo, uint64_t hi,
                                                  uint64_t max_bytes) const {
  std::lock_guard lock(mu_);
  const uint64_t offset = entries_.front().index;
  if (lo <= offset) {
    return Status::NotFound("raft log entry " + std::to_string(lo) + " was compacted");
  }
  VELLUM_CHECK_MSG(hi <= LastIndexLocked() + 1, "raft storage asked for entries past its end");
  std::vector<Entry> out;
  uint64_t size_bytes = 0;
  for (uint64_t i = lo; i < hi; ++i) {
    const Entry& e = entries_[i - offset];
    if (!out.empty() && size_bytes + e.data.size() > max_bytes) break;
    size_bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

Result<uint64_t> MemoryStorage::Term(uint64_t index) const {
  std::lock_guard lock(mu_);
  const uint64_t offset = entries_.front().index;
  if (index < offset) {
    return Status::NotFound("raft log entry " + std::to_string(index) + " was compacted");
  }
  if (index > LastIndexLocked()) {
    return Status::Unavailable("raft log entry " + std::to_string(index) + " is not stored yet");
  }
  return entries_[index - offset].term;
}

uint64_t MemoryStorage::FirstIndex() const {
  std::lock_guard lock(mu_);
  return FirstIndexLocked();
}

uint64_t MemoryStorage::LastIndex() const {
  std::lock_guard lock(mu_);
  return LastIndexLocked();
}

Result<Snapshot> MemoryStorage::GetSnapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

Status MemoryStorage::ApplySnapshot(const Snapshot& snapshot) {
  std::lock_guard lock(mu_);
  if (snapshot.metadata.index <= snapshot_.metadata.index && !snapshot_.empty()) {
    return Status::FailedPrecondition("snapshot at " + std::to_string(snapshot.metadata.index) +
                                      " is not newer than the one held at " +
                                      std::to_string(snapshot_.metadata.index));
  }
  snapshot_ = snapshot;
  entries_.assign(
      1, Entry{snapshot.metadata.term, snapshot.metadata.index, EntryType::kNormal, {}, {}});
  return Status::OK();
}

Status MemoryStorage::CreateSnapshot(uint64_t index, const ConfState& conf_state, Bytes data) {
  std::lock_guard lock(mu_);
  if (index <= snapshot_.metadata.index && index != 0) {
    return Status::FailedPrecondition("a snapshot at " + std::to_string(index) +
                                      " would not be newer than the one held at " +
                                      std::to_string(snapshot_.metadata.index));
  }
  VELLUM_CHECK_MSG(index <= LastIndexLocked(), "snapshot past the end of the raft log");
  const uint64_t offset = entries_.front().index;
  snapshot_.metadata.index = index;
  snapshot_.metadata.term = entries_[index - offset].term;
  snapshot_.metadata.conf_state = conf_state;
  snapshot_.metadata.last_entry_hash = EntryHash(entries_[index - offset]);
  snapshot_.data = std::move(data);
  return Status::OK();
}

Status MemoryStorage::Compact(uint64_t compact_index) {
  std::lock_guard lock(mu_);
  const uint64_t offset = entries_.front().index;
  if (compact_index <= offset) {
    return Status::FailedPrecondition("raft log is already compacted past " +
                                      std::to_string(compact_index));
  }
  VELLUM_CHECK_MSG(compact_index <= LastIndexLocked(), "compaction past the end of the raft log");
  const uint64_t keep_from = compact_index - offset;
  std::vector<Entry> kept;
  kept.reserve(entries_.size() - keep_from);
  kept.push_back(
      Entry{entries_[keep_from].term, entries_[keep_from].index, EntryType::kNormal, {}, {}});
  for (size_t i = keep_from + 1; i < entries_.size(); ++i) kept.push_back(std::move(entries_[i]));
  entries_ = std::move(kept);
  return Status::OK();
}

void MemoryStorage::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  std::lock_guard lock(mu_);
  const uint64_t first = FirstIndexLocked();
  const uint64_t last_new = entries.back().index;
  if (last_new < first) return;  // everything is already compacted
  // Skip what lies before our first index.
  size_t skip = 0;
  if (entries.front().index < first) skip = first - entries.front().index;
  const uint64_t start = entries[skip].index;
  VELLUM_CHECK_MSG(start <= LastIndexLocked() + 1, "gap in the raft log on append");
  const uint64_t offset = entries_.front().index;
  entries_.resize(start - offset);  // truncate any conflicting suffix
  entries_.insert(entries_.end(), entries.begin() + static_cast<ptrdiff_t>(skip), entries.end());
}

}  // namespace vellum::raft
