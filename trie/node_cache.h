// Copyright (c) Vellum authors.
//
// NodeCache: verified, decoded nodes by store key, LRU-bounded by bytes. An entry
// remembers the reference it was verified against; a lookup with a different
// expected reference misses, so a cache hit is always a node already checked against
// the hash the caller expects. Sharded to keep lock hold times short; each shard
// indexes entries by a 64-bit hash of the key and confirms the full key on a hit.
//
// Thread safety: all methods are thread-safe.

#ifndef VELLUM_TRIE_NODE_CACHE_H_
#define VELLUM_TRIE_NODE_CACHE_H_

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "trie/node.h"

namespace vellum::trie {

class NodeCache {
 public:
  explicit NodeCache(size_t capacity_bytes);

  // The node stored under `key` if cached and verified against `expected`.
  std::shared_ptr<const Node> Lookup(const std::string& key, const NodeRef& expected);
  void Insert(std::string key, const NodeRef& ref, std::shared_ptr<const Node> node);
  // Drops the entry under `key`, if any.
  void Erase(const std::string& key);

  size_t usage_bytes() const;

 private:
  static constexpr size_t kShards = 16;
  struct Entry {
    std::string key;
    uint64_t hash = 0;
    NodeRef ref;
    std::shared_ptr<const Node> node;
    size_t charge = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Entry> lru;  // front = most recently used
    std::unordered_map<uint64_t, std::list<Entry>::iterator> index;
    size_t usage = 0;
  };

  const size_t shard_capacity_;
  std::array<Shard, kShards> shards_;
};

}  // namespace vellum::trie

#endif  // VELLUM_TRIE_NODE_CACHE_H_
