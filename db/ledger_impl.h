// Copyright (c) Vellum authors.
//
// LedgerImpl: the DB behind include/vellum/db.h. Its pieces:
//
//   ledger.cc        open, the commit pipeline (group commit), Close
//   ledger_read.cc   Get, GetWithProof, History, Scan, ListTables
//   ledger_log.cc    digests, consistency proofs, log entries, Forget, stats
//   ledger_audit.cc  Verify
//   checkpoint.cc    Checkpoint, SyncWrites
//   transaction.cc   optimistic transactions
//
// State. The latest committed state is an immutable State published through a
// shared_ptr: readers take a reference and read without locks; the commit leader
// builds the next State and swaps it in after the write batch is durable.
//
// Commit pipeline (RocksDB's write-thread shape). Writers queue up; the writer at the
// front is the leader: it takes every writer queued (up to kMaxGroupOps operations),
// checks each one (sizes, tables, conflicts) — a writer that fails gets its own error
// and drops out — and commits the rest as ONE version: table tries and the top trie
// prepared, one log entry sealed, keys/values/history/log/trie nodes/head in one
// rocksdb::WriteBatch, synced once if any writer asked for sync. Then it installs the
// tries, publishes the State and wakes the group.
//
// Two-phase writes (PrepareWrite, CommitPrepared) split that turn in two: a writer
// that leads alone runs the first half (PrepareGroup: everything up to the write
// batch) and keeps the result; a later turn writes it (WriteCommit) if the state it
// was built on is still the current one, and otherwise refuses with Aborted.

#ifndef VELLUM_DB_LEDGER_IMPL_H_
#define VELLUM_DB_LEDGER_IMPL_H_

#include <rocksdb/db.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "crypto/hash.h"
#include "db/entry_key_preparer.h"
#include "db/format.h"
#include "db/ledger_keys.h"
#include "db/logchain/log_entry.h"
#include "db/logchain/merkle_log.h"
#include "db/logchain/share_set.h"
#include "trie/rocks_node_store.h"
#include "trie/trie.h"
#include "vellum/db.h"
#include "vellum/env.h"

namespace vellum::db {

class LedgerImpl final : public DB {
 public:
  static Status Open(const Options& options, const std::string& path, std::unique_ptr<DB>* db);
  ~LedgerImpl() override;

  Status Close() override;

  Result<CommitInfo> Write(const WriteOptions& options, const WriteBatch& batch) override;
  std::unique_ptr<Transaction> BeginTransaction() override;

  Result<std::optional<std::string>> Get(const ReadOptions& options, std::string_view table,
                                         std::string_view key) override;
  Result<LedgerProof> GetWithProof(const ReadOptions& options, std::string_view table,
                                   std::string_view key) override;
  Result<std::vector<HistoryEntry>> History(std::string_view table, std::string_view key,
                                            size_t limit) override;
  Status Scan(const ReadOptions& options, std::string_view table, const ScanFn& fn) override;
  Result<std::vector<std::string>> ListTables(const ReadOptions& options) override;

  CommitInfo Latest() override;
  Result<Digest> GetDigest() override;
  Result<DigestConsistencyProof> ConsistencyProof(const Digest& old_digest,
                                                  const Digest& new_digest) override;
  Result<AuditReport> Verify(const AuditOptions& options) override;
  Result<DBStats> GetStats() override;

  Result<LogEntryInfo> GetLogEntry(uint64_t index) override;
  Result<std::vector<LogOp>> DecryptLogEntry(uint64_t index,
                                             std::span<const HolderKey* const> keys) override;
  Result<uint64_t> Forget(uint64_t first, uint64_t last) override;
  Status SetLogKeyHolders(std::span<const HolderKey::PublicKey> holders, int threshold) override;
  Result<std::unique_ptr<PreparedWrite>> PrepareWrite(const WriteBatch& batch) override;
  Result<CommitInfo> CommitPrepared(const WriteOptions& options,
                                    std::unique_ptr<PreparedWrite> prepared) override;
  // checkpoint.cc
  Status Checkpoint(const std::string& dir) override;
  Status SyncWrites() override;

  // --- for transaction.cc
  struct TableState {
    uint64_t id = 0;
    trie::TrieRoot root;
    crypto::Hash256 name_hash{};
  };
  // An immutable snapshot of the latest state.
  struct State {
    uint64_t version = 0;
    trie::TrieRoot top_root;  // top_root.hash is the state root
    uint64_t oldest_version = 0;
    uint64_t log_size = 0;
    crypto::Hash256 log_head{};
    logchain::MerkleAccumulator log;
    std::map<std::string, TableState, std::less<>> tables;
  };
  std::shared_ptr<const State> CurrentState() const;

  // What a transaction hands to the pipeline besides its writes.
  struct ReadSet {
    uint64_t snapshot_version = 0;
    // Table name -> its id at the snapshot (0: the table did not exist).
    std::map<std::string, uint64_t, std::less<>> tables;
    std::set<std::pair<std::string, std::string>> keys;  // (table, key) read or written
  };
  Result<CommitInfo> CommitWrites(const std::vector<WriteBatch::Op>& ops, const ReadSet* reads,
                                  bool sync);
  bool default_sync() const { return options_.sync; }
  // Get against a given State, for transactions.
  Result<std::optional<std::string>> GetAt(const State& state, std::string_view table,
                                           std::string_view key);

 private:
  friend class LedgerAudit;
  struct Writer;
  struct Table;  // a table's trie
  struct PreparedCommit;
  class PreparedWriteImpl;

  LedgerImpl(const Options& options, std::string path);

  // Opening.
  rocksdb::DBOptions RocksOptions();
  // Checks the directory on a read-only open: true for a sound ledger (that `master`,
  // if given, opens), false for an empty database (an interrupted creation).
  Result<bool> Precheck(const MasterKey* master);
  Status OpenRocks(bool creating, bool read_only);
  Status CloseRocks();
  Status Initialize(const MasterKey* master);
  Status Load(const MasterKey* master);
  Status LoadCatalog(State* state);
  Status RequireKeys(std::string_view operation) const;

  // Commit pipeline.
  // Queues `w` and returns once its turn is done: as a follower of a group, or as the
  // leader that ran it (CommitGroup, or `w` alone for a two-phase writer).
  void RunWriter(Writer* w);
  void CommitGroup(const std::vector<Writer*>& group);
  // Steps 1-5 of a commit: checks every writer of `group` (one that fails gets its
  // status and drops out; the others are added to `accepted`) and prepares their
  // version: tries, log entry, write batch. nullptr when there is nothing to write:
  // every accepted writer's status or info is then set.
  std::unique_ptr<PreparedCommit> PrepareGroup(const std::vector<Writer*>& group,
                                               std::vector<Writer*>* accepted);
  // Step 6: writes `commit` (synced if `sync`) and makes it the current state.
  Result<CommitInfo> WriteCommit(PreparedCommit& commit, bool sync);
  // Aborted unless a commit prepared in an earlier turn may still be written.
  Status CheckStillCurrent(const PreparedCommit& commit) const;
  Status CheckConflicts(const State& base, const ReadSet& reads,
                        const std::set<std::pair<uint64_t, crypto::Hash256>>& group_keys);
  Result<uint64_t> LastChange(uint64_t table_id, const crypto::Hash256& key_hash);
  struct OpCrypto;
  static OpCrypto SealOp(const TableKeys& keys, uint64_t table_id, const WriteBatch::Op& op);
  std::vector<OpCrypto> SealOpsInParallel(
      const std::map<std::string, TableState, std::less<>>& tables,
      const std::vector<WriteBatch::Op>& ops);
  void MaybePrune(uint64_t version);

  // Reads. A table as a read finds it: its TableState at the version read.
  using ResolvedTable = TableState;
  struct VersionView {
    uint64_t version = 0;
    trie::TrieRoot top_root;
  };
  Result<VersionView> ViewAt(const State& state, std::optional<uint64_t> version);
  // The table `name` at `view` (NotFound if it does not exist there), verified
  // against the view's root.
  Result<ResolvedTable> ResolveTable(const State& state, const VersionView& view,
                                     std::string_view name);
  Result<trie::Trie*> TableTrie(uint64_t table_id);
  Result<std::string> ReadValue(uint64_t table_id, const TableKeys& keys,
                                const crypto::Hash256& value_hash);
  Result<std::string> ReadKey(uint64_t table_id, const TableKeys& keys,
                              const crypto::Hash256& key_hash);
  Result<std::string> ReadTableName(const crypto::Hash256& name_hash);
  Result<std::optional<std::string>> GetVerified(const ResolvedTable& table, std::string_view key);
  Result<LedgerProof> ProveAt(const State& state, const VersionView& view, std::string_view table,
                              std::string_view key);
  // Runs `read` at the version `options` names (the latest if none), telling a failure
  // caused by pruning during the read apart from damage (ledger_read.cc).
  // `read(const State&, const VersionView&)` returns a Result.
  template <typename ReadFn>
  auto ReadRacingPrune(const ReadOptions& options, const ReadFn& read)
      -> decltype(read(std::declval<const State&>(), std::declval<const VersionView&>()));
  Status PrunedWhileRead(uint64_t version) const;

  // Reads a keys or values record and opens it: decrypted with its associated data,
  // then re-hashed against the hash it is stored under. `what` names the family.
  Result<std::string> ReadSealed(int family, std::string_view what, const std::string& key,
                                 ByteView ad, const crypto::AesSiv& siv,
                                 const crypto::KeyedHasher& hasher, const crypto::Hash256& hash,
                                 uint64_t table_id);

  // The value hash a history record names (std::nullopt for a deletion), after
  // checking its tag. Corruption for a malformed or altered record.
  static Result<std::optional<crypto::Hash256>> OpenHistoryRecord(const TableKeys& keys,
                                                                  uint64_t table_id,
                                                                  const crypto::Hash256& key_hash,
                                                                  uint64_t version,
                                                                  std::string_view record);

  // Log.
  Result<logchain::StoredEntry> ReadEntry(uint64_t index);
  // ReadEntry, and the entry's hash proven to be leaf index-1 of the trusted log root
  // of `state` (an inclusion proof from the stored nodes).
  Result<logchain::StoredEntry> ReadVerifiedEntry(const State& state, uint64_t index);
  // Entry `index`'s encoded share set; std::nullopt once Forget destroyed it (the
  // forget mark checked). Corruption when it is missing.
  Result<std::optional<std::string>> ReadShareSet(uint64_t index);
  // The root of the state at `version` (< state.version), from the top trie's version
  // record, checked against the state root that version's log entry records (the log
  // records one entry per version). Verified roots are cached.
  Result<trie::TrieRoot> VerifiedRootAt(const State& state, uint64_t version);
  // The log's stored Merkle nodes, as a MerkleNodeSource (unverified: proofs are
  // checked by their verifier, the nodes themselves by Verify()).
  std::unique_ptr<logchain::MerkleNodeSource> LogNodes() const;
  logchain::KeyHolders Holders() const;

  Status RocksStatus(const rocksdb::Status& status, std::string_view what) const;
  rocksdb::ColumnFamilyHandle* cf(int i) const { return handles_[i]; }

  const Options options_;
  const std::string path_;
  Env* const env_;

  // RocksDB, and our column families in the order of kFamilies (ledger.cc).
  std::unique_ptr<rocksdb::Env> rocks_env_;
  rocksdb::DB* rocks_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<trie::RocksNodeStore> node_store_;
  std::unique_ptr<trie::TaskRunner> task_runner_;

  Bytes ledger_id_;
  std::unique_ptr<LedgerKeys> keys_;  // null when opened keyless
  mutable std::mutex config_mu_;      // config_.holders and threshold change at run time
  format::ConfigRecord config_;
  EntryKeyPreparer entry_keys_;  // the next log entry's key, split to Holders()

  std::unique_ptr<trie::Trie> top_;
  std::mutex tables_mu_;
  std::map<uint64_t, std::unique_ptr<trie::Trie>> table_tries_;

  std::mutex roots_mu_;
  std::map<uint64_t, trie::TrieRoot> verified_roots_;  // by version, bounded

  mutable std::mutex state_mu_;
  std::shared_ptr<const State> state_;

  std::mutex queue_mu_;
  std::deque<Writer*> queue_;
  uint64_t last_prune_ = 0;  // leader only
  // Writers active at the last commit: its group and those queued behind it
  // (guarded by queue_mu_).
  size_t expected_writers_ = 0;
  // Versions below this may be pruned at any moment: it moves before pruning deletes
  // anything, so a read that fails on a version below it failed because of pruning.
  std::atomic<uint64_t> prune_floor_{0};
  // Set (by the leader) when a commit's write failed: its outcome is unknown (RocksDB
  // may replay it after a restart), so no later commit may build on the state.
  Status write_error_;
  bool closed_ = false;
};

// Column family indexes into handles_.
enum Family : int {
  kDefaultFamily = 0,
  kMeta,
  kLog,
  kTrie,
  kKeys,
  kValues,
  kHistory,
  kFamilyCount
};

}  // namespace vellum::db

#endif  // VELLUM_DB_LEDGER_IMPL_H_
