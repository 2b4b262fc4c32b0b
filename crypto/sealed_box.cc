// Copyright (c) Vellum authors.

#include "crypto/sealed_box.h"

#include <sodium.h>

#include <string>
#include <utility>

#include "crypto/sodium_init.h"
#include "vellum/check.h"

namespace vellum::crypto {

static_assert(X25519KeyPair::kSecretKeySize == crypto_box_SECRETKEYBYTES);
static_assert(X25519KeyPair::kSecretKeySize == crypto_scalarmult_SCALARBYTES);
static_assert(std::tuple_size_v<X25519PublicKey> == crypto_box_PUBLICKEYBYTES);
static_assert(std::tuple_size_v<X25519PublicKey> == crypto_scalarmult_BYTES);
static_assert(SealedBox::kOverhead == crypto_box_SEALBYTES);

X25519KeyPair X25519KeyPair::Generate(RandomSource& random) {
  SecureBytes secret_key(kSecretKeySize);
  random.Fill(secret_key.span());
  Result<X25519KeyPair> key_pair = FromSecretKey(secret_key);
  VELLUM_CHECK_MSG(key_pair.ok(), "X25519 key generation from a fresh secret failed");
  return std::move(key_pair).value();
}

Result<X25519KeyPair> X25519KeyPair::FromSecretKey(const SecureBytes& secret_key) {
  if (secret_key.size() != kSecretKeySize) {
    return Status::InvalidArgument("X25519 secret key must be " + std::to_string(kSecretKeySize) +
                                   " bytes, got " + std::to_string(secret_key.size()));
  }
  EnsureSodium();
  X25519PublicKey public_key{};
  // The scalar is clamped inside, so the product is never the identity.
  const int rc = crypto_scalarmult_base(public_key.data(), secret_key.data());
  VELLUM_CHECK_MSG(rc == 0, "crypto_scalarmult_base failed");
  return X25519KeyPair(secret_key.Clone(), public_key);
}

Result<SecureBytes> X25519SharedSecret(const X25519KeyPair& own, const X25519PublicKey& peer) {
  VELLUM_CHECK_EQ(own.secret_key().size(), X25519KeyPair::kSecretKeySize);
  EnsureSodium();
  SecureBytes shared(crypto_scalarmult_BYTES);
  // crypto_scalarmult fails exactly when the result is all zeros (a low-order peer).
  if (crypto_scalarmult(shared.data(), own.secret_key().data(), peer.data()) != 0) {
    return Status::InvalidArgument("X25519: the peer public key is a low-order point");
  }
  return shared;
}

Result<Bytes> SealedBox::Seal(const X25519PublicKey& recipient, ByteView plaintext) {
  if (plaintext.size() > crypto_box_MESSAGEBYTES_MAX - kOverhead) {
    return Status::InvalidArgument(
        "sealed box plaintext too long: " + std::to_string(plaintext.size()) + " bytes");
  }
  EnsureSodium();
  Bytes sealed(plaintext.size() + kOverhead);
  // crypto_box_seal draws the ephemeral key pair from libsodium's CSPRNG; it fails
  // only when the shared secret is all zeros, i.e. `recipient` is a low-order point.
  if (crypto_box_seal(sealed.data(), plaintext.data(), plaintext.size(), recipient.data()) != 0) {
    return Status::InvalidArgument(
        "cannot seal to this X25519 public key: it is a low-order point");
  }
  return sealed;
}

Result<SecureBytes> SealedBox::Open(const X25519KeyPair& recipient, ByteView sealed) {
  if (sealed.size() < kOverhead) {
    return Status::Corruption("sealed box too short: " + std::to_string(sealed.size()) +
                              " bytes, need at least " + std::to_string(kOverhead));
  }
  VELLUM_CHECK_EQ(recipient.secret_key().size(), X25519KeyPair::kSecretKeySize);
  EnsureSodium();
  SecureBytes plaintext(sealed.size() - kOverhead);
  // libsodium wants somewhere to write even for an empty plaintext.
  uint8_t empty = 0;
  uint8_t* out = plaintext.empty() ? &empty : plaintext.data();
  if (crypto_box_seal_open(out, sealed.data(), sealed.size(), recipient.public_key().data(),
                           recipient.secret_key().data()) != 0) {
    return Status::Corruption(
        "sealed box failed to open: sealed to another key, or its bytes were changed");
  }
  return plaintext;
}

}  // namespace vellum::crypto
