// Copyright (c) Vellum authors.
//
// Readers alongside a writer, as trie.h promises: Get, Prove and ForEach at versions
// already committed keep returning exactly what those versions hold while commits
// (parallel batches included) land. Meant to be run under ThreadSanitizer too.

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "tests/test_util.h"
#include "tests/trie/scheme_param.h"
#include "tests/trie/trie_test_util.h"
#include "trie/trie.h"

namespace vellum::trie {
namespace {

using ::vellum::testing::RandomBytes;

class TrieConcurrencyTest : public ::testing::TestWithParam<TrieScheme> {};

TEST_P(TrieConcurrencyTest, ReadersSeeExactVersionsWhileCommitsLand) {
  MemNodeStore store;
  std::unique_ptr<TaskRunner> runner = NewThreadPoolTaskRunner(2);
  TrieOptions options;
  options.scheme = GetParam();
  options.task_runner = runner.get();
  options.parallel_hash_min_ops = 64;
  options.cache_bytes = 256 << 10;  // small: evictions race with lookups
  auto trie_or = Trie::Open(options, &store);
  ASSERT_TRUE(trie_or.ok());
  std::unique_ptr<Trie> trie = std::move(trie_or).value();

  // Versions 1..5 are committed up front and then only read.
  std::mt19937_64 rng(17);
  std::vector<Model> models(6);
  Model model;
  for (uint64_t v = 1; v <= 5; ++v) {
    std::vector<TrieOp> ops;
    for (int i = 0; i < 300; ++i) {
      TrieOp op{RandomBytes(rng, 1 + rng() % 32), RandomBytes(rng, 1 + rng() % 40)};
      model[op.key] = op.value;
      ops.push_back(std::move(op));
    }
    ASSERT_TRUE(trie->Commit(v, ops).ok());
    models[v] = model;
  }

  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<long> reads{0};
  auto reader = [&](uint64_t seed) {
    std::mt19937_64 r(seed);
    while (!stop.load()) {
      const uint64_t v = 1 + r() % 5;
      const Model& m = models[v];
      auto it = m.begin();
      std::advance(it, static_cast<long>(r() % m.size()));
      auto got = trie->Get(v, it->first);
      if (!got.ok() || !got->has_value() || **got != it->second) ++failures;
      if (r() % 16 == 0) {
        auto root = trie->RootAt(v);
        auto proof = trie->Prove(v, it->first);
        if (!root.ok() || !proof.ok()) {
          ++failures;
        } else {
          auto checked = VerifyProof(GetParam(), root->hash, it->first, *proof);
          if (!checked.ok() || !checked->has_value() || **checked != it->second) ++failures;
        }
      }
      if (r() % 256 == 0) {
        Model seen;
        if (!CollectEntries(*trie, v, &seen).ok() || seen != m) ++failures;
      }
      ++reads;
    }
  };
  std::vector<std::thread> readers;
  for (uint64_t i = 0; i < 2; ++i) readers.emplace_back(reader, 100 + i);

  // The writer keeps changing the same keys (and adding new ones) at versions 6+.
  for (uint64_t v = 6; v <= 40; ++v) {
    std::vector<TrieOp> ops;
    auto it = model.begin();
    for (int i = 0; i < 200 && it != model.end(); ++i, ++it) {
      ops.push_back({it->first, rng() % 4 == 0 ? Bytes() : RandomBytes(rng, 1 + rng() % 40)});
    }
    for (int i = 0; i < 100; ++i) ops.push_back({RandomBytes(rng, 32), RandomBytes(rng, 8)});
    auto info = trie->Commit(v, ops);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
  }
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
}

VELLUM_INSTANTIATE_FOR_SCHEMES(TrieConcurrencyTest);

}  // namespace
}  // namespace vellum::trie
