// Copyright (c) Vellum authors.

#include "crypto/signer.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "crypto/random.h"
#include "tests/test_util.h"

namespace vellum::crypto {
namespace {

using ::vellum::testing::HexBytes;

// RFC 8032, section 7.1, TEST 2.
constexpr std::string_view kSeed =
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
constexpr std::string_view kPublicKey =
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
constexpr std::string_view kMessage = "72";
constexpr std::string_view kSignature =
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";

std::unique_ptr<Signer> Rfc8032Signer() {
  Result<Ed25519KeyPair> key_pair =
      Ed25519KeyPair::FromSeed(SecureBytes::CopyFrom(HexBytes(kSeed)));
  EXPECT_TRUE(key_pair.ok());
  return std::make_unique<Ed25519Signer>(std::move(key_pair).value());
}

TEST(SignerTest, Ed25519SignerThroughTheInterface) {
  const std::unique_ptr<Signer> signer = Rfc8032Signer();
  EXPECT_EQ(signer->scheme(), SignatureScheme::kEd25519);
  EXPECT_EQ(HexEncode(signer->public_key()), kPublicKey);

  Result<Bytes> signature = signer->Sign(HexBytes(kMessage));
  ASSERT_TRUE(signature.ok()) << signature.status().ToString();
  EXPECT_EQ(HexEncode(*signature), kSignature);

  const Status status =
      VerifySignature(signer->scheme(), signer->public_key(), HexBytes(kMessage), *signature);
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TEST(SignerTest, SignAndVerifyArbitraryMessages) {
  Ed25519Signer signer(Ed25519KeyPair::Generate(SystemRandom()));
  for (size_t length : std::vector<size_t>{0, 1, 63, 64, 65, 1000}) {
    Bytes message(length);
    SeededRandom random(length);
    random.Fill(message);
    Result<Bytes> signature = signer.Sign(message);
    ASSERT_TRUE(signature.ok());
    EXPECT_EQ(signature->size(), 64u);
    EXPECT_TRUE(
        VerifySignature(SignatureScheme::kEd25519, signer.public_key(), message, *signature).ok())
        << length;
  }
}

TEST(SignerTest, DescriptionIsSchemeAndPublicKeyPrefix) {
  const std::unique_ptr<Signer> signer = Rfc8032Signer();
  EXPECT_EQ(signer->description(), "ed25519:3d4017c3");

  Ed25519Signer generated(Ed25519KeyPair::Generate(SystemRandom()));
  const std::string description = generated.description();
  ASSERT_EQ(description.size(), std::string("ed25519:").size() + 8);
  EXPECT_EQ(description, "ed25519:" + HexEncode(generated.public_key()).substr(0, 8));
}

TEST(SignerTest, DescriptionHoldsNoSecret) {
  const std::unique_ptr<Signer> signer = Rfc8032Signer();
  EXPECT_EQ(signer->description().find(kSeed.substr(0, 8)), std::string::npos);
}

TEST(SignerTest, WrongPublicKeyLengthIsInvalidArgument) {
  const Bytes public_key = HexBytes(kPublicKey);
  const Bytes message = HexBytes(kMessage);
  const Bytes signature = HexBytes(kSignature);
  EXPECT_TRUE(
      VerifySignature(SignatureScheme::kEd25519, {}, message, signature).IsInvalidArgument());
  EXPECT_TRUE(
      VerifySignature(SignatureScheme::kEd25519, ByteView(public_key).first(31), message, signature)
          .IsInvalidArgument());
  Bytes longer = public_key;
  longer.push_back(0);
  EXPECT_TRUE(
      VerifySignature(SignatureScheme::kEd25519, longer, message, signature).IsInvalidArgument());
}

TEST(SignerTest, UnknownSchemeIsNotSupported) {
  const Bytes public_key = HexBytes(kPublicKey);
  const Bytes message = HexBytes(kMessage);
  const Bytes signature = HexBytes(kSignature);
  for (uint8_t value : std::vector<uint8_t>{0, 2, 99, 255}) {
    const auto scheme = static_cast<SignatureScheme>(value);
    const Status status = VerifySignature(scheme, public_key, message, signature);
    EXPECT_TRUE(status.IsNotSupported()) << static_cast<int>(value) << ": " << status.ToString();
  }
}

TEST(SignerTest, TamperedSignatureIsCorruption) {
  const Bytes public_key = HexBytes(kPublicKey);
  const Bytes message = HexBytes(kMessage);
  const Bytes signature = HexBytes(kSignature);
  for (size_t byte = 0; byte < signature.size(); byte += 7) {
    Bytes tampered = signature;
    tampered[byte] ^= 0x10;
    EXPECT_TRUE(
        VerifySignature(SignatureScheme::kEd25519, public_key, message, tampered).IsCorruption())
        << byte;
  }
  // A changed message, or a signature of the wrong length.
  EXPECT_TRUE(VerifySignature(SignatureScheme::kEd25519, public_key, ToBytes("s"), signature)
                  .IsCorruption());
  EXPECT_TRUE(
      VerifySignature(SignatureScheme::kEd25519, public_key, message, ByteView(signature).first(32))
          .IsCorruption());
  EXPECT_TRUE(VerifySignature(SignatureScheme::kEd25519, public_key, message, {}).IsCorruption());
}

TEST(SignerTest, ConcurrentSignProducesValidSignatures) {
  Ed25519Signer signer(Ed25519KeyPair::Generate(SystemRandom()));
  Signer& shared = signer;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::vector<Bytes>> signatures(kThreads);
  std::vector<int> all_ok(kThreads, 0);  // not vector<bool>: written concurrently
  auto message_for = [](int thread, int i) {
    return ToBytes("thread " + std::to_string(thread) + " message " + std::to_string(i));
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      bool ok = true;
      for (int i = 0; i < kPerThread; ++i) {
        Result<Bytes> signature = shared.Sign(message_for(t, i));
        ok = ok && signature.ok();
        if (signature.ok()) signatures[t].push_back(std::move(signature).value());
      }
      all_ok[t] = ok ? 1 : 0;
    });
  }
  for (std::thread& thread : threads) thread.join();

  const Bytes public_key = signer.public_key();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(all_ok[t]) << t;
    ASSERT_EQ(signatures[t].size(), static_cast<size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) {
      const Bytes message = message_for(t, i);
      EXPECT_TRUE(
          VerifySignature(SignatureScheme::kEd25519, public_key, message, signatures[t][i]).ok())
          << t << "/" << i;
      // Ed25519 is deterministic: the same as a signature made on one thread.
      EXPECT_EQ(signatures[t][i], *signer.Sign(message));
    }
  }
}

}  // namespace
}  // namespace vellum::crypto
