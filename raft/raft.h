// Copyright (c) Vellum authors.
//
// Raft: the consensus state machine itself (Ongaro's thesis, in the shape of
// etcd-raft). It reacts to messages (Step) and to the passage of time (Tick), and
// leaves its output — messages to send, entries to persist, entries to apply — in
// buffers that RawNode hands to the node as a Ready. No I/O, clocks, threads or
// unseeded randomness inside: given the same seed and inputs it does the same thing.
//
// Thread safety: none; the node drives one Raft from one thread at a time.

#ifndef VELLUM_RAFT_RAFT_H_
#define VELLUM_RAFT_RAFT_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "raft/config.h"
#include "raft/log.h"
#include "raft/progress.h"
#include "raft/types.h"
#include "vellum/status.h"

namespace vellum::raft {

class Raft {
 public:
  // `config` must be valid (Config::Validate).
  explicit Raft(const Config& config);

  // Time passes by one tick.
  void Tick();
  // Handles a message from a peer. Messages from older terms, and messages this
  // role does not expect, are dropped (Raft tolerates loss, so dropping is safe).
  void Step(const Message& m);

  // Starts an election now (pre-vote first when enabled).
  void Campaign();
  // Proposes entries (their term and index are assigned here). OK means appended
  // (leader) or forwarded (follower), not committed; Unavailable when there is no
  // leader or a leadership transfer is under way; ResourceExhausted under
  // backpressure; FailedPrecondition for a membership change that is not allowed now.
  Status Propose(std::vector<Entry> entries);
  // Requests a linearizable read; a ReadState with `request_context` appears in a
  // later Ready. Unavailable when no leader is known.
  Status ReadIndex(Bytes request_context);
  // Hands leadership to `to` (leader only). Unavailable if not leader;
  // InvalidArgument if `to` is not a voter.
  Status TransferLeadership(NodeId to);
  // The application applied a membership change entry: it takes effect now.
  ConfState ApplyConfChange(const ConfChange& change);
  // The node could not reach `id` (for flow control of appends).
  void ReportUnreachable(NodeId id);
  // A snapshot sent to `id` was delivered or failed.
  void ReportSnapshot(NodeId id, bool delivered);

  // Accessors used by RawNode and by tests.
  NodeId id() const { return id_; }
  uint64_t term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId leader() const { return lead_; }
  Role role() const { return role_; }
  NodeId lead_transferee() const { return lead_transferee_; }
  HardState hard_state() const { return {term_, vote_, log_.committed()}; }
  SoftState soft_state() const { return {lead_, role_}; }
  RaftLog& log() { return log_; }
  const RaftLog& log() const { return log_; }
  const ProgressTracker& tracker() const { return tracker_; }
  bool promotable() const { return tracker_.IsVoter(id_); }

  // Output buffers, drained by RawNode.
  std::vector<Message>& outbox() { return outbox_; }
  std::vector<ReadState>& read_states() { return read_states_; }
  // Messages refused because they would have broken the log's integrity (a bad
  // seal, a broken chain, malformed entries, a conflict with a committed entry).
  std::vector<std::string>& alarms() { return alarms_; }
  // Committed entries were handed out: the leader's uncommitted budget shrinks.
  void ReduceUncommittedBytes(const std::vector<Entry>& committed);
  // The node persisted its log up to `index` (whose entry has `term`): a leader now
  // counts its own copy of its entries towards commitment.
  void LocalAppendPersisted(uint64_t index, uint64_t term);

 private:
  enum class CampaignKind { kPreElection, kElection, kTransfer };
  struct PendingRead {
    Bytes context;
    uint64_t index = 0;
    NodeId requester = kNoNode;
    std::vector<NodeId> acks;
  };

  void BecomeFollower(uint64_t term, NodeId lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void Reset(uint64_t term);
  void CampaignAs(CampaignKind kind);
  void ResetRandomizedElectionTimeout();
  bool PastElectionTimeout() const { return election_elapsed_ >= randomized_election_timeout_; }
  bool InLease() const;
  bool HasUnappliedConfChange() const;

  void StepLeader(const Message& m);
  void StepCandidate(const Message& m);
  void StepFollower(const Message& m);
  void HandleVoteRequest(const Message& m);
  void HandleAppend(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(const Message& m);
  void HandleAppendResponse(const Message& m);
  void HandleHeartbeatResponse(const Message& m);
  bool RestoreSnapshot(const Snapshot& snapshot);

  Status LeaderAppend(std::vector<Entry> entries, bool local);
  Status CheckConfChangeProposal(const Entry& entry) const;
  bool MaybeCommit();
  void BroadcastAppend();
  // After the commit index moved: tells the followers that wait for it at once (see
  // forwarded_last_) and sends everyone the entries they lack; the others learn the
  // new commit index with the next append or heartbeat.
  void SendCommitUpdates();
  void BroadcastHeartbeat();
  // Sends `to` the entries it lacks (or a snapshot). With `send_if_empty`, an empty
  // append carries the commit index. False if nothing was sent.
  bool SendAppend(NodeId to, bool send_if_empty);
  void SendHeartbeat(NodeId to, const Bytes& context);
  void SendTimeoutNow(NodeId to);
  void Send(Message m);
  uint64_t FindConflictByTerm(uint64_t index, uint64_t term) const;
  // The hash of entry `index` (or of the snapshot's last entry), for chaining.
  Result<Bytes> EntryHashAt(uint64_t index) const;
  // Seals `entries` (contiguous, following the last entry) when authenticating.
  Status SealEntries(std::vector<Entry>& entries);
  // Checks an append from a leader before anything of it is used; on failure the
  // message is dropped and an alarm raised.
  Status CheckAppend(const Message& m) const;
  void RaiseAlarm(const Message& m, const Status& why);

  void LeaderReadIndex(Bytes context, NodeId requester);
  void ReleaseReadsUpTo(const Bytes& context);
  void RespondToRead(const PendingRead& read);
  bool CommittedInCurrentTerm() const;

  uint64_t NextRandom();

  const NodeId id_;
  const int election_ticks_;
  const int heartbeat_ticks_;
  const bool pre_vote_;
  const bool check_quorum_;
  const uint64_t max_message_bytes_;
  const uint64_t max_uncommitted_bytes_;
  const bool forward_proposals_;
  MemberAuthenticator* const authenticator_;

  uint64_t term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId lead_ = kNoNode;
  Role role_ = Role::kFollower;
  RaftLog log_;
  ProgressTracker tracker_;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  NodeId lead_transferee_ = kNoNode;
  // The index of the last membership change proposed; the next waits until it is
  // applied. Set to the leader's no-op on election, so that a new leader first
  // commits an entry of its own term.
  uint64_t pending_conf_index_ = 0;
  uint64_t uncommitted_bytes_ = 0;
  // Leader: for each follower that forwarded proposals, the index of the last entry
  // appended from them. That follower answers its clients only once it applies the
  // entry, so it hears of the commit at once; a follower with nothing waiting learns
  // it with the next append or heartbeat (a signed message and a signed answer fewer
  // per commit and follower).
  std::map<NodeId, uint64_t> forwarded_last_;
  // ReadIndex requests confirmed in order: a quorum acknowledging one confirms all
  // before it.
  std::deque<PendingRead> pending_reads_;
  // Read requests that arrived before this leader committed an entry of its term.
  std::vector<PendingRead> reads_awaiting_commit_;

  uint64_t random_state_;
  std::vector<Message> outbox_;
  std::vector<ReadState> read_states_;
  std::vector<std::string> alarms_;
};

}  // namespace vellum::raft

#endif  // VELLUM_RAFT_RAFT_H_
