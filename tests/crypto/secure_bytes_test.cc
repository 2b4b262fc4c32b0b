// Copyright (c) Vellum authors.

#include "crypto/secure_bytes.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <utility>

namespace vellum::crypto {
namespace {

bool AllZero(ByteView bytes) {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

TEST(SecureBytesTest, DefaultIsEmpty) {
  const SecureBytes bytes;
  EXPECT_TRUE(bytes.empty());
  EXPECT_EQ(bytes.size(), 0u);
  EXPECT_EQ(bytes.data(), nullptr);
  EXPECT_TRUE(bytes.view().empty());
}

TEST(SecureBytesTest, SizedIsZeroInitialised) {
  for (size_t size : {size_t{1}, size_t{16}, size_t{32}, size_t{4097}}) {
    const SecureBytes bytes(size);
    EXPECT_EQ(bytes.size(), size);
    EXPECT_FALSE(bytes.empty());
    ASSERT_NE(bytes.data(), nullptr);
    EXPECT_TRUE(AllZero(bytes.view())) << size;
  }
}

TEST(SecureBytesTest, ZeroSizeObject) {
  SecureBytes bytes(0);
  EXPECT_TRUE(bytes.empty());
  EXPECT_EQ(bytes.size(), 0u);
  EXPECT_TRUE(bytes.view().empty());
  EXPECT_TRUE(bytes.span().empty());
  const SecureBytes clone = bytes.Clone();
  EXPECT_TRUE(clone.empty());
  EXPECT_TRUE(bytes == clone);
  EXPECT_TRUE(bytes == SecureBytes());
  bytes.Truncate(0);
  EXPECT_TRUE(bytes.empty());
  const SecureBytes copied = SecureBytes::CopyFrom({});
  EXPECT_TRUE(copied.empty());
  EXPECT_TRUE(copied == bytes);
}

TEST(SecureBytesTest, CopyFrom) {
  const Bytes source = {1, 2, 3, 4, 5, 0xff};
  const SecureBytes bytes = SecureBytes::CopyFrom(source);
  ASSERT_EQ(bytes.size(), source.size());
  EXPECT_NE(bytes.data(), source.data());
  for (size_t i = 0; i < source.size(); ++i) EXPECT_EQ(bytes[i], source[i]);
  EXPECT_TRUE(ConstantTimeEquals(bytes.view(), source));
}

TEST(SecureBytesTest, WritableThroughIndexDataAndSpan) {
  SecureBytes bytes(4);
  bytes[0] = 0xaa;
  bytes.data()[1] = 0xbb;
  bytes.span()[2] = 0xcc;
  const Bytes expected = {0xaa, 0xbb, 0xcc, 0x00};
  EXPECT_TRUE(ConstantTimeEquals(bytes.view(), expected));
}

TEST(SecureBytesTest, MoveConstructionLeavesSourceEmpty) {
  SecureBytes source = SecureBytes::CopyFrom(ToBytes("key material"));
  const uint8_t* storage = source.data();
  SecureBytes moved(std::move(source));
  EXPECT_EQ(moved.data(), storage);
  EXPECT_EQ(AsChars(moved.view()), "key material");
  // NOLINTNEXTLINE(bugprone-use-after-move): the moved-from state is specified.
  EXPECT_TRUE(source.empty());
  EXPECT_EQ(source.size(), 0u);       // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(source.data(), nullptr);  // NOLINT(bugprone-use-after-move)
}

TEST(SecureBytesTest, MoveAssignmentLeavesSourceEmptyAndReleasesTarget) {
  SecureBytes source = SecureBytes::CopyFrom(ToBytes("new"));
  SecureBytes target = SecureBytes::CopyFrom(ToBytes("old key"));
  target = std::move(source);
  EXPECT_EQ(AsChars(target.view()), "new");
  EXPECT_TRUE(source.empty());        // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(source.data(), nullptr);  // NOLINT(bugprone-use-after-move)

  // Moving an empty object in empties the target.
  target = SecureBytes();
  EXPECT_TRUE(target.empty());
  EXPECT_EQ(target.data(), nullptr);
}

TEST(SecureBytesTest, CloneIsEqualAndIndependent) {
  const SecureBytes original = SecureBytes::CopyFrom(ToBytes("0123456789abcdef"));
  SecureBytes clone = original.Clone();
  EXPECT_TRUE(clone == original);
  EXPECT_NE(clone.data(), original.data());
  clone[0] ^= 1;
  EXPECT_FALSE(clone == original);
  EXPECT_EQ(AsChars(original.view()), "0123456789abcdef");
}

TEST(SecureBytesTest, TruncateKeepsThePrefixAndWipesTheTail) {
  SecureBytes bytes = SecureBytes::CopyFrom(ToBytes("abcdefgh"));
  const uint8_t* storage = bytes.data();
  bytes.Truncate(8);  // no-op
  EXPECT_EQ(AsChars(bytes.view()), "abcdefgh");
  bytes.Truncate(3);
  EXPECT_EQ(bytes.size(), 3u);
  EXPECT_EQ(AsChars(bytes.view()), "abc");
  EXPECT_EQ(bytes.data(), storage);
  // The allocation is still ours; the bytes past the new end are zero.
  EXPECT_TRUE(AllZero(ByteView(storage + 3, 5)));
  bytes.Truncate(0);
  EXPECT_TRUE(bytes.empty());
  EXPECT_TRUE(AllZero(ByteView(storage, 8)));
}

TEST(SecureBytesDeathTest, TruncateBeyondSizeIsACheckFailure) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  SecureBytes bytes(4);
  EXPECT_DEATH(bytes.Truncate(5), "check failed");
}

TEST(SecureBytesTest, EqualityComparesContentsAndLength) {
  const SecureBytes a = SecureBytes::CopyFrom(ToBytes("same"));
  const SecureBytes b = SecureBytes::CopyFrom(ToBytes("same"));
  const SecureBytes c = SecureBytes::CopyFrom(ToBytes("samf"));
  const SecureBytes d = SecureBytes::CopyFrom(ToBytes("sam"));
  EXPECT_TRUE(a == a);
  EXPECT_TRUE(a == b);
  EXPECT_TRUE(b == a);
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == d);  // a prefix is not equal
  EXPECT_FALSE(d == a);
  EXPECT_FALSE(a == SecureBytes());
  // A difference in any position, including the first and the last, is seen.
  SecureBytes long_a(256);
  SecureBytes long_b(256);
  EXPECT_TRUE(long_a == long_b);
  for (size_t i : {size_t{0}, size_t{128}, size_t{255}}) {
    long_b[i] = 0x01;
    EXPECT_FALSE(long_a == long_b) << i;
    long_b[i] = 0x00;
  }
  EXPECT_TRUE(long_a == long_b);
}

TEST(SecureBytesTest, SecureWipeZeroesABuffer) {
  std::array<uint8_t, 64> buffer{};
  buffer.fill(0x5a);
  SecureWipe(buffer.data(), buffer.size());
  EXPECT_TRUE(AllZero(buffer));

  char text[] = "password";
  SecureWipe(text, 4);
  EXPECT_EQ(std::memcmp(text, "\0\0\0\0word", 8), 0);

  // A zero-length wipe touches nothing (and accepts a null pointer).
  SecureWipe(nullptr, 0);
  buffer.fill(0x11);
  SecureWipe(buffer.data(), 0);
  EXPECT_EQ(buffer[0], 0x11);
}

}  // namespace
}  // namespace vellum::crypto
