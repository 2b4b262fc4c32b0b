// Copyright (c) Vellum authors.
//
// RocksNodeStore: a NodeStore in a RocksDB column family named "trie_nodes". Either it
// opens a database of its own (Open), or it attaches to a column family of a database
// that the ledger owns (Attach), so that the ledger can write trie nodes and its own
// data in one atomic rocksdb::WriteBatch (AddToWriteBatch).
//
// The column family is tuned for the trie's workload (see TrieColumnFamilyOptions):
// small keys (prefix + nibble path + 8-byte version), values of 50-600 bytes that are
// mostly hashes, read by exact-key point lookups.
//
// Errors are vellum Statuses mapped from RocksDB's by storage::FromRocksStatus, with a
// message naming the store and the operation.
//
// Thread safety: Get, Scan and Write may be called concurrently (RocksDB is
// thread-safe). Close must not run concurrently with anything else, and nothing may be
// called after it except the destructor.

#ifndef VELLUM_TRIE_ROCKS_NODE_STORE_H_
#define VELLUM_TRIE_ROCKS_NODE_STORE_H_

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trie/node_store.h"
#include "vellum/env.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::trie {

struct RocksNodeStoreOptions {
  // The Env holding the database's files (and RocksDB's clock), through
  // storage::NewRocksEnvOnVellumEnv; not owned, must outlive the store. nullptr runs
  // RocksDB on its own POSIX Env.
  Env* env = nullptr;
  // Size of the LRU block cache of the column family; 0 disables the block cache.
  size_t block_cache_bytes = size_t{64} << 20;
  // Create the database if `path` holds none (otherwise opening a missing one is an
  // error). The column family is created in an existing database that lacks it.
  bool create_if_missing = true;
};

class RocksNodeStore final : public NodeStore {
 public:
  static constexpr const char* kColumnFamilyName = "trie_nodes";

  // Opens (or creates, see options) the database at `path` with the column families
  // "default" (unused) and "trie_nodes". A database with further column families is
  // not a node store database: RocksDB refuses to open it (InvalidArgument).
  static Result<std::unique_ptr<RocksNodeStore>> Open(const RocksNodeStoreOptions& options,
                                                      const std::string& path);

  // A store over the column family `column_family` of `db`, both owned by the caller
  // and required to outlive the store (the ledger's shared database). Create that
  // column family with TrieColumnFamilyOptions. Close and the destructor leave `db`
  // untouched.
  static std::unique_ptr<RocksNodeStore> Attach(rocksdb::DB* db,
                                                rocksdb::ColumnFamilyHandle* column_family);

  // The column family options tuned for trie nodes, for Open and for callers that
  // create the column family in their own database. `block_cache` may be shared with
  // other column families; nullptr disables the block cache.
  static rocksdb::ColumnFamilyOptions TrieColumnFamilyOptions(
      std::shared_ptr<rocksdb::Cache> block_cache);

  // Closes the database cleanly if the store owns it (errors are ignored; call Close
  // to see them).
  ~RocksNodeStore() override;

  RocksNodeStore(const RocksNodeStore&) = delete;
  RocksNodeStore& operator=(const RocksNodeStore&) = delete;

  // Owned database: releases the column family handles and closes the database,
  // returning RocksDB's verdict (writes not yet flushed stay in the WAL and are replayed
  // by the next Open). Attached store: detaches. Later calls return OK and do nothing.
  Status Close();

  // NodeStore. After Close, FailedPrecondition.
  Status Get(std::string_view key, std::string* value) override;
  Status Scan(std::string_view begin, std::string_view end, const ScanFn& fn) override;
  Status Write(const NodeWriteBatch& batch, bool sync) override;

  // Appends the operations of `batch`, in order, to `out` for this store's column
  // family, so that the caller can commit them atomically with its own writes. `out`
  // must have no size limit (WriteBatch max_bytes == 0): a rejected operation would
  // break the atomicity the caller relies on, so it is a broken invariant.
  void AddToWriteBatch(const NodeWriteBatch& batch, rocksdb::WriteBatch* out) const;

  // The database and column family (null after Close).
  rocksdb::DB* db() const { return db_; }
  rocksdb::ColumnFamilyHandle* column_family() const { return column_family_; }

 private:
  RocksNodeStore(std::string name, std::unique_ptr<rocksdb::Env> env, rocksdb::DB* db, bool owned,
                 std::vector<rocksdb::ColumnFamilyHandle*> owned_handles,
                 rocksdb::ColumnFamilyHandle* column_family);

  Status CheckOpen() const;

  // For messages: the path of an owned database, or the column family of an attached one.
  const std::string name_;
  // Declared before db_ so that, should Close not have run, it outlives the database.
  std::unique_ptr<rocksdb::Env> env_;
  rocksdb::DB* db_;
  // False for an attached store: the database and its handles are the caller's.
  bool owned_;
  std::vector<rocksdb::ColumnFamilyHandle*> owned_handles_;
  rocksdb::ColumnFamilyHandle* column_family_;
};

}  // namespace vellum::trie

#endif  // VELLUM_TRIE_ROCKS_NODE_STORE_H_
