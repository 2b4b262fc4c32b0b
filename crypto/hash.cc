// Copyright (c) Vellum authors.

#include "crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include <memory>
#include <string>

#include "crypto/sodium_init.h"
#include "vellum/check.h"

namespace vellum::crypto {

namespace {

// OpenSSL 3 looks an algorithm up in its provider tables (under a lock) every time
// EVP_sha256() is passed to an Init call; fetching it once and reusing contexts keeps
// short hashes — the trie hashes millions of 65-byte messages — free of that cost.
const EVP_MD* FetchedSha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  VELLUM_CHECK_MSG(md != nullptr, "OpenSSL has no SHA-256");
  return md;
}

struct DigestCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  DigestCtx() { VELLUM_CHECK_MSG(ctx != nullptr, "EVP_MD_CTX_new failed (out of memory)"); }
  ~DigestCtx() { EVP_MD_CTX_free(ctx); }
};

}  // namespace

struct Sha256Hasher::Impl {
  DigestCtx digest;
};

Sha256Hasher::Sha256Hasher() : impl_(std::make_unique<Impl>()) {
  VELLUM_CHECK(EVP_DigestInit_ex2(impl_->digest.ctx, FetchedSha256(), nullptr) == 1);
}

Sha256Hasher::~Sha256Hasher() = default;

Sha256Hasher& Sha256Hasher::Update(ByteView data) {
  VELLUM_CHECK(EVP_DigestUpdate(impl_->digest.ctx, data.data(), data.size()) == 1);
  return *this;
}

Hash256 Sha256Hasher::Finish() {
  Hash256 out;
  unsigned int len = 0;
  VELLUM_CHECK(EVP_DigestFinal_ex(impl_->digest.ctx, out.data(), &len) == 1);
  VELLUM_CHECK_EQ(len, out.size());
  VELLUM_CHECK(EVP_DigestInit_ex2(impl_->digest.ctx, FetchedSha256(), nullptr) == 1);
  return out;
}

Hash256 Sha256(ByteView data) {
  // One context per thread, reused: creating and freeing one per call costs more than
  // hashing a short message.
  thread_local DigestCtx digest;
  Hash256 out;
  unsigned int len = 0;
  VELLUM_CHECK(EVP_DigestInit_ex2(digest.ctx, FetchedSha256(), nullptr) == 1);
  VELLUM_CHECK(EVP_DigestUpdate(digest.ctx, data.data(), data.size()) == 1);
  VELLUM_CHECK(EVP_DigestFinal_ex(digest.ctx, out.data(), &len) == 1);
  VELLUM_CHECK_EQ(len, out.size());
  return out;
}

Result<KeyedHasher> KeyedHasher::Create(const SecureBytes& key) {
  if (key.size() != kKeySize) {
    return Status::InvalidArgument("keyed hash key must be " + std::to_string(kKeySize) +
                                   " bytes, got " + std::to_string(key.size()));
  }
  return KeyedHasher(key.Clone());
}

Hash256 KeyedHasher::Hash(ByteView data) const {
  static_assert(kKeySize >= crypto_generichash_KEYBYTES_MIN &&
                kKeySize <= crypto_generichash_KEYBYTES_MAX);
  static_assert(std::tuple_size_v<Hash256> >= crypto_generichash_BYTES_MIN &&
                std::tuple_size_v<Hash256> <= crypto_generichash_BYTES_MAX);
  // A moved-from hasher has no key; hashing with it would silently be unkeyed.
  VELLUM_CHECK_MSG(key_.size() == kKeySize, "KeyedHasher used after being moved from");
  EnsureSodium();
  Hash256 out;
  VELLUM_CHECK(crypto_generichash(out.data(), out.size(), data.data(), data.size(), key_.data(),
                                  key_.size()) == 0);
  return out;
}

namespace {

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

// Fetched once and kept for the life of the process (fetching is a locked lookup).
EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  VELLUM_CHECK_MSG(mac != nullptr, "OpenSSL provides no HMAC");
  return mac;
}

}  // namespace

Hash256 HmacSha256(ByteView key, ByteView data) {
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_new(HmacAlgorithm()));
  VELLUM_CHECK_MSG(ctx != nullptr, "EVP_MAC_CTX_new failed (out of memory)");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  // A null key pointer means "keep the previous key" to EVP_MAC_init, so an empty
  // key must still be passed as a valid (zero-length) pointer.
  static const uint8_t kNoKey = 0;
  const uint8_t* key_data = key.empty() ? &kNoKey : key.data();
  VELLUM_CHECK(EVP_MAC_init(ctx.get(), key_data, key.size(), params) == 1);
  VELLUM_CHECK(EVP_MAC_update(ctx.get(), data.data(), data.size()) == 1);
  Hash256 out;
  size_t len = 0;
  VELLUM_CHECK(EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1);
  VELLUM_CHECK_EQ(len, out.size());
  return out;
}

}  // namespace vellum::crypto
