// Copyright (c) Vellum authors.

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "tests/test_util.h"
#include "tests/trie/scheme_param.h"
#include "tests/trie/trie_test_util.h"
#include "trie/trie.h"

namespace vellum::trie {
namespace {

using ::vellum::testing::RandomBytes;

size_t CountNodes(MemNodeStore& store) {
  size_t n = 0;
  for (const auto& [k, v] : store.entries_for_testing()) n += KindOfKey(k) == StoredKind::kNode;
  return n;
}

void ExpectVersionExact(Trie* trie, uint64_t version, const Model& model) {
  const TrieScheme scheme = ::testing::TestWithParam<TrieScheme>::GetParam();
  Model seen;
  ASSERT_OK(CollectEntries(*trie, version, &seen));
  ASSERT_EQ(seen, model) << "version " << version;
  auto root = trie->RootAt(version);
  ASSERT_TRUE(root.ok());
  int i = 0;
  for (const auto& [k, v] : model) {
    if (i++ % 5 != 0) continue;
    auto proof = trie->Prove(version, k);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    auto checked = VerifyProof(scheme, root->hash, k, *proof);
    ASSERT_TRUE(checked.ok() && checked->has_value());
    EXPECT_EQ(**checked, v);
  }
}

class TriePruneTest : public ::testing::TestWithParam<TrieScheme> {
 protected:
  void RetainedVersionsStayExactAndGarbageGoes(size_t max_embedded_leaf_bytes);
};

// Leaves inside their branches' records (the default), always on their own, and a mix
// (values of up to 40 bytes straddle the limit of 24).
TEST_P(TriePruneTest, RetainedVersionsStayExactAndGarbageGoes) {
  for (size_t max_embedded : {size_t{256}, size_t{0}, size_t{24}}) {
    SCOPED_TRACE("max_embedded_leaf_bytes " + std::to_string(max_embedded));
    RetainedVersionsStayExactAndGarbageGoes(max_embedded);
  }
}

void TriePruneTest::RetainedVersionsStayExactAndGarbageGoes(size_t max_embedded_leaf_bytes) {
  std::mt19937_64 rng(99);
  MemNodeStore store;
  TrieOptions options;
  options.scheme = GetParam();
  options.max_embedded_leaf_bytes = max_embedded_leaf_bytes;
  auto trie_or = Trie::Open(options, &store);
  ASSERT_TRUE(trie_or.ok());
  std::unique_ptr<Trie> trie = std::move(trie_or).value();

  Model model;
  std::map<uint64_t, Model> history;
  std::vector<Bytes> keys;
  for (uint64_t v = 1; v <= 120; ++v) {
    std::vector<TrieOp> ops;
    for (int i = 0; i < 40; ++i) {
      TrieOp op;
      if (!keys.empty() && rng() % 2) {
        op.key = keys[rng() % keys.size()];
      } else {
        op.key = RandomBytes(rng, 32);
        keys.push_back(op.key);
      }
      if (rng() % 4 != 0) op.value = RandomBytes(rng, 1 + rng() % 40);
      if (op.value.empty()) {
        model.erase(op.key);
      } else {
        model[op.key] = op.value;
      }
      ops.push_back(op);
    }
    ASSERT_TRUE(trie->Commit(v * 2, ops).ok());  // versions 2, 4, ..., 240
    history[v * 2] = model;
  }
  const size_t nodes_before = CountNodes(store);

  // Keep 161 and later: the record at 160 describes version 161.
  ASSERT_OK(trie->Prune(161));
  EXPECT_EQ(trie->OldestVersion(), 161u);
  EXPECT_LT(CountNodes(store), nodes_before);
  EXPECT_TRUE(trie->RootAt(160).status().IsNotFound());
  EXPECT_TRUE(trie->Get(2, keys[0]).status().IsNotFound());
  ExpectVersionExact(trie.get(), 161, history[160]);
  for (uint64_t v = 162; v <= 240; v += 2) ExpectVersionExact(trie.get(), v, history[v]);

  // The same after reopening.
  trie.reset();
  trie_or = Trie::Open(options, &store);
  ASSERT_TRUE(trie_or.ok());
  trie = std::move(trie_or).value();
  EXPECT_EQ(trie->OldestVersion(), 161u);
  EXPECT_TRUE(trie->RootAt(100).status().IsNotFound());
  ExpectVersionExact(trie.get(), 200, history[200]);

  EXPECT_TRUE(trie->Prune(241).IsInvalidArgument());
  ASSERT_OK(trie->Prune(100));  // already pruned past it: nothing to do
  // Pruning to the latest leaves exactly the latest version's nodes: as many as a
  // fresh trie built from the final state in one commit.
  ASSERT_OK(trie->Prune(240));
  ExpectVersionExact(trie.get(), 240, history[240]);
  MemNodeStore fresh_store;
  auto fresh = Trie::Open(options, &fresh_store);
  ASSERT_TRUE(fresh.ok());
  std::vector<TrieOp> all;
  for (const auto& [k, v] : model) all.push_back({k, v});
  auto info = (*fresh)->Commit(1, all);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->root.hash, trie->LatestRoot().hash);
  EXPECT_EQ(CountNodes(store), CountNodes(fresh_store));
  // No stale records are left behind either.
  for (const auto& [k, v] : store.entries_for_testing()) {
    EXPECT_NE(KindOfKey(k), StoredKind::kStale);
  }
}

// Versions without a stale record (the first commit supersedes nothing), pruned to
// and past, with the version records around them kept or dropped.
TEST_P(TriePruneTest, VersionsWithoutStaleRecords) {
  MemNodeStore store;
  TrieOptions options;
  options.scheme = GetParam();
  auto trie_or = Trie::Open(options, &store);
  ASSERT_TRUE(trie_or.ok());
  std::unique_ptr<Trie> trie = std::move(trie_or).value();
  std::mt19937_64 rng(7);
  Model model;
  std::vector<TrieOp> ops;
  for (int i = 0; i < 30; ++i) {
    ops.push_back({RandomBytes(rng, 32), RandomBytes(rng, 8)});
    model[ops.back().key] = ops.back().value;
  }
  ASSERT_TRUE(trie->Commit(1, ops).ok());
  ASSERT_OK(trie->Prune(1));
  ExpectVersionExact(trie.get(), 1, model);
  ASSERT_TRUE(trie->Commit(5, {{ops[0].key, RandomBytes(rng, 8)}}).ok());
  Model at5;
  ASSERT_OK(CollectEntries(*trie, 5, &at5));
  ASSERT_OK(trie->Prune(3));  // the record at 1 describes version 3
  ExpectVersionExact(trie.get(), 3, [&] {
    Model m;
    for (const TrieOp& op : ops) m[op.key] = op.value;
    return m;
  }());
  ASSERT_OK(trie->Prune(5));
  ExpectVersionExact(trie.get(), 5, at5);
  trie.reset();
  trie_or = Trie::Open(options, &store);
  ASSERT_TRUE(trie_or.ok()) << trie_or.status().ToString();
  trie = std::move(trie_or).value();
  EXPECT_EQ(trie->LatestVersion(), 5u);
  EXPECT_EQ(trie->OldestVersion(), 5u);
  ExpectVersionExact(trie.get(), 5, at5);
}

VELLUM_INSTANTIATE_FOR_SCHEMES(TriePruneTest);

}  // namespace
}  // namespace vellum::trie
