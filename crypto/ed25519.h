// Copyright (c) Vellum authors.
//
// Ed25519 signatures (RFC 8032, pure Ed25519) through libsodium.
//
// Thread safety: all functions are thread-safe; an Ed25519KeyPair is immutable.

#ifndef VELLUM_CRYPTO_ED25519_H_
#define VELLUM_CRYPTO_ED25519_H_

#include <array>

#include "base/bytes.h"
#include "crypto/secure_bytes.h"
#include "vellum/env.h"

namespace vellum::crypto {

using Ed25519PublicKey = std::array<uint8_t, 32>;
using Ed25519Signature = std::array<uint8_t, 64>;

class Ed25519KeyPair {
 public:
  static constexpr size_t kSeedSize = 32;

  static Ed25519KeyPair Generate(RandomSource& random);
  // The key pair whose RFC 8032 private key is `seed` (32 bytes; InvalidArgument
  // otherwise).
  static Result<Ed25519KeyPair> FromSeed(const SecureBytes& seed);

  const Ed25519PublicKey& public_key() const { return public_key_; }
  // The 32-byte private seed, for storing the key (sealed) and for tests.
  const SecureBytes& seed() const { return seed_; }

  Ed25519Signature Sign(ByteView message) const;

 private:
  Ed25519KeyPair(SecureBytes seed, SecureBytes expanded, const Ed25519PublicKey& pub)
      : seed_(std::move(seed)), expanded_(std::move(expanded)), public_key_(pub) {}

  SecureBytes seed_;
  SecureBytes expanded_;  // libsodium's 64-byte secret key (seed || public key)
  Ed25519PublicKey public_key_{};
};

// OK when `signature` is a valid signature of `message` under `public_key`;
// Corruption otherwise (including for a malformed public key or signature).
Status Ed25519Verify(const Ed25519PublicKey& public_key, ByteView message, ByteView signature);

}  // namespace vellum::crypto

#endif  // VELLUM_CRYPTO_ED25519_H_
