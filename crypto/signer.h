// Copyright (c) Vellum authors.
//
// Signer: something that holds a private signing key and signs with it, without
// handing the key out. The in-process Ed25519Signer keeps its key in guarded memory;
// a PKCS#11/KMS signer implements the same interface with a non-extractable key.
//
// Thread safety: implementations must allow concurrent Sign calls.

#ifndef VELLUM_CRYPTO_SIGNER_H_
#define VELLUM_CRYPTO_SIGNER_H_

#include <memory>
#include <string>

#include "base/bytes.h"
#include "crypto/ed25519.h"

namespace vellum::crypto {

enum class SignatureScheme : uint8_t {
  kEd25519 = 1,
};

class Signer {
 public:
  virtual ~Signer() = default;
  virtual SignatureScheme scheme() const = 0;
  // The public key in the scheme's standard encoding (32 bytes for Ed25519).
  virtual Bytes public_key() const = 0;
  // A short description for logs and errors, e.g. "ed25519:3b6a27bc" (never key
  // material beyond a public-key prefix).
  virtual std::string description() const = 0;
  // Signs `message`. Remote signers may fail with Unavailable or PermissionDenied.
  virtual Result<Bytes> Sign(ByteView message) = 0;
};

// Verifies a signature made by any Signer of `scheme`: OK, or Corruption for a
// signature that does not verify; InvalidArgument for a public key of the wrong
// length; NotSupported for an unknown scheme.
Status VerifySignature(SignatureScheme scheme, ByteView public_key, ByteView message,
                       ByteView signature);

// A Signer over an Ed25519 key pair held in this process.
class Ed25519Signer final : public Signer {
 public:
  explicit Ed25519Signer(Ed25519KeyPair key_pair) : key_pair_(std::move(key_pair)) {}

  SignatureScheme scheme() const override { return SignatureScheme::kEd25519; }
  Bytes public_key() const override;
  std::string description() const override;
  Result<Bytes> Sign(ByteView message) override;

 private:
  const Ed25519KeyPair key_pair_;
};

}  // namespace vellum::crypto

#endif  // VELLUM_CRYPTO_SIGNER_H_
