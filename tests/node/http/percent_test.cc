// Copyright (c) Vellum authors.
//
// Tests of percent-decoding, percent-encoding and request-target parsing.
//
// Thread safety: single-threaded tests.

#include "node/http/percent.h"

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace vellum::http {
namespace {

TEST(PercentTest, DecodesEscapesIntoBytes) {
  Result<std::string> decoded = PercentDecode("%00%ff%2F");
  ASSERT_OK(decoded.status());
  EXPECT_EQ(*decoded, std::string("\x00\xff/", 3));
  EXPECT_EQ(PercentDecode("a%20b%41%6a").value(), "a bAj");
  EXPECT_EQ(PercentDecode("plain-text_~.").value(), "plain-text_~.");
  EXPECT_EQ(PercentDecode("").value(), "");
}

TEST(PercentTest, PlusIsSpaceOnlyInQueryComponents) {
  EXPECT_EQ(PercentDecode("a+b").value(), "a+b");
  EXPECT_EQ(PercentDecode("a+b%2B", /*plus_is_space=*/true).value(), "a b+");
}

TEST(PercentTest, RejectsMalformedEscapes) {
  for (const std::string_view bad : {"%", "%0", "a%g0", "%0g", "abc%", "%%41"}) {
    Result<std::string> decoded = PercentDecode(bad);
    EXPECT_CODE(decoded.status(), kInvalidArgument);
    // The message gives the offset, never the text.
    if (!decoded.ok()) {
      EXPECT_NE(decoded.status().message().find("offset"), std::string::npos);
    }
  }
}

TEST(PercentTest, EncodeRoundTripsEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string encoded = PercentEncode(all);
  EXPECT_EQ(encoded.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%"),
            std::string::npos);
  EXPECT_EQ(PercentDecode(encoded).value(), all);
  EXPECT_EQ(PercentEncode(std::string("\x00\xff/ a", 5)), "%00%FF%2F%20a");
}

TEST(PercentTest, ParseTargetSplitsBeforeDecoding) {
  Result<ParsedTarget> t = ParseTarget("/v1/kv/t/%00%ff%2F");
  ASSERT_OK(t.status());
  EXPECT_EQ(t->path_segments,
            (std::vector<std::string>{"v1", "kv", "t", std::string("\x00\xff/", 3)}));
  EXPECT_TRUE(t->query.empty());

  EXPECT_TRUE(ParseTarget("/").value().path_segments.empty());
  EXPECT_EQ(ParseTarget("/a//b/").value().path_segments,
            (std::vector<std::string>{"a", "", "b", ""}));
}

TEST(PercentTest, ParseTargetDecodesTheQuery) {
  Result<ParsedTarget> t = ParseTarget("/x?a=1&b=x%20y&c&&d=%2B+&e=&%3D=%26");
  ASSERT_OK(t.status());
  EXPECT_EQ(t->path_segments, (std::vector<std::string>{"x"}));
  const std::map<std::string, std::string> expected = {{"a", "1"},  {"b", "x y"}, {"c", ""},
                                                       {"d", "+ "}, {"e", ""},    {"=", "&"}};
  EXPECT_EQ(t->query, expected);
  EXPECT_TRUE(ParseTarget("/x?").value().query.empty());
}

TEST(PercentTest, ParseTargetRejectsWhatItCannotRoute) {
  EXPECT_CODE(ParseTarget("").status(), kInvalidArgument);
  EXPECT_CODE(ParseTarget("v1/kv").status(), kInvalidArgument);
  EXPECT_CODE(ParseTarget("http://host/v1").status(), kInvalidArgument);
  EXPECT_CODE(ParseTarget("*").status(), kInvalidArgument);
  EXPECT_CODE(ParseTarget("/a#frag").status(), kInvalidArgument);
  EXPECT_CODE(ParseTarget("/a/%zz").status(), kInvalidArgument);
  EXPECT_CODE(ParseTarget("/a?x=%z").status(), kInvalidArgument);
  EXPECT_CODE(ParseTarget("/a?x=1&x=2").status(), kInvalidArgument);
}

}  // namespace
}  // namespace vellum::http
