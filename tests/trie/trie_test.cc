// Copyright (c) Vellum authors.

#include "trie/trie.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "tests/test_util.h"
#include "tests/trie/scheme_param.h"
#include "tests/trie/trie_test_util.h"

namespace vellum::trie {
namespace {

using crypto::Hash256;

Bytes B(std::string_view s) { return ToBytes(s); }

using ::vellum::testing::RandomBytes;

class TrieTest : public ::testing::TestWithParam<TrieScheme> {
 protected:
  std::unique_ptr<Trie> OpenTrie(size_t cache_bytes = 1 << 20, TaskRunner* runner = nullptr) {
    TrieOptions options;
    options.scheme = GetParam();
    options.cache_bytes = cache_bytes;
    options.task_runner = runner;
    options.parallel_hash_min_ops = 64;
    options.max_embedded_leaf_bytes = max_embedded_leaf_bytes_;
    auto trie = Trie::Open(options, &store_);
    EXPECT_TRUE(trie.ok()) << trie.status().ToString();
    return trie.ok() ? std::move(trie).value() : nullptr;
  }

  static Hash256 CommitAll(Trie* trie, uint64_t version, const std::vector<TrieOp>& ops) {
    auto info = trie->Commit(version, ops);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return info.ok() ? info->root.hash : Hash256{};
  }

  // Flips one byte of every stored node record in turn; see the tests below.
  void CheckEveryDamagedNodeIsReported();

  MemNodeStore store_;
  size_t max_embedded_leaf_bytes_ = 0;
};

TEST_P(TrieTest, EmptyTrie) {
  auto trie = OpenTrie();
  EXPECT_EQ(trie->LatestVersion(), 0u);
  EXPECT_EQ(trie->LatestRoot().hash, EmptyRoot(GetParam()));
  auto got = trie->Get(0, B("missing"));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  auto proof = trie->Prove(0, B("missing"));
  ASSERT_TRUE(proof.ok());
  auto checked = VerifyProof(GetParam(), EmptyRoot(GetParam()), B("missing"), *proof);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_FALSE(checked->has_value());
  int count = 0;
  ASSERT_OK(trie->ForEach(0, [&](ByteView, ByteView) { return ++count > 0; }));
  EXPECT_EQ(count, 0);
}

TEST_P(TrieTest, EthereumEmptyRootIsKnown) {
  if (GetParam() != TrieScheme::kEthereum) GTEST_SKIP();
  EXPECT_EQ(HexEncode(EmptyRoot(TrieScheme::kEthereum)),
            "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421");
}

TEST_P(TrieTest, InsertThenDeleteRestoresTheRoot) {
  std::mt19937_64 rng(7);
  std::vector<TrieOp> base;
  for (int i = 0; i < 200; ++i) base.push_back({RandomBytes(rng, 1 + rng() % 6), B("v")});
  auto trie = OpenTrie();
  const Hash256 without = CommitAll(trie.get(), 1, base);
  for (int i = 0; i < 50; ++i) {
    const Bytes extra = RandomBytes(rng, 1 + rng() % 6);
    bool present = false;
    for (const auto& op : base) present |= op.key == extra;
    if (present) continue;
    const uint64_t v = trie->LatestVersion();
    const Hash256 with = CommitAll(trie.get(), v + 1, {{extra, B("x")}});
    EXPECT_NE(with, without);
    EXPECT_EQ(CommitAll(trie.get(), v + 2, {{extra, {}}}), without) << "key " << HexEncode(extra);
  }
}

TEST_P(TrieTest, RootIsIndependentOfBatchingAndOrder) {
  std::mt19937_64 rng(11);
  std::map<Bytes, Bytes> unique;
  while (unique.size() < 300)
    unique[RandomBytes(rng, 1 + rng() % 8)] = RandomBytes(rng, 1 + rng() % 40);
  std::vector<TrieOp> ops;
  for (const auto& [k, v] : unique) ops.push_back({k, v});
  auto one = OpenTrie();
  const Hash256 all_at_once = CommitAll(one.get(), 1, ops);

  MemNodeStore other_store;
  TrieOptions options;
  options.scheme = GetParam();
  auto other = Trie::Open(options, &other_store);
  ASSERT_TRUE(other.ok());
  std::shuffle(ops.begin(), ops.end(), rng);
  uint64_t version = 0;
  for (size_t i = 0; i < ops.size(); i += 17) {
    std::vector<TrieOp> chunk(ops.begin() + static_cast<long>(i),
                              ops.begin() + static_cast<long>(std::min(i + 17, ops.size())));
    ASSERT_TRUE((*other)->Commit(++version, chunk).ok());
  }
  EXPECT_EQ((*other)->LatestRoot().hash, all_at_once);
}

TEST_P(TrieTest, LastOperationForAKeyWins) {
  auto trie = OpenTrie();
  CommitAll(trie.get(), 1, {{B("k"), B("1")}, {B("k"), B("2")}, {B("j"), B("x")}, {B("j"), {}}});
  auto k = trie->Get(1, B("k"));
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(**k, B("2"));
  auto j = trie->Get(1, B("j"));
  ASSERT_TRUE(j.ok());
  EXPECT_FALSE(j->has_value());
}

TEST_P(TrieTest, VersionsStayReadable) {
  auto trie = OpenTrie();
  std::vector<Hash256> roots;
  for (uint64_t v = 1; v <= 20; ++v) {
    roots.push_back(CommitAll(
        trie.get(), v * 10,
        {{B("key"), B("value " + std::to_string(v))}, {B("k" + std::to_string(v)), B("x")}}));
  }
  EXPECT_EQ(trie->LatestVersion(), 200u);
  for (uint64_t v = 1; v <= 20; ++v) {
    auto got = trie->Get(v * 10, B("key"));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(**got, B("value " + std::to_string(v)));
    // Versions between commits read the state of the last commit before them.
    auto between = trie->Get(v * 10 + 5, B("key"));
    if (v < 20) {
      ASSERT_TRUE(between.ok());
      EXPECT_EQ(**between, B("value " + std::to_string(v)));
    }
    auto later_key = trie->Get(v * 10, B("k" + std::to_string(v + 1)));
    ASSERT_TRUE(later_key.ok());
    EXPECT_FALSE(later_key->has_value());
    auto root = trie->RootAt(v * 10);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(root->hash, roots[v - 1]);
  }
  auto before_first = trie->Get(5, B("key"));
  ASSERT_TRUE(before_first.ok());
  EXPECT_FALSE(before_first->has_value());
  EXPECT_TRUE(trie->RootAt(201).status().IsNotFound());
  EXPECT_TRUE(trie->Commit(200, {{B("a"), B("b")}}).status().IsInvalidArgument());
  EXPECT_TRUE(trie->Commit(150, {{B("a"), B("b")}}).status().IsInvalidArgument());
}

TEST_P(TrieTest, NoOpBatchWritesNoNodes) {
  auto trie = OpenTrie();
  const Hash256 root = CommitAll(trie.get(), 1, {{B("a"), B("1")}, {B("b"), B("2")}});
  auto info = trie->Commit(2, {{B("a"), B("1")}, {B("zzz"), {}}});
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->root.hash, root);
  EXPECT_EQ(info->nodes_written, 0u);
  EXPECT_EQ(info->root.node_version, 1u);
}

TEST_P(TrieTest, PrepareWithoutInstallChangesNothing) {
  auto trie = OpenTrie();
  const Hash256 root = CommitAll(trie.get(), 1, {{B("a"), B("1")}});
  const size_t entries_before = store_.size();
  auto prepared = trie->Prepare(2, {{B("b"), B("2")}});
  ASSERT_TRUE(prepared.ok());
  EXPECT_NE(prepared->info.root.hash, root);
  EXPECT_EQ(trie->LatestVersion(), 1u);
  EXPECT_EQ(store_.size(), entries_before);
  // Another commit lands first: installing the stale preparation is refused.
  CommitAll(trie.get(), 2, {{B("c"), B("3")}});
  EXPECT_TRUE(trie->Install(std::move(prepared).value()).IsFailedPrecondition());
  auto b = trie->Get(2, B("b"));
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value());
}

TEST_P(TrieTest, TwoPhaseCommitThroughTheCaller) {
  auto trie = OpenTrie();
  auto prepared = trie->Prepare(1, {{B("a"), B("1")}, {B("b"), B("2")}});
  ASSERT_TRUE(prepared.ok());
  ASSERT_OK(store_.Write(prepared->batch, false));
  ASSERT_OK(trie->Install(std::move(prepared).value()));
  auto got = trie->Get(1, B("b"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(**got, B("2"));
}

TEST_P(TrieTest, ParallelBatchesGiveTheSameTrie) {
  std::mt19937_64 rng(3);
  auto sequential = OpenTrie();
  MemNodeStore parallel_store;
  std::unique_ptr<TaskRunner> runner = NewThreadPoolTaskRunner(2);
  TrieOptions options;
  options.scheme = GetParam();
  options.task_runner = runner.get();
  options.parallel_hash_min_ops = 1;
  auto parallel = Trie::Open(options, &parallel_store);
  ASSERT_TRUE(parallel.ok());
  std::vector<Bytes> keys;
  for (uint64_t v = 1; v <= 12; ++v) {
    std::vector<TrieOp> ops;
    for (int i = 0; i < 700; ++i) {
      TrieOp op;
      if (!keys.empty() && rng() % 3 == 0) {
        op.key = keys[rng() % keys.size()];  // overwrite or delete
        if (rng() % 2) op.value = RandomBytes(rng, 1 + rng() % 40);
      } else {
        op.key = RandomBytes(rng, 1 + rng() % 32);
        keys.push_back(op.key);
        op.value = RandomBytes(rng, 1 + rng() % 40);
      }
      ops.push_back(std::move(op));
    }
    if (v == 12) {
      // Delete nearly everything: the root must collapse exactly as sequentially.
      ops.clear();
      for (size_t i = 1; i < keys.size(); ++i) ops.push_back({keys[i], {}});
    }
    const Hash256 a = CommitAll(sequential.get(), v, ops);
    auto info = (*parallel)->Commit(v, ops);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    ASSERT_EQ(info->root.hash, a) << "version " << v;
  }
  // Same nodes stored, once garbage is pruned (a collapsing root can leave a node of
  // its own version behind, listed as stale).
  ASSERT_OK(sequential->Prune(12));
  ASSERT_OK((*parallel)->Prune(12));
  EXPECT_EQ(parallel_store.size(), store_.size());
}

// Dense branches keep a memo of their slot tree's upper levels, which a copied branch
// reuses for the slots a batch did not touch. Many small commits of updates and deletes
// over dense branches, with the trie reopened part-way (memos of decoded nodes), must
// give exactly the roots and proofs of the same state built in one batch.
TEST_P(TrieTest, SmallCommitsOverDenseBranchesMatchOneShotRoots) {
  std::mt19937_64 rng(11);
  std::map<Bytes, Bytes> state;
  std::unique_ptr<Trie> trie = OpenTrie();
  for (uint64_t version = 1; version <= 120; ++version) {
    if (version == 60) trie = OpenTrie();  // nodes now come decoded from the store
    std::vector<TrieOp> ops;
    const size_t count = 1 + rng() % 6;
    for (size_t i = 0; i < count; ++i) {
      // Two-byte keys: the top two levels of branches fill up.
      Bytes key = RandomBytes(rng, 2);
      Bytes value = (!state.empty() && rng() % 4 == 0) ? Bytes() : RandomBytes(rng, 1 + rng() % 8);
      if (value.empty()) {
        key = std::next(state.begin(), static_cast<ptrdiff_t>(rng() % state.size()))->first;
        state.erase(key);
      } else {
        state[key] = value;
      }
      ops.push_back({std::move(key), std::move(value)});
    }
    const Hash256 root = CommitAll(trie.get(), version, ops);
    if (version % 20 != 0) continue;
    MemNodeStore fresh_store;
    TrieOptions options;
    options.scheme = GetParam();
    auto fresh = Trie::Open(options, &fresh_store);
    ASSERT_TRUE(fresh.ok());
    std::vector<TrieOp> all;
    for (const auto& [k, v] : state) all.push_back({k, v});
    ASSERT_EQ(CommitAll(fresh->get(), 1, all), root) << "version " << version;
    for (const auto& [k, v] : state) {
      auto proof = trie->Prove(version, k);
      ASSERT_TRUE(proof.ok());
      auto checked = VerifyProof(GetParam(), root, k, *proof);
      ASSERT_TRUE(checked.ok()) << checked.status().ToString();
      ASSERT_TRUE(checked->has_value());
      EXPECT_EQ(**checked, v);
    }
  }
}

TEST_P(TrieTest, CorruptedNodeIsReportedWithVersionAndPath) { CheckEveryDamagedNodeIsReported(); }

// The same with leaves stored inside their branches' records: damage to a leaf's bytes
// there is caught against the hash the branch holds for it.
TEST_P(TrieTest, CorruptedEmbeddedLeafIsReportedWithVersionAndPath) {
  max_embedded_leaf_bytes_ = 256;
  CheckEveryDamagedNodeIsReported();
}

void TrieTest::CheckEveryDamagedNodeIsReported() {
  std::mt19937_64 rng(5);
  std::vector<TrieOp> ops;
  std::vector<Bytes> keys;
  for (int i = 0; i < 150; ++i) {
    keys.push_back(RandomBytes(rng, 32));
    ops.push_back({keys.back(), RandomBytes(rng, 40)});
  }
  {
    auto trie = OpenTrie(0);
    CommitAll(trie.get(), 7, ops);
  }
  // Flip one byte in every stored node record in turn; a fresh trie (no cache) must
  // report Corruption for some read and never return a wrong value.
  auto& entries = store_.entries_for_testing();
  std::vector<std::string> node_keys;
  for (const auto& [k, v] : entries) {
    if (KindOfKey(k) == StoredKind::kNode) node_keys.push_back(k);
  }
  ASSERT_FALSE(node_keys.empty());
  for (const std::string& node_key : node_keys) {
    std::string& record = entries[node_key];
    const size_t pos = rng() % record.size();
    record[pos] = static_cast<char>(record[pos] ^ 0x20);
    auto trie = OpenTrie(0);
    bool saw_corruption = false;
    for (const auto& op : ops) {
      auto got = trie->Get(7, op.key);
      if (!got.ok()) {
        EXPECT_TRUE(got.status().IsCorruption()) << got.status().ToString();
        EXPECT_NE(got.status().message().find("version 7"), std::string::npos)
            << got.status().message();
        EXPECT_NE(got.status().message().find("path"), std::string::npos);
        saw_corruption = true;
      } else {
        ASSERT_TRUE(got->has_value());
        EXPECT_EQ(**got, op.value);
      }
    }
    EXPECT_TRUE(saw_corruption) << "damage to " << HexEncode(AsBytes(node_key)) << " went unseen";
    record[pos] = static_cast<char>(record[pos] ^ 0x20);
  }
  // A missing node is Corruption too.
  const std::string victim = node_keys.back();
  const std::string saved = entries[victim];
  entries.erase(victim);
  auto trie = OpenTrie(0);
  bool saw_missing = false;
  for (const auto& op : ops) {
    auto got = trie->Get(7, op.key);
    if (!got.ok()) {
      EXPECT_TRUE(got.status().IsCorruption());
      EXPECT_NE(got.status().message().find("missing"), std::string::npos);
      saw_missing = true;
    }
  }
  EXPECT_TRUE(saw_missing);
  entries[victim] = saved;
}

TEST_P(TrieTest, LimitsAreEnforced) {
  auto trie = OpenTrie();
  EXPECT_TRUE(trie->Commit(1, {{Bytes(kMaxKeySize + 1, 1), B("v")}}).status().IsInvalidArgument());
  EXPECT_TRUE(
      trie->Commit(1, {{B("k"), Bytes(kMaxValueSize + 1, 1)}}).status().IsInvalidArgument());
  EXPECT_TRUE(trie->Get(0, Bytes(kMaxKeySize + 1, 1)).status().IsInvalidArgument());
  EXPECT_EQ(trie->LatestVersion(), 0u);
  // The largest key is fine.
  CommitAll(trie.get(), 1, {{Bytes(kMaxKeySize, 0xab), B("v")}});
  auto got = trie->Get(1, Bytes(kMaxKeySize, 0xab));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(**got, B("v"));
}

TEST_P(TrieTest, EmptyKeyIsAKey) {
  auto trie = OpenTrie();
  CommitAll(trie.get(), 1, {{Bytes(), B("root value")}, {B("a"), B("1")}});
  auto got = trie->Get(1, Bytes());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(**got, B("root value"));
  CommitAll(trie.get(), 2, {{Bytes(), {}}});
  got = trie->Get(2, Bytes());
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_P(TrieTest, ForEachIsInKeyOrderAndCanStop) {
  std::mt19937_64 rng(13);
  std::map<Bytes, Bytes> model;
  std::vector<TrieOp> ops;
  for (int i = 0; i < 500; ++i) {
    Bytes k = RandomBytes(rng, 1 + rng() % 5);
    Bytes v = RandomBytes(rng, 1 + rng() % 10);
    model[k] = v;
    ops.push_back({k, v});
  }
  auto trie = OpenTrie();
  CommitAll(trie.get(), 1, ops);
  std::vector<Bytes> keys;
  ASSERT_OK(trie->ForEach(1, [&](ByteView k, ByteView) {
    keys.emplace_back(k.begin(), k.end());
    return true;
  }));
  std::vector<Bytes> expected;
  for (const auto& [k, v] : model) expected.push_back(k);
  EXPECT_EQ(keys, expected);
  int seen = 0;
  ASSERT_OK(trie->ForEach(1, [&](ByteView, ByteView) { return ++seen < 10; }));
  EXPECT_EQ(seen, 10);
}

TEST(TrieSchemeTest, NamesParse) {
  EXPECT_EQ(*ParseTrieScheme("native"), TrieScheme::kNative);
  EXPECT_EQ(*ParseTrieScheme("ethereum"), TrieScheme::kEthereum);
  EXPECT_TRUE(ParseTrieScheme("bitcoin").status().IsInvalidArgument());
}

// A MemNodeStore whose writes can be held back (each Write waits for a permit), slowed
// down, or failed (the Nth Write fails without applying anything), for the pipelined
// commit tests.
class ControlledStore final : public NodeStore {
 public:
  Status Get(std::string_view key, std::string* value) override { return inner.Get(key, value); }
  Status Scan(std::string_view begin, std::string_view end, const ScanFn& fn) override {
    return inner.Scan(begin, end, fn);
  }
  Status Write(const NodeWriteBatch& batch, bool sync) override {
    {
      std::unique_lock lock(mu_);
      ++writes_started_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return !gated_ || permits_ > 0; });
      if (gated_) --permits_;
    }
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (++write_count_ == fail_write) return Status::IOError("injected write failure");
    Status s = inner.Write(batch, sync);
    if (s.ok()) ++writes_applied;
    return s;
  }

  void Gate() {
    std::lock_guard lock(mu_);
    gated_ = true;
  }
  void Permit() {
    std::lock_guard lock(mu_);
    ++permits_;
    cv_.notify_all();
  }
  void WaitForWritesStarted(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return writes_started_ >= n; });
  }

  MemNodeStore inner;
  int delay_ms = 0;
  int fail_write = 0;  // 1-based; 0: none
  std::atomic<uint64_t> writes_applied{0};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool gated_ = false;
  int permits_ = 0;
  int writes_started_ = 0;
  std::atomic<int> write_count_{0};
};

// Random batches over a small key space, so that each batch rewrites nodes the one
// before it wrote.
std::vector<std::vector<TrieOp>> RandomBatches(uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  std::vector<Bytes> keys;
  for (int i = 0; i < 400; ++i) keys.push_back(RandomBytes(rng, 1 + rng() % 12));
  std::vector<std::vector<TrieOp>> batches(static_cast<size_t>(count));
  for (auto& ops : batches) {
    const int n = 1 + static_cast<int>(rng() % 150);
    for (int i = 0; i < n; ++i) {
      TrieOp op;
      op.key = keys[rng() % keys.size()];
      if (rng() % 5 != 0) op.value = RandomBytes(rng, 1 + rng() % 40);
      ops.push_back(std::move(op));
    }
  }
  return batches;
}

TEST_P(TrieTest, PipelinedCommitsMatchCommit) {
  std::unique_ptr<TaskRunner> runner = NewThreadPoolTaskRunner(2);
  struct Config {
    size_t cache_bytes;
    size_t pinned_levels;
    size_t max_embedded_leaf_bytes;
    bool parallel;
  };
  // No cache (or a tiny one) and no pinned levels: the nodes of the commit in flight
  // can then only come from the pipeline's own pending nodes.
  const Config configs[] = {
      {0, 0, 0, false}, {0, 4, 48, true}, {4 << 10, 1, 0, true}, {1 << 20, 4, 48, false}};
  for (const Config& config : configs) {
    SCOPED_TRACE("cache " + std::to_string(config.cache_bytes) + ", pinned " +
                 std::to_string(config.pinned_levels) + ", embedded " +
                 std::to_string(config.max_embedded_leaf_bytes));
    TrieOptions options;
    options.scheme = GetParam();
    options.cache_bytes = config.cache_bytes;
    options.pinned_levels = config.pinned_levels;
    options.max_embedded_leaf_bytes = config.max_embedded_leaf_bytes;
    options.task_runner = config.parallel ? runner.get() : nullptr;
    options.parallel_hash_min_ops = 32;
    MemNodeStore plain_store;
    ControlledStore piped_store;
    piped_store.delay_ms = 1;  // keeps each write in flight while the next is prepared
    auto plain_or = Trie::Open(options, &plain_store);
    auto piped_or = Trie::Open(options, &piped_store);
    ASSERT_TRUE(plain_or.ok() && piped_or.ok());
    std::unique_ptr<Trie> plain = std::move(plain_or).value();
    std::unique_ptr<Trie> piped = std::move(piped_or).value();

    const std::vector<std::vector<TrieOp>> batches = RandomBatches(7, 40);
    std::vector<std::future<Result<CommitInfo>>> futures;
    std::vector<CommitInfo> expected;
    std::vector<Model> models;
    Model model;
    for (size_t b = 0; b < batches.size(); ++b) {
      const uint64_t version = 2 * b + 1;  // versions need not be consecutive
      auto info = plain->Commit(version, batches[b]);
      ASSERT_TRUE(info.ok()) << info.status().ToString();
      expected.push_back(*info);
      ApplyToModel(batches[b], &model);
      models.push_back(model);
      futures.push_back(piped->CommitPipelined(version, batches[b]));
    }
    ASSERT_OK(piped->FlushPipeline());
    for (size_t b = 0; b < futures.size(); ++b) {
      Result<CommitInfo> info = futures[b].get();
      ASSERT_TRUE(info.ok()) << info.status().ToString();
      EXPECT_EQ(info->version, expected[b].version);
      EXPECT_EQ(info->root.hash, expected[b].root.hash) << "version " << info->version;
      EXPECT_EQ(info->root.node_version, expected[b].root.node_version);
      EXPECT_EQ(info->nodes_written, expected[b].nodes_written);
      EXPECT_EQ(info->bytes_written, expected[b].bytes_written);
    }
    EXPECT_EQ(piped->LatestVersion(), plain->LatestVersion());
    // The same bytes under the same keys.
    EXPECT_TRUE(piped_store.inner.entries_for_testing() == plain_store.entries_for_testing());
    for (size_t b = 0; b < models.size(); b += 7) {
      Model seen;
      ASSERT_OK(CollectEntries(*piped, 2 * b + 1, &seen));
      EXPECT_EQ(seen, models[b]);
    }
    for (const auto& [key, value] : model) {
      auto got = piped->Get(piped->LatestVersion(), key);
      ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
      EXPECT_EQ(**got, value);
    }
    // Plain commits continue where the pipeline stopped.
    auto next = piped->Commit(1000, batches[0]);
    auto next_plain = plain->Commit(1000, batches[0]);
    ASSERT_TRUE(next.ok() && next_plain.ok());
    EXPECT_EQ(next->root.hash, next_plain->root.hash);
  }
}

TEST_P(TrieTest, PipelinedVersionIsInvisibleUntilWritten) {
  ControlledStore store;
  TrieOptions options;
  options.scheme = GetParam();
  auto trie_or = Trie::Open(options, &store);
  ASSERT_TRUE(trie_or.ok());
  std::unique_ptr<Trie> trie = std::move(trie_or).value();
  const std::vector<std::vector<TrieOp>> batches = RandomBatches(11, 3);

  // A reader checking all along that the latest version's write has landed.
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::thread reader([&] {
    while (!stop.load()) {
      // Versions here are 1, 2: version k needs k writes, applied before it shows.
      const bool second_visible = trie->RootAt(2).ok();
      const uint64_t latest = trie->LatestVersion();
      const uint64_t applied = store.writes_applied.load();
      if (latest > applied || (second_visible && applied < 2)) ++violations;
    }
  });

  store.Gate();
  std::future<Result<CommitInfo>> first = trie->CommitPipelined(1, batches[0]);
  store.WaitForWritesStarted(1);
  EXPECT_EQ(trie->LatestVersion(), 0u);
  EXPECT_TRUE(trie->RootAt(1).status().IsNotFound());
  EXPECT_FALSE(trie->Get(1, batches[0][0].key).ok());
  EXPECT_EQ(first.wait_for(std::chrono::milliseconds(20)), std::future_status::timeout);

  // The second commit is prepared on top of the first while that one's write waits.
  std::future<Result<CommitInfo>> second;
  std::thread committer([&] { second = trie->CommitPipelined(2, batches[1]); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(trie->LatestVersion(), 0u);
  store.Permit();
  committer.join();  // returns once the first write is done and the second started
  Result<CommitInfo> info1 = first.get();
  ASSERT_TRUE(info1.ok()) << info1.status().ToString();
  EXPECT_EQ(trie->LatestVersion(), 1u);
  EXPECT_TRUE(trie->RootAt(2).status().IsNotFound());
  store.WaitForWritesStarted(2);
  EXPECT_EQ(trie->LatestVersion(), 1u);

  store.Permit();
  Result<CommitInfo> info2 = second.get();
  ASSERT_TRUE(info2.ok()) << info2.status().ToString();
  EXPECT_EQ(trie->LatestVersion(), 2u);
  EXPECT_EQ(trie->LatestRoot().hash, info2->root.hash);
  stop = true;
  reader.join();
  EXPECT_EQ(violations.load(), 0);
  ASSERT_OK(trie->FlushPipeline());
}

TEST_P(TrieTest, PipelinedWriteFailureFailsThatCommitAndEveryLaterOne) {
  for (int fail_write : {1, 3, 6}) {
    SCOPED_TRACE("failing write " + std::to_string(fail_write));
    ControlledStore store;
    store.fail_write = fail_write;
    store.delay_ms = 1;
    TrieOptions options;
    options.scheme = GetParam();
    options.cache_bytes = 0;
    auto trie_or = Trie::Open(options, &store);
    ASSERT_TRUE(trie_or.ok());
    std::unique_ptr<Trie> trie = std::move(trie_or).value();
    const std::vector<std::vector<TrieOp>> batches = RandomBatches(13, 8);
    std::vector<Model> models(1);
    std::vector<std::future<Result<CommitInfo>>> futures;
    for (size_t b = 0; b < batches.size(); ++b) {
      Model model = models.back();
      ApplyToModel(batches[b], &model);
      models.push_back(model);
      futures.push_back(trie->CommitPipelined(b + 1, batches[b]));
    }
    EXPECT_FALSE(trie->FlushPipeline().ok());
    const uint64_t last_good = static_cast<uint64_t>(fail_write) - 1;
    for (size_t b = 0; b < futures.size(); ++b) {
      Result<CommitInfo> info = futures[b].get();
      EXPECT_EQ(info.ok(), b + 1 <= last_good) << "version " << b + 1;
    }
    EXPECT_EQ(trie->LatestVersion(), last_good);
    // Nothing more is built on the failed version.
    EXPECT_FALSE(trie->Commit(100, batches[0]).ok());
    EXPECT_FALSE(trie->CommitPipelined(101, batches[0]).get().ok());
    EXPECT_EQ(trie->LatestVersion(), last_good);
    trie.reset();

    // Reopened, the store holds exactly the versions that were fully written.
    uint64_t max_stored = 0;
    for (const auto& [key, value] : store.inner.entries_for_testing()) {
      if (KindOfKey(key) == StoredKind::kOther) continue;
      uint64_t v = 0;
      for (int i = 1; i <= 8; ++i) v = (v << 8) | static_cast<uint8_t>(key[i]);
      max_stored = std::max(max_stored, v);
    }
    EXPECT_EQ(max_stored, last_good);
    store.fail_write = 0;
    auto reopened_or = Trie::Open(options, &store);
    ASSERT_TRUE(reopened_or.ok());
    std::unique_ptr<Trie> reopened = std::move(reopened_or).value();
    EXPECT_EQ(reopened->LatestVersion(), last_good);
    for (uint64_t v = 1; v <= last_good; ++v) {
      Model seen;
      ASSERT_OK(CollectEntries(*reopened, v, &seen));
      EXPECT_EQ(seen, models[v]) << "version " << v;
    }
    // And commits go on from there.
    auto info = reopened->CommitPipelined(last_good + 1, batches[last_good]).get();
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    ASSERT_OK(reopened->FlushPipeline());
    Model seen;
    ASSERT_OK(CollectEntries(*reopened, last_good + 1, &seen));
    EXPECT_EQ(seen, models[last_good + 1]);
  }
}

VELLUM_INSTANTIATE_FOR_SCHEMES(TrieTest);

}  // namespace
}  // namespace vellum::trie
