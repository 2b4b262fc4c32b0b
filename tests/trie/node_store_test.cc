// Copyright (c) Vellum authors.
//
// The NodeStore contract, run against MemNodeStore and RocksNodeStore (on a MemEnv and
// on the POSIX Env), plus MemNodeStore's own extras. RocksNodeStore's persistence,
// shared-database and crash behaviour are in rocks_node_store_test.cc.

#include "trie/node_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "tests/test_util.h"
#include "trie/rocks_node_store.h"
#include "vellum/env.h"
#include "vellum/status.h"

namespace vellum::trie {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;
using Oracle = std::map<std::string, std::string>;

enum class StoreKind { kMem, kRocksOnMemEnv, kRocksOnPosix };

std::string KindName(const ::testing::TestParamInfo<StoreKind>& param_info) {
  switch (param_info.param) {
    case StoreKind::kMem:
      return "Map";
    case StoreKind::kRocksOnMemEnv:
      return "OnMemEnv";
    case StoreKind::kRocksOnPosix:
      return "OnPosix";
  }
  return "?";
}

class NodeStoreContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    switch (GetParam()) {
      case StoreKind::kMem:
        store_ = std::make_unique<MemNodeStore>();
        break;
      case StoreKind::kRocksOnMemEnv: {
        mem_env_ = NewMemEnv(5);
        RocksNodeStoreOptions options;
        options.env = mem_env_.get();
        options.block_cache_bytes = 1 << 20;
        Result<std::unique_ptr<RocksNodeStore>> store = RocksNodeStore::Open(options, "/nodes");
        ASSERT_OK(store.status());
        store_ = std::move(store).value();
        break;
      }
      case StoreKind::kRocksOnPosix: {
        std::string tmpl =
            (std::filesystem::path(::testing::TempDir()) / "vellum_node_store_XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        posix_root_ = tmpl;
        RocksNodeStoreOptions options;  // env == nullptr: RocksDB's own POSIX Env.
        Result<std::unique_ptr<RocksNodeStore>> store =
            RocksNodeStore::Open(options, posix_root_ + "/nodes");
        ASSERT_OK(store.status());
        store_ = std::move(store).value();
        break;
      }
    }
  }

  void TearDown() override {
    store_.reset();
    if (!posix_root_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(posix_root_, ec);
    }
  }

  Entries ScanAll(std::string_view begin, std::string_view end) {
    Entries out;
    EXPECT_OK(store_->Scan(begin, end, [&](std::string_view k, std::string_view v) {
      out.emplace_back(std::string(k), std::string(v));
      return true;
    }));
    return out;
  }

  std::vector<std::string> Keys(std::string_view begin, std::string_view end) {
    std::vector<std::string> keys;
    for (auto& [k, v] : ScanAll(begin, end)) keys.push_back(k);
    return keys;
  }

  void Put(const std::string& k, const std::string& v) {
    NodeWriteBatch batch;
    batch.Put(k, v);
    ASSERT_OK(store_->Write(batch, /*sync=*/false));
  }

  std::unique_ptr<Env> mem_env_;
  std::string posix_root_;
  std::unique_ptr<NodeStore> store_;
};

INSTANTIATE_TEST_SUITE_P(MemNodeStore, NodeStoreContract, ::testing::Values(StoreKind::kMem),
                         KindName);
INSTANTIATE_TEST_SUITE_P(RocksNodeStore, NodeStoreContract,
                         ::testing::Values(StoreKind::kRocksOnMemEnv, StoreKind::kRocksOnPosix),
                         KindName);

using std::string_literals::operator""s;

TEST_P(NodeStoreContract, GetOfMissingKeyIsNotFound) {
  std::string value;
  EXPECT_CODE(store_->Get("absent", &value), kNotFound);
  Put("present", "v");
  EXPECT_CODE(store_->Get("absent", &value), kNotFound);
  EXPECT_CODE(store_->Get("presen", &value), kNotFound);
  EXPECT_CODE(store_->Get("present\0"s, &value), kNotFound);
  EXPECT_CODE(store_->Get("", &value), kNotFound);
}

TEST_P(NodeStoreContract, PutThenGetAndOverwrite) {
  Put("k", "v1");
  std::string value;
  ASSERT_OK(store_->Get("k", &value));
  EXPECT_EQ(value, "v1");
  Put("k", "v2");
  ASSERT_OK(store_->Get("k", &value));
  EXPECT_EQ(value, "v2");
}

TEST_P(NodeStoreContract, BinaryKeysAndValuesRoundTrip) {
  const std::string key = "\x00\xff\x01key\x00"s;
  std::string big(600, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 37);
  Put(key, big);
  Put("empty-value", "");
  std::string value;
  ASSERT_OK(store_->Get(key, &value));
  EXPECT_EQ(value, big);
  ASSERT_OK(store_->Get("empty-value", &value));
  EXPECT_EQ(value, "");
}

TEST_P(NodeStoreContract, WriteAppliesOperationsInOrder) {
  Put("deleted-then-put", "old");
  Put("untouched", "u");
  NodeWriteBatch batch;
  batch.Put("put-then-delete", "x");
  batch.Delete("put-then-delete");
  batch.Delete("deleted-then-put");
  batch.Put("deleted-then-put", "new");
  batch.Put("put-twice", "first");
  batch.Put("put-twice", "second");
  batch.Delete("never-existed");
  ASSERT_OK(store_->Write(batch, /*sync=*/true));

  std::string value;
  EXPECT_CODE(store_->Get("put-then-delete", &value), kNotFound);
  ASSERT_OK(store_->Get("deleted-then-put", &value));
  EXPECT_EQ(value, "new");
  ASSERT_OK(store_->Get("put-twice", &value));
  EXPECT_EQ(value, "second");
  ASSERT_OK(store_->Get("untouched", &value));
  EXPECT_EQ(value, "u");
  EXPECT_EQ(Keys("", ""), (std::vector<std::string>{"deleted-then-put", "put-twice", "untouched"}));
}

TEST_P(NodeStoreContract, EmptyBatchIsANoOp) {
  Put("a", "1");
  ASSERT_OK(store_->Write(NodeWriteBatch(), /*sync=*/false));
  ASSERT_OK(store_->Write(NodeWriteBatch(), /*sync=*/true));
  EXPECT_EQ(ScanAll("", ""), (Entries{{"a", "1"}}));
}

TEST_P(NodeStoreContract, ScanIsHalfOpenAndInByteOrder) {
  // Inserted out of order; bytes >= 0x80 must sort after ASCII (unsigned comparison).
  for (const std::string& k : {"b"s, "a"s, "\xff"s, "ab"s, "a\0"s, "c"s, "\x80x"s, "bb"s, "B"s}) {
    Put(k, "v" + k);
  }
  EXPECT_EQ(Keys("", ""),
            (std::vector<std::string>{"B", "a", "a\0"s, "ab", "b", "bb", "c", "\x80x", "\xff"}));
  // begin inclusive, end exclusive.
  EXPECT_EQ(Keys("a", "b"), (std::vector<std::string>{"a", "a\0"s, "ab"}));
  EXPECT_EQ(Keys("a\0"s, "ab"), (std::vector<std::string>{"a\0"s}));
  EXPECT_EQ(Keys("aa", "bb"), (std::vector<std::string>{"ab", "b"}));
  EXPECT_EQ(Keys("b", "b\0"s), (std::vector<std::string>{"b"}));
  // Bounds that are not keys.
  EXPECT_EQ(Keys("0", "A"), (std::vector<std::string>{}));
  EXPECT_EQ(Keys("bc", "d"), (std::vector<std::string>{"c"}));
  // Values come along.
  EXPECT_EQ(ScanAll("c", "d"), (Entries{{"c", "vc"}}));
}

TEST_P(NodeStoreContract, EmptyEndMeansUnbounded) {
  for (const std::string& k : {"a"s, "m"s, "z"s, "\xff\xff"s}) Put(k, "v");
  EXPECT_EQ(Keys("m", ""), (std::vector<std::string>{"m", "z", "\xff\xff"}));
  EXPECT_EQ(Keys("", ""), (std::vector<std::string>{"a", "m", "z", "\xff\xff"}));
  EXPECT_EQ(Keys("\xff\xff\xff", ""), (std::vector<std::string>{}));
}

TEST_P(NodeStoreContract, EmptyOrInvertedRangeYieldsNothing) {
  for (const std::string& k : {"a"s, "b"s, "c"s}) Put(k, "v");
  EXPECT_EQ(Keys("b", "b"), (std::vector<std::string>{}));
  EXPECT_EQ(Keys("c", "a"), (std::vector<std::string>{}));
}

TEST_P(NodeStoreContract, ScanStopsWhenFnReturnsFalse) {
  for (int i = 0; i < 100; ++i) Put("k" + std::to_string(1000 + i), "v");
  std::vector<std::string> seen;
  ASSERT_OK(store_->Scan("k1010", "", [&](std::string_view k, std::string_view) {
    seen.emplace_back(k);
    return seen.size() < 3;
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{"k1010", "k1011", "k1012"}));
  // Stopping at once.
  int calls = 0;
  ASSERT_OK(store_->Scan("", "", [&](std::string_view, std::string_view) {
    ++calls;
    return false;
  }));
  EXPECT_EQ(calls, 1);
}

TEST_P(NodeStoreContract, FnMayCallIntoTheStore) {
  for (int i = 0; i < 50; ++i) Put("k" + std::to_string(100 + i), std::to_string(i));
  int visited = 0;
  // The status is taken out of the assertion: the callback asserts too.
  const Status scan = store_->Scan("k", "l", [&](std::string_view k, std::string_view v) {
    std::string value;
    EXPECT_OK(store_->Get(k, &value));
    EXPECT_EQ(value, v);
    NodeWriteBatch batch;
    batch.Put("other/" + std::string(k), "x");
    EXPECT_OK(store_->Write(batch, /*sync=*/false));
    ++visited;
    return true;
  });
  ASSERT_OK(scan);
  EXPECT_EQ(visited, 50);
  EXPECT_EQ(Keys("other/", "other0").size(), 50u);
}

TEST_P(NodeStoreContract, RandomBatchesMatchAnOracle) {
  const uint64_t seed = 20240601;
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937_64 rng(seed);
  Oracle oracle;
  auto key = [&] {
    // Short keys with a shared prefix and an 8-byte big-endian "version" suffix, like
    // the trie's, from a small space so that overwrites and deletes hit.
    std::string k = "n/" + std::string(1 + rng() % 3, static_cast<char>('0' + rng() % 4));
    const uint64_t version = rng() % 8;
    for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>(version >> shift));
    return k;
  };
  for (int b = 0; b < 300; ++b) {
    NodeWriteBatch batch;
    const int ops = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < ops; ++i) {
      const std::string k = key();
      if (rng() % 3 == 0) {
        batch.Delete(k);
        oracle.erase(k);
      } else {
        std::string v(50 + rng() % 550, '\0');
        for (char& c : v) c = static_cast<char>(rng());
        batch.Put(k, v);
        oracle[k] = v;
      }
    }
    ASSERT_OK(store_->Write(batch, /*sync=*/rng() % 10 == 0));
  }
  EXPECT_EQ(ScanAll("", ""), Entries(oracle.begin(), oracle.end()));
  // Every key of the space by Get, and a few random ranges by Scan.
  for (int i = 0; i < 500; ++i) {
    const std::string k = key();
    std::string value;
    const Status s = store_->Get(k, &value);
    auto it = oracle.find(k);
    if (it == oracle.end()) {
      EXPECT_TRUE(s.IsNotFound()) << s.ToString();
    } else {
      ASSERT_OK(s);
      EXPECT_EQ(value, it->second);
    }
  }
  for (int i = 0; i < 50; ++i) {
    std::string a = key();
    std::string b = rng() % 4 == 0 ? std::string() : key();
    Entries expected;
    for (auto it = oracle.lower_bound(a); it != oracle.end() && (b.empty() || it->first < b);
         ++it) {
      expected.push_back(*it);
    }
    EXPECT_EQ(ScanAll(a, b), expected) << "range " << i;
  }
}

TEST_P(NodeStoreContract, LongScanSeesEveryEntryOnce) {
  Oracle oracle;
  NodeWriteBatch batch;
  for (int i = 0; i < 5000; ++i) {
    const std::string k = "key" + std::to_string(i);
    batch.Put(k, std::to_string(i * 7));
    oracle[k] = std::to_string(i * 7);
  }
  ASSERT_OK(store_->Write(batch, /*sync=*/false));
  EXPECT_EQ(ScanAll("", ""), Entries(oracle.begin(), oracle.end()));
  EXPECT_EQ(ScanAll("key2", "key3"),
            Entries(oracle.lower_bound("key2"), oracle.lower_bound("key3")));
}

// Readers run against one writer. Each batch rewrites the group "g/0".."g/9" with the
// generation number; readers must only ever see whole values of some generation.
TEST_P(NodeStoreContract, ConcurrentReadersWithOneWriter) {
  std::atomic<bool> done{false};
  auto writer = std::thread([&] {
    for (int gen = 0; gen < 300; ++gen) {
      NodeWriteBatch batch;
      for (int i = 0; i < 10; ++i) batch.Put("g/" + std::to_string(i), "gen" + std::to_string(gen));
      if (gen % 3 == 0) batch.Delete("g/" + std::to_string(gen % 10));
      EXPECT_OK(store_->Write(batch, /*sync=*/false));
    }
    done = true;
  });
  auto reader = [&] {
    while (!done) {
      EXPECT_OK(store_->Scan("g/", "g0", [&](std::string_view k, std::string_view v) {
        EXPECT_EQ(k.substr(0, 2), "g/");
        EXPECT_EQ(v.substr(0, 3), "gen");
        return true;
      }));
      std::string value;
      const Status s = store_->Get("g/5", &value);
      EXPECT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
    }
  };
  std::thread r1(reader);
  std::thread r2(reader);
  writer.join();
  r1.join();
  r2.join();
  EXPECT_EQ(Keys("g/", "g0").size(), 10u);
}

// --- MemNodeStore extras -------------------------------------------------------------

TEST(MemNodeStore, SizeAndEntriesForTesting) {
  MemNodeStore store;
  EXPECT_EQ(store.size(), 0u);
  NodeWriteBatch batch;
  batch.Put("a", "1");
  batch.Put("b", "2");
  batch.Delete("a");
  ASSERT_OK(store.Write(batch, /*sync=*/false));
  EXPECT_EQ(store.size(), 1u);
  store.entries_for_testing()["b"] = "corrupted";
  std::string value;
  ASSERT_OK(store.Get("b", &value));
  EXPECT_EQ(value, "corrupted");
}

TEST(MemNodeStore, BatchByteSizeCountsKeysAndValues) {
  NodeWriteBatch batch;
  EXPECT_EQ(batch.ByteSize(), 0u);
  batch.Put("key", "value");  // 3 + 5
  batch.Delete("gone");       // 4
  batch.Put("", "");          // 0
  EXPECT_EQ(batch.ByteSize(), 12u);
}

}  // namespace
}  // namespace vellum::trie
