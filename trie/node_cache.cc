// Copyright (c) Vellum authors.

#include "trie/node_cache.h"

#include <functional>

namespace vellum::trie {

NodeCache::NodeCache(size_t capacity_bytes) : shard_capacity_(capacity_bytes / kShards) {}

NodeCache::Shard& NodeCache::ShardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

std::shared_ptr<const Node> NodeCache::Lookup(const std::string& key, const NodeRef& expected) {
  if (shard_capacity_ == 0) return nullptr;
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.index.find(key);
  if (it == shard.index.end() || !(it->second->ref == expected)) return nullptr;
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  return it->second->node;
}

void NodeCache::Insert(const std::string& key, const NodeRef& ref,
                       std::shared_ptr<const Node> node) {
  if (shard_capacity_ == 0) return;
  const size_t charge = node->MemoryUsage() + key.size() + sizeof(Entry) + 64;
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.index.find(key);
  if (it != shard.index.end()) {
    shard.usage -= it->second->charge;
    shard.lru.erase(it->second);
    shard.index.erase(it);
  }
  shard.lru.push_front(Entry{key, ref, std::move(node), charge});
  shard.index.emplace(shard.lru.front().key, shard.lru.begin());
  shard.usage += charge;
  while (shard.usage > shard_capacity_ && !shard.lru.empty()) {
    Entry& victim = shard.lru.back();
    shard.usage -= victim.charge;
    shard.index.erase(victim.key);
    shard.lru.pop_back();
  }
}

size_t NodeCache::usage_bytes() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(const_cast<std::mutex&>(shard.mu));
    total += shard.usage;
  }
  return total;
}

}  // namespace vellum::trie
