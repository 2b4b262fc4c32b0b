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

TEST(BytesTest, TrimSpace) {
  EXPECT_EQ(TrimSpace("  a b\t\r\n"), "a b");
  EXPECT_EQ(TrimSpace("\v\f"), "");
  EXPECT_EQ(TrimSpace(""), "");
  EXPECT_EQ(TrimSpace("x"), "x");
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

namespace vellum {
namespace {

TEST(BytesTest, VarintRoundTripAndBounds) {
  const uint64_t values[] = {0,          1,         127, 128, 300, 16383, 16384, (1ull << 32) - 1,
                             1ull << 63, UINT64_MAX};
  for (uint64_t v : values) {
    std::string s;
    PutVarint64(&s, v);
    Bytes b;
    PutVarint64(&b, v);
    EXPECT_EQ(AsChars(b), s);
    const std::string with_tail = s + "x";
    ByteView in = AsBytes(with_tail);
    uint64_t got = 0;
    ASSERT_TRUE(GetVarint64(&in, &got)) << v;
    EXPECT_EQ(got, v);
    EXPECT_EQ(AsChars(in), "x");
    // Every truncation fails.
    for (size_t cut = 0; cut < s.size(); ++cut) {
      ByteView truncated = AsBytes(s).first(cut);
      EXPECT_FALSE(GetVarint64(&truncated, &got)) << v << " cut " << cut;
    }
  }
  // Eleven continuation bytes, or a tenth byte above 1, overflow.
  const std::string eleven = std::string(10, '\xff') + "\x01";
  ByteView too_long = AsBytes(eleven);
  uint64_t got = 0;
  EXPECT_FALSE(GetVarint64(&too_long, &got));
  std::string overflow(9, '\xff');
  overflow.push_back('\x02');
  ByteView of = AsBytes(overflow);
  EXPECT_FALSE(GetVarint64(&of, &got));
  // Non-minimal encodings of 0 and 1 are refused.
  const std::string zero_padded("\x80\x00", 2);
  ByteView padded_zero = AsBytes(zero_padded);
  EXPECT_FALSE(GetVarint64(&padded_zero, &got));
  const std::string one_padded("\x81\x80\x00", 3);
  ByteView padded_one = AsBytes(one_padded);
  EXPECT_FALSE(GetVarint64(&padded_one, &got));
}

}  // namespace
}  // namespace vellum
