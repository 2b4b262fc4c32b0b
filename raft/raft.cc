// Copyright (c) Vellum authors.

#include "raft/raft.h"

#include <algorithm>
#include <string>

#include "raft/codec.h"
#include "vellum/check.h"

namespace vellum::raft {

namespace {

// A vote request carrying this context comes from a leadership transfer: it may
// depose a live leader, so receivers ignore their lease for it.
constexpr uint8_t kTransferContext[] = {'t', 'r', 'a', 'n', 's', 'f', 'e', 'r'};

bool IsTransferContext(const Bytes& context) {
  return std::equal(context.begin(), context.end(), std::begin(kTransferContext),
                    std::end(kTransferContext));
}

uint64_t EntriesBytes(const std::vector<Entry>& entries) {
  uint64_t n = 0;
  for (const Entry& e : entries) n += e.data.size();
  return n;
}

}  // namespace

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kAppend:
      return "Append";
    case MessageType::kAppendResponse:
      return "AppendResponse";
    case MessageType::kVote:
      return "Vote";
    case MessageType::kVoteResponse:
      return "VoteResponse";
    case MessageType::kPreVote:
      return "PreVote";
    case MessageType::kPreVoteResponse:
      return "PreVoteResponse";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kHeartbeatResponse:
      return "HeartbeatResponse";
    case MessageType::kSnapshot:
      return "Snapshot";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
    case MessageType::kReadIndex:
      return "ReadIndex";
    case MessageType::kReadIndexResponse:
      return "ReadIndexResponse";
    case MessageType::kPropose:
      return "Propose";
  }
  return "Unknown";
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "unknown";
}

Status Config::Validate() const {
  if (id == kNoNode) return Status::InvalidArgument("raft config: the node id must not be 0");
  if (storage == nullptr) return Status::InvalidArgument("raft config: no storage given");
  if (heartbeat_ticks <= 0) {
    return Status::InvalidArgument("raft config: heartbeat_ticks must be positive");
  }
  if (election_ticks <= heartbeat_ticks) {
    return Status::InvalidArgument(
        "raft config: election_ticks must be greater than heartbeat_ticks");
  }
  if (max_inflight_messages == 0) {
    return Status::InvalidArgument("raft config: max_inflight_messages must be positive");
  }
  return Status::OK();
}

Raft::Raft(const Config& config)
    : id_(config.id),
      election_ticks_(config.election_ticks),
      heartbeat_ticks_(config.heartbeat_ticks),
      pre_vote_(config.pre_vote),
      check_quorum_(config.check_quorum),
      max_message_bytes_(config.max_message_bytes),
      max_uncommitted_bytes_(config.max_uncommitted_bytes),
      forward_proposals_(config.forward_proposals),
      authenticator_(config.entry_authenticator),
      log_(config.storage),
      tracker_(config.max_inflight_messages),
      // SplitMix64 needs a non-zero-ish start; mixing the id in keeps nodes that
      // were given the same seed from timing out in lockstep.
      random_state_(config.random_seed ^ (config.id * 0x9E3779B97F4A7C15ull)) {
  VELLUM_CHECK_MSG(config.Validate().ok(), "invalid raft config");
  const Storage::InitialState initial = config.storage->GetInitialState();
  tracker_.SetConf(initial.conf_state, log_.LastIndex() + 1);
  if (!initial.hard_state.empty()) {
    VELLUM_CHECK_MSG(initial.hard_state.commit <= log_.LastIndex(),
                     "stored raft commit index is past the end of the stored log");
    term_ = initial.hard_state.term;
    vote_ = initial.hard_state.vote;
    log_.CommitTo(initial.hard_state.commit);
  }
  if (config.applied > 0) log_.AppliedTo(config.applied);
  BecomeFollower(term_, kNoNode);
}

uint64_t Raft::NextRandom() {
  // SplitMix64: tiny, fast, and good enough to spread election timeouts.
  uint64_t z = (random_state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void Raft::ResetRandomizedElectionTimeout() {
  randomized_election_timeout_ =
      election_ticks_ + static_cast<int>(NextRandom() % static_cast<uint64_t>(election_ticks_));
}

void Raft::Reset(uint64_t term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  lead_transferee_ = kNoNode;
  forwarded_last_.clear();
  tracker_.ResetVotes();
  // A new term starts with no knowledge of the followers' logs.
  tracker_.ResetProgress(log_.LastIndex() + 1, id_, log_.LastIndex());
  // Reads confirmed under an old leadership are no longer safe to confirm; their
  // clients time out and retry.
  pending_reads_.clear();
  reads_awaiting_commit_.clear();
  uncommitted_bytes_ = 0;
}

void Raft::BecomeFollower(uint64_t term, NodeId lead) {
  Reset(term);
  lead_ = lead;
  role_ = Role::kFollower;
}

void Raft::BecomePreCandidate() {
  VELLUM_CHECK_MSG(role_ != Role::kLeader, "a leader cannot become a pre-candidate");
  // Neither the term nor the vote change: a pre-vote disturbs nobody.
  tracker_.ResetVotes();
  lead_ = kNoNode;
  role_ = Role::kPreCandidate;
}

void Raft::BecomeCandidate() {
  VELLUM_CHECK_MSG(role_ != Role::kLeader, "a leader cannot become a candidate");
  Reset(term_ + 1);
  vote_ = id_;
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  VELLUM_CHECK_MSG(role_ != Role::kFollower, "a follower cannot become leader directly");
  Reset(term_);
  lead_ = id_;
  role_ = Role::kLeader;
  Progress* self = tracker_.Get(id_);
  VELLUM_CHECK(self != nullptr);
  self->BecomeReplicate();
  // The no-op of the new term: once it commits, every earlier entry is committed
  // too (section 5.4.2), and membership changes may follow.
  std::vector<Entry> noop(1);
  noop[0].term = term_;
  noop[0].index = log_.LastIndex() + 1;
  if (Status s = SealEntries(noop); !s.ok()) {
    // Without a signature nobody would accept this leader's entries: let someone
    // else lead (the signer, e.g. a KMS, may be back by the next election).
    alarms_.push_back("cannot seal the no-op of term " + std::to_string(term_) + ": " +
                      s.ToString());
    BecomeFollower(term_, kNoNode);
    return;
  }
  log_.Append(noop);
  // The leader's own copy counts once it is persisted (LocalAppendPersisted): its
  // appends go out before its disk write completes.
  pending_conf_index_ = noop[0].index;
}

void Raft::LocalAppendPersisted(uint64_t index, uint64_t term) {
  if (role_ != Role::kLeader || term != term_) return;
  Progress* self = tracker_.Get(id_);
  if (self == nullptr || !self->MaybeUpdate(index)) return;
  // A single-voter cluster commits here; otherwise followers may already have acked.
  if (MaybeCommit()) SendCommitUpdates();
}

bool Raft::HasUnappliedConfChange() const {
  if (log_.committed() <= log_.applied()) return false;
  for (const Entry& e : log_.NextCommittedEntries(UINT64_MAX)) {
    if (e.type == EntryType::kConfChange) return true;
  }
  return false;
}

void Raft::Campaign() {
  if (role_ == Role::kLeader) return;
  if (!promotable()) return;  // learners and removed nodes never campaign
  // A membership change that is committed but not applied may change who votes;
  // campaigning before applying it could count the wrong quorum.
  if (HasUnappliedConfChange()) return;
  CampaignAs(pre_vote_ ? CampaignKind::kPreElection : CampaignKind::kElection);
}

void Raft::CampaignAs(CampaignKind kind) {
  uint64_t term;
  MessageType type;
  if (kind == CampaignKind::kPreElection) {
    BecomePreCandidate();
    type = MessageType::kPreVote;
    term = term_ + 1;  // the term it would campaign in
  } else {
    BecomeCandidate();
    type = MessageType::kVote;
    term = term_;
  }
  tracker_.RecordVote(id_, true);
  if (tracker_.TallyVotes() == VoteResult::kWon) {
    // A single voter wins at once.
    if (kind == CampaignKind::kPreElection) {
      CampaignAs(CampaignKind::kElection);
    } else {
      BecomeLeader();
    }
    return;
  }
  for (const auto& [peer, p] : tracker_.all()) {
    if (peer == id_ || p.is_learner) continue;
    Message m;
    m.type = type;
    m.to = peer;
    m.term = term;
    m.index = log_.LastIndex();
    m.log_term = log_.LastTerm();
    if (kind == CampaignKind::kTransfer) {
      m.context.assign(std::begin(kTransferContext), std::end(kTransferContext));
    }
    Send(std::move(m));
  }
}

bool Raft::InLease() const {
  return check_quorum_ && lead_ != kNoNode && election_elapsed_ < election_ticks_;
}

void Raft::Tick() {
  if (role_ != Role::kLeader) {
    // Saturating: a learner never times out into a campaign and may tick forever.
    if (election_elapsed_ < 2 * election_ticks_) ++election_elapsed_;
    if (promotable() && PastElectionTimeout()) {
      election_elapsed_ = 0;
      Campaign();
    }
    return;
  }
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= election_ticks_) {
    election_elapsed_ = 0;
    if (check_quorum_) {
      if (!tracker_.QuorumActive(id_)) {
        // Cut off from a majority: whoever is on the other side may elect a new
        // leader, so stop acting as one (and stop confirming reads).
        BecomeFollower(term_, kNoNode);
        return;
      }
      for (auto& [peer, p] : tracker_.all()) {
        if (peer != id_) p.recent_active = false;
      }
    }
    // A transfer that did not finish within an election timeout is abandoned.
    lead_transferee_ = kNoNode;
  }
  if (heartbeat_elapsed_ >= heartbeat_ticks_) {
    heartbeat_elapsed_ = 0;
    BroadcastHeartbeat();
  }
}

void Raft::Step(const Message& m) {
  if (m.from == kNoNode || m.from == id_) return;  // not from a peer
  if (m.term > term_) {
    const bool vote_request = m.type == MessageType::kVote || m.type == MessageType::kPreVote;
    if (vote_request && !IsTransferContext(m.context) && InLease()) {
      // The leader lease: this node heard from a live leader within the election
      // timeout, so a candidate with a higher term is disruptive (it was partitioned
      // away). Ignore it without raising our term.
      return;
    }
    if (m.type == MessageType::kPreVote) {
      // Answered below without changing term.
    } else if (m.type == MessageType::kPreVoteResponse && !m.reject) {
      // The term of a granted pre-vote is the one we would campaign in.
    } else if (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat ||
               m.type == MessageType::kSnapshot) {
      BecomeFollower(m.term, m.from);
    } else {
      BecomeFollower(m.term, kNoNode);
    }
  } else if (m.term < term_) {
    if ((check_quorum_ || pre_vote_) &&
        (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat)) {
      // A deposed leader still sending: tell it the new term so it steps down
      // (with pre-vote or check-quorum our term may never reach it otherwise).
      Message resp;
      resp.type = MessageType::kAppendResponse;
      resp.to = m.from;
      resp.term = term_;
      Send(std::move(resp));
    } else if (m.type == MessageType::kPreVote) {
      Message resp;
      resp.type = MessageType::kPreVoteResponse;
      resp.to = m.from;
      resp.term = term_;
      resp.reject = true;
      Send(std::move(resp));
    }
    return;  // everything else from an old term is stale
  }

  if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
    HandleVoteRequest(m);
    return;
  }
  switch (role_) {
    case Role::kLeader:
      StepLeader(m);
      break;
    case Role::kCandidate:
    case Role::kPreCandidate:
      StepCandidate(m);
      break;
    case Role::kFollower:
      StepFollower(m);
      break;
  }
}

void Raft::HandleVoteRequest(const Message& m) {
  const bool pre = m.type == MessageType::kPreVote;
  // We can vote for m.from if we already did in this term, or have voted for no
  // one and know no leader, or (pre-vote) it asks about a later term than ours.
  const bool can_vote =
      vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) || (pre && m.term > term_);
  Message resp;
  resp.type = pre ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  resp.to = m.from;
  if (can_vote && log_.IsUpToDate(m.index, m.log_term)) {
    // A granted answer carries the requested term: for a pre-vote our own term is
    // lower and the candidate would otherwise discard the answer as stale.
    resp.term = m.term;
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    resp.term = term_;
    resp.reject = true;
  }
  Send(std::move(resp));
}

void Raft::StepCandidate(const Message& m) {
  const MessageType expected_response =
      role_ == Role::kPreCandidate ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  switch (m.type) {
    case MessageType::kAppend:
      BecomeFollower(m.term, m.from);
      HandleAppend(m);
      return;
    case MessageType::kHeartbeat:
      BecomeFollower(m.term, m.from);
      HandleHeartbeat(m);
      return;
    case MessageType::kSnapshot:
      BecomeFollower(m.term, m.from);
      HandleSnapshot(m);
      return;
    default:
      break;
  }
  if (m.type != expected_response) return;
  tracker_.RecordVote(m.from, !m.reject);
  switch (tracker_.TallyVotes()) {
    case VoteResult::kWon:
      if (role_ == Role::kPreCandidate) {
        CampaignAs(CampaignKind::kElection);
      } else {
        BecomeLeader();
        if (role_ == Role::kLeader) BroadcastAppend();
      }
      return;
    case VoteResult::kLost:
      // A pre-candidate that lost keeps its term; a candidate keeps its new one.
      BecomeFollower(term_, kNoNode);
      return;
    case VoteResult::kPending:
      return;
  }
}

void Raft::StepFollower(const Message& m) {
  switch (m.type) {
    case MessageType::kPropose:
      // Proposals are forwarded once, to the leader; a follower that receives one
      // (a stale leader's view) drops it and the client retries.
      return;
    case MessageType::kAppend:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleAppend(m);
      return;
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleHeartbeat(m);
      return;
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleSnapshot(m);
      return;
    case MessageType::kTimeoutNow:
      // The leader hands over: campaign at once, without pre-vote (the leader
      // agreed), overriding the other followers' leases.
      if (promotable() && !HasUnappliedConfChange()) CampaignAs(CampaignKind::kTransfer);
      return;
    case MessageType::kReadIndexResponse:
      read_states_.push_back(ReadState{m.index, m.context});
      return;
    default:
      return;
  }
}

void Raft::RaiseAlarm(const Message& m, const Status& why) {
  alarms_.push_back("refused " + std::string(MessageTypeName(m.type)) + " from node " +
                    std::to_string(m.from) + " (term " + std::to_string(m.term) +
                    "): " + why.ToString());
}

Result<Bytes> Raft::EntryHashAt(uint64_t index) const {
  if (index + 1 == log_.FirstIndex()) {
    auto snapshot = log_.GetSnapshot();
    if (!snapshot.ok()) return snapshot.status();
    if (snapshot->metadata.index == index) {
      if (snapshot->metadata.last_entry_hash.empty()) return GenesisEntryHash();
      return snapshot->metadata.last_entry_hash;
    }
    if (index == 0) return GenesisEntryHash();
  }
  auto entries = log_.Slice(index, index + 1, 0);
  if (!entries.ok()) return entries.status();
  VELLUM_CHECK_EQ(entries->size(), 1u);
  return EntryHash(entries->front());
}

Status Raft::SealEntries(std::vector<Entry>& entries) {
  if (authenticator_ == nullptr || entries.empty()) return Status::OK();
  auto prev = EntryHashAt(entries.front().index - 1);
  if (!prev.ok()) return prev.status();
  Bytes prev_hash = std::move(prev).value();
  for (Entry& e : entries) {
    if (Status s = SealEntry(*authenticator_, id_, prev_hash, &e); !s.ok()) return s;
    prev_hash = EntryHash(e);
  }
  return Status::OK();
}

Status Raft::CheckAppend(const Message& m) const {
  // The shape first: entries must continue (m.index, m.log_term) without gaps, in
  // non-decreasing terms no newer than the message's. Anything else would break
  // the log's invariants, so it never reaches it.
  uint64_t expected_index = m.index + 1;
  uint64_t prev_term = m.log_term;
  for (const Entry& e : m.entries) {
    if (e.index != expected_index || e.term < prev_term || e.term > m.term) {
      return Status::Corruption("entries are not a contiguous continuation of index " +
                                std::to_string(m.index));
    }
    ++expected_index;
    prev_term = e.term;
  }
  if (m.entries.empty() || !log_.MatchTerm(m.index, m.log_term)) return Status::OK();
  const uint64_t conflict = log_.FindConflict(m.entries);
  if (conflict != 0 && conflict <= log_.committed()) {
    return Status::Corruption("entry " + std::to_string(conflict) +
                              " contradicts a committed entry");
  }
  if (authenticator_ == nullptr) return Status::OK();
  // The chain from our own copy of the previous entry, and every signature. An
  // entry of the message's term must be signed by its sender, the term's leader.
  auto prev = EntryHashAt(m.index);
  if (!prev.ok()) return prev.status();
  Bytes prev_hash = std::move(prev).value();
  for (const Entry& e : m.entries) {
    auto signer = VerifyEntrySeal(*authenticator_, prev_hash, e);
    if (!signer.ok()) return signer.status();
    if (e.term == m.term && *signer != m.from) {
      return Status::Corruption("raft entry " + std::to_string(e.index) + " of term " +
                                std::to_string(e.term) + " is signed by node " +
                                std::to_string(*signer) + ", not by its leader");
    }
    prev_hash = EntryHash(e);
  }
  return Status::OK();
}

void Raft::HandleAppend(const Message& m) {
  Message resp;
  resp.type = MessageType::kAppendResponse;
  resp.to = m.from;
  resp.term = term_;
  if (m.index < log_.committed()) {
    // Everything up to our commit index already matches the leader's log.
    resp.index = log_.committed();
    Send(std::move(resp));
    return;
  }
  if (Status s = CheckAppend(m); !s.ok()) {
    RaiseAlarm(m, s);
    return;
  }
  const auto last_new = log_.MaybeAppend(m.index, m.log_term, m.commit, m.entries);
  if (last_new) {
    resp.index = *last_new;
    Send(std::move(resp));
    return;
  }
  // Rejected: tell the leader where to look. The hint is the last index at or
  // below m.index whose term is <= m.log_term: every entry after it conflicts or
  // is missing, so the leader can skip a whole term at a time.
  const uint64_t hint = FindConflictByTerm(std::min(m.index, log_.LastIndex()), m.log_term);
  resp.index = m.index;
  resp.reject = true;
  resp.reject_hint = hint;
  resp.log_term = log_.Term(hint).value_or(0);
  Send(std::move(resp));
}

uint64_t Raft::FindConflictByTerm(uint64_t index, uint64_t term) const {
  // Bounded by the log's length: each step moves one entry back.
  while (index > 0) {
    const auto t = log_.Term(index);
    if (!t.has_value() || *t <= term) break;
    --index;
  }
  return index;
}

void Raft::HandleHeartbeat(const Message& m) {
  // The leader sends min(our match, its commit), so this never passes our log.
  log_.CommitTo(std::min(m.commit, log_.LastIndex()));
  Message resp;
  resp.type = MessageType::kHeartbeatResponse;
  resp.to = m.from;
  resp.term = term_;
  resp.context = m.context;
  Send(std::move(resp));
}

void Raft::HandleSnapshot(const Message& m) {
  Message resp;
  resp.type = MessageType::kAppendResponse;
  resp.to = m.from;
  resp.term = term_;
  if (RestoreSnapshot(m.snapshot)) {
    resp.index = log_.LastIndex();
  } else {
    resp.index = log_.committed();
  }
  Send(std::move(resp));
}

bool Raft::RestoreSnapshot(const Snapshot& snapshot) {
  const SnapshotMetadata& meta = snapshot.metadata;
  if (meta.index <= log_.committed()) return false;
  if (log_.MatchTerm(meta.index, meta.term)) {
    // We already hold the entry the snapshot ends with: just move the commit index.
    log_.CommitTo(meta.index);
    return false;
  }
  log_.Restore(snapshot);
  tracker_.SetConf(meta.conf_state, log_.LastIndex() + 1);
  tracker_.ResetProgress(log_.LastIndex() + 1, id_, log_.LastIndex());
  return true;
}

void Raft::StepLeader(const Message& m) {
  switch (m.type) {
    case MessageType::kPropose:
      // A follower forwarded entries; dropped while a transfer is under way or
      // under backpressure (the client retries on timeout).
      if (LeaderAppend(m.entries, /*local=*/false).ok() && !m.entries.empty()) {
        forwarded_last_[m.from] = log_.LastIndex();
      }
      return;
    case MessageType::kReadIndex:
      LeaderReadIndex(m.context, m.from);
      return;
    case MessageType::kAppendResponse:
      HandleAppendResponse(m);
      return;
    case MessageType::kHeartbeatResponse:
      HandleHeartbeatResponse(m);
      return;
    default:
      return;
  }
}

void Raft::HandleAppendResponse(const Message& m) {
  Progress* pr = tracker_.Get(m.from);
  if (pr == nullptr) return;  // not a member (any more)
  if (m.index > log_.LastIndex()) {
    RaiseAlarm(m, Status::Corruption("acknowledges index " + std::to_string(m.index) +
                                     " past our last entry"));
    return;
  }
  pr->recent_active = true;
  if (m.reject) {
    uint64_t hint = m.reject_hint;
    if (m.log_term > 0) {
      // Skip every entry of ours whose term is above the follower's term at its
      // hint: they cannot match.
      hint = FindConflictByTerm(m.reject_hint, m.log_term);
    }
    if (pr->MaybeDecreaseTo(m.index, hint)) {
      if (pr->state == ProgressState::kReplicate) pr->BecomeProbe();
      SendAppend(m.from, /*send_if_empty=*/true);
    }
    return;
  }
  if (!pr->MaybeUpdate(m.index)) {
    // Nothing new acknowledged (a duplicate, or an empty probe that matched where
    // we already knew): a probe may go on all the same.
    if (pr->state == ProgressState::kProbe) {
      pr->probe_sent = false;
      SendAppend(m.from, false);
    }
    return;
  }
  switch (pr->state) {
    case ProgressState::kProbe:
      pr->BecomeReplicate();
      break;
    case ProgressState::kSnapshot:
      if (pr->match >= pr->pending_snapshot) pr->BecomeProbe();
      break;
    case ProgressState::kReplicate:
      pr->inflights.FreeLE(m.index);
      break;
  }
  if (MaybeCommit()) SendCommitUpdates();
  // Keep the follower's pipeline full.
  while (SendAppend(m.from, false)) {
  }
  if (m.from == lead_transferee_ && pr->match == log_.LastIndex()) SendTimeoutNow(m.from);
}

void Raft::HandleHeartbeatResponse(const Message& m) {
  Progress* pr = tracker_.Get(m.from);
  if (pr == nullptr) return;
  pr->recent_active = true;
  pr->probe_sent = false;
  if (pr->state == ProgressState::kReplicate && pr->inflights.Full()) pr->inflights.FreeFirstOne();
  // A follower behind (or a probe that got no answer) gets another append.
  if (pr->match < log_.LastIndex()) SendAppend(m.from, true);
  if (m.context.empty()) return;
  // A read confirmation: find the pending read with this context and count the ack.
  for (PendingRead& read : pending_reads_) {
    if (read.context != m.context) continue;
    if (std::find(read.acks.begin(), read.acks.end(), m.from) == read.acks.end() &&
        tracker_.IsVoter(m.from)) {
      read.acks.push_back(m.from);
    }
    size_t voter_acks = 0;
    for (NodeId a : read.acks) voter_acks += tracker_.IsVoter(a) ? 1 : 0;
    if (voter_acks > tracker_.voter_count() / 2) ReleaseReadsUpTo(m.context);
    return;
  }
}

Status Raft::Propose(std::vector<Entry> entries) {
  if (entries.empty()) return Status::InvalidArgument("raft proposal has no entries");
  if (role_ == Role::kLeader) return LeaderAppend(std::move(entries), /*local=*/true);
  if (lead_ == kNoNode) return Status::Unavailable("no raft leader is known; retry later");
  if (!forward_proposals_) {
    return Status::Unavailable("not the raft leader (node " + std::to_string(lead_) + " is)");
  }
  for (const Entry& e : entries) {
    if (e.type == EntryType::kConfChange) {
      return Status::FailedPrecondition("membership changes must be proposed on the leader (node " +
                                        std::to_string(lead_) + ")");
    }
  }
  Message m;
  m.type = MessageType::kPropose;
  m.to = lead_;
  m.term = term_;
  m.entries = std::move(entries);
  Send(std::move(m));
  return Status::OK();
}

Status Raft::LeaderAppend(std::vector<Entry> entries, bool local) {
  if (lead_transferee_ != kNoNode) {
    return Status::Unavailable("raft leadership is being transferred to node " +
                               std::to_string(lead_transferee_) + "; retry later");
  }
  uint64_t bytes = 0;
  for (const Entry& e : entries) {
    bytes += e.data.size();
    if (e.type == EntryType::kConfChange) {
      if (!local) return Status::FailedPrecondition("forwarded membership change refused");
      if (entries.size() != 1) {
        return Status::InvalidArgument("a membership change must be proposed on its own");
      }
      if (Status s = CheckConfChangeProposal(e); !s.ok()) return s;
    }
  }
  // The budget admits one proposal past it, so a single large entry is never stuck.
  if (max_uncommitted_bytes_ > 0 && uncommitted_bytes_ > 0 &&
      uncommitted_bytes_ + bytes > max_uncommitted_bytes_) {
    return Status::ResourceExhausted(
        "too many uncommitted raft entries (followers are slow or unreachable); retry later");
  }
  uint64_t index = log_.LastIndex();
  uint64_t conf_index = 0;
  for (Entry& e : entries) {
    e.term = term_;
    e.index = ++index;
    e.seal.clear();
    if (e.type == EntryType::kConfChange) conf_index = e.index;
  }
  if (Status s = SealEntries(entries); !s.ok()) return s;
  if (conf_index != 0) pending_conf_index_ = conf_index;
  uncommitted_bytes_ += bytes;
  log_.Append(entries);
  BroadcastAppend();
  return Status::OK();
}

Status Raft::CheckConfChangeProposal(const Entry& entry) const {
  if (pending_conf_index_ > log_.applied()) {
    return Status::Unavailable(
        "a membership change (or this leader's first entry) is not applied yet; retry later");
  }
  auto change = DecodeConfChange(entry.data);
  if (!change.ok()) return change.status();
  const NodeId node = change->node_id;
  switch (change->type) {
    case ConfChangeType::kAddLearner:
      if (tracker_.IsMember(node)) {
        return Status::AlreadyExists("node " + std::to_string(node) + " is already a member");
      }
      return Status::OK();
    case ConfChangeType::kPromoteLearner: {
      const Progress* pr = tracker_.Get(node);
      if (pr == nullptr || !pr->is_learner) {
        return Status::FailedPrecondition("node " + std::to_string(node) +
                                          " is not a learner; add it as a learner first");
      }
      // A voter that cannot vote for anyone up to date would weaken the quorum:
      // promote only once the learner has everything committed.
      if (pr->match < log_.committed()) {
        return Status::Unavailable("learner " + std::to_string(node) +
                                   " is still catching up (at " + std::to_string(pr->match) +
                                   " of " + std::to_string(log_.committed()) + "); retry later");
      }
      return Status::OK();
    }
    case ConfChangeType::kRemoveNode:
      if (!tracker_.IsMember(node)) {
        return Status::NotFound("node " + std::to_string(node) + " is not a member");
      }
      if (tracker_.IsVoter(node) && tracker_.voter_count() == 1) {
        return Status::FailedPrecondition("cannot remove the last voter");
      }
      return Status::OK();
  }
  return Status::InvalidArgument("unknown membership change type");
}

ConfState Raft::ApplyConfChange(const ConfChange& change) {
  ConfState conf = tracker_.conf();
  auto erase = [](std::vector<NodeId>& v, NodeId id) { std::erase(v, id); };
  auto insert = [](std::vector<NodeId>& v, NodeId id) {
    if (std::find(v.begin(), v.end(), id) == v.end()) {
      v.push_back(id);
      std::sort(v.begin(), v.end());
    }
  };
  // Applying is deterministic on every node: a change that no longer makes sense
  // (checked when proposed, so only possible after a leader change) is a no-op.
  switch (change.type) {
    case ConfChangeType::kAddLearner:
      if (!tracker_.IsMember(change.node_id)) insert(conf.learners, change.node_id);
      break;
    case ConfChangeType::kPromoteLearner:
      if (tracker_.IsLearner(change.node_id)) {
        erase(conf.learners, change.node_id);
        insert(conf.voters, change.node_id);
      }
      break;
    case ConfChangeType::kRemoveNode:
      if (tracker_.IsVoter(change.node_id) && tracker_.voter_count() == 1) break;
      erase(conf.voters, change.node_id);
      erase(conf.learners, change.node_id);
      break;
  }
  tracker_.SetConf(conf, log_.LastIndex() + 1);
  if (role_ != Role::kLeader) return conf;
  if (!tracker_.IsVoter(id_)) {
    // The leader removed itself (or was demoted): hand over to the most up-to-date
    // voter if one has everything, then step down.
    NodeId best = kNoNode;
    uint64_t best_match = 0;
    for (const auto& [peer, p] : tracker_.all()) {
      if (peer != id_ && !p.is_learner && p.match >= best_match) {
        best = peer;
        best_match = p.match;
      }
    }
    if (best != kNoNode && best_match == log_.LastIndex()) SendTimeoutNow(best);
    BecomeFollower(term_, kNoNode);
    return conf;
  }
  if (lead_transferee_ != kNoNode && !tracker_.IsVoter(lead_transferee_)) {
    lead_transferee_ = kNoNode;
  }
  // The quorum changed: entries may now be committed (or new members need the log).
  if (MaybeCommit()) {
    BroadcastAppend();
  } else {
    // New members get a probe now rather than at the next heartbeat.
    for (const auto& [peer, p] : tracker_.all()) {
      if (peer != id_ && p.match < log_.LastIndex()) SendAppend(peer, true);
    }
  }
  return conf;
}

bool Raft::MaybeCommit() {
  const bool committed = log_.MaybeCommit(tracker_.QuorumMatch(), term_);
  if (committed && CommittedInCurrentTerm() && !reads_awaiting_commit_.empty()) {
    // Reads that waited for this leader's first commit can be confirmed now.
    std::vector<PendingRead> waiting = std::move(reads_awaiting_commit_);
    reads_awaiting_commit_.clear();
    for (PendingRead& r : waiting) LeaderReadIndex(std::move(r.context), r.requester);
  }
  return committed;
}

bool Raft::CommittedInCurrentTerm() const {
  return log_.Term(log_.committed()).value_or(0) == term_;
}

void Raft::BroadcastAppend() {
  for (const auto& [peer, p] : tracker_.all()) {
    if (peer != id_) SendAppend(peer, true);
  }
}

void Raft::SendCommitUpdates() {
  const uint64_t committed = log_.committed();
  for (const auto& [peer, p] : tracker_.all()) {
    if (peer == id_) continue;
    auto waiting = forwarded_last_.find(peer);
    if (waiting != forwarded_last_.end() && waiting->second <= committed) {
      forwarded_last_.erase(waiting);
      SendAppend(peer, /*send_if_empty=*/true);
    } else {
      SendAppend(peer, /*send_if_empty=*/false);
    }
  }
}

void Raft::BroadcastHeartbeat() {
  const Bytes context = pending_reads_.empty() ? Bytes{} : pending_reads_.back().context;
  for (const auto& [peer, p] : tracker_.all()) {
    if (peer != id_) SendHeartbeat(peer, context);
  }
}

bool Raft::SendAppend(NodeId to, bool send_if_empty) {
  Progress* pr = tracker_.Get(to);
  if (pr == nullptr || pr->IsPaused()) return false;
  const uint64_t prev_index = pr->next - 1;
  const auto prev_term = log_.Term(prev_index);
  auto entries = log_.EntriesFrom(pr->next, max_message_bytes_);
  if (!prev_term.has_value() || !entries.ok()) {
    // The follower needs entries we compacted: send the snapshot instead, but only
    // to a follower that answers (a snapshot is large).
    if (!pr->recent_active) return false;
    auto snapshot = log_.GetSnapshot();
    if (!snapshot.ok() || snapshot->empty()) return false;  // not ready yet; retry later
    const uint64_t snapshot_index = snapshot->metadata.index;
    Message m;
    m.type = MessageType::kSnapshot;
    m.to = to;
    m.term = term_;
    m.snapshot = std::move(snapshot).value();
    Send(std::move(m));
    pr->BecomeSnapshot(snapshot_index);
    return true;
  }
  if (entries->empty() && !send_if_empty) return false;
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.term = term_;
  m.index = prev_index;
  m.log_term = *prev_term;
  m.commit = log_.committed();
  m.entries = std::move(entries).value();
  if (!m.entries.empty()) {
    const uint64_t last = m.entries.back().index;
    if (pr->state == ProgressState::kReplicate) {
      pr->OptimisticUpdate(last);
      pr->inflights.Add(last);
    } else if (pr->state == ProgressState::kProbe) {
      pr->probe_sent = true;
    }
  } else if (pr->state == ProgressState::kProbe) {
    pr->probe_sent = true;
  }
  Send(std::move(m));
  return true;
}

void Raft::SendHeartbeat(NodeId to, const Bytes& context) {
  const Progress* pr = tracker_.Get(to);
  VELLUM_CHECK(pr != nullptr);
  Message m;
  m.type = MessageType::kHeartbeat;
  m.to = to;
  m.term = term_;
  // Never past what the follower holds: it may not have the entries yet.
  m.commit = std::min(pr->match, log_.committed());
  m.context = context;
  Send(std::move(m));
}

void Raft::SendTimeoutNow(NodeId to) {
  Message m;
  m.type = MessageType::kTimeoutNow;
  m.to = to;
  m.term = term_;
  Send(std::move(m));
}

void Raft::Send(Message m) {
  m.from = id_;
  VELLUM_CHECK_MSG(m.to != kNoNode && m.to != id_, "raft message to itself or to no one");
  outbox_.push_back(std::move(m));
}

Status Raft::TransferLeadership(NodeId to) {
  if (role_ != Role::kLeader) return Status::Unavailable("not the raft leader");
  if (to == id_) return Status::OK();
  if (!tracker_.IsVoter(to)) {
    return Status::InvalidArgument("node " + std::to_string(to) + " is not a voter");
  }
  lead_transferee_ = to;
  // The transfer must finish within an election timeout (Tick abandons it).
  election_elapsed_ = 0;
  if (tracker_.Get(to)->match == log_.LastIndex()) {
    SendTimeoutNow(to);
  } else {
    SendAppend(to, true);
  }
  return Status::OK();
}

Status Raft::ReadIndex(Bytes request_context) {
  if (request_context.empty()) {
    return Status::InvalidArgument("a read request needs a non-empty context");
  }
  if (role_ == Role::kLeader) {
    LeaderReadIndex(std::move(request_context), id_);
    return Status::OK();
  }
  if (lead_ == kNoNode) return Status::Unavailable("no raft leader is known; retry later");
  Message m;
  m.type = MessageType::kReadIndex;
  m.to = lead_;
  m.term = term_;
  m.context = std::move(request_context);
  Send(std::move(m));
  return Status::OK();
}

void Raft::LeaderReadIndex(Bytes context, NodeId requester) {
  if (context.empty()) return;
  PendingRead read;
  read.context = std::move(context);
  read.requester = requester;
  if (!CommittedInCurrentTerm()) {
    // Until its no-op commits, a new leader does not know the latest commit index
    // (section 6.4): hold the read.
    reads_awaiting_commit_.push_back(std::move(read));
    return;
  }
  read.index = log_.committed();
  read.acks.push_back(id_);
  if (tracker_.voter_count() == 1 && tracker_.IsVoter(id_)) {
    RespondToRead(read);
    return;
  }
  // Confirm leadership with a round of heartbeats carrying this context.
  const Bytes ctx = read.context;
  pending_reads_.push_back(std::move(read));
  for (const auto& [peer, p] : tracker_.all()) {
    if (peer != id_) SendHeartbeat(peer, ctx);
  }
}

void Raft::ReleaseReadsUpTo(const Bytes& context) {
  // Bounded by the queue's length; every read before the acknowledged one was
  // sent earlier and is confirmed by the same quorum.
  while (!pending_reads_.empty()) {
    PendingRead read = std::move(pending_reads_.front());
    pending_reads_.pop_front();
    const bool last = read.context == context;
    RespondToRead(read);
    if (last) break;
  }
}

void Raft::RespondToRead(const PendingRead& read) {
  if (read.requester == id_) {
    read_states_.push_back(ReadState{read.index, read.context});
    return;
  }
  Message m;
  m.type = MessageType::kReadIndexResponse;
  m.to = read.requester;
  m.term = term_;
  m.index = read.index;
  m.context = read.context;
  Send(std::move(m));
}

void Raft::ReportUnreachable(NodeId id) {
  if (role_ != Role::kLeader) return;
  Progress* pr = tracker_.Get(id);
  if (pr != nullptr && pr->state == ProgressState::kReplicate) pr->BecomeProbe();
}

void Raft::ReportSnapshot(NodeId id, bool delivered) {
  if (role_ != Role::kLeader) return;
  Progress* pr = tracker_.Get(id);
  if (pr == nullptr || pr->state != ProgressState::kSnapshot) return;
  if (!delivered) pr->pending_snapshot = 0;
  // Wait for the follower's answer (or the next heartbeat response) before
  // sending more: the snapshot may still be in flight.
  pr->BecomeProbe();
  pr->probe_sent = true;
}

void Raft::ReduceUncommittedBytes(const std::vector<Entry>& committed) {
  if (role_ != Role::kLeader) return;
  const uint64_t bytes = EntriesBytes(committed);
  uncommitted_bytes_ = bytes >= uncommitted_bytes_ ? 0 : uncommitted_bytes_ - bytes;
}

}  // namespace vellum::raft
