// Copyright (c) Vellum authors.
//
// The Merkle accumulator against a naive recursive RFC 6962 reference (MTH, PATH and
// PROOF written straight from the RFC, over a leaf list), known answers computed
// independently (Python hashlib), and tampered proofs.

#include "db/logchain/merkle_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "tests/db/logchain/logchain_test_util.h"
#include "tests/test_util.h"

namespace vellum::logchain {
namespace {

using ::vellum::logchain::testing::H;

#define ASSERT_CODE_CORRUPTION(expr)                                  \
  do {                                                                \
    const ::vellum::Status s_ = (expr);                               \
    ASSERT_TRUE(s_.IsCorruption()) << #expr << ": " << s_.ToString(); \
  } while (false)

Hash256 HashOf(ByteView data) { return crypto::Sha256(data); }

// The i-th test entry hash: SHA-256 of the single byte i (as the Python vectors).
Hash256 EntryHash(uint64_t i) {
  const uint8_t byte = static_cast<uint8_t>(i);
  Bytes data = {byte};
  if (i >= 256) PutFixed64BE(&data, i);  // keep larger sets distinct
  return HashOf(data);
}

// RFC 6962 section 2.1, spelled out with its own hashing (not MerkleLeafHash /
// MerkleNodeHash), memoised over ranges of one leaf list.
class Reference {
 public:
  explicit Reference(std::vector<Hash256> entries) : entries_(std::move(entries)) {}

  Hash256 Leaf(const Hash256& e) const {
    Bytes b = {0x00};
    b.insert(b.end(), e.begin(), e.end());
    return HashOf(b);
  }
  Hash256 Node(const Hash256& l, const Hash256& r) const {
    Bytes b = {0x01};
    b.insert(b.end(), l.begin(), l.end());
    b.insert(b.end(), r.begin(), r.end());
    return HashOf(b);
  }
  static uint64_t K(uint64_t n) {
    uint64_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  }

  // MTH(D[lo:hi]).
  Hash256 Mth(uint64_t lo, uint64_t hi) {
    if (lo == hi) return HashOf(ByteView());
    auto it = memo_.find({lo, hi});
    if (it != memo_.end()) return it->second;
    Hash256 h;
    if (hi - lo == 1) {
      h = Leaf(entries_[lo]);
    } else {
      const uint64_t k = K(hi - lo);
      h = Node(Mth(lo, lo + k), Mth(lo + k, hi));
    }
    memo_[{lo, hi}] = h;
    return h;
  }

  // PATH(m, D[lo:hi]).
  std::vector<Hash256> Path(uint64_t m, uint64_t lo, uint64_t hi) {
    const uint64_t n = hi - lo;
    if (n == 1) return {};
    const uint64_t k = K(n);
    std::vector<Hash256> out;
    if (m < k) {
      out = Path(m, lo, lo + k);
      out.push_back(Mth(lo + k, hi));
    } else {
      out = Path(m - k, lo + k, hi);
      out.push_back(Mth(lo, lo + k));
    }
    return out;
  }

  // SUBPROOF(m, D[lo:hi], b).
  std::vector<Hash256> Subproof(uint64_t m, uint64_t lo, uint64_t hi, bool b) {
    const uint64_t n = hi - lo;
    if (m == n) {
      if (b) return {};
      return {Mth(lo, hi)};
    }
    const uint64_t k = K(n);
    std::vector<Hash256> out;
    if (m <= k) {
      out = Subproof(m, lo, lo + k, b);
      out.push_back(Mth(lo + k, hi));
    } else {
      out = Subproof(m - k, lo + k, hi, false);
      out.push_back(Mth(lo, lo + k));
    }
    return out;
  }
  std::vector<Hash256> Proof(uint64_t m, uint64_t n) {
    if (m == 0 || m == n) return {};
    return Subproof(m, 0, n, true);
  }

 private:
  std::vector<Hash256> entries_;
  std::map<std::pair<uint64_t, uint64_t>, Hash256> memo_;
};

std::vector<Hash256> Entries(uint64_t n) {
  std::vector<Hash256> out;
  for (uint64_t i = 0; i < n; ++i) out.push_back(EntryHash(i));
  return out;
}

// A log of `n` entries: its stored nodes and its accumulator.
struct Log {
  MemMerkleNodes nodes;
  MerkleAccumulator acc;
};
void Fill(Log* log, uint64_t n) {
  for (uint64_t i = log->acc.size(); i < n; ++i) log->acc.Append(EntryHash(i), log->nodes.Sink());
}

// A source that answers every node with a hash of its coordinates and counts calls.
class CountingSource final : public MerkleNodeSource {
 public:
  Result<Hash256> GetNode(int level, uint64_t index) const override {
    calls.emplace_back(level, index);
    Bytes b;
    PutFixed64BE(&b, static_cast<uint64_t>(level));
    PutFixed64BE(&b, index);
    return HashOf(b);
  }
  mutable std::vector<std::pair<int, uint64_t>> calls;
};

class FailingSource final : public MerkleNodeSource {
 public:
  Result<Hash256> GetNode(int, uint64_t) const override {
    return Status::Corruption("node checksum mismatch");
  }
};

TEST(MerkleHashTest, EmptyRootIsSha256OfNothing) {
  EXPECT_EQ(MerkleEmptyRoot(),
            H("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  EXPECT_EQ(MerkleAccumulator().Root(), MerkleEmptyRoot());
  EXPECT_EQ(MerkleAccumulator().size(), 0u);
}

TEST(MerkleHashTest, LeafAndNodePrefixes) {
  const Hash256 a = EntryHash(1);
  const Hash256 b = EntryHash(2);
  Bytes leaf = {0x00};
  leaf.insert(leaf.end(), a.begin(), a.end());
  EXPECT_EQ(MerkleLeafHash(a), HashOf(leaf));
  Bytes node = {0x01};
  node.insert(node.end(), a.begin(), a.end());
  node.insert(node.end(), b.begin(), b.end());
  EXPECT_EQ(MerkleNodeHash(a, b), HashOf(node));
  // Domain separation: a leaf is never a node of the same bytes.
  EXPECT_NE(MerkleLeafHash(a), HashOf(a));
  EXPECT_NE(MerkleNodeHash(a, b), MerkleNodeHash(b, a));
}

TEST(MerkleHashTest, SmallTreesByHand) {
  const Hash256 l0 = MerkleLeafHash(EntryHash(0));
  const Hash256 l1 = MerkleLeafHash(EntryHash(1));
  const Hash256 l2 = MerkleLeafHash(EntryHash(2));
  const Hash256 l3 = MerkleLeafHash(EntryHash(3));
  const Hash256 l4 = MerkleLeafHash(EntryHash(4));
  MerkleAccumulator acc;
  acc.Append(EntryHash(0));
  EXPECT_EQ(acc.Root(), l0);
  acc.Append(EntryHash(1));
  EXPECT_EQ(acc.Root(), MerkleNodeHash(l0, l1));
  acc.Append(EntryHash(2));
  EXPECT_EQ(acc.Root(), MerkleNodeHash(MerkleNodeHash(l0, l1), l2));
  acc.Append(EntryHash(3));
  const Hash256 four = MerkleNodeHash(MerkleNodeHash(l0, l1), MerkleNodeHash(l2, l3));
  EXPECT_EQ(acc.Root(), four);
  acc.Append(EntryHash(4));
  EXPECT_EQ(acc.Root(), MerkleNodeHash(four, l4));
}

// Roots computed with Python's hashlib over entry hashes SHA-256(bytes([i])).
TEST(MerkleHashTest, KnownAnswerRoots) {
  const char* kRoots[] = {
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "d9de27625445003d8a9739a851e3ff8d41c0683630b4d63a88327a6aaa37c409",
      "604d540f09268b91672ab011394d5266ccd7d4484d0d109411a55848126a1b2c",
      "d1f13800048f5909d4043fc0c152f6643280cba608b672715e56ce159a20629f",
      "0dcc2b645c00dfa2338e1c7ac2c4b570beda5a476d58836e55e28bde55e6bee1",
      "6b313b611b40676b9e1dfd70c4503f2379f88f0f1c2740fb7e1cacc32c113465",
      "33d501ae67e6e5745c0aa49e3aff95130969b568208b07210c508caa5ff39b3c",
      "bee2275db16667589a4515f63e0d053a2fa602c1d9f9703e98920a5bdad59baf",
  };
  Log log;
  for (uint64_t n = 0; n < std::size(kRoots); ++n) {
    Fill(&log, n);
    EXPECT_EQ(log.acc.Root(), H(kRoots[n])) << "size " << n;
    auto root = MerkleRootAt(n, log.nodes);
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    EXPECT_EQ(*root, H(kRoots[n])) << "size " << n;
  }
}

TEST(MerkleAccumulatorTest, AppendEmitsExactlyTheCompletedSubtrees) {
  constexpr uint64_t kMax = 300;
  Reference ref(Entries(kMax));
  MerkleAccumulator acc;
  std::set<std::pair<int, uint64_t>> seen;
  for (uint64_t s = 0; s < kMax; ++s) {
    std::vector<std::pair<int, uint64_t>> emitted;
    acc.Append(EntryHash(s), [&](int level, uint64_t index, const Hash256& hash) {
      emitted.emplace_back(level, index);
      const uint64_t lo = index << level;
      const uint64_t hi = (index + 1) << level;
      EXPECT_EQ(hash, ref.Mth(lo, hi)) << "node (" << level << ", " << index << ")";
      EXPECT_TRUE(seen.insert({level, index}).second) << "node emitted twice";
    });
    // The new size s + 1 completes one node per trailing one bit of s, plus the leaf.
    const int expected_count = std::countr_one(s) + 1;
    ASSERT_EQ(emitted.size(), static_cast<size_t>(expected_count)) << "append " << s;
    for (int level = 0; level < expected_count; ++level) {
      EXPECT_EQ(emitted[level], std::make_pair(level, s >> level)) << "append " << s;
    }
    EXPECT_EQ(acc.size(), s + 1);
    EXPECT_EQ(acc.peaks().size(), static_cast<size_t>(std::popcount(s + 1)));
  }
}

TEST(MerkleAccumulatorTest, RootsMatchReferenceForEverySize) {
  constexpr uint64_t kMax = 300;
  Reference ref(Entries(kMax));
  Log log;
  for (uint64_t n = 0; n <= kMax; ++n) {
    Fill(&log, n);
    const Hash256 expected = ref.Mth(0, n);
    ASSERT_EQ(log.acc.Root(), expected) << "size " << n;
  }
  // Every historical root, from the stored nodes alone; and a loaded accumulator
  // continues exactly as the original.
  for (uint64_t n = 0; n <= kMax; ++n) {
    auto root = MerkleRootAt(n, log.nodes);
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    EXPECT_EQ(*root, ref.Mth(0, n)) << "size " << n;
    auto loaded = MerkleAccumulator::Load(n, log.nodes);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(loaded->size(), n);
    if (n + 1 <= kMax) {
      MemMerkleNodes more;
      loaded->Append(EntryHash(n), more.Sink());
      EXPECT_EQ(loaded->Root(), ref.Mth(0, n + 1));
      for (const auto& [coords, hash] : more.nodes_for_testing()) {
        auto stored = log.nodes.GetNode(coords.first, coords.second);
        ASSERT_TRUE(stored.ok());
        EXPECT_EQ(*stored, hash);
      }
    }
  }
}

TEST(MerkleAccumulatorTest, LoadReadsOneNodePerSetBit) {
  const uint64_t size = (uint64_t{1} << 40) + (uint64_t{1} << 3) + 1;
  CountingSource source;
  auto acc = MerkleAccumulator::Load(size, source);
  ASSERT_TRUE(acc.ok());
  EXPECT_EQ(acc->size(), size);
  const std::vector<std::pair<int, uint64_t>> expected = {
      {40, 0}, {3, uint64_t{1} << 37}, {0, (uint64_t{1} << 40) + 8}};
  EXPECT_EQ(source.calls, expected);
  // Appending to the loaded accumulator emits the nodes of the right coordinates.
  std::vector<std::pair<int, uint64_t>> emitted;
  acc->Append(EntryHash(0), [&](int level, uint64_t index, const Hash256&) {
    emitted.emplace_back(level, index);
  });
  const std::vector<std::pair<int, uint64_t>> expected_emitted = {{0, size}, {1, size >> 1}};
  EXPECT_EQ(emitted, expected_emitted);
}

TEST(MerkleAccumulatorTest, SourceErrorsPassThrough) {
  MemMerkleNodes empty;
  EXPECT_CODE(MerkleRootAt(5, empty).status(), kNotFound);
  EXPECT_CODE(MerkleAccumulator::Load(5, empty).status(), kNotFound);
  EXPECT_CODE(MerkleInclusionProof(1, 5, empty).status(), kNotFound);
  EXPECT_CODE(MerkleConsistencyProof(3, 5, empty).status(), kNotFound);
  FailingSource failing;
  auto root = MerkleRootAt(7, failing);
  EXPECT_CODE(root.status(), kCorruption);
  EXPECT_EQ(root.status().message(), "node checksum mismatch");
  EXPECT_CODE(MerkleInclusionProof(2, 7, failing).status(), kCorruption);
  EXPECT_CODE(MerkleConsistencyProof(3, 7, failing).status(), kCorruption);
  // Trivial cases read nothing.
  EXPECT_TRUE(MerkleRootAt(0, failing).ok());
  EXPECT_TRUE(MerkleInclusionProof(0, 1, failing).ok());
  EXPECT_TRUE(MerkleConsistencyProof(0, 7, failing).ok());
  EXPECT_TRUE(MerkleConsistencyProof(7, 7, failing).ok());
}

TEST(MerkleProofTest, InclusionProofsForEveryLeafOfEverySize) {
  constexpr uint64_t kMax = 300;
  Reference ref(Entries(kMax));
  Log log;
  Fill(&log, kMax);
  for (uint64_t n = 1; n <= kMax; ++n) {
    const Hash256 root = ref.Mth(0, n);
    for (uint64_t m = 0; m < n; ++m) {
      auto proof = MerkleInclusionProof(m, n, log.nodes);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      ASSERT_EQ(*proof, ref.Path(m, 0, n)) << "leaf " << m << " of " << n;
      ASSERT_EQ(proof->size(), MerkleInclusionProofSize(m, n));
      ASSERT_OK(VerifyMerkleInclusion(m, n, EntryHash(m), *proof, root));
    }
  }
}

TEST(MerkleProofTest, ConsistencyProofsForEveryPairUpTo64AndRandomPairsBeyond) {
  constexpr uint64_t kMax = 300;
  Reference ref(Entries(kMax));
  Log log;
  Fill(&log, kMax);
  auto check = [&](uint64_t m, uint64_t n) {
    auto proof = MerkleConsistencyProof(m, n, log.nodes);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    ASSERT_EQ(*proof, ref.Proof(m, n)) << m << " -> " << n;
    ASSERT_EQ(proof->size(), MerkleConsistencyProofSize(m, n));
    ASSERT_OK(VerifyMerkleConsistency(m, n, ref.Mth(0, m), ref.Mth(0, n), *proof));
  };
  for (uint64_t n = 0; n <= 64; ++n) {
    for (uint64_t m = 0; m <= n; ++m) check(m, n);
  }
  std::mt19937_64 rng(6962);
  for (int i = 0; i < 3000; ++i) {
    uint64_t a = rng() % (kMax + 1);
    uint64_t b = rng() % (kMax + 1);
    check(std::min(a, b), std::max(a, b));
  }
  for (uint64_t m = 0; m <= kMax; ++m) check(m, kMax);
}

TEST(MerkleProofTest, ProofsReadFewNodes) {
  // O(log^2 n) GetNode calls at most, even for huge trees (nothing is stored here: the
  // counting source makes up every node).
  const uint64_t sizes[] = {1000, (uint64_t{1} << 40) + 12345, (uint64_t{1} << 62) + 7};
  for (uint64_t n : sizes) {
    const size_t log_n = static_cast<size_t>(std::bit_width(n));
    for (uint64_t m : {uint64_t{0}, n / 3, n - 1}) {
      CountingSource source;
      auto proof = MerkleInclusionProof(m, n, source);
      ASSERT_TRUE(proof.ok());
      EXPECT_EQ(proof->size(), MerkleInclusionProofSize(m, n));
      EXPECT_LE(source.calls.size(), log_n * log_n);
      CountingSource source2;
      auto consistency = MerkleConsistencyProof(m + 1, n, source2);
      ASSERT_TRUE(consistency.ok());
      EXPECT_EQ(consistency->size(), MerkleConsistencyProofSize(m + 1, n));
      EXPECT_LE(source2.calls.size(), log_n * log_n);
    }
  }
}

TEST(MerkleProofTest, ImpossibleSizesAreInvalidArgument) {
  MemMerkleNodes nodes;
  const Hash256 h = EntryHash(0);
  EXPECT_CODE(MerkleInclusionProof(0, 0, nodes).status(), kInvalidArgument);
  EXPECT_CODE(MerkleInclusionProof(5, 5, nodes).status(), kInvalidArgument);
  EXPECT_CODE(MerkleConsistencyProof(6, 5, nodes).status(), kInvalidArgument);
  EXPECT_CODE(VerifyMerkleInclusion(0, 0, h, {}, h), kInvalidArgument);
  EXPECT_CODE(VerifyMerkleInclusion(3, 3, h, {}, h), kInvalidArgument);
  EXPECT_CODE(VerifyMerkleInclusion(UINT64_MAX, 3, h, {}, h), kInvalidArgument);
  EXPECT_CODE(VerifyMerkleConsistency(6, 5, h, h, {}), kInvalidArgument);
  EXPECT_CODE(VerifyMerkleConsistency(UINT64_MAX, 0, h, h, {}), kInvalidArgument);
  // Huge but possible sizes are fine to ask about (a random proof just fails).
  std::vector<Hash256> proof(MerkleInclusionProofSize(UINT64_MAX - 1, UINT64_MAX), h);
  EXPECT_CODE(VerifyMerkleInclusion(UINT64_MAX - 1, UINT64_MAX, h, proof, h), kCorruption);
  std::vector<Hash256> cproof(MerkleConsistencyProofSize(UINT64_MAX - 1, UINT64_MAX), h);
  EXPECT_CODE(VerifyMerkleConsistency(UINT64_MAX - 1, UINT64_MAX, h, h, cproof), kCorruption);
}

TEST(MerkleProofTest, TrivialConsistencyCases) {
  Reference ref(Entries(10));
  const Hash256 r5 = ref.Mth(0, 5);
  const Hash256 r6 = ref.Mth(0, 6);
  EXPECT_OK(VerifyMerkleConsistency(5, 5, r5, r5, {}));
  EXPECT_CODE(VerifyMerkleConsistency(5, 5, r5, r6, {}), kCorruption);
  EXPECT_CODE(VerifyMerkleConsistency(5, 5, r5, r5, std::vector<Hash256>{r5}), kCorruption);
  EXPECT_OK(VerifyMerkleConsistency(0, 5, MerkleEmptyRoot(), r5, {}));
  EXPECT_OK(VerifyMerkleConsistency(0, 0, MerkleEmptyRoot(), MerkleEmptyRoot(), {}));
  EXPECT_CODE(VerifyMerkleConsistency(0, 5, r5, r5, {}), kCorruption);
  EXPECT_CODE(VerifyMerkleConsistency(0, 5, MerkleEmptyRoot(), r5, std::vector<Hash256>{r5}),
              kCorruption);
  // A non-trivial pair needs a non-empty proof.
  EXPECT_CODE(VerifyMerkleConsistency(4, 5, ref.Mth(0, 4), r5, {}), kCorruption);
}

// Every way of damaging a valid proof must be rejected.
void ExpectInclusionTamperRejected(uint64_t m, uint64_t n, Reference& ref,
                                   const MerkleNodeSource& nodes) {
  SCOPED_TRACE("leaf " + std::to_string(m) + " of " + std::to_string(n));
  auto proof_or = MerkleInclusionProof(m, n, nodes);
  ASSERT_TRUE(proof_or.ok());
  const std::vector<Hash256> proof = *proof_or;
  const Hash256 root = ref.Mth(0, n);
  const Hash256 entry = EntryHash(m);
  ASSERT_OK(VerifyMerkleInclusion(m, n, entry, proof, root));

  for (size_t i = 0; i < proof.size(); ++i) {
    for (size_t bit = 0; bit < 256; ++bit) {
      std::vector<Hash256> bad = proof;
      bad[i][bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      ASSERT_CODE_CORRUPTION(VerifyMerkleInclusion(m, n, entry, bad, root));
    }
  }
  for (size_t bit = 0; bit < 256; ++bit) {
    Hash256 bad_entry = entry;
    bad_entry[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ASSERT_CODE_CORRUPTION(VerifyMerkleInclusion(m, n, bad_entry, proof, root));
    Hash256 bad_root = root;
    bad_root[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ASSERT_CODE_CORRUPTION(VerifyMerkleInclusion(m, n, entry, proof, bad_root));
  }
  // Missing, extra and reordered elements.
  for (size_t i = 0; i < proof.size(); ++i) {
    std::vector<Hash256> bad = proof;
    bad.erase(bad.begin() + static_cast<std::ptrdiff_t>(i));
    ASSERT_CODE_CORRUPTION(VerifyMerkleInclusion(m, n, entry, bad, root));
  }
  for (size_t i = 0; i <= proof.size(); ++i) {
    std::vector<Hash256> bad = proof;
    bad.insert(bad.begin() + static_cast<std::ptrdiff_t>(i), root);
    ASSERT_CODE_CORRUPTION(VerifyMerkleInclusion(m, n, entry, bad, root));
  }
  for (size_t i = 0; i + 1 < proof.size(); ++i) {
    std::vector<Hash256> bad = proof;
    std::swap(bad[i], bad[i + 1]);
    if (bad == proof) continue;
    ASSERT_CODE_CORRUPTION(VerifyMerkleInclusion(m, n, entry, bad, root));
  }
  // The same proof claimed for another leaf or another tree size.
  for (uint64_t other = 0; other < n + 8; ++other) {
    if (other == m) continue;
    const Status s = VerifyMerkleInclusion(other, n, entry, proof, root);
    ASSERT_FALSE(s.ok()) << "leaf " << other;
  }
  // A root does not commit to its tree size (RFC 9162 binds them in the signed tree
  // head; the ledger's digests do too), so a proof can also hold for another size of
  // the same shape. Every size that needs a proof of another length is rejected.
  for (uint64_t other = m + 1; other < n + 70; ++other) {
    if (other == n || MerkleInclusionProofSize(m, other) == proof.size()) continue;
    ASSERT_CODE_CORRUPTION(VerifyMerkleInclusion(m, other, entry, proof, root));
  }
}

void ExpectConsistencyTamperRejected(uint64_t m, uint64_t n, Reference& ref,
                                     const MerkleNodeSource& nodes) {
  SCOPED_TRACE(std::to_string(m) + " -> " + std::to_string(n));
  auto proof_or = MerkleConsistencyProof(m, n, nodes);
  ASSERT_TRUE(proof_or.ok());
  const std::vector<Hash256> proof = *proof_or;
  const Hash256 old_root = ref.Mth(0, m);
  const Hash256 new_root = ref.Mth(0, n);
  ASSERT_OK(VerifyMerkleConsistency(m, n, old_root, new_root, proof));
  for (size_t i = 0; i < proof.size(); ++i) {
    for (size_t bit = 0; bit < 256; ++bit) {
      std::vector<Hash256> bad = proof;
      bad[i][bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      ASSERT_CODE_CORRUPTION(VerifyMerkleConsistency(m, n, old_root, new_root, bad));
    }
  }
  for (size_t bit = 0; bit < 256; ++bit) {
    Hash256 bad = old_root;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ASSERT_CODE_CORRUPTION(VerifyMerkleConsistency(m, n, bad, new_root, proof));
    bad = new_root;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ASSERT_CODE_CORRUPTION(VerifyMerkleConsistency(m, n, old_root, bad, proof));
  }
  for (size_t i = 0; i < proof.size(); ++i) {
    std::vector<Hash256> bad = proof;
    bad.erase(bad.begin() + static_cast<std::ptrdiff_t>(i));
    ASSERT_CODE_CORRUPTION(VerifyMerkleConsistency(m, n, old_root, new_root, bad));
  }
  for (size_t i = 0; i <= proof.size(); ++i) {
    std::vector<Hash256> bad = proof;
    bad.insert(bad.begin() + static_cast<std::ptrdiff_t>(i), old_root);
    ASSERT_CODE_CORRUPTION(VerifyMerkleConsistency(m, n, old_root, new_root, bad));
  }
  ASSERT_CODE_CORRUPTION(VerifyMerkleConsistency(m, n, new_root, old_root, proof));
  // The same proof and roots claimed for other sizes: rejected whenever those sizes
  // need a proof of another length (see the inclusion case for why not always).
  for (uint64_t om = 0; om <= n + 8; ++om) {
    for (uint64_t on = om; on <= n + 8; ++on) {
      if (om == m && on == n) continue;
      if (MerkleConsistencyProofSize(om, on) == proof.size()) continue;
      ASSERT_CODE_CORRUPTION(VerifyMerkleConsistency(om, on, old_root, new_root, proof));
    }
  }
}

TEST(MerkleProofTest, TamperedInclusionProofsAreRejected) {
  constexpr uint64_t kMax = 100;
  Reference ref(Entries(kMax));
  Log log;
  Fill(&log, kMax);
  const std::pair<uint64_t, uint64_t> cases[] = {{0, 2},   {1, 2},    {2, 3},   {0, 7},   {6, 7},
                                                 {4, 8},   {5, 13},   {12, 13}, {31, 32}, {40, 77},
                                                 {76, 77}, {63, 100}, {99, 100}};
  for (const auto& [m, n] : cases) ExpectInclusionTamperRejected(m, n, ref, log.nodes);
}

TEST(MerkleProofTest, TamperedConsistencyProofsAreRejected) {
  constexpr uint64_t kMax = 100;
  Reference ref(Entries(kMax));
  Log log;
  Fill(&log, kMax);
  const std::pair<uint64_t, uint64_t> cases[] = {{1, 2},   {1, 3},   {2, 3},   {3, 7},  {4, 7},
                                                 {4, 8},   {6, 8},   {5, 13},  {8, 13}, {31, 33},
                                                 {32, 64}, {33, 77}, {63, 100}};
  for (const auto& [m, n] : cases) ExpectConsistencyTamperRejected(m, n, ref, log.nodes);
}

TEST(MerkleProofTest, ProofFromCorruptedStoreFailsAgainstTrustedRoot) {
  constexpr uint64_t kMax = 50;
  Reference ref(Entries(kMax));
  Log log;
  Fill(&log, kMax);
  // Damage each stored node in turn: every proof that uses it must stop verifying,
  // and every one that does not must still verify.
  for (auto& [coords, hash] : log.nodes.nodes_for_testing()) {
    const Hash256 saved = hash;
    hash[0] ^= 1;
    for (uint64_t m = 0; m < kMax; m += 7) {
      auto proof = MerkleInclusionProof(m, kMax, log.nodes);
      ASSERT_TRUE(proof.ok());
      const bool intact = *proof == ref.Path(m, 0, kMax);
      const Status s = VerifyMerkleInclusion(m, kMax, EntryHash(m), *proof, ref.Mth(0, kMax));
      EXPECT_EQ(s.ok(), intact) << "node (" << coords.first << ", " << coords.second << ")";
    }
    auto root = MerkleRootAt(kMax, log.nodes);
    ASSERT_TRUE(root.ok());
    auto consistency = MerkleConsistencyProof(20, kMax, log.nodes);
    ASSERT_TRUE(consistency.ok());
    const bool intact = *consistency == ref.Proof(20, kMax);
    EXPECT_EQ(
        VerifyMerkleConsistency(20, kMax, ref.Mth(0, 20), ref.Mth(0, kMax), *consistency).ok(),
        intact);
    hash = saved;
  }
}

}  // namespace
}  // namespace vellum::logchain
