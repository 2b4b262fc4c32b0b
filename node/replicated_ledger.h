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
// Log compaction and snapshots. Every snapshot_interval_entries applied entries the
// node records a Raft snapshot whose data is a ledger snapshot descriptor
// (node/ledger_snapshot.h: Raft index, ledger version, state root, log head), not the
// ledger, and compacts its Raft log up to it; the ledger is synced first, since the
// entries compacted away can no longer rebuild it. A follower that needs entries the
// leader compacted receives the snapshot and, before the core sees it (Step), fetches
// a checkpoint of the sender's ledger through options.fetch_snapshot, audits it, checks
// it against the descriptor, and swaps it in for its own ledger (crash-safely: see
// InstallSnapshot in the .cc). Only then does the Raft core take the snapshot and
// persist it. The fetch blocks the caller (the node's loop) while it runs.
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
#include "node/ledger_snapshot.h"
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

  // --- Raft log compaction and snapshots
  // Once the applied index is this many entries past the last snapshot, the node
  // takes the next snapshot (the ledger's state at the applied index). 0: never
  // compact (followers that fall behind then always catch up from the log).
  uint64_t snapshot_interval_entries = 10000;
  // The log is compacted up to that snapshot only once this many more entries have
  // been applied, so a follower that lags by fewer entries than this catches up from
  // the log instead of fetching the whole ledger. The Raft log therefore holds
  // between this many and snapshot_interval_entries + this many applied entries.
  uint64_t snapshot_tail_entries = 1000;
  // Fetches a checkpoint of node `leader_id`'s ledger (the node whose Raft snapshot
  // carried `descriptor`) into the directory `into_dir`, which does not exist; the
  // node audits it afterwards, so the hook need not trust or check what it fetched.
  // Called synchronously from Step: the node (its event loop) waits while it runs.
  // Unset: a follower that needs a snapshot cannot catch up (it reports that and
  // keeps trying).
  using FetchSnapshot = std::function<Status(const LedgerSnapshotDescriptor& descriptor,
                                             uint64_t leader_id, const std::string& into_dir)>;
  FetchSnapshot fetch_snapshot;
  // After a fetch or a check failed, snapshots are refused for this many ticks (the
  // leader offers the snapshot again after each heartbeat answer).
  int snapshot_retry_ticks = 20;
  // How long installing a snapshot waits for other threads to drop their references to
  // the old ledger (shared_db) before giving up and retrying later.
  uint64_t ledger_release_timeout_micros = 10'000'000;
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
  // Called when a snapshot from the leader replaces this node's ledger: first with
  // nullptr before the old ledger closes (drop every reference to it: installing waits
  // until shared_db() is the only one left), then with the new ledger once it is open
  // (also when installing failed and the old ledger was reopened). The member records,
  // the applied index and the tables may all have changed: reload what was cached.
  using LedgerReplacedCallback = std::function<void(std::shared_ptr<DB> ledger)>;
  void set_on_ledger_replaced(LedgerReplacedCallback callback) {
    on_ledger_replaced_ = std::move(callback);
  }
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
  // The ledger; it changes when a snapshot is installed (see set_on_ledger_replaced).
  DB* db() { return db_.get(); }
  std::shared_ptr<DB> shared_db() const { return db_; }
  // Snapshot activity, for status pages and tests.
  struct SnapshotStats {
    uint64_t snapshot_index = 0;  // the Raft log's snapshot (its first index - 1)
    uint64_t snapshots_taken = 0;
    uint64_t snapshots_installed = 0;
    uint64_t install_failures = 0;
    Status last_install_error;  // OK, or why the last install failed
  };
  SnapshotStats snapshot_stats() const;
  raft::NodeStatus status() const { return core_->GetStatus(); }
  bool is_leader() const;
  uint64_t leader() const;
  uint64_t applied_index() const { return applied_index_; }
  // Commands applied by writing the version prepared for them while their peers
  // voted (see PrepareNextVersion); for tests.
  uint64_t prepared_versions_used() const { return prepared_versions_used_; }
  // The state root of the ledger's latest version.
  CommitInfo latest() { return db_ ? db_->Latest() : CommitInfo{}; }

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
  // Opens dir/ledger into db_ (creating it when missing only if `create`).
  Status OpenLedger(bool create);
  // Finishes or undoes a ledger swap a crash interrupted (InstallSnapshot), and
  // returns the Raft index of the snapshot marker (0: none).
  Result<uint64_t> RecoverLedgerSwap();
  std::string MarkerPath() const { return options_.dir + "/snapshot.pending"; }
  // Removes the marker once the Raft log holds everything the ledger applied.
  void MaybeClearSnapshotMarker();
  // Reads what the node caches from its ledger: the applied index, the tables.
  Status LoadLedgerState();
  // The fetch-check-swap of a snapshot with data, before the core sees it (Step).
  Status MaybeInstallSnapshot(const raft::Message& message);
  Status InstallSnapshot(const LedgerSnapshotDescriptor& descriptor, uint64_t from);
  // Opens the fetched ledger and checks it: audit, descriptor, applied index.
  Status CheckIncomingLedger(const LedgerSnapshotDescriptor& descriptor, const std::string& path);
  // Closes db_ once no other thread holds it (see set_on_ledger_replaced).
  Status ReleaseLedger();
  // Records a snapshot and compacts the Raft log when due (after applying).
  void MaybeCompact();
  Status ApplyEntry(const raft::Entry& entry);
  // What applying a command writes: its batch, and each client write's outcome.
  struct CommandBatch {
    WriteBatch batch;
    std::vector<Status> outcome;                // per client write
    std::set<std::string, std::less<>> tables;  // the tables after it
    size_t accepted = 0;                        // client writes in the batch
  };
  CommandBatch BuildCommandBatch(const raft::Entry& entry, const NodeCommand& command) const;
  Status ApplyCommand(const raft::Entry& entry, const NodeCommand& command);
  // On the leader, prepares the ledger version of the next entry to apply among
  // `appended` (DB::PrepareWrite) while its peers vote on it, so that applying it once
  // committed only writes it. Nothing is changed; a prepared version that does not
  // match what applying finds is dropped.
  void PrepareNextVersion(const std::vector<raft::Entry>& appended);
  // Whether prepared_version_ was made for entry `e` (same index and term).
  bool PreparedFor(const raft::Entry& e) const;
  Status ApplyConfChange(const raft::Entry& entry);
  // Writes a membership change to the ledger with the applied index.
  Status RecordConfChange(const raft::Entry& entry, const raft::ConfChange& change);
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
  Options db_options_;
  std::shared_ptr<DB> db_;
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
  LedgerReplacedCallback on_ledger_replaced_;
  // The next snapshot, recorded at its index and taken (the log compacted) once the
  // tail after it is long enough.
  std::optional<raft::Snapshot> snapshot_candidate_;
  // A snapshot installed into the ledger but not yet in the Raft log (the marker file
  // dir/snapshot.pending exists): its Raft index, or 0.
  uint64_t pending_snapshot_marker_ = 0;
  int snapshot_retry_tick_ = 0;  // refuse snapshots until this tick after a failure
  SnapshotStats snapshot_stats_;
  // The ledger's tables (kept in step with what is applied).
  std::set<std::string, std::less<>> tables_;
  // The ledger version PrepareNextVersion made for the entry (index, term), from
  // `built`. Dropped before the ledger closes.
  struct PreparedVersion {
    uint64_t index = 0;
    uint64_t term = 0;
    NodeCommand command;  // the entry's command, decrypted
    CommandBatch built;
    std::unique_ptr<PreparedWrite> write;
  };
  std::optional<PreparedVersion> prepared_version_;
  uint64_t prepared_versions_used_ = 0;
  Status alarm_;
  std::vector<std::string> peer_alarms_;
};

}  // namespace vellum::node

#endif  // VELLUM_NODE_REPLICATED_LEDGER_H_
