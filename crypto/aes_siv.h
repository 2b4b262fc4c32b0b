// Copyright (c) Vellum authors.
//
// Deterministic authenticated encryption: AES-SIV (RFC 5297) through OpenSSL 3.
// The same key, plaintext and associated data always give the same ciphertext —
// which is what the reverse-lookup tables need, and which reveals equality of
// plaintexts under one key (documented leakage).
//
// Ciphertext layout (RFC 5297): the 16-byte synthetic IV (the tag) followed by the
// encrypted bytes, so a ciphertext is 16 bytes longer than its plaintext.
//
// Thread safety: an AesSiv object is immutable after Create and may be shared by
// threads.

#ifndef VELLUM_CRYPTO_AES_SIV_H_
#define VELLUM_CRYPTO_AES_SIV_H_

#include <memory>
#include <span>

#include "base/bytes.h"
#include "crypto/secure_bytes.h"

namespace vellum::crypto {

class AesSiv {
 public:
  static constexpr size_t kTagSize = 16;
  // A 32-byte key selects AES-128-SIV (RFC 5297's vectors), a 64-byte key
  // AES-256-SIV (Vellum's default). Any other size is InvalidArgument.
  static Result<AesSiv> Create(const SecureBytes& key);

  // Encrypts `plaintext` bound to the associated-data components `ad`, in order.
  // (RFC 5297 allows up to 126 components; more is InvalidArgument.)
  Result<Bytes> Seal(ByteView plaintext, std::span<const ByteView> ad = {}) const;
  // Decrypts and authenticates; a wrong key, a changed byte or different associated
  // data is Corruption. The plaintext is data, not key material, so it comes back in
  // ordinary memory (guarded allocation costs ~10 us; this is on every read path). A
  // caller decrypting key material copies it into SecureBytes and wipes the Bytes.
  Result<Bytes> Open(ByteView ciphertext, std::span<const ByteView> ad = {}) const;

 private:
  struct ContextPool;  // keyed OpenSSL contexts, reused across calls (aes_siv.cc)
  explicit AesSiv(std::shared_ptr<ContextPool> pool) : pool_(std::move(pool)) {}
  std::shared_ptr<ContextPool> pool_;  // holds the key halves and keyed contexts
};

}  // namespace vellum::crypto

#endif  // VELLUM_CRYPTO_AES_SIV_H_
