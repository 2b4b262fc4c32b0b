// Copyright (c) Vellum authors.
//
// HKDF-SHA-256 (RFC 5869) through OpenSSL's EVP_KDF, and the key hierarchy built on
// it: every key Vellum uses is derived from one master secret with a label that says
// what the key is for, so that no two purposes ever share a key.
//
// Thread safety: all functions are thread-safe.

#ifndef VELLUM_CRYPTO_HKDF_H_
#define VELLUM_CRYPTO_HKDF_H_

#include <string_view>

#include "base/bytes.h"
#include "crypto/secure_bytes.h"

namespace vellum::crypto {

// RFC 5869 extract-then-expand. `length` must be in [1, 255 * 32]
// (InvalidArgument otherwise). An empty salt means a salt of 32 zero bytes. OpenSSL
// caps `info` (32 KiB in 3.0.x; 1 KiB in early 3.0 releases): a longer one is
// InvalidArgument.
Result<SecureBytes> HkdfSha256(ByteView ikm, ByteView salt, ByteView info, size_t length);

// Derives a subkey of `length` bytes for `label` (e.g. "table/accounts/siv") from a
// master secret: HKDF-SHA-256 with salt "vellum-kdf-v1" and info = label. The master
// secret must be at least 32 bytes (InvalidArgument otherwise).
Result<SecureBytes> DeriveKey(const SecureBytes& master_secret, std::string_view label,
                              size_t length);

}  // namespace vellum::crypto

#endif  // VELLUM_CRYPTO_HKDF_H_
