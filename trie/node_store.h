// Copyright (c) Vellum authors.
//
// NodeStore: where trie nodes, stale-node records and version records live. To the
// trie it is an ordered key-value store with atomic batches; the trie decides the
// key layout (docs/formats/trie.md). Two implementations: MemNodeStore (a map, for
// tests and tools) and RocksNodeStore (a RocksDB column family, trie/rocks_node_store.h).
//
// Nothing read from a NodeStore is trusted: the trie verifies every node against the
// hash its parent expects.
//
// Thread safety: implementations allow concurrent Get/Scan with one writer.

#ifndef VELLUM_TRIE_NODE_STORE_H_
#define VELLUM_TRIE_NODE_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vellum/status.h"

namespace vellum::trie {

// A set of puts and deletes applied atomically, in order.
struct NodeWriteBatch {
  struct Op {
    bool is_delete = false;
    std::string key;
    std::string value;
  };
  std::vector<Op> ops;

  void Put(std::string key, std::string value) {
    ops.push_back({false, std::move(key), std::move(value)});
  }
  void Delete(std::string key) { ops.push_back({true, std::move(key), {}}); }
  size_t ByteSize() const;
};

class NodeStore {
 public:
  // Return false to stop a scan early.
  using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;

  virtual ~NodeStore() = default;

  // The value under `key`; NotFound if there is none.
  virtual Status Get(std::string_view key, std::string* value) = 0;
  // Calls `fn` for each entry with begin <= key < end, in key order, until `fn` returns
  // false. An empty `end` means no upper bound: the scan runs to the last key (no key is
  // below the empty string, so an empty bound would otherwise be useless). `fn` may call
  // into the store; entries written by a concurrent Write may or may not be seen.
  virtual Status Scan(std::string_view begin, std::string_view end, const ScanFn& fn) = 0;
  // Applies `batch` atomically: after a crash either all of it or none is visible.
  // With `sync`, it is durable when Write returns OK.
  virtual Status Write(const NodeWriteBatch& batch, bool sync) = 0;
};

// An in-memory NodeStore (std::map). Write is atomic under its lock.
class MemNodeStore final : public NodeStore {
 public:
  Status Get(std::string_view key, std::string* value) override;
  Status Scan(std::string_view begin, std::string_view end, const ScanFn& fn) override;
  Status Write(const NodeWriteBatch& batch, bool sync) override;

  // For tests: direct access to the entries (e.g. to corrupt one).
  std::map<std::string, std::string, std::less<>>& entries_for_testing() { return entries_; }
  size_t size() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::string, std::less<>> entries_;
};

}  // namespace vellum::trie

#endif  // VELLUM_TRIE_NODE_STORE_H_
