// Copyright (c) Vellum authors.
//
// Share sets: how a log entry's key is held. Every entry is encrypted with a fresh
// 32-byte key; that key is split k-of-n with Shamir's scheme (crypto/shamir.h) and
// share i is sealed to the X25519 public key of holder i. Any k holders together can
// read the entry; fewer learn nothing. The share set is stored apart from the entry so
// that deleting it crypto-shreds the payload while the hash chain (which covers only
// ShareSetId of the share set) still verifies.
//
// Binary formats (docs/formats/log-entry.md, "Share set"):
//   version 2 (written): format 0x02 | threshold (1) | count n (1) | sender public key
//     (32) | nonce (24) | n x { holder public key (32) | encrypted share
//     (kSharePlaintextSize + 16) }. Share i is XChaCha20-Poly1305 under a key derived
//     from X25519(sender, holder i); the sender key pair belongs to a ShareSealer and
//     serves a run of entries, so a share set costs no curve operation.
//   version 1 (read): format 0x01 | threshold (1) | count n (1) | n x { holder public
//     key (32) | sealed box (kSealedShareSize) }, one ephemeral key per share.
// In both, the plaintext of each share is
//   share format 0x01 | index (1) | threshold (1) | split id (16) | data (32 + 16).
//
// Key material (entry keys, opened shares, a sealer's wrapping keys) lives only in
// SecureBytes and never in a Status message.
//
// Thread safety: all functions are thread-safe; the structs are values; a ShareSealer
// is immutable once made.

#ifndef VELLUM_DB_LOGCHAIN_SHARE_SET_H_
#define VELLUM_DB_LOGCHAIN_SHARE_SET_H_

#include <cstdint>
#include <span>
#include <vector>

#include "base/bytes.h"
#include "crypto/aead.h"
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
// A share in a version 1 set (sealed box) and in a version 2 set (ciphertext and tag).
inline constexpr size_t kSealedShareSize = kSharePlaintextSize + crypto::SealedBox::kOverhead;
inline constexpr size_t kEncryptedShareSize =
    kSharePlaintextSize + crypto::XChaCha20Poly1305::kTagSize;
inline constexpr uint8_t kShareSetFormatV1 = 1;
inline constexpr uint8_t kShareSetFormatV2 = 2;

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
  Bytes sealed;  // kEncryptedShareSize bytes (version 2) or kSealedShareSize (version 1)
};

// The entry key split k-of-n: share i (Shamir index i + 1) sealed to holders[i].
struct ShareSet {
  uint8_t format = kShareSetFormatV2;
  uint8_t threshold = 0;
  crypto::X25519PublicKey sender{};          // version 2: the sealer's public key
  crypto::XChaCha20Poly1305::Nonce nonce{};  // version 2: random, one per set
  std::vector<SealedShare> shares;
};

// The writer's side of version 2 share sets. Create makes an X25519 key pair and, for
// each holder, a wrapping key: HKDF-SHA256(X25519(sender, holder), salt = sender public
// key || holder public key, info "vellum-share-wrap-v2"). Split then costs a Shamir
// split and n small encryptions, no curve operation. The sender's secret key is wiped
// once the wrapping keys exist; they are as sensitive (they open every share this
// sealer seals) and live in SecureBytes. Use a sealer for a bounded run of entries and
// then make a new one, so that memory read later cannot open older shares.
class ShareSealer {
 public:
  // InvalidArgument for invalid holders (ValidateKeyHolders) or a holder key that
  // cannot be sealed to (a low-order point). Keys come from `random`.
  static Result<ShareSealer> Create(const KeyHolders& holders, RandomSource& random);

  // Splits `entry_key` (kEntryKeySize bytes, else InvalidArgument) to the holders:
  // the Shamir randomness and the set's nonce come from `random`.
  Result<ShareSet> Split(const crypto::SecureBytes& entry_key, RandomSource& random) const;

  const KeyHolders& holders() const { return holders_; }
  const crypto::Hash256& holders_id() const { return holders_id_; }

 private:
  ShareSealer() = default;

  KeyHolders holders_;
  crypto::Hash256 holders_id_{};
  crypto::X25519PublicKey sender_{};
  std::vector<crypto::SecureBytes> wrap_keys_;  // one per holder, in order
};

// Splits `entry_key` (kEntryKeySize bytes) to `holders` with a sealer of its own (one
// key pair for this set: 1 + n curve operations). InvalidArgument as
// ShareSealer::Create and Split. Keys and randomness come from `random`.
Result<ShareSet> SplitEntryKey(const crypto::SecureBytes& entry_key, const KeyHolders& holders,
                               RandomSource& random);

// The binary form of the set's version. The share set must be well formed (as
// ShareSealer::Split and DecodeShareSet make them): VELLUM_CHECK otherwise.
Bytes EncodeShareSet(const ShareSet& share_set);
// Strict: Corruption for any malformation (truncation, trailing bytes, no shares,
// threshold out of range, a repeated holder); NotSupported for another format version.
// Reads versions 1 and 2.
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
