// Copyright (c) Vellum authors.
//
// RLP and hex-prefix tests: every case of the ethereum/tests RLP vectors
// (tests/data/ethereum/rlptest.json and invalidRLPTest.json), the canonical-form
// rules of the strict decoder, truncation, trailing bytes and the depth limit, and the
// Yellow Paper's hex-prefix examples.

#include "trie/rlp.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "tests/test_util.h"

namespace vellum::trie::rlp {
namespace {

using ::vellum::testing::HexBytes;

Bytes ToVec(ByteView v) { return Bytes(v.begin(), v.end()); }
ByteView View(const std::string& s) { return AsBytes(s); }

// An expected RLP value: a byte string or a list.
struct Value {
  bool is_list = false;
  Bytes str;
  std::vector<Value> items;
};

Value Str(std::string_view s) { return Value{false, ToBytes(s), {}}; }
Value Str(Bytes b) { return Value{false, std::move(b), {}}; }
Value List(std::vector<Value> items) { return Value{true, {}, std::move(items)}; }

std::string Encode(const Value& v) {
  std::string out;
  if (!v.is_list) {
    AppendString(v.str, &out);
    return out;
  }
  std::string payload;
  for (const Value& item : v.items) payload += Encode(item);
  AppendListHeader(payload.size(), &out);
  out += payload;
  return out;
}

// Checks that `item` (decoded) has the structure and bytes of `expected`.
void ExpectSame(const Item& item, const Value& expected, const std::string& where) {
  ASSERT_EQ(item.is_list, expected.is_list) << where;
  EXPECT_EQ(ToVec(item.encoded), ToBytes(Encode(expected))) << where;
  if (!expected.is_list) {
    EXPECT_EQ(ToVec(item.payload), expected.str) << where;
    EXPECT_TRUE(item.children.empty()) << where;
    return;
  }
  ASSERT_EQ(item.children.size(), expected.items.size()) << where;
  for (size_t i = 0; i < item.children.size(); ++i) {
    ExpectSame(item.children[i], expected.items[i], where + "[" + std::to_string(i) + "]");
  }
}

// Minimal big-endian bytes of the non-negative decimal number `digits` (0 -> empty).
Bytes DecimalToBytes(std::string_view digits) {
  std::vector<uint32_t> number;  // decimal digits, most significant first
  for (char c : digits) {
    if (c < '0' || c > '9') {
      ADD_FAILURE() << "bad decimal digit in a test vector: " << digits;
      return {};
    }
    number.push_back(static_cast<uint32_t>(c - '0'));
  }
  Bytes little;  // base-256 digits, least significant first
  while (!number.empty()) {
    std::vector<uint32_t> quotient;
    uint32_t remainder = 0;
    for (uint32_t d : number) {
      remainder = remainder * 10 + d;
      if (!quotient.empty() || remainder >= 256) quotient.push_back(remainder / 256);
      remainder %= 256;
    }
    little.push_back(static_cast<uint8_t>(remainder));
    number = std::move(quotient);
  }
  while (!little.empty() && little.back() == 0) little.pop_back();
  return Bytes(little.rbegin(), little.rend());
}

Bytes UintToBytes(uint64_t v) {
  Bytes out;
  for (; v != 0; v >>= 8) out.insert(out.begin(), static_cast<uint8_t>(v & 0xff));
  return out;
}

// The "in" side of rlptest.json: strings (or "#<decimal>" big integers), integers and
// arrays.
Value FromJson(const nlohmann::json& j) {
  if (j.is_array()) {
    Value list = List({});
    for (const auto& item : j) list.items.push_back(FromJson(item));
    return list;
  }
  if (j.is_number_unsigned() || j.is_number_integer()) {
    const int64_t v = j.get<int64_t>();
    if (v < 0) {
      ADD_FAILURE() << "negative integer in a test vector";
      return Str("");
    }
    return Str(UintToBytes(static_cast<uint64_t>(v)));
  }
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (!s.empty() && s[0] == '#') return Str(DecimalToBytes(std::string_view(s).substr(1)));
    return Str(s);
  }
  ADD_FAILURE() << "unexpected JSON value in a test vector: " << j.dump();
  return Str("");
}

Bytes HexOut(std::string hex) {
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.erase(0, 2);
  return HexBytes(hex);
}

bool LoadJson(const std::string& name, nlohmann::json* out) {
  const std::string path = std::string(VELLUM_TEST_DATA_DIR) + "/ethereum/" + name;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot open " << path;
    return false;
  }
  try {
    *out = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cannot parse " << path << ": " << e.what();
    return false;
  }
  return true;
}

Status DecodeStatus(ByteView input) { return Decode(input).status(); }

// ---------------------------------------------------------------------------------
// The ethereum/tests vectors.

TEST(RlpVectors, ValidCases) {
  nlohmann::json cases;
  ASSERT_TRUE(LoadJson("rlptest.json", &cases));
  ASSERT_EQ(cases.size(), 28u);
  size_t count = 0;
  for (const auto& [name, c] : cases.items()) {
    SCOPED_TRACE(name);
    try {
      const Value expected = FromJson(c.at("in"));
      const Bytes out = HexOut(c.at("out").get<std::string>());
      EXPECT_EQ(HexEncode(View(Encode(expected))), HexEncode(out)) << name << ": encoding";

      auto item = Decode(out);
      ASSERT_TRUE(item.ok()) << name << ": " << item.status().ToString();
      ExpectSame(*item, expected, name);
      EXPECT_EQ(item->encoded.data(), out.data()) << name;
      EXPECT_EQ(item->encoded.size(), out.size()) << name;
      ++count;
    } catch (const std::exception& e) {
      ADD_FAILURE() << name << ": bad test vector: " << e.what();
    }
  }
  EXPECT_EQ(count, 28u);
}

TEST(RlpVectors, InvalidCases) {
  nlohmann::json cases;
  ASSERT_TRUE(LoadJson("invalidRLPTest.json", &cases));
  ASSERT_EQ(cases.size(), 26u);
  size_t count = 0;
  for (const auto& [name, c] : cases.items()) {
    try {
      EXPECT_EQ(c.at("in").get<std::string>(), "INVALID") << name;
      const Bytes out = HexOut(c.at("out").get<std::string>());
      const Status s = DecodeStatus(out);
      EXPECT_TRUE(s.IsCorruption()) << name << ": " << s.ToString();
      EXPECT_NE(s.message().find("offset"), std::string::npos) << name << ": " << s.ToString();
      ++count;
    } catch (const std::exception& e) {
      ADD_FAILURE() << name << ": bad test vector: " << e.what();
    }
  }
  EXPECT_EQ(count, 26u);
}

// ---------------------------------------------------------------------------------
// Encoding.

TEST(RlpEncode, StringBoundaries) {
  std::string out;
  AppendString({}, &out);
  EXPECT_EQ(HexEncode(View(out)), "80");
  for (int b = 0; b < 0x80; ++b) {
    const uint8_t byte = static_cast<uint8_t>(b);
    out.clear();
    AppendString(ByteView(&byte, 1), &out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(static_cast<uint8_t>(out[0]), byte);
    EXPECT_EQ(StringHeaderSize(ByteView(&byte, 1)), 0u);
  }
  const uint8_t high = 0x80;
  out.clear();
  AppendString(ByteView(&high, 1), &out);
  EXPECT_EQ(HexEncode(View(out)), "8180");

  for (size_t n : {size_t{2}, size_t{55}, size_t{56}, size_t{255}, size_t{256}, size_t{65535},
                   size_t{65536}, size_t{70000}}) {
    const Bytes s(n, 0xab);
    out.clear();
    AppendString(s, &out);
    const size_t header = StringHeaderSize(s);
    ASSERT_EQ(out.size(), header + n) << n;
    if (n <= 55) {
      EXPECT_EQ(header, 1u);
      EXPECT_EQ(static_cast<uint8_t>(out[0]), 0x80 + n);
    } else {
      const size_t len_len = n < 256 ? 1 : n < 65536 ? 2 : 3;
      EXPECT_EQ(header, 1 + len_len) << n;
      EXPECT_EQ(static_cast<uint8_t>(out[0]), 0xb7 + len_len) << n;
    }
    auto item = Decode(View(out));
    ASSERT_TRUE(item.ok()) << n << ": " << item.status().ToString();
    EXPECT_FALSE(item->is_list);
    EXPECT_EQ(ToVec(item->payload), s);
  }
}

TEST(RlpEncode, ListHeaders) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{55}, size_t{56}, size_t{255}, size_t{256},
                   size_t{1} << 24, size_t{1} << 32}) {
    std::string out;
    AppendListHeader(n, &out);
    EXPECT_EQ(out.size(), ListHeaderSize(n)) << n;
  }
  std::string out;
  AppendListHeader(0, &out);
  EXPECT_EQ(HexEncode(View(out)), "c0");
  out.clear();
  AppendListHeader(55, &out);
  EXPECT_EQ(HexEncode(View(out)), "f7");
  out.clear();
  AppendListHeader(56, &out);
  EXPECT_EQ(HexEncode(View(out)), "f838");
  out.clear();
  AppendListHeader(1024, &out);
  EXPECT_EQ(HexEncode(View(out)), "f90400");
  out.clear();
  AppendListHeader(size_t{1} << 32, &out);
  EXPECT_EQ(HexEncode(View(out)), "fc0100000000");
}

TEST(RlpEncode, AppendsToExistingOutput) {
  std::string out = "x";
  AppendString(AsBytes("dog"), &out);
  AppendListHeader(3, &out);
  EXPECT_EQ(HexEncode(View(out)), "7883646f67c3");
}

// ---------------------------------------------------------------------------------
// The strict decoder.

TEST(RlpDecode, ItemSpans) {
  // ["cat", ["dog"], "", 0x05]
  const Bytes in = HexBytes("cb83636174c483646f678005");
  auto item = Decode(in);
  ASSERT_TRUE(item.ok()) << item.status().ToString();
  EXPECT_TRUE(item->is_list);
  EXPECT_EQ(item->payload.data(), in.data() + 1);
  EXPECT_EQ(item->payload.size(), in.size() - 1);
  ASSERT_EQ(item->children.size(), 4u);
  EXPECT_EQ(item->children[0].encoded.data(), in.data() + 1);
  EXPECT_EQ(HexEncode(item->children[0].payload), "636174");
  EXPECT_EQ(HexEncode(item->children[1].encoded), "c483646f67");
  ASSERT_EQ(item->children[1].children.size(), 1u);
  EXPECT_EQ(HexEncode(item->children[1].children[0].payload), "646f67");
  EXPECT_EQ(HexEncode(item->children[2].encoded), "80");
  EXPECT_TRUE(item->children[2].payload.empty());
  EXPECT_EQ(HexEncode(item->children[3].encoded), "05");
  EXPECT_EQ(HexEncode(item->children[3].payload), "05");
}

TEST(RlpDecode, EmptyInputRejected) { EXPECT_CODE(DecodeStatus({}), kCorruption); }

TEST(RlpDecode, SingleByteWrappedRejected) {
  for (int b = 0; b < 0x80; ++b) {
    const Bytes in = {0x81, static_cast<uint8_t>(b)};
    const Status s = DecodeStatus(in);
    EXPECT_TRUE(s.IsCorruption()) << b << ": " << s.ToString();
    EXPECT_NE(s.message().find("offset 0"), std::string::npos) << s.ToString();
  }
  for (int b = 0x80; b < 0x100; ++b) {
    const Bytes in = {0x81, static_cast<uint8_t>(b)};
    EXPECT_OK(DecodeStatus(in));
  }
  // The same inside a list: the offset is that of the bad item.
  const Status s = DecodeStatus(HexBytes("c3808100"));
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("offset 2"), std::string::npos) << s.ToString();
}

TEST(RlpDecode, LongFormForShortLengthRejected) {
  for (size_t n = 0; n <= 55; ++n) {
    Bytes str = {0xb8, static_cast<uint8_t>(n)};
    str.insert(str.end(), n, 0xaa);
    EXPECT_CODE(DecodeStatus(str), kCorruption);
    Bytes list = {0xf8, static_cast<uint8_t>(n)};
    list.insert(list.end(), n, 0x01);
    EXPECT_CODE(DecodeStatus(list), kCorruption);
    // Two length bytes for a short length, too.
    Bytes str2 = {0xb9, 0x00, static_cast<uint8_t>(n)};
    str2.insert(str2.end(), n, 0xaa);
    EXPECT_CODE(DecodeStatus(str2), kCorruption);
  }
  Bytes str = {0xb8, 56};
  str.insert(str.end(), 56, 0xaa);
  EXPECT_OK(DecodeStatus(str));
  Bytes list = {0xf8, 56};
  list.insert(list.end(), 56, 0x01);
  EXPECT_OK(DecodeStatus(list));
}

TEST(RlpDecode, LeadingZeroInLengthRejected) {
  Bytes str = {0xb9, 0x00, 0x38};
  str.insert(str.end(), 56, 0xaa);
  EXPECT_CODE(DecodeStatus(str), kCorruption);
  Bytes list = {0xf9, 0x00, 0x38};
  list.insert(list.end(), 56, 0x01);
  EXPECT_CODE(DecodeStatus(list), kCorruption);
  Bytes big = {0xba, 0x00, 0x01, 0x00};
  big.insert(big.end(), 256, 0xaa);
  EXPECT_CODE(DecodeStatus(big), kCorruption);
  // Canonical: b9 0100 + 256 bytes.
  Bytes good = {0xb9, 0x01, 0x00};
  good.insert(good.end(), 256, 0xaa);
  EXPECT_OK(DecodeStatus(good));
}

TEST(RlpDecode, HugeLengthsRejected) {
  // Eight length bytes, up to 2^64 - 1: rejected without overflow or allocation.
  for (const char* hex : {"bfffffffffffffffff00", "ffffffffffffffffff00", "bf0100000000000000",
                          "ff8000000000000000c0", "bb7fffffff", "fb7fffffff00"}) {
    const Status s = DecodeStatus(HexBytes(hex));
    EXPECT_TRUE(s.IsCorruption()) << hex << ": " << s.ToString();
  }
}

TEST(RlpDecode, TrailingBytesRejected) {
  for (const char* hex : {"8080", "0000", "c0c0", "83646f6700", "c3808080ff"}) {
    const Status s = DecodeStatus(HexBytes(hex));
    EXPECT_TRUE(s.IsCorruption()) << hex << ": " << s.ToString();
    EXPECT_NE(s.message().find("trailing"), std::string::npos) << hex << ": " << s.ToString();
  }
  const Status s = DecodeStatus(HexBytes("83646f6700"));
  EXPECT_NE(s.message().find("offset 4"), std::string::npos) << s.ToString();
}

TEST(RlpDecode, ListPayloadMustHoldWholeItems) {
  // The list says 2 bytes but its item needs 4; the item says 3 but only 2 remain.
  EXPECT_CODE(DecodeStatus(HexBytes("c283646f67")), kCorruption);
  EXPECT_CODE(DecodeStatus(HexBytes("c383646f")), kCorruption);
  EXPECT_CODE(DecodeStatus(HexBytes("c4836466")), kCorruption);
}

Value NestedSample() {
  // ["dog", ["cat", <60 bytes>, [], [""]], "", 0x05, <300 bytes>, [[["deep"]]]]
  Bytes long60(60);
  for (size_t i = 0; i < long60.size(); ++i) long60[i] = static_cast<uint8_t>(i * 7);
  return List({Str("dog"), List({Str("cat"), Str(long60), List({}), List({Str("")})}), Str(""),
               Str(Bytes{0x05}), Str(Bytes(300, 0xee)), List({List({List({Str("deep")})})})});
}

TEST(RlpDecode, NestedRoundTrip) {
  const Value v = NestedSample();
  const std::string enc = Encode(v);
  auto item = Decode(View(enc));
  ASSERT_TRUE(item.ok()) << item.status().ToString();
  ExpectSame(*item, v, "sample");
}

TEST(RlpDecode, EveryTruncationRejected) {
  const std::string enc = Encode(NestedSample());
  const Bytes full = ToBytes(enc);
  for (size_t cut = 0; cut < full.size(); ++cut) {
    // A fresh allocation of exactly `cut` bytes, so ASan catches any over-read.
    const Bytes prefix(full.begin(), full.begin() + static_cast<ptrdiff_t>(cut));
    const Status s = DecodeStatus(prefix);
    EXPECT_TRUE(s.IsCorruption()) << "cut at " << cut << ": " << s.ToString();
  }
  EXPECT_OK(DecodeStatus(full));
}

// `depth` lists nested around an empty string, built outside-in in linear time.
Bytes NestedLists(int depth) {
  std::vector<size_t> payload(static_cast<size_t>(depth) + 1);
  payload[0] = 1;  // the innermost item, 0x80
  for (size_t i = 1; i < payload.size(); ++i) {
    payload[i] = payload[i - 1] + ListHeaderSize(payload[i - 1]);
  }
  std::string enc;
  for (size_t i = payload.size() - 1; i > 0; --i) AppendListHeader(payload[i - 1], &enc);
  AppendString({}, &enc);
  return ToBytes(enc);
}

TEST(RlpDecode, DepthLimit) {
  // 64 nested lists decode; 65 do not.
  auto ok = Decode(NestedLists(64));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  const Item* p = &*ok;
  int depth = 0;
  while (p->is_list) {
    ASSERT_EQ(p->children.size(), 1u);
    p = &p->children[0];
    ++depth;
  }
  EXPECT_EQ(depth, 64);
  const Status s = DecodeStatus(NestedLists(65));
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("offset"), std::string::npos) << s.ToString();
  // Far deeper input is rejected without deep recursion.
  EXPECT_CODE(DecodeStatus(NestedLists(100000)), kCorruption);
  // Empty lists count too.
  std::string bare = "\xc0";
  for (int i = 0; i < 64; ++i) {
    std::string outer;
    AppendListHeader(bare.size(), &outer);
    bare = outer + bare;
  }
  EXPECT_CODE(DecodeStatus(View(bare)), kCorruption);  // 65 lists
}

TEST(RlpDecode, RandomInputsNeverCrash) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> len(0, 40);
  for (int i = 0; i < 20000; ++i) {
    Bytes in(len(rng));
    for (auto& b : in) b = static_cast<uint8_t>(byte(rng));
    auto item = Decode(in);
    if (!item.ok()) {
      EXPECT_TRUE(item.status().IsCorruption()) << item.status().ToString();
      continue;
    }
    // Whatever decodes is canonical: it is its own encoding.
    EXPECT_EQ(ToVec(item->encoded), in);
  }
}

// ---------------------------------------------------------------------------------
// Hex-prefix encoding (Yellow Paper, appendix C).

std::string HexPrefix(const Nibbles& n, bool leaf) {
  return HexEncode(View(HexPrefixEncode(n.data(), n.size(), leaf)));
}

TEST(HexPrefix, YellowPaperExamples) {
  EXPECT_EQ(HexPrefix({1, 2, 3, 4, 5}, false), "112345");
  EXPECT_EQ(HexPrefix({0, 1, 2, 3, 4, 5}, false), "00012345");
  EXPECT_EQ(HexPrefix({0, 0xf, 1, 0xc, 0xb, 8}, true), "200f1cb8");
  EXPECT_EQ(HexPrefix({0xf, 1, 0xc, 0xb, 8}, true), "3f1cb8");
  EXPECT_EQ(HexPrefix({}, false), "00");
  EXPECT_EQ(HexPrefix({}, true), "20");
  EXPECT_EQ(HexPrefix({7}, true), "37");
}

TEST(HexPrefix, DecodesExamples) {
  struct Example {
    const char* hex;
    Nibbles nibbles;
    bool leaf;
  };
  const Example examples[] = {
      {"112345", {1, 2, 3, 4, 5}, false},
      {"00012345", {0, 1, 2, 3, 4, 5}, false},
      {"200f1cb8", {0, 0xf, 1, 0xc, 0xb, 8}, true},
      {"3f1cb8", {0xf, 1, 0xc, 0xb, 8}, true},
      {"00", {}, false},
      {"20", {}, true},
  };
  for (const Example& e : examples) {
    Nibbles n = {9, 9};  // overwritten
    bool leaf = !e.leaf;
    ASSERT_OK(HexPrefixDecode(HexBytes(e.hex), &n, &leaf));
    EXPECT_EQ(n, e.nibbles) << e.hex;
    EXPECT_EQ(leaf, e.leaf) << e.hex;
  }
}

TEST(HexPrefix, RoundTrips) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> nib(0, 15);
  for (size_t len = 0; len <= 70; ++len) {
    for (bool leaf : {false, true}) {
      Nibbles n(len);
      for (auto& x : n) x = static_cast<uint8_t>(nib(rng));
      const std::string enc = HexPrefixEncode(n.data(), n.size(), leaf);
      EXPECT_EQ(enc.size(), 1 + len / 2) << len;
      Nibbles back;
      bool back_leaf = !leaf;
      ASSERT_OK(HexPrefixDecode(View(enc), &back, &back_leaf));
      EXPECT_EQ(back, n) << len;
      EXPECT_EQ(back_leaf, leaf) << len;
    }
  }
}

TEST(HexPrefix, BadFlagRejected) {
  for (int flag = 4; flag < 16; ++flag) {
    Nibbles n;
    bool leaf = false;
    const Bytes in = {static_cast<uint8_t>(flag << 4), 0x12};
    const Status s = HexPrefixDecode(in, &n, &leaf);
    EXPECT_TRUE(s.IsCorruption()) << flag << ": " << s.ToString();
  }
}

TEST(HexPrefix, NonZeroPadRejected) {
  for (uint8_t flag : {0x00, 0x20}) {
    for (int pad = 1; pad < 16; ++pad) {
      Nibbles n;
      bool leaf = false;
      const Bytes in = {static_cast<uint8_t>(flag | pad), 0x34};
      const Status s = HexPrefixDecode(in, &n, &leaf);
      EXPECT_TRUE(s.IsCorruption()) << int{flag} << "/" << pad << ": " << s.ToString();
    }
  }
}

TEST(HexPrefix, EmptyRejected) {
  Nibbles n;
  bool leaf = false;
  EXPECT_CODE(HexPrefixDecode({}, &n, &leaf), kCorruption);
}

}  // namespace
}  // namespace vellum::trie::rlp
