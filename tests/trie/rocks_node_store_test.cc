// Copyright (c) Vellum authors.
//
// RocksNodeStore beyond the NodeStore contract (node_store_test.cc runs that): its own
// database and reopening, the column family and its tuning, attaching to a shared
// database, and crashes on a FaultInjectionEnv.

#include "trie/rocks_node_store.h"

#include <gtest/gtest.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "base/fault_injection_env.h"
#include "storage/rocksdb_env.h"
#include "tests/test_util.h"
#include "trie/node_store.h"
#include "vellum/env.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::trie {
namespace {

using Oracle = std::map<std::string, std::string>;

#define ASSERT_ROCKS_OK(expr)                                 \
  do {                                                        \
    const ::rocksdb::Status rs_ = (expr);                     \
    ASSERT_TRUE(rs_.ok()) << #expr << ": " << rs_.ToString(); \
  } while (false)

Oracle ScanAll(NodeStore* store) {
  Oracle out;
  EXPECT_OK(store->Scan("", "", [&](std::string_view k, std::string_view v) {
    out.emplace(std::string(k), std::string(v));
    return true;
  }));
  return out;
}

std::unique_ptr<RocksNodeStore> MustOpen(Env* env, const std::string& path) {
  RocksNodeStoreOptions options;
  options.env = env;
  options.block_cache_bytes = 1 << 20;
  Result<std::unique_ptr<RocksNodeStore>> store = RocksNodeStore::Open(options, path);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return nullptr;
  return std::move(store).value();
}

// A trie-like key: prefix, nibble path, 8-byte big-endian version.
std::string NodeKey(std::string_view path, uint64_t version) {
  std::string k = "t/";
  k += path;
  for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>(version >> shift));
  return k;
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// --- its own database -------------------------------------------------------------

TEST(RocksNodeStore, PersistsAcrossCloseAndReopen) {
  std::unique_ptr<Env> mem = NewMemEnv(1);
  std::mt19937_64 rng(99);
  Oracle oracle;
  {
    std::unique_ptr<RocksNodeStore> store = MustOpen(mem.get(), "/db/nodes");
    ASSERT_NE(store, nullptr);
    for (uint64_t v = 1; v <= 50; ++v) {
      NodeWriteBatch batch;
      for (int i = 0; i < 20; ++i) {
        const std::string k = NodeKey(std::to_string(rng() % 100), v);
        const std::string value = RandomBytes(rng, 50 + rng() % 550);
        batch.Put(k, value);
        oracle[k] = value;
      }
      if (v > 1) {
        const std::string gone = oracle.begin()->first;
        batch.Delete(gone);
        oracle.erase(gone);
      }
      ASSERT_OK(store->Write(batch, /*sync=*/v % 10 == 0));
    }
    // Half of the data in SST files, half only in the WAL.
    ASSERT_ROCKS_OK(store->db()->Flush(rocksdb::FlushOptions(), store->column_family()));
    NodeWriteBatch more;
    more.Put(NodeKey("wal", 51), "only-in-wal");
    oracle[NodeKey("wal", 51)] = "only-in-wal";
    ASSERT_OK(store->Write(more, /*sync=*/false));
    ASSERT_OK(store->Close());
    ASSERT_OK(store->Close());  // Idempotent.
  }
  std::unique_ptr<RocksNodeStore> store = MustOpen(mem.get(), "/db/nodes");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ScanAll(store.get()), oracle);
  std::string value;
  ASSERT_OK(store->Get(NodeKey("wal", 51), &value));
  EXPECT_EQ(value, "only-in-wal");
}

TEST(RocksNodeStore, PersistsOnRocksDbsOwnPosixEnv) {
  std::string tmpl =
      (std::filesystem::path(::testing::TempDir()) / "vellum_rocks_nodes_XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const std::string path = tmpl + "/nodes";
  {
    std::unique_ptr<RocksNodeStore> store = MustOpen(nullptr, path);
    ASSERT_NE(store, nullptr);
    NodeWriteBatch batch;
    batch.Put("k", "v");
    ASSERT_OK(store->Write(batch, /*sync=*/true));
  }  // The destructor closes.
  EXPECT_TRUE(std::filesystem::exists(path + "/CURRENT"));
  {
    std::unique_ptr<RocksNodeStore> store = MustOpen(nullptr, path);
    ASSERT_NE(store, nullptr);
    std::string value;
    ASSERT_OK(store->Get("k", &value));
    EXPECT_EQ(value, "v");
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

TEST(RocksNodeStore, MissingDatabaseWithoutCreateIsAnErrorNamingThePath) {
  std::unique_ptr<Env> mem = NewMemEnv(1);
  RocksNodeStoreOptions options;
  options.env = mem.get();
  options.create_if_missing = false;
  Result<std::unique_ptr<RocksNodeStore>> store = RocksNodeStore::Open(options, "/nowhere");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("/nowhere"), std::string::npos)
      << store.status().ToString();
}

TEST(RocksNodeStore, SecondOpenOfTheSameDatabaseIsUnavailable) {
  std::unique_ptr<Env> mem = NewMemEnv(1);
  std::unique_ptr<RocksNodeStore> first = MustOpen(mem.get(), "/nodes");
  ASSERT_NE(first, nullptr);
  RocksNodeStoreOptions options;
  options.env = mem.get();
  Result<std::unique_ptr<RocksNodeStore>> second = RocksNodeStore::Open(options, "/nodes");
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsUnavailable()) << second.status().ToString();
}

TEST(RocksNodeStore, UseAfterCloseIsFailedPrecondition) {
  std::unique_ptr<Env> mem = NewMemEnv(1);
  std::unique_ptr<RocksNodeStore> store = MustOpen(mem.get(), "/nodes");
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Close());
  std::string value;
  EXPECT_CODE(store->Get("k", &value), kFailedPrecondition);
  EXPECT_CODE(store->Scan("", "", [](std::string_view, std::string_view) { return true; }),
              kFailedPrecondition);
  EXPECT_CODE(store->Write(NodeWriteBatch(), false), kFailedPrecondition);
  EXPECT_EQ(store->db(), nullptr);
}

TEST(RocksNodeStore, DataGoesToTheTrieNodesColumnFamily) {
  std::unique_ptr<Env> mem = NewMemEnv(1);
  std::unique_ptr<RocksNodeStore> store = MustOpen(mem.get(), "/nodes");
  ASSERT_NE(store, nullptr);
  NodeWriteBatch batch;
  batch.Put("k", "v");
  ASSERT_OK(store->Write(batch, false));
  EXPECT_EQ(store->column_family()->GetName(), "trie_nodes");
  std::string value;
  EXPECT_TRUE(store->db()->Get(rocksdb::ReadOptions(), "k", &value).IsNotFound());
  ASSERT_ROCKS_OK(store->db()->Get(rocksdb::ReadOptions(), store->column_family(), "k", &value));
  ASSERT_OK(store->Close());

  std::unique_ptr<rocksdb::Env> rocks_env = storage::NewRocksEnvOnVellumEnv(mem.get());
  rocksdb::DBOptions options;
  options.env = rocks_env.get();
  std::vector<std::string> families;
  ASSERT_ROCKS_OK(rocksdb::DB::ListColumnFamilies(options, "/nodes", &families));
  EXPECT_EQ(families, (std::vector<std::string>{"default", "trie_nodes"}));
}

TEST(RocksNodeStore, ColumnFamilyIsTunedForTrieNodes) {
  std::unique_ptr<Env> mem = NewMemEnv(1);
  std::unique_ptr<RocksNodeStore> store = MustOpen(mem.get(), "/nodes");
  ASSERT_NE(store, nullptr);
  const rocksdb::Options options = store->db()->GetOptions(store->column_family());
  EXPECT_EQ(options.compression, rocksdb::kNoCompression);
  EXPECT_EQ(options.write_buffer_size, size_t{64} << 20);
  EXPECT_TRUE(options.level_compaction_dynamic_level_bytes);
  const auto* table = options.table_factory->GetOptions<rocksdb::BlockBasedTableOptions>();
  ASSERT_NE(table, nullptr);
  ASSERT_NE(table->filter_policy, nullptr);
  std::string filter = table->filter_policy->Name();  // "bloomfilter" in RocksDB 7.8.
  for (char& c : filter) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_NE(filter.find("bloom"), std::string::npos) << filter;
  EXPECT_TRUE(table->whole_key_filtering);
  ASSERT_NE(table->block_cache, nullptr);
  EXPECT_EQ(table->block_cache->GetCapacity(), size_t{1} << 20);
  EXPECT_TRUE(table->cache_index_and_filter_blocks);
  EXPECT_TRUE(table->pin_l0_filter_and_index_blocks_in_cache);

  const rocksdb::ColumnFamilyOptions uncached = RocksNodeStore::TrieColumnFamilyOptions(nullptr);
  const auto* uncached_table =
      uncached.table_factory->GetOptions<rocksdb::BlockBasedTableOptions>();
  ASSERT_NE(uncached_table, nullptr);
  EXPECT_TRUE(uncached_table->no_block_cache);
}

// --- a database shared with the ledger -----------------------------------------------

class SharedDb {
 public:
  // Opens (creating) "/shared" with the column families default, ledger, trie_nodes.
  explicit SharedDb(Env* env) : rocks_env_(storage::NewRocksEnvOnVellumEnv(env)) {}

  rocksdb::Status Open() {
    rocksdb::DBOptions options;
    options.env = rocks_env_.get();
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {"ledger", rocksdb::ColumnFamilyOptions()},
        {RocksNodeStore::kColumnFamilyName,
         RocksNodeStore::TrieColumnFamilyOptions(rocksdb::NewLRUCache(1 << 20))},
    };
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, "/shared", families, &handles_, &db);
    db_.reset(db);
    return s;
  }

  // Releases the handles and deletes the database without closing it first: with the
  // file system inactive, this is the moment of a crash.
  void Drop() {
    for (rocksdb::ColumnFamilyHandle* h : handles_)
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    handles_.clear();
    db_.reset();
  }

  ~SharedDb() {
    if (db_ != nullptr) Drop();
  }

  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* ledger() { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* trie() { return handles_[2]; }

 private:
  std::unique_ptr<rocksdb::Env> rocks_env_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

TEST(RocksNodeStore, AttachesToASharedDatabaseAndWritesAtomicallyWithLedgerData) {
  std::unique_ptr<Env> mem = NewMemEnv(1);
  SharedDb shared(mem.get());
  ASSERT_ROCKS_OK(shared.Open());
  std::unique_ptr<RocksNodeStore> store = RocksNodeStore::Attach(shared.db(), shared.trie());
  EXPECT_EQ(store->db(), shared.db());

  // Through the NodeStore interface.
  NodeWriteBatch nodes;
  nodes.Put("n1", "node-1");
  ASSERT_OK(store->Write(nodes, /*sync=*/true));

  // One batch with ledger data and trie nodes, in order (the put then delete of n2
  // leaves nothing).
  NodeWriteBatch more;
  more.Put("n2", "node-2");
  more.Delete("n2");
  more.Put("n3", "node-3");
  more.Delete("n1");
  rocksdb::WriteBatch batch;
  ASSERT_ROCKS_OK(batch.Put(shared.ledger(), "entry-1", "ledger data"));
  store->AddToWriteBatch(more, &batch);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  ASSERT_ROCKS_OK(shared.db()->Write(sync, &batch));

  EXPECT_EQ(ScanAll(store.get()), (Oracle{{"n3", "node-3"}}));
  std::string value;
  ASSERT_ROCKS_OK(shared.db()->Get(rocksdb::ReadOptions(), shared.ledger(), "entry-1", &value));
  EXPECT_EQ(value, "ledger data");
  // The ledger's column family holds no trie nodes and vice versa.
  EXPECT_TRUE(shared.db()->Get(rocksdb::ReadOptions(), shared.ledger(), "n3", &value).IsNotFound());
  EXPECT_CODE(store->Get("entry-1", &value), kNotFound);

  // Detaching leaves the database open and usable.
  ASSERT_OK(store->Close());
  EXPECT_EQ(store->db(), nullptr);
  store.reset();
  ASSERT_ROCKS_OK(shared.db()->Get(rocksdb::ReadOptions(), shared.trie(), "n3", &value));
  EXPECT_EQ(value, "node-3");
}

// The ledger's batches (ledger entry + trie nodes) survive a crash whole or not at all,
// and in order, with torn writes.
TEST(RocksNodeStore, SharedBatchesStayAtomicAcrossCrashes) {
  for (uint64_t seed = 1; seed <= 15; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    std::unique_ptr<Env> mem = NewMemEnv(seed);
    FaultInjectionEnv fault(mem.get(), seed);
    fault.SetTornWrites(true);
    std::mt19937_64 rng(seed);
    const int n = 1 + static_cast<int>(rng() % 30);
    int last_synced = -1;
    {
      SharedDb shared(&fault);
      ASSERT_ROCKS_OK(shared.Open());
      std::unique_ptr<RocksNodeStore> store = RocksNodeStore::Attach(shared.db(), shared.trie());
      for (int i = 0; i < n; ++i) {
        NodeWriteBatch nodes;
        for (int j = 0; j < 5; ++j) nodes.Put(NodeKey(std::to_string(j), i), RandomBytes(rng, 64));
        rocksdb::WriteBatch batch;
        ASSERT_ROCKS_OK(batch.Put(shared.ledger(), "entry-" + std::to_string(i), "e"));
        store->AddToWriteBatch(nodes, &batch);
        rocksdb::WriteOptions options;
        options.sync = rng() % 4 == 0;
        ASSERT_ROCKS_OK(shared.db()->Write(options, &batch));
        if (options.sync) last_synced = i;
      }
      fault.SetFilesystemActive(false);
      store.reset();
      shared.Drop();
    }
    fault.SetFilesystemActive(true);
    ASSERT_OK(fault.DropUnsyncedData());

    SharedDb shared(&fault);
    ASSERT_ROCKS_OK(shared.Open());
    std::unique_ptr<RocksNodeStore> store = RocksNodeStore::Attach(shared.db(), shared.trie());
    int k = 0;  // Batches 0..k-1 survived.
    for (; k < n; ++k) {
      std::string value;
      if (!shared.db()
               ->Get(rocksdb::ReadOptions(), shared.ledger(), "entry-" + std::to_string(k), &value)
               .ok()) {
        break;
      }
    }
    EXPECT_GT(k, last_synced);
    for (int i = 0; i < n; ++i) {
      std::string value;
      const bool ledger =
          shared.db()
              ->Get(rocksdb::ReadOptions(), shared.ledger(), "entry-" + std::to_string(i), &value)
              .ok();
      EXPECT_EQ(ledger, i < k) << "batch " << i;
      for (int j = 0; j < 5; ++j) {
        const Status s = store->Get(NodeKey(std::to_string(j), i), &value);
        EXPECT_EQ(s.ok(), i < k) << "batch " << i << " node " << j << ": " << s.ToString();
      }
    }
  }
}

// --- crashes of an owned database -----------------------------------------------------

class RocksNodeStoreCrash {
 public:
  explicit RocksNodeStoreCrash(uint64_t seed, bool torn)
      : mem_(NewMemEnv(seed)), fault_(mem_.get(), seed) {
    fault_.SetTornWrites(torn);
  }

  std::unique_ptr<RocksNodeStore> Open() { return MustOpen(&fault_, "/nodes"); }

  // Power loss with `store` open: its shutdown writes fail. Then recovery.
  void Crash(std::unique_ptr<RocksNodeStore> store) {
    fault_.SetFilesystemActive(false);
    store.reset();
    fault_.SetFilesystemActive(true);
    ASSERT_OK(fault_.DropUnsyncedData());
  }

  FaultInjectionEnv& fault() { return fault_; }

 private:
  std::unique_ptr<Env> mem_;
  FaultInjectionEnv fault_;
};

TEST(RocksNodeStore, SyncedWriteSurvivesPowerLoss) {
  for (bool torn : {false, true}) {
    SCOPED_TRACE(torn ? "torn writes" : "clean cuts");
    RocksNodeStoreCrash crash(7, torn);
    std::unique_ptr<RocksNodeStore> store = crash.Open();
    ASSERT_NE(store, nullptr);
    Oracle oracle;
    for (int i = 0; i < 20; ++i) {
      NodeWriteBatch batch;
      batch.Put(NodeKey("a", i), "node" + std::to_string(i));
      oracle[NodeKey("a", i)] = "node" + std::to_string(i);
      if (i > 0) {
        batch.Delete(NodeKey("a", i - 1));
        oracle.erase(NodeKey("a", i - 1));
      }
      ASSERT_OK(store->Write(batch, /*sync=*/true));
      if (i == 10) {
        ASSERT_ROCKS_OK(store->db()->Flush(rocksdb::FlushOptions(), store->column_family()));
      }
    }
    ASSERT_NO_FATAL_FAILURE(crash.Crash(std::move(store)));
    store = crash.Open();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(ScanAll(store.get()), oracle);
  }
}

// Random batches (puts and deletes, some synced), a crash, and recovery: the store must
// equal the state after some prefix of the batches, at least up to the last synced one.
// Never a part of a batch.
TEST(RocksNodeStore, BatchIsNeverPartiallyVisibleAfterACrash) {
  int lost_some = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    std::mt19937_64 rng(seed);
    RocksNodeStoreCrash crash(seed, /*torn=*/true);
    std::unique_ptr<RocksNodeStore> store = crash.Open();
    ASSERT_NE(store, nullptr);

    std::vector<Oracle> states = {Oracle()};  // states[i]: after i batches.
    const int n = 1 + static_cast<int>(rng() % 25);
    size_t last_synced = 0;
    const int flush_at = rng() % 3 == 0 ? static_cast<int>(rng() % n) : -1;
    for (int i = 0; i < n; ++i) {
      Oracle next = states.back();
      NodeWriteBatch batch;
      const int ops = 1 + static_cast<int>(rng() % 20);
      for (int j = 0; j < ops; ++j) {
        const std::string k = NodeKey(std::to_string(rng() % 16), rng() % 4);
        if (rng() % 3 == 0) {
          batch.Delete(k);
          next.erase(k);
        } else {
          const std::string v = RandomBytes(rng, 50 + rng() % 550);
          batch.Put(k, v);
          next[k] = v;
        }
      }
      const bool sync = rng() % 5 == 0;
      ASSERT_OK(store->Write(batch, sync));
      states.push_back(std::move(next));
      if (sync) last_synced = states.size() - 1;
      if (i == flush_at) {
        ASSERT_ROCKS_OK(store->db()->Flush(rocksdb::FlushOptions(), store->column_family()));
        last_synced = states.size() - 1;  // A flush makes everything before it durable.
      }
    }
    ASSERT_NO_FATAL_FAILURE(crash.Crash(std::move(store)));
    store = crash.Open();
    ASSERT_NE(store, nullptr);
    const Oracle recovered = ScanAll(store.get());
    // The latest matching state: an earlier state can equal a later one by chance
    // (say, a batch that only deletes absent keys), and the later is the one to judge.
    int match = -1;
    for (size_t i = states.size(); i-- > 0;) {
      if (states[i] == recovered) {
        match = static_cast<int>(i);
        break;
      }
    }
    ASSERT_GE(match, 0) << "recovered state (" << recovered.size()
                        << " entries) is no prefix of the batches";
    EXPECT_GE(static_cast<size_t>(match), last_synced);
    if (static_cast<size_t>(match) + 1 < states.size()) ++lost_some;
  }
  // Otherwise the crash would not be testing anything.
  EXPECT_GT(lost_some, 0);
}

}  // namespace
}  // namespace vellum::trie
