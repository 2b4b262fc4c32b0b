// Copyright (c) Vellum authors.
//
// Digest: a signed summary of a ledger at one version — its state root, the log's
// size, head entry hash and RFC 6962 Merkle root — that a client keeps to detect
// rollback or forking later. A later digest is checked against an earlier one with a
// DigestConsistencyProof: the earlier log is a prefix of the later one.
//
// The signature is Ed25519 by the ledger's signing key (derived from its master
// secret); `public_key` is carried in the digest, and a client should pin it (pass it
// as `expected_public_key`) rather than trust the copy in each digest.
//
// Thread safety: value types and pure functions.

#ifndef VELLUM_DIGEST_H_
#define VELLUM_DIGEST_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vellum/hash.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum {

struct Digest {
  std::string ledger_id;  // 32 hex digits, fixed when the ledger is created
  uint64_t version = 0;
  Hash state_root{};
  uint64_t log_size = 0;  // entries in the log
  Hash log_head_hash{};   // hash of entry log_size (zeros for an empty log)
  Hash log_root{};        // RFC 6962 Merkle root over the entry hashes
  std::array<uint8_t, 32> public_key{};
  std::array<uint8_t, 64> signature{};

  // The bytes the signature covers (docs/formats/digest.md).
  std::string SignedBytes() const;
  std::string ToJson() const;
  static Result<Digest> FromJson(std::string_view json);
};

// OK when the signature verifies (under `expected_public_key` if given, which must
// then also equal digest.public_key); Corruption otherwise.
Status VerifyDigestSignature(
    const Digest& digest,
    const std::optional<std::array<uint8_t, 32>>& expected_public_key = std::nullopt);

struct DigestConsistencyProof {
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  std::vector<Hash> consistency;         // RFC 9162 consistency proof old -> new
  std::vector<Hash> old_head_inclusion;  // old head entry in the old tree
  std::vector<Hash> new_head_inclusion;  // new head entry in the new tree

  std::string ToJson() const;
  static Result<DigestConsistencyProof> FromJson(std::string_view json);
};

// Checks both signatures (same public key, pinned if given), that both digests are
// of the same ledger, and that the new log extends the old one. Corruption naming
// what fails.
Status VerifyDigestConsistency(
    const Digest& old_digest, const Digest& new_digest, const DigestConsistencyProof& proof,
    const std::optional<std::array<uint8_t, 32>>& expected_public_key = std::nullopt);

}  // namespace vellum

#endif  // VELLUM_DIGEST_H_
