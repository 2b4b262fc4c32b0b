// Copyright (c) Vellum authors.

#include "db/logchain/merkle_log.h"

#include <array>
#include <bit>
#include <cstring>
#include <string>

#include "vellum/check.h"

namespace vellum::logchain {

namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

// The largest power of two strictly below n (n >= 2): RFC 6962's split point k.
uint64_t SplitPoint(uint64_t n) {
  VELLUM_CHECK_GE(n, 2u);
  return std::bit_floor(n - 1);
}

std::string Num(uint64_t v) { return std::to_string(v); }

// MTH(D[lo:hi]) from stored complete subtrees. A range that is an aligned power of two
// is one stored node; any other is split at RFC 6962's k, whose left part is (in every
// range the proof recursions produce) an aligned complete subtree, so this costs
// O(log(hi - lo)) GetNode calls.
Result<Hash256> SubtreeHash(uint64_t lo, uint64_t hi, const MerkleNodeSource& source) {
  VELLUM_CHECK_LT(lo, hi);
  const uint64_t n = hi - lo;
  if (std::has_single_bit(n) && lo % n == 0) {
    const int level = std::countr_zero(n);
    return source.GetNode(level, lo >> level);
  }
  const uint64_t k = SplitPoint(n);
  VELLUM_ASSIGN_OR_RETURN(Hash256 left, SubtreeHash(lo, lo + k, source));
  VELLUM_ASSIGN_OR_RETURN(Hash256 right, SubtreeHash(lo + k, hi, source));
  return MerkleNodeHash(left, right);
}

// RFC 6962 PATH(m, D[lo:hi]), appended deepest first.
Status InclusionPath(uint64_t m, uint64_t lo, uint64_t hi, const MerkleNodeSource& source,
                     std::vector<Hash256>* out) {
  if (hi - lo == 1) return Status::OK();
  const uint64_t k = SplitPoint(hi - lo);
  if (m < lo + k) {
    VELLUM_RETURN_IF_ERROR(InclusionPath(m, lo, lo + k, source, out));
    VELLUM_ASSIGN_OR_RETURN(Hash256 sibling, SubtreeHash(lo + k, hi, source));
    out->push_back(sibling);
  } else {
    VELLUM_RETURN_IF_ERROR(InclusionPath(m, lo + k, hi, source, out));
    VELLUM_ASSIGN_OR_RETURN(Hash256 sibling, SubtreeHash(lo, lo + k, source));
    out->push_back(sibling);
  }
  return Status::OK();
}

// RFC 6962 SUBPROOF(m, D[lo:hi], b), with m the absolute old size (lo < m <= hi).
Status ConsistencySubproof(uint64_t m, uint64_t lo, uint64_t hi, bool complete,
                           const MerkleNodeSource& source, std::vector<Hash256>* out) {
  if (m == hi) {
    if (!complete) {
      VELLUM_ASSIGN_OR_RETURN(Hash256 hash, SubtreeHash(lo, hi, source));
      out->push_back(hash);
    }
    return Status::OK();
  }
  const uint64_t k = SplitPoint(hi - lo);
  if (m <= lo + k) {
    VELLUM_RETURN_IF_ERROR(ConsistencySubproof(m, lo, lo + k, complete, source, out));
    VELLUM_ASSIGN_OR_RETURN(Hash256 hash, SubtreeHash(lo + k, hi, source));
    out->push_back(hash);
  } else {
    VELLUM_RETURN_IF_ERROR(ConsistencySubproof(m, lo + k, hi, false, source, out));
    VELLUM_ASSIGN_OR_RETURN(Hash256 hash, SubtreeHash(lo, lo + k, source));
    out->push_back(hash);
  }
  return Status::OK();
}

}  // namespace

Hash256 MerkleLeafHash(const Hash256& entry_hash) {
  std::array<uint8_t, 1 + 32> buf;
  buf[0] = kLeafPrefix;
  std::memcpy(buf.data() + 1, entry_hash.data(), 32);
  return crypto::Sha256(buf);
}

Hash256 MerkleNodeHash(const Hash256& left, const Hash256& right) {
  std::array<uint8_t, 1 + 64> buf;
  buf[0] = kNodePrefix;
  std::memcpy(buf.data() + 1, left.data(), 32);
  std::memcpy(buf.data() + 33, right.data(), 32);
  return crypto::Sha256(buf);
}

Hash256 MerkleEmptyRoot() {
  // SHA-256("") = e3b0c442 98fc1c14 9afbf4c8 996fb924 27ae41e4 649b934c a495991b 7852b855.
  static const Hash256 kRoot = crypto::Sha256(ByteView());
  return kRoot;
}

Result<Hash256> MemMerkleNodes::GetNode(int level, uint64_t index) const {
  auto it = nodes_.find({level, index});
  if (it == nodes_.end()) {
    return Status::NotFound("merkle node (level " + std::to_string(level) + ", index " +
                            Num(index) + ") not found");
  }
  return it->second;
}

Result<MerkleAccumulator> MerkleAccumulator::Load(uint64_t size, const MerkleNodeSource& source) {
  MerkleAccumulator acc;
  uint64_t start = 0;
  for (int level = kMerkleMaxLevel; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if ((size & width) == 0) continue;
    VELLUM_ASSIGN_OR_RETURN(Hash256 hash, source.GetNode(level, start >> level));
    acc.peaks_.emplace_back(level, hash);
    start += width;
  }
  acc.size_ = size;
  return acc;
}

Hash256 MerkleAccumulator::Root() const {
  if (peaks_.empty()) return MerkleEmptyRoot();
  Hash256 root = peaks_.back().second;
  for (size_t i = peaks_.size() - 1; i-- > 0;) root = MerkleNodeHash(peaks_[i].second, root);
  return root;
}

void MerkleAccumulator::Append(const Hash256& entry_hash, const EmitFn& emit) {
  VELLUM_CHECK_MSG(size_ < (uint64_t{1} << kMerkleMaxLevel), "merkle log is full");
  Hash256 hash = MerkleLeafHash(entry_hash);
  uint64_t index = size_;
  int level = 0;
  if (emit) emit(level, index, hash);
  // Each trailing one bit of the old size is a peak the new leaf completes.
  while (!peaks_.empty() && peaks_.back().first == level) {
    hash = MerkleNodeHash(peaks_.back().second, hash);
    peaks_.pop_back();
    ++level;
    index >>= 1;
    if (emit) emit(level, index, hash);
  }
  peaks_.emplace_back(level, hash);
  ++size_;
  VELLUM_CHECK_EQ(peaks_.size(), static_cast<size_t>(std::popcount(size_)));
}

void MerkleAccumulator::Append(const Hash256& entry_hash) { Append(entry_hash, EmitFn()); }

Result<Hash256> MerkleRootAt(uint64_t size, const MerkleNodeSource& source) {
  VELLUM_ASSIGN_OR_RETURN(MerkleAccumulator acc, MerkleAccumulator::Load(size, source));
  return acc.Root();
}

Result<std::vector<Hash256>> MerkleInclusionProof(uint64_t leaf_index, uint64_t tree_size,
                                                  const MerkleNodeSource& source) {
  if (leaf_index >= tree_size) {
    return Status::InvalidArgument("merkle inclusion proof: leaf index " + Num(leaf_index) +
                                   " is not in a tree of " + Num(tree_size) + " leaves");
  }
  std::vector<Hash256> proof;
  proof.reserve(MerkleInclusionProofSize(leaf_index, tree_size));
  VELLUM_RETURN_IF_ERROR(InclusionPath(leaf_index, 0, tree_size, source, &proof));
  return proof;
}

Result<std::vector<Hash256>> MerkleConsistencyProof(uint64_t old_size, uint64_t new_size,
                                                    const MerkleNodeSource& source) {
  if (old_size > new_size) {
    return Status::InvalidArgument("merkle consistency proof: old size " + Num(old_size) +
                                   " is larger than new size " + Num(new_size));
  }
  std::vector<Hash256> proof;
  if (old_size == 0 || old_size == new_size) return proof;
  proof.reserve(MerkleConsistencyProofSize(old_size, new_size));
  VELLUM_RETURN_IF_ERROR(ConsistencySubproof(old_size, 0, new_size, true, source, &proof));
  return proof;
}

size_t MerkleInclusionProofSize(uint64_t leaf_index, uint64_t tree_size) {
  VELLUM_CHECK_LT(leaf_index, tree_size);
  size_t count = 0;
  uint64_t m = leaf_index;
  uint64_t n = tree_size;
  while (n > 1) {
    const uint64_t k = SplitPoint(n);
    if (m < k) {
      n = k;
    } else {
      m -= k;
      n -= k;
    }
    ++count;
  }
  return count;
}

size_t MerkleConsistencyProofSize(uint64_t old_size, uint64_t new_size) {
  VELLUM_CHECK_LE(old_size, new_size);
  if (old_size == 0 || old_size == new_size) return 0;
  size_t count = 0;
  uint64_t m = old_size;
  uint64_t n = new_size;
  bool complete = true;
  while (m != n) {
    const uint64_t k = SplitPoint(n);
    if (m <= k) {
      n = k;
    } else {
      m -= k;
      n -= k;
      complete = false;
    }
    ++count;
  }
  return complete ? count : count + 1;
}

Status VerifyMerkleInclusion(uint64_t leaf_index, uint64_t tree_size, const Hash256& entry_hash,
                             std::span<const Hash256> proof, const Hash256& root) {
  if (leaf_index >= tree_size) {
    return Status::InvalidArgument("merkle inclusion: leaf index " + Num(leaf_index) +
                                   " is not in a tree of " + Num(tree_size) + " leaves");
  }
  const size_t expected = MerkleInclusionProofSize(leaf_index, tree_size);
  if (proof.size() != expected) {
    return Status::Corruption("merkle inclusion proof has " + Num(proof.size()) + " hashes; leaf " +
                              Num(leaf_index) + " of a tree of " + Num(tree_size) + " needs " +
                              Num(expected));
  }
  // RFC 9162 section 2.1.3.2.
  uint64_t fn = leaf_index;
  uint64_t sn = tree_size - 1;
  Hash256 r = MerkleLeafHash(entry_hash);
  for (const Hash256& p : proof) {
    if (sn == 0) return Status::Corruption("merkle inclusion proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      r = MerkleNodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::Corruption("merkle inclusion proof is too short");
  if (r != root) {
    return Status::Corruption("merkle inclusion proof of leaf " + Num(leaf_index) +
                              " does not lead to the root of the tree of " + Num(tree_size));
  }
  return Status::OK();
}

Status VerifyMerkleConsistency(uint64_t old_size, uint64_t new_size, const Hash256& old_root,
                               const Hash256& new_root, std::span<const Hash256> proof) {
  if (old_size > new_size) {
    return Status::InvalidArgument("merkle consistency: old size " + Num(old_size) +
                                   " is larger than new size " + Num(new_size));
  }
  const size_t expected = MerkleConsistencyProofSize(old_size, new_size);
  if (proof.size() != expected) {
    return Status::Corruption("merkle consistency proof has " + Num(proof.size()) +
                              " hashes; sizes " + Num(old_size) + " -> " + Num(new_size) +
                              " need " + Num(expected));
  }
  if (old_size == 0) {
    if (old_root != MerkleEmptyRoot()) {
      return Status::Corruption("merkle consistency: the old root is not the empty tree's root");
    }
    return Status::OK();
  }
  if (old_size == new_size) {
    if (old_root != new_root) {
      return Status::Corruption("merkle consistency: trees of the same size " + Num(old_size) +
                                " have different roots");
    }
    return Status::OK();
  }
  // RFC 9162 section 2.1.4.2. When old_size is a power of two the old root is itself
  // the first node of the path.
  const bool prepend = std::has_single_bit(old_size);
  size_t next = 0;
  const Hash256& first = prepend ? old_root : proof[next++];
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash256 fr = first;
  Hash256 sr = first;
  for (; next < proof.size(); ++next) {
    const Hash256& c = proof[next];
    if (sn == 0) return Status::Corruption("merkle consistency proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      fr = MerkleNodeHash(c, fr);
      sr = MerkleNodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = MerkleNodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::Corruption("merkle consistency proof is too short");
  if (fr != old_root) {
    return Status::Corruption("merkle consistency proof does not lead to the old root (size " +
                              Num(old_size) + ")");
  }
  if (sr != new_root) {
    return Status::Corruption("merkle consistency proof does not lead to the new root (size " +
                              Num(new_size) + ")");
  }
  return Status::OK();
}

}  // namespace vellum::logchain
