// Copyright (c) Vellum authors.

#include "node/replicated_ledger.h"

#include <algorithm>
#include <set>
#include <string>

#include "crypto/hkdf.h"
#include "crypto/random.h"
#include "db/key_impl.h"  // the master secret, to derive the replication key
#include "node/checkpoint_archive.h"
#include "raft/codec.h"
#include "raft/raft.h"
#include "vellum/check.h"

namespace vellum::node {

namespace {

// The node's own records in its ledger, written atomically with each command.
constexpr std::string_view kNodeTable = "__vellum_node";
constexpr std::string_view kAppliedIndexKey = "applied_index";
// The membership table: one record per member (its id in decimal → the change's
// context: address, certificate, signing key as the node encodes them).
constexpr std::string_view kMembersTable = "__vellum_members";
constexpr size_t kMaxPeerAlarms = 128;
// Bounds the Ready loop of one Process call (each Ready is a batch of work).
constexpr int kMaxReadiesPerProcess = 64;
// A command's client data stays well under the Raft core's uncommitted-bytes budget.
constexpr size_t kMaxCommandBytes = size_t{8} << 20;

std::string EncodeIndex(uint64_t index) {
  std::string encoded;
  PutFixed64BE(&encoded, index);
  return encoded;
}

bool IsReserved(std::string_view table) { return table.starts_with(kReservedTablePrefix); }

// Errors of a command that every node meets identically (bad input, a missing
// table...): the command fails, the ledger is unchanged, the cluster carries on.
// Anything else means this node cannot apply and must stop.
bool IsDeterministicFailure(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
    case StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

logchain::WriteSetOp ToWriteSetOp(const WriteBatch::Op& op) {
  logchain::WriteSetOp w;
  w.kind = static_cast<logchain::WriteSetOp::Kind>(op.kind);
  w.table = op.table;
  w.key = ToBytes(op.key);
  w.value = ToBytes(op.value);
  return w;
}

}  // namespace

ReplicatedLedger::~ReplicatedLedger() {
  prepared_version_.reset();
  if (db_) db_->Close().IgnoreError();
}

Result<std::unique_ptr<ReplicatedLedger>> ReplicatedLedger::Open(
    const ReplicatedLedgerOptions& options) {
  if (options.node_id == 0) return Status::InvalidArgument("node id must be positive");
  if (!options.master_key_provider) {
    return Status::InvalidArgument("a replicated ledger needs the master key");
  }
  std::unique_ptr<ReplicatedLedger> r(new ReplicatedLedger());
  r->options_ = options;
  Env* env = options.env != nullptr ? options.env : Env::Default();
  r->options_.env = env;
  r->random_ = options.random != nullptr ? options.random : &crypto::SystemRandom();
  VELLUM_RETURN_IF_ERROR(env->CreateDirIfMissing(options.dir));

  VELLUM_ASSIGN_OR_RETURN(MasterKey master, options.master_key_provider());
  VELLUM_ASSIGN_OR_RETURN(r->replication_key_, DeriveReplicationKey(master.impl().secret));

  Options& db_options = r->db_options_;
  db_options.create_if_missing = true;
  db_options.master_key_provider = options.master_key_provider;
  // The ledger is not synced on each command: the Raft log is (before any write is
  // acknowledged), and the ledger records the Raft index it applied in the same
  // atomic write as the command. After a crash the ledger is a prefix of what it
  // applied, and the commands after it are applied again from the Raft log, so an
  // fsync here would only slow every write down. Compacting the Raft log discards
  // the entries that could rebuild the ledger, so MaybeCompact syncs it first.
  db_options.sync = false;
  db_options.env = env;
  db_options.log_key_holders = options.log_key_holders;
  db_options.log_threshold = options.log_threshold;
  // Every member's ledger is a replica of one ledger: they share its identity (and
  // with it every derived key), so the same commands give the same state roots.
  VELLUM_ASSIGN_OR_RETURN(crypto::SecureBytes ledger_id,
                          crypto::DeriveKey(master.impl().secret, "vellum/node/ledger-id", 16));
  db_options.ledger_id.assign(reinterpret_cast<const char*>(ledger_id.data()), ledger_id.size());
  VELLUM_ASSIGN_OR_RETURN(const uint64_t marker, r->RecoverLedgerSwap());
  VELLUM_RETURN_IF_ERROR(r->OpenLedger(/*create=*/true));
  r->max_key_size_ = db_options.max_key_size;
  r->max_value_size_ = db_options.max_value_size;

  raft::DurableLogOptions log_options;
  log_options.env = env;
  VELLUM_ASSIGN_OR_RETURN(r->log_, raft::DurableLog::Open(options.dir + "/raft", log_options));
  const bool new_log = r->log_->LastIndex() == 0;
  if (new_log && !options.initial_voters.empty()) {
    // A new cluster: every initial member starts from the same bootstrap snapshot.
    const raft::Snapshot boot = raft::BootstrapSnapshot(options.initial_voters);
    VELLUM_RETURN_IF_ERROR(
        r->log_->Persist(raft::HardState{1, raft::kNoNode, 1}, {}, boot, /*sync=*/true));
    VELLUM_RETURN_IF_ERROR(r->log_->SetConfState(boot.metadata.conf_state));
  }

  // Where the ledger is: the Raft index of the last command it applied.
  VELLUM_RETURN_IF_ERROR(r->LoadLedgerState());
  const uint64_t log_snapshot = r->log_->FirstIndex() - 1;
  VELLUM_ASSIGN_OR_RETURN(raft::Snapshot held, r->log_->GetSnapshot());
  if (!held.data.empty() && r->applied_index_ < log_snapshot) {
    // Never by construction: the ledger is synced before the log is compacted, and a
    // received snapshot is installed into the ledger before the log records it.
    return Status::Corruption("the ledger applied Raft index " + std::to_string(r->applied_index_) +
                              " but the Raft log was compacted up to " +
                              std::to_string(log_snapshot) + ": the entries between are lost");
  }
  // A snapshot installed into the ledger whose Raft log did not catch up with it
  // before a crash (the marker): the ledger may be ahead of the Raft log, whose
  // entries past its commit index may be ones the leader will overwrite. The core
  // then starts from the log's own snapshot, replays what the log committed (the
  // ledger skips what it holds; membership changes still reach the core), and the
  // commit index is left alone.
  const bool ledger_ahead = marker != 0 && log_snapshot < marker;
  if (marker != 0 && !ledger_ahead) {
    VELLUM_RETURN_IF_ERROR(env->RemoveFile(r->MarkerPath()));
  }
  if (ledger_ahead) r->pending_snapshot_marker_ = marker;
  r->applied_index_ = std::max(r->applied_index_, log_snapshot);
  uint64_t core_applied = log_snapshot;
  if (!ledger_ahead) {
    if (r->applied_index_ > r->log_->LastIndex()) {
      return Status::Corruption("the ledger applied Raft index " +
                                std::to_string(r->applied_index_) + " but the Raft log ends at " +
                                std::to_string(r->log_->LastIndex()));
    }
    // The persisted Raft commit index may lag the ledger's applied index (commit-only
    // changes are not synced). Everything applied was committed.
    const raft::HardState hs = r->log_->GetInitialState().hard_state;
    if (hs.commit < r->applied_index_) {
      VELLUM_RETURN_IF_ERROR(r->log_->Persist(raft::HardState{hs.term, hs.vote, r->applied_index_},
                                              {}, {}, /*sync=*/true));
    }
    core_applied = r->applied_index_;
  }
  r->snapshot_stats_.snapshot_index = log_snapshot;

  raft::Config config;
  config.id = options.node_id;
  config.storage = r->log_.get();
  config.applied = core_applied;
  config.election_ticks = options.election_ticks;
  config.heartbeat_ticks = options.heartbeat_ticks;
  config.random_seed = options.random_seed;
  config.entry_authenticator = options.authenticator;
  VELLUM_ASSIGN_OR_RETURN(r->core_, raft::RawNode::Create(config));
  return r;
}

Status ReplicatedLedger::OpenLedger(bool create) {
  Options o = db_options_;
  o.create_if_missing = create;
  std::unique_ptr<DB> db;
  VELLUM_RETURN_IF_ERROR(DB::Open(o, options_.dir + "/ledger", &db));
  db_ = std::move(db);
  return Status::OK();
}

Status ReplicatedLedger::LoadLedgerState() {
  VELLUM_ASSIGN_OR_RETURN(std::vector<std::string> tables, db_->ListTables());
  tables_.clear();
  tables_.insert(tables.begin(), tables.end());
  node_table_exists_ = tables_.count(kNodeTable) != 0;
  applied_index_ = 0;
  if (node_table_exists_) {
    VELLUM_ASSIGN_OR_RETURN(std::optional<std::string> applied,
                            db_->Get({}, kNodeTable, kAppliedIndexKey));
    if (!applied.has_value() || applied->size() != 8) {
      return Status::Corruption("the ledger's applied Raft index record is missing or malformed");
    }
    applied_index_ = DecodeFixed64BE(reinterpret_cast<const uint8_t*>(applied->data()));
  }
  return Status::OK();
}

Result<uint64_t> ReplicatedLedger::RecoverLedgerSwap() {
  // InstallSnapshot's order: write and sync the marker; rename ledger -> ledger.old;
  // rename ledger.incoming -> ledger; sync the directory; remove ledger.old. A crash
  // leaves one of these states, each mended here.
  Env* env = options_.env;
  const std::string ledger = options_.dir + "/ledger";
  const std::string old = ledger + ".old";
  const std::string incoming = ledger + ".incoming";
  const bool has_ledger = env->FileExists(ledger).ok();
  const bool has_old = env->FileExists(old).ok();
  if (!has_ledger && has_old) {
    // Between the two renames: the checked ledger may not have moved yet. Put the old
    // one back; the leader will offer the snapshot again.
    VELLUM_RETURN_IF_ERROR(env->RenameFile(old, ledger));
    VELLUM_RETURN_IF_ERROR(env->SyncDir(options_.dir));
  } else if (has_old) {
    VELLUM_RETURN_IF_ERROR(RemoveDirTree(env, old));  // swapped; not yet cleaned up
  }
  VELLUM_RETURN_IF_ERROR(RemoveDirTree(env, incoming));  // a fetch or check cut short
  if (!env->FileExists(MarkerPath()).ok()) return uint64_t{0};
  std::string marker;
  VELLUM_RETURN_IF_ERROR(ReadFileToString(env, MarkerPath(), &marker));
  if (marker.size() != 8) {
    // Torn: the marker is synced before the old ledger is touched, so the swap had
    // not begun and the ledger is this node's own.
    VELLUM_RETURN_IF_ERROR(env->RemoveFile(MarkerPath()));
    return uint64_t{0};
  }
  const uint64_t index = DecodeFixed64BE(reinterpret_cast<const uint8_t*>(marker.data()));
  return std::max<uint64_t>(index, 1);
}

void ReplicatedLedger::MaybeClearSnapshotMarker() {
  if (pending_snapshot_marker_ == 0) return;
  // Once the Raft log holds (as committed) every entry the ledger applied, a restart
  // may trust it again as usual.
  const raft::HardState hs = log_->GetInitialState().hard_state;
  if (hs.commit < applied_index_ || log_->LastIndex() < applied_index_) return;
  if (options_.env->RemoveFile(MarkerPath()).ok()) pending_snapshot_marker_ = 0;
}

ReplicatedLedger::SnapshotStats ReplicatedLedger::snapshot_stats() const {
  SnapshotStats stats = snapshot_stats_;
  stats.snapshot_index = log_->FirstIndex() - 1;
  return stats;
}

Status ReplicatedLedger::MaybeInstallSnapshot(const raft::Message& m) {
  const raft::SnapshotMetadata& meta = m.snapshot.metadata;
  // Only a snapshot the core will restore needs a ledger: it ignores one from an
  // older term or one it has committed past, and one whose last entry it holds.
  if (m.term < core_->raft().term() || meta.index <= core_->raft().log().committed()) {
    return Status::OK();
  }
  if (meta.index <= applied_index_) return Status::OK();  // the ledger holds it already
  if (Result<uint64_t> term = log_->Term(meta.index); term.ok() && *term == meta.term) {
    return Status::OK();
  }
  if (ticks_ < snapshot_retry_tick_) {
    return Status::Unavailable("a snapshot install failed recently; retrying in " +
                               std::to_string(snapshot_retry_tick_ - ticks_) + " ticks");
  }
  Result<LedgerSnapshotDescriptor> descriptor = DecodeLedgerSnapshot(m.snapshot.data);
  Status s = descriptor.status();
  if (s.ok() && descriptor->raft_index != meta.index) {
    s = Status::Corruption("a snapshot at Raft index " + std::to_string(meta.index) +
                           " carries a descriptor for index " +
                           std::to_string(descriptor->raft_index));
  }
  if (s.ok()) s = InstallSnapshot(*descriptor, m.from);
  if (!s.ok()) {
    s = s.WithContext("installing the snapshot at Raft index " + std::to_string(meta.index) +
                      " from node " + std::to_string(m.from));
    ++snapshot_stats_.install_failures;
    snapshot_stats_.last_install_error = s;
    snapshot_retry_tick_ = ticks_ + options_.snapshot_retry_ticks;
    return s;
  }
  ++snapshot_stats_.snapshots_installed;
  snapshot_stats_.last_install_error = Status::OK();
  return Status::OK();
}

Status ReplicatedLedger::InstallSnapshot(const LedgerSnapshotDescriptor& descriptor,
                                         uint64_t from) {
  if (!options_.fetch_snapshot) {
    return Status::FailedPrecondition(
        "this node needs the leader's ledger but has no way to fetch it (no fetch_snapshot)");
  }
  Env* env = options_.env;
  const std::string ledger = options_.dir + "/ledger";
  const std::string old = ledger + ".old";
  const std::string incoming = ledger + ".incoming";
  VELLUM_RETURN_IF_ERROR(RemoveDirTree(env, incoming));
  Status fetched = options_.fetch_snapshot(descriptor, from, incoming);
  if (fetched.ok()) fetched = CheckIncomingLedger(descriptor, incoming);
  if (!fetched.ok()) {
    RemoveDirTree(env, incoming).IgnoreError();  // retried (and cleaned up at Open)
    return fetched;
  }

  // The swap. The marker goes first: from the moment the ledger may be the new one,
  // a restart must know that the ledger can be ahead of the Raft log.
  VELLUM_RETURN_IF_ERROR(
      WriteStringToFile(env, EncodeIndex(descriptor.raft_index), MarkerPath(), /*sync=*/true));
  VELLUM_RETURN_IF_ERROR(env->SyncDir(options_.dir));
  pending_snapshot_marker_ = descriptor.raft_index;
  VELLUM_RETURN_IF_ERROR(ReleaseLedger());
  // No ledger is open from here: every path below reopens one or stops the node.
  Status swapped = env->RenameFile(ledger, old);
  if (swapped.ok()) {
    swapped = env->RenameFile(incoming, ledger);
    if (!swapped.ok()) {
      Status back = env->RenameFile(old, ledger);
      if (!back.ok()) swapped = back;  // Open puts it back after a restart
    }
  }
  if (swapped.ok()) swapped = env->SyncDir(options_.dir);
  Status reopened = OpenLedger(/*create=*/false);
  if (reopened.ok()) reopened = LoadLedgerState();
  if (!reopened.ok()) {
    Stop(reopened.WithContext("reopening the ledger while installing a snapshot"));
    return alarm_;
  }
  if (on_ledger_replaced_) on_ledger_replaced_(db_);
  if (!swapped.ok()) {
    RemoveDirTree(env, incoming).IgnoreError();
    return swapped.WithContext("swapping in the snapshot's ledger");
  }
  // Left behind, it is removed at the next Open.
  RemoveDirTree(env, old).IgnoreError();
  return Status::OK();
}

Status ReplicatedLedger::CheckIncomingLedger(const LedgerSnapshotDescriptor& d,
                                             const std::string& path) {
  // Anything wrong with what was fetched is Corruption: it is never installed, and
  // the next attempt fetches it again.
  auto corrupt = [](const Status& s, std::string_view what) {
    return s.IsIOError() || s.IsUnavailable()
               ? s.WithContext(what)
               : Status::Corruption("the fetched ledger " + std::string(what) + ": " +
                                    s.ToString());
  };
  Options o = db_options_;
  o.create_if_missing = false;
  std::unique_ptr<DB> db;
  if (Status s = DB::Open(o, path, &db); !s.ok()) return corrupt(s, "does not open");
  Result<AuditReport> report = db->Verify();
  if (!report.ok()) return corrupt(report.status(), "cannot be audited");
  if (!report->ok()) {
    const AuditFinding& f = report->findings.front();
    return Status::Corruption("the fetched ledger fails its audit (" +
                              std::to_string(report->findings.size()) +
                              " findings; the first: " + f.location + ": " + f.problem + ")");
  }
  const CommitInfo latest = db->Latest();
  if (latest.version < d.ledger_version) {
    return Status::Corruption("the fetched ledger ends at version " +
                              std::to_string(latest.version) + ", before the snapshot's " +
                              std::to_string(d.ledger_version));
  }
  if (d.ledger_version > 0) {
    // The descriptor came in a signed Raft message: these two hashes tie the
    // (unauthenticated) checkpoint to what the leader committed.
    Result<LogEntryInfo> entry = db->GetLogEntry(d.ledger_version);
    if (!entry.ok()) return corrupt(entry.status(), "has no log entry at the snapshot's version");
    if (entry->version != d.ledger_version || entry->state_root_after != d.state_root ||
        entry->entry_hash != d.log_head) {
      return Status::Corruption(
          "the fetched ledger's log entry " + std::to_string(d.ledger_version) +
          " does not match the snapshot (state root " + HexEncode(entry->state_root_after) +
          ", expected " + HexEncode(d.state_root) + ")");
    }
  }
  Result<std::optional<std::string>> applied = db->Get({}, kNodeTable, kAppliedIndexKey);
  if (!applied.ok() || !applied->has_value() || (*applied)->size() != 8) {
    return Status::Corruption("the fetched ledger records no applied Raft index");
  }
  const uint64_t index = DecodeFixed64BE(reinterpret_cast<const uint8_t*>((*applied)->data()));
  if (index < d.raft_index) {
    return Status::Corruption("the fetched ledger applied Raft index " + std::to_string(index) +
                              ", before the snapshot's " + std::to_string(d.raft_index));
  }
  return db->Close();
}

Status ReplicatedLedger::ReleaseLedger() {
  if (on_ledger_replaced_) on_ledger_replaced_(nullptr);
  Env* env = options_.env;
  const uint64_t deadline = env->NowMicros() + options_.ledger_release_timeout_micros;
  while (db_.use_count() > 1) {
    if (env->NowMicros() >= deadline) {
      if (on_ledger_replaced_) on_ledger_replaced_(db_);
      return Status::Unavailable("other threads still use the ledger; retrying later");
    }
    env->SleepForMicros(1000);
  }
  // Its unsynced writes do not matter: this ledger is being replaced.
  prepared_version_.reset();
  db_->Close().IgnoreError();
  db_.reset();
  return Status::OK();
}

void ReplicatedLedger::MaybeCompact() {
  if (options_.snapshot_interval_entries == 0 || !alarm_.ok()) return;
  // The descriptor describes the ledger at the core's applied index; while an
  // installed ledger is ahead of the core (replaying what it holds) there is no such
  // state to describe.
  if (core_->raft().log().applied() != applied_index_) return;
  const uint64_t snapshot_index = log_->FirstIndex() - 1;
  if (snapshot_candidate_.has_value() && snapshot_candidate_->metadata.index <= snapshot_index) {
    snapshot_candidate_.reset();
  }
  if (!snapshot_candidate_.has_value() &&
      applied_index_ >= snapshot_index + options_.snapshot_interval_entries) {
    LedgerSnapshotDescriptor d;
    d.raft_index = applied_index_;
    const CommitInfo latest = db_->Latest();
    d.ledger_version = latest.version;
    d.state_root = latest.state_root;
    if (latest.version > 0) {
      Result<LogEntryInfo> head = db_->GetLogEntry(latest.version);
      if (!head.ok()) {
        Stop(head.status().WithContext("reading the ledger's log head for a snapshot"));
        return;
      }
      d.log_head = head->entry_hash;
    }
    raft::Snapshot candidate;
    candidate.metadata.index = applied_index_;
    candidate.metadata.conf_state = core_->GetStatus().conf_state;
    candidate.data = EncodeLedgerSnapshot(d);
    snapshot_candidate_ = std::move(candidate);
  }
  if (!snapshot_candidate_.has_value() ||
      applied_index_ < snapshot_candidate_->metadata.index + options_.snapshot_tail_entries) {
    return;
  }
  // The entries compacted away could rebuild an unsynced ledger after a crash: sync it.
  Status s = db_->SyncWrites();
  if (s.ok()) {
    s = log_->CreateSnapshotAndCompact(snapshot_candidate_->metadata.index,
                                       snapshot_candidate_->metadata.conf_state,
                                       std::move(snapshot_candidate_->data));
  }
  snapshot_candidate_.reset();
  if (!s.ok()) {
    Stop(s.WithContext("compacting the Raft log"));
    return;
  }
  ++snapshot_stats_.snapshots_taken;
  MaybeClearSnapshotMarker();
}

bool ReplicatedLedger::is_leader() const { return core_->raft().role() == raft::Role::kLeader; }

uint64_t ReplicatedLedger::leader() const { return core_->raft().leader(); }

void ReplicatedLedger::Tick() {
  if (!alarm_.ok()) return;
  core_->Tick();
  ++ticks_;
  ExpireTimedOut();
}

Status ReplicatedLedger::Step(const raft::Message& message) {
  if (!alarm_.ok()) return alarm_;
  if (message.type == raft::MessageType::kSnapshot && !message.snapshot.data.empty()) {
    // The ledger first, then the core: a refused snapshot is dropped here, as if the
    // network had lost it, and the leader offers it again.
    VELLUM_RETURN_IF_ERROR(MaybeInstallSnapshot(message));
  }
  return core_->Step(message);
}

Status ReplicatedLedger::Propose(const WriteBatch& batch, WriteCallback done) {
  if (!alarm_.ok()) return alarm_;
  if (batch.Count() == 0) return Status::InvalidArgument("an empty write");
  ClientWrite write;
  write.ops.reserve(batch.Count());
  for (const WriteBatch::Op& op : batch.ops()) {
    if (IsReserved(op.table)) {
      return Status::InvalidArgument("table names starting with '" +
                                     std::string(kReservedTablePrefix) + "' are reserved");
    }
    logchain::WriteSetOp w = ToWriteSetOp(op);
    VELLUM_RETURN_IF_ERROR(logchain::ValidateWriteSetOp(w));
    write.ops.push_back(std::move(w));
  }
  // A follower forwards the proposal to the leader through Raft (the core's
  // kPropose message); the write completes here when this node applies it.
  if (leader() == raft::kNoNode) {
    return Status::Unavailable(
        "no leader is known (an election is under way or there is no "
        "quorum); retry later");
  }
  write.request_id = NewRequestId();
  pending_writes_[write.request_id] =
      PendingWrite{std::move(done), ticks_ + options_.proposal_timeout_ticks};
  queued_writes_.push_back(std::move(write));
  return Status::OK();
}

uint64_t ReplicatedLedger::NewRequestId() {
  // Random, not a counter: a counter restarts with the process, and a command (or a
  // ReadIndex answer) from before a restart that is applied (or arrives) after it
  // must not complete a new request that happens to reuse its id. Collisions of
  // 64-bit random ids among the few requests in flight are negligible, and an id
  // already pending is never reused.
  for (;;) {
    uint8_t bytes[8];
    random_->Fill(bytes);
    const uint64_t id = DecodeFixed64BE(bytes);
    if (id != 0 && pending_writes_.count(id) == 0 && pending_reads_.count(id) == 0) return id;
  }
}

void ReplicatedLedger::ProposeQueuedWrites() {
  while (!queued_writes_.empty() && alarm_.ok()) {
    NodeCommand command;
    const CommitInfo latest = db_->Latest();
    command.attested_version = latest.version;
    command.attested_root = latest.state_root;
    size_t bytes = 0;
    while (!queued_writes_.empty() && command.writes.size() < kMaxWritesPerCommand &&
           bytes < kMaxCommandBytes) {
      for (const logchain::WriteSetOp& op : queued_writes_.front().ops) {
        bytes += op.table.size() + op.key.size() + op.value.size();
      }
      command.writes.push_back(std::move(queued_writes_.front()));
      queued_writes_.pop_front();
    }
    Status s = ProposeCommand(command);
    if (!s.ok()) {
      for (const ClientWrite& w : command.writes) FailPendingWrite(w.request_id, s);
    }
  }
}

void ReplicatedLedger::FailPendingWrite(uint64_t request_id, const Status& why) {
  auto it = pending_writes_.find(request_id);
  if (it == pending_writes_.end()) return;
  WriteCallback done = std::move(it->second.done);
  pending_writes_.erase(it);
  done(why);
}

Status ReplicatedLedger::ProposeCommandForTesting(const NodeCommand& command) {
  return ProposeCommand(command);
}

Status ReplicatedLedger::ProposeCommand(const NodeCommand& command) {
  if (!alarm_.ok()) return alarm_;
  if (leader() == raft::kNoNode) {
    return Status::Unavailable(
        "no leader is known (an election is under way or there is no "
        "quorum); retry later");
  }
  VELLUM_ASSIGN_OR_RETURN(Bytes sealed, SealCommand(replication_key_, command, *random_));
  return core_->Propose(std::move(sealed));
}

Status ReplicatedLedger::ProposeConfChange(const raft::ConfChange& change, ReadCallback done) {
  if (!alarm_.ok()) return alarm_;
  if (!is_leader()) {
    const uint64_t lead = leader();
    return Status::Unavailable(lead == raft::kNoNode
                                   ? std::string("no leader is known; retry later")
                                   : "membership changes go to the leader, node " +
                                         std::to_string(lead));
  }
  if (pending_conf_change_.has_value()) {
    return Status::Unavailable("another membership change is in progress; retry later");
  }
  VELLUM_RETURN_IF_ERROR(core_->ProposeConfChange(change));
  pending_conf_change_ =
      PendingConfChange{change, std::move(done), ticks_ + options_.proposal_timeout_ticks};
  return Status::OK();
}

Result<std::map<uint64_t, std::string>> ReplicatedLedger::MemberRecords() {
  if (!db_) return alarm_;
  std::map<uint64_t, std::string> members;
  if (tables_.count(kMembersTable) == 0) return members;
  Status inner;
  VELLUM_RETURN_IF_ERROR(
      db_->Scan({}, kMembersTable, [&](std::string_view key, std::string_view value) {
        uint64_t id = 0;
        for (char c : key) {
          if (c < '0' || c > '9' || id > (UINT64_MAX - 9) / 10) {
            inner = Status::Corruption("a member record has a malformed node id");
            return false;
          }
          id = id * 10 + static_cast<uint64_t>(c - '0');
        }
        members.emplace(id, std::string(value));
        return true;
      }));
  VELLUM_RETURN_IF_ERROR(inner);
  return members;
}

Status ReplicatedLedger::ReadBarrier(ReadCallback done) {
  if (!alarm_.ok()) return alarm_;
  const uint64_t id = NewRequestId();
  Bytes context;
  PutFixed64BE(&context, id);
  VELLUM_RETURN_IF_ERROR(core_->ReadIndex(context));
  pending_reads_[id] = PendingRead{std::move(done), 0, ticks_ + options_.proposal_timeout_ticks};
  return Status::OK();
}

Status ReplicatedLedger::Process(std::vector<raft::Message>* outbox, const Sender& send_now) {
  ProposeQueuedWrites();
  std::vector<uint64_t> snapshots_sent;
  for (int i = 0; i < kMaxReadiesPerProcess && alarm_.ok() && core_->HasReady(); ++i) {
    raft::Ready rd = core_->GetReady();
    for (const auto* messages : {&rd.early_messages, &rd.messages}) {
      for (const raft::Message& m : *messages) {
        if (m.type == raft::MessageType::kSnapshot) snapshots_sent.push_back(m.to);
      }
    }
    // 0. A leader's appends go out before its own write, so followers write theirs
    //    meanwhile (the core counts this node's copy only once persisted).
    if (send_now) {
      send_now(rd.early_messages);
    } else {
      for (raft::Message& m : rd.early_messages) outbox->push_back(std::move(m));
    }
    // 1. Persist (synced when the core says so: votes, terms and entries).
    Status s = log_->Persist(rd.hard_state, rd.entries, rd.snapshot, rd.must_sync && options_.sync);
    if (!s.ok()) {
      Stop(s.WithContext("persisting the Raft log"));
      break;
    }
    MaybeClearSnapshotMarker();
    // 2. Send: at once when the caller can (a follower's acknowledgement must not
    //    wait for this node to apply what it already committed).
    if (send_now) {
      send_now(rd.messages);
    } else {
      for (raft::Message& m : rd.messages) outbox->push_back(std::move(m));
    }
    for (std::string& a : rd.alarms) {
      if (peer_alarms_.size() < kMaxPeerAlarms) peer_alarms_.push_back(std::move(a));
    }
    // 3. Apply.
    if (!rd.snapshot.empty()) {
      // The cluster's bootstrap snapshot (no data: the empty initial state), or a
      // ledger snapshot whose ledger Step installed before the core took it.
      if (!rd.snapshot.data.empty() && applied_index_ < rd.snapshot.metadata.index) {
        Stop(Status::FailedPrecondition("the Raft core took the snapshot at " +
                                        std::to_string(rd.snapshot.metadata.index) +
                                        " but the ledger is at " + std::to_string(applied_index_)));
        break;
      }
      snapshot_candidate_.reset();  // the log now starts after the received snapshot
      if (Status conf = log_->SetConfState(rd.snapshot.metadata.conf_state); !conf.ok()) {
        Stop(conf.WithContext("recording the snapshot's membership"));
        break;
      }
      applied_index_ = std::max(applied_index_, rd.snapshot.metadata.index);
    }
    for (const raft::Entry& e : rd.committed_entries) {
      if (Status applied = ApplyEntry(e); !applied.ok()) {
        Stop(applied);
        break;
      }
    }
    if (!alarm_.ok()) break;
    PrepareNextVersion(rd.entries);
    for (const raft::ReadState& rs : rd.read_states) {
      if (rs.request_context.size() != 8) continue;
      auto it = pending_reads_.find(DecodeFixed64BE(rs.request_context.data()));
      if (it != pending_reads_.end()) it->second.index = rs.index;
    }
    core_->Advance(rd);
  }
  // The snapshot message is small (a descriptor); the follower fetches the ledger
  // itself. Take it as delivered: the leader then probes again after the follower's
  // next answer, which re-sends the snapshot until the follower has installed it.
  for (uint64_t to : snapshots_sent) core_->ReportSnapshot(to, /*delivered=*/true);
  MaybeCompact();
  CompleteReads();
  return alarm_;
}

Status ReplicatedLedger::ApplyEntry(const raft::Entry& entry) {
  // A membership change reaches the core and the Raft log even when the ledger holds
  // it already (ApplyConfChange).
  if (entry.type == raft::EntryType::kConfChange) return ApplyConfChange(entry);
  // The ledger holds it already. The core hands such entries out only when the ledger
  // is ahead of it: a ledger installed from a snapshot newer than the Raft snapshot
  // (the checkpoint was made later), or a restart before the Raft log caught up with
  // an installed ledger.
  if (entry.index <= applied_index_) return Status::OK();
  if (entry.data.empty()) {
    // A leader's no-op: nothing to apply, nothing to record (replaying it is free).
    applied_index_ = entry.index;
    return Status::OK();
  }
  // The leader decrypted the command already when it prepared its version.
  NodeCommand command;
  if (PreparedFor(entry)) {
    command = std::move(prepared_version_->command);
  } else {
    VELLUM_ASSIGN_OR_RETURN(command, OpenCommand(replication_key_, entry.data));
  }
  VELLUM_RETURN_IF_ERROR(CheckAttestation(command));
  return ApplyCommand(entry, command);
}

Status ReplicatedLedger::CheckAttestation(const NodeCommand& command) {
  const uint64_t v = command.attested_version;
  if (v == 0) return Status::OK();
  const CommitInfo latest = db_->Latest();
  if (v > latest.version) {
    return Status::Corruption("a command attests ledger version " + std::to_string(v) +
                              ", which this node has not reached (at " +
                              std::to_string(latest.version) + "): the replicas have diverged");
  }
  // One command, one ledger version, one ledger log entry: version v is log entry v.
  // The usual case: nothing was applied since the proposal. The latest version's root
  // is what its log entry records, without reading and proving the entry (a mismatch
  // takes the full check below, for its message).
  if (v == latest.version && latest.log_index == v && latest.state_root == command.attested_root) {
    return Status::OK();
  }
  VELLUM_ASSIGN_OR_RETURN(LogEntryInfo info, db_->GetLogEntry(v));
  if (info.version != v) {
    return Status::Corruption("ledger log entry " + std::to_string(v) + " records version " +
                              std::to_string(info.version));
  }
  if (info.state_root_after != command.attested_root) {
    return Status::Corruption("state root mismatch at ledger version " + std::to_string(v) +
                              ": this node has " + HexEncode(info.state_root_after) +
                              ", the proposer had " + HexEncode(command.attested_root) +
                              "; stopped applying");
  }
  return Status::OK();
}

Status ReplicatedLedger::CheckWrite(const ClientWrite& write,
                                    std::set<std::string, std::less<>>* tables,
                                    std::vector<bool>* creates_table) const {
  creates_table->assign(write.ops.size(), false);
  for (size_t i = 0; i < write.ops.size(); ++i) {
    const logchain::WriteSetOp& op = write.ops[i];
    if (IsReserved(op.table)) {
      return Status::InvalidArgument("a write names a reserved table ('" + op.table + "')");
    }
    VELLUM_RETURN_IF_ERROR(logchain::ValidateWriteSetOp(op));
    const bool exists = tables->count(op.table) != 0;
    switch (op.kind) {
      case logchain::WriteSetOp::Kind::kPut:
        if (op.key.size() > max_key_size_ || op.value.size() > max_value_size_) {
          return Status::InvalidArgument("a key or value is over the ledger's size limits");
        }
        (*creates_table)[i] = tables->insert(op.table).second;  // created by its first put
        break;
      case logchain::WriteSetOp::Kind::kDelete:
        if (op.key.size() > max_key_size_) {
          return Status::InvalidArgument("a key is over the ledger's size limit");
        }
        if (!exists) return Status::NotFound("table '" + op.table + "' does not exist");
        break;
      case logchain::WriteSetOp::Kind::kCreateTable:
        if (exists) return Status::AlreadyExists("table '" + op.table + "' exists");
        tables->insert(op.table);
        break;
      case logchain::WriteSetOp::Kind::kDropTable:
        if (!exists) return Status::NotFound("table '" + op.table + "' does not exist");
        tables->erase(op.table);
        break;
    }
  }
  return Status::OK();
}

ReplicatedLedger::CommandBatch ReplicatedLedger::BuildCommandBatch(
    const raft::Entry& entry, const NodeCommand& command) const {
  // Every write is checked against the tables as the writes before it leave them,
  // exactly as applying them one by one would; a write that would fail fails alone.
  // The check depends only on the ledger's tables at this point of the log, which
  // every member has alike, so every member fails the same writes.
  CommandBatch out;
  out.tables = tables_;
  out.outcome.resize(command.writes.size());
  if (!node_table_exists_) out.batch.CreateTable(kNodeTable);
  std::vector<bool> creates_table;
  for (size_t w = 0; w < command.writes.size(); ++w) {
    const ClientWrite& write = command.writes[w];
    std::set<std::string, std::less<>> after = out.tables;
    out.outcome[w] = CheckWrite(write, &after, &creates_table);
    if (!out.outcome[w].ok()) continue;
    out.tables = std::move(after);
    for (size_t i = 0; i < write.ops.size(); ++i) {
      const logchain::WriteSetOp& op = write.ops[i];
      switch (op.kind) {
        case logchain::WriteSetOp::Kind::kPut:
          if (creates_table[i]) out.batch.CreateTable(op.table);
          out.batch.Put(op.table, AsChars(op.key), AsChars(op.value));
          break;
        case logchain::WriteSetOp::Kind::kDelete:
          out.batch.Delete(op.table, AsChars(op.key));
          break;
        case logchain::WriteSetOp::Kind::kCreateTable:
          out.batch.CreateTable(op.table);
          break;
        case logchain::WriteSetOp::Kind::kDropTable:
          out.batch.DropTable(op.table);
          break;
      }
    }
    ++out.accepted;
  }
  if (out.accepted > 0) out.batch.Put(kNodeTable, kAppliedIndexKey, EncodeIndex(entry.index));
  return out;
}

bool ReplicatedLedger::PreparedFor(const raft::Entry& e) const {
  return prepared_version_ && prepared_version_->index == e.index &&
         prepared_version_->term == e.term;
}

void ReplicatedLedger::PrepareNextVersion(const std::vector<raft::Entry>& appended) {
  if (!alarm_.ok() || !is_leader()) return;
  for (const raft::Entry& e : appended) {
    if (e.index != applied_index_ + 1) continue;
    if (e.type != raft::EntryType::kNormal || e.data.empty()) return;
    if (PreparedFor(e)) return;
    // Anything that fails here fails again when the entry is applied, which reports it.
    Result<NodeCommand> command = OpenCommand(replication_key_, e.data);
    if (!command.ok()) return;
    CommandBatch built = BuildCommandBatch(e, *command);
    if (built.accepted == 0) return;
    Result<std::unique_ptr<PreparedWrite>> write = db_->PrepareWrite(built.batch);
    if (!write.ok()) return;
    prepared_version_ = PreparedVersion{e.index, e.term, std::move(command).value(),
                                        std::move(built), std::move(write).value()};
    return;
  }
}

Status ReplicatedLedger::ApplyCommand(const raft::Entry& entry, const NodeCommand& command) {
  // The version prepared for this very entry, if there is one. What it was built from
  // depends only on the entry and on the tables, which change only with a ledger
  // write — and any ledger write since makes CommitPrepared refuse it.
  std::unique_ptr<PreparedWrite> prepared;
  CommandBatch built;
  if (PreparedFor(entry)) {
    prepared = std::move(prepared_version_->write);
    built = std::move(prepared_version_->built);
  } else {
    built = BuildCommandBatch(entry, command);
  }
  if (prepared_version_ && prepared_version_->index <= entry.index) prepared_version_.reset();
  Result<CommitInfo> written = CommitInfo{};
  bool write_afresh = prepared == nullptr;
  if (prepared != nullptr) {
    written = db_->CommitPrepared({}, std::move(prepared));
    if (written.ok()) ++prepared_versions_used_;
    if (written.status().code() == StatusCode::kAborted) {
      // The ledger changed after it was prepared (a membership record).
      built = BuildCommandBatch(entry, command);
      write_afresh = true;
    }
  }
  if (write_afresh && built.accepted > 0) written = db_->Write({}, built.batch);
  Status write_status;
  CommitInfo info;
  if (built.accepted > 0) {
    if (written.ok()) {
      info = *written;
    } else if (IsDeterministicFailure(written.status())) {
      // A failure the checks above did not foresee fails every write of the
      // command — still identically on every member.
      write_status = written.status();
    } else {
      return written.status().WithContext("applying Raft entry " + std::to_string(entry.index));
    }
  }
  applied_index_ = entry.index;
  if (built.accepted > 0 && write_status.ok()) {
    node_table_exists_ = true;
    tables_ = std::move(built.tables);
  }
  for (size_t w = 0; w < command.writes.size(); ++w) {
    auto pending = pending_writes_.find(command.writes[w].request_id);
    if (pending == pending_writes_.end()) continue;
    WriteCallback done = std::move(pending->second.done);
    pending_writes_.erase(pending);
    if (!built.outcome[w].ok()) {
      done(built.outcome[w]);
    } else if (!write_status.ok()) {
      done(write_status);
    } else {
      done(WriteResult{info.version, info.state_root, entry.index});
    }
  }
  return Status::OK();
}

Status ReplicatedLedger::ApplyConfChange(const raft::Entry& entry) {
  auto change = raft::DecodeConfChange(entry.data);
  if (!change.ok()) return change.status();
  const raft::ConfState conf = core_->ApplyConfChange(*change);
  // The Raft log's restart membership first: if we crash before the ledger write,
  // the change is applied again on restart (it is idempotent).
  VELLUM_RETURN_IF_ERROR(log_->SetConfState(conf));
  // A ledger ahead of the core (see ApplyEntry) holds the change already; replaying a
  // suffix of changes on a membership that has them ends in the same membership.
  if (entry.index > applied_index_) VELLUM_RETURN_IF_ERROR(RecordConfChange(entry, *change));
  if (pending_conf_change_.has_value() && pending_conf_change_->change.type == change->type &&
      pending_conf_change_->change.node_id == change->node_id) {
    ReadCallback done = std::move(pending_conf_change_->done);
    pending_conf_change_.reset();
    done(Status::OK());
  }
  if (on_membership_change_) on_membership_change_(*change, conf);
  return Status::OK();
}

Status ReplicatedLedger::RecordConfChange(const raft::Entry& entry,
                                          const raft::ConfChange& change) {
  WriteBatch batch;
  VELLUM_ASSIGN_OR_RETURN(std::vector<std::string> tables, db_->ListTables());
  if (std::find(tables.begin(), tables.end(), kNodeTable) == tables.end()) {
    batch.CreateTable(kNodeTable);
  }
  if (std::find(tables.begin(), tables.end(), kMembersTable) == tables.end()) {
    batch.CreateTable(kMembersTable);
  }
  const std::string member = std::to_string(change.node_id);
  if (change.type == raft::ConfChangeType::kRemoveNode) {
    batch.Delete(kMembersTable, member);
  } else {
    batch.Put(kMembersTable, member, AsChars(change.context));
  }
  batch.Put(kNodeTable, kAppliedIndexKey, EncodeIndex(entry.index));
  auto written = db_->Write({}, batch);
  if (!written.ok()) {
    return written.status().WithContext("recording membership change " +
                                        std::to_string(entry.index));
  }
  applied_index_ = entry.index;
  node_table_exists_ = true;
  tables_.insert(std::string(kNodeTable));
  tables_.insert(std::string(kMembersTable));
  return Status::OK();
}

void ReplicatedLedger::CompleteReads() {
  for (auto it = pending_reads_.begin(); it != pending_reads_.end();) {
    if (it->second.index != 0 && applied_index_ >= it->second.index) {
      ReadCallback done = std::move(it->second.done);
      it = pending_reads_.erase(it);
      done(Status::OK());
    } else {
      ++it;
    }
  }
}

void ReplicatedLedger::ExpireTimedOut() {
  for (auto it = pending_writes_.begin(); it != pending_writes_.end();) {
    if (it->second.deadline_tick > ticks_) {
      ++it;
      continue;
    }
    WriteCallback done = std::move(it->second.done);
    it = pending_writes_.erase(it);
    done(
        Status::Unavailable("the write was not applied in time (no quorum?); it may still "
                            "commit: read before retrying"));
  }
  if (pending_conf_change_.has_value() && pending_conf_change_->deadline_tick <= ticks_) {
    ReadCallback done = std::move(pending_conf_change_->done);
    pending_conf_change_.reset();
    done(Status::Unavailable(
        "the membership change was not applied in time; it may still be: check the members"));
  }
  for (auto it = pending_reads_.begin(); it != pending_reads_.end();) {
    if (it->second.deadline_tick > ticks_) {
      ++it;
      continue;
    }
    ReadCallback done = std::move(it->second.done);
    it = pending_reads_.erase(it);
    done(Status::Unavailable("the read could not be confirmed by a quorum in time"));
  }
}

void ReplicatedLedger::Stop(Status why) {
  if (!alarm_.ok()) return;
  alarm_ = std::move(why);
  const Status failed = Status::Unavailable("this node stopped: " + alarm_.ToString());
  queued_writes_.clear();
  auto writes = std::move(pending_writes_);
  pending_writes_.clear();
  for (auto& [id, w] : writes) w.done(failed);
  auto reads = std::move(pending_reads_);
  pending_reads_.clear();
  for (auto& [id, r] : reads) r.done(failed);
  if (pending_conf_change_.has_value()) {
    ReadCallback done = std::move(pending_conf_change_->done);
    pending_conf_change_.reset();
    done(failed);
  }
}

}  // namespace vellum::node
