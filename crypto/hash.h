// Copyright (c) Vellum authors.
//
// Hash functions.
//   SHA-256     FIPS 180-4, through OpenSSL. The ledger's native hash.
//   Keccak-256  the original Keccak submission with 0x01 padding, as Ethereum uses it
//               (not FIPS 202 SHA3-256, which pads with 0x06). OpenSSL 3.0 has no
//               Keccak-256, so this is our own implementation of Keccak-f[1600].
//   KeyedHash   BLAKE2b-256 keyed with a 32-byte secret (libsodium), for the
//               reverse-lookup tables: without the key, hashes of guessable keys and
//               values cannot be computed.
//   HMAC-SHA-256 RFC 2104 through OpenSSL.
//
// Thread safety: free functions are thread-safe; a hasher object is used by one
// thread at a time.

#ifndef VELLUM_CRYPTO_HASH_H_
#define VELLUM_CRYPTO_HASH_H_

#include <array>
#include <cstdint>
#include <memory>

#include "base/bytes.h"
#include "crypto/secure_bytes.h"

namespace vellum::crypto {

using Hash256 = std::array<uint8_t, 32>;

Hash256 Sha256(ByteView data);
Hash256 Keccak256(ByteView data);

// Incremental SHA-256 (an RAII wrapper over an OpenSSL digest context).
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  Sha256Hasher& Update(ByteView data);
  // Returns the digest and resets the hasher for reuse.
  Hash256 Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Incremental Keccak-256 (Ethereum's).
class Keccak256Hasher {
 public:
  Keccak256Hasher();
  Keccak256Hasher& Update(ByteView data);
  // Returns the digest and resets the hasher for reuse.
  Hash256 Finish();

 private:
  static constexpr size_t kRateBytes = 136;  // 1088-bit rate for 256-bit output
  std::array<uint64_t, 25> state_{};
  std::array<uint8_t, kRateBytes> buffer_{};
  size_t buffered_ = 0;
};

// A keyed hash (BLAKE2b with a 256-bit output).
class KeyedHasher {
 public:
  static constexpr size_t kKeySize = 32;
  // `key` must be exactly kKeySize bytes (InvalidArgument otherwise).
  static Result<KeyedHasher> Create(const SecureBytes& key);

  Hash256 Hash(ByteView data) const;

 private:
  explicit KeyedHasher(SecureBytes key) : key_(std::move(key)) {}
  SecureBytes key_;
};

Hash256 HmacSha256(ByteView key, ByteView data);

}  // namespace vellum::crypto

#endif  // VELLUM_CRYPTO_HASH_H_
