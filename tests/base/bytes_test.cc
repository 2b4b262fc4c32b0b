// Copyright (c) Vellum authors.

#include "base/bytes.h"

#include <gtest/gtest.h>

namespace vellum {
namespace {

TEST(BytesTest, HexRoundTripOfEveryByte) {
  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  const std::string hex = HexEncode(all);
  EXPECT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(504), "fcfdfeff");
  Result<Bytes> back = HexDecode(hex);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
}

TEST(BytesTest, HexDecodeAcceptsUpperCase) {
  Result<Bytes> b = HexDecode("ABcd");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, (Bytes{0xab, 0xcd}));
  EXPECT_TRUE(HexDecode("").ok());
}

TEST(BytesTest, HexDecodeRejectsBadInputWithoutEchoingIt) {
  Result<Bytes> odd = HexDecode("abc");
  EXPECT_TRUE(odd.status().IsInvalidArgument());
  Result<Bytes> bad = HexDecode("00zz");
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("position 2"), std::string::npos);
  EXPECT_EQ(bad.status().message().find("zz"), std::string::npos);
}

TEST(BytesTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals(AsBytes("abc"), AsBytes("abc")));
  EXPECT_FALSE(ConstantTimeEquals(AsBytes("abc"), AsBytes("abd")));
  EXPECT_FALSE(ConstantTimeEquals(AsBytes("abc"), AsBytes("ab")));
  EXPECT_TRUE(ConstantTimeEquals(AsBytes(""), AsBytes("")));
}

TEST(BytesTest, BigEndianFixed) {
  Bytes out;
  PutFixed32BE(&out, 0x01020304u);
  PutFixed64BE(&out, 0x1122334455667788ull);
  EXPECT_EQ(HexEncode(out), "010203041122334455667788");
  EXPECT_EQ(DecodeFixed32BE(out.data()), 0x01020304u);
  EXPECT_EQ(DecodeFixed64BE(out.data() + 4), 0x1122334455667788ull);
}

}  // namespace
}  // namespace vellum
