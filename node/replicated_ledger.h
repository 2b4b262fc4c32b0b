// Copyright (c) Vellum authors.
//
// ReplicatedLedger: one member of a replicated ledger — the Raft core over a durable
// Raft log, applying committed commands to this node's ledger (vellum::DB). It does
// no I/O of its own towards peers or clients and starts no threads: the node's event
// loop feeds it ticks, peer messages and client writes, and calls Process to
// persist, collect the messages to send, and apply. Given the same inputs, seed and
// Env it does the same thing, so whole clusters of it run in one process under a
// deterministic simulation.
//
// What it guarantees:
//   - a write's callback reports success only once the write is committed by a
//     quorum and applied here (its ledger version and state root);
//   - every node applies the same commands in the same order, so every ledger has the
//     same state root at every version. Each command carries its proposer's
//     attestation (version, state root); every node compares it with its own root at
//     that version when applying, and on a mismatch raises an alarm and stops
//     applying — never silent divergence;
//   - the Raft log holds commands encrypted under a key derived from the master
//     secret; entries are sealed (hash chain + leader signature) when an
//     authenticator is given;
//   - the Raft index applied is stored in the ledger in the same atomic write as the
//     command's effects (table "__vellum_node"), so a restart neither loses nor
//     repeats a command.
//
// Thread safety: none; one thread (the node's event loop) drives it.

#ifndef VELLUM_NODE_REPLICATED_LEDGER_H_
#define VELLUM_NODE_REPLICATED_LEDGER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/secure_bytes.h"
#include "node/node_command.h"
#include "raft/durable/durable_log.h"
#include "raft/entry_auth.h"
#include "raft/raw_node.h"
#include "vellum/db.h"
#include "vellum/env.h"
#include "vellum/keys.h"
#include "vellum/write_batch.h"

namespace vellum::node {

// Tables whose names start with this are the node's own (clients may not write them).
inline constexpr std::string_view kReservedTablePrefix = "__vellum";

struct ReplicatedLedgerOptions {
  uint64_t node_id = 0;
  // The ledger lives in dir/ledger, the Raft log in dir/raft.
  std::string dir;
  Env* env = nullptr;  // nullptr: Env::Default()
  // The ledger master secret every member shares.
  std::function<Result<MasterKey>()> master_key_provider;
  // Signs as this node and checks members' signatures (not owned). When set, every
  // Raft entry is sealed and verified.
  raft::MemberAuthenticator* authenticator = nullptr;
  // Who holds the shares of the ledger's log entry keys when the ledger is created
  // (Options::log_key_holders, log_threshold); empty: the ledger itself. The node
  // changes them as the membership changes (DB::SetLogKeyHolders).
  std::vector<HolderKey::PublicKey> log_key_holders;
  int log_threshold = 1;
  // The voters a new cluster starts with; used only when the Raft log is new.
  std::vector<uint64_t> initial_voters;
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  uint64_t random_seed = 0;
  // Nonces for command encryption (not owned); nullptr: the system CSPRNG.
  RandomSource* random = nullptr;
  // fsync the Raft log before acknowledging (the ledger never needs it: after a crash
  // it is rebuilt from the Raft log).
  bool sync = true;
  // A proposal not applied within this many ticks fails with Unavailable (its
  // outcome is then unknown to the client: it may still commit).
  int proposal_timeout_ticks = 100;
};

struct WriteResult {
  uint64_t version = 0;  // the ledger version the write created
  Hash state_root{};
  uint64_t raft_index = 0;
};

class ReplicatedLedger {
 public:
  using WriteCallback = std::function<void(Result<WriteResult>)>;
  using ReadCallback = std::function<void(Status)>;

  static Result<std::unique_ptr<ReplicatedLedger>> Open(const ReplicatedLedgerOptions& options);
  ~ReplicatedLedger();

  void Tick();
  // A message from a peer, already authenticated by the transport and envelope.
  Status Step(const raft::Message& message);
  // Proposes a client write. On a follower the proposal is forwarded to the leader
  // through Raft; either way `done` runs on this node, from a later Process or Tick,
  // exactly once. Unavailable when no leader is known. A put to a table that does not
  // exist creates it.
  Status Propose(const WriteBatch& batch, WriteCallback done);
  // Proposes a membership change (leader only; Unavailable elsewhere, and while
  // another change is not yet applied). `change.context` is the member's record
  // (kept in the "__vellum_members" table). `done` runs once the change is applied
  // here, or with Unavailable when it is not applied in time.
  Status ProposeConfChange(const raft::ConfChange& change, ReadCallback done);
  // Asks the core to hand leadership to `to` (leader only).
  Status TransferLeadership(uint64_t to) { return core_->TransferLeadership(to); }
  // Called from Process after each membership change is applied here.
  using MembershipCallback =
      std::function<void(const raft::ConfChange& change, const raft::ConfState& conf)>;
  void set_on_membership_change(MembershipCallback callback) {
    on_membership_change_ = std::move(callback);
  }
  // The member records the ledger holds: node id -> the context of the change that
  // added it (empty map before the first change).
  Result<std::map<uint64_t, std::string>> MemberRecords();
  // A linearizable read barrier: `done` runs with OK once this node has applied
  // everything committed when the barrier was confirmed by a quorum; reads of the
  // ledger then see every write acknowledged before the barrier began.
  Status ReadBarrier(ReadCallback done);
  // Persists what the core produced, appends the messages to send to `outbox`, and
  // applies committed entries. Returns the alarm once the node has stopped.
  // `send_now`, when given, is called with messages as soon as they may go: a
  // leader's appends and heartbeats before each write to the Raft log (followers
  // then write their logs while this node writes its own), the rest right after the
  // write, before applying. Without it every message joins `outbox`.
  using Sender = std::function<void(std::vector<raft::Message>& messages)>;
  Status Process(std::vector<raft::Message>* outbox, const Sender& send_now = nullptr);

  // Non-OK once the node has stopped applying (a state root mismatch, a command
  // that does not decrypt, a ledger I/O error): the operator must look.
  const Status& alarm() const { return alarm_; }
  // Alarms raised by the core about refused peer messages (kept, bounded).
  const std::vector<std::string>& peer_alarms() const { return peer_alarms_; }
  DB* db() { return db_.get(); }
  raft::NodeStatus status() const { return core_->GetStatus(); }
  bool is_leader() const;
  uint64_t leader() const;
  uint64_t applied_index() const { return applied_index_; }
  // The state root of the ledger's latest version.
  CommitInfo latest() { return db_->Latest(); }

  // For tests: proposes a command as given (attestation included); no callback.
  Status ProposeCommandForTesting(const NodeCommand& command);

 private:
  struct PendingWrite {
    WriteCallback done;
    int deadline_tick = 0;
  };
  struct PendingRead {
    ReadCallback done;
    uint64_t index = 0;  // 0 until the ReadState arrives
    int deadline_tick = 0;
  };

  ReplicatedLedger() = default;
  uint64_t NewRequestId();
  // Proposes the writes queued since the last Process as few commands (one entry,
  // one signature and one ledger version per command).
  void ProposeQueuedWrites();
  Status ProposeCommand(const NodeCommand& command);
  void FailPendingWrite(uint64_t request_id, const Status& why);
  // Whether `write` applies on top of `tables` (updated to after it), as the ledger
  // would decide: InvalidArgument / NotFound / AlreadyExists otherwise. On success
  // `creates_table[i]` says whether op i is a put that creates its table.
  Status CheckWrite(const ClientWrite& write, std::set<std::string, std::less<>>* tables,
                    std::vector<bool>* creates_table) const;
  Status ApplyEntry(const raft::Entry& entry);
  Status ApplyCommand(const raft::Entry& entry, const NodeCommand& command);
  Status ApplyConfChange(const raft::Entry& entry);
  Status CheckAttestation(const NodeCommand& command);
  void CompleteReads();
  void ExpireTimedOut();
  void Stop(Status why);

  struct PendingConfChange {
    raft::ConfChange change;
    ReadCallback done;
    int deadline_tick = 0;
  };

  ReplicatedLedgerOptions options_;
  RandomSource* random_ = nullptr;
  std::unique_ptr<DB> db_;
  std::unique_ptr<raft::DurableLog> log_;
  std::unique_ptr<raft::RawNode> core_;
  crypto::SecureBytes replication_key_;
  uint64_t applied_index_ = 0;
  bool node_table_exists_ = false;  // the ledger has the "__vellum_node" table
  int ticks_ = 0;
  std::map<uint64_t, PendingWrite> pending_writes_;
  std::deque<ClientWrite> queued_writes_;  // proposed by the next Process
  // The ledger's size limits, checked before a command is applied so that one
  // client's oversized write fails alone.
  size_t max_key_size_ = 0;
  size_t max_value_size_ = 0;
  std::map<uint64_t, PendingRead> pending_reads_;
  std::optional<PendingConfChange> pending_conf_change_;
  MembershipCallback on_membership_change_;
  // The ledger's tables (kept in step with what is applied).
  std::set<std::string, std::less<>> tables_;
  Status alarm_;
  std::vector<std::string> peer_alarms_;
};

}  // namespace vellum::node

#endif  // VELLUM_NODE_REPLICATED_LEDGER_H_
