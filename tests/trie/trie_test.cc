// Copyright (c) Vellum authors.

#include "trie/trie.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

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

VELLUM_INSTANTIATE_FOR_SCHEMES(TrieTest);

}  // namespace
}  // namespace vellum::trie
