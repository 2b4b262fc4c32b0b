// Copyright (c) Vellum authors.
//
// NodeCache: verified, decoded nodes by store key, LRU-bounded by bytes. An entry
// remembers the reference it was verified against; a lookup with a different
// expected reference misses, so a cache hit is always a node already checked against
// the hash the caller expects. Sharded to keep lock hold times short; each shard
// indexes entries by a 64-bit hash of the key and confirms the full key on a hit.
//
// Every step of a trie walk looks a node up here (millions of lookups a second in a
// large batch), so a shard keeps its entries in one slab linked into an LRU list by
// index, and finds them through an open-addressing table of (key hash, slab index):
// a lookup touches the table and the entry, and an insert allocates nothing once the
// shard has reached its working size.
//
// Thread safety: all methods are thread-safe.

#ifndef VELLUM_TRIE_NODE_CACHE_H_
#define VELLUM_TRIE_NODE_CACHE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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
  size_t entry_count() const;

 private:
  static constexpr size_t kShards = 16;
  static constexpr uint32_t kNil = UINT32_MAX;

  struct Entry {
    std::string key;
    uint64_t hash = 0;
    NodeRef ref;
    std::shared_ptr<const Node> node;
    size_t charge = 0;
    uint32_t prev = kNil;  // towards the most recently used
    uint32_t next = kNil;  // towards the least recently used
  };
  // One slot of a shard's index; entry == kNil marks an empty slot.
  struct Slot {
    uint64_t hash = 0;
    uint32_t entry = kNil;
  };
  struct Shard {
    mutable std::mutex mu;
    std::vector<Entry> entries;  // the slab; free slots are on `free`
    std::vector<uint32_t> free;
    uint32_t head = kNil;     // most recently used
    uint32_t tail = kNil;     // least recently used
    std::vector<Slot> index;  // size 0 or a power of two, at most half full
    size_t count = 0;
    size_t usage = 0;

    size_t Find(uint64_t hash) const;  // an index slot, or SIZE_MAX
    void IndexInsert(uint64_t hash, uint32_t entry);
    void IndexErase(size_t slot);
    void Unlink(uint32_t e);
    void PushFront(uint32_t e);
    // Removes entry `e` (found at index slot `slot`) and returns its node, so the
    // caller can release it outside the lock.
    std::shared_ptr<const Node> Remove(uint32_t e, size_t slot);
  };

  const size_t shard_capacity_;
  std::array<Shard, kShards> shards_;
};

}  // namespace vellum::trie

#endif  // VELLUM_TRIE_NODE_CACHE_H_
