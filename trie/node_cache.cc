// Copyright (c) Vellum authors.

#include "trie/node_cache.h"

#include <functional>
#include <string_view>
#include <utility>

#include "vellum/check.h"

namespace vellum::trie {
namespace {

uint64_t KeyHash(const std::string& key) { return std::hash<std::string_view>{}(key); }

// The low bits of a key's hash choose its shard; the index uses the bits above them,
// which are independent of the shard.
size_t HomeSlot(uint64_t hash, size_t mask) { return static_cast<size_t>(hash >> 4) & mask; }

}  // namespace

NodeCache::NodeCache(size_t capacity_bytes) : shard_capacity_(capacity_bytes / kShards) {
  static_assert(kShards == 16, "HomeSlot skips the 4 bits that choose the shard");
}

size_t NodeCache::Shard::Find(uint64_t hash) const {
  if (index.empty()) return SIZE_MAX;
  const size_t mask = index.size() - 1;
  for (size_t i = HomeSlot(hash, mask);; i = (i + 1) & mask) {
    const Slot& slot = index[i];
    if (slot.entry == kNil) return SIZE_MAX;
    if (slot.hash == hash) return i;
  }
}

void NodeCache::Shard::IndexInsert(uint64_t hash, uint32_t entry) {
  if ((count + 1) * 2 > index.size()) {
    // Grow to keep the table at most half full (short probe runs), re-placing every
    // slot.
    std::vector<Slot> old = std::move(index);
    index.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    const size_t mask = index.size() - 1;
    for (const Slot& s : old) {
      if (s.entry == kNil) continue;
      size_t i = HomeSlot(s.hash, mask);
      while (index[i].entry != kNil) i = (i + 1) & mask;
      index[i] = s;
    }
  }
  const size_t mask = index.size() - 1;
  size_t i = HomeSlot(hash, mask);
  while (index[i].entry != kNil) i = (i + 1) & mask;
  index[i] = Slot{hash, entry};
  ++count;
}

void NodeCache::Shard::IndexErase(size_t slot) {
  // Backward-shift deletion: pull later slots of the probe run into the hole unless
  // their home lies cyclically within (hole, their slot], so every remaining key stays
  // reachable from its home without tombstones.
  const size_t mask = index.size() - 1;
  size_t hole = slot;
  for (size_t j = (hole + 1) & mask; index[j].entry != kNil; j = (j + 1) & mask) {
    const size_t home = HomeSlot(index[j].hash, mask);
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    index[hole] = index[j];
    hole = j;
  }
  index[hole] = Slot{};
  --count;
}

void NodeCache::Shard::Unlink(uint32_t e) {
  Entry& entry = entries[e];
  if (entry.prev != kNil) {
    entries[entry.prev].next = entry.next;
  } else {
    head = entry.next;
  }
  if (entry.next != kNil) {
    entries[entry.next].prev = entry.prev;
  } else {
    tail = entry.prev;
  }
  entry.prev = entry.next = kNil;
}

void NodeCache::Shard::PushFront(uint32_t e) {
  Entry& entry = entries[e];
  entry.prev = kNil;
  entry.next = head;
  if (head != kNil) entries[head].prev = e;
  head = e;
  if (tail == kNil) tail = e;
}

std::shared_ptr<const Node> NodeCache::Shard::Remove(uint32_t e, size_t slot) {
  VELLUM_CHECK(index[slot].entry == e);
  Unlink(e);
  IndexErase(slot);
  Entry& entry = entries[e];
  usage -= entry.charge;
  std::shared_ptr<const Node> node = std::move(entry.node);
  entry.key.clear();
  entry.charge = 0;
  free.push_back(e);
  return node;
}

std::shared_ptr<const Node> NodeCache::Lookup(const std::string& key, const NodeRef& expected) {
  if (shard_capacity_ == 0) return nullptr;
  const uint64_t hash = KeyHash(key);
  Shard& shard = shards_[hash % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  const size_t slot = shard.Find(hash);
  if (slot == SIZE_MAX) return nullptr;
  const uint32_t e = shard.index[slot].entry;
  const Entry& entry = shard.entries[e];
  if (!(entry.ref == expected) || entry.key != key) return nullptr;
  if (shard.head != e) {
    shard.Unlink(e);
    shard.PushFront(e);
  }
  return entry.node;
}

void NodeCache::Insert(std::string key, const NodeRef& ref, std::shared_ptr<const Node> node) {
  if (shard_capacity_ == 0) return;
  const uint64_t hash = KeyHash(key);
  const size_t charge = node->MemoryUsage() + key.capacity() + sizeof(Entry) + sizeof(Slot) * 2;
  Shard& shard = shards_[hash % kShards];
  // Nodes leaving the cache are released after the lock: freeing a node (and the
  // nodes only it held) is the expensive part.
  std::vector<std::shared_ptr<const Node>> released;
  std::lock_guard<std::mutex> lock(shard.mu);
  if (const size_t slot = shard.Find(hash); slot != SIZE_MAX) {
    // The same key again, or (rarely) another key with the same 64-bit hash: either
    // way the newer entry takes the slot.
    released.push_back(shard.Remove(shard.index[slot].entry, slot));
  }
  uint32_t e;
  if (!shard.free.empty()) {
    e = shard.free.back();
    shard.free.pop_back();
  } else {
    VELLUM_CHECK(shard.entries.size() < kNil);
    e = static_cast<uint32_t>(shard.entries.size());
    shard.entries.emplace_back();
  }
  Entry& entry = shard.entries[e];
  entry.key = std::move(key);
  entry.hash = hash;
  entry.ref = ref;
  entry.node = std::move(node);
  entry.charge = charge;
  shard.PushFront(e);
  shard.IndexInsert(hash, e);
  shard.usage += charge;
  while (shard.usage > shard_capacity_ && shard.tail != kNil) {
    const uint32_t victim = shard.tail;
    const size_t slot = shard.Find(shard.entries[victim].hash);
    released.push_back(shard.Remove(victim, slot));
  }
}

void NodeCache::Erase(const std::string& key) {
  if (shard_capacity_ == 0) return;
  const uint64_t hash = KeyHash(key);
  Shard& shard = shards_[hash % kShards];
  std::shared_ptr<const Node> dropped;  // released outside the lock
  std::lock_guard<std::mutex> lock(shard.mu);
  const size_t slot = shard.Find(hash);
  if (slot == SIZE_MAX) return;
  const uint32_t e = shard.index[slot].entry;
  if (shard.entries[e].key != key) return;
  dropped = shard.Remove(e, slot);
}

size_t NodeCache::usage_bytes() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    total += shard.usage;
  }
  return total;
}

size_t NodeCache::entry_count() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    total += shard.count;
  }
  return total;
}

}  // namespace vellum::trie
