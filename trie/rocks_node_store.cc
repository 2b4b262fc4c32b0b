// Copyright (c) Vellum authors.

#include "trie/rocks_node_store.h"

#include <rocksdb/advanced_options.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/rocksdb_env.h"
#include "trie/node_store.h"
#include "vellum/check.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::trie {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

}  // namespace

rocksdb::ColumnFamilyOptions RocksNodeStore::TrieColumnFamilyOptions(
    std::shared_ptr<rocksdb::Cache> block_cache) {
  rocksdb::ColumnFamilyOptions cf;

  // Values are mostly SHA-256/Keccak hashes: compression would spend CPU on every
  // flush, compaction and block read to save next to nothing. Keys are short and share
  // prefixes, which the block format's prefix encoding already exploits.
  cf.compression = rocksdb::kNoCompression;
  cf.bottommost_compression = rocksdb::kDisableCompressionOption;
  cf.compression_per_level.clear();

  // A commit writes a cluster of new nodes; a large memtable (two of them at most, the
  // default max_write_buffer_number) absorbs many commits per flush, so fewer and
  // larger L0 files, and most reads of recent versions are served from memory.
  cf.write_buffer_size = size_t{64} << 20;

  // Each commit's keys are sorted and sort after every earlier commit's (they start
  // with the version), so memtable inserts are appends: with an insert hint the
  // skiplist starts from the last insert instead of searching from its head. Hints are
  // kept per 1-byte key prefix; any prefix is correct, this one is merely cheap.
  cf.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(1));

  // Sizes the levels from the bottom up, so the tree keeps its intended shape (and
  // space amplification stays near 1.1x) whatever the total size; the trie only grows
  // until old versions are pruned.
  cf.level_compaction_dynamic_level_bytes = true;

  rocksdb::BlockBasedTableOptions table;
  // Nodes are read by exact key: a whole-key Bloom filter at 10 bits per key (about 1%
  // false positives) lets a lookup skip every file that cannot hold the key.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  // Point lookups also benefit from a hash index inside each data block, which
  // replaces the binary search over restart points for a few percent of block space.
  table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  if (block_cache != nullptr) {
    table.block_cache = std::move(block_cache);
    // Index and filter blocks live in (and are charged to) the block cache, so memory
    // stays bounded by its size as the store grows. Those of L0 files are pinned:
    // every lookup probes every L0 file, and evicting them would cost a read each.
    table.cache_index_and_filter_blocks = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
  } else {
    table.no_block_cache = true;
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

Result<std::unique_ptr<RocksNodeStore>> RocksNodeStore::Open(const RocksNodeStoreOptions& options,
                                                             const std::string& path) {
  const std::string name = "node store " + path;
  std::unique_ptr<rocksdb::Env> env;
  rocksdb::DBOptions db_options;
  if (options.env != nullptr) {
    env = storage::NewRocksEnvOnVellumEnv(options.env);
    db_options.env = env.get();
  }
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;

  std::shared_ptr<rocksdb::Cache> cache;
  if (options.block_cache_bytes > 0) cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kColumnFamilyName, TrieColumnFamilyOptions(std::move(cache))},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(db_options, path, families, &handles, &db);
  if (!s.ok()) return storage::FromRocksStatus(s, "opening " + name);
  VELLUM_CHECK_EQ(handles.size(), families.size());
  rocksdb::ColumnFamilyHandle* trie_nodes = handles[1];
  return std::unique_ptr<RocksNodeStore>(
      new RocksNodeStore(name, std::move(env), db, /*owned=*/true, std::move(handles), trie_nodes));
}

std::unique_ptr<RocksNodeStore> RocksNodeStore::Attach(rocksdb::DB* db,
                                                       rocksdb::ColumnFamilyHandle* column_family) {
  VELLUM_CHECK(db != nullptr);
  VELLUM_CHECK(column_family != nullptr);
  return std::unique_ptr<RocksNodeStore>(
      new RocksNodeStore("node store in column family " + column_family->GetName(), nullptr, db,
                         /*owned=*/false, {}, column_family));
}

RocksNodeStore::RocksNodeStore(std::string name, std::unique_ptr<rocksdb::Env> env, rocksdb::DB* db,
                               bool owned, std::vector<rocksdb::ColumnFamilyHandle*> owned_handles,
                               rocksdb::ColumnFamilyHandle* column_family)
    : name_(std::move(name)),
      env_(std::move(env)),
      db_(db),
      owned_(owned),
      owned_handles_(std::move(owned_handles)),
      column_family_(column_family) {}

RocksNodeStore::~RocksNodeStore() { Close().IgnoreError(); }

Status RocksNodeStore::Close() {
  if (db_ == nullptr) return Status::OK();
  rocksdb::DB* db = db_;
  db_ = nullptr;
  column_family_ = nullptr;
  if (!owned_) return Status::OK();

  // RocksDB wants every handle released before the database closes.
  rocksdb::Status s;
  for (rocksdb::ColumnFamilyHandle* handle : owned_handles_) {
    const rocksdb::Status destroyed = db->DestroyColumnFamilyHandle(handle);
    if (s.ok()) s = destroyed;
  }
  owned_handles_.clear();
  const rocksdb::Status closed = db->Close();
  if (s.ok()) s = closed;
  // Deleting is right whatever Close said: we hold no snapshots (the one reason RocksDB
  // leaves a database open after a failed Close), and the destructor finishes the job.
  delete db;
  env_.reset();  // Only now: the database used it until deleted.
  return storage::FromRocksStatus(s, "closing " + name_);
}

Status RocksNodeStore::CheckOpen() const {
  if (db_ == nullptr) return Status::FailedPrecondition(name_ + " is closed");
  return Status::OK();
}

Status RocksNodeStore::Get(std::string_view key, std::string* value) {
  VELLUM_RETURN_IF_ERROR(CheckOpen());
  rocksdb::ReadOptions read_options;
  // The default, stated because we rely on it: a damaged block must come back as
  // Corruption rather than as a wrong or missing entry.
  read_options.verify_checksums = true;
  const rocksdb::Status s = db_->Get(read_options, column_family_, ToSlice(key), value);
  if (s.IsNotFound()) return Status::NotFound(name_ + ": no entry under the key");
  return storage::FromRocksStatus(s, "reading " + name_);
}

Status RocksNodeStore::Scan(std::string_view begin, std::string_view end, const ScanFn& fn) {
  VELLUM_RETURN_IF_ERROR(CheckOpen());
  const bool bounded = !end.empty();
  if (bounded && begin >= end) return Status::OK();
  rocksdb::ReadOptions read_options;
  read_options.verify_checksums = true;
  // The bound lets RocksDB stop inside a file and skip files beyond it, instead of our
  // loop discovering the end one key too late.
  const rocksdb::Slice upper = ToSlice(end);
  if (bounded) read_options.iterate_upper_bound = &upper;
  // The iterator reads an implicit snapshot: the scan sees a consistent state.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, column_family_));
  for (it->Seek(ToSlice(begin)); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    const rocksdb::Slice v = it->value();
    if (!fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) break;
  }
  return storage::FromRocksStatus(it->status(), "scanning " + name_);
}

Status RocksNodeStore::Write(const NodeWriteBatch& batch, bool sync) {
  VELLUM_RETURN_IF_ERROR(CheckOpen());
  // Reserve the payload plus a little per-record framing up front.
  rocksdb::WriteBatch write_batch(batch.ByteSize() + 16 * batch.ops.size() + 16);
  AddToWriteBatch(batch, &write_batch);
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  return storage::FromRocksStatus(db_->Write(write_options, &write_batch), "writing " + name_);
}

void RocksNodeStore::AddToWriteBatch(const NodeWriteBatch& batch, rocksdb::WriteBatch* out) const {
  VELLUM_CHECK_MSG(column_family_ != nullptr, "AddToWriteBatch on a closed RocksNodeStore");
  for (const NodeWriteBatch::Op& op : batch.ops) {
    const rocksdb::Status s = op.is_delete ? out->Delete(column_family_, op.key)
                                           : out->Put(column_family_, op.key, op.value);
    // Fails only for a batch with a byte limit or a key or value over 4 GiB, neither
    // of which the trie produces (see the header).
    VELLUM_CHECK_MSG(s.ok(), "rocksdb::WriteBatch rejected a node store operation");
  }
}

}  // namespace vellum::trie
