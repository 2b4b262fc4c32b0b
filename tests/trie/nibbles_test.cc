// Copyright (c) Vellum authors.

#include "trie/nibbles.h"

#include <gtest/gtest.h>

#include <string>

#include "base/bytes.h"
#include "tests/test_util.h"

namespace vellum::trie {
namespace {

using ::vellum::testing::HexBytes;

TEST(Nibbles, ToNibblesHighFirst) {
  EXPECT_EQ(ToNibbles(HexBytes("")), Nibbles());
  EXPECT_EQ(ToNibbles(HexBytes("00")), (Nibbles{0, 0}));
  EXPECT_EQ(ToNibbles(HexBytes("1a")), (Nibbles{1, 0xa}));
  EXPECT_EQ(ToNibbles(HexBytes("f00d7e")), (Nibbles{0xf, 0, 0, 0xd, 7, 0xe}));
}

TEST(Nibbles, BytesRoundTrip) {
  Bytes all(256);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i);
  const Nibbles n = ToNibbles(all);
  ASSERT_EQ(n.size(), 512u);
  for (uint8_t x : n) EXPECT_LT(x, 16);
  EXPECT_EQ(NibblesToBytes(n), all);
  EXPECT_EQ(NibblesToBytes({}), Bytes());
}

TEST(Nibbles, NibblesToBytesNeedsEvenCount) {
  EXPECT_DEATH(NibblesToBytes(Nibbles{1, 2, 3}), "even");
}

TEST(Nibbles, AppendPackedNibbles) {
  const Nibbles n = {1, 2, 3, 0xa, 0xb};
  std::string out = "x";
  AppendPackedNibbles(n.data(), 0, &out);
  EXPECT_EQ(out, "x");
  AppendPackedNibbles(n.data(), 4, &out);
  EXPECT_EQ(HexEncode(AsBytes(out)), "78123a");
  out.clear();
  AppendPackedNibbles(n.data(), 5, &out);  // odd: the tail is padded with a zero
  EXPECT_EQ(HexEncode(AsBytes(out)), "123ab0");
  out.clear();
  AppendPackedNibbles(n.data() + 4, 1, &out);
  EXPECT_EQ(HexEncode(AsBytes(out)), "b0");
  AppendPackedNibbles(nullptr, 0, &out);
  EXPECT_EQ(HexEncode(AsBytes(out)), "b0");
}

TEST(Nibbles, CommonPrefixLength) {
  const Nibbles a = {1, 2, 3, 4};
  const Nibbles b = {1, 2, 5};
  const Nibbles c = {1, 2};
  EXPECT_EQ(CommonPrefixLength(a.data(), a.size(), b.data(), b.size()), 2u);
  EXPECT_EQ(CommonPrefixLength(a.data(), a.size(), c.data(), c.size()), 2u);
  EXPECT_EQ(CommonPrefixLength(c.data(), c.size(), a.data(), a.size()), 2u);
  EXPECT_EQ(CommonPrefixLength(a.data(), a.size(), a.data(), a.size()), 4u);
  EXPECT_EQ(CommonPrefixLength(a.data(), 0, a.data(), a.size()), 0u);
  EXPECT_EQ(CommonPrefixLength(nullptr, 0, nullptr, 0), 0u);
  // Offsets into the arrays.
  EXPECT_EQ(CommonPrefixLength(a.data() + 2, 2, b.data() + 2, 1), 0u);
  const Nibbles d = {9, 3, 4, 7};
  EXPECT_EQ(CommonPrefixLength(a.data() + 2, 2, d.data() + 1, 3), 2u);
  EXPECT_EQ(CommonPrefixLength(a.data(), a.size(), d.data(), d.size()), 0u);
}

TEST(Nibbles, NibblesToString) {
  const Nibbles n = {3, 0xa, 7, 0, 0xf};
  EXPECT_EQ(NibblesToString(n.data(), n.size()), "3a70f");
  EXPECT_EQ(NibblesToString(n.data(), 0), "");
  EXPECT_EQ(NibblesToString(nullptr, 0), "");
  const Nibbles bad = {1, 16, 255};
  EXPECT_EQ(NibblesToString(bad.data(), bad.size()), "1??");
}

}  // namespace
}  // namespace vellum::trie
