// Copyright (c) Vellum authors.

#include "trie/node_store.h"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vellum/status.h"

namespace vellum::trie {

size_t NodeWriteBatch::ByteSize() const {
  size_t total = 0;
  for (const Op& op : ops) total += op.key.size() + op.value.size();
  return total;
}

Status MemNodeStore::Get(std::string_view key, std::string* value) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return Status::NotFound("node store: no entry under the key");
  *value = it->second;
  return Status::OK();
}

// The entries are copied out in chunks and `fn` runs without the lock held, so that
// `fn` may call back into the store (even Write) without deadlocking. Chunks start
// small, because the trie often stops after the first entry or two, and grow so that a
// long scan costs few re-seeks. Each chunk is consistent; a Write between chunks may
// be seen in part, as the NodeStore contract allows.
Status MemNodeStore::Scan(std::string_view begin, std::string_view end, const ScanFn& fn) {
  const bool bounded = !end.empty();
  if (bounded && begin >= end) return Status::OK();
  constexpr size_t kFirstChunk = 8;
  constexpr size_t kMaxChunk = 1024;
  std::vector<std::pair<std::string, std::string>> chunk;
  std::string resume(begin);  // The next chunk starts at the first key >= resume...
  bool inclusive = true;      // ...or > resume, once resume is a key already passed on.
  for (size_t chunk_size = kFirstChunk;; chunk_size = std::min(chunk_size * 2, kMaxChunk)) {
    chunk.clear();
    bool more = false;
    {
      std::shared_lock<std::shared_mutex> lock(mu_);
      auto it = inclusive ? entries_.lower_bound(resume) : entries_.upper_bound(resume);
      for (; it != entries_.end(); ++it) {
        if (bounded && std::string_view(it->first) >= end) break;
        if (chunk.size() == chunk_size) {
          more = true;
          break;
        }
        chunk.emplace_back(it->first, it->second);
      }
    }
    for (const auto& [key, value] : chunk) {
      if (!fn(key, value)) return Status::OK();
    }
    if (!more) return Status::OK();
    resume = std::move(chunk.back().first);
    inclusive = false;
  }
}

Status MemNodeStore::Write(const NodeWriteBatch& batch, bool /*sync*/) {
  // Memory has no durability to ask for; atomicity comes from the exclusive lock.
  std::unique_lock<std::shared_mutex> lock(mu_);
  for (const NodeWriteBatch::Op& op : batch.ops) {
    if (op.is_delete) {
      entries_.erase(op.key);
    } else {
      entries_.insert_or_assign(op.key, op.value);
    }
  }
  return Status::OK();
}

size_t MemNodeStore::size() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return entries_.size();
}

}  // namespace vellum::trie
