// Copyright (c) Vellum authors.

#include "crypto/aead.h"

#include <sodium.h>

#include <string>

#include "crypto/sodium_init.h"
#include "vellum/check.h"

namespace vellum::crypto {
namespace {

static_assert(XChaCha20Poly1305::kKeySize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(XChaCha20Poly1305::kNonceSize == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(XChaCha20Poly1305::kTagSize == crypto_aead_xchacha20poly1305_ietf_ABYTES);

Status CheckKey(const SecureBytes& key) {
  if (key.size() != XChaCha20Poly1305::kKeySize) {
    return Status::InvalidArgument("XChaCha20-Poly1305 key must be " +
                                   std::to_string(XChaCha20Poly1305::kKeySize) + " bytes, got " +
                                   std::to_string(key.size()));
  }
  return Status::OK();
}

Status CheckPlaintextSize(size_t size) {
  if (size > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX) {
    return Status::InvalidArgument(
        "XChaCha20-Poly1305 plaintext too long: " + std::to_string(size) + " bytes");
  }
  return Status::OK();
}

// Encrypts into `out` (room for plaintext.size() + kTagSize bytes).
void EncryptInto(const SecureBytes& key, const uint8_t* nonce, ByteView plaintext, ByteView ad,
                 uint8_t* out) {
  unsigned long long out_len = 0;  // NOLINT(runtime/int): libsodium's type
  const int rc =
      crypto_aead_xchacha20poly1305_ietf_encrypt(out, &out_len, plaintext.data(), plaintext.size(),
                                                 ad.data(), ad.size(), nullptr, nonce, key.data());
  VELLUM_CHECK_MSG(rc == 0, "crypto_aead_xchacha20poly1305_ietf_encrypt failed");
  VELLUM_CHECK_EQ(out_len, plaintext.size() + XChaCha20Poly1305::kTagSize);
}

// Decrypts `ciphertext_and_tag` (at least kTagSize bytes; the caller checks).
Result<Bytes> DecryptChecked(const SecureBytes& key, const uint8_t* nonce,
                             ByteView ciphertext_and_tag, ByteView ad) {
  Bytes plaintext(ciphertext_and_tag.size() - XChaCha20Poly1305::kTagSize);
  // libsodium wants somewhere to write even for an empty plaintext.
  uint8_t empty = 0;
  uint8_t* out = plaintext.empty() ? &empty : plaintext.data();
  unsigned long long out_len = 0;  // NOLINT(runtime/int): libsodium's type
  const int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      out, &out_len, nullptr, ciphertext_and_tag.data(), ciphertext_and_tag.size(), ad.data(),
      ad.size(), nonce, key.data());
  if (rc != 0) {
    return Status::Corruption(
        "XChaCha20-Poly1305 authentication failed: wrong key, changed associated data, or "
        "changed ciphertext");
  }
  VELLUM_CHECK_EQ(out_len, plaintext.size());
  return plaintext;
}

}  // namespace

SecureBytes XChaCha20Poly1305::GenerateKey(RandomSource& random) {
  SecureBytes key(kKeySize);
  random.Fill(key.span());
  return key;
}

Result<Bytes> XChaCha20Poly1305::Seal(const SecureBytes& key, ByteView plaintext, ByteView ad,
                                      RandomSource& random) {
  VELLUM_RETURN_IF_ERROR(CheckKey(key));
  VELLUM_RETURN_IF_ERROR(CheckPlaintextSize(plaintext.size()));
  EnsureSodium();
  Bytes sealed(kNonceSize + plaintext.size() + kTagSize);
  random.Fill(std::span<uint8_t>(sealed.data(), kNonceSize));
  EncryptInto(key, sealed.data(), plaintext, ad, sealed.data() + kNonceSize);
  return sealed;
}

Result<Bytes> XChaCha20Poly1305::Open(const SecureBytes& key, ByteView sealed, ByteView ad) {
  VELLUM_RETURN_IF_ERROR(CheckKey(key));
  if (sealed.size() < kOverhead) {
    return Status::Corruption(
        "sealed XChaCha20-Poly1305 message too short: " + std::to_string(sealed.size()) +
        " bytes, need at least " + std::to_string(kOverhead));
  }
  EnsureSodium();
  return DecryptChecked(key, sealed.data(), sealed.subspan(kNonceSize), ad);
}

Result<Bytes> XChaCha20Poly1305::Encrypt(const SecureBytes& key, const Nonce& nonce,
                                         ByteView plaintext, ByteView ad) {
  VELLUM_RETURN_IF_ERROR(CheckKey(key));
  VELLUM_RETURN_IF_ERROR(CheckPlaintextSize(plaintext.size()));
  EnsureSodium();
  Bytes out(plaintext.size() + kTagSize);
  EncryptInto(key, nonce.data(), plaintext, ad, out.data());
  return out;
}

Result<Bytes> XChaCha20Poly1305::Decrypt(const SecureBytes& key, const Nonce& nonce,
                                         ByteView ciphertext_and_tag, ByteView ad) {
  VELLUM_RETURN_IF_ERROR(CheckKey(key));
  if (ciphertext_and_tag.size() < kTagSize) {
    return Status::Corruption(
        "XChaCha20-Poly1305 ciphertext too short: " + std::to_string(ciphertext_and_tag.size()) +
        " bytes, need at least " + std::to_string(kTagSize));
  }
  EnsureSodium();
  return DecryptChecked(key, nonce.data(), ciphertext_and_tag, ad);
}

}  // namespace vellum::crypto
