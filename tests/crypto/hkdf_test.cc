// Copyright (c) Vellum authors.

#include "crypto/hkdf.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/hash.h"
#include "crypto/secure_bytes.h"
#include "tests/test_util.h"

namespace vellum::crypto {
namespace {

using ::vellum::testing::HexBytes;

Bytes Range(uint8_t first, uint8_t last) {
  Bytes out;
  for (int v = first; v <= last; ++v) out.push_back(static_cast<uint8_t>(v));
  return out;
}

std::string HexOf(const Result<SecureBytes>& r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? HexEncode(r->view()) : std::string();
}

// RFC 5869 straight from its definition, on HmacSha256: a cross-check that goes
// through a different OpenSSL path (EVP_MAC) than HkdfSha256 (EVP_KDF).
Bytes ReferenceHkdf(ByteView ikm, ByteView salt, ByteView info, size_t length) {
  const Bytes zero_salt(32, 0);
  const Hash256 prk = HmacSha256(salt.empty() ? ByteView(zero_salt) : salt, ikm);
  Bytes okm;
  Bytes t;
  for (uint8_t i = 1; okm.size() < length; ++i) {
    Bytes block = t;
    block.insert(block.end(), info.begin(), info.end());
    block.push_back(i);
    const Hash256 h = HmacSha256(prk, block);
    t.assign(h.begin(), h.end());
    okm.insert(okm.end(), t.begin(), t.end());
  }
  okm.resize(length);
  return okm;
}

// RFC 5869 appendix A.1.
TEST(HkdfTest, Rfc5869Case1) {
  EXPECT_EQ(HexOf(HkdfSha256(Bytes(22, 0x0b), HexBytes("000102030405060708090a0b0c"),
                             HexBytes("f0f1f2f3f4f5f6f7f8f9"), 42)),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

// RFC 5869 appendix A.2: longer inputs and outputs.
TEST(HkdfTest, Rfc5869Case2) {
  EXPECT_EQ(HexOf(HkdfSha256(Range(0x00, 0x4f), Range(0x60, 0xaf), Range(0xb0, 0xff), 82)),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
            "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
            "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

// RFC 5869 appendix A.3: zero-length salt and info.
TEST(HkdfTest, Rfc5869Case3) {
  EXPECT_EQ(HexOf(HkdfSha256(Bytes(22, 0x0b), {}, {}, 42)),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(HkdfTest, EmptySaltMeansHashLenZeros) {
  Result<SecureBytes> empty = HkdfSha256(Bytes(22, 0x0b), {}, AsBytes("i"), 32);
  Result<SecureBytes> zeros = HkdfSha256(Bytes(22, 0x0b), Bytes(32, 0), AsBytes("i"), 32);
  ASSERT_TRUE(empty.ok() && zeros.ok());
  EXPECT_TRUE(*empty == *zeros);
}

TEST(HkdfTest, EmptyIkmIsAllowed) {
  Result<SecureBytes> okm = HkdfSha256({}, AsBytes("salt"), AsBytes("info"), 64);
  ASSERT_TRUE(okm.ok()) << okm.status().ToString();
  EXPECT_EQ(HexEncode(okm->view()),
            HexEncode(ReferenceHkdf({}, AsBytes("salt"), AsBytes("info"), 64)));
  // Empty everything.
  EXPECT_EQ(HexOf(HkdfSha256({}, {}, {}, 32)), HexEncode(ReferenceHkdf({}, {}, {}, 32)));
}

TEST(HkdfTest, MatchesTheDefinitionForManyLengths) {
  const Bytes ikm = ToBytes("input keying material");
  const Bytes salt = ToBytes("some salt");
  const Bytes info = ToBytes("context");
  for (size_t length : {1, 16, 31, 32, 33, 64, 65, 100, 255, 1000, 8160}) {
    EXPECT_EQ(HexOf(HkdfSha256(ikm, salt, info, length)),
              HexEncode(ReferenceHkdf(ikm, salt, info, length)))
        << "length " << length;
  }
}

TEST(HkdfTest, OutputIsAPrefixOfLongerOutput) {
  Result<SecureBytes> short_okm = HkdfSha256(AsBytes("k"), AsBytes("s"), AsBytes("i"), 20);
  Result<SecureBytes> long_okm = HkdfSha256(AsBytes("k"), AsBytes("s"), AsBytes("i"), 8160);
  ASSERT_TRUE(short_okm.ok() && long_okm.ok());
  EXPECT_EQ(long_okm->size(), 8160u);
  EXPECT_TRUE(ConstantTimeEquals(short_okm->view(), long_okm->view().first(20)));
}

TEST(HkdfTest, RejectsOutputLengthsOutsideTheRfcRange) {
  for (size_t length : {size_t{0}, size_t{8161}, size_t{1} << 40}) {
    Result<SecureBytes> okm = HkdfSha256(AsBytes("ikm"), {}, {}, length);
    ASSERT_FALSE(okm.ok()) << "length " << length;
    EXPECT_TRUE(okm.status().IsInvalidArgument());
    EXPECT_NE(okm.status().message().find("8160"), std::string::npos);
  }
  EXPECT_TRUE(HkdfSha256(AsBytes("ikm"), {}, {}, 1).ok());
  EXPECT_TRUE(HkdfSha256(AsBytes("ikm"), {}, {}, 8160).ok());
}

TEST(HkdfTest, LongInfo) {
  // Every OpenSSL 3 accepts 1 KiB of info.
  const Bytes info_1k(1024, 0x69);
  EXPECT_EQ(HexOf(HkdfSha256(AsBytes("ikm"), AsBytes("salt"), info_1k, 48)),
            HexEncode(ReferenceHkdf(AsBytes("ikm"), AsBytes("salt"), info_1k, 48)));
  // Beyond OpenSSL's cap (32 KiB in current 3.0 releases) it is an error, not a crash.
  const Bytes info_1m(1 << 20, 0x69);
  Result<SecureBytes> okm = HkdfSha256(AsBytes("ikm"), AsBytes("salt"), info_1m, 48);
  if (okm.ok()) {
    EXPECT_EQ(HexEncode(okm->view()),
              HexEncode(ReferenceHkdf(AsBytes("ikm"), AsBytes("salt"), info_1m, 48)));
  } else {
    EXPECT_TRUE(okm.status().IsInvalidArgument()) << okm.status().ToString();
  }
}

SecureBytes TestMasterSecret(uint8_t fill = 0x4d, size_t size = 32) {
  return SecureBytes::CopyFrom(Bytes(size, fill));
}

TEST(DeriveKeyTest, IsHkdfWithTheVellumSalt) {
  const SecureBytes master = TestMasterSecret();
  Result<SecureBytes> key = DeriveKey(master, "table/accounts/siv", 64);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->size(), 64u);
  EXPECT_EQ(HexEncode(key->view()), HexEncode(ReferenceHkdf(master.view(), AsBytes("vellum-kdf-v1"),
                                                            AsBytes("table/accounts/siv"), 64)));
}

TEST(DeriveKeyTest, Deterministic) {
  Result<SecureBytes> a = DeriveKey(TestMasterSecret(), "wal/aead", 32);
  Result<SecureBytes> b = DeriveKey(TestMasterSecret(), "wal/aead", 32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(*a == *b);
}

TEST(DeriveKeyTest, DifferentLabelsOrSecretsGiveDifferentKeys) {
  const SecureBytes master = TestMasterSecret();
  Result<SecureBytes> a = DeriveKey(master, "table/accounts/siv", 32);
  Result<SecureBytes> b = DeriveKey(master, "table/accounts/aead", 32);
  Result<SecureBytes> c = DeriveKey(master, "table/accounts/siv ", 32);
  Result<SecureBytes> d = DeriveKey(TestMasterSecret(0x4e), "table/accounts/siv", 32);
  Result<SecureBytes> e = DeriveKey(TestMasterSecret(0x4d, 33), "table/accounts/siv", 32);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok() && e.ok());
  EXPECT_FALSE(*a == *b);
  EXPECT_FALSE(*a == *c);
  EXPECT_FALSE(*a == *d);
  EXPECT_FALSE(*a == *e);
}

TEST(DeriveKeyTest, RejectsShortMasterSecret) {
  for (size_t size : {0, 1, 16, 31}) {
    Result<SecureBytes> key = DeriveKey(TestMasterSecret(0x4d, size), "label", 32);
    ASSERT_FALSE(key.ok()) << "size " << size;
    EXPECT_TRUE(key.status().IsInvalidArgument());
    EXPECT_NE(key.status().message().find("32"), std::string::npos);
  }
  EXPECT_TRUE(DeriveKey(TestMasterSecret(0x4d, 64), "label", 32).ok());
}

TEST(DeriveKeyTest, RejectsBadLengths) {
  EXPECT_TRUE(DeriveKey(TestMasterSecret(), "label", 0).status().IsInvalidArgument());
  EXPECT_TRUE(DeriveKey(TestMasterSecret(), "label", 8161).status().IsInvalidArgument());
}

}  // namespace
}  // namespace vellum::crypto
