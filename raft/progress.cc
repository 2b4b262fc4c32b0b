// Copyright (c) Vellum authors.

#include "raft/progress.h"

#include <algorithm>

#include "vellum/check.h"

namespace vellum::raft {

void Inflights::Add(uint64_t last_index) {
  VELLUM_CHECK_MSG(!Full(), "raft inflight window overflow");
  VELLUM_CHECK(last_indexes_.empty() || last_indexes_.back() <= last_index);
  last_indexes_.push_back(last_index);
}

void Inflights::FreeLE(uint64_t index) {
  while (!last_indexes_.empty() && last_indexes_.front() <= index) last_indexes_.pop_front();
}

void Progress::BecomeProbe() {
  // After a snapshot the follower holds at least the snapshot's index.
  if (state == ProgressState::kSnapshot) {
    next = std::max(match + 1, pending_snapshot + 1);
  } else {
    next = match + 1;
  }
  state = ProgressState::kProbe;
  pending_snapshot = 0;
  probe_sent = false;
  inflights.Reset();
}

void Progress::BecomeReplicate() {
  next = match + 1;
  state = ProgressState::kReplicate;
  pending_snapshot = 0;
  probe_sent = false;
  inflights.Reset();
}

void Progress::BecomeSnapshot(uint64_t snapshot_index) {
  state = ProgressState::kSnapshot;
  pending_snapshot = snapshot_index;
  probe_sent = false;
  inflights.Reset();
}

bool Progress::MaybeUpdate(uint64_t index) {
  bool updated = false;
  if (match < index) {
    match = index;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, index + 1);
  return updated;
}

bool Progress::MaybeDecreaseTo(uint64_t rejected, uint64_t hint) {
  if (state == ProgressState::kReplicate) {
    // A rejection at or below match answers an old message: the logs match there.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // In probe only the answer to the last append sent counts.
  if (next == 0 || next - 1 != rejected) return false;
  next = std::max<uint64_t>(std::min(rejected, hint + 1), 1);
  probe_sent = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state) {
    case ProgressState::kProbe:
      return probe_sent;
    case ProgressState::kReplicate:
      return inflights.Full();
    case ProgressState::kSnapshot:
      return true;
  }
  VELLUM_UNREACHABLE();
}

void ProgressTracker::SetConf(const ConfState& conf, uint64_t next_index) {
  std::map<NodeId, Progress> updated;
  auto add = [&](NodeId id, bool learner) {
    auto it = progress_.find(id);
    if (it != progress_.end()) {
      Progress p = std::move(it->second);
      p.is_learner = learner;
      updated.emplace(id, std::move(p));
    } else {
      Progress p(max_inflight_);
      p.next = next_index;
      p.is_learner = learner;
      // A new member counts as active until the next check-quorum round, so adding
      // one does not make the leader step down at once.
      p.recent_active = true;
      updated.emplace(id, std::move(p));
    }
  };
  for (NodeId id : conf.voters) add(id, false);
  for (NodeId id : conf.learners) {
    VELLUM_CHECK_MSG(!updated.contains(id), "a node is both a voter and a learner");
    add(id, true);
  }
  progress_ = std::move(updated);
  std::erase_if(votes_, [&](const auto& v) { return !IsVoter(v.first); });
}

void ProgressTracker::ResetProgress(uint64_t next_index, NodeId self, uint64_t self_match) {
  for (auto& [id, p] : progress_) {
    const bool learner = p.is_learner;
    p = Progress(max_inflight_);
    p.is_learner = learner;
    p.next = next_index;
    p.recent_active = true;
    if (id == self) p.match = self_match;
  }
}

ConfState ProgressTracker::conf() const {
  ConfState conf;
  for (const auto& [id, p] : progress_) {
    (p.is_learner ? conf.learners : conf.voters).push_back(id);
  }
  return conf;
}

bool ProgressTracker::IsVoter(NodeId id) const {
  auto it = progress_.find(id);
  return it != progress_.end() && !it->second.is_learner;
}

bool ProgressTracker::IsLearner(NodeId id) const {
  auto it = progress_.find(id);
  return it != progress_.end() && it->second.is_learner;
}

size_t ProgressTracker::voter_count() const {
  size_t n = 0;
  for (const auto& [id, p] : progress_) n += p.is_learner ? 0 : 1;
  return n;
}

Progress* ProgressTracker::Get(NodeId id) {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

const Progress* ProgressTracker::Get(NodeId id) const {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

uint64_t ProgressTracker::QuorumMatch() const {
  std::vector<uint64_t> matches;
  for (const auto& [id, p] : progress_) {
    if (!p.is_learner) matches.push_back(p.match);
  }
  if (matches.empty()) return 0;
  std::sort(matches.begin(), matches.end(), std::greater<>());
  // The majority-th highest match is on at least a majority of voters.
  return matches[matches.size() / 2];
}

bool ProgressTracker::QuorumActive(NodeId self) const {
  size_t active = 0;
  size_t voters = 0;
  for (const auto& [id, p] : progress_) {
    if (p.is_learner) continue;
    ++voters;
    if (id == self || p.recent_active) ++active;
  }
  return voters > 0 && active > voters / 2;
}

void ProgressTracker::RecordVote(NodeId id, bool granted) {
  if (!IsVoter(id)) return;
  votes_.try_emplace(id, granted);  // the first answer counts
}

VoteResult ProgressTracker::TallyVotes() const {
  const size_t voters = voter_count();
  size_t granted = 0;
  size_t rejected = 0;
  for (const auto& [id, g] : votes_) (g ? granted : rejected) += 1;
  if (granted > voters / 2) return VoteResult::kWon;
  if (rejected >= voters - voters / 2) return VoteResult::kLost;
  return VoteResult::kPending;
}

}  // namespace vellum::raft
