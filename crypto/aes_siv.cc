// Copyright (c) Vellum authors.
//
// AES-SIV (RFC 5297) built from OpenSSL 3's AES-CMAC and AES-CTR:
//
//   V = S2V(K1, AD_1, ..., AD_n, P)        the synthetic IV (and tag)
//   C = AES-CTR(K2, Q, P)  with Q = V with bits 63 and 31 (from the right) cleared
//   output V || C
//
// where K1 is the first half of the key and K2 the second. We compose it ourselves
// rather than use OpenSSL's "AES-*-SIV" cipher because that cipher has to be keyed
// afresh for every message (about 3.5 us, most of the cost of a short message, and
// the ledger seals a key and a value per write), and because it cannot process an
// empty plaintext (openssl/openssl#17268). Here each AesSiv keeps a pool of keyed
// CMAC and CTR contexts: a call takes one, re-initialises it without re-keying
// (EVP_MAC_init / EVP_CipherInit_ex2 with no key keep the key schedule), and puts it
// back. CMAC(K1, <zero>), the first step of every S2V, is computed once per key.
//
// The RFC 5297 and Wycheproof vectors in tests/crypto/aes_siv_test.cc pin the
// construction.

#include "crypto/aes_siv.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <climits>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vellum/check.h"

namespace vellum::crypto {
namespace {

constexpr size_t kAes128SivKeySize = 32;
constexpr size_t kAes256SivKeySize = 64;
constexpr size_t kMaxAdComponents = 126;   // RFC 5297 section 3: S2V takes at most 127 strings
constexpr size_t kMaxEvpLength = INT_MAX;  // EVP_*Update take int lengths
constexpr size_t kBlockSize = 16;
// Idle keyed contexts kept per key; more concurrent callers allocate temporary ones.
constexpr size_t kMaxIdleContexts = 8;

using Block = std::array<uint8_t, kBlockSize>;

// A 16-byte stack block derived from the key, wiped when it goes out of scope.
struct SecretBlock {
  Block bytes{};
  SecretBlock() = default;
  SecretBlock(const SecretBlock&) = delete;
  SecretBlock& operator=(const SecretBlock&) = delete;
  ~SecretBlock() { SecureWipe(bytes.data(), bytes.size()); }
};

EVP_MAC* CmacAlgorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_CMAC, nullptr);
  VELLUM_CHECK_MSG(mac != nullptr, "OpenSSL provides no CMAC");
  return mac;
}

// Fetched once for the life of the process. Null if the loaded providers lack it.
const EVP_CIPHER* CtrCipher(size_t half_key_size) {
  static EVP_CIPHER* const aes128_ctr = EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr);
  static EVP_CIPHER* const aes256_ctr = EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
  return half_key_size == 16 ? aes128_ctr : aes256_ctr;
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

void Xor(Block& into, const uint8_t* from) {
  for (size_t i = 0; i < kBlockSize; ++i) into[i] ^= from[i];
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

// One set of keyed contexts: CMAC under K1, AES-CTR under K2.
struct AesSivContexts {
  EVP_MAC_CTX* cmac = nullptr;
  EVP_CIPHER_CTX* ctr = nullptr;
  ~AesSivContexts() {
    EVP_MAC_CTX_free(cmac);
    EVP_CIPHER_CTX_free(ctr);
  }

  // CMAC over the concatenation of `parts`.
  void Cmac(std::initializer_list<ByteView> parts, Block& out) {
    VELLUM_CHECK(EVP_MAC_init(cmac, nullptr, 0, nullptr) == 1);
    for (ByteView part : parts) {
      if (!part.empty()) VELLUM_CHECK(EVP_MAC_update(cmac, part.data(), part.size()) == 1);
    }
    size_t len = 0;
    VELLUM_CHECK(EVP_MAC_final(cmac, out.data(), &len, out.size()) == 1);
    VELLUM_CHECK_EQ(len, out.size());
  }

  // AES-CTR of `in` into `out` (same length) from counter block Q derived from `v`.
  void Ctr(const Block& v, ByteView in, uint8_t* out) {
    Block q = v;
    q[8] &= 0x7f;
    q[12] &= 0x7f;
    VELLUM_CHECK(EVP_CipherInit_ex2(ctr, nullptr, nullptr, q.data(), 1, nullptr) == 1);
    int len = 0;
    if (!in.empty()) {
      VELLUM_CHECK(EVP_CipherUpdate(ctr, out, &len, in.data(), static_cast<int>(in.size())) == 1);
      VELLUM_CHECK_EQ(static_cast<size_t>(len), in.size());
    }
  }
};

struct AesSiv::ContextPool {
  SecureBytes k1;         // S2V key (kept to key new contexts)
  SecureBytes k2;         // CTR key
  SecureBytes cmac_zero;  // CMAC(K1, 16 zero bytes)
  std::mutex mu;
  std::vector<std::unique_ptr<AesSivContexts>> idle;

  std::unique_ptr<AesSivContexts> NewContexts() const {
    auto ctx = std::make_unique<AesSivContexts>();
    ctx->cmac = EVP_MAC_CTX_new(CmacAlgorithm());
    ctx->ctr = EVP_CIPHER_CTX_new();
    VELLUM_CHECK_MSG(ctx->cmac != nullptr && ctx->ctr != nullptr, "OpenSSL context allocation");
    char aes128_cbc[] = "AES-128-CBC";
    char aes256_cbc[] = "AES-256-CBC";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
                                         k1.size() == 16 ? aes128_cbc : aes256_cbc, 0),
        OSSL_PARAM_construct_end(),
    };
    VELLUM_CHECK(EVP_MAC_init(ctx->cmac, k1.data(), k1.size(), params) == 1);
    VELLUM_CHECK(
        EVP_CipherInit_ex2(ctx->ctr, CtrCipher(k2.size()), k2.data(), nullptr, 1, nullptr) == 1);
    return ctx;
  }

  std::unique_ptr<AesSivContexts> Acquire() {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        auto ctx = std::move(idle.back());
        idle.pop_back();
        return ctx;
      }
    }
    return NewContexts();
  }

  void Release(std::unique_ptr<AesSivContexts> ctx) {
    std::lock_guard lock(mu);
    if (idle.size() < kMaxIdleContexts) idle.push_back(std::move(ctx));
  }

  // S2V(K1, AD_1, ..., AD_n, P) of RFC 5297 section 2.4.
  void S2v(AesSivContexts& ctx, std::span<const ByteView> ad, ByteView p, Block& v) {
    SecretBlock d;
    SecretBlock mac;
    std::memcpy(d.bytes.data(), cmac_zero.data(), kBlockSize);
    for (ByteView component : ad) {
      Double(d.bytes);
      ctx.Cmac({component}, mac.bytes);
      Xor(d.bytes, mac.bytes.data());
    }
    SecretBlock last;
    if (p.size() >= kBlockSize) {
      // T = P xorend D: D is xored into the last block of P.
      std::memcpy(last.bytes.data(), p.data() + p.size() - kBlockSize, kBlockSize);
      Xor(last.bytes, d.bytes.data());
      ctx.Cmac({p.first(p.size() - kBlockSize), last.bytes}, v);
    } else {
      // T = dbl(D) xor pad(P), pad(P) = P || 0x80 || zeros.
      Double(d.bytes);
      if (!p.empty()) std::memcpy(last.bytes.data(), p.data(), p.size());
      last.bytes[p.size()] = 0x80;
      Xor(last.bytes, d.bytes.data());
      ctx.Cmac({last.bytes}, v);
    }
  }
};

Result<AesSiv> AesSiv::Create(const SecureBytes& key) {
  if (key.size() != kAes128SivKeySize && key.size() != kAes256SivKeySize) {
    return Status::InvalidArgument(
        "AES-SIV key must be 32 bytes (AES-128-SIV) or 64 bytes "
        "(AES-256-SIV), got " +
        std::to_string(key.size()));
  }
  const size_t half = key.size() / 2;
  if (CtrCipher(half) == nullptr) {
    ERR_clear_error();
    return Status::NotSupported("AES-CTR is not available from the loaded OpenSSL providers");
  }
  auto pool = std::make_shared<ContextPool>();
  pool->k1 = SecureBytes::CopyFrom(key.view().first(half));
  pool->k2 = SecureBytes::CopyFrom(key.view().subspan(half));
  pool->cmac_zero = SecureBytes(kBlockSize);
  auto ctx = pool->NewContexts();
  Block zero{};
  SecretBlock cmac_zero;
  ctx->Cmac({zero}, cmac_zero.bytes);
  std::memcpy(pool->cmac_zero.data(), cmac_zero.bytes.data(), kBlockSize);
  pool->Release(std::move(ctx));
  return AesSiv(std::move(pool));
}

Result<Bytes> AesSiv::Seal(ByteView plaintext, std::span<const ByteView> ad) const {
  VELLUM_CHECK_MSG(pool_ != nullptr, "AesSiv used after being moved from");
  VELLUM_RETURN_IF_ERROR(CheckSizes(plaintext.size(), ad));
  Bytes out(kTagSize + plaintext.size());
  auto ctx = pool_->Acquire();
  Block v;
  pool_->S2v(*ctx, ad, plaintext, v);
  std::memcpy(out.data(), v.data(), kTagSize);
  ctx->Ctr(v, plaintext, out.data() + kTagSize);
  pool_->Release(std::move(ctx));
  return out;
}

Result<Bytes> AesSiv::Open(ByteView ciphertext, std::span<const ByteView> ad) const {
  VELLUM_CHECK_MSG(pool_ != nullptr, "AesSiv used after being moved from");
  if (ciphertext.size() < kTagSize) {
    return Status::Corruption("AES-SIV ciphertext of " + std::to_string(ciphertext.size()) +
                              " bytes is shorter than its " + std::to_string(kTagSize) +
                              "-byte tag");
  }
  Block tag;
  std::memcpy(tag.data(), ciphertext.data(), kTagSize);
  const ByteView body = ciphertext.subspan(kTagSize);
  VELLUM_RETURN_IF_ERROR(CheckSizes(body.size(), ad));
  Bytes plaintext(body.size());
  auto ctx = pool_->Acquire();
  ctx->Ctr(tag, body, plaintext.data());
  Block v;
  pool_->S2v(*ctx, ad, plaintext, v);
  pool_->Release(std::move(ctx));
  if (!ConstantTimeEquals(v, tag)) {
    SecureWipe(plaintext.data(), plaintext.size());
    return AuthenticationFailed();
  }
  return plaintext;
}

}  // namespace vellum::crypto
