// Copyright (c) Vellum authors.
//
// The insides of the public key classes (include/vellum/keys.h): the secrets in
// guarded memory, for the ledger's own use.

#ifndef VELLUM_DB_KEY_IMPL_H_
#define VELLUM_DB_KEY_IMPL_H_

#include "crypto/ed25519.h"
#include "crypto/sealed_box.h"
#include "crypto/secure_bytes.h"
#include "vellum/keys.h"

namespace vellum {

struct MasterKey::Impl {
  crypto::SecureBytes secret;  // kSize bytes
};

struct HolderKey::Impl {
  crypto::X25519KeyPair key_pair;
};

struct NodeSigningKey::Impl {
  crypto::Ed25519KeyPair key_pair;
};

}  // namespace vellum

#endif  // VELLUM_DB_KEY_IMPL_H_
