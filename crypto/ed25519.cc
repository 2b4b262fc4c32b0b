// Copyright (c) Vellum authors.

#include "crypto/ed25519.h"

#include <sodium.h>

#include <string>
#include <utility>

#include "crypto/sodium_init.h"
#include "vellum/check.h"

namespace vellum::crypto {

static_assert(Ed25519KeyPair::kSeedSize == crypto_sign_SEEDBYTES);
static_assert(std::tuple_size_v<Ed25519PublicKey> == crypto_sign_PUBLICKEYBYTES);
static_assert(std::tuple_size_v<Ed25519Signature> == crypto_sign_BYTES);

Ed25519KeyPair Ed25519KeyPair::Generate(RandomSource& random) {
  SecureBytes seed(kSeedSize);
  random.Fill(seed.span());
  Result<Ed25519KeyPair> key_pair = FromSeed(seed);
  VELLUM_CHECK_MSG(key_pair.ok(), "Ed25519 key generation from a fresh seed failed");
  return std::move(key_pair).value();
}

Result<Ed25519KeyPair> Ed25519KeyPair::FromSeed(const SecureBytes& seed) {
  if (seed.size() != kSeedSize) {
    return Status::InvalidArgument("Ed25519 seed must be " + std::to_string(kSeedSize) +
                                   " bytes, got " + std::to_string(seed.size()));
  }
  EnsureSodium();
  SecureBytes expanded(crypto_sign_SECRETKEYBYTES);
  Ed25519PublicKey public_key{};
  const int rc = crypto_sign_seed_keypair(public_key.data(), expanded.data(), seed.data());
  VELLUM_CHECK_MSG(rc == 0, "crypto_sign_seed_keypair failed");
  return Ed25519KeyPair(seed.Clone(), std::move(expanded), public_key);
}

Ed25519Signature Ed25519KeyPair::Sign(ByteView message) const {
  VELLUM_CHECK_EQ(expanded_.size(), static_cast<size_t>(crypto_sign_SECRETKEYBYTES));
  EnsureSodium();
  Ed25519Signature signature{};
  const int rc = crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(),
                                      expanded_.data());
  VELLUM_CHECK_MSG(rc == 0, "crypto_sign_detached failed");
  return signature;
}

Status Ed25519Verify(const Ed25519PublicKey& public_key, ByteView message, ByteView signature) {
  if (signature.size() != crypto_sign_BYTES) {
    return Status::Corruption("Ed25519 signature must be " + std::to_string(crypto_sign_BYTES) +
                              " bytes, got " + std::to_string(signature.size()));
  }
  EnsureSodium();
  if (crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                  public_key.data()) != 0) {
    return Status::Corruption("Ed25519 signature verification failed");
  }
  return Status::OK();
}

}  // namespace vellum::crypto
