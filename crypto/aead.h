// Copyright (c) Vellum authors.
//
// Randomized authenticated encryption for log entries: XChaCha20-Poly1305
// (libsodium's IETF construction). Its 24-byte nonce is large enough to pick at
// random for every message.
//
// Sealed layout (Seal/Open): nonce (24) || ciphertext || tag (16).
//
// Thread safety: all functions are thread-safe.

#ifndef VELLUM_CRYPTO_AEAD_H_
#define VELLUM_CRYPTO_AEAD_H_

#include <array>

#include "base/bytes.h"
#include "crypto/secure_bytes.h"
#include "vellum/env.h"

namespace vellum::crypto {

class XChaCha20Poly1305 {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kNonceSize = 24;
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kOverhead = kNonceSize + kTagSize;
  using Nonce = std::array<uint8_t, kNonceSize>;

  // A fresh random key.
  static SecureBytes GenerateKey(RandomSource& random);

  // Encrypts with a nonce drawn from `random`; returns nonce || ciphertext || tag.
  // A key that is not kKeySize bytes is InvalidArgument.
  static Result<Bytes> Seal(const SecureBytes& key, ByteView plaintext, ByteView ad,
                            RandomSource& random);
  // Reverses Seal. Any change to the sealed bytes or the associated data, or a wrong
  // key, is Corruption. The plaintext is data (log payloads), so it comes back in
  // ordinary memory; a caller decrypting key material moves it into SecureBytes.
  static Result<Bytes> Open(const SecureBytes& key, ByteView sealed, ByteView ad);

  // The raw construction with a caller-chosen nonce (for known-answer tests and
  // formats that store the nonce elsewhere): returns ciphertext || tag.
  static Result<Bytes> Encrypt(const SecureBytes& key, const Nonce& nonce, ByteView plaintext,
                               ByteView ad);
  static Result<Bytes> Decrypt(const SecureBytes& key, const Nonce& nonce,
                               ByteView ciphertext_and_tag, ByteView ad);
};

}  // namespace vellum::crypto

#endif  // VELLUM_CRYPTO_AEAD_H_
