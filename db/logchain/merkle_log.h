// Copyright (c) Vellum authors.
//
// The log's Merkle accumulator: an RFC 6962 / RFC 9162 Merkle tree over the hashes of
// the log entries, in log order (entry 1 is leaf 0). The hash chain already
// authenticates history entry by entry; the tree adds O(log n) proofs that an entry is
// in the log (inclusion) and that a later log extends an earlier one (consistency),
// which is what a client holding two signed digests checks.
//
//   leaf hash  = SHA-256(0x00 || entry_hash)
//   node hash  = SHA-256(0x01 || left || right)
//   empty root = SHA-256("")
//   MTH(D[n])  = the RFC 6962 tree hash: split at the largest power of two below n.
//
// Storage model (docs/formats/merkle-log.md). Only complete subtrees are ever stored:
// node (level, index) is the root of leaves [index << level, (index + 1) << level),
// and it is written once, by the append that completes it, and never changes. Any
// other subtree hash (the root of a tree whose size is not a power of two, the right
// edge of a proof) is recomputed from O(log n) stored nodes, so a historical root or
// a proof against any earlier tree size needs no extra storage. This module never
// touches storage itself: Append reports the nodes to store, and readers pull nodes
// through a MerkleNodeSource the caller implements.
//
// Nothing read through a MerkleNodeSource is verified here; a root computed from it is
// as trustworthy as the store, and the ledger compares it with a trusted digest. The
// verifiers (VerifyMerkleInclusion / VerifyMerkleConsistency) need nothing but their
// arguments.
//
// Thread safety: free functions are thread-safe (as far as the MerkleNodeSource given
// is). A MerkleAccumulator is a value: const methods may run concurrently, Append
// needs exclusive access. MemMerkleNodes is not thread-safe.

#ifndef VELLUM_DB_LOGCHAIN_MERKLE_LOG_H_
#define VELLUM_DB_LOGCHAIN_MERKLE_LOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "crypto/hash.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::logchain {

using crypto::Hash256;

// SHA-256(0x00 || entry_hash): the level-0 node of an entry.
Hash256 MerkleLeafHash(const Hash256& entry_hash);
// SHA-256(0x01 || left || right).
Hash256 MerkleNodeHash(const Hash256& left, const Hash256& right);
// SHA-256 of the empty string: the root of the empty tree.
Hash256 MerkleEmptyRoot();

// The deepest level a node can have: a tree holds at most 2^63 leaves here.
inline constexpr int kMerkleMaxLevel = 63;

// Where the stored hashes of complete subtrees come from: node (level, index) is the
// root of leaves [index << level, (index + 1) << level); level 0 nodes are
// MerkleLeafHash(entry hash). NotFound and Corruption from GetNode pass through the
// functions below unchanged.
class MerkleNodeSource {
 public:
  virtual ~MerkleNodeSource() = default;
  virtual Result<Hash256> GetNode(int level, uint64_t index) const = 0;
};

// An in-memory MerkleNodeSource (a map), for tests and small users.
class MemMerkleNodes final : public MerkleNodeSource {
 public:
  void Put(int level, uint64_t index, const Hash256& hash) { nodes_[{level, index}] = hash; }
  // NotFound when the node was never Put.
  Result<Hash256> GetNode(int level, uint64_t index) const override;

  size_t size() const { return nodes_.size(); }
  // A callback for MerkleAccumulator::Append that stores every node it reports.
  std::function<void(int, uint64_t, const Hash256&)> Sink() {
    return [this](int level, uint64_t index, const Hash256& hash) { Put(level, index, hash); };
  }
  // For tests: direct access (e.g. to corrupt a node).
  std::map<std::pair<int, uint64_t>, Hash256>& nodes_for_testing() { return nodes_; }

 private:
  std::map<std::pair<int, uint64_t>, Hash256> nodes_;
};

// The in-memory right edge of the tree: for size n, the roots of the complete
// subtrees of the binary decomposition of n (one per set bit), largest first. That is
// all that is needed to append and to compute the root.
class MerkleAccumulator {
 public:
  using EmitFn = std::function<void(int level, uint64_t index, const Hash256& hash)>;

  // The empty tree.
  MerkleAccumulator() = default;
  // The accumulator of the tree of `size` leaves whose nodes `source` holds: one
  // GetNode per set bit of `size`.
  static Result<MerkleAccumulator> Load(uint64_t size, const MerkleNodeSource& source);

  uint64_t size() const { return size_; }
  // MTH of all leaves (RFC 6962); MerkleEmptyRoot() when empty.
  Hash256 Root() const;

  // Appends one leaf (the hash of the next entry). Calls emit(level, index, hash) for
  // each complete-subtree node this append completes, level 0 (the leaf) first, then
  // upwards; the caller stores them (in the same write batch as the entry).
  void Append(const Hash256& entry_hash, const EmitFn& emit);
  // As above, for callers that keep no nodes.
  void Append(const Hash256& entry_hash);

  // The complete-subtree roots of the decomposition, largest (leftmost) first, as
  // (level, hash).
  const std::vector<std::pair<int, Hash256>>& peaks() const { return peaks_; }

 private:
  uint64_t size_ = 0;
  std::vector<std::pair<int, Hash256>> peaks_;
};

// The root of the tree of the first `size` leaves (MerkleEmptyRoot() for 0).
Result<Hash256> MerkleRootAt(uint64_t size, const MerkleNodeSource& source);

// The RFC 9162 section 2.1.3.1 inclusion proof of leaf `leaf_index` (0-based: entry
// index - 1) in the tree of `tree_size` leaves: sibling hashes from the leaf upwards.
// InvalidArgument unless leaf_index < tree_size.
Result<std::vector<Hash256>> MerkleInclusionProof(uint64_t leaf_index, uint64_t tree_size,
                                                  const MerkleNodeSource& source);
// The RFC 9162 section 2.1.4.1 consistency proof from the tree of `old_size` leaves to
// the tree of `new_size` leaves. Empty when old_size is 0 or equal to new_size.
// InvalidArgument when old_size > new_size.
Result<std::vector<Hash256>> MerkleConsistencyProof(uint64_t old_size, uint64_t new_size,
                                                    const MerkleNodeSource& source);

// How many hashes those proofs have (0 for the trivial cases).
// Preconditions (VELLUM_CHECK): leaf_index < tree_size; old_size <= new_size.
size_t MerkleInclusionProofSize(uint64_t leaf_index, uint64_t tree_size);
size_t MerkleConsistencyProofSize(uint64_t old_size, uint64_t new_size);

// Standalone verifiers (RFC 9162 sections 2.1.3.2 and 2.1.4.2). Corruption with the
// reason when the proof does not hold (wrong length, root mismatch); InvalidArgument
// for impossible sizes or indexes (leaf_index >= tree_size, old_size > new_size).
// Consistency with the empty tree needs an empty proof and old_root equal to
// MerkleEmptyRoot(); between equal sizes, an empty proof and equal roots.
// A root does not commit to its tree size, and a proof can hold for another size of
// the same shape: take sizes and roots together from a trusted (signed) digest.
Status VerifyMerkleInclusion(uint64_t leaf_index, uint64_t tree_size, const Hash256& entry_hash,
                             std::span<const Hash256> proof, const Hash256& root);
Status VerifyMerkleConsistency(uint64_t old_size, uint64_t new_size, const Hash256& old_root,
                               const Hash256& new_root, std::span<const Hash256> proof);

}  // namespace vellum::logchain

#endif  // VELLUM_DB_LOGCHAIN_MERKLE_LOG_H_
