// Copyright (c) Vellum authors.
//
// DurableLog: the Raft log in a RocksDB database of its own, mirrored in memory
// (durable_log.h; the format is docs/formats/raft-log-store.md).
//
// Thread safety: see durable_log.h (write_mu_ serializes writers, mu_ guards the
// mirror).

#include "raft/durable/durable_log.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include "raft/codec.h"
#include "raft/entry_auth.h"
#include "storage/rocksdb_env.h"
#include "vellum/check.h"

namespace vellum::raft {
namespace {

// --- Keys and values (docs/formats/raft-log-store.md) ---------------------------------

constexpr std::string_view kFormatKey = "v";
constexpr std::string_view kFormatValue = "vellum-raft-log-v1";
constexpr std::string_view kHardStateKey = "h";
constexpr std::string_view kConfStateKey = "c";
constexpr std::string_view kSnapshotKey = "s";
constexpr std::string_view kSnapshotDataKey = "d";
constexpr char kEntryPrefix = 'e';
constexpr size_t kEntryKeySize = 9;
// The first key past every entry key.
constexpr std::string_view kEntryKeysEnd = "f";

constexpr uint8_t kSnapshotMetadataVersion = 1;
constexpr uint8_t kSealVersion = 1;

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
rocksdb::Slice ToSlice(ByteView b) {
  return rocksdb::Slice(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string EntryKey(uint64_t index) {
  std::string key(kEntryKeySize, '\0');
  key[0] = kEntryPrefix;
  for (int i = 0; i < 8; ++i) key[8 - i] = static_cast<char>((index >> (8 * i)) & 0xff);
  return key;
}

// The first key past entry `index`'s.
std::string EntryKeyAfter(uint64_t index) {
  if (index == UINT64_MAX) return std::string(kEntryKeysEnd);
  return EntryKey(index + 1);
}

bool IsEntryKey(std::string_view key) {
  return key.size() == kEntryKeySize && key[0] == kEntryPrefix;
}

uint64_t EntryKeyIndex(std::string_view key) {
  return DecodeFixed64BE(reinterpret_cast<const uint8_t*>(key.data()) + 1);
}

// How a record's key appears in messages: e/<index> for an entry, the key itself for
// the one-letter records, hex for anything else.
// Bytes from disk as they appear in messages: quoted when printable ASCII (and short),
// hex otherwise.
std::string Printable(std::string_view bytes) {
  const bool printable = bytes.size() <= 64 && std::all_of(bytes.begin(), bytes.end(), [](char c) {
                           return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
                         });
  if (printable) return "\"" + std::string(bytes) + "\"";
  return "0x" + HexEncode(AsBytes(bytes));
}

// How a record's key appears in messages: e/<index> for an entry key, otherwise as
// Printable (the one-letter records appear as "h", "c", ...).
std::string KeyName(std::string_view key) {
  if (IsEntryKey(key)) return "e/" + std::to_string(EntryKeyIndex(key));
  return Printable(key);
}

void PutBlob(Bytes* out, ByteView b) {
  PutVarint64(out, b.size());
  out->insert(out->end(), b.begin(), b.end());
}

// The snapshot's metadata (its data is a record of its own).
Bytes EncodeSnapshotMetadata(const SnapshotMetadata& meta) {
  const Bytes conf = EncodeConfState(meta.conf_state);
  Bytes out;
  out.reserve(1 + 20 + conf.size() + meta.last_entry_hash.size() + 20);
  out.push_back(kSnapshotMetadataVersion);
  PutVarint64(&out, meta.index);
  PutVarint64(&out, meta.term);
  PutBlob(&out, conf);
  PutBlob(&out, meta.last_entry_hash);
  return out;
}

// Reads a blob from the front of `*in`; false if truncated.
bool GetBlob(ByteView* in, ByteView* blob) {
  uint64_t n = 0;
  if (!GetVarint64(in, &n) || n > in->size()) return false;
  *blob = in->first(static_cast<size_t>(n));
  *in = in->subspan(static_cast<size_t>(n));
  return true;
}

// Decodes untrusted bytes; the error says what is wrong (without the key).
Result<SnapshotMetadata> DecodeSnapshotMetadata(ByteView in) {
  if (in.empty()) return Status::Corruption("empty snapshot metadata");
  if (in[0] != kSnapshotMetadataVersion) {
    return Status::Corruption("snapshot metadata of unknown version " + std::to_string(in[0]));
  }
  in = in.subspan(1);
  SnapshotMetadata meta;
  ByteView conf, hash;
  if (!GetVarint64(&in, &meta.index) || !GetVarint64(&in, &meta.term) || !GetBlob(&in, &conf) ||
      !GetBlob(&in, &hash)) {
    return Status::Corruption("truncated snapshot metadata");
  }
  if (!in.empty()) return Status::Corruption("trailing bytes after the snapshot metadata");
  if (meta.index == 0) return Status::Corruption("a snapshot at index 0");
  auto conf_state = DecodeConfState(conf);
  if (!conf_state.ok()) return conf_state.status();
  meta.conf_state = std::move(conf_state).value();
  meta.last_entry_hash.assign(hash.begin(), hash.end());
  return meta;
}

// --- Checks shared by Open (disk contents) and the writes (caller input) ---------------

// The hash entry `index`'s seal must link to when the entry before it is the
// placeholder of `snapshot` (index == snapshot.index + 1); empty when unknown (a
// snapshot without a last entry hash), which skips the check.
Bytes HashBeforeFirst(const Snapshot& snapshot) {
  if (snapshot.empty()) return GenesisEntryHash();
  return snapshot.metadata.last_entry_hash;
}

// Whether `e` may follow `prev` (the entry before it, or the snapshot's placeholder
// whose hash is `prev_hash`, given when known): index + 1, a term no lower, and a seal
// (when `e` carries one) whose previous-entry hash is `prev_hash`. Empty when it may,
// otherwise what is wrong.
std::string CheckFollows(const Entry& prev, ByteView prev_hash, const Entry& e) {
  if (e.index != prev.index + 1) {
    return "entry " + std::to_string(e.index) + " follows entry " + std::to_string(prev.index) +
           " (a gap: the log must be contiguous)";
  }
  if (e.term < prev.term) {
    return "entry " + std::to_string(e.index) + " has term " + std::to_string(e.term) +
           ", below the term " + std::to_string(prev.term) + " of entry " +
           std::to_string(prev.index) + " (terms must never decrease)";
  }
  if (!e.seal.empty()) {
    if (e.seal[0] != kSealVersion) {
      return "entry " + std::to_string(e.index) + " has a seal of unknown version " +
             std::to_string(e.seal[0]);
    }
    if (e.seal.size() < 1 + kEntryHashSize) {
      return "entry " + std::to_string(e.index) + " has a truncated seal";
    }
    if (!prev_hash.empty() && !std::equal(prev_hash.begin(), prev_hash.end(), e.seal.begin() + 1,
                                          e.seal.begin() + 1 + kEntryHashSize)) {
      return "entry " + std::to_string(e.index) + "'s seal does not chain to entry " +
             std::to_string(prev.index) +
             " (its previous-entry hash is not that entry's EntryHash)";
    }
  }
  return {};
}

// OK when `conf_state` reads back as written (ids sorted, unique and disjoint).
Status CheckConfState(const ConfState& conf_state, const char* what) {
  auto decoded = DecodeConfState(EncodeConfState(conf_state));
  if (!decoded.ok() || *decoded != conf_state) {
    return Status::InvalidArgument(
        std::string(what) + ": membership ids must be sorted, unique, non-zero and disjoint");
  }
  return Status::OK();
}

bool IsRocksCreationLeftover(const std::string& name) {
  return name == "." || name == ".." || name == "LOCK" || name == "IDENTITY" ||
         name.starts_with("LOG") || name.starts_with("MANIFEST-") || name.starts_with("OPTIONS-") ||
         name.ends_with(".log") || name.ends_with(".dbtmp");
}

}  // namespace

// --- The RocksDB database ---------------------------------------------------------------

class DurableLog::Rocks {
 public:
  Rocks(std::unique_ptr<rocksdb::Env> env, rocksdb::DB* db) : env_(std::move(env)), db_(db) {}
  ~Rocks() {
    db_->Close().PermitUncheckedError();  // nothing to do about it; reopening recovers
    delete db_;
    env_.reset();  // only now: the database used it until deleted
  }
  Rocks(const Rocks&) = delete;
  Rocks& operator=(const Rocks&) = delete;

  rocksdb::DB* db() const { return db_; }

 private:
  std::unique_ptr<rocksdb::Env> env_;
  rocksdb::DB* db_;
};

// --- Open -----------------------------------------------------------------------------

Result<std::unique_ptr<DurableLog>> DurableLog::Open(const std::string& dir,
                                                     const DurableLogOptions& options) {
  if (dir.empty()) return Status::InvalidArgument("the raft log directory path is empty");
  Env* env = options.env != nullptr ? options.env : Env::Default();
  const std::string name = "raft log " + dir;
  auto corrupt = [&name](std::string_view key, const std::string& what) {
    return Status::Corruption(name + ": record " + KeyName(key) + ": " + what);
  };

  std::unique_ptr<rocksdb::Env> rocks_env = storage::NewRocksEnvOnVellumEnv(env);
  rocksdb::Options rocks_options;
  rocks_options.env = rocks_env.get();
  rocks_options.paranoid_checks = true;
  // After a power loss the database holds the state after some prefix of the writes:
  // replay stops at the first record that is missing or damaged (an unsynced tail),
  // never skipping one to apply a later one. Synced writes are never in that tail.
  rocks_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  rocks_options.max_background_jobs = 2;
  rocks_options.keep_log_file_num = 2;
  rocks_options.max_log_file_size = 1 << 20;
  rocks_options.write_buffer_size = std::max<size_t>(options.write_buffer_bytes, 64 << 10);
  // Entries may be ciphertexts; they do not compress.
  rocks_options.compression = rocksdb::kNoCompression;
  rocks_options.bottommost_compression = rocksdb::kDisableCompressionOption;
  rocksdb::BlockBasedTableOptions table;
  // The log is read once, at Open, by one sequential scan.
  table.block_cache = rocksdb::NewLRUCache(1 << 20);
  rocks_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  const bool exists = env->FileExists(dir + "/CURRENT").ok();
  if (!exists) {
    if (!options.create_if_missing) {
      return Status::NotFound("no raft log in " + dir + " (and create_if_missing is off)");
    }
    std::vector<std::string> children;
    if (env->GetChildren(dir, &children).ok()) {
      for (const auto& child : children) {
        if (!IsRocksCreationLeftover(child)) {
          return Status::FailedPrecondition(dir +
                                            " is not empty and holds no raft log; refusing to "
                                            "create one there");
        }
      }
    }
    VELLUM_RETURN_IF_ERROR(env->CreateDirIfMissing(dir));
    rocks_options.create_if_missing = true;
  } else {
    std::vector<std::string> families;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocks_options, dir, &families);
    if (s.IsCorruption()) {
      return Status::Corruption(name + ": the database cannot be read (" + s.ToString() + ")");
    }
    if (!s.ok()) return storage::FromRocksStatus(s, "reading " + name);
    if (families.size() != 1 || families[0] != rocksdb::kDefaultColumnFamilyName) {
      return Status::FailedPrecondition(dir +
                                        " holds a RocksDB database that is not a Vellum raft log "
                                        "(it has other column families)");
    }
  }

  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocks_options, dir, &raw_db);
  if (!s.ok()) {
    // Another open of the directory holds RocksDB's LOCK file (an IOError or, within
    // this process, Busy).
    if ((s.IsIOError() || s.IsBusy()) && s.ToString().find("LOCK") != std::string::npos) {
      return Status::Unavailable(name +
                                 " is already open: another process (or another open in this "
                                 "one) holds its lock");
    }
    if (s.IsCorruption()) {
      return Status::Corruption(name + ": the database cannot be opened (" + s.ToString() + ")");
    }
    return storage::FromRocksStatus(s, "opening " + name);
  }
  auto rocks = std::make_unique<Rocks>(std::move(rocks_env), raw_db);
  rocksdb::DB* db = rocks->db();

  // The single records first, in dependency order; then one scan over everything,
  // checking the entries as they stream by (they are the bulk of the log).
  rocksdb::ReadOptions read_options;
  read_options.verify_checksums = true;
  read_options.fill_cache = false;
  auto read_error = [&name](const rocksdb::Status& status) {
    if (status.IsCorruption()) {
      return Status::Corruption(name + ": reading the database: " + status.ToString());
    }
    return storage::FromRocksStatus(status, "reading " + name);
  };
  auto get = [&](std::string_view key, std::optional<std::string>* value) -> Status {
    std::string v;
    const rocksdb::Status got = db->Get(read_options, ToSlice(key), &v);
    if (got.IsNotFound()) return Status::OK();
    if (!got.ok()) return read_error(got);
    *value = std::move(v);
    return Status::OK();
  };

  std::optional<std::string> format;
  VELLUM_RETURN_IF_ERROR(get(kFormatKey, &format));
  if (!format) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read_options));
    bool any_record = false;
    std::optional<std::string> unknown_key;
    for (it->SeekToFirst(); it->Valid() && !unknown_key; it->Next()) {
      any_record = true;
      const std::string_view key(it->key().data(), it->key().size());
      if (!IsEntryKey(key) && key != kHardStateKey && key != kConfStateKey && key != kSnapshotKey &&
          key != kSnapshotDataKey) {
        unknown_key = std::string(key);
      }
    }
    if (!it->status().ok()) return read_error(it->status());
    if (unknown_key) {
      return Status::FailedPrecondition(dir +
                                        " holds a RocksDB database that is not a Vellum raft log "
                                        "(no format record, and keys such as " +
                                        KeyName(*unknown_key) + ")");
    }
    if (any_record) return corrupt(kFormatKey, "the format record is missing (the log is damaged)");
    // A new log (or a creation that never wrote its format record).
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    s = db->Put(write_options, ToSlice(kFormatKey), ToSlice(kFormatValue));
    if (!s.ok()) return storage::FromRocksStatus(s, "creating " + name);
    State state;
    state.entries.resize(1);
    return std::unique_ptr<DurableLog>(new DurableLog(dir, std::move(rocks), std::move(state)));
  }
  if (*format != kFormatValue) {
    return corrupt(kFormatKey, "the format record is " + Printable(*format) + ", not \"" +
                                   std::string(kFormatValue) + "\"");
  }

  State state;
  std::optional<std::string> value;
  VELLUM_RETURN_IF_ERROR(get(kHardStateKey, &value));
  if (value) {
    auto hard_state = DecodeHardState(AsBytes(*value));
    if (!hard_state.ok()) {
      return corrupt(kHardStateKey,
                     "the hard state does not decode (" + hard_state.status().message() + ")");
    }
    state.hard_state = *hard_state;
  }
  value.reset();
  VELLUM_RETURN_IF_ERROR(get(kConfStateKey, &value));
  if (value) {
    auto conf_state = DecodeConfState(AsBytes(*value));
    if (!conf_state.ok()) {
      return corrupt(kConfStateKey,
                     "the conf state does not decode (" + conf_state.status().message() + ")");
    }
    state.conf_state = std::move(conf_state).value();
  }
  value.reset();
  std::optional<std::string> snapshot_data;
  VELLUM_RETURN_IF_ERROR(get(kSnapshotKey, &value));
  VELLUM_RETURN_IF_ERROR(get(kSnapshotDataKey, &snapshot_data));
  if (value.has_value() != snapshot_data.has_value()) {
    return value ? corrupt(kSnapshotDataKey, "missing, but a snapshot is recorded")
                 : corrupt(kSnapshotDataKey, "present, but no snapshot is recorded");
  }
  if (value) {
    auto meta = DecodeSnapshotMetadata(AsBytes(*value));
    if (!meta.ok()) {
      return corrupt(kSnapshotKey,
                     "the snapshot metadata does not decode (" + meta.status().message() + ")");
    }
    state.snapshot.metadata = std::move(meta).value();
    state.snapshot.data.assign(snapshot_data->begin(), snapshot_data->end());
  }
  snapshot_data.reset();
  state.entries.push_back(Entry{
      state.snapshot.metadata.term, state.snapshot.metadata.index, EntryType::kNormal, {}, {}});

  Bytes prev_hash = HashBeforeFirst(state.snapshot);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read_options));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (key == kFormatKey || key == kHardStateKey || key == kConfStateKey || key == kSnapshotKey ||
        key == kSnapshotDataKey) {
      continue;
    }
    if (!key.starts_with(kEntryPrefix)) return corrupt(key, "a record of no known kind");
    if (!IsEntryKey(key)) return corrupt(key, "an entry key that is not 'e' + 8 bytes");
    const uint64_t index = EntryKeyIndex(key);
    auto entry = DecodeEntry(
        ByteView(reinterpret_cast<const uint8_t*>(it->value().data()), it->value().size()));
    if (!entry.ok()) {
      return corrupt(key, "the entry does not decode (" + entry.status().message() + ")");
    }
    if (entry->index != index) {
      return corrupt(key, "holds entry " + std::to_string(entry->index) + ", not entry " +
                              std::to_string(index));
    }
    const Entry& prev = state.entries.back();
    if (state.entries.size() == 1 && index <= prev.index) {
      return corrupt(key, "an entry at or before the snapshot's index " +
                              std::to_string(prev.index) + " (compaction left it behind)");
    }
    if (!entry->seal.empty() && state.entries.size() > 1) prev_hash = EntryHash(prev);
    const std::string problem = CheckFollows(prev, prev_hash, *entry);
    if (!problem.empty()) return corrupt(key, problem);
    state.entries.push_back(std::move(entry).value());
  }
  if (!it->status().ok()) return read_error(it->status());
  it.reset();
  const uint64_t last_index = state.entries.back().index;
  if (state.hard_state.commit > last_index) {
    return corrupt(kHardStateKey, "the commit index " + std::to_string(state.hard_state.commit) +
                                      " is past the last index " + std::to_string(last_index));
  }
  return std::unique_ptr<DurableLog>(new DurableLog(dir, std::move(rocks), std::move(state)));
}

DurableLog::DurableLog(std::string dir, std::unique_ptr<Rocks> rocks, State state)
    : dir_(std::move(dir)), rocks_(std::move(rocks)), state_(std::move(state)) {}

DurableLog::~DurableLog() = default;

// --- Reads (as MemoryStorage) ---------------------------------------------------------

Storage::InitialState DurableLog::GetInitialState() const {
  std::lock_guard lock(mu_);
  return {state_.hard_state, state_.conf_state};
}

Result<std::vector<Entry>> DurableLog::Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  std::lock_guard lock(mu_);
  const std::vector<Entry>& entries = state_.entries;
  const uint64_t offset = entries.front().index;
  if (lo <= offset) {
    return Status::NotFound("raft log entry " + std::to_string(lo) + " was compacted");
  }
  VELLUM_CHECK_MSG(hi <= entries.back().index + 1, "raft storage asked for entries past its end");
  std::vector<Entry> out;
  uint64_t size_bytes = 0;
  for (uint64_t i = lo; i < hi; ++i) {
    const Entry& e = entries[i - offset];
    if (!out.empty() && size_bytes + e.data.size() > max_bytes) break;
    size_bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

Result<uint64_t> DurableLog::Term(uint64_t index) const {
  std::lock_guard lock(mu_);
  const std::vector<Entry>& entries = state_.entries;
  const uint64_t offset = entries.front().index;
  if (index < offset) {
    return Status::NotFound("raft log entry " + std::to_string(index) + " was compacted");
  }
  if (index > entries.back().index) {
    return Status::Unavailable("raft log entry " + std::to_string(index) + " is not stored yet");
  }
  return entries[index - offset].term;
}

uint64_t DurableLog::FirstIndex() const {
  std::lock_guard lock(mu_);
  return state_.entries.front().index + 1;
}

uint64_t DurableLog::LastIndex() const {
  std::lock_guard lock(mu_);
  return state_.entries.back().index;
}

Result<Snapshot> DurableLog::GetSnapshot() const {
  std::lock_guard lock(mu_);
  return state_.snapshot;
}

// --- Writes ---------------------------------------------------------------------------

Status DurableLog::Write(rocksdb::WriteBatch* batch, bool sync, const char* what) {
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  const rocksdb::Status s = rocks_->db()->Write(write_options, batch);
  if (s.ok()) return Status::OK();
  // The write may or may not have reached the disk, so the mirror can no longer be
  // trusted to match it; only a reopen tells.
  write_error_ = Status::IOError("raft log " + dir_ + ": " + what + " failed (" + s.ToString() +
                                 "); the log accepts no more writes: reopen it");
  return write_error_;
}

Status DurableLog::Persist(const std::optional<HardState>& hard_state,
                           const std::vector<Entry>& entries, const Snapshot& snapshot, bool sync) {
  std::lock_guard write_lock(write_mu_);
  VELLUM_RETURN_IF_ERROR(write_error_);
  // Writers are serialized by write_mu_, so state_ is stable here without mu_.
  const State& cur = state_;
  const bool new_snapshot = !snapshot.empty();
  if (new_snapshot) {
    if (snapshot.metadata.index <= cur.snapshot.metadata.index) {
      return Status::FailedPrecondition("snapshot at " + std::to_string(snapshot.metadata.index) +
                                        " is not newer than the one held at " +
                                        std::to_string(cur.snapshot.metadata.index));
    }
    VELLUM_RETURN_IF_ERROR(CheckConfState(snapshot.metadata.conf_state, "the snapshot"));
  }
  // The log the entries go onto: the snapshot's placeholder alone, or the current log.
  const Snapshot& base_snapshot = new_snapshot ? snapshot : cur.snapshot;
  const Entry placeholder{
      base_snapshot.metadata.term, base_snapshot.metadata.index, EntryType::kNormal, {}, {}};
  const uint64_t offset = placeholder.index;
  const uint64_t base_last = new_snapshot ? offset : cur.entries.back().index;

  // Entries at or before the snapshot's index are already covered by it.
  size_t skip = 0;
  while (skip < entries.size() && entries[skip].index <= offset) ++skip;
  const size_t count = entries.size() - skip;
  uint64_t start = 0;
  std::vector<Bytes> encoded;
  if (count > 0) {
    start = entries[skip].index;
    if (start > base_last + 1) {
      return Status::InvalidArgument("a gap in the raft log: entries from " +
                                     std::to_string(start) + " after the last index " +
                                     std::to_string(base_last));
    }
    const Entry& before = start - 1 == offset ? placeholder : cur.entries[start - 1 - offset];
    Bytes prev_hash = start - 1 == offset ? HashBeforeFirst(base_snapshot) : Bytes();
    const Entry* prev = &before;
    encoded.reserve(count);
    for (size_t i = skip; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      if (!e.seal.empty() && prev_hash.empty() && prev != &placeholder)
        prev_hash = EntryHash(*prev);
      const std::string problem = CheckFollows(*prev, prev_hash, e);
      if (!problem.empty()) return Status::InvalidArgument("refusing to persist: " + problem);
      Bytes bytes = EncodeEntry(e);
      if (!DecodeEntry(bytes).ok()) {
        return Status::InvalidArgument("refusing to persist entry " + std::to_string(e.index) +
                                       ": it does not encode to a readable entry");
      }
      encoded.push_back(std::move(bytes));
      prev = &e;
      prev_hash.clear();
    }
  }
  const uint64_t new_last = count > 0 ? entries.back().index : base_last;
  const uint64_t commit = hard_state ? hard_state->commit : cur.hard_state.commit;
  if (commit > new_last) {
    return Status::InvalidArgument("refusing to persist: the commit index " +
                                   std::to_string(commit) + " would be past the last index " +
                                   std::to_string(new_last));
  }
  if (!new_snapshot && count == 0 && !hard_state) return Status::OK();

  rocksdb::WriteBatch batch;
  if (new_snapshot) {
    // The snapshot replaces the whole log.
    VELLUM_CHECK(batch.DeleteRange(ToSlice(EntryKey(0)), ToSlice(kEntryKeysEnd)).ok());
    VELLUM_CHECK(
        batch.Put(ToSlice(kSnapshotKey), ToSlice(EncodeSnapshotMetadata(snapshot.metadata))).ok());
    VELLUM_CHECK(batch.Put(ToSlice(kSnapshotDataKey), ToSlice(snapshot.data)).ok());
    VELLUM_CHECK(
        batch.Put(ToSlice(kConfStateKey), ToSlice(EncodeConfState(snapshot.metadata.conf_state)))
            .ok());
  }
  if (count > 0) {
    // Truncate the conflicting suffix, then append.
    if (start <= base_last) {
      VELLUM_CHECK(batch.DeleteRange(ToSlice(EntryKey(start)), ToSlice(kEntryKeysEnd)).ok());
    }
    for (size_t i = 0; i < count; ++i) {
      VELLUM_CHECK(batch.Put(ToSlice(EntryKey(entries[skip + i].index)), ToSlice(encoded[i])).ok());
    }
  }
  if (hard_state) {
    VELLUM_CHECK(batch.Put(ToSlice(kHardStateKey), ToSlice(EncodeHardState(*hard_state))).ok());
  }
  VELLUM_RETURN_IF_ERROR(Write(&batch, sync, "persisting a Ready"));

  std::lock_guard lock(mu_);
  if (new_snapshot) {
    state_.snapshot = snapshot;
    state_.conf_state = snapshot.metadata.conf_state;
    state_.entries.assign(1, placeholder);
  }
  if (count > 0) {
    state_.entries.resize(start - offset);
    state_.entries.insert(state_.entries.end(), entries.begin() + static_cast<ptrdiff_t>(skip),
                          entries.end());
  }
  if (hard_state) state_.hard_state = *hard_state;
  return Status::OK();
}

Status DurableLog::SetConfState(const ConfState& conf_state) {
  std::lock_guard write_lock(write_mu_);
  VELLUM_RETURN_IF_ERROR(write_error_);
  VELLUM_RETURN_IF_ERROR(CheckConfState(conf_state, "SetConfState"));
  rocksdb::WriteBatch batch;
  VELLUM_CHECK(batch.Put(ToSlice(kConfStateKey), ToSlice(EncodeConfState(conf_state))).ok());
  VELLUM_RETURN_IF_ERROR(Write(&batch, /*sync=*/true, "persisting the conf state"));
  std::lock_guard lock(mu_);
  state_.conf_state = conf_state;
  return Status::OK();
}

Status DurableLog::CreateSnapshotAndCompact(uint64_t index, const ConfState& conf_state,
                                            Bytes data) {
  std::lock_guard write_lock(write_mu_);
  VELLUM_RETURN_IF_ERROR(write_error_);
  const State& cur = state_;
  if (index <= cur.snapshot.metadata.index) {
    return Status::FailedPrecondition("a snapshot at " + std::to_string(index) +
                                      " would not be newer than the one held at " +
                                      std::to_string(cur.snapshot.metadata.index));
  }
  const uint64_t offset = cur.entries.front().index;
  if (index > cur.entries.back().index) {
    return Status::InvalidArgument("a snapshot at " + std::to_string(index) +
                                   " is past the last index " +
                                   std::to_string(cur.entries.back().index));
  }
  VELLUM_RETURN_IF_ERROR(CheckConfState(conf_state, "the snapshot"));
  const Entry& last_covered = cur.entries[index - offset];
  Snapshot snapshot;
  snapshot.metadata.index = index;
  snapshot.metadata.term = last_covered.term;
  snapshot.metadata.conf_state = conf_state;
  snapshot.metadata.last_entry_hash = EntryHash(last_covered);
  snapshot.data = std::move(data);

  rocksdb::WriteBatch batch;
  VELLUM_CHECK(
      batch.Put(ToSlice(kSnapshotKey), ToSlice(EncodeSnapshotMetadata(snapshot.metadata))).ok());
  VELLUM_CHECK(batch.Put(ToSlice(kSnapshotDataKey), ToSlice(snapshot.data)).ok());
  VELLUM_CHECK(batch.DeleteRange(ToSlice(EntryKey(0)), ToSlice(EntryKeyAfter(index))).ok());
  VELLUM_RETURN_IF_ERROR(Write(&batch, /*sync=*/true, "recording a snapshot"));

  // Compact the mirror outside mu_ first, then swap it in.
  std::vector<Entry> kept;
  kept.reserve(cur.entries.size() - (index - offset));
  kept.push_back(Entry{last_covered.term, index, EntryType::kNormal, {}, {}});
  kept.insert(kept.end(), cur.entries.begin() + static_cast<ptrdiff_t>(index - offset + 1),
              cur.entries.end());
  std::lock_guard lock(mu_);
  state_.snapshot = std::move(snapshot);
  state_.entries = std::move(kept);
  return Status::OK();
}

}  // namespace vellum::raft
