// Copyright (c) Vellum authors.
//
// Opening a ledger and the commit pipeline (see ledger_impl.h).

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>

#include "crypto/aead.h"
#include "crypto/random.h"
#include "db/key_impl.h"
#include "db/ledger_impl.h"
#include "db/logchain/write_set.h"
#include "storage/rocksdb_env.h"
#include "vellum/check.h"

namespace vellum::db {
namespace {

constexpr const char* kFamilyNames[kFamilyCount] = {
    "default",           format::kMetaFamily,   format::kLogFamily,    format::kTrieFamily,
    format::kKeysFamily, format::kValuesFamily, format::kHistoryFamily};

// A group commits at most this many operations (later writers wait for the next one).
constexpr size_t kMaxGroupOps = 100'000;
// How long a leader waits for the writers of the previous group to queue again. A few
// scheduling delays: long enough for a thread that commits in a loop to come back,
// short beside a sync (hundreds of microseconds), and paid only when fewer writers
// are queued than were active at the last commit.
constexpr auto kGroupJoinWait = std::chrono::microseconds(200);
// Writers with at least this many operations hash and encrypt them on the hash
// threads.
constexpr size_t kParallelSealMinOps = 256;
// Prune at most once per this many versions.
constexpr uint64_t kPruneEvery = 16;

// The files RocksDB writes while creating a database, before CURRENT exists: a
// directory holding only these is an interrupted creation and may be created over.
bool IsRocksCreationLeftover(const std::string& name) {
  return name == "." || name == ".." || name == "LOCK" || name == "IDENTITY" ||
         name.starts_with("LOG") || name.starts_with("MANIFEST-") || name.starts_with("OPTIONS-") ||
         name.ends_with(".log") || name.ends_with(".dbtmp");
}

rocksdb::ColumnFamilyOptions DataFamilyOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  // Ciphertexts and hashes do not compress; compressing them only costs CPU.
  cf.compression = rocksdb::kNoCompression;
  // A commit adds its keys, values and history records to each family as one sorted
  // run (ledger.cc sorts them), so each insert is a short step from the one before:
  // with an insert hint the memtable's skiplist starts from there instead of from its
  // head. Any prefix is correct; a 1-byte one keeps a single hint per family.
  cf.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(1));
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Index and filter blocks stay in the table readers (RocksDB's default) rather than
  // compete for the block cache: every read of a key or value probes them.
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

}  // namespace

// The keyed hashes and ciphertexts of one put or delete (a delete needs only the key
// hash).
struct LedgerImpl::OpCrypto {
  Status status;
  crypto::Hash256 key_hash{};
  crypto::Hash256 value_hash{};
  Bytes sealed_key;
  Bytes sealed_value;
};

LedgerImpl::OpCrypto LedgerImpl::SealOp(const TableKeys& keys, uint64_t table_id,
                                        const WriteBatch::Op& op) {
  OpCrypto c;
  c.key_hash = keys.key_hash.Hash(AsBytes(op.key));
  if (op.kind != WriteBatch::OpKind::kPut) return c;
  c.value_hash = keys.value_hash.Hash(AsBytes(op.value));
  Bytes key_ad = format::KeyAd(table_id, c.key_hash);
  ByteView key_ads[] = {key_ad};
  auto sealed_key = keys.key_siv.Seal(AsBytes(op.key), key_ads);
  Bytes value_ad = format::ValueAd(table_id, c.value_hash);
  ByteView value_ads[] = {value_ad};
  auto sealed_value = keys.value_siv.Seal(AsBytes(op.value), value_ads);
  if (!sealed_key.ok() || !sealed_value.ok()) {
    c.status = !sealed_key.ok() ? sealed_key.status() : sealed_value.status();
    return c;
  }
  c.sealed_key = std::move(sealed_key).value();
  c.sealed_value = std::move(sealed_value).value();
  return c;
}

std::vector<LedgerImpl::OpCrypto> LedgerImpl::SealOpsInParallel(
    const std::map<std::string, TableState, std::less<>>& tables,
    const std::vector<WriteBatch::Op>& ops) {
  std::vector<OpCrypto> results(ops.size());
  const size_t chunks = static_cast<size_t>(options_.hash_threads);
  std::vector<std::function<void()>> tasks;
  for (size_t chunk = 0; chunk < chunks; ++chunk) {
    tasks.emplace_back([&, chunk] {
      for (size_t i = chunk; i < ops.size(); i += chunks) {
        const TableState& table = tables.find(ops[i].table)->second;
        auto keys = keys_->ForTable(table.id);
        if (!keys.ok()) {
          results[i].status = keys.status();
          continue;
        }
        results[i] = SealOp(**keys, table.id, ops[i]);
      }
    });
  }
  task_runner_->RunAll(tasks);
  return results;
}

struct LedgerImpl::Writer {
  const std::vector<WriteBatch::Op>* ops = nullptr;
  const ReadSet* reads = nullptr;
  bool sync = false;
  // Two-phase writers lead a turn of their own: `prepare` keeps the prepared version
  // in `prepared` instead of writing it; `to_write` is one to write.
  bool prepare = false;
  std::unique_ptr<PreparedCommit> prepared;
  PreparedCommit* to_write = nullptr;
  bool done = false;
  Status status;
  CommitInfo info;
  std::condition_variable cv;

  bool alone() const { return prepare || to_write != nullptr; }
};

// A version prepared and not yet written (steps 1-5 of CommitGroup).
struct LedgerImpl::PreparedCommit {
  std::shared_ptr<const State> base;  // the state it was built on
  logchain::KeyHolders holders;       // its log entry key's holders
  rocksdb::WriteBatch batch;
  std::vector<std::pair<trie::Trie*, trie::Trie::Prepared>> tries;
  trie::Trie::Prepared top;
  std::shared_ptr<State> next;
  CommitInfo info;
};

class LedgerImpl::PreparedWriteImpl final : public PreparedWrite {
 public:
  PreparedWriteImpl(const LedgerImpl* owner, std::unique_ptr<PreparedCommit> commit,
                    const CommitInfo& info)
      : owner_(owner), commit_(std::move(commit)), info_(info) {}
  const CommitInfo& info() const override { return info_; }

  const LedgerImpl* owner() const { return owner_; }
  // nullptr: the batch changed nothing (info() is the version it was prepared on).
  PreparedCommit* commit() { return commit_.get(); }

 private:
  const LedgerImpl* const owner_;
  std::unique_ptr<PreparedCommit> commit_;
  const CommitInfo info_;
};

LedgerImpl::LedgerImpl(const Options& options, std::string path)
    : options_(options),
      path_(std::move(path)),
      env_(options.env != nullptr ? options.env : Env::Default()) {}

LedgerImpl::~LedgerImpl() { Close().IgnoreError(); }

Status LedgerImpl::RocksStatus(const rocksdb::Status& status, std::string_view what) const {
  return storage::FromRocksStatus(status, std::string(what) + " (ledger " + path_ + ")");
}

Status LedgerImpl::RequireKeys(std::string_view operation) const {
  if (keys_ != nullptr) return Status::OK();
  return Status::FailedPrecondition(std::string(operation) +
                                    " needs the ledger's master key (opened without one)");
}

std::shared_ptr<const LedgerImpl::State> LedgerImpl::CurrentState() const {
  std::lock_guard lock(state_mu_);
  return state_;
}

logchain::KeyHolders LedgerImpl::Holders() const {
  logchain::KeyHolders holders;
  std::lock_guard lock(config_mu_);
  if (config_.holders.empty()) {
    holders.holders.push_back(keys_->own_holder_key().public_key());
    holders.threshold = 1;
  } else {
    holders.holders = config_.holders;
    holders.threshold = config_.threshold;
  }
  return holders;
}

// --- Open -------------------------------------------------------------------------

Status LedgerImpl::Open(const Options& options, const std::string& path, std::unique_ptr<DB>* db) {
  db->reset();
  if (path.empty()) return Status::InvalidArgument("the ledger directory path is empty");
  if (options.max_key_size == 0 || options.max_key_size > logchain::kMaxKeySize) {
    return Status::InvalidArgument("max_key_size must be 1.." +
                                   std::to_string(logchain::kMaxKeySize));
  }
  if (options.max_value_size > logchain::kMaxValueSize) {
    return Status::InvalidArgument("max_value_size must be at most " +
                                   std::to_string(logchain::kMaxValueSize));
  }
  if (options.hash_threads < 1) return Status::InvalidArgument("hash_threads must be >= 1");
  if (!options.ledger_id.empty() && options.ledger_id.size() != format::kLedgerIdSize) {
    return Status::InvalidArgument("ledger_id must be " + std::to_string(format::kLedgerIdSize) +
                                   " bytes (or empty for a random one)");
  }

  std::unique_ptr<LedgerImpl> impl(new LedgerImpl(options, path));
  Env* env = impl->env_;

  // The master key first: a missing key file should fail before anything is created.
  std::optional<MasterKey> master;
  if (options.master_key_provider) {
    VELLUM_ASSIGN_OR_RETURN(master, options.master_key_provider());
  } else if (!options.key_file.empty()) {
    auto key = MasterKey::ReadFile(options.key_file);
    if (!key.ok()) return key.status();
    master.emplace(std::move(key).value());
  }

  bool exists = env->FileExists(path + "/CURRENT").ok();
  if (exists && options.error_if_exists) {
    return Status::AlreadyExists("a ledger already exists in " + path);
  }
  bool initialize = !exists;
  if (exists) {
    // Everything is checked on a read-only open first: RocksDB's read-write open may
    // rewrite files (flush the WAL, write a new MANIFEST, delete files a damaged
    // MANIFEST no longer lists), and nothing may change unless the directory holds a
    // sound ledger that this key opens.
    VELLUM_ASSIGN_OR_RETURN(bool is_ledger, impl->Precheck(master ? &*master : nullptr));
    if (!is_ledger) {
      if (!options.create_if_missing || !master) {
        return Status::InvalidArgument(path +
                                       " holds an empty database, not a ledger (a creation "
                                       "that never finished?); create it again to finish");
      }
      initialize = true;
    }
  } else {
    if (!options.create_if_missing) {
      return Status::NotFound("no ledger in " + path +
                              " (create one with `vellum-db init` or Options::create_if_missing)");
    }
    std::vector<std::string> children;
    if (env->GetChildren(path, &children).ok()) {
      for (const auto& child : children) {
        if (!IsRocksCreationLeftover(child)) {
          return Status::InvalidArgument(path +
                                         " is not empty and holds no ledger; refusing to create "
                                         "one there");
        }
      }
    }
  }
  if (initialize) {
    if (!master) return Status::InvalidArgument("creating a ledger needs a master key");
    if (!options.log_key_holders.empty()) {
      logchain::KeyHolders holders{options.log_key_holders, options.log_threshold};
      VELLUM_RETURN_IF_ERROR(logchain::ValidateKeyHolders(holders));
    } else if (options.log_threshold != 1) {
      return Status::InvalidArgument("log_threshold must be 1 when the ledger is its own holder");
    }
    VELLUM_RETURN_IF_ERROR(env->CreateDirIfMissing(path));
  }
  VELLUM_RETURN_IF_ERROR(impl->OpenRocks(/*creating=*/initialize, /*read_only=*/false));
  if (initialize) VELLUM_RETURN_IF_ERROR(impl->Initialize(&*master));
  VELLUM_RETURN_IF_ERROR(impl->Load(master ? &*master : nullptr));
  *db = std::move(impl);
  return Status::OK();
}

rocksdb::DBOptions LedgerImpl::RocksOptions() {
  rocksdb::DBOptions db_options;
  if (!rocks_env_) rocks_env_ = storage::NewRocksEnvOnVellumEnv(env_);
  db_options.env = rocks_env_.get();
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 2;
  // Whole-database atomicity across column families needs the WAL on every write
  // (we never disable it) and atomic flushes.
  db_options.atomic_flush = true;
  // A torn last record (a crash mid-write) is dropped; a damaged record anywhere else
  // is Corruption rather than the silent rollback of point-in-time recovery.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  return db_options;
}

Result<bool> LedgerImpl::Precheck(const MasterKey* master) {
  rocksdb::DBOptions db_options = RocksOptions();
  std::vector<std::string> families;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, path_, &families);
  if (!s.ok()) {
    return Status::Corruption("ledger " + path_ + ": the database cannot be read (" + s.ToString() +
                              ")");
  }
  std::set<std::string> expected(std::begin(kFamilyNames), std::end(kFamilyNames));
  for (const auto& family : families) {
    if (!expected.contains(family)) {
      return Status::InvalidArgument(path_ +
                                     " is a RocksDB database but not a ledger (unknown column "
                                     "family)");
    }
  }
  // Open read-only with the families there are, and see whether any holds data.
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& family : families) {
    descriptors.emplace_back(family, rocksdb::ColumnFamilyOptions());
  }
  rocksdb::DB* ro = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  s = rocksdb::DB::OpenForReadOnly(db_options, path_, descriptors, &handles, &ro);
  if (!s.ok()) {
    return Status::Corruption("ledger " + path_ + ": the database cannot be opened (" +
                              s.ToString() + ")");
  }
  bool has_format = false, empty = true;
  for (size_t i = 0; i < handles.size(); ++i) {
    std::unique_ptr<rocksdb::Iterator> it(ro->NewIterator(rocksdb::ReadOptions(), handles[i]));
    it->SeekToFirst();
    if (it->Valid()) empty = false;
    if (families[i] == format::kMetaFamily) {
      std::string record;
      has_format = ro->Get(rocksdb::ReadOptions(), handles[i], format::kFormatKey, &record).ok();
    }
  }
  for (auto* handle : handles) ro->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  delete ro;
  if (empty) {
    // What an interrupted creation leaves — unless table files exist, which only a
    // database that held data has: then the MANIFEST that listed them is damaged.
    std::vector<std::string> children;
    VELLUM_RETURN_IF_ERROR(env_->GetChildren(path_, &children));
    for (const auto& child : children) {
      if (child.ends_with(".sst")) {
        return Status::Corruption("ledger " + path_ +
                                  ": the database lists no data but its directory holds table "
                                  "files (a damaged MANIFEST?)");
      }
    }
    return false;
  }
  if (!has_format) {
    if (families.size() != expected.size()) {
      return Status::InvalidArgument(path_ + " is a RocksDB database but not a ledger");
    }
    return Status::Corruption("ledger " + path_ + ": its format record is missing (damaged)");
  }
  if (families.size() != expected.size()) {
    return Status::Corruption("ledger " + path_ + ": column families are missing (damaged)");
  }
  // The whole of Load, read-only; then let go of it all.
  VELLUM_RETURN_IF_ERROR(OpenRocks(/*creating=*/false, /*read_only=*/true));
  Status loaded = Load(master);
  VELLUM_RETURN_IF_ERROR(CloseRocks());
  VELLUM_RETURN_IF_ERROR(loaded);
  return true;
}

Status LedgerImpl::OpenRocks(bool creating, bool read_only) {
  rocksdb::DBOptions db_options = RocksOptions();
  db_options.create_if_missing = creating;
  db_options.create_missing_column_families = creating;

  auto cache = rocksdb::NewLRUCache(std::max<size_t>(options_.block_cache_bytes, 1 << 20));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int i = 0; i < kFamilyCount; ++i) {
    rocksdb::ColumnFamilyOptions cf = i == kTrie
                                          ? trie::RocksNodeStore::TrieColumnFamilyOptions(cache)
                                          : DataFamilyOptions(cache);
    descriptors.emplace_back(kFamilyNames[i], cf);
  }
  rocksdb::Status s =
      read_only ? rocksdb::DB::OpenForReadOnly(db_options, path_, descriptors, &handles_, &rocks_)
                : rocksdb::DB::Open(db_options, path_, descriptors, &handles_, &rocks_);
  if (!s.ok()) {
    // Another open of the directory holds RocksDB's LOCK file (an IOError or, within
    // this process, Busy).
    if ((s.IsIOError() || s.IsBusy()) && s.ToString().find("LOCK") != std::string::npos) {
      return Status::Unavailable("ledger " + path_ +
                                 " is already open (by this or another process)");
    }
    if (!creating) {
      return Status::Corruption("ledger " + path_ + ": the database cannot be opened (" +
                                s.ToString() + ")");
    }
    return RocksStatus(s, "opening the database");
  }
  node_store_ = trie::RocksNodeStore::Attach(rocks_, handles_[kTrie]);
  if (options_.hash_threads > 1 && !task_runner_) {
    task_runner_ = trie::NewThreadPoolTaskRunner(options_.hash_threads);
  }
  return Status::OK();
}

Status LedgerImpl::Initialize(const MasterKey* master) {
  Bytes ledger_id(format::kLedgerIdSize);
  if (options_.ledger_id.empty()) {
    crypto::SystemRandom().Fill(ledger_id);
  } else {
    ledger_id = ToBytes(options_.ledger_id);  // length checked in Open
  }
  VELLUM_ASSIGN_OR_RETURN(auto keys, LedgerKeys::Derive(master->impl().secret, ledger_id));

  format::ConfigRecord config;
  config.holders = options_.log_key_holders;
  config.threshold = options_.log_key_holders.empty() ? 1 : options_.log_threshold;
  config.created_micros = env_->WallMicros();
  format::HeadRecord head;
  head.state_root = trie::EmptyRoot(trie::TrieScheme::kNative);
  head.log_root = logchain::MerkleEmptyRoot();

  rocksdb::WriteBatch batch;
  crypto::Hash256 check = keys->KeyCheck(ledger_id);
  batch.Put(cf(kMeta), format::kFormatKey, format::EncodeFormatRecord(ledger_id));
  batch.Put(cf(kMeta), format::kKeyCheckKey, std::string(AsChars(check)));
  batch.Put(cf(kMeta), format::kConfigKey,
            format::SealMeta(*keys, format::kConfigKey, format::EncodeConfigBody(config)));
  batch.Put(cf(kMeta), format::kHeadKey,
            format::SealMeta(*keys, format::kHeadKey, format::EncodeHeadBody(head)));
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  rocksdb::Status s = rocks_->Write(write_options, &batch);
  if (!s.ok()) return RocksStatus(s, "writing the new ledger's metadata");
  return Status::OK();
}

Status LedgerImpl::Load(const MasterKey* master) {
  auto get_meta = [&](std::string_view key, std::string* value) -> Status {
    rocksdb::Status s = rocks_->Get(rocksdb::ReadOptions(), cf(kMeta), key, value);
    if (s.IsNotFound()) {
      return Status::Corruption("ledger " + path_ + ": metadata record '" + std::string(key) +
                                "' is missing");
    }
    return RocksStatus(s, "reading metadata");
  };
  std::string record;
  VELLUM_RETURN_IF_ERROR(get_meta(format::kFormatKey, &record));
  VELLUM_ASSIGN_OR_RETURN(ledger_id_, format::DecodeFormatRecord(record));
  if (!options_.ledger_id.empty() && ToBytes(options_.ledger_id) != ledger_id_) {
    return Status::FailedPrecondition("ledger " + path_ + " has id " + HexEncode(ledger_id_) +
                                      ", not the " + HexEncode(ToBytes(options_.ledger_id)) +
                                      " asked for: it is another ledger");
  }

  if (master != nullptr) {
    VELLUM_ASSIGN_OR_RETURN(keys_, LedgerKeys::Derive(master->impl().secret, ledger_id_));
    VELLUM_RETURN_IF_ERROR(get_meta(format::kKeyCheckKey, &record));
    crypto::Hash256 check = keys_->KeyCheck(ledger_id_);
    if (!ConstantTimeEquals(check, AsBytes(record))) {
      return Status::PermissionDenied("the master key does not open ledger " + path_ +
                                      " (key check failed: wrong key file?)");
    }
  }
  VELLUM_RETURN_IF_ERROR(get_meta(format::kConfigKey, &record));
  VELLUM_ASSIGN_OR_RETURN(Bytes config_body,
                          format::OpenMeta(keys_.get(), format::kConfigKey, record));
  VELLUM_ASSIGN_OR_RETURN(config_, format::DecodeConfigBody(config_body));
  VELLUM_RETURN_IF_ERROR(get_meta(format::kHeadKey, &record));
  VELLUM_ASSIGN_OR_RETURN(Bytes head_body, format::OpenMeta(keys_.get(), format::kHeadKey, record));
  VELLUM_ASSIGN_OR_RETURN(format::HeadRecord head, format::DecodeHeadBody(head_body));

  trie::TrieOptions top_options;
  top_options.scheme = trie::TrieScheme::kNative;
  top_options.key_prefix = std::string(format::kTopTriePrefix);
  top_options.cache_bytes = 8 << 20;
  top_options.task_runner = task_runner_.get();
  VELLUM_ASSIGN_OR_RETURN(top_, trie::Trie::Open(top_options, node_store_.get()));

  auto state = std::make_shared<State>();
  state->version = head.version;
  state->top_root = {head.state_root, head.top_root_node_version};
  state->oldest_version = head.oldest_version;
  state->log_size = head.log_size;
  state->log_head = head.log_head_hash;

  // The head, the top trie and the log must agree.
  if (top_->LatestVersion() != head.version ||
      (head.version > 0 && top_->LatestRoot().hash != head.state_root)) {
    return Status::Corruption(
        "ledger " + path_ + ": the head record (version " + std::to_string(head.version) +
        ") disagrees with the state trie (version " + std::to_string(top_->LatestVersion()) + ")");
  }
  if (head.log_size > 0) {
    VELLUM_ASSIGN_OR_RETURN(logchain::StoredEntry last, ReadEntry(head.log_size));
    if (last.entry_hash != head.log_head_hash || last.header.state_root_after != head.state_root ||
        last.header.version != head.version) {
      return Status::Corruption("ledger " + path_ + ": log entry " + std::to_string(head.log_size) +
                                " is not the head the metadata records");
    }
  }
  auto nodes = LogNodes();
  VELLUM_ASSIGN_OR_RETURN(state->log, logchain::MerkleAccumulator::Load(head.log_size, *nodes));
  if (state->log.Root() != head.log_root) {
    return Status::Corruption("ledger " + path_ +
                              ": the log's Merkle accumulator does not have the root the head "
                              "record holds (a log Merkle node was altered)");
  }

  if (keys_ != nullptr) VELLUM_RETURN_IF_ERROR(LoadCatalog(state.get()));
  // The top trie records how far it was pruned (the head may lag by a commit).
  state->oldest_version = std::max(head.oldest_version, top_->OldestVersion());
  last_prune_ = state->oldest_version;
  prune_floor_.store(state->oldest_version);
  state_ = std::move(state);
  return Status::OK();
}

Status LedgerImpl::LoadCatalog(State* state) {
  if (state->version == 0) return Status::OK();
  Status inner;
  Status status = top_->ForEach(state->version, [&](ByteView key, ByteView value) {
    auto entry = format::DecodeTableEntry(value);
    if (!entry.ok()) {
      inner = entry.status();
      return false;
    }
    crypto::Hash256 name_hash;
    std::copy(key.begin(), key.end(), name_hash.begin());
    auto name = ReadTableName(name_hash);
    if (!name.ok()) {
      inner = name.status();
      return false;
    }
    state->tables[*name] = TableState{entry->table_id, entry->root, name_hash};
    return true;
  });
  VELLUM_RETURN_IF_ERROR(status);
  return inner;
}

Result<std::string> LedgerImpl::ReadTableName(const crypto::Hash256& name_hash) {
  std::string sealed;
  rocksdb::Status s =
      rocks_->Get(rocksdb::ReadOptions(), cf(kMeta), format::TableNameKey(name_hash), &sealed);
  if (s.IsNotFound()) {
    return Status::Corruption("table catalog: no name recorded for table hash " +
                              HexEncode(name_hash).substr(0, 16));
  }
  if (!s.ok()) return RocksStatus(s, "reading the table catalog");
  Bytes ad = format::TableNameAd(name_hash);
  ByteView ads[] = {ad};
  auto name = keys_->table_name_siv().Open(AsBytes(sealed), ads);
  if (!name.ok()) {
    return Status::Corruption("table catalog: the name of table hash " +
                              HexEncode(name_hash).substr(0, 16) + " fails authentication");
  }
  if (keys_->table_name_hash().Hash(*name) != name_hash) {
    return Status::Corruption("table catalog: a name does not match its hash");
  }
  return std::string(AsChars(*name));
}

Status LedgerImpl::Close() {
  if (closed_) return Status::OK();
  closed_ = true;
  entry_keys_.Stop();
  return CloseRocks();
}

Status LedgerImpl::CloseRocks() {
  if (rocks_ == nullptr) return Status::OK();
  {
    std::lock_guard lock(tables_mu_);
    table_tries_.clear();
  }
  top_.reset();
  if (node_store_) node_store_->Close().IgnoreError();
  node_store_.reset();
  keys_.reset();
  {
    std::lock_guard lock(state_mu_);
    state_.reset();
  }
  Status result;
  for (auto* handle : handles_) {
    rocksdb::Status s = rocks_->DestroyColumnFamilyHandle(handle);
    if (!s.ok() && result.ok()) result = RocksStatus(s, "closing");
  }
  handles_.clear();
  rocksdb::Status s = rocks_->Close();
  if (!s.ok() && result.ok()) result = RocksStatus(s, "closing");
  delete rocks_;
  rocks_ = nullptr;
  return result;
}

// --- tries ------------------------------------------------------------------------

Result<trie::Trie*> LedgerImpl::TableTrie(uint64_t table_id) {
  std::lock_guard lock(tables_mu_);
  auto it = table_tries_.find(table_id);
  if (it != table_tries_.end()) return it->second.get();
  trie::TrieOptions trie_options;
  trie_options.scheme = trie::TrieScheme::kNative;
  trie_options.key_prefix = format::TableTriePrefix(table_id);
  trie_options.cache_bytes = options_.node_cache_bytes;
  trie_options.task_runner = task_runner_.get();
  VELLUM_ASSIGN_OR_RETURN(auto opened, trie::Trie::Open(trie_options, node_store_.get()));
  trie::Trie* raw = opened.get();
  table_tries_.emplace(table_id, std::move(opened));
  return raw;
}

// --- writes -----------------------------------------------------------------------

Result<CommitInfo> LedgerImpl::Write(const WriteOptions& options, const WriteBatch& batch) {
  return CommitWrites(batch.ops(), nullptr, options.sync.value_or(options_.sync));
}

Result<CommitInfo> LedgerImpl::CommitWrites(const std::vector<WriteBatch::Op>& ops,
                                            const ReadSet* reads, bool sync) {
  if (closed_) return Status::FailedPrecondition("the ledger is closed");
  VELLUM_RETURN_IF_ERROR(RequireKeys("writing"));
  Writer w;
  w.ops = &ops;
  w.reads = reads;
  w.sync = sync;
  RunWriter(&w);
  if (!w.status.ok()) return w.status;
  return w.info;
}

Result<std::unique_ptr<PreparedWrite>> LedgerImpl::PrepareWrite(const WriteBatch& batch) {
  if (closed_) return Status::FailedPrecondition("the ledger is closed");
  VELLUM_RETURN_IF_ERROR(RequireKeys("writing"));
  Writer w;
  w.ops = &batch.ops();
  w.prepare = true;
  RunWriter(&w);
  if (!w.status.ok()) return w.status;
  return std::unique_ptr<PreparedWrite>(
      std::make_unique<PreparedWriteImpl>(this, std::move(w.prepared), w.info));
}

Result<CommitInfo> LedgerImpl::CommitPrepared(const WriteOptions& options,
                                              std::unique_ptr<PreparedWrite> prepared) {
  if (closed_) return Status::FailedPrecondition("the ledger is closed");
  auto* impl = dynamic_cast<PreparedWriteImpl*>(prepared.get());
  if (impl == nullptr || impl->owner() != this) {
    return Status::InvalidArgument("the prepared write was made by another ledger");
  }
  if (impl->commit() == nullptr) {
    // Nothing to write; still only valid on the version it was prepared on.
    const CommitInfo latest = Latest();
    if (latest.version != impl->info().version) {
      return Status::Aborted("the ledger changed after the write was prepared");
    }
    return latest;
  }
  Writer w;
  w.to_write = impl->commit();
  w.sync = options.sync.value_or(options_.sync);
  RunWriter(&w);
  if (!w.status.ok()) return w.status;
  return w.info;
}

void LedgerImpl::RunWriter(Writer* w) {
  std::unique_lock lock(queue_mu_);
  queue_.push_back(w);
  // A leader may be waiting for writers to join its group (below).
  if (queue_.front() != w) queue_.front()->cv.notify_one();
  while (!w->done && queue_.front() != w) w->cv.wait(lock);
  if (w->done) return;
  // Leader. The writers of the group just committed are on their way back (a thread
  // that commits in a loop re-queues within microseconds); without them the writers
  // split into two groups that alternate, each paying a whole sync. So wait briefly
  // until as many writers are queued as were active at the last commit.
  if (!w->alone() && queue_.size() < expected_writers_) {
    const auto deadline = std::chrono::steady_clock::now() + kGroupJoinWait;
    while (queue_.size() < expected_writers_ &&
           w->cv.wait_until(lock, deadline) != std::cv_status::timeout) {
    }
  }
  // Take the queue as it is now, within the group limit; a two-phase writer leads a
  // turn of its own.
  std::vector<Writer*> group;
  size_t group_ops = 0;
  for (Writer* writer : queue_) {
    if (!group.empty() &&
        (w->alone() || writer->alone() || group_ops + writer->ops->size() > kMaxGroupOps)) {
      break;
    }
    group.push_back(writer);
    if (writer->ops != nullptr) group_ops += writer->ops->size();
  }
  lock.unlock();
  if (w->prepare) {
    std::vector<Writer*> accepted;
    w->prepared = PrepareGroup(group, &accepted);
    if (w->prepared != nullptr) w->info = w->prepared->info;
  } else if (w->to_write != nullptr) {
    Status current = CheckStillCurrent(*w->to_write);
    Result<CommitInfo> written =
        current.ok() ? WriteCommit(*w->to_write, w->sync) : Result<CommitInfo>(current);
    if (written.ok()) {
      w->info = *written;
    } else {
      w->status = written.status();
    }
  } else {
    CommitGroup(group);
  }
  lock.lock();
  for (size_t i = 0; i < group.size(); ++i) {
    Writer* writer = queue_.front();
    queue_.pop_front();
    writer->done = true;
    if (writer != w) writer->cv.notify_one();
  }
  if (!w->alone()) expected_writers_ = group.size() + queue_.size();
  if (!queue_.empty()) queue_.front()->cv.notify_one();
}

Result<uint64_t> LedgerImpl::LastChange(uint64_t table_id, const crypto::Hash256& key_hash) {
  std::string prefix = format::HistoryPrefix(table_id, key_hash);
  std::string upper = format::HistoryKey(table_id, key_hash, UINT64_MAX);
  rocksdb::ReadOptions read_options;
  std::unique_ptr<rocksdb::Iterator> it(rocks_->NewIterator(read_options, cf(kHistory)));
  it->SeekForPrev(upper);
  if (!it->Valid()) {
    if (!it->status().ok()) return RocksStatus(it->status(), "reading key history");
    return uint64_t{0};
  }
  rocksdb::Slice key = it->key();
  if (key.size() != prefix.size() + 8 || !key.starts_with(prefix)) return uint64_t{0};
  return DecodeFixed64BE(reinterpret_cast<const uint8_t*>(key.data()) + prefix.size());
}

Status LedgerImpl::CheckConflicts(
    const State& base, const ReadSet& reads,
    const std::set<std::pair<uint64_t, crypto::Hash256>>& group_keys) {
  // (The tables a transaction used are checked by the caller, against the group's
  // view of them.)
  for (const auto& [table, key] : reads.keys) {
    auto it = base.tables.find(table);
    if (it == base.tables.end()) continue;  // covered by the table check (or created here)
    VELLUM_ASSIGN_OR_RETURN(auto keys, keys_->ForTable(it->second.id));
    crypto::Hash256 key_hash = keys->key_hash.Hash(AsBytes(key));
    if (group_keys.contains({it->second.id, key_hash})) {
      return Status::Aborted("conflict: a key this transaction used in table '" + table +
                             "' is written by a concurrent commit");
    }
    VELLUM_ASSIGN_OR_RETURN(uint64_t last, LastChange(it->second.id, key_hash));
    if (last > reads.snapshot_version) {
      return Status::Aborted("conflict: a key this transaction used in table '" + table +
                             "' changed at version " + std::to_string(last) + ", after version " +
                             std::to_string(reads.snapshot_version));
    }
  }
  return Status::OK();
}

void LedgerImpl::CommitGroup(const std::vector<Writer*>& group) {
  std::vector<Writer*> accepted;
  std::unique_ptr<PreparedCommit> commit = PrepareGroup(group, &accepted);
  if (commit == nullptr) return;
  const bool sync =
      std::any_of(accepted.begin(), accepted.end(), [](const Writer* w) { return w->sync; });
  Result<CommitInfo> written = WriteCommit(*commit, sync);
  for (Writer* w : accepted) {
    if (written.ok()) {
      w->info = *written;
    } else {
      w->status = written.status();
    }
  }
}

std::unique_ptr<LedgerImpl::PreparedCommit> LedgerImpl::PrepareGroup(
    const std::vector<Writer*>& group, std::vector<Writer*>* accepted_out) {
  if (!write_error_.ok()) {
    for (Writer* w : group) w->status = write_error_;
    return nullptr;
  }
  std::vector<Writer*>& accepted = *accepted_out;
  std::shared_ptr<const State> base = CurrentState();
  const uint64_t version = base->version + 1;

  // What the group changes, table by table.
  struct Pending {
    std::shared_ptr<const TableKeys> keys;
    std::map<crypto::Hash256, std::optional<crypto::Hash256>> changes;
  };
  std::map<std::string, TableState, std::less<>> tables = base->tables;
  std::map<uint64_t, Pending> pending;  // by table id
  std::set<std::string> touched_names;  // top trie entries to rewrite or delete
  std::set<std::pair<uint64_t, crypto::Hash256>> group_keys;
  std::vector<logchain::WriteSetOp> log_ops;
  uint64_t tables_created = 0;  // in this group: table ids are version << 16 | n
  auto commit = std::make_unique<PreparedCommit>();
  commit->base = base;
  rocksdb::WriteBatch& batch = commit->batch;
  // Key and value records, added to `batch` sorted: the memtable's skiplist inserts a
  // sorted run far faster than scattered keys (each insert starts from the last one).
  std::vector<std::pair<std::string, Bytes>> key_records;
  std::vector<std::pair<std::string, Bytes>> value_records;
  Status group_status;

  for (Writer* w : group) {
    // 1. Validate against the tables as the group has left them, without changing
    //    anything, so that a failing writer drops out cleanly.
    std::map<std::string, uint64_t, std::less<>> overlay;  // name -> id (0: dropped)
    auto exists = [&](const std::string& name) {
      auto o = overlay.find(name);
      if (o != overlay.end()) return o->second != 0;
      return tables.contains(name);
    };
    Status status;
    for (const auto& op : *w->ops) {
      if (op.table.empty() || op.table.size() > format::kMaxTableNameSize) {
        status = Status::InvalidArgument("a table name must be 1.." +
                                         std::to_string(format::kMaxTableNameSize) + " bytes");
        break;
      }
      switch (op.kind) {
        case WriteBatch::OpKind::kCreateTable:
          if (exists(op.table)) status = Status::AlreadyExists("table '" + op.table + "' exists");
          overlay[op.table] = 1;
          break;
        case WriteBatch::OpKind::kDropTable:
          if (!exists(op.table)) {
            status = Status::NotFound("table '" + op.table + "' does not exist");
          }
          overlay[op.table] = 0;
          break;
        case WriteBatch::OpKind::kPut:
          if (op.value.size() > options_.max_value_size) {
            status = Status::InvalidArgument(
                "a value of " + std::to_string(op.value.size()) + " bytes exceeds the limit of " +
                std::to_string(options_.max_value_size) + " (Options::max_value_size)");
            break;
          }
          [[fallthrough]];
        case WriteBatch::OpKind::kDelete:
          if (op.key.size() > options_.max_key_size) {
            status = Status::InvalidArgument(
                "a key of " + std::to_string(op.key.size()) + " bytes exceeds the limit of " +
                std::to_string(options_.max_key_size) + " (Options::max_key_size)");
          } else if (!exists(op.table)) {
            status = Status::NotFound("table '" + op.table + "' does not exist");
          }
          break;
        default:
          status = Status::InvalidArgument("unknown write operation");
      }
      if (!status.ok()) break;
    }
    // Tables the transaction used must be as it saw them: not created or dropped since
    // its snapshot, by an earlier commit or an earlier writer of this group.
    if (status.ok() && w->reads != nullptr) {
      for (const auto& [name, snapshot_id] : w->reads->tables) {
        auto it = tables.find(name);
        uint64_t id = it == tables.end() ? 0 : it->second.id;
        if (id != snapshot_id) {
          status = Status::Aborted("conflict: table '" + name +
                                   "' was created or dropped after version " +
                                   std::to_string(w->reads->snapshot_version));
        }
      }
    }
    if (status.ok() && w->reads != nullptr) status = CheckConflicts(*base, *w->reads, group_keys);
    if (!status.ok()) {
      w->status = status;
      continue;
    }

    // 2. Apply. The hashing and encryption of a large writer's puts runs in parallel
    //    first (its tables cannot change under it: it has no table operations).
    std::vector<OpCrypto> precomputed;
    if (w->ops->size() >= kParallelSealMinOps && task_runner_ != nullptr &&
        std::none_of(w->ops->begin(), w->ops->end(), [](const WriteBatch::Op& op) {
          return op.kind == WriteBatch::OpKind::kCreateTable ||
                 op.kind == WriteBatch::OpKind::kDropTable;
        })) {
      precomputed = SealOpsInParallel(tables, *w->ops);
    }
    for (const auto& op : *w->ops) {
      logchain::WriteSetOp log_op;
      log_op.kind = static_cast<logchain::WriteSetOp::Kind>(op.kind);
      log_op.table = op.table;
      switch (op.kind) {
        case WriteBatch::OpKind::kCreateTable: {
          if (tables_created == format::kMaxTablesPerVersion) {
            group_status = Status::ResourceExhausted("too many tables created in one commit");
            break;
          }
          const uint64_t table_id = format::TableId(version, tables_created++);
          crypto::Hash256 name_hash = keys_->table_name_hash().Hash(AsBytes(op.table));
          tables[op.table] =
              TableState{table_id, {trie::EmptyRoot(trie::TrieScheme::kNative), 0}, name_hash};
          auto keys = keys_->ForTable(table_id);
          if (!keys.ok()) {
            group_status = keys.status();
            break;
          }
          pending[table_id] = Pending{*keys, {}};
          touched_names.insert(op.table);
          Bytes ad = format::TableNameAd(name_hash);
          ByteView ads[] = {ad};
          auto sealed = keys_->table_name_siv().Seal(AsBytes(op.table), ads);
          if (!sealed.ok()) {
            group_status = sealed.status();
            break;
          }
          batch.Put(cf(kMeta), format::TableNameKey(name_hash), AsChars(*sealed));
          break;
        }
        case WriteBatch::OpKind::kDropTable: {
          auto it = tables.find(op.table);
          pending.erase(it->second.id);
          tables.erase(it);
          touched_names.insert(op.table);
          break;
        }
        case WriteBatch::OpKind::kPut:
        case WriteBatch::OpKind::kDelete: {
          const TableState& table = tables.find(op.table)->second;
          Pending& p = pending[table.id];
          if (!p.keys) {
            auto keys = keys_->ForTable(table.id);
            if (!keys.ok()) {
              group_status = keys.status();
              break;
            }
            p.keys = *keys;
          }
          touched_names.insert(op.table);
          const size_t index = static_cast<size_t>(&op - w->ops->data());
          OpCrypto c =
              precomputed.empty() ? SealOp(*p.keys, table.id, op) : std::move(precomputed[index]);
          if (!c.status.ok()) {
            group_status = c.status;
            break;
          }
          group_keys.insert({table.id, c.key_hash});
          log_op.key = ToBytes(op.key);
          if (op.kind == WriteBatch::OpKind::kDelete) {
            p.changes[c.key_hash] = std::nullopt;
            break;
          }
          p.changes[c.key_hash] = c.value_hash;
          key_records.emplace_back(format::KeyRecordKey(table.id, c.key_hash),
                                   std::move(c.sealed_key));
          value_records.emplace_back(format::ValueRecordKey(table.id, c.value_hash),
                                     std::move(c.sealed_value));
          log_op.value = ToBytes(op.value);
          break;
        }
      }
      if (!group_status.ok()) break;
      log_ops.push_back(std::move(log_op));
    }
    if (!group_status.ok()) break;
    accepted.push_back(w);
  }

  auto fail_all = [&](const Status& status) -> std::unique_ptr<PreparedCommit> {
    for (Writer* w : accepted) w->status = status;
    return nullptr;
  };
  if (!group_status.ok()) return fail_all(group_status);
  if (accepted.empty()) return nullptr;
  CommitInfo unchanged{base->version, base->top_root.hash, base->log_size, base->log_head};
  if (log_ops.empty()) {
    for (Writer* w : accepted) w->info = unchanged;
    return nullptr;
  }

  for (auto [records, family] : {std::pair{&key_records, kKeys}, {&value_records, kValues}}) {
    std::sort(records->begin(), records->end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 0; i < records->size(); ++i) {
      // The same key (or value) twice has the same deterministic ciphertext.
      if (i > 0 && (*records)[i].first == (*records)[i - 1].first) continue;
      batch.Put(cf(family), (*records)[i].first, AsChars((*records)[i].second));
    }
  }

  // 3. Tries: each changed table, then the top trie over the tables' roots.
  std::vector<std::pair<trie::Trie*, trie::Trie::Prepared>>& prepared = commit->tries;
  for (auto& [table_id, p] : pending) {
    if (p.changes.empty()) continue;
    auto trie = TableTrie(table_id);
    if (!trie.ok()) return fail_all(trie.status());
    std::vector<trie::TrieOp> trie_ops;
    trie_ops.reserve(p.changes.size());
    for (const auto& [key_hash, value_hash] : p.changes) {
      trie::TrieOp trie_op;
      trie_op.key.assign(key_hash.begin(), key_hash.end());
      if (value_hash) trie_op.value.assign(value_hash->begin(), value_hash->end());
      trie_ops.push_back(std::move(trie_op));
      crypto::Hash256 tag = p.keys->history_mac.Hash(
          format::HistoryMacInput(table_id, key_hash, version, value_hash));
      std::string record = value_hash ? std::string(AsChars(*value_hash)) : std::string();
      record.append(AsChars(tag));
      batch.Put(cf(kHistory), format::HistoryKey(table_id, key_hash, version), record);
    }
    auto result = (*trie)->Prepare(version, std::move(trie_ops));
    if (!result.ok()) return fail_all(result.status());
    for (auto& [name, table] : tables) {
      if (table.id == table_id) table.root = result->info.root;
    }
    prepared.emplace_back(*trie, std::move(result).value());
  }
  std::vector<trie::TrieOp> top_ops;
  for (const auto& name : touched_names) {
    trie::TrieOp top_op;
    auto it = tables.find(name);
    crypto::Hash256 name_hash =
        it != tables.end() ? it->second.name_hash : keys_->table_name_hash().Hash(AsBytes(name));
    top_op.key.assign(name_hash.begin(), name_hash.end());
    if (it != tables.end())
      top_op.value = format::EncodeTableEntry({it->second.id, it->second.root});
    top_ops.push_back(std::move(top_op));
  }
  auto top_prepared = top_->Prepare(version, std::move(top_ops));
  if (!top_prepared.ok()) return fail_all(top_prepared.status());
  const trie::TrieRoot new_top_root = top_prepared->info.root;

  // 4. The log entry.
  logchain::LogEntryHeader header;
  header.index = base->log_size + 1;
  header.term = 0;
  header.version = version;
  header.time_micros = env_->WallMicros();
  header.prev_entry_hash = base->log_head;
  header.state_root_after = new_top_root.hash;
  commit->holders = Holders();
  auto entry_key = entry_keys_.Take(commit->holders);
  if (!entry_key.ok()) return fail_all(entry_key.status());
  auto sealed = logchain::SealLogEntry(header, logchain::EncodeWriteSet(log_ops),
                                       std::move(entry_key).value(), crypto::SystemRandom());
  if (!sealed.ok()) return fail_all(sealed.status());
  batch.Put(cf(kLog), format::LogEntryKey(header.index), AsChars(sealed->EncodeStored()));
  batch.Put(cf(kLog), format::ShareSetKey(header.index), AsChars(sealed->encoded_share_set));
  logchain::MerkleAccumulator log = base->log;
  log.Append(sealed->entry_hash, [&](int level, uint64_t index, const crypto::Hash256& hash) {
    batch.Put(cf(kLog), format::MerkleNodeKey(level, index), AsChars(hash));
  });

  // 5. The head, the trie nodes, and one atomic write.
  format::HeadRecord head;
  head.version = version;
  head.state_root = new_top_root.hash;
  head.top_root_node_version = new_top_root.node_version;
  head.log_size = header.index;
  head.log_head_hash = sealed->entry_hash;
  head.log_root = log.Root();
  head.oldest_version = base->oldest_version;
  batch.Put(cf(kMeta), format::kHeadKey,
            format::SealMeta(*keys_, format::kHeadKey, format::EncodeHeadBody(head)));
  for (const auto& [trie, p] : prepared) node_store_->AddToWriteBatch(p.batch, &batch);
  node_store_->AddToWriteBatch(top_prepared->batch, &batch);

  auto next = std::make_shared<State>();
  next->version = version;
  next->top_root = new_top_root;
  next->oldest_version = base->oldest_version;
  next->log_size = header.index;
  next->log_head = sealed->entry_hash;
  next->log = std::move(log);
  next->tables = std::move(tables);
  commit->next = std::move(next);
  commit->top = std::move(top_prepared).value();
  commit->info = CommitInfo{version, new_top_root.hash, header.index, sealed->entry_hash};
  return commit;
}

Status LedgerImpl::CheckStillCurrent(const PreparedCommit& commit) const {
  // Written only onto the state it was built on: any commit since (or a pruning, which
  // republishes the state) makes it stale, and so does a change of the log key holders
  // its entry key was split to. (A group's own turn needs no such check: nothing else
  // commits during it.)
  const std::string version = std::to_string(commit.info.version);
  if (CurrentState() != commit.base) {
    return Status::Aborted("the ledger changed after version " + version +
                           " was prepared; write it again");
  }
  const logchain::KeyHolders holders = Holders();
  if (holders.threshold != commit.holders.threshold || holders.holders != commit.holders.holders) {
    return Status::Aborted("the log key holders changed after version " + version +
                           " was prepared; write it again");
  }
  return Status::OK();
}

Result<CommitInfo> LedgerImpl::WriteCommit(PreparedCommit& commit, bool sync) {
  if (!write_error_.ok()) return write_error_;
  const uint64_t version = commit.info.version;
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  rocksdb::Status s = rocks_->Write(write_options, &commit.batch);
  if (!s.ok()) {
    Status failed = RocksStatus(s, "committing version " + std::to_string(version));
    write_error_ = Status::IOError("the ledger stopped taking writes after a failed commit (" +
                                   failed.message() + "); reopen it");
    return failed;
  }

  // 6. Durable: make it current.
  for (auto& [trie, p] : commit.tries) {
    Status installed = trie->Install(std::move(p));
    VELLUM_CHECK_MSG(installed.ok(), "installing a written trie version failed");
  }
  Status installed = top_->Install(std::move(commit.top));
  VELLUM_CHECK_MSG(installed.ok(), "installing a written top trie version failed");
  {
    std::lock_guard lock(state_mu_);
    state_ = std::move(commit.next);
  }
  MaybePrune(version);
  return commit.info;
}

void LedgerImpl::MaybePrune(uint64_t version) {
  if (options_.retained_versions == 0 || version <= options_.retained_versions) return;
  uint64_t oldest = version - options_.retained_versions + 1;
  if (oldest < last_prune_ + kPruneEvery) return;
  prune_floor_.store(oldest);
  // Tries first; if pruning fails, the versions stay readable and the next commit
  // tries again.
  if (!top_->Prune(oldest).ok()) return;
  std::vector<trie::Trie*> tries;
  {
    std::lock_guard lock(tables_mu_);
    for (auto& [id, trie] : table_tries_) tries.push_back(trie.get());
  }
  for (trie::Trie* trie : tries) {
    if (!trie->Prune(std::min(oldest, trie->LatestVersion())).ok()) return;
  }
  last_prune_ = oldest;
  std::shared_ptr<const State> current = CurrentState();
  auto next = std::make_shared<State>(*current);
  next->oldest_version = oldest;
  std::lock_guard lock(state_mu_);
  state_ = std::move(next);
}

}  // namespace vellum::db

namespace vellum {

Status DB::Open(const Options& options, const std::string& path, std::unique_ptr<DB>* db) {
  return db::LedgerImpl::Open(options, path, db);
}

}  // namespace vellum
