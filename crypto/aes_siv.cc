// Copyright (c) Vellum authors.
//
// AES-SIV through OpenSSL 3's "AES-128-SIV" / "AES-256-SIV" ciphers. OpenSSL keeps
// the synthetic IV out of band (as the AEAD tag); we lay it out as RFC 5297 does,
// in front of the ciphertext. Each associated-data component is one AAD update, in
// order, which is how OpenSSL maps RFC 5297's vector of strings.
//
// OpenSSL 3.0 cannot process an empty plaintext (its SIV code finalises S2V only
// when it encrypts or decrypts at least one byte: openssl/openssl#17268), so that
// one case computes S2V here from AES-CMAC. With no plaintext there is nothing to
// encrypt: the output is the synthetic IV alone.

#include "crypto/aes_siv.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <climits>
#include <cstring>
#include <memory>
#include <string>

#include "vellum/check.h"

namespace vellum::crypto {
namespace {

constexpr size_t kAes128SivKeySize = 32;
constexpr size_t kAes256SivKeySize = 64;
constexpr size_t kMaxAdComponents = 126;   // RFC 5297 section 3: S2V takes at most 127 strings
constexpr size_t kMaxEvpLength = INT_MAX;  // EVP_*Update take int lengths
constexpr size_t kBlockSize = 16;

using Block = std::array<uint8_t, kBlockSize>;

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

// A 16-byte stack block derived from the key, wiped when it goes out of scope.
struct SecretBlock {
  Block bytes{};
  SecretBlock() = default;
  SecretBlock(const SecretBlock&) = delete;
  SecretBlock& operator=(const SecretBlock&) = delete;
  ~SecretBlock() { SecureWipe(bytes.data(), bytes.size()); }
};

// Fetched once and kept for the life of the process. Null when the loaded providers
// have no AES-SIV (it is not in the FIPS provider, for one).
const EVP_CIPHER* SivCipher(size_t key_size) {
  static EVP_CIPHER* const aes128_siv = EVP_CIPHER_fetch(nullptr, "AES-128-SIV", nullptr);
  static EVP_CIPHER* const aes256_siv = EVP_CIPHER_fetch(nullptr, "AES-256-SIV", nullptr);
  return key_size == kAes128SivKeySize ? aes128_siv : aes256_siv;
}

EVP_MAC* CmacAlgorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_CMAC, nullptr);
  VELLUM_CHECK_MSG(mac != nullptr, "OpenSSL provides no CMAC");
  return mac;
}

// OpenSSL reads a null input pointer as "finalise" in its SIV code, even with a zero
// length: an empty component must still be passed as a valid pointer.
const uint8_t* NonNull(ByteView bytes) {
  static const uint8_t kEmpty = 0;
  return bytes.empty() ? &kEmpty : bytes.data();
}

// AES-CMAC (RFC 4493) of `data` under a 16- or 32-byte AES key.
void Cmac(ByteView key, ByteView data, Block& out) {
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_new(CmacAlgorithm()));
  VELLUM_CHECK_MSG(ctx != nullptr, "EVP_MAC_CTX_new failed (out of memory)");
  char aes128_cbc[] = "AES-128-CBC";
  char aes256_cbc[] = "AES-256-CBC";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
                                       key.size() == 16 ? aes128_cbc : aes256_cbc, 0),
      OSSL_PARAM_construct_end(),
  };
  VELLUM_CHECK(EVP_MAC_init(ctx.get(), key.data(), key.size(), params) == 1);
  VELLUM_CHECK(EVP_MAC_update(ctx.get(), NonNull(data), data.size()) == 1);
  size_t len = 0;
  VELLUM_CHECK(EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1);
  VELLUM_CHECK_EQ(len, out.size());
}

// dbl() of RFC 5297 section 2.3: multiplication by x in GF(2^128), constant time.
void Double(Block& b) {
  const uint8_t carry = static_cast<uint8_t>(b[0] >> 7);
  for (size_t i = 0; i + 1 < b.size(); ++i) {
    b[i] = static_cast<uint8_t>((b[i] << 1) | (b[i + 1] >> 7));
  }
  b[b.size() - 1] =
      static_cast<uint8_t>((b[b.size() - 1] << 1) ^ (0x87 & (0 - static_cast<unsigned>(carry))));
}

// S2V(K1, AD_1, ..., AD_n, "") of RFC 5297 section 2.4: the synthetic IV of an
// empty plaintext.
Block S2vOfEmptyPlaintext(ByteView mac_key, std::span<const ByteView> ad) {
  SecretBlock d;
  SecretBlock mac;
  const Block zero{};
  Cmac(mac_key, zero, d.bytes);
  for (ByteView component : ad) {
    Double(d.bytes);
    Cmac(mac_key, component, mac.bytes);
    for (size_t i = 0; i < kBlockSize; ++i) d.bytes[i] ^= mac.bytes[i];
  }
  // The last string (the plaintext) is shorter than a block: T = dbl(D) xor pad(""),
  // where pad("") is a single 1 bit followed by zeros.
  Double(d.bytes);
  d.bytes[0] ^= 0x80;
  Block v;
  Cmac(mac_key, d.bytes, v);
  return v;
}

Status CheckSizes(size_t message_size, std::span<const ByteView> ad) {
  if (ad.size() > kMaxAdComponents) {
    return Status::InvalidArgument("AES-SIV takes at most " + std::to_string(kMaxAdComponents) +
                                   " associated-data components, got " + std::to_string(ad.size()));
  }
  if (message_size > kMaxEvpLength) {
    return Status::InvalidArgument("AES-SIV message of " + std::to_string(message_size) +
                                   " bytes is too large");
  }
  for (ByteView component : ad) {
    if (component.size() > kMaxEvpLength) {
      return Status::InvalidArgument("AES-SIV associated-data component of " +
                                     std::to_string(component.size()) + " bytes is too large");
    }
  }
  return Status::OK();
}

Status AuthenticationFailed() {
  return Status::Corruption(
      "AES-SIV authentication failed: wrong key, altered ciphertext or associated data");
}

}  // namespace

Result<AesSiv> AesSiv::Create(const SecureBytes& key) {
  if (key.size() != kAes128SivKeySize && key.size() != kAes256SivKeySize) {
    return Status::InvalidArgument(
        "AES-SIV key must be 32 bytes (AES-128-SIV) or 64 bytes "
        "(AES-256-SIV), got " +
        std::to_string(key.size()));
  }
  if (SivCipher(key.size()) == nullptr) {
    ERR_clear_error();
    return Status::NotSupported("AES-SIV is not available from the loaded OpenSSL providers");
  }
  return AesSiv(key.Clone());
}

Result<Bytes> AesSiv::Seal(ByteView plaintext, std::span<const ByteView> ad) const {
  VELLUM_CHECK_MSG(key_.size() == kAes128SivKeySize || key_.size() == kAes256SivKeySize,
                   "AesSiv used after being moved from");
  VELLUM_RETURN_IF_ERROR(CheckSizes(plaintext.size(), ad));
  Bytes out(kTagSize + plaintext.size());
  if (plaintext.empty()) {
    const Block v = S2vOfEmptyPlaintext(key_.view().first(key_.size() / 2), ad);
    std::memcpy(out.data(), v.data(), v.size());
    return out;
  }

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  VELLUM_CHECK_MSG(ctx != nullptr, "EVP_CIPHER_CTX_new failed (out of memory)");
  VELLUM_CHECK(
      EVP_EncryptInit_ex2(ctx.get(), SivCipher(key_.size()), key_.data(), nullptr, nullptr) == 1);
  int len = 0;
  for (ByteView component : ad) {
    VELLUM_CHECK(EVP_EncryptUpdate(ctx.get(), nullptr, &len, NonNull(component),
                                   static_cast<int>(component.size())) == 1);
  }
  VELLUM_CHECK(EVP_EncryptUpdate(ctx.get(), out.data() + kTagSize, &len, plaintext.data(),
                                 static_cast<int>(plaintext.size())) == 1);
  VELLUM_CHECK_EQ(static_cast<size_t>(len), plaintext.size());
  VELLUM_CHECK(EVP_EncryptFinal_ex(ctx.get(), out.data() + kTagSize, &len) == 1);
  VELLUM_CHECK_EQ(len, 0);
  VELLUM_CHECK(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize),
                                   out.data()) == 1);
  return out;
}

Result<Bytes> AesSiv::Open(ByteView ciphertext, std::span<const ByteView> ad) const {
  VELLUM_CHECK_MSG(key_.size() == kAes128SivKeySize || key_.size() == kAes256SivKeySize,
                   "AesSiv used after being moved from");
  if (ciphertext.size() < kTagSize) {
    return Status::Corruption("AES-SIV ciphertext of " + std::to_string(ciphertext.size()) +
                              " bytes is shorter than its " + std::to_string(kTagSize) +
                              "-byte tag");
  }
  const ByteView tag = ciphertext.first(kTagSize);
  const ByteView body = ciphertext.subspan(kTagSize);
  VELLUM_RETURN_IF_ERROR(CheckSizes(body.size(), ad));
  if (body.empty()) {
    const Block v = S2vOfEmptyPlaintext(key_.view().first(key_.size() / 2), ad);
    if (!ConstantTimeEquals(v, tag)) return AuthenticationFailed();
    return Bytes();
  }

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  VELLUM_CHECK_MSG(ctx != nullptr, "EVP_CIPHER_CTX_new failed (out of memory)");
  VELLUM_CHECK(
      EVP_DecryptInit_ex2(ctx.get(), SivCipher(key_.size()), key_.data(), nullptr, nullptr) == 1);
  // The expected synthetic IV goes in first: it is also the CTR starting value.
  VELLUM_CHECK(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagSize),
                                   const_cast<uint8_t*>(tag.data())) == 1);
  int len = 0;
  for (ByteView component : ad) {
    VELLUM_CHECK(EVP_DecryptUpdate(ctx.get(), nullptr, &len, NonNull(component),
                                   static_cast<int>(component.size())) == 1);
  }
  Bytes plaintext(body.size());
  if (EVP_DecryptUpdate(ctx.get(), plaintext.data(), &len, body.data(),
                        static_cast<int>(body.size())) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), plaintext.data(), &len) != 1) {
    ERR_clear_error();
    return AuthenticationFailed();
  }
  return plaintext;
}

}  // namespace vellum::crypto
