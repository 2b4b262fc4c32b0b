// Copyright (c) Vellum authors.
//
// X25519 sealed boxes: encrypt to a holder's public key so that only the holder of
// the matching private key can open it, with no prior exchange (libsodium's
// crypto_box_seal: an ephemeral X25519 key, XSalsa20-Poly1305). Used to seal each
// Shamir share of a log entry key to one key holder.
//
// Sealed layout: ephemeral public key (32) || ciphertext || tag (16).
//
// Thread safety: all functions are thread-safe; an X25519KeyPair is immutable.

#ifndef VELLUM_CRYPTO_SEALED_BOX_H_
#define VELLUM_CRYPTO_SEALED_BOX_H_

#include <array>

#include "base/bytes.h"
#include "crypto/secure_bytes.h"
#include "vellum/env.h"

namespace vellum::crypto {

using X25519PublicKey = std::array<uint8_t, 32>;

class X25519KeyPair {
 public:
  static constexpr size_t kSecretKeySize = 32;

  static X25519KeyPair Generate(RandomSource& random);
  // The key pair of a stored 32-byte secret key (InvalidArgument for another size).
  static Result<X25519KeyPair> FromSecretKey(const SecureBytes& secret_key);

  const X25519PublicKey& public_key() const { return public_key_; }
  const SecureBytes& secret_key() const { return secret_key_; }

 private:
  X25519KeyPair(SecureBytes secret_key, const X25519PublicKey& pub)
      : secret_key_(std::move(secret_key)), public_key_(pub) {}

  SecureBytes secret_key_;
  X25519PublicKey public_key_{};
};

// The X25519 shared secret of `own` and `peer` (32 bytes; raw, so hash it before use
// as a key). A `peer` that is a low-order point gives the all-zero secret, refused as
// InvalidArgument.
Result<SecureBytes> X25519SharedSecret(const X25519KeyPair& own, const X25519PublicKey& peer);

class SealedBox {
 public:
  static constexpr size_t kOverhead = 48;

  // Encrypts `plaintext` to `recipient`. The ephemeral key comes from the system
  // CSPRNG. A public key that is a low-order point is InvalidArgument.
  static Result<Bytes> Seal(const X25519PublicKey& recipient, ByteView plaintext);
  // Opens a box sealed to `recipient`. A box for another key, or any changed byte,
  // is Corruption.
  static Result<SecureBytes> Open(const X25519KeyPair& recipient, ByteView sealed);
};

}  // namespace vellum::crypto

#endif  // VELLUM_CRYPTO_SEALED_BOX_H_
