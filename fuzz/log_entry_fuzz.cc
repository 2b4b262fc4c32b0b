// Copyright (c) Vellum authors.
//
// Fuzzes the logchain decoders, which read bytes from untrusted storage and backups:
// DecodeLogEntryHeader, DecodeStoredEntry, DecodeShareSet and DecodeWriteSet, each
// fed the whole input (all four formats start with a version byte, so one corpus
// serves them all).
//   - No decoder may crash or read out of bounds; what they reject is Corruption or
//     NotSupported.
//   - Every format is canonical: an input that decodes re-encodes to exactly the
//     input bytes.
//   - A stored entry that decodes has a header that decodes on its own, a payload
//     whose SHA-256 is the header's payload_hash, and the entry hash of its parts.
// The input also drives the Merkle verifiers against a fixed 37-leaf log: bytes 0 and
// 1 pick sizes, bytes 2..33 are a claimed entry hash / old root, the rest a proof.
// Neither verifier may crash, and neither may accept a claim that is false (that
// would need a SHA-256 collision).
// Run: ./log_entry_fuzz -max_total_time=60 fuzz/corpus/log_entry

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "db/logchain/log_entry.h"
#include "db/logchain/merkle_log.h"
#include "db/logchain/share_set.h"
#include "db/logchain/write_set.h"
#include "vellum/check.h"

namespace {

using vellum::Bytes;
using vellum::ByteView;
using vellum::Status;
using vellum::crypto::Hash256;
namespace lc = vellum::logchain;

void CheckRejection(const Status& s) {
  VELLUM_CHECK(!s.ok());
  VELLUM_CHECK(s.IsCorruption() || s.IsNotSupported());
}

void FuzzDecoders(ByteView input) {
  auto header = lc::DecodeLogEntryHeader(input);
  if (header.ok()) {
    VELLUM_CHECK_MSG(lc::EncodeLogEntryHeader(*header) == Bytes(input.begin(), input.end()),
                     "a log entry header does not round-trip");
    VELLUM_CHECK(header->index != 0);
  } else {
    CheckRejection(header.status());
  }

  auto stored = lc::DecodeStoredEntry(input);
  if (stored.ok()) {
    VELLUM_CHECK_MSG(lc::EncodeStoredEntry(stored->encoded_header, stored->payload_ciphertext) ==
                         Bytes(input.begin(), input.end()),
                     "a stored log entry does not round-trip");
    auto again = lc::DecodeLogEntryHeader(stored->encoded_header);
    VELLUM_CHECK(again.ok() && *again == stored->header);
    VELLUM_CHECK(vellum::crypto::Sha256(stored->payload_ciphertext) == stored->header.payload_hash);
    VELLUM_CHECK(stored->entry_hash ==
                 lc::LogEntryHash(stored->encoded_header, stored->payload_ciphertext));
    VELLUM_CHECK(stored->payload_ciphertext.size() >= lc::kMinPayloadCiphertextSize);
  } else {
    CheckRejection(stored.status());
  }

  auto share_set = lc::DecodeShareSet(input);
  if (share_set.ok()) {
    VELLUM_CHECK_MSG(lc::EncodeShareSet(*share_set) == Bytes(input.begin(), input.end()),
                     "a share set does not round-trip");
    VELLUM_CHECK(share_set->threshold >= 1 && share_set->threshold <= share_set->shares.size());
    // No holder key matches these made-up holders: recovery must say so, not crash.
    auto key = lc::RecoverEntryKey(*share_set, {});
    VELLUM_CHECK(key.status().IsFailedPrecondition());
  } else {
    CheckRejection(share_set.status());
  }

  auto write_set = lc::DecodeWriteSet(input);
  if (write_set.ok()) {
    const Bytes encoded = lc::EncodeWriteSet(*write_set);
    VELLUM_CHECK_MSG(encoded == Bytes(input.begin(), input.end()),
                     "a write set does not round-trip");
    VELLUM_CHECK_EQ(lc::EncodedWriteSetSize(*write_set), encoded.size());
  } else {
    CheckRejection(write_set.status());
  }
}

// The fixed log the Merkle claims are checked against.
struct FixedLog {
  static constexpr uint64_t kSize = 37;
  std::vector<Hash256> entries;
  std::vector<Hash256> roots;  // roots[n] = root of the first n entries
  lc::MemMerkleNodes nodes;

  FixedLog() {
    lc::MerkleAccumulator acc;
    roots.push_back(acc.Root());
    for (uint64_t i = 0; i < kSize; ++i) {
      const uint8_t b = static_cast<uint8_t>(i);
      entries.push_back(vellum::crypto::Sha256(ByteView(&b, 1)));
      acc.Append(entries.back(), nodes.Sink());
      roots.push_back(acc.Root());
    }
  }
};

void FuzzMerkle(ByteView input) {
  static const FixedLog* const log = new FixedLog();
  if (input.size() < 2 + 32) return;
  Hash256 claimed{};
  std::memcpy(claimed.data(), input.data() + 2, 32);
  std::vector<Hash256> proof((input.size() - 34) / 32);
  for (size_t i = 0; i < proof.size(); ++i) {
    std::memcpy(proof[i].data(), input.data() + 34 + 32 * i, 32);
  }

  // Arbitrary sizes (up to 255): any status, never a crash.
  const uint64_t a = input[0];
  const uint64_t b = input[1];
  Status s = lc::VerifyMerkleInclusion(a, b, claimed, proof, claimed);
  VELLUM_CHECK(s.ok() || s.IsCorruption() || s.IsInvalidArgument());
  s = lc::VerifyMerkleConsistency(a, b, claimed, claimed, proof);
  VELLUM_CHECK(s.ok() || s.IsCorruption() || s.IsInvalidArgument());

  // Claims about the fixed log: a proof may only succeed for the truth.
  const uint64_t n = 1 + b % FixedLog::kSize;
  const uint64_t m = a % n;
  s = lc::VerifyMerkleInclusion(m, n, claimed, proof, log->roots[n]);
  if (s.ok()) VELLUM_CHECK_MSG(claimed == log->entries[m], "a false inclusion proof verified");
  const uint64_t old_size = a % (n + 1);
  s = lc::VerifyMerkleConsistency(old_size, n, claimed, log->roots[n], proof);
  if (s.ok()) {
    VELLUM_CHECK_MSG(claimed == log->roots[old_size], "a false consistency proof verified");
  }
  // And the real proofs always verify.
  auto real = lc::MerkleInclusionProof(m, n, log->nodes);
  VELLUM_CHECK(real.ok());
  VELLUM_CHECK(lc::VerifyMerkleInclusion(m, n, log->entries[m], *real, log->roots[n]).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView input(data, size);
  FuzzDecoders(input);
  FuzzMerkle(input);
  return 0;
}
