// Copyright (c) Vellum authors.

#include "crypto/ed25519.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/random.h"
#include "tests/test_util.h"

namespace vellum::crypto {
namespace {

using ::vellum::testing::HexBytes;

struct Rfc8032Vector {
  const char* name;
  std::string_view secret_key;  // the 32-byte seed
  std::string_view public_key;
  std::string_view message;
  std::string_view signature;
};

// RFC 8032, section 7.1 (Test Vectors for Ed25519).
const Rfc8032Vector kRfc8032Vectors[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    {"TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
     "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"},
};

Ed25519PublicKey ToPublicKey(ByteView bytes) {
  Ed25519PublicKey key{};
  EXPECT_EQ(bytes.size(), key.size());
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

Ed25519KeyPair KeyPairFor(const Rfc8032Vector& v) {
  Result<Ed25519KeyPair> key_pair =
      Ed25519KeyPair::FromSeed(SecureBytes::CopyFrom(HexBytes(v.secret_key)));
  EXPECT_TRUE(key_pair.ok()) << key_pair.status().ToString();
  return std::move(key_pair).value();
}

TEST(Ed25519Test, Rfc8032VectorsPublicKeyAndSignature) {
  for (const Rfc8032Vector& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    const Ed25519KeyPair key_pair = KeyPairFor(v);
    EXPECT_EQ(HexEncode(key_pair.public_key()), v.public_key);
    EXPECT_EQ(HexEncode(key_pair.seed().view()), v.secret_key);
    const Ed25519Signature signature = key_pair.Sign(HexBytes(v.message));
    EXPECT_EQ(HexEncode(signature), v.signature);
  }
}

TEST(Ed25519Test, Rfc8032VectorsVerify) {
  for (const Rfc8032Vector& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    const Status status = Ed25519Verify(ToPublicKey(HexBytes(v.public_key)), HexBytes(v.message),
                                        HexBytes(v.signature));
    EXPECT_TRUE(status.ok()) << status.ToString();
  }
}

TEST(Ed25519Test, SigningIsDeterministic) {
  const Ed25519KeyPair key_pair = Ed25519KeyPair::Generate(SystemRandom());
  const Bytes message = ToBytes("checkpoint 1234");
  EXPECT_EQ(key_pair.Sign(message), key_pair.Sign(message));
  EXPECT_NE(key_pair.Sign(message), key_pair.Sign(ToBytes("checkpoint 1235")));
  EXPECT_TRUE(Ed25519Verify(key_pair.public_key(), message, key_pair.Sign(message)).ok());
}

TEST(Ed25519Test, EveryBitFlipOfTheSignatureIsRejected) {
  for (const Rfc8032Vector& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    const Ed25519PublicKey public_key = ToPublicKey(HexBytes(v.public_key));
    const Bytes message = HexBytes(v.message);
    const Bytes signature = HexBytes(v.signature);
    for (size_t byte = 0; byte < signature.size(); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        Bytes tampered = signature;
        tampered[byte] ^= static_cast<uint8_t>(1u << bit);
        ASSERT_TRUE(Ed25519Verify(public_key, message, tampered).IsCorruption())
            << "byte " << byte << " bit " << bit;
      }
    }
  }
}

TEST(Ed25519Test, EveryBitFlipOfTheMessageIsRejected) {
  for (const Rfc8032Vector& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    const Ed25519PublicKey public_key = ToPublicKey(HexBytes(v.public_key));
    const Bytes message = HexBytes(v.message);
    const Bytes signature = HexBytes(v.signature);
    for (size_t byte = 0; byte < message.size(); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        Bytes tampered = message;
        tampered[byte] ^= static_cast<uint8_t>(1u << bit);
        ASSERT_TRUE(Ed25519Verify(public_key, tampered, signature).IsCorruption())
            << "byte " << byte << " bit " << bit;
      }
    }
    // A longer or shorter message is rejected too (TEST 1's message is empty).
    Bytes longer = message;
    longer.push_back(0);
    EXPECT_TRUE(Ed25519Verify(public_key, longer, signature).IsCorruption());
    if (!message.empty()) {
      EXPECT_TRUE(Ed25519Verify(public_key, ByteView(message).first(message.size() - 1), signature)
                      .IsCorruption());
    }
  }
}

TEST(Ed25519Test, EveryBitFlipOfThePublicKeyIsRejected) {
  for (const Rfc8032Vector& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    const Ed25519PublicKey public_key = ToPublicKey(HexBytes(v.public_key));
    const Bytes message = HexBytes(v.message);
    const Bytes signature = HexBytes(v.signature);
    for (size_t byte = 0; byte < public_key.size(); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        Ed25519PublicKey tampered = public_key;
        tampered[byte] ^= static_cast<uint8_t>(1u << bit);
        ASSERT_TRUE(Ed25519Verify(tampered, message, signature).IsCorruption())
            << "byte " << byte << " bit " << bit;
      }
    }
  }
}

TEST(Ed25519Test, AnotherKeysSignatureIsRejected) {
  const Ed25519KeyPair a = KeyPairFor(kRfc8032Vectors[1]);
  const Ed25519KeyPair b = KeyPairFor(kRfc8032Vectors[2]);
  const Bytes message = ToBytes("message");
  EXPECT_TRUE(Ed25519Verify(b.public_key(), message, a.Sign(message)).IsCorruption());
}

TEST(Ed25519Test, MalformedPublicKeysAreRejected) {
  const Ed25519KeyPair key_pair = KeyPairFor(kRfc8032Vectors[0]);
  const Bytes message = ToBytes("message");
  const Ed25519Signature signature = key_pair.Sign(message);
  // All zeros (a small-order point) and all 0xff (not a canonical encoding).
  Ed25519PublicKey zeros{};
  Ed25519PublicKey ones{};
  ones.fill(0xff);
  EXPECT_TRUE(Ed25519Verify(zeros, message, signature).IsCorruption());
  EXPECT_TRUE(Ed25519Verify(ones, message, signature).IsCorruption());
}

TEST(Ed25519Test, WrongSignatureLengthIsCorruption) {
  const Rfc8032Vector& v = kRfc8032Vectors[1];
  const Ed25519PublicKey public_key = ToPublicKey(HexBytes(v.public_key));
  const Bytes message = HexBytes(v.message);
  const Bytes signature = HexBytes(v.signature);
  EXPECT_TRUE(Ed25519Verify(public_key, message, {}).IsCorruption());
  EXPECT_TRUE(Ed25519Verify(public_key, message, ByteView(signature).first(63)).IsCorruption());
  Bytes longer = signature;
  longer.push_back(0);
  EXPECT_TRUE(Ed25519Verify(public_key, message, longer).IsCorruption());
  Bytes doubled = signature;
  doubled.insert(doubled.end(), signature.begin(), signature.end());
  EXPECT_TRUE(Ed25519Verify(public_key, message, doubled).IsCorruption());
}

TEST(Ed25519Test, FromSeedRejectsWrongSize) {
  for (size_t size : std::vector<size_t>{0, 1, 31, 33, 64}) {
    SecureBytes seed(size);
    Result<Ed25519KeyPair> key_pair = Ed25519KeyPair::FromSeed(seed);
    ASSERT_TRUE(key_pair.status().IsInvalidArgument()) << size;
    EXPECT_NE(key_pair.status().message().find("seed"), std::string::npos);
  }
}

TEST(Ed25519Test, GenerateIsDeterministicBySeed) {
  SeededRandom random_a(2024);
  SeededRandom random_b(2024);
  SeededRandom random_c(2025);
  const Ed25519KeyPair a = Ed25519KeyPair::Generate(random_a);
  const Ed25519KeyPair b = Ed25519KeyPair::Generate(random_b);
  const Ed25519KeyPair c = Ed25519KeyPair::Generate(random_c);
  EXPECT_EQ(a.public_key(), b.public_key());
  EXPECT_TRUE(a.seed() == b.seed());
  EXPECT_NE(a.public_key(), c.public_key());
  EXPECT_FALSE(a.seed() == c.seed());

  // The seed is the first 32 bytes drawn from the source.
  SeededRandom random_d(2024);
  Bytes drawn(Ed25519KeyPair::kSeedSize);
  random_d.Fill(drawn);
  EXPECT_EQ(HexEncode(a.seed().view()), HexEncode(drawn));

  // FromSeed of the stored seed gives back the same key pair.
  Result<Ed25519KeyPair> restored = Ed25519KeyPair::FromSeed(a.seed());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->public_key(), a.public_key());
  const Bytes message = ToBytes("m");
  EXPECT_EQ(restored->Sign(message), a.Sign(message));
}

TEST(Ed25519Test, GenerateFromSystemRandomGivesDistinctKeys) {
  const Ed25519KeyPair a = Ed25519KeyPair::Generate(SystemRandom());
  const Ed25519KeyPair b = Ed25519KeyPair::Generate(SystemRandom());
  EXPECT_NE(a.public_key(), b.public_key());
  EXPECT_EQ(a.seed().size(), Ed25519KeyPair::kSeedSize);
  const Bytes message = ToBytes("hello");
  EXPECT_TRUE(Ed25519Verify(a.public_key(), message, a.Sign(message)).ok());
  EXPECT_TRUE(Ed25519Verify(b.public_key(), message, a.Sign(message)).IsCorruption());
}

TEST(Ed25519Test, KeyPairSurvivesMoves) {
  Ed25519KeyPair original = KeyPairFor(kRfc8032Vectors[3]);
  Ed25519KeyPair moved = std::move(original);
  EXPECT_EQ(HexEncode(moved.Sign(HexBytes(kRfc8032Vectors[3].message))),
            kRfc8032Vectors[3].signature);
}

TEST(Ed25519Test, FailureMessageHoldsNoKeyMaterial) {
  const Rfc8032Vector& v = kRfc8032Vectors[2];
  Bytes signature = HexBytes(v.signature);
  signature[0] ^= 1;
  const Status status =
      Ed25519Verify(ToPublicKey(HexBytes(v.public_key)), HexBytes(v.message), signature);
  ASSERT_TRUE(status.IsCorruption());
  EXPECT_EQ(status.message().find(v.secret_key.substr(0, 8)), std::string::npos);
  EXPECT_EQ(status.message().find(HexEncode(signature).substr(0, 8)), std::string::npos);
}

}  // namespace
}  // namespace vellum::crypto
