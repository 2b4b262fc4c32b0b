// Copyright (c) Vellum authors.

#include "crypto/sealed_box.h"

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

TEST(SealedBoxTest, RoundTrip) {
  const X25519KeyPair recipient = X25519KeyPair::Generate(SystemRandom());
  const Bytes plaintext = ToBytes("share 2 of 3 for entry key 17");
  Result<Bytes> sealed = SealedBox::Seal(recipient.public_key(), plaintext);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->size(), plaintext.size() + SealedBox::kOverhead);

  Result<SecureBytes> opened = SealedBox::Open(recipient, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(HexEncode(opened->view()), HexEncode(plaintext));
}

TEST(SealedBoxTest, EachSealUsesAFreshEphemeralKey) {
  const X25519KeyPair recipient = X25519KeyPair::Generate(SystemRandom());
  const Bytes plaintext = ToBytes("same plaintext");
  Result<Bytes> first = SealedBox::Seal(recipient.public_key(), plaintext);
  Result<Bytes> second = SealedBox::Seal(recipient.public_key(), plaintext);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*first, *second);
  // The ephemeral public keys (the first 32 bytes) differ.
  EXPECT_FALSE(ConstantTimeEquals(ByteView(*first).first(32), ByteView(*second).first(32)));
  EXPECT_TRUE(SealedBox::Open(recipient, *first).ok());
  EXPECT_TRUE(SealedBox::Open(recipient, *second).ok());
}

TEST(SealedBoxTest, OnlyTheRecipientCanOpen) {
  const X25519KeyPair recipient = X25519KeyPair::Generate(SystemRandom());
  const X25519KeyPair other = X25519KeyPair::Generate(SystemRandom());
  Result<Bytes> sealed = SealedBox::Seal(recipient.public_key(), ToBytes("for recipient"));
  ASSERT_TRUE(sealed.ok());
  Result<SecureBytes> opened = SealedBox::Open(other, *sealed);
  EXPECT_TRUE(opened.status().IsCorruption()) << opened.status().ToString();
  EXPECT_TRUE(SealedBox::Open(recipient, *sealed).ok());
}

TEST(SealedBoxTest, EveryBitFlipIsRejected) {
  const X25519KeyPair recipient = X25519KeyPair::Generate(SystemRandom());
  Result<Bytes> sealed = SealedBox::Seal(recipient.public_key(), ToBytes("a Shamir share"));
  ASSERT_TRUE(sealed.ok());
  // Covers the ephemeral public key, the ciphertext and the tag.
  for (size_t byte = 0; byte < sealed->size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes tampered = *sealed;
      tampered[byte] ^= static_cast<uint8_t>(1u << bit);
      Result<SecureBytes> opened = SealedBox::Open(recipient, tampered);
      ASSERT_TRUE(opened.status().IsCorruption())
          << "byte " << byte << " bit " << bit << ": " << opened.status().ToString();
    }
  }
  EXPECT_TRUE(SealedBox::Open(recipient, *sealed).ok());
}

TEST(SealedBoxTest, TruncatedOrExtendedIsRejected) {
  const X25519KeyPair recipient = X25519KeyPair::Generate(SystemRandom());
  Result<Bytes> sealed = SealedBox::Seal(recipient.public_key(), ToBytes("0123456789"));
  ASSERT_TRUE(sealed.ok());
  for (size_t length = 0; length < sealed->size(); ++length) {
    ASSERT_TRUE(SealedBox::Open(recipient, ByteView(*sealed).first(length)).status().IsCorruption())
        << "length " << length;
    ASSERT_TRUE(SealedBox::Open(recipient, ByteView(*sealed).last(length)).status().IsCorruption())
        << "suffix length " << length;
  }
  Bytes extended = *sealed;
  extended.push_back(0);
  EXPECT_TRUE(SealedBox::Open(recipient, extended).status().IsCorruption());
}

TEST(SealedBoxTest, LowOrderEphemeralKeyIsCorruption) {
  const X25519KeyPair recipient = X25519KeyPair::Generate(SystemRandom());
  Result<Bytes> sealed = SealedBox::Seal(recipient.public_key(), ToBytes("payload"));
  ASSERT_TRUE(sealed.ok());
  Bytes zeroed = *sealed;
  std::fill(zeroed.begin(), zeroed.begin() + 32, 0);
  EXPECT_TRUE(SealedBox::Open(recipient, zeroed).status().IsCorruption());
}

TEST(SealedBoxTest, EmptyPlaintext) {
  const X25519KeyPair recipient = X25519KeyPair::Generate(SystemRandom());
  Result<Bytes> sealed = SealedBox::Seal(recipient.public_key(), {});
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->size(), SealedBox::kOverhead);
  Result<SecureBytes> opened = SealedBox::Open(recipient, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(opened->empty());
  // Still authenticated.
  Bytes tampered = *sealed;
  tampered.back() ^= 1;
  EXPECT_TRUE(SealedBox::Open(recipient, tampered).status().IsCorruption());
}

TEST(SealedBoxTest, SealToLowOrderPublicKeyIsInvalidArgument) {
  const X25519PublicKey zero{};
  Result<Bytes> sealed = SealedBox::Seal(zero, ToBytes("payload"));
  EXPECT_TRUE(sealed.status().IsInvalidArgument()) << sealed.status().ToString();

  // u = 1 is a point of order 4.
  X25519PublicKey one{};
  one[0] = 1;
  EXPECT_TRUE(SealedBox::Seal(one, ToBytes("payload")).status().IsInvalidArgument());
  EXPECT_TRUE(SealedBox::Seal(zero, {}).status().IsInvalidArgument());
}

TEST(SealedBoxTest, FromSecretKeyReproducesThePublicKey) {
  const X25519KeyPair generated = X25519KeyPair::Generate(SystemRandom());
  Result<X25519KeyPair> restored = X25519KeyPair::FromSecretKey(generated.secret_key());
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->public_key(), generated.public_key());
  EXPECT_TRUE(restored->secret_key() == generated.secret_key());

  // The restored pair opens boxes sealed to the original public key.
  Result<Bytes> sealed = SealedBox::Seal(generated.public_key(), ToBytes("stored key"));
  ASSERT_TRUE(sealed.ok());
  Result<SecureBytes> opened = SealedBox::Open(*restored, *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(AsChars(opened->view()), "stored key");
}

TEST(SealedBoxTest, Rfc7748PublicKeys) {
  // RFC 7748, section 6.1: X25519(a, 9) for Alice's and Bob's private keys.
  struct {
    std::string_view secret;
    std::string_view expected_public;
  } const kVectors[] = {
      {"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
       "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"},
      {"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
       "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"},
  };
  for (const auto& v : kVectors) {
    Result<X25519KeyPair> key_pair =
        X25519KeyPair::FromSecretKey(SecureBytes::CopyFrom(HexBytes(v.secret)));
    ASSERT_TRUE(key_pair.ok());
    EXPECT_EQ(HexEncode(key_pair->public_key()), v.expected_public);
    EXPECT_EQ(HexEncode(key_pair->secret_key().view()), v.secret);
  }
}

TEST(SealedBoxTest, Rfc7748SharedSecret) {
  // RFC 7748, section 6.1: both sides compute the same shared secret K.
  Result<X25519KeyPair> alice = X25519KeyPair::FromSecretKey(SecureBytes::CopyFrom(
      HexBytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")));
  Result<X25519KeyPair> bob = X25519KeyPair::FromSecretKey(SecureBytes::CopyFrom(
      HexBytes("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")));
  ASSERT_TRUE(alice.ok() && bob.ok());
  const std::string_view k = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  Result<SecureBytes> from_alice = X25519SharedSecret(*alice, bob->public_key());
  Result<SecureBytes> from_bob = X25519SharedSecret(*bob, alice->public_key());
  ASSERT_TRUE(from_alice.ok() && from_bob.ok());
  EXPECT_EQ(HexEncode(from_alice->view()), k);
  EXPECT_EQ(HexEncode(from_bob->view()), k);
  // A low-order peer (u = 0, u = 1) gives the all-zero secret: refused.
  X25519PublicKey low{};
  EXPECT_TRUE(X25519SharedSecret(*alice, low).status().IsInvalidArgument());
  low[0] = 1;
  EXPECT_TRUE(X25519SharedSecret(*alice, low).status().IsInvalidArgument());
}

TEST(SealedBoxTest, FromSecretKeyRejectsWrongSize) {
  for (size_t size : std::vector<size_t>{0, 1, 31, 33, 64}) {
    Result<X25519KeyPair> key_pair = X25519KeyPair::FromSecretKey(SecureBytes(size));
    ASSERT_TRUE(key_pair.status().IsInvalidArgument()) << size;
  }
}

TEST(SealedBoxTest, GenerateIsDeterministicBySeed) {
  SeededRandom random_a(7);
  SeededRandom random_b(7);
  SeededRandom random_c(8);
  const X25519KeyPair a = X25519KeyPair::Generate(random_a);
  const X25519KeyPair b = X25519KeyPair::Generate(random_b);
  const X25519KeyPair c = X25519KeyPair::Generate(random_c);
  EXPECT_EQ(a.public_key(), b.public_key());
  EXPECT_TRUE(a.secret_key() == b.secret_key());
  EXPECT_NE(a.public_key(), c.public_key());

  // The secret key is the first 32 bytes drawn from the source.
  SeededRandom random_d(7);
  Bytes drawn(X25519KeyPair::kSecretKeySize);
  random_d.Fill(drawn);
  EXPECT_EQ(HexEncode(a.secret_key().view()), HexEncode(drawn));
}

TEST(SealedBoxTest, ErrorsHoldNoPlaintext) {
  const X25519KeyPair recipient = X25519KeyPair::Generate(SystemRandom());
  const X25519KeyPair other = X25519KeyPair::Generate(SystemRandom());
  const std::string secret = "VERY-SECRET-SHARE";
  Result<Bytes> sealed = SealedBox::Seal(recipient.public_key(), AsBytes(secret));
  ASSERT_TRUE(sealed.ok());
  Result<SecureBytes> opened = SealedBox::Open(other, *sealed);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().message().find(secret), std::string::npos);
  EXPECT_EQ(opened.status().message().find(HexEncode(other.secret_key().view())),
            std::string::npos);
}

}  // namespace
}  // namespace vellum::crypto
