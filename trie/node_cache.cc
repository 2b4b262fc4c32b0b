// Copyright (c) Vellum authors.

#include "trie/node_cache.h"

#include <functional>
#include <string_view>

namespace vellum::trie {
namespace {

uint64_t KeyHash(const std::string& key) { return std::hash<std::string_view>{}(key); }

}  // namespace

NodeCache::NodeCache(size_t capacity_bytes) : shard_capacity_(capacity_bytes / kShards) {}

std::shared_ptr<const Node> NodeCache::Lookup(const std::string& key, const NodeRef& expected) {
  if (shard_capacity_ == 0) return nullptr;
  const uint64_t hash = KeyHash(key);
  Shard& shard = shards_[hash % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.index.find(hash);
  if (it == shard.index.end()) return nullptr;
  const Entry& entry = *it->second;
  if (entry.key != key || !(entry.ref == expected)) return nullptr;
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  return entry.node;
}

void NodeCache::Insert(std::string key, const NodeRef& ref, std::shared_ptr<const Node> node) {
  if (shard_capacity_ == 0) return;
  const uint64_t hash = KeyHash(key);
  const size_t charge = node->MemoryUsage() + key.capacity() + sizeof(Entry) + 64;
  Shard& shard = shards_[hash % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.index.find(hash);
  if (it != shard.index.end()) {
    // The same key again, or (rarely) another key with the same 64-bit hash: either
    // way the newer entry takes the slot.
    shard.usage -= it->second->charge;
    shard.lru.erase(it->second);
    shard.index.erase(it);
  }
  shard.lru.push_front(Entry{std::move(key), hash, ref, std::move(node), charge});
  shard.index.emplace(hash, shard.lru.begin());
  shard.usage += charge;
  while (shard.usage > shard_capacity_ && !shard.lru.empty()) {
    Entry& victim = shard.lru.back();
    shard.usage -= victim.charge;
    shard.index.erase(victim.hash);
    shard.lru.pop_back();
  }
}

void NodeCache::Erase(const std::string& key) {
  if (shard_capacity_ == 0) return;
  const uint64_t hash = KeyHash(key);
  Shard& shard = shards_[hash % kShards];
  std::shared_ptr<const Node> dropped;  // released outside the lock
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.index.find(hash);
    if (it == shard.index.end() || it->second->key != key) return;
    dropped = std::move(it->second->node);
    shard.usage -= it->second->charge;
    shard.lru.erase(it->second);
    shard.index.erase(it);
  }
}

size_t NodeCache::usage_bytes() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    total += shard.usage;
  }
  return total;
}

}  // namespace vellum::trie
