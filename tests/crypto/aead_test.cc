// Copyright (c) Vellum authors.

#include "crypto/aead.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/random.h"
#include "tests/test_util.h"

namespace vellum::crypto {
namespace {

using ::vellum::testing::HexBytes;

SecureBytes HexKey(std::string_view hex) { return SecureBytes::CopyFrom(HexBytes(hex)); }

XChaCha20Poly1305::Nonce HexNonce(std::string_view hex) {
  const Bytes bytes = HexBytes(hex);
  XChaCha20Poly1305::Nonce nonce{};
  EXPECT_EQ(bytes.size(), nonce.size());
  std::copy(bytes.begin(), bytes.end(), nonce.begin());
  return nonce;
}

Bytes Concat(ByteView a, ByteView b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// draft-irtf-cfrg-xchacha-03, Appendix A.3.1 (AEAD_XChaCha20_Poly1305 test vector).
constexpr std::string_view kDraftPlaintext =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
    "future, sunscreen would be it.";
constexpr std::string_view kDraftAad = "50515253c0c1c2c3c4c5c6c7";
constexpr std::string_view kDraftKey =
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
constexpr std::string_view kDraftNonce = "404142434445464748494a4b4c4d4e4f5051525354555657";
constexpr std::string_view kDraftCiphertext =
    "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
    "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
    "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
    "21f9664c97637da9768812f615c68b13b52e";
constexpr std::string_view kDraftTag = "c0875924c1c7987947deafd8780acf49";

TEST(XChaCha20Poly1305Test, DraftKnownAnswerEncrypt) {
  const SecureBytes key = HexKey(kDraftKey);
  const Bytes aad = HexBytes(kDraftAad);
  ASSERT_EQ(kDraftPlaintext.size(), 114u);
  Result<Bytes> out =
      XChaCha20Poly1305::Encrypt(key, HexNonce(kDraftNonce), AsBytes(kDraftPlaintext), aad);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const Bytes expected = Concat(HexBytes(kDraftCiphertext), HexBytes(kDraftTag));
  ASSERT_EQ(expected.size(), kDraftPlaintext.size() + XChaCha20Poly1305::kTagSize);
  EXPECT_EQ(HexEncode(*out), HexEncode(expected));
}

TEST(XChaCha20Poly1305Test, DraftKnownAnswerDecrypt) {
  const SecureBytes key = HexKey(kDraftKey);
  const Bytes aad = HexBytes(kDraftAad);
  const Bytes ciphertext_and_tag = Concat(HexBytes(kDraftCiphertext), HexBytes(kDraftTag));
  Result<Bytes> plaintext =
      XChaCha20Poly1305::Decrypt(key, HexNonce(kDraftNonce), ciphertext_and_tag, aad);
  ASSERT_TRUE(plaintext.ok()) << plaintext.status().ToString();
  EXPECT_EQ(AsChars(*plaintext), kDraftPlaintext);
}

TEST(XChaCha20Poly1305Test, DraftKnownAnswerOpensInSealedLayout) {
  // Seal's layout is nonce || ciphertext || tag, so the draft's vector opens with Open.
  const SecureBytes key = HexKey(kDraftKey);
  const Bytes sealed =
      Concat(Concat(HexBytes(kDraftNonce), HexBytes(kDraftCiphertext)), HexBytes(kDraftTag));
  Result<Bytes> plaintext = XChaCha20Poly1305::Open(key, sealed, HexBytes(kDraftAad));
  ASSERT_TRUE(plaintext.ok()) << plaintext.status().ToString();
  EXPECT_EQ(AsChars(*plaintext), kDraftPlaintext);
}

TEST(XChaCha20Poly1305Test, GenerateKeyDrawsFromTheRandomSource) {
  SeededRandom random_a(5);
  SeededRandom random_b(5);
  const SecureBytes key = XChaCha20Poly1305::GenerateKey(random_a);
  ASSERT_EQ(key.size(), XChaCha20Poly1305::kKeySize);
  Bytes expected(XChaCha20Poly1305::kKeySize);
  random_b.Fill(expected);
  EXPECT_EQ(HexEncode(key.view()), HexEncode(expected));

  const SecureBytes other = XChaCha20Poly1305::GenerateKey(SystemRandom());
  const SecureBytes another = XChaCha20Poly1305::GenerateKey(SystemRandom());
  EXPECT_FALSE(other == another);
}

TEST(XChaCha20Poly1305Test, SealOpenRoundTrip) {
  const SecureBytes key = XChaCha20Poly1305::GenerateKey(SystemRandom());
  const Bytes plaintext = ToBytes("entry 17: transfer 42 units from A to B");
  const Bytes ad = ToBytes("log 3, index 17");
  Result<Bytes> sealed = XChaCha20Poly1305::Seal(key, plaintext, ad, SystemRandom());
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->size(), plaintext.size() + XChaCha20Poly1305::kOverhead);

  Result<Bytes> opened = XChaCha20Poly1305::Open(key, *sealed, ad);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(HexEncode(*opened), HexEncode(plaintext));
}

TEST(XChaCha20Poly1305Test, SealUsesAFreshRandomNonce) {
  const SecureBytes key = XChaCha20Poly1305::GenerateKey(SystemRandom());
  const Bytes plaintext = ToBytes("the same plaintext");
  Result<Bytes> first = XChaCha20Poly1305::Seal(key, plaintext, {}, SystemRandom());
  Result<Bytes> second = XChaCha20Poly1305::Seal(key, plaintext, {}, SystemRandom());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*first, *second);
  const ByteView first_nonce = ByteView(*first).first(XChaCha20Poly1305::kNonceSize);
  const ByteView second_nonce = ByteView(*second).first(XChaCha20Poly1305::kNonceSize);
  EXPECT_FALSE(ConstantTimeEquals(first_nonce, second_nonce));
  // Both open to the same plaintext.
  EXPECT_EQ(HexEncode(*XChaCha20Poly1305::Open(key, *first, {})), HexEncode(plaintext));
  EXPECT_EQ(HexEncode(*XChaCha20Poly1305::Open(key, *second, {})), HexEncode(plaintext));
}

TEST(XChaCha20Poly1305Test, SealTakesTheNonceFromTheRandomSource) {
  const SecureBytes key = XChaCha20Poly1305::GenerateKey(SystemRandom());
  SeededRandom random_a(11);
  SeededRandom random_b(11);
  Result<Bytes> sealed = XChaCha20Poly1305::Seal(key, ToBytes("x"), {}, random_a);
  ASSERT_TRUE(sealed.ok());
  XChaCha20Poly1305::Nonce nonce{};
  random_b.Fill(nonce);
  EXPECT_TRUE(ConstantTimeEquals(ByteView(*sealed).first(nonce.size()), nonce));
  // Same key, same nonce source: the same sealed bytes.
  SeededRandom random_c(11);
  Result<Bytes> again = XChaCha20Poly1305::Seal(key, ToBytes("x"), {}, random_c);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*sealed, *again);
}

TEST(XChaCha20Poly1305Test, EmptyPlaintext) {
  const SecureBytes key = XChaCha20Poly1305::GenerateKey(SystemRandom());
  const Bytes ad = ToBytes("header only");
  Result<Bytes> sealed = XChaCha20Poly1305::Seal(key, {}, ad, SystemRandom());
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->size(), XChaCha20Poly1305::kOverhead);
  Result<Bytes> opened = XChaCha20Poly1305::Open(key, *sealed, ad);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(opened->empty());
  // The tag still authenticates the associated data.
  EXPECT_TRUE(
      XChaCha20Poly1305::Open(key, *sealed, ToBytes("header onlY")).status().IsCorruption());

  const XChaCha20Poly1305::Nonce nonce{};
  Result<Bytes> tag_only = XChaCha20Poly1305::Encrypt(key, nonce, {}, {});
  ASSERT_TRUE(tag_only.ok());
  EXPECT_EQ(tag_only->size(), XChaCha20Poly1305::kTagSize);
  Result<Bytes> decrypted = XChaCha20Poly1305::Decrypt(key, nonce, *tag_only, {});
  ASSERT_TRUE(decrypted.ok()) << decrypted.status().ToString();
  EXPECT_TRUE(decrypted->empty());
}

TEST(XChaCha20Poly1305Test, EveryBitFlipOfTheSealedBytesIsRejected) {
  const SecureBytes key = XChaCha20Poly1305::GenerateKey(SystemRandom());
  const Bytes plaintext = ToBytes("secret log entry payload");
  const Bytes ad = ToBytes("associated");
  Result<Bytes> sealed = XChaCha20Poly1305::Seal(key, plaintext, ad, SystemRandom());
  ASSERT_TRUE(sealed.ok());
  // Covers the nonce, the ciphertext and the tag.
  for (size_t byte = 0; byte < sealed->size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes tampered = *sealed;
      tampered[byte] ^= static_cast<uint8_t>(1u << bit);
      Result<Bytes> opened = XChaCha20Poly1305::Open(key, tampered, ad);
      ASSERT_TRUE(opened.status().IsCorruption())
          << "byte " << byte << " bit " << bit << ": " << opened.status().ToString();
    }
  }
  // The untouched bytes still open.
  EXPECT_TRUE(XChaCha20Poly1305::Open(key, *sealed, ad).ok());
}

TEST(XChaCha20Poly1305Test, EveryBitFlipOfTheRawCiphertextIsRejected) {
  const SecureBytes key = HexKey(kDraftKey);
  const Bytes aad = HexBytes(kDraftAad);
  const XChaCha20Poly1305::Nonce nonce = HexNonce(kDraftNonce);
  const Bytes ciphertext_and_tag = Concat(HexBytes(kDraftCiphertext), HexBytes(kDraftTag));
  for (size_t byte = 0; byte < ciphertext_and_tag.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes tampered = ciphertext_and_tag;
      tampered[byte] ^= static_cast<uint8_t>(1u << bit);
      ASSERT_TRUE(XChaCha20Poly1305::Decrypt(key, nonce, tampered, aad).status().IsCorruption())
          << "byte " << byte << " bit " << bit;
    }
  }
  // A flipped nonce bit is rejected too.
  for (size_t byte = 0; byte < nonce.size(); ++byte) {
    XChaCha20Poly1305::Nonce tampered = nonce;
    tampered[byte] ^= 0x01;
    EXPECT_TRUE(
        XChaCha20Poly1305::Decrypt(key, tampered, ciphertext_and_tag, aad).status().IsCorruption())
        << "nonce byte " << byte;
  }
}

TEST(XChaCha20Poly1305Test, ChangedAssociatedDataIsRejected) {
  const SecureBytes key = XChaCha20Poly1305::GenerateKey(SystemRandom());
  const Bytes plaintext = ToBytes("payload");
  const Bytes ad = ToBytes("log 3, index 17");
  Result<Bytes> sealed = XChaCha20Poly1305::Seal(key, plaintext, ad, SystemRandom());
  ASSERT_TRUE(sealed.ok());

  EXPECT_TRUE(
      XChaCha20Poly1305::Open(key, *sealed, ToBytes("log 3, index 18")).status().IsCorruption());
  EXPECT_TRUE(XChaCha20Poly1305::Open(key, *sealed, {}).status().IsCorruption());
  Bytes longer = ad;
  longer.push_back(0);
  EXPECT_TRUE(XChaCha20Poly1305::Open(key, *sealed, longer).status().IsCorruption());
  for (size_t byte = 0; byte < ad.size(); ++byte) {
    Bytes changed = ad;
    changed[byte] ^= 0x80;
    EXPECT_TRUE(XChaCha20Poly1305::Open(key, *sealed, changed).status().IsCorruption());
  }
}

TEST(XChaCha20Poly1305Test, WrongKeyIsRejected) {
  const SecureBytes key = XChaCha20Poly1305::GenerateKey(SystemRandom());
  const SecureBytes other = XChaCha20Poly1305::GenerateKey(SystemRandom());
  Result<Bytes> sealed = XChaCha20Poly1305::Seal(key, ToBytes("payload"), {}, SystemRandom());
  ASSERT_TRUE(sealed.ok());
  Result<Bytes> opened = XChaCha20Poly1305::Open(other, *sealed, {});
  ASSERT_TRUE(opened.status().IsCorruption());
  EXPECT_EQ(opened.status().message().rfind("XChaCha20-Poly1305 authentication failed: ", 0), 0u)
      << opened.status().message();

  SecureBytes one_bit_off = key.Clone();
  one_bit_off[31] ^= 0x80;
  EXPECT_TRUE(XChaCha20Poly1305::Open(one_bit_off, *sealed, {}).status().IsCorruption());
}

TEST(XChaCha20Poly1305Test, TruncatedOrExtendedInputIsRejected) {
  const SecureBytes key = XChaCha20Poly1305::GenerateKey(SystemRandom());
  const Bytes ad = ToBytes("ad");
  Result<Bytes> sealed = XChaCha20Poly1305::Seal(key, ToBytes("0123456789"), ad, SystemRandom());
  ASSERT_TRUE(sealed.ok());
  for (size_t length = 0; length < sealed->size(); ++length) {
    const ByteView prefix = ByteView(*sealed).first(length);
    ASSERT_TRUE(XChaCha20Poly1305::Open(key, prefix, ad).status().IsCorruption())
        << "length " << length;
    // Dropping bytes from the front is rejected too.
    const ByteView suffix = ByteView(*sealed).last(length);
    ASSERT_TRUE(XChaCha20Poly1305::Open(key, suffix, ad).status().IsCorruption())
        << "suffix length " << length;
  }
  Bytes extended = *sealed;
  extended.push_back(0);
  EXPECT_TRUE(XChaCha20Poly1305::Open(key, extended, ad).status().IsCorruption());

  // The raw form needs at least a tag.
  const XChaCha20Poly1305::Nonce nonce{};
  for (size_t length = 0; length < XChaCha20Poly1305::kTagSize; ++length) {
    const Bytes short_input(length, 0);
    EXPECT_TRUE(XChaCha20Poly1305::Decrypt(key, nonce, short_input, ad).status().IsCorruption())
        << "length " << length;
  }
}

TEST(XChaCha20Poly1305Test, WrongKeySizeIsInvalidArgument) {
  const Bytes plaintext = ToBytes("payload");
  const XChaCha20Poly1305::Nonce nonce{};
  for (size_t size : std::vector<size_t>{0, 1, 16, 31, 33, 64}) {
    SecureBytes key(size);
    for (size_t i = 0; i < size; ++i) key[i] = static_cast<uint8_t>(0xa0 + i);
    Result<Bytes> sealed = XChaCha20Poly1305::Seal(key, plaintext, {}, SystemRandom());
    ASSERT_TRUE(sealed.status().IsInvalidArgument()) << size;
    EXPECT_NE(sealed.status().message().find("key"), std::string::npos);
    // The message never repeats the key.
    if (size > 0) {
      EXPECT_EQ(sealed.status().message().find(HexEncode(key.view())), std::string::npos);
    }
    EXPECT_TRUE(XChaCha20Poly1305::Open(key, Bytes(64, 0), {}).status().IsInvalidArgument());
    EXPECT_TRUE(XChaCha20Poly1305::Encrypt(key, nonce, plaintext, {}).status().IsInvalidArgument());
    EXPECT_TRUE(
        XChaCha20Poly1305::Decrypt(key, nonce, Bytes(32, 0), {}).status().IsInvalidArgument());
  }
}

TEST(XChaCha20Poly1305Test, ErrorsDoNotContainThePlaintext) {
  const SecureBytes key = XChaCha20Poly1305::GenerateKey(SystemRandom());
  const std::string secret = "TOP-SECRET-PAYLOAD";
  Result<Bytes> sealed = XChaCha20Poly1305::Seal(key, AsBytes(secret), {}, SystemRandom());
  ASSERT_TRUE(sealed.ok());
  Bytes tampered = *sealed;
  tampered.back() ^= 1;
  Result<Bytes> opened = XChaCha20Poly1305::Open(key, tampered, {});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().message().find(secret), std::string::npos);
  EXPECT_EQ(opened.status().message().find(HexEncode(key.view())), std::string::npos);
}

TEST(XChaCha20Poly1305Test, LargePlaintextRoundTrip) {
  const SecureBytes key = XChaCha20Poly1305::GenerateKey(SystemRandom());
  Bytes plaintext(1 << 20);
  SeededRandom random(99);
  random.Fill(plaintext);
  Result<Bytes> sealed = XChaCha20Poly1305::Seal(key, plaintext, {}, SystemRandom());
  ASSERT_TRUE(sealed.ok());
  Result<Bytes> opened = XChaCha20Poly1305::Open(key, *sealed, {});
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(ConstantTimeEquals(*opened, plaintext));
}

}  // namespace
}  // namespace vellum::crypto
