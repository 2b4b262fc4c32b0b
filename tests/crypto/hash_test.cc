// Copyright (c) Vellum authors.

#include "crypto/hash.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "crypto/secure_bytes.h"
#include "tests/test_util.h"

namespace vellum::crypto {
namespace {

std::string Hex(const Hash256& h) { return HexEncode(h); }

using ::vellum::testing::HexBytes;

// Deterministic pseudo-random bytes for property tests.
Bytes PseudoRandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// Feeds `data` to `hasher` in chunks whose sizes come from `rng` (including empty ones).
template <typename Hasher>
Hash256 HashInRandomChunks(Hasher& hasher, ByteView data, std::mt19937& rng, size_t max_chunk) {
  size_t offset = 0;
  while (offset < data.size()) {
    const size_t chunk =
        std::min(data.size() - offset, static_cast<size_t>(rng() % (max_chunk + 1)));
    hasher.Update(data.subspan(offset, chunk));
    offset += chunk;
  }
  return hasher.Finish();
}

// FIPS 180-2 / NIST CSRC "Examples with intermediate values" for SHA-256.
constexpr std::string_view kFips448Bits =
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

TEST(Sha256Test, FipsKnownAnswers) {
  EXPECT_EQ(Hex(Sha256(AsBytes(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256(AsBytes(kFips448Bits))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million_a(1000000, 'a');
  EXPECT_EQ(Hex(Sha256(AsBytes(million_a))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, HasherMillionAInUnevenChunks) {
  const std::string million_a(1000000, 'a');
  Sha256Hasher hasher;
  std::mt19937 rng(1);
  EXPECT_EQ(Hex(HashInRandomChunks(hasher, AsBytes(million_a), rng, 5000)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, IncrementalEqualsOneShotAtRandomSplits) {
  std::mt19937 rng(42);
  Sha256Hasher hasher;  // reused: Finish resets it
  for (size_t size : {0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 1000, 4097}) {
    const Bytes data = PseudoRandomBytes(size, static_cast<uint32_t>(size));
    const Hash256 expected = Sha256(data);
    for (int trial = 0; trial < 8; ++trial) {
      EXPECT_EQ(HashInRandomChunks(hasher, data, rng, 100), expected) << "size " << size;
    }
  }
}

TEST(Sha256Test, FinishResetsTheHasher) {
  Sha256Hasher hasher;
  hasher.Update(AsBytes("some earlier message"));
  (void)hasher.Finish();
  hasher.Update(AsBytes("abc"));
  EXPECT_EQ(Hex(hasher.Finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(hasher.Finish()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// Keccak-256 vectors: the empty string and "abc" are the values Ethereum tooling
// publishes; the rest are from the js-sha3 test suite (emn178/js-sha3,
// tests/test-keccak.js), whose keccak_256 is Ethereum's Keccak-256.
constexpr std::string_view kMd5Paragraph =
    "The MD5 message-digest algorithm is a widely used cryptographic hash function producing a "
    "128-bit (16-byte) hash value, typically expressed in text format as a 32 digit hexadecimal "
    "number. MD5 has been utilized in a wide variety of cryptographic applications, and is also "
    "commonly used to verify data integrity.";

TEST(Keccak256Test, KnownAnswers) {
  EXPECT_EQ(Hex(Keccak256(AsBytes(""))),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(Hex(Keccak256(AsBytes("abc"))),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  EXPECT_EQ(Hex(Keccak256(AsBytes("The quick brown fox jumps over the lazy dog"))),
            "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
  EXPECT_EQ(Hex(Keccak256(AsBytes("The quick brown fox jumps over the lazy dog."))),
            "578951e24efd62a3d63a86f7cd19aaa53c898fe287d2552133220370240b572d");
}

TEST(Keccak256Test, MultiBlockKnownAnswers) {
  // 311 bytes: two full 136-byte blocks and a partial one.
  ASSERT_EQ(kMd5Paragraph.size(), 311u);
  EXPECT_EQ(Hex(Keccak256(AsBytes(kMd5Paragraph))),
            "af20018353ffb50d507f1555580f5272eca7fdab4f8295db4b1a9ad832c93f6d");
  // UTF-8 text of 185 and 281 bytes (one and two block boundaries crossed).
  constexpr std::string_view kUtf8Short =
      "訊息摘要演算法第五版（英語：Message-Digest Algorithm "
      "5，縮寫為MD5），是當前電腦領域用於確保資訊"
      "傳輸完整一致而廣泛使用的雜湊演算法之一";
  constexpr std::string_view kUtf8Long =
      "訊息摘要演算法第五版（英語：Message-Digest Algorithm "
      "5，縮寫為MD5），是當前電腦領域用於確保資訊"
      "傳輸完整一致而廣泛使用的雜湊演算法之一（又譯雜湊演算法、摘要演算法等），主流程式語言普遍已有"
      "MD5"
      "的實作。";
  ASSERT_GT(kUtf8Short.size(), 136u);
  ASSERT_GT(kUtf8Long.size(), 136u);
  EXPECT_EQ(Hex(Keccak256(AsBytes(kUtf8Short))),
            "d1021d2d4c5c7e88098c40f422af68493b4b64c913cbd68220bf5e6127c37a88");
  EXPECT_EQ(Hex(Keccak256(AsBytes(kUtf8Long))),
            "ffabf9bba2127c4928d360c9905cb4911f0ec21b9c3b89f3b242bccc68389e36");
}

TEST(Keccak256Test, IsNotSha3) {
  // FIPS 202 SHA3-256("") differs only in the padding byte (0x06 instead of 0x01).
  EXPECT_NE(Hex(Keccak256(AsBytes(""))),
            "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
}

TEST(Keccak256Test, HasherKnownAnswersByteAtATime) {
  Keccak256Hasher hasher;
  for (char c : kMd5Paragraph) hasher.Update(AsBytes(std::string_view(&c, 1)));
  EXPECT_EQ(Hex(hasher.Finish()),
            "af20018353ffb50d507f1555580f5272eca7fdab4f8295db4b1a9ad832c93f6d");
  // Finish reset the hasher: it now hashes the empty string.
  EXPECT_EQ(Hex(hasher.Finish()),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

TEST(Keccak256Test, IncrementalEqualsOneShotAroundTheRate) {
  std::mt19937 rng(7);
  Keccak256Hasher hasher;  // reused: Finish resets it
  for (size_t size : {0, 1, 134, 135, 136, 137, 270, 271, 272, 273, 408, 409, 1000, 5000}) {
    const Bytes data = PseudoRandomBytes(size, static_cast<uint32_t>(size) + 100);
    const Hash256 expected = Keccak256(data);
    // Every two-way split...
    for (size_t split = 0; split <= size; split += (size > 300 ? 17 : 1)) {
      hasher.Update(ByteView(data).first(split));
      hasher.Update(ByteView(data).subspan(split));
      ASSERT_EQ(hasher.Finish(), expected) << "size " << size << " split " << split;
    }
    // ...and random multi-way splits, small and large chunks.
    for (int trial = 0; trial < 10; ++trial) {
      EXPECT_EQ(HashInRandomChunks(hasher, data, rng, trial < 5 ? 20 : 300), expected)
          << "size " << size;
    }
  }
}

TEST(Keccak256Test, DistinctInputsGiveDistinctHashes) {
  // Messages that differ only in the padding region must not collide.
  const Bytes zero135(135, 0);
  const Bytes zero136(136, 0);
  Bytes with_one = zero135;
  with_one.push_back(0x01);
  EXPECT_NE(Keccak256(zero135), Keccak256(zero136));
  EXPECT_NE(Keccak256(zero135), Keccak256(with_one));
  EXPECT_NE(Keccak256(zero136), Keccak256(with_one));
}

// RFC 4231 section 4 (HMAC-SHA-256 outputs).
TEST(HmacSha256Test, Rfc4231KnownAnswers) {
  // Test case 1.
  EXPECT_EQ(Hex(HmacSha256(Bytes(20, 0x0b), AsBytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the output.
  EXPECT_EQ(Hex(HmacSha256(AsBytes("Jefe"), AsBytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 3.
  EXPECT_EQ(Hex(HmacSha256(Bytes(20, 0xaa), Bytes(50, 0xdd))),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  // Test case 4.
  EXPECT_EQ(Hex(HmacSha256(HexBytes("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                           Bytes(50, 0xcd))),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  // Test case 5 (the RFC truncates the output to 128 bits).
  EXPECT_EQ(Hex(HmacSha256(Bytes(20, 0x0c), AsBytes("Test With Truncation"))).substr(0, 32),
            "a3b6167473100ee06e0c796c2955552b");
  // Test case 6: a key longer than the block size is hashed first.
  EXPECT_EQ(Hex(HmacSha256(Bytes(131, 0xaa),
                           AsBytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  // Test case 7.
  EXPECT_EQ(
      Hex(HmacSha256(Bytes(131, 0xaa),
                     AsBytes("This is a test using a larger than block-size key and a larger than "
                             "block-size data. The key needs to be hashed before being used by the "
                             "HMAC algorithm."))),
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(HmacSha256Test, EmptyKeyAndMessage) {
  // HMAC pads the key with zeros to the block size, so an empty key is the same as
  // a key of zeros; both must work (OpenSSL treats a null key pointer specially).
  const Hash256 empty_key = HmacSha256({}, {});
  EXPECT_EQ(empty_key, HmacSha256(Bytes(32, 0), {}));
  EXPECT_EQ(empty_key, HmacSha256(ByteView(), ByteView()));
  EXPECT_NE(empty_key, HmacSha256(Bytes(32, 1), {}));
  EXPECT_NE(empty_key, HmacSha256({}, AsBytes("x")));
}

// Known answers computed with CPython's hashlib.blake2b(data, key=key,
// digest_size=32) (its bundled BLAKE2 reference code, independent of libsodium),
// with key = 00 01 .. 1f. The BLAKE2 reference KAT file uses 64-byte keys and
// outputs, which this interface cannot express.
TEST(KeyedHasherTest, KnownAnswers) {
  Bytes key(32);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  Result<KeyedHasher> hasher = KeyedHasher::Create(SecureBytes::CopyFrom(key));
  ASSERT_TRUE(hasher.ok()) << hasher.status().ToString();
  EXPECT_EQ(Hex(hasher->Hash({})),
            "4e51e7a913fc80137da52880fecca175bf81e117d5c68126dc2774033517ea0d");
  EXPECT_EQ(Hex(hasher->Hash(AsBytes("abc"))),
            "d63a32d3e44738d7907f964316c241adaba0abfeabc32349677578a15a203f7f");
  Bytes message(255);
  for (size_t i = 0; i < message.size(); ++i) message[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Hex(hasher->Hash(message)),
            "f60f5c4a575c43db6c93608515866ea998e04b35792f5a92b27aa5880cd6721e");
}

TEST(KeyedHasherTest, DeterministicAndKeyDependent) {
  Result<KeyedHasher> a = KeyedHasher::Create(SecureBytes::CopyFrom(Bytes(32, 0x11)));
  Result<KeyedHasher> a_again = KeyedHasher::Create(SecureBytes::CopyFrom(Bytes(32, 0x11)));
  Bytes other_key(32, 0x11);
  other_key[31] ^= 0x01;
  Result<KeyedHasher> b = KeyedHasher::Create(SecureBytes::CopyFrom(other_key));
  ASSERT_TRUE(a.ok() && a_again.ok() && b.ok());

  const Bytes data = ToBytes("account:alice");
  EXPECT_EQ(a->Hash(data), a->Hash(data));
  EXPECT_EQ(a->Hash(data), a_again->Hash(data));
  EXPECT_NE(a->Hash(data), b->Hash(data));
  EXPECT_NE(a->Hash(data), a->Hash(AsBytes("account:alicf")));
  // Keyed, so not the unkeyed BLAKE2b-256 (nor SHA-256) of the data.
  EXPECT_NE(Hex(a->Hash({})), "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_NE(a->Hash(data), Sha256(data));
}

TEST(KeyedHasherTest, RejectsWrongKeySizes) {
  for (size_t size : {0, 1, 16, 31, 33, 64}) {
    Result<KeyedHasher> hasher = KeyedHasher::Create(SecureBytes::CopyFrom(Bytes(size, 0x5a)));
    ASSERT_FALSE(hasher.ok()) << "size " << size;
    EXPECT_TRUE(hasher.status().IsInvalidArgument());
    EXPECT_NE(hasher.status().message().find("32"), std::string::npos);
  }
}

TEST(KeyedHasherTest, KeepsItsOwnCopyOfTheKey) {
  SecureBytes key = SecureBytes::CopyFrom(Bytes(32, 0x42));
  Result<KeyedHasher> hasher = KeyedHasher::Create(key);
  ASSERT_TRUE(hasher.ok());
  const Hash256 before = hasher->Hash(AsBytes("v"));
  key[0] ^= 0xff;  // the caller's buffer changing must not affect the hasher
  EXPECT_EQ(hasher->Hash(AsBytes("v")), before);
}

}  // namespace
}  // namespace vellum::crypto
