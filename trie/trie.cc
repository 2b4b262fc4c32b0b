// Copyright (c) Vellum authors.
//
// The trie algorithm, written once over the Scheme interface. Store layout
// (docs/formats/trie.md), all keys prefixed with TrieOptions::key_prefix:
//
//   'n' BE64(version) BE16(nibble count) packed-path  -> node record
//   'n' BE64(since) FF FE                          -> the nodes superseded from version
//                                                     `since` on, each as
//                                                     BE64(v) BE16(nibble count) packed-path
//   'n' BE64(version) FF FF                        -> root hash || varint(node version)
//   'm' "oldest"                                   -> BE64(oldest retained version)
//   'm' "pruned"                                   -> BE64(v): every stale record with
//                                                     since <= v has been applied
//
// Everything one commit writes sits under 'n' BE64(version): each commit is an append
// at the end of the key space, so RocksDB's memtable inserts in order, its files never
// overlap, and compaction moves whole files instead of merging them. (A nibble count
// is at most 2 * kMaxKeySize, so FF FE and FF FF sort after every node of the version.)
//
// A node record is: format byte (2) || varint(encoding size) || the scheme's encoding
// || for each hash-referenced child, in slot order, either varint(version) (>= 1: the
// child is stored on its own) or 0x00 || the child leaf itself (a small leaf under a
// branch lives in its parent's record: path(fragment) || varint(len(value)) || value).
// Neither the versions nor the embedded leaves are trusted: a wrong version leads to
// a node whose hash does not match, and an embedded leaf is checked against the hash
// its parent holds before it is used.

#include "trie/trie.h"

#include <algorithm>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "trie/node_cache.h"
#include "trie/scheme.h"
#include "vellum/check.h"

namespace vellum::trie {
namespace {

constexpr char kNodeTag = 'n';
constexpr char kMetaTag = 'm';
// The path-length field of the per-commit records that are not nodes.
constexpr uint16_t kStaleSuffix = 0xfffe;
constexpr uint16_t kVersionSuffix = 0xffff;
constexpr uint8_t kRecordFormat = 2;
constexpr size_t kPruneBatchOps = 10000;

void AppendBE64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

void AppendPathKey(const uint8_t* path, size_t count, std::string* out) {
  out->push_back(static_cast<char>(count >> 8));
  out->push_back(static_cast<char>(count & 0xff));
  AppendPackedNibbles(path, count, out);
}

std::string PathString(const Nibbles& path) {
  return path.empty() ? std::string("(root)") : NibblesToString(path.data(), path.size());
}

std::string Where(const Nibbles& path, uint64_t version) {
  return "trie node at path " + PathString(path) + " stored under version " +
         std::to_string(version);
}

// Hash-referenced children in slot order: the ones a record lists.
template <typename Fn>
void ForEachStoredChild(const Node& node, Fn fn) {
  for (size_t i = 0; i < node.children.size(); ++i) {
    if (node.children[i].ref.is_hash()) fn(i);
  }
}

size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// The bytes a leaf takes inside its parent's record (after the 0x00 marker).
size_t EmbeddedLeafSize(const Node& leaf) {
  return VarintLength(leaf.path.size()) + (leaf.path.size() + 1) / 2 +
         VarintLength(leaf.value.size()) + leaf.value.size();
}

void AppendEmbeddedLeaf(const Node& leaf, std::string* out) {
  PutVarint64(out, leaf.path.size());
  AppendPackedNibbles(leaf.path.data(), leaf.path.size(), out);
  PutVarint64(out, leaf.value.size());
  out->append(AsChars(leaf.value));
}

// Parses an embedded leaf; the result is not yet checked against its parent's hash.
bool ParseEmbeddedLeaf(ByteView* in, std::shared_ptr<Node>* out) {
  uint64_t count = 0;
  if (!GetVarint64(in, &count) || count > 2 * kMaxKeySize) return false;
  const size_t packed = (count + 1) / 2;
  if (in->size() < packed) return false;
  Nibbles path(count);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t b = (*in)[i / 2];
    path[i] = (i % 2 == 0) ? (b >> 4) : (b & 0x0f);
  }
  if (count % 2 == 1 && ((*in)[packed - 1] & 0x0f) != 0) return false;
  *in = in->subspan(packed);
  uint64_t len = 0;
  if (!GetVarint64(in, &len) || len == 0 || len > kMaxValueSize || len > in->size()) return false;
  *out = Node::MakeLeaf(std::move(path), Bytes(in->begin(), in->begin() + len));
  *in = in->subspan(len);
  (*out)->dirty = false;
  (*out)->verified = false;
  return true;
}

std::string EncodeRecord(const std::string& encoding, const Node& node) {
  // Sized exactly up front: a record is built once per written node.
  size_t size = 1 + VarintLength(encoding.size()) + encoding.size();
  ForEachStoredChild(node, [&](size_t i) {
    const ChildRef& c = node.children[i];
    size += VarintLength(c.version);
    if (c.version == 0 && c.node != nullptr) size += EmbeddedLeafSize(*c.node);
  });
  std::string record;
  record.reserve(size);
  record.push_back(static_cast<char>(kRecordFormat));
  PutVarint64(&record, encoding.size());
  record.append(encoding);
  ForEachStoredChild(node, [&](size_t i) {
    const ChildRef& c = node.children[i];
    PutVarint64(&record, c.version);
    if (c.version == 0) {
      VELLUM_CHECK(c.node != nullptr && c.node->is_leaf());
      AppendEmbeddedLeaf(*c.node, &record);
    }
  });
  return record;
}

// A node a pipelined commit wrote, kept until its write has finished: the next batch
// may need it before the store holds it, and the cache may have evicted it.
struct PendingNode {
  NodeRef ref;
  std::shared_ptr<const Node> node;
};
using PendingNodes = std::unordered_map<std::string, PendingNode>;

// Everything one batch produces.
struct BatchState {
  uint64_t version = 0;
  // The nodes of the pipelined commit whose write may still be in flight (or null).
  const PendingNodes* pending = nullptr;
  // Whether to collect the written nodes that leave memory into `nodes`, for the next
  // pipelined batch.
  bool collect_nodes = false;
  std::vector<std::pair<std::string, PendingNode>> nodes;
  // The stale record's entries: the tail of each superseded node's key (after the
  // prefix and tag), BE64(version) BE16(count) packed(path).
  std::string stale;
  std::vector<std::pair<std::string, std::string>> writes;  // node key -> record
  size_t bytes_written = 0;
};

struct PreparedState {
  uint64_t base_version = 0;
  TrieRoot root;
  std::shared_ptr<Node> root_node;                         // linked to its pinned levels
  std::vector<std::pair<std::string, PendingNode>> nodes;  // if collected
};

class TrieImpl final : public Trie {
 public:
  TrieImpl(const TrieOptions& options, NodeStore* store)
      : options_(options),
        scheme_(SchemeFor(options.scheme)),
        store_(store),
        cache_(options.cache_bytes) {}

  ~TrieImpl() override {
    // The write in flight uses the store and this trie.
    WaitForWrite();
    if (writer_.joinable()) {
      {
        std::lock_guard lock(writer_mu_);
        writer_stop_ = true;
      }
      writer_cv_.notify_all();
      writer_.join();
    }
  }

  Status Load() {
    VELLUM_RETURN_IF_ERROR(ReadMeta("oldest", &oldest_));
    // Version records sit among the nodes, one per commit: hop from each to the next
    // with one seek (two where versions are not consecutive) instead of reading every
    // node in between.
    Status record_status;
    VELLUM_RETURN_IF_ERROR(ForEachCommitRecord(
        0, UINT64_MAX, kVersionSuffix, [&](uint64_t version, std::string_view value) {
          TrieRoot root;
          ByteView rest = AsBytes(value);
          if (rest.size() < 33) {
            record_status = MalformedVersionRecord(version);
            return false;
          }
          std::memcpy(root.hash.data(), rest.data(), 32);
          rest = rest.subspan(32);
          if (!GetVarint64(&rest, &root.node_version) || !rest.empty()) {
            record_status = MalformedVersionRecord(version);
            return false;
          }
          versions_[version] = root;
          return true;
        }));
    VELLUM_RETURN_IF_ERROR(record_status);
    if (!versions_.empty()) {
      latest_version_ = versions_.rbegin()->first;
      latest_root_ = versions_.rbegin()->second;
    } else {
      latest_root_.hash = scheme_.EmptyRoot();
    }
    return Status::OK();
  }

  uint64_t LatestVersion() const override {
    std::shared_lock lock(mu_);
    return latest_version_;
  }
  TrieRoot LatestRoot() const override {
    std::shared_lock lock(mu_);
    return latest_root_;
  }
  uint64_t OldestVersion() const override {
    std::shared_lock lock(mu_);
    return oldest_;
  }

  Result<TrieRoot> RootAt(uint64_t version) const override {
    std::shared_lock lock(mu_);
    if (version > latest_version_) {
      return Status::NotFound("trie version " + std::to_string(version) +
                              " does not exist (latest is " + std::to_string(latest_version_) +
                              ")");
    }
    if (version < oldest_) {
      return Status::NotFound("trie version " + std::to_string(version) +
                              " has been pruned (oldest retained is " + std::to_string(oldest_) +
                              ")");
    }
    auto it = versions_.upper_bound(version);
    if (it == versions_.begin()) {
      TrieRoot empty;
      empty.hash = scheme_.EmptyRoot();
      return empty;
    }
    return std::prev(it)->second;
  }

  Result<CommitInfo> Commit(uint64_t version, std::vector<TrieOp> ops) override {
    VELLUM_ASSIGN_OR_RETURN(Prepared prepared, Prepare(version, std::move(ops)));
    VELLUM_RETURN_IF_ERROR(store_->Write(prepared.batch, options_.sync));
    const CommitInfo info = prepared.info;
    VELLUM_RETURN_IF_ERROR(Install(std::move(prepared)));
    return info;
  }

  Result<Prepared> Prepare(uint64_t version, std::vector<TrieOp> ops) override;
  Status Install(Prepared prepared) override;

  std::future<Result<CommitInfo>> CommitPipelined(uint64_t version,
                                                  std::vector<TrieOp> ops) override;
  Status FlushPipeline() override {
    WaitForWrite();
    head_.reset();
    pending_.clear();
    return pipeline_status_;
  }

  Result<std::optional<Bytes>> Get(uint64_t version, ByteView key) const override {
    VELLUM_ASSIGN_OR_RETURN(TrieRoot root, RootAt(version));
    Result<std::optional<Bytes>> result = GetAtRoot(root, key);
    if (!result.ok()) return AtVersion(result.status(), version);
    return result;
  }

  Result<std::optional<Bytes>> GetAtRoot(const TrieRoot& root, ByteView key) const override {
    VELLUM_RETURN_IF_ERROR(CheckKey(key));
    return Walk(root, ToNibbles(key), nullptr, nullptr);
  }

  Result<Proof> Prove(uint64_t version, ByteView key) const override {
    VELLUM_ASSIGN_OR_RETURN(TrieRoot root, RootAt(version));
    Result<Proof> result = ProveAtRoot(root, key);
    if (!result.ok()) return AtVersion(result.status(), version);
    return result;
  }

  Result<Proof> ProveAtRoot(const TrieRoot& root, ByteView key) const override {
    VELLUM_RETURN_IF_ERROR(CheckKey(key));
    std::vector<ProofVisit> visits;
    std::vector<std::shared_ptr<const Node>> keep;
    const Nibbles nibbles = ToNibbles(key);
    VELLUM_RETURN_IF_ERROR(Walk(root, nibbles, &visits, &keep).status());
    Proof proof;
    proof.scheme = options_.scheme;
    proof.items = scheme_.BuildProof(visits, nibbles);
    return proof;
  }

  Status ForEach(uint64_t version, const ForEachFn& fn) const override {
    VELLUM_ASSIGN_OR_RETURN(TrieRoot root, RootAt(version));
    if (root.hash == scheme_.EmptyRoot() && root.node_version == 0) return Status::OK();
    ChildRef slot = RootSlot(root);
    Nibbles path;
    bool stopped = false;
    Status s = Visit(slot, &path, fn, &stopped);
    return s.ok() ? s : AtVersion(s, version);
  }

  Status Prune(uint64_t oldest_retained) override;

 private:
  static Status MalformedVersionRecord(uint64_t version) {
    return Status::Corruption("malformed trie version record for version " +
                              std::to_string(version));
  }

  // Reads the BE64 meta record `name` into *value (left as is when there is none).
  Status ReadMeta(const std::string& name, uint64_t* value) const {
    std::string record;
    Status s = store_->Get(Key(kMetaTag) + name, &record);
    if (s.IsNotFound()) return Status::OK();
    VELLUM_RETURN_IF_ERROR(s);
    if (record.size() != 8) return Status::Corruption("malformed trie meta record " + name);
    *value = DecodeFixed64BE(reinterpret_cast<const uint8_t*>(record.data()));
    return Status::OK();
  }

  // Calls fn(version, value) for the per-commit record with suffix `suffix` (version or
  // stale record) of each version in [first, last], in order, until fn returns false.
  // Each step seeks straight to the record of the next version that has keys.
  template <typename Fn>
  Status ForEachCommitRecord(uint64_t first, uint64_t last, uint16_t suffix, Fn fn) const {
    const std::string node_begin = Key(kNodeTag);
    const std::string node_end = Key(kNodeTag + 1);
    uint64_t next = first;
    while (next <= last) {
      // The first key at or after the record of `next`: that record, or the first key
      // of a later version.
      bool found = false;
      uint64_t version = 0;
      bool is_record = false;
      std::string value;
      Status parse_status;
      VELLUM_RETURN_IF_ERROR(store_->Scan(
          CommitRecordKey(next, suffix), node_end, [&](std::string_view key, std::string_view v) {
            if (key.size() < node_begin.size() + 10) {
              parse_status = Status::Corruption("malformed trie node key");
              return false;
            }
            const auto* p = reinterpret_cast<const uint8_t*>(key.data() + node_begin.size());
            version = DecodeFixed64BE(p);
            is_record = key.size() == node_begin.size() + 10 &&
                        ((static_cast<uint16_t>(p[8]) << 8) | p[9]) == suffix;
            if (is_record) value.assign(v);
            found = true;
            return false;
          }));
      VELLUM_RETURN_IF_ERROR(parse_status);
      if (!found || version > last) break;
      if (!is_record && version > next) {
        next = version;  // the first version after `next` that has keys
        continue;
      }
      // Either the record of `version`, or a key of `next` sorting after where its
      // record would be: `next` has none.
      if (is_record && !fn(version, std::string_view(value))) break;
      if (version == UINT64_MAX) break;
      next = version + 1;
    }
    return Status::OK();
  }

  Result<Prepared> PrepareOn(uint64_t base_version, const TrieRoot& base_root, ChildRef root_slot,
                             uint64_t version, std::vector<TrieOp> ops, const PendingNodes* pending,
                             bool collect_nodes) const;

  // Runs `write` on the writer thread (started on first use). One at a time: the
  // caller has waited for the previous one.
  void StartWrite(std::function<void()> write) {
    VELLUM_CHECK(!in_flight_);
    {
      std::lock_guard lock(writer_mu_);
      writer_task_ = std::move(write);
    }
    in_flight_ = true;
    if (!writer_.joinable()) {
      writer_ = std::thread([this] { WriterLoop(); });
    } else {
      writer_cv_.notify_all();
    }
  }

  // Waits for the pipelined write in flight, if any, then frees what it used here:
  // memory is cheaper to free on the thread that allocated it.
  void WaitForWrite() {
    if (!in_flight_) return;
    {
      std::unique_lock lock(writer_mu_);
      writer_cv_.wait(lock, [this] { return writer_task_ == nullptr; });
    }
    in_flight_ = false;
    written_.reset();
    retired_root_node_.reset();
  }

  void WriterLoop() {
    std::unique_lock lock(writer_mu_);
    for (;;) {
      writer_cv_.wait(lock, [this] { return writer_stop_ || writer_task_ != nullptr; });
      if (writer_task_ == nullptr) return;  // stopping, and nothing left to write
      std::function<void()>& task = writer_task_;
      lock.unlock();
      task();
      lock.lock();
      writer_task_ = nullptr;
      writer_cv_.notify_all();
    }
  }

  // Adds a delete for every node listed in a stale record.
  Status AddStaleDeletes(std::string_view record, NodeWriteBatch* batch) const;

  std::string Key(char tag) const {
    std::string k = options_.key_prefix;
    k.push_back(tag);
    return k;
  }
  std::string NodeKey(const Nibbles& path, uint64_t version) const {
    std::string k;
    k.reserve(options_.key_prefix.size() + 11 + (path.size() + 1) / 2);
    k.append(options_.key_prefix);
    k.push_back(kNodeTag);
    AppendBE64(&k, version);
    AppendPathKey(path.data(), path.size(), &k);
    return k;
  }
  std::string CommitRecordKey(uint64_t version, uint16_t suffix) const {
    std::string k = Key(kNodeTag);
    AppendBE64(&k, version);
    k.push_back(static_cast<char>(suffix >> 8));
    k.push_back(static_cast<char>(suffix & 0xff));
    return k;
  }
  std::string StaleKey(uint64_t since) const { return CommitRecordKey(since, kStaleSuffix); }
  std::string VersionKey(uint64_t version) const {
    return CommitRecordKey(version, kVersionSuffix);
  }

  static Status AtVersion(const Status& s, uint64_t version) {
    if (s.IsInvalidArgument()) return s;
    return s.WithContext("reading trie version " + std::to_string(version));
  }

  static Status CheckKey(ByteView key) {
    if (key.size() > kMaxKeySize) {
      return Status::InvalidArgument("trie key of " + std::to_string(key.size()) +
                                     " bytes exceeds the limit of " + std::to_string(kMaxKeySize));
    }
    return Status::OK();
  }

  ChildRef RootSlot(const TrieRoot& root) const {
    ChildRef slot;
    if (root.node_version == 0 && root.hash == scheme_.EmptyRoot()) return slot;
    slot.ref = NodeRef::Hash(root.hash);
    slot.version = root.node_version;
    // The latest version's upper levels stay linked in memory (see pinned_levels).
    std::shared_lock lock(mu_);
    if (root.hash == latest_root_.hash && root.node_version == latest_root_.node_version) {
      slot.node = latest_root_node_;
    }
    return slot;
  }

  // Loads the node `slot` refers to, verified against slot.ref. `for_update`: the
  // caller is a batch, which supersedes (or leaves alone) a leaf it loads, so a leaf is
  // not cached: it would only push live branches out of the cache.
  Result<std::shared_ptr<const Node>> LoadNode(const ChildRef& slot, const Nibbles& path,
                                               bool for_update = false,
                                               const PendingNodes* pending = nullptr) const {
    if (slot.node != nullptr) {
      // A leaf read from its parent's record is checked against the parent's hash on
      // each use (cheaper than checking every leaf of every record loaded).
      if (!slot.node->verified && !slot.node->dirty &&
          !(scheme_.ComputeRef(*slot.node, false, nullptr) == slot.ref)) {
        return Status::Corruption("trie leaf at path " + PathString(path) +
                                  ", stored in its parent's record, does not match its "
                                  "parent's hash");
      }
      return std::shared_ptr<const Node>(slot.node);
    }
    VELLUM_CHECK(slot.ref.is_hash());
    const std::string key = NodeKey(path, slot.version);
    if (std::shared_ptr<const Node> hit = cache_.Lookup(key, slot.ref)) return hit;
    if (pending != nullptr) {
      auto it = pending->find(key);
      // Built by this trie and hashed to slot.ref: as good as verified.
      if (it != pending->end() && it->second.ref == slot.ref) {
        if (!(for_update && it->second.node->is_leaf())) {
          cache_.Insert(key, slot.ref, it->second.node);
        }
        return it->second.node;
      }
    }
    std::string record;
    Status s = store_->Get(key, &record);
    if (s.IsNotFound()) {
      return Status::Corruption(Where(path, slot.version) + " is missing from the store");
    }
    if (!s.ok()) return s.WithContext("reading " + Where(path, slot.version));
    ByteView in = AsBytes(record);
    uint64_t size = 0;
    if (in.empty() || in[0] != kRecordFormat) {
      return Status::Corruption(Where(path, slot.version) + ": unknown record format");
    }
    in = in.subspan(1);
    if (!GetVarint64(&in, &size) || size > in.size()) {
      return Status::Corruption(Where(path, slot.version) + ": truncated record");
    }
    Result<std::shared_ptr<Node>> decoded = scheme_.DecodeVerified(in.first(size), slot.ref);
    if (!decoded.ok()) {
      return Status::Corruption(Where(path, slot.version) + ": " + decoded.status().message());
    }
    std::shared_ptr<Node> node = std::move(decoded).value();
    in = in.subspan(size);
    bool children_ok = true;
    ForEachStoredChild(*node, [&](size_t i) {
      ChildRef& c = node->children.mut(i);
      if (!children_ok || !GetVarint64(&in, &c.version)) {
        children_ok = false;
      } else if (c.version == 0) {
        children_ok = node->is_branch() && ParseEmbeddedLeaf(&in, &c.node);
      }
    });
    if (!children_ok || !in.empty()) {
      return Status::Corruption(Where(path, slot.version) + ": bad child references");
    }
    // Only versions and embedded leaves were set: the slots' refs, and so the scheme's
    // memo of hashes over them (computed while decoding), are unchanged.
    node->children.ClearChanged();
    node->stored_version = slot.version;
    node->dirty = false;
    if (!(for_update && node->is_leaf())) cache_.Insert(key, slot.ref, node);
    return std::shared_ptr<const Node>(std::move(node));
  }

  // Walks from `root` towards `key`; returns the value or nullopt. With `visits`,
  // records every node met (kept alive by `keep`).
  Result<std::optional<Bytes>> Walk(const TrieRoot& root, const Nibbles& key,
                                    std::vector<ProofVisit>* visits,
                                    std::vector<std::shared_ptr<const Node>>* keep) const {
    ChildRef slot = RootSlot(root);
    Nibbles path;
    size_t depth = 0;
    while (!slot.empty()) {
      VELLUM_ASSIGN_OR_RETURN(std::shared_ptr<const Node> node, LoadNode(slot, path));
      if (visits != nullptr) {
        visits->push_back({node.get(), depth});
        keep->push_back(node);
      }
      const size_t rest = key.size() - depth;
      if (node->is_leaf()) {
        if (rest == node->path.size() &&
            std::equal(node->path.begin(), node->path.end(), key.begin() + depth)) {
          return std::optional<Bytes>(node->value);
        }
        return std::optional<Bytes>();
      }
      if (node->is_extension()) {
        if (rest < node->path.size() ||
            !std::equal(node->path.begin(), node->path.end(), key.begin() + depth)) {
          return std::optional<Bytes>();
        }
        path.insert(path.end(), node->path.begin(), node->path.end());
        depth += node->path.size();
        slot = node->children[0];
        continue;
      }
      if (rest == 0) {
        if (node->value.empty()) return std::optional<Bytes>();
        return std::optional<Bytes>(node->value);
      }
      const uint8_t nibble = key[depth];
      path.push_back(nibble);
      ++depth;
      slot = node->children[nibble];
    }
    return std::optional<Bytes>();
  }

  Status Visit(const ChildRef& slot, Nibbles* path, const ForEachFn& fn, bool* stopped) const {
    VELLUM_ASSIGN_OR_RETURN(std::shared_ptr<const Node> node, LoadNode(slot, *path));
    const size_t base = path->size();
    auto emit = [&](const Bytes& value) -> Status {
      if (path->size() % 2 != 0) {
        return Status::Corruption("trie holds a value at an odd nibble depth, path " +
                                  PathString(*path));
      }
      const Bytes key = NibblesToBytes(*path);
      if (!fn(key, value)) *stopped = true;
      return Status::OK();
    };
    if (node->is_leaf()) {
      path->insert(path->end(), node->path.begin(), node->path.end());
      Status s = emit(node->value);
      path->resize(base);
      return s;
    }
    if (node->is_extension()) {
      path->insert(path->end(), node->path.begin(), node->path.end());
      Status s = Visit(node->children[0], path, fn, stopped);
      path->resize(base);
      return s;
    }
    if (!node->value.empty()) VELLUM_RETURN_IF_ERROR(emit(node->value));
    for (uint8_t i = 0; i < 16 && !*stopped; ++i) {
      if (node->children[i].empty()) continue;
      path->push_back(i);
      Status s = Visit(node->children[i], path, fn, stopped);
      path->pop_back();
      VELLUM_RETURN_IF_ERROR(s);
    }
    return Status::OK();
  }

  // --- batch update ---------------------------------------------------------------

  // Records that the stored node `slot` refers to is superseded by this batch, and
  // drops it from the cache: the latest version no longer uses it, and the node cache
  // would otherwise fill up with superseded nodes (one per changed node per commit)
  // that push out the live ones. (If this batch is never installed the node is merely
  // read from the store again.)
  void MarkStale(const ChildRef& slot, const Nibbles& path, BatchState* st) const {
    const bool dirty = slot.node != nullptr && slot.node->dirty;
    // An embedded leaf (version 0) goes with its parent's record.
    if (!dirty && slot.ref.is_hash() && slot.version != 0) {
      const std::string key = NodeKey(path, slot.version);
      st->stale.append(key, options_.key_prefix.size() + 1);
      cache_.Erase(key);
    }
  }

  // Makes slot.node a dirty node this batch may change, copying `current` (the node
  // the slot holds, already loaded by the caller) if it is a committed one.
  Node* MakeDirty(ChildRef* slot, const std::shared_ptr<const Node>& current, const Nibbles& path,
                  BatchState* st) const {
    if (slot->node != nullptr && slot->node->dirty) return slot->node.get();
    MarkStale(*slot, path, st);
    auto copy = std::make_shared<Node>(*current);
    copy->dirty = true;
    copy->verified = true;  // LoadNode checked `current`; the copy is this batch's own
    copy->stored_version = 0;
    slot->node = std::move(copy);
    slot->ref = NodeRef();
    slot->version = 0;
    return slot->node.get();
  }

  static Nibbles Slice(const Nibbles& n, size_t from, size_t to) {
    return Nibbles(n.begin() + static_cast<ptrdiff_t>(from),
                   n.begin() + static_cast<ptrdiff_t>(to));
  }

  // Applies `op` to the child `index` of the node in `slot` (whose own path is
  // `*path`; the child's is `child_path_suffix` further). A committed node is copied
  // only if the child actually changed, so a no-op touches nothing.
  template <typename Op>
  Result<bool> Descend(ChildRef* slot, Nibbles* path, const std::shared_ptr<const Node>& current,
                       size_t index, const uint8_t* suffix, size_t suffix_len, BatchState* st,
                       const Op& op) const {
    const size_t base = path->size();
    path->insert(path->end(), suffix, suffix + suffix_len);
    Result<bool> changed = false;
    if (current->dirty) {
      changed = op(&slot->node->children.mut(index), path);
      path->resize(base);
      return changed;
    }
    ChildRef child = current->children[index];
    changed = op(&child, path);
    path->resize(base);
    if (!changed.ok() || !*changed) return changed;
    Node* n = MakeDirty(slot, current, *path, st);
    n->children.mut(index) = std::move(child);
    return true;
  }

  // Returns whether the trie changed.
  Result<bool> Put(ChildRef* slot, Nibbles* path, const Nibbles& key, size_t depth,
                   const Bytes& value, BatchState* st) const {
    if (slot->empty()) {
      slot->node = Node::MakeLeaf(Slice(key, depth, key.size()), value);
      return true;
    }
    VELLUM_ASSIGN_OR_RETURN(std::shared_ptr<const Node> current,
                            LoadNode(*slot, *path, /*for_update=*/true, st->pending));
    const size_t rest_len = key.size() - depth;
    const size_t common = CommonPrefixLength(current->path.data(), current->path.size(),
                                             key.data() + depth, rest_len);
    auto recurse = [&](size_t child_depth) {
      return [&, child_depth](ChildRef* child, Nibbles* child_path) {
        return Put(child, child_path, key, child_depth, value, st);
      };
    };
    if (current->is_branch() && rest_len > 0) {
      const uint8_t nibble = key[depth];
      return Descend(slot, path, current, nibble, &nibble, 1, st, recurse(depth + 1));
    }
    if (current->is_extension() && common == current->path.size()) {
      return Descend(slot, path, current, 0, current->path.data(), current->path.size(), st,
                     recurse(depth + common));
    }
    if (current->is_branch()) {  // the key ends at this branch
      if (current->value == value) return false;
      Node* n = MakeDirty(slot, current, *path, st);
      n->value = value;
      return true;
    }
    if (current->is_leaf() && common == current->path.size() && common == rest_len) {
      if (current->value == value) return false;
      Node* n = MakeDirty(slot, current, *path, st);
      n->value = value;
      return true;
    }
    // Split: a branch where the existing node and the new key part ways.
    MarkStale(*slot, *path, st);
    std::shared_ptr<Node> branch = Node::MakeBranch();
    if (common == current->path.size()) {
      branch->value = current->value;  // only a leaf can end exactly here
    } else {
      const uint8_t old_nibble = current->path[common];
      Nibbles old_rest = Slice(current->path, common + 1, current->path.size());
      ChildRef& old_slot = branch->children.mut(old_nibble);
      if (current->is_leaf()) {
        old_slot.node = Node::MakeLeaf(std::move(old_rest), current->value);
      } else if (old_rest.empty()) {
        old_slot = current->children[0];  // the child keeps its absolute path
      } else {
        old_slot.node = Node::MakeExtension(std::move(old_rest), current->children[0]);
      }
    }
    if (common == rest_len) {
      branch->value = value;
    } else {
      branch->children.mut(key[depth + common]).node =
          Node::MakeLeaf(Slice(key, depth + common + 1, key.size()), value);
    }
    if (common > 0) {
      ChildRef branch_slot;
      branch_slot.node = std::move(branch);
      slot->node = Node::MakeExtension(Slice(key, depth, depth + common), std::move(branch_slot));
    } else {
      slot->node = std::move(branch);
    }
    slot->ref = NodeRef();
    slot->version = 0;
    return true;
  }

  // Returns whether the trie changed.
  Result<bool> Delete(ChildRef* slot, Nibbles* path, const Nibbles& key, size_t depth,
                      BatchState* st) const {
    if (slot->empty()) return false;
    VELLUM_ASSIGN_OR_RETURN(std::shared_ptr<const Node> current,
                            LoadNode(*slot, *path, /*for_update=*/true, st->pending));
    const size_t rest_len = key.size() - depth;
    const bool prefix_matches =
        current->path.size() <= rest_len &&
        std::equal(current->path.begin(), current->path.end(), key.begin() + depth);
    if (current->is_leaf()) {
      if (!prefix_matches || current->path.size() != rest_len) return false;
      MarkStale(*slot, *path, st);
      *slot = ChildRef();
      return true;
    }
    auto recurse = [&](size_t child_depth) {
      return [&, child_depth](ChildRef* child, Nibbles* child_path) {
        return Delete(child, child_path, key, child_depth, st);
      };
    };
    if (current->is_extension()) {
      if (!prefix_matches) return false;
      VELLUM_ASSIGN_OR_RETURN(
          bool changed, Descend(slot, path, current, 0, current->path.data(), current->path.size(),
                                st, recurse(depth + current->path.size())));
      if (!changed) return false;
      Node* n = slot->node.get();
      Nibbles child_path = *path;
      child_path.insert(child_path.end(), n->path.begin(), n->path.end());
      VELLUM_RETURN_IF_ERROR(Absorb(slot, n->path, &n->children.mut(0), child_path, st));
      return true;
    }
    if (rest_len == 0) {
      if (current->value.empty()) return false;
      Node* n = MakeDirty(slot, current, *path, st);
      n->value.clear();
    } else {
      const uint8_t nibble = key[depth];
      if (current->children[nibble].empty()) return false;
      VELLUM_ASSIGN_OR_RETURN(
          bool changed, Descend(slot, path, current, nibble, &nibble, 1, st, recurse(depth + 1)));
      if (!changed) return false;
    }
    VELLUM_RETURN_IF_ERROR(NormalizeBranch(slot, *path, st));
    return true;
  }

  // Restores the canonical shape of the dirty branch in `slot` (at `path`): a branch
  // needs two entries (children or value); with fewer it becomes a leaf, or merges
  // with its only child.
  Status NormalizeBranch(ChildRef* slot, const Nibbles& path, BatchState* st) const {
    Node* n = slot->node.get();
    VELLUM_CHECK(n != nullptr && n->dirty && n->is_branch());
    int count = 0;
    int last = -1;
    for (int i = 0; i < 16; ++i) {
      if (!n->children[i].empty()) {
        ++count;
        last = i;
      }
    }
    if (count == 0) {
      if (n->value.empty()) {
        *slot = ChildRef();
      } else {
        slot->node = Node::MakeLeaf({}, n->value);
      }
      return Status::OK();
    }
    if (count == 1 && n->value.empty()) {
      const Nibbles prefix = {static_cast<uint8_t>(last)};
      Nibbles child_path = path;
      child_path.push_back(static_cast<uint8_t>(last));
      return Absorb(slot, prefix, &n->children.mut(last), child_path, st);
    }
    return Status::OK();
  }

  // `*slot` becomes a node consuming `prefix` and then `child` (at `child_path`):
  // merged with the child when it is a leaf or extension, else an extension to it.
  Status Absorb(ChildRef* slot, const Nibbles& prefix, ChildRef* child, const Nibbles& child_path,
                BatchState* st) const {
    if (child->empty()) {  // cannot happen in a canonical trie, but stay canonical
      *slot = ChildRef();
      return Status::OK();
    }
    VELLUM_ASSIGN_OR_RETURN(std::shared_ptr<const Node> c,
                            LoadNode(*child, child_path, /*for_update=*/true, st->pending));
    if (c->is_branch()) {
      ChildRef moved = std::move(*child);
      slot->node = Node::MakeExtension(prefix, std::move(moved));
      return Status::OK();
    }
    Nibbles merged = prefix;
    merged.insert(merged.end(), c->path.begin(), c->path.end());
    MarkStale(*child, child_path, st);
    if (c->is_leaf()) {
      slot->node = Node::MakeLeaf(std::move(merged), c->value);
    } else {
      slot->node = Node::MakeExtension(std::move(merged), c->children[0]);
    }
    return Status::OK();
  }

  // For a large batch over a root branch: applies the operations of each first nibble
  // to that child's subtrie, and hashes it, as independent tasks on the TaskRunner
  // (the subtries share nothing), then restores the root's shape. Returns false,
  // having done nothing, when the batch does not qualify. The result is the same as
  // applying the operations one by one.
  Result<bool> ApplyInParallel(ChildRef* root_slot, const std::vector<TrieOp>& ops, BatchState* st,
                               bool* subtries_hashed) const {
    if (options_.task_runner == nullptr || ops.size() < options_.parallel_hash_min_ops ||
        root_slot->empty() || ops.front().key.empty()) {
      return false;
    }
    const Nibbles root_path;
    VELLUM_ASSIGN_OR_RETURN(std::shared_ptr<const Node> root,
                            LoadNode(*root_slot, root_path, false, st->pending));
    if (!root->is_branch()) return false;
    Node* n = MakeDirty(root_slot, root, root_path, st);

    // ops are sorted, so each first nibble's operations are one contiguous run.
    struct Group {
      uint8_t nibble = 0;
      size_t begin = 0, end = 0;
      BatchState state;
      Status status;
    };
    std::vector<Group> groups;
    for (size_t i = 0; i < ops.size();) {
      const uint8_t nibble = ops[i].key[0] >> 4;
      size_t j = i;
      while (j < ops.size() && (ops[j].key[0] >> 4) == nibble) ++j;
      Group g;
      g.nibble = nibble;
      g.begin = i;
      g.end = j;
      g.state.version = st->version;
      g.state.pending = st->pending;
      g.state.collect_nodes = st->collect_nodes;
      groups.push_back(std::move(g));
      i = j;
    }
    // Every group's slot is made writable before any task starts: making one writable
    // may move the others, and the tasks then each change only their own.
    for (Group& g : groups) n->children.mut(g.nibble);
    std::vector<std::function<void()>> tasks;
    for (Group& g : groups) {
      ChildRef* child = &n->children.mut(g.nibble);
      tasks.push_back([this, &g, &ops, child] {
        Nibbles child_path = {g.nibble};
        for (size_t i = g.begin; i < g.end && g.status.ok(); ++i) {
          const Nibbles key = ToNibbles(ops[i].key);
          Result<bool> changed = ops[i].value.empty()
                                     ? Delete(child, &child_path, key, 1, &g.state)
                                     : Put(child, &child_path, key, 1, ops[i].value, &g.state);
          g.status = changed.status();
        }
        if (g.status.ok() && child->node != nullptr && child->node->dirty) {
          g.status = HashSubtree(child, &child_path, false, /*in_branch=*/true, &g.state, false);
        }
      });
    }
    options_.task_runner->RunAll(tasks);
    for (Group& g : groups) {
      VELLUM_RETURN_IF_ERROR(g.status);
      st->stale.append(g.state.stale);
      for (auto& w : g.state.writes) st->writes.push_back(std::move(w));
      for (auto& node : g.state.nodes) st->nodes.push_back(std::move(node));
      st->bytes_written += g.state.bytes_written;
    }
    *subtries_hashed = true;
    VELLUM_RETURN_IF_ERROR(NormalizeBranch(root_slot, root_path, st));
    return true;
  }

  // Hashes every dirty node under `slot` bottom-up, once, and collects the writes.
  // `in_branch`: the slot is a branch's, so a small leaf there goes into the branch's
  // record instead of a record of its own.
  Status HashSubtree(ChildRef* slot, Nibbles* path, bool is_root, bool in_branch, BatchState* st,
                     bool parallel) const {
    Node* n = slot->node.get();
    VELLUM_CHECK(n != nullptr && n->dirty);
    const size_t base = path->size();
    if (n->is_extension()) {
      if (n->children[0].node != nullptr && n->children[0].node->dirty) {
        path->insert(path->end(), n->path.begin(), n->path.end());
        Status s = HashSubtree(&n->children.mut(0), path, false, false, st, parallel);
        path->resize(base);
        VELLUM_RETURN_IF_ERROR(s);
      }
    } else if (n->is_branch()) {
      std::vector<int> dirty_children;
      for (int i = 0; i < 16; ++i) {
        const ChildRef& c = n->children[i];
        if (c.node != nullptr && c.node->dirty) dirty_children.push_back(i);
      }
      if (parallel && options_.task_runner != nullptr && dirty_children.size() > 1) {
        // Independent subtries: each task hashes into its own state; merging in slot
        // order keeps the result identical to the sequential one.
        std::vector<BatchState> states(dirty_children.size());
        std::vector<Status> statuses(dirty_children.size());
        std::vector<std::function<void()>> tasks;
        // The slots are taken here, on this thread: mut() also marks the slot changed in
        // the branch's ChildArray, which the tasks must not write concurrently.
        std::vector<ChildRef*> slots;
        for (int i : dirty_children) slots.push_back(&n->children.mut(i));
        for (size_t t = 0; t < dirty_children.size(); ++t) {
          states[t].version = st->version;
          states[t].collect_nodes = st->collect_nodes;
          tasks.push_back([&, t] {
            Nibbles child_path = *path;
            child_path.push_back(static_cast<uint8_t>(dirty_children[t]));
            statuses[t] = HashSubtree(slots[t], &child_path, false, true, &states[t], false);
          });
        }
        options_.task_runner->RunAll(tasks);
        for (size_t t = 0; t < states.size(); ++t) {
          VELLUM_RETURN_IF_ERROR(statuses[t]);
          for (auto& w : states[t].writes) st->writes.push_back(std::move(w));
          for (auto& node : states[t].nodes) st->nodes.push_back(std::move(node));
          st->bytes_written += states[t].bytes_written;
        }
      } else {
        for (int i : dirty_children) {
          path->push_back(static_cast<uint8_t>(i));
          Status s = HashSubtree(&n->children.mut(i), path, false, true, st, false);
          path->pop_back();
          VELLUM_RETURN_IF_ERROR(s);
        }
      }
    }
    const bool embed =
        in_branch && n->is_leaf() && EmbeddedLeafSize(*n) <= options_.max_embedded_leaf_bytes;
    // Scratch for the encoding, which is copied into the record: one per thread keeps
    // its capacity from node to node instead of allocating each time.
    thread_local std::string encoding;
    const NodeRef ref = scheme_.ComputeRef(*n, is_root, embed ? nullptr : &encoding);
    n->dirty = false;
    slot->ref = ref;
    if (!ref.is_hash()) return Status::OK();  // inline: lives inside its parent
    if (embed) {
      // Written with (and cached with) the parent branch, which this batch rewrites.
      slot->version = 0;
      return Status::OK();
    }
    n->stored_version = st->version;
    std::string key = NodeKey(*path, st->version);
    std::string record = EncodeRecord(encoding, *n);
    // A node with a large value must not pin its size in the scratch for good.
    if (encoding.capacity() > (64 << 10)) std::string().swap(encoding);
    st->bytes_written += key.size() + record.size();
    // Cached now, before the batch is written: a cache hit must also match the hash
    // the reader expects, so an entry from a commit that never lands (its version is
    // then reused with other content) can only miss, never mislead. Pinned levels stay
    // linked instead.
    // A leaf with a record of its own (a root, or one too large to embed) is cached
    // when next read rather than now: a random update rarely reads it again soon.
    if (path->size() >= options_.pinned_levels && !n->is_leaf()) {
      cache_.Insert(key, ref, slot->node);
    }
    if (st->collect_nodes && path->size() >= options_.pinned_levels) {
      st->nodes.push_back({key, PendingNode{ref, slot->node}});
    }
    st->writes.emplace_back(std::move(key), std::move(record));
    slot->version = st->version;
    // Below the pinned levels, published nodes are reached through the cache and the
    // store, not through links from their parents (inline and embedded children stay
    // attached: they have no key of their own).
    // The pinned upper levels stay linked: every operation passes through them.
    if (path->size() >= options_.pinned_levels) slot->node.reset();
    return Status::OK();
  }

  const TrieOptions options_;
  const Scheme& scheme_;
  NodeStore* const store_;
  mutable NodeCache cache_;

  mutable std::shared_mutex mu_;
  std::map<uint64_t, TrieRoot> versions_;
  uint64_t latest_version_ = 0;
  TrieRoot latest_root_;
  std::shared_ptr<Node> latest_root_node_;  // null until a commit links it
  uint64_t oldest_ = 0;

  // Pipelined commits. Only the committing thread touches these, except that the
  // writer thread sets pipeline_status_ before it finishes the write in flight.
  struct PipelineHead {
    uint64_t version = 0;
    TrieRoot root;
    std::shared_ptr<Node> root_node;
  };
  std::optional<PipelineHead> head_;         // the last pipelined commit, written or not
  PendingNodes pending_;                     // the nodes head_ wrote that left memory
  Status pipeline_status_;                   // the first failed pipelined write; sticky
  bool in_flight_ = false;                   // a write was started and not yet waited for
  std::optional<Prepared> written_;          // the commit in flight, owned here
  std::shared_ptr<Node> retired_root_node_;  // the previous head's, freed here

  std::thread writer_;
  std::mutex writer_mu_;
  std::condition_variable writer_cv_;
  std::function<void()> writer_task_;  // the write in flight; null when done
  bool writer_stop_ = false;
};

Result<Trie::Prepared> TrieImpl::Prepare(uint64_t version, std::vector<TrieOp> ops) {
  VELLUM_RETURN_IF_ERROR(FlushPipeline());
  uint64_t base_version;
  TrieRoot base_root;
  {
    std::shared_lock lock(mu_);
    base_version = latest_version_;
    base_root = latest_root_;
  }
  return PrepareOn(base_version, base_root, RootSlot(base_root), version, std::move(ops), nullptr,
                   false);
}

Result<Trie::Prepared> TrieImpl::PrepareOn(uint64_t base_version, const TrieRoot& base_root,
                                           ChildRef root_slot, uint64_t version,
                                           std::vector<TrieOp> ops, const PendingNodes* pending,
                                           bool collect_nodes) const {
  if (version <= base_version) {
    return Status::InvalidArgument("trie commit version " + std::to_string(version) +
                                   " is not newer than the latest version " +
                                   std::to_string(base_version));
  }
  for (const TrieOp& op : ops) {
    VELLUM_RETURN_IF_ERROR(CheckKey(op.key));
    if (op.value.size() > kMaxValueSize) {
      return Status::InvalidArgument("trie value of " + std::to_string(op.value.size()) +
                                     " bytes exceeds the limit of " +
                                     std::to_string(kMaxValueSize));
    }
  }
  // Sorted, last operation per key wins: a stable sort keeps the given order among
  // equal keys, and the last of each run is the one applied.
  std::stable_sort(ops.begin(), ops.end(),
                   [](const TrieOp& a, const TrieOp& b) { return a.key < b.key; });

  // Drop all but the last operation per key.
  size_t unique = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (i + 1 < ops.size() && ops[i + 1].key == ops[i].key) continue;
    if (unique != i) ops[unique] = std::move(ops[i]);
    ++unique;
  }
  ops.resize(unique);

  BatchState st;
  st.version = version;
  st.pending = pending;
  st.collect_nodes = collect_nodes;
  Nibbles path;
  bool subtries_hashed = false;
  VELLUM_ASSIGN_OR_RETURN(const bool parallel_done,
                          ApplyInParallel(&root_slot, ops, &st, &subtries_hashed));
  if (!parallel_done) {
    for (const TrieOp& op : ops) {
      const Nibbles key = ToNibbles(op.key);
      Result<bool> changed = op.value.empty() ? Delete(&root_slot, &path, key, 0, &st)
                                              : Put(&root_slot, &path, key, 0, op.value, &st);
      VELLUM_RETURN_IF_ERROR(changed.status());
    }
  }

  auto state = std::make_shared<PreparedState>();
  state->base_version = base_version;
  if (root_slot.empty()) {
    state->root.hash = scheme_.EmptyRoot();
    state->root.node_version = 0;
  } else if (root_slot.node != nullptr && root_slot.node->dirty) {
    const bool parallel = !subtries_hashed && ops.size() >= options_.parallel_hash_min_ops;
    VELLUM_RETURN_IF_ERROR(HashSubtree(&root_slot, &path, true, false, &st, parallel));
    state->root.hash = root_slot.ref.hash();
    state->root.node_version = version;
    if (options_.pinned_levels > 0) state->root_node = root_slot.node;
  } else {
    state->root = base_root;  // nothing changed
    state->root_node = root_slot.node;
  }

  Prepared prepared;
  prepared.info.version = version;
  prepared.info.root = state->root;
  prepared.info.nodes_written = st.writes.size();
  // Sorted keys go into RocksDB's memtable skiplist far more cheaply than hash order.
  std::sort(st.writes.begin(), st.writes.end());
  for (auto& [key, record] : st.writes) prepared.batch.Put(std::move(key), std::move(record));
  if (!st.stale.empty()) {
    // One record lists every node this version superseded: one write per commit, not
    // one per node.
    prepared.batch.Put(StaleKey(version), std::move(st.stale));
  }
  std::string root_record(reinterpret_cast<const char*>(state->root.hash.data()), 32);
  PutVarint64(&root_record, state->root.node_version);
  prepared.batch.Put(VersionKey(version), std::move(root_record));
  prepared.info.bytes_written = prepared.batch.ByteSize();
  state->nodes = std::move(st.nodes);
  prepared.state = std::move(state);
  return prepared;
}

std::future<Result<CommitInfo>> TrieImpl::CommitPipelined(uint64_t version,
                                                          std::vector<TrieOp> ops) {
  std::promise<Result<CommitInfo>> promise;
  std::future<Result<CommitInfo>> future = promise.get_future();
  // (With a write in flight, pipeline_status_ is read only once it has finished.)
  if (!in_flight_ && !pipeline_status_.ok()) {
    promise.set_value(pipeline_status_);
    return future;
  }
  // Prepared while the previous commit's write may still run: on top of that commit,
  // whose nodes below the pinned levels are found in pending_.
  uint64_t base_version;
  TrieRoot base_root;
  if (head_.has_value()) {
    base_version = head_->version;
    base_root = head_->root;
  } else {
    std::shared_lock lock(mu_);
    base_version = latest_version_;
    base_root = latest_root_;
  }
  ChildRef root_slot = RootSlot(base_root);
  // The head's upper levels stay linked to its root node, installed or not.
  if (head_.has_value() && !root_slot.empty()) root_slot.node = head_->root_node;
  Result<Prepared> prepared =
      PrepareOn(base_version, base_root, std::move(root_slot), version, std::move(ops),
                head_.has_value() ? &pending_ : nullptr, /*collect_nodes=*/true);
  WaitForWrite();
  if (!pipeline_status_.ok()) {
    promise.set_value(pipeline_status_);
    return future;
  }
  if (!prepared.ok()) {
    promise.set_value(prepared.status());
    return future;
  }
  auto* state = static_cast<PreparedState*>(prepared->state.get());
  // The previous commit is in the store now; this one's nodes may not be until its
  // write finishes.
  pending_.clear();
  pending_.reserve(state->nodes.size());
  for (auto& node : state->nodes) pending_.insert(std::move(node));
  state->nodes.clear();
  if (head_.has_value()) retired_root_node_ = std::move(head_->root_node);
  head_ = PipelineHead{version, state->root, state->root_node};
  written_ = std::move(prepared).value();
  auto shared_promise = std::make_shared<std::promise<Result<CommitInfo>>>(std::move(promise));
  StartWrite([this, shared_promise] {
    const Prepared& p = *written_;
    Status s = store_->Write(p.batch, options_.sync);
    if (s.ok()) {
      Prepared install;
      install.info = p.info;
      install.state = p.state;
      s = Install(std::move(install));
    }
    if (!s.ok()) {
      pipeline_status_ =
          s.WithContext("writing pipelined trie version " + std::to_string(p.info.version));
      shared_promise->set_value(pipeline_status_);
      return;
    }
    shared_promise->set_value(p.info);
  });
  return future;
}

Status TrieImpl::Install(Prepared prepared) {
  auto* state = static_cast<PreparedState*>(prepared.state.get());
  VELLUM_CHECK(state != nullptr);
  std::unique_lock lock(mu_);
  if (latest_version_ != state->base_version) {
    return Status::FailedPrecondition(
        "trie changed between Prepare and Install (another commit was installed)");
  }
  versions_[prepared.info.version] = state->root;
  latest_version_ = prepared.info.version;
  latest_root_ = state->root;
  latest_root_node_ = std::move(state->root_node);
  return Status::OK();
}

Status TrieImpl::Prune(uint64_t oldest_retained) {
  VELLUM_RETURN_IF_ERROR(FlushPipeline());
  std::map<uint64_t, TrieRoot> keep;
  std::vector<uint64_t> drop;
  {
    std::shared_lock lock(mu_);
    if (oldest_retained > latest_version_) {
      return Status::InvalidArgument("cannot prune to version " + std::to_string(oldest_retained) +
                                     ": latest is " + std::to_string(latest_version_));
    }
    if (oldest_retained <= oldest_) return Status::OK();
    // The last record at or before the retention point describes the state there.
    auto first_kept = versions_.upper_bound(oldest_retained);
    if (first_kept != versions_.begin()) --first_kept;
    for (auto it = versions_.begin(); it != first_kept; ++it) drop.push_back(it->first);
  }
  // Version records and the retention point first: if we crash after this, old
  // versions are already unreadable and the nodes left behind are only garbage that
  // the next Prune removes.
  NodeWriteBatch head;
  for (uint64_t v : drop) head.Delete(VersionKey(v));
  std::string oldest;
  AppendBE64(&oldest, oldest_retained);
  head.Put(Key(kMetaTag) + "oldest", oldest);
  VELLUM_RETURN_IF_ERROR(store_->Write(head, options_.sync));
  {
    std::unique_lock lock(mu_);
    for (uint64_t v : drop) versions_.erase(v);
    oldest_ = oldest_retained;
  }

  // Nodes superseded at or before the retention point are used by no retained version.
  // A crash part-way leaves stale records whose nodes may already be gone; deleting a
  // missing key is harmless, and the "pruned" mark, written last, says how far the
  // stale records were applied, so the next Prune simply finishes the job.
  uint64_t pruned = 0;
  VELLUM_RETURN_IF_ERROR(ReadMeta("pruned", &pruned));
  if (pruned >= oldest_retained) return Status::OK();
  NodeWriteBatch batch;
  Status status;
  VELLUM_RETURN_IF_ERROR(ForEachCommitRecord(
      pruned + 1, oldest_retained, kStaleSuffix, [&](uint64_t since, std::string_view value) {
        status = AddStaleDeletes(value, &batch);
        batch.Delete(StaleKey(since));
        if (status.ok() && batch.ops.size() >= kPruneBatchOps) {
          status = store_->Write(batch, options_.sync);
          batch.ops.clear();
        }
        return status.ok();
      }));
  VELLUM_RETURN_IF_ERROR(status);
  std::string mark;
  AppendBE64(&mark, oldest_retained);
  batch.Put(Key(kMetaTag) + "pruned", std::move(mark));
  return store_->Write(batch, options_.sync);
}

Status TrieImpl::AddStaleDeletes(std::string_view record, NodeWriteBatch* batch) const {
  // Each entry is exactly the tail of the node's key: BE64(version) BE16(count) packed.
  ByteView in = AsBytes(record);
  while (!in.empty()) {
    if (in.size() < 10) return Status::Corruption("malformed stale-node record");
    const size_t count = (static_cast<size_t>(in[8]) << 8) | in[9];
    const size_t size = 10 + (count + 1) / 2;
    if (in.size() < size) return Status::Corruption("malformed stale-node record");
    std::string node_key = Key(kNodeTag);
    node_key.append(AsChars(in.first(size)));
    batch->Delete(std::move(node_key));
    in = in.subspan(size);
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Trie>> Trie::Open(const TrieOptions& options, NodeStore* store) {
  VELLUM_CHECK(store != nullptr);
  auto trie = std::make_unique<TrieImpl>(options, store);
  VELLUM_RETURN_IF_ERROR(trie->Load());
  return std::unique_ptr<Trie>(std::move(trie));
}

}  // namespace vellum::trie
