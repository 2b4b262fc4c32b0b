// Copyright (c) Vellum authors.
//
// Trie: a versioned Merkle-Patricia trie over a NodeStore, with verified reads and
// inclusion / exclusion proofs. One algorithm, two node schemes:
//
//   kEthereum  the Modified Merkle Patricia Trie of the Ethereum Yellow Paper,
//              bit-exact: RLP nodes, hex-prefix paths, Keccak-256, nodes whose
//              encoding is under 32 bytes inlined in their parent. Proofs are the
//              eth_getProof list of RLP nodes from the root.
//   kNative    the ledger's default: SHA-256 with domain separation, and each
//              16-way branch hashed as a 4-level binary tree so that a proof needs at
//              most 4 sibling hashes per level (docs/formats/trie.md).
//
// Keys are byte strings of 0..kMaxKeySize bytes (the ledger uses 32-byte keyed
// hashes); values are non-empty byte strings of at most kMaxValueSize bytes (an
// empty value in a batch means delete, as in Ethereum).
//
// Versions. Every commit creates a new version number, strictly greater than the
// last. The state at version v is that of the last commit <= v. Versions older than a
// retention point can be pruned; nodes still used by retained versions are kept.
// Nodes are stored under (path, version) keys, not under their hashes, so a commit
// writes a cluster of new keys instead of scattering them.
//
// Verification. Every node loaded from the store is checked against the hash its
// parent (or the version record, for the root) expects; a mismatch is Corruption
// naming the version and the nibble path. Verified nodes are cached.
//
// Thread safety: reads (Get, Prove, ForEach, RootAt) may run concurrently with each
// other and with one Commit; Commit, CommitPipelined, FlushPipeline and Prune must not
// run concurrently with each other.

#ifndef VELLUM_TRIE_TRIE_H_
#define VELLUM_TRIE_TRIE_H_

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "trie/node_store.h"

namespace vellum::trie {

enum class TrieScheme : uint8_t {
  kEthereum = 1,
  kNative = 2,
};

// "ethereum" / "native"; ParseTrieScheme is InvalidArgument for anything else.
std::string_view TrieSchemeName(TrieScheme scheme);
Result<TrieScheme> ParseTrieScheme(std::string_view name);

inline constexpr size_t kMaxKeySize = 1024;
inline constexpr size_t kMaxValueSize = 16 << 20;

// The root hash of an empty trie: Keccak-256 of RLP("") for kEthereum
// (56e81f17...b421), 32 zero bytes for kNative.
crypto::Hash256 EmptyRoot(TrieScheme scheme);

// Runs independent tasks; the trie uses it to hash subtries in parallel. The
// default (nullptr in TrieOptions) runs everything on the calling thread. The
// result never depends on how tasks are scheduled.
class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  // Runs every task and returns when all have finished.
  virtual void RunAll(std::vector<std::function<void()>>& tasks) = 0;
};
// A TaskRunner with `threads` worker threads (>= 1).
std::unique_ptr<TaskRunner> NewThreadPoolTaskRunner(int threads);

struct TrieOptions {
  TrieScheme scheme = TrieScheme::kNative;
  // Prepended to every store key, so that several tries can share one NodeStore.
  std::string key_prefix;
  // Bytes of verified, decoded nodes kept in memory (LRU). 0 disables the cache.
  size_t cache_bytes = 64 << 20;
  // Batches with at least this many operations hash the root's subtries in parallel
  // on `task_runner` (if set).
  size_t parallel_hash_min_ops = 512;
  // The latest version's nodes within this many nibbles of the root stay linked in
  // memory after a commit, so reads and updates pass through them without a cache
  // lookup. 4 levels hold at most 4,369 branches (about 7 MiB).
  size_t pinned_levels = 4;
  // A leaf under a branch whose path and value take at most this many bytes is stored
  // inside the branch's record rather than under a key of its own (docs/formats/trie.md):
  // every change to the leaf rewrites the branch anyway, so this saves a store write per
  // changed key and a store read per split, but the node cache then holds each such
  // leaf with its branch. It pays when cache_bytes holds the leaves (docs/PERFORMANCE.md);
  // 0 (the default) stores every leaf on its own. Only writing depends on it: records
  // of either form are always readable.
  size_t max_embedded_leaf_bytes = 0;
  TaskRunner* task_runner = nullptr;  // not owned
  // Write commits with sync (see NodeStore::Write).
  bool sync = false;
};

// One operation of a batch. An empty value deletes the key.
struct TrieOp {
  Bytes key;
  Bytes value;
};

// Where the root of a version is: its hash, and the version under which the root
// node is stored (node_version == 0 and hash == EmptyRoot for an empty trie).
struct TrieRoot {
  crypto::Hash256 hash{};
  uint64_t node_version = 0;
};

// The outcome of a commit.
struct CommitInfo {
  uint64_t version = 0;
  TrieRoot root;
  size_t nodes_written = 0;
  size_t bytes_written = 0;
};

// A proof: a scheme-specific list of byte strings (RLP nodes for kEthereum; steps for
// kNative — docs/formats/proof.md).
struct Proof {
  TrieScheme scheme = TrieScheme::kNative;
  std::vector<Bytes> items;

  // Versioned binary form: 'V' 'P' version(1) scheme(1) varint(count) then each item
  // as varint(length) || bytes.
  Bytes Serialize() const;
  static Result<Proof> Deserialize(ByteView data);
  size_t ByteSize() const;  // of Serialize()
};

// Checks `proof` for `key` against `root`, with no store: the value if the proof
// shows the key present, std::nullopt if it shows the key absent, Corruption if the
// proof is invalid (with the reason), InvalidArgument for a key that is too long.
Result<std::optional<Bytes>> VerifyProof(TrieScheme scheme, const crypto::Hash256& root,
                                         ByteView key, const Proof& proof);

class Trie {
 public:
  // Opens the trie stored in `store` under options.key_prefix (creating nothing until
  // the first commit). `store` must outlive the Trie. Reads the latest version record.
  static Result<std::unique_ptr<Trie>> Open(const TrieOptions& options, NodeStore* store);

  virtual ~Trie() = default;

  // The latest committed version (0 before the first commit) and its root.
  virtual uint64_t LatestVersion() const = 0;
  virtual TrieRoot LatestRoot() const = 0;
  // The oldest version that can still be read (the retention point after Prune).
  virtual uint64_t OldestVersion() const = 0;

  // The root of the state at `version`. NotFound for a version newer than the latest
  // or older than the retention point.
  virtual Result<TrieRoot> RootAt(uint64_t version) const = 0;

  // Applies `ops` (any order; for a key given twice the last operation wins) on top
  // of the latest version and commits the result as `version` (> LatestVersion()),
  // in one atomic store write. Each changed node is hashed once, bottom-up.
  virtual Result<CommitInfo> Commit(uint64_t version, std::vector<TrieOp> ops) = 0;

  // Two-phase form of Commit for callers that write the store batch together with
  // their own data: Prepare computes the new root and the store writes without
  // touching the store; after the caller has written `batch` atomically, Install
  // makes the version current. Between the two, no other Commit may run. A prepared
  // commit that is never installed is simply dropped.
  struct Prepared {
    CommitInfo info;
    NodeWriteBatch batch;
    std::shared_ptr<void> state;  // the trie's in-memory result, for Install
  };
  virtual Result<Prepared> Prepare(uint64_t version, std::vector<TrieOp> ops) = 0;
  virtual Status Install(Prepared prepared) = 0;

  // Pipelined form of Commit for a stream of batches: the store write of one commit
  // runs on a background thread (one per Trie, started by the first call) while the
  // caller prepares the next. CommitPipelined prepares `ops` as `version` on top of the
  // last pipelined commit, written or not (the nodes that commit wrote are taken from
  // memory, never read back from a store that may not hold them yet), then waits for
  // that commit's write and starts this one's: at most one write is in flight. Each
  // commit is still one atomic store write, and roots and stored bytes are those
  // Commit would produce.
  //
  // The future is ready once the version is written and installed: readers never see
  // a version whose write has not succeeded. It is ready by the time the next
  // CommitPipelined or FlushPipeline returns. A commit that fails before its write
  // (e.g. a bad version) changes nothing. A failed write fails that commit and every
  // later pipelined commit, and from then on Commit, Prepare and Prune fail too (what
  // was prepared after it was built on a version that does not exist): reopen the trie;
  // the store holds only fully written versions.
  //
  // Commit, Prepare and Prune first wait for the write in flight.
  virtual std::future<Result<CommitInfo>> CommitPipelined(uint64_t version,
                                                          std::vector<TrieOp> ops) = 0;
  // Waits for the pipelined write in flight, if any. The error of the failed pipelined
  // write, if one failed.
  virtual Status FlushPipeline() = 0;

  // Verified read at `version`: the value, or std::nullopt if the key is absent.
  virtual Result<std::optional<Bytes>> Get(uint64_t version, ByteView key) const = 0;
  // The same against an explicit root (e.g. one recorded elsewhere, like a table root
  // in the ledger's top trie).
  virtual Result<std::optional<Bytes>> GetAtRoot(const TrieRoot& root, ByteView key) const = 0;

  // An inclusion or exclusion proof of `key` at `version`.
  virtual Result<Proof> Prove(uint64_t version, ByteView key) const = 0;
  virtual Result<Proof> ProveAtRoot(const TrieRoot& root, ByteView key) const = 0;

  // Calls `fn(key, value)` for every entry at `version` in key order (the ledger's keys
  // are hashes, so this is hashed-key order). Return false from `fn` to stop.
  using ForEachFn = std::function<bool(ByteView key, ByteView value)>;
  virtual Status ForEach(uint64_t version, const ForEachFn& fn) const = 0;

  // Deletes what only versions older than `oldest_retained` use: superseded nodes and
  // version records. `oldest_retained` must be <= LatestVersion(). Versions >=
  // oldest_retained stay exactly readable and provable.
  virtual Status Prune(uint64_t oldest_retained) = 0;
};

}  // namespace vellum::trie

#endif  // VELLUM_TRIE_TRIE_H_
