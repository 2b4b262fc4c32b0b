// Copyright (c) Vellum authors.

#include "crypto/hkdf.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <array>
#include <memory>
#include <string>

#include "vellum/check.h"

namespace vellum::crypto {
namespace {

constexpr size_t kHashSize = 32;                    // SHA-256
constexpr size_t kMaxOutputSize = 255 * kHashSize;  // RFC 5869 section 2.3
// Every OpenSSL 3 release accepts at least this much HKDF info (later ones more).
constexpr size_t kInfoSizeAlwaysSupported = 1024;
constexpr std::string_view kVellumSalt = "vellum-kdf-v1";
constexpr size_t kMinMasterSecretSize = 32;

struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};

// Fetched once and kept for the life of the process (fetching is a locked lookup).
EVP_KDF* HkdfAlgorithm() {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr);
  VELLUM_CHECK_MSG(kdf != nullptr, "OpenSSL provides no HKDF");
  return kdf;
}

// OSSL_PARAM wants a mutable pointer even for input-only octet strings, and treats a
// null pointer as "absent": empty inputs get a valid zero-length pointer instead.
OSSL_PARAM OctetParam(const char* name, ByteView bytes) {
  static const uint8_t kEmpty = 0;
  const uint8_t* data = bytes.empty() ? &kEmpty : bytes.data();
  return OSSL_PARAM_construct_octet_string(name, const_cast<uint8_t*>(data), bytes.size());
}

}  // namespace

Result<SecureBytes> HkdfSha256(ByteView ikm, ByteView salt, ByteView info, size_t length) {
  if (length < 1 || length > kMaxOutputSize) {
    return Status::InvalidArgument("HKDF-SHA-256 output length must be 1 to " +
                                   std::to_string(kMaxOutputSize) + " bytes, got " +
                                   std::to_string(length));
  }
  // RFC 5869 section 2.2: a missing salt is HashLen zero bytes.
  static constexpr std::array<uint8_t, kHashSize> kZeroSalt{};
  if (salt.empty()) salt = kZeroSalt;

  std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter> ctx(EVP_KDF_CTX_new(HkdfAlgorithm()));
  VELLUM_CHECK_MSG(ctx != nullptr, "EVP_KDF_CTX_new failed (out of memory)");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OctetParam(OSSL_KDF_PARAM_KEY, ikm),
      OctetParam(OSSL_KDF_PARAM_SALT, salt),
      OctetParam(OSSL_KDF_PARAM_INFO, info),
      OSSL_PARAM_construct_end(),
  };
  SecureBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    ERR_clear_error();
    // With valid parameters the only way to fail is OpenSSL's cap on the info size
    // (1 KiB in early 3.0 releases, 32 KiB later).
    VELLUM_CHECK_MSG(info.size() > kInfoSizeAlwaysSupported, "EVP_KDF_derive failed");
    return Status::InvalidArgument("HKDF info of " + std::to_string(info.size()) +
                                   " bytes is longer than OpenSSL supports");
  }
  return out;
}

Result<SecureBytes> DeriveKey(const SecureBytes& master_secret, std::string_view label,
                              size_t length) {
  if (master_secret.size() < kMinMasterSecretSize) {
    return Status::InvalidArgument("master secret must be at least " +
                                   std::to_string(kMinMasterSecretSize) + " bytes, got " +
                                   std::to_string(master_secret.size()));
  }
  return HkdfSha256(master_secret.view(), AsBytes(kVellumSalt), AsBytes(label), length);
}

}  // namespace vellum::crypto
