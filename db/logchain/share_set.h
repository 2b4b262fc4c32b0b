// Copyright (c) Vellum authors.
//
// Share sets: how a log entry's key is held. Every entry is encrypted with a fresh
// 32-byte key; that key is split k-of-n with Shamir's scheme (crypto/shamir.h) and
// share i is sealed (crypto/sealed_box.h) to the X25519 public key of holder i. Any k
// holders together can read the entry; fewer learn nothing. The share set is stored
// apart from the entry so that deleting it crypto-shreds the payload while the hash
// chain (which covers only ShareSetId of the share set) still verifies.
//
// Binary format (docs/formats/log-entry.md, "Share set"), version 1:
//   format 0x01 | threshold (1) | count n (1) | n x { holder public key (32) |
//   sealed share (kSealedShareSize) }
// and the plaintext sealed in each share is
//   share format 0x01 | index (1) | threshold (1) | split id (16) | data (32 + 16).
//
// Key material (entry keys, opened shares) lives only in SecureBytes and never in a
// Status message.
//
// Thread safety: all functions are thread-safe; the structs are values.

#ifndef VELLUM_DB_LOGCHAIN_SHARE_SET_H_
#define VELLUM_DB_LOGCHAIN_SHARE_SET_H_

#include <cstdint>
#include <span>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "crypto/sealed_box.h"
#include "crypto/secure_bytes.h"
#include "vellum/env.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::logchain {

// The size of an entry key (an XChaCha20-Poly1305 key).
inline constexpr size_t kEntryKeySize = 32;
inline constexpr size_t kMaxKeyHolders = 255;
// The plaintext of one sealed share: format, index, threshold, split id, the Shamir
// data (key + 16-byte tag).
inline constexpr size_t kSharePlaintextSize = 3 + 16 + kEntryKeySize + 16;
inline constexpr size_t kSealedShareSize = kSharePlaintextSize + crypto::SealedBox::kOverhead;

// Who can decrypt log payloads.
struct KeyHolders {
  std::vector<crypto::X25519PublicKey> holders;  // 1..255, distinct; the order matters
  int threshold = 1;                             // 1..holders.size()
};

// InvalidArgument with a clear message unless 1 <= holders <= 255, all distinct, and
// 1 <= threshold <= holders.
Status ValidateKeyHolders(const KeyHolders& holders);

// A stable id of a holder policy: SHA-256("vellum-key-holders-v1" || BE32 threshold ||
// BE32 count || the holders' public keys in order). Printed by tools; defined for any
// KeyHolders, valid or not.
crypto::Hash256 KeyHoldersId(const KeyHolders& holders);

// One share of an entry key, sealed to `holder`.
struct SealedShare {
  crypto::X25519PublicKey holder{};
  Bytes sealed;  // kSealedShareSize bytes
};

// The entry key split k-of-n: share i (Shamir index i + 1) sealed to holders[i].
struct ShareSet {
  uint8_t threshold = 0;
  std::vector<SealedShare> shares;
};

// Splits `entry_key` (kEntryKeySize bytes) to `holders`. InvalidArgument for invalid
// holders (ValidateKeyHolders), a key of another size or a holder key that cannot be
// sealed to (a low-order point). The Shamir randomness comes from `random`; the
// ephemeral sealing keys from the system CSPRNG.
Result<ShareSet> SplitEntryKey(const crypto::SecureBytes& entry_key, const KeyHolders& holders,
                               RandomSource& random);

// The binary form (version 1). The share set must be well formed (as SplitEntryKey
// and DecodeShareSet make them): VELLUM_CHECK otherwise.
Bytes EncodeShareSet(const ShareSet& share_set);
// Strict: Corruption for any malformation (truncation, trailing bytes, no shares,
// threshold out of range, a repeated holder); NotSupported for another format version.
Result<ShareSet> DecodeShareSet(ByteView encoded);

// SHA-256("vellum-share-set-v1" || encoded share set): the header's key_share_set_id.
crypto::Hash256 ShareSetId(ByteView encoded_share_set);

// Recovers the entry key with the holder key pairs given; pairs that match no share
// are ignored, and a pair given twice counts once. Every matching share is opened and
// used (shares beyond the threshold are checked for consistency).
//   FailedPrecondition  "need K holder keys for this entry, got M that match"
//   Corruption          a sealed share does not open, its contents are malformed or
//                       disagree with the set (index, threshold), or the shares do not
//                       combine to a valid key
Result<crypto::SecureBytes> RecoverEntryKey(const ShareSet& share_set,
                                            std::span<const crypto::X25519KeyPair> holder_keys);

}  // namespace vellum::logchain

#endif  // VELLUM_DB_LOGCHAIN_SHARE_SET_H_
