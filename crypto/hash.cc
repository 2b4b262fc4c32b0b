// Copyright (c) Vellum authors.

#include "crypto/hash.h"

#include <openssl/evp.h>

#include "vellum/check.h"

namespace vellum::crypto {

struct Sha256Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256Hasher::Sha256Hasher() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  VELLUM_CHECK_MSG(impl_->ctx != nullptr, "EVP_MD_CTX_new failed (out of memory)");
  VELLUM_CHECK(EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) == 1);
}

Sha256Hasher::~Sha256Hasher() = default;

Sha256Hasher& Sha256Hasher::Update(ByteView data) {
  VELLUM_CHECK(EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) == 1);
  return *this;
}

Hash256 Sha256Hasher::Finish() {
  Hash256 out;
  unsigned int len = 0;
  VELLUM_CHECK(EVP_DigestFinal_ex(impl_->ctx, out.data(), &len) == 1);
  VELLUM_CHECK_EQ(len, out.size());
  VELLUM_CHECK(EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) == 1);
  return out;
}

Hash256 Sha256(ByteView data) {
  Hash256 out;
  unsigned int len = 0;
  VELLUM_CHECK(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) == 1);
  VELLUM_CHECK_EQ(len, out.size());
  return out;
}

}  // namespace vellum::crypto
