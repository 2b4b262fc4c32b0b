// Copyright (c) Vellum authors.
//
// DB: an open ledger. Keys and values are encrypted at rest (AES-SIV under per-table
// keys; equal plaintexts give equal ciphertexts within a table — the documented
// leakage of deterministic encryption); each table maps keyed hashes of keys to keyed
// hashes of values in a Merkle-Patricia trie, and a top trie maps each table to its
// root, so the whole state rolls up into one 256-bit state root per version. Every
// commit appends one entry to a hash-chained log whose payload (the plaintext write
// set) is encrypted under a fresh key split across the log key holders.
//
//   std::unique_ptr<DB> db;
//   Options options;
//   options.create_if_missing = true;
//   options.key_file = "/etc/app/ledger.key";
//   VELLUM_RETURN_IF_ERROR(DB::Open(options, "/var/lib/app/ledger", &db));
//   WriteBatch batch;
//   batch.CreateTable("accounts");
//   batch.Put("accounts", "alice", "100");
//   VELLUM_ASSIGN_OR_RETURN(CommitInfo info, db->Write({}, batch));
//   VELLUM_ASSIGN_OR_RETURN(auto value, db->Get({}, "accounts", "alice"));
//
// Reads are verified against the state root by default: every trie node read back is
// re-hashed against its parent, and the value against its hash. Anything that does
// not match is Corruption naming what failed — never a wrong answer.
//
// Versions. Each commit makes a new version (1, 2, ...). Concurrent commits are
// grouped: writers that arrive while a commit is in flight are committed together
// as the next version, sharing one log entry and one sync, and each receives that
// version's CommitInfo.
//
// Thread safety: every method may be called concurrently from any thread, except
// Close, which must not overlap other calls. One process at a time may open a
// directory; a second Open is Unavailable.

#ifndef VELLUM_DB_H_
#define VELLUM_DB_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vellum/commit_info.h"
#include "vellum/digest.h"
#include "vellum/hash.h"
#include "vellum/keys.h"
#include "vellum/ledger_proof.h"
#include "vellum/options.h"
#include "vellum/result.h"
#include "vellum/status.h"
#include "vellum/transaction.h"
#include "vellum/write_batch.h"

namespace vellum {

// One change of a key: the version that made it, and the value it set (std::nullopt
// for a deletion).
struct HistoryEntry {
  uint64_t version = 0;
  std::optional<std::string> value;
  // Checked against that version's state root (true for every change within the
  // retention window; older changes are authenticated by their encryption only).
  bool verified = false;
};

// A log entry as stored: everything but the payload can be read without any key.
struct LogEntryInfo {
  uint64_t index = 0;
  uint64_t term = 0;
  uint64_t version = 0;
  uint64_t time_micros = 0;  // wall clock of the commit
  Hash prev_entry_hash{};
  Hash state_root_after{};
  Hash payload_hash{};
  Hash key_share_set_id{};
  Hash entry_hash{};
  size_t payload_bytes = 0;
  int threshold = 0;       // holders needed to decrypt
  int holders = 0;         // holders the key was split across
  bool forgotten = false;  // its key shares were destroyed (DB::Forget)
};

// One operation of a decrypted log entry.
struct LogOp {
  WriteBatch::OpKind kind;
  std::string table;
  std::string key;
  std::string value;
};

// What Verify() found. `location` names the record ("log entry 17", "table
// 'accounts' key hash 3fa2... at version 9", "metadata head record", ...).
struct AuditFinding {
  std::string location;
  std::string problem;
};
struct AuditReport {
  uint64_t log_entries = 0;
  uint64_t tables = 0;
  uint64_t keys = 0;
  uint64_t values = 0;
  std::vector<AuditFinding> findings;
  bool ok() const { return findings.empty(); }
};
struct AuditOptions {
  // Check only the log (chain links, entry hashes, share sets, the Merkle
  // accumulator, the head record): `vellum-db log verify`.
  bool log_only = false;
  // Also check that the ledger extends this earlier digest.
  std::optional<Digest> against;
  // Called now and then with a line describing progress.
  std::function<void(std::string_view)> progress;
};

struct DBStats {
  uint64_t version = 0;
  uint64_t oldest_version = 0;  // oldest readable version
  uint64_t log_size = 0;
  uint64_t tables = 0;
  struct ColumnFamily {
    std::string name;
    uint64_t sst_bytes = 0;       // on disk, in table files
    uint64_t memtable_bytes = 0;  // in memory, also in the write-ahead log
    uint64_t estimated_keys = 0;
  };
  std::vector<ColumnFamily> column_families;
};

// A version made by DB::PrepareWrite and not yet written (see there). Owned by the
// caller; drop it, or hand it to the DB that made it, before that DB closes.
class PreparedWrite {
 public:
  virtual ~PreparedWrite() = default;
  // What CommitPrepared returns when it writes this version.
  virtual const CommitInfo& info() const = 0;
};

class DB {
 public:
  // Opens (or with options.create_if_missing creates) the ledger in directory `path`.
  // Errors: NotFound (no ledger and not creating), AlreadyExists (error_if_exists),
  // PermissionDenied (wrong master key), InvalidArgument (a directory that is not a
  // ledger, bad options), Corruption (damaged metadata or state), Unavailable
  // (already open elsewhere), IOError.
  static Status Open(const Options& options, const std::string& path, std::unique_ptr<DB>* db);

  virtual ~DB() = default;

  // Flushes nothing that is not already durable (commits are atomic and, with sync,
  // durable when they return) and releases the directory. Idempotent.
  virtual Status Close() = 0;

  // --- writes
  // Commits `batch` as one version (grouped with concurrent commits). A validation
  // error (InvalidArgument, NotFound, AlreadyExists, Aborted) changes nothing. An
  // IOError means the outcome is unknown, as with any database whose write or sync
  // fails: the commit may or may not be there after a restart, so read before
  // retrying. After an IOError the ledger takes no more writes until it is reopened.
  virtual Result<CommitInfo> Write(const WriteOptions& options, const WriteBatch& batch) = 0;
  virtual std::unique_ptr<Transaction> BeginTransaction() = 0;

  // Two-phase writes, for a caller that knows its next write before it may make it
  // (a replicated node prepares the version a proposal will create while its peers
  // vote). PrepareWrite does all of Write's work on top of the latest version —
  // checks, encryption, tries, the sealed log entry — and writes nothing;
  // CommitPrepared then only writes it. The prepared version stays valid only while
  // nothing else changes the ledger: CommitPrepared returns Aborted, and writes
  // nothing, when another commit came first or the log key holders changed (write
  // the batch again). A prepared write that is dropped leaves no trace. Errors and
  // their meaning are Write's; PrepareWrite's info() is what CommitPrepared returns
  // on success.
  virtual Result<std::unique_ptr<PreparedWrite>> PrepareWrite(const WriteBatch& batch) = 0;
  virtual Result<CommitInfo> CommitPrepared(const WriteOptions& options,
                                            std::unique_ptr<PreparedWrite> prepared) = 0;

  // --- reads
  // The value of `key` in `table`; std::nullopt if absent. NotFound for a table that
  // does not exist at that version or a version outside the retention window.
  virtual Result<std::optional<std::string>> Get(const ReadOptions& options, std::string_view table,
                                                 std::string_view key) = 0;
  // The value (or absence) with a proof up to the state root of the version read.
  virtual Result<LedgerProof> GetWithProof(const ReadOptions& options, std::string_view table,
                                           std::string_view key) = 0;
  // Every change of `key`, oldest first (at most `limit` of the newest when limit > 0).
  // Each change within the retention window is verified against its version's root.
  virtual Result<std::vector<HistoryEntry>> History(std::string_view table, std::string_view key,
                                                    size_t limit = 0) = 0;
  // Calls fn(key, value) for every entry of `table` at the version read, in the order
  // of the keys' keyed hashes (a stable but not lexicographic order). Return false to
  // stop. Verified like Get.
  using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;
  virtual Status Scan(const ReadOptions& options, std::string_view table, const ScanFn& fn) = 0;
  // Table names at the version read, sorted.
  virtual Result<std::vector<std::string>> ListTables(const ReadOptions& options = {}) = 0;

  // --- state
  virtual CommitInfo Latest() = 0;
  virtual Result<Digest> GetDigest() = 0;
  virtual Result<DigestConsistencyProof> ConsistencyProof(const Digest& old_digest,
                                                          const Digest& new_digest) = 0;
  virtual Result<AuditReport> Verify(const AuditOptions& options = {}) = 0;
  virtual Result<DBStats> GetStats() = 0;

  // --- the log
  virtual Result<LogEntryInfo> GetLogEntry(uint64_t index) = 0;
  // Decrypts entry `index` with the holder keys given (those that hold no share of it
  // are ignored). FailedPrecondition when fewer than the entry's threshold match or
  // when its shares were forgotten. With no holders configured at creation, pass no
  // keys: the ledger's own holder key is used.
  virtual Result<std::vector<LogOp>> DecryptLogEntry(uint64_t index,
                                                     std::span<const HolderKey* const> keys) = 0;
  // Destroys the key shares of log entries [first, last] (crypto-shredding): their
  // payloads can no longer be decrypted by anyone; the chain, the Merkle accumulator
  // and every proof still verify. Returns how many entries were forgotten now.
  virtual Result<uint64_t> Forget(uint64_t first, uint64_t last) = 0;
  // Changes who can decrypt the log entries written from now on: each later entry's
  // key is split `threshold`-of-n across `holders` (n distinct X25519 public keys,
  // 1 <= threshold <= n). Entries already written keep the share sets they have. An
  // empty `holders` makes the ledger its own holder again (threshold 1). Needs the
  // master key; InvalidArgument for a bad set, and then nothing changes.
  virtual Status SetLogKeyHolders(std::span<const HolderKey::PublicKey> holders, int threshold) = 0;

  // --- copies and durability
  // Makes a consistent copy of the ledger in directory `dir` (which must not exist):
  // every version committed before the call and none half-written, as one moment of
  // the ledger. The copy is a ledger directory of its own that opens with the same
  // master key (and needs no other file). Files are copied through the ledger's Env
  // (the Env seam has no hard links), so the copy costs the ledger's size in I/O; the
  // copy is synced before this returns. Safe while commits go on. AlreadyExists when
  // `dir` exists, FailedPrecondition on a closed ledger, IOError.
  virtual Status Checkpoint(const std::string& dir) = 0;
  // Makes every version committed so far durable (for ledgers written with
  // WriteOptions/Options sync = false): the write-ahead log is synced. IOError when
  // the sync failed.
  virtual Status SyncWrites() = 0;
};

}  // namespace vellum

#endif  // VELLUM_DB_H_
