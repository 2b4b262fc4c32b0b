// Copyright (c) Vellum authors.

#include "crypto/signer.h"

#include <algorithm>
#include <string>

namespace vellum::crypto {

Status VerifySignature(SignatureScheme scheme, ByteView public_key, ByteView message,
                       ByteView signature) {
  switch (scheme) {
    case SignatureScheme::kEd25519: {
      Ed25519PublicKey key{};
      if (public_key.size() != key.size()) {
        return Status::InvalidArgument("Ed25519 public key must be " + std::to_string(key.size()) +
                                       " bytes, got " + std::to_string(public_key.size()));
      }
      std::copy(public_key.begin(), public_key.end(), key.begin());
      return Ed25519Verify(key, message, signature);
    }
  }
  return Status::NotSupported("unknown signature scheme " +
                              std::to_string(static_cast<unsigned>(scheme)));
}

Bytes Ed25519Signer::public_key() const {
  const Ed25519PublicKey& key = key_pair_.public_key();
  return Bytes(key.begin(), key.end());
}

std::string Ed25519Signer::description() const {
  return "ed25519:" + HexEncode(ByteView(key_pair_.public_key()).first(4));
}

Result<Bytes> Ed25519Signer::Sign(ByteView message) {
  const Ed25519Signature signature = key_pair_.Sign(message);
  return Bytes(signature.begin(), signature.end());
}

}  // namespace vellum::crypto
