// Copyright (c) Vellum authors.

#include "raft/log.h"

#include <algorithm>
#include <string>

#include "vellum/check.h"

namespace vellum::raft {

namespace {

// A storage error other than "compacted" or "not yet available" means the node's
// log is broken; the core cannot go on safely.
void CheckStorageError(const Status& status) {
  VELLUM_CHECK_MSG(
      status.code() == StatusCode::kNotFound || status.code() == StatusCode::kUnavailable,
      "raft storage failed");
}

}  // namespace

RaftLog::RaftLog(const Storage* storage) : storage_(storage) {
  VELLUM_CHECK(storage_ != nullptr);
  const uint64_t first = storage_->FirstIndex();
  const uint64_t last = storage_->LastIndex();
  unstable_offset_ = last + 1;
  committed_ = first - 1;
  applied_ = first - 1;
}

uint64_t RaftLog::FirstIndex() const {
  if (unstable_snapshot_) return unstable_snapshot_->metadata.index + 1;
  return storage_->FirstIndex();
}

uint64_t RaftLog::LastIndex() const {
  if (!unstable_entries_.empty()) return unstable_offset_ + unstable_entries_.size() - 1;
  if (unstable_snapshot_) return unstable_snapshot_->metadata.index;
  return storage_->LastIndex();
}

uint64_t RaftLog::LastTerm() const {
  const auto term = Term(LastIndex());
  VELLUM_CHECK_MSG(term.has_value(), "the last raft log entry has no term");
  return *term;
}

std::optional<uint64_t> RaftLog::Term(uint64_t index) const {
  const uint64_t dummy = FirstIndex() - 1;
  if (index < dummy || index > LastIndex()) return std::nullopt;
  if (index >= unstable_offset_ && index - unstable_offset_ < unstable_entries_.size()) {
    return unstable_entries_[index - unstable_offset_].term;
  }
  if (unstable_snapshot_ && unstable_snapshot_->metadata.index == index) {
    return unstable_snapshot_->metadata.term;
  }
  auto term = storage_->Term(index);
  if (!term.ok()) {
    CheckStorageError(term.status());
    return std::nullopt;
  }
  return *term;
}

bool RaftLog::MatchTerm(uint64_t index, uint64_t term) const {
  const auto t = Term(index);
  return t.has_value() && *t == term;
}

bool RaftLog::IsUpToDate(uint64_t last_index, uint64_t last_term) const {
  const uint64_t my_term = LastTerm();
  return last_term > my_term || (last_term == my_term && last_index >= LastIndex());
}

uint64_t RaftLog::FindConflict(std::span<const Entry> entries) const {
  for (const Entry& e : entries) {
    if (!MatchTerm(e.index, e.term)) return e.index;
  }
  return 0;
}

std::optional<uint64_t> RaftLog::MaybeAppend(uint64_t prev_index, uint64_t prev_term,
                                             uint64_t leader_commit,
                                             std::span<const Entry> entries) {
  if (!MatchTerm(prev_index, prev_term)) return std::nullopt;
  const uint64_t last_new = prev_index + entries.size();
  const uint64_t conflict = FindConflict(entries);
  if (conflict != 0) {
    // Raft's Log Matching and Leader Completeness properties guarantee a leader
    // never contradicts a committed entry; if it does, something is deeply broken.
    VELLUM_CHECK_MSG(conflict > committed_, "a leader's entries conflict with a committed entry");
    Append(entries.subspan(conflict - (prev_index + 1)));
  }
  CommitTo(std::min(leader_commit, last_new));
  return last_new;
}

uint64_t RaftLog::Append(std::span<const Entry> entries) {
  if (entries.empty()) return LastIndex();
  VELLUM_CHECK_MSG(entries.front().index > committed_, "append would overwrite committed entries");
  TruncateAndAppendUnstable(entries);
  return LastIndex();
}

void RaftLog::TruncateAndAppendUnstable(std::span<const Entry> entries) {
  const uint64_t after = entries.front().index;
  if (after == unstable_offset_ + unstable_entries_.size()) {
    unstable_entries_.insert(unstable_entries_.end(), entries.begin(), entries.end());
  } else if (after <= unstable_offset_) {
    // Replaces the unstable suffix and part of the stable log: the node truncates
    // its storage when it persists these.
    unstable_offset_ = after;
    unstable_entries_.assign(entries.begin(), entries.end());
  } else {
    unstable_entries_.resize(after - unstable_offset_);
    unstable_entries_.insert(unstable_entries_.end(), entries.begin(), entries.end());
  }
}

Result<std::vector<Entry>> RaftLog::Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  VELLUM_CHECK_LE(lo, hi);
  if (lo < FirstIndex()) {
    return Status::NotFound("raft log entry " + std::to_string(lo) + " was compacted");
  }
  VELLUM_CHECK_MSG(hi <= LastIndex() + 1, "raft log slice past the end");
  std::vector<Entry> out;
  if (lo == hi) return out;
  uint64_t size_bytes = 0;
  if (lo < unstable_offset_) {
    const uint64_t stable_hi = std::min(hi, unstable_offset_);
    auto stable = storage_->Entries(lo, stable_hi, max_bytes);
    if (!stable.ok()) {
      CheckStorageError(stable.status());
      return stable.status();
    }
    out = std::move(stable).value();
    // The storage stopped early at the size limit: so do we.
    if (out.size() < stable_hi - lo) return out;
    for (const Entry& e : out) size_bytes += e.data.size();
  }
  for (uint64_t i = std::max(lo, unstable_offset_); i < hi; ++i) {
    const Entry& e = unstable_entries_[i - unstable_offset_];
    if (!out.empty() && size_bytes + e.data.size() > max_bytes) break;
    size_bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

Result<std::vector<Entry>> RaftLog::EntriesFrom(uint64_t lo, uint64_t max_bytes) const {
  if (lo > LastIndex()) return std::vector<Entry>{};
  return Slice(lo, LastIndex() + 1, max_bytes);
}

bool RaftLog::MaybeCommit(uint64_t index, uint64_t term) {
  if (index > committed_ && MatchTerm(index, term)) {
    CommitTo(index);
    return true;
  }
  return false;
}

void RaftLog::CommitTo(uint64_t index) {
  if (index <= committed_) return;  // the commit index never moves back
  VELLUM_CHECK_MSG(index <= LastIndex(), "commit index past the end of the raft log");
  committed_ = index;
}

void RaftLog::AppliedTo(uint64_t index) {
  if (index == 0) return;
  VELLUM_CHECK_MSG(index <= committed_ && index >= applied_, "applied index out of range");
  applied_ = index;
}

std::vector<Entry> RaftLog::NextCommittedEntries(uint64_t max_bytes) const {
  const uint64_t lo = std::max(applied_ + 1, FirstIndex());
  if (committed_ + 1 <= lo) return {};
  auto entries = Slice(lo, committed_ + 1, max_bytes);
  VELLUM_CHECK_MSG(entries.ok(), "committed raft entries are not readable");
  return std::move(entries).value();
}

bool RaftLog::HasNextCommittedEntries() const {
  return committed_ + 1 > std::max(applied_ + 1, FirstIndex());
}

void RaftLog::StableTo(uint64_t index, uint64_t term) {
  if (index < unstable_offset_ || index - unstable_offset_ >= unstable_entries_.size()) return;
  // Only if the entry persisted is still the one we hold (a newer leader may have
  // replaced it since the Ready was handed out).
  if (unstable_entries_[index - unstable_offset_].term != term) return;
  unstable_entries_.erase(
      unstable_entries_.begin(),
      unstable_entries_.begin() + static_cast<ptrdiff_t>(index + 1 - unstable_offset_));
  unstable_offset_ = index + 1;
}

void RaftLog::StableSnapshotTo(uint64_t index) {
  if (unstable_snapshot_ && unstable_snapshot_->metadata.index == index) {
    unstable_snapshot_.reset();
  }
}

void RaftLog::Restore(const Snapshot& snapshot) {
  committed_ = snapshot.metadata.index;
  unstable_offset_ = snapshot.metadata.index + 1;
  unstable_entries_.clear();
  unstable_snapshot_ = snapshot;
}

Result<Snapshot> RaftLog::GetSnapshot() const {
  if (unstable_snapshot_) return *unstable_snapshot_;
  return storage_->GetSnapshot();
}

}  // namespace vellum::raft
