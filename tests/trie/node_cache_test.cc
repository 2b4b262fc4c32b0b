// Copyright (c) Vellum authors.

#include "trie/node_cache.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <utility>

namespace vellum::trie {
namespace {

NodeRef RefOf(uint64_t n) {
  NodeRef r;
  r.size = 32;
  for (int i = 0; i < 8; ++i) r.bytes[i] = static_cast<uint8_t>(n >> (8 * i));
  return r;
}

std::shared_ptr<const Node> LeafOf(uint64_t n) {
  return Node::MakeLeaf(Nibbles{static_cast<uint8_t>(n & 15)}, Bytes(8, static_cast<uint8_t>(n)));
}

std::string KeyOf(uint64_t n) { return "n-node-key-" + std::to_string(n); }

TEST(NodeCacheTest, HitsOnlyWithTheExpectedRef) {
  NodeCache cache(1 << 20);
  auto node = LeafOf(1);
  cache.Insert(KeyOf(1), RefOf(1), node);
  EXPECT_EQ(cache.Lookup(KeyOf(1), RefOf(1)), node);
  EXPECT_EQ(cache.Lookup(KeyOf(1), RefOf(2)), nullptr);
  EXPECT_EQ(cache.Lookup(KeyOf(2), RefOf(1)), nullptr);
  cache.Erase(KeyOf(1));
  EXPECT_EQ(cache.Lookup(KeyOf(1), RefOf(1)), nullptr);
  EXPECT_EQ(cache.usage_bytes(), 0u);
  EXPECT_EQ(cache.entry_count(), 0u);
}

TEST(NodeCacheTest, ReinsertReplaces) {
  NodeCache cache(1 << 20);
  cache.Insert(KeyOf(7), RefOf(1), LeafOf(1));
  auto newer = LeafOf(2);
  cache.Insert(KeyOf(7), RefOf(2), newer);
  EXPECT_EQ(cache.entry_count(), 1u);
  EXPECT_EQ(cache.Lookup(KeyOf(7), RefOf(1)), nullptr);
  EXPECT_EQ(cache.Lookup(KeyOf(7), RefOf(2)), newer);
}

// Random inserts, lookups and erases against a map, with room for everything: the
// index must find exactly what the model holds through every growth and
// backward-shift deletion.
TEST(NodeCacheTest, MatchesAModelWithoutEviction) {
  NodeCache cache(size_t{1} << 30);
  std::map<uint64_t, std::pair<uint64_t, std::shared_ptr<const Node>>> model;
  std::mt19937_64 rng(20261122);
  for (int step = 0; step < 200'000; ++step) {
    const uint64_t k = rng() % 5'000;
    switch (rng() % 4) {
      case 0:
      case 1: {
        const uint64_t ref = rng() % 3;
        auto node = LeafOf(k + ref);
        cache.Insert(KeyOf(k), RefOf(ref), node);
        model[k] = {ref, node};
        break;
      }
      case 2: {
        cache.Erase(KeyOf(k));
        model.erase(k);
        break;
      }
      default: {
        auto it = model.find(k);
        if (it == model.end()) {
          ASSERT_EQ(cache.Lookup(KeyOf(k), RefOf(0)), nullptr) << "step " << step;
        } else {
          ASSERT_EQ(cache.Lookup(KeyOf(k), RefOf(it->second.first)), it->second.second)
              << "step " << step;
        }
      }
    }
  }
  EXPECT_EQ(cache.entry_count(), model.size());
  for (const auto& [k, v] : model) {
    EXPECT_EQ(cache.Lookup(KeyOf(k), RefOf(v.first)), v.second) << k;
  }
}

TEST(NodeCacheTest, EvictsLeastRecentlyUsedWithinCapacity) {
  constexpr size_t kCapacity = 64 << 10;
  NodeCache cache(kCapacity);
  auto hot = LeafOf(0);
  cache.Insert(KeyOf(0), RefOf(0), hot);
  for (uint64_t i = 1; i < 20'000; ++i) {
    cache.Insert(KeyOf(i), RefOf(i), LeafOf(i));
    // Keep entry 0 the most recently used in its shard.
    ASSERT_EQ(cache.Lookup(KeyOf(0), RefOf(0)), hot) << i;
    ASSERT_LE(cache.usage_bytes(), kCapacity);
  }
  EXPECT_EQ(cache.Lookup(KeyOf(1), RefOf(1)), nullptr);  // long evicted
  EXPECT_NE(cache.Lookup(KeyOf(19'999), RefOf(19'999)), nullptr);
  EXPECT_GT(cache.entry_count(), 16u);
}

TEST(NodeCacheTest, ZeroCapacityCachesNothing) {
  NodeCache cache(0);
  cache.Insert(KeyOf(1), RefOf(1), LeafOf(1));
  EXPECT_EQ(cache.Lookup(KeyOf(1), RefOf(1)), nullptr);
  EXPECT_EQ(cache.entry_count(), 0u);
}

}  // namespace
}  // namespace vellum::trie
