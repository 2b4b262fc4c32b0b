// Copyright (c) Vellum authors.
//
// Write sets: a known encoding, round trips at varint boundaries, validation, and
// strict decoding (every truncation rejected; every single-byte change rejected or
// decoded to a different write set whose encoding is exactly the changed bytes).

#include "db/logchain/write_set.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tests/db/logchain/logchain_test_util.h"
#include "tests/test_util.h"

namespace vellum::logchain {
namespace {

using Kind = WriteSetOp::Kind;
using ::vellum::testing::HexBytes;
using ::vellum::testing::RandomBytes;

WriteSetOp Put(std::string table, std::string_view key, std::string_view value) {
  return {Kind::kPut, std::move(table), ToBytes(key), ToBytes(value)};
}
WriteSetOp Delete(std::string table, std::string_view key) {
  return {Kind::kDelete, std::move(table), ToBytes(key), {}};
}
WriteSetOp Table(Kind kind, std::string table) { return {kind, std::move(table), {}, {}}; }

std::vector<WriteSetOp> ExampleOps() {
  return {Put("acct", "alice", "100"), Delete("acct", "bob"), Table(Kind::kCreateTable, "log"),
          Table(Kind::kDropTable, "tmp")};
}
// Also in docs/formats/log-entry.md.
constexpr std::string_view kExampleHex =
    "0104"
    "0104616363740561"
    "6c69636503313030"
    "020461636374"
    "03626f62"
    "03036c6f67"
    "0403746d70";

std::vector<WriteSetOp> RandomOps(std::mt19937_64& rng, size_t count) {
  static constexpr size_t kSizes[] = {0, 1, 2, 127, 128, 129, 300, 16383, 16384};
  std::vector<WriteSetOp> ops(count);
  for (WriteSetOp& op : ops) {
    op.kind = static_cast<Kind>(1 + rng() % 4);
    op.table = std::string(1 + rng() % 255, 'a' + static_cast<char>(rng() % 26));
    if (op.kind == Kind::kPut || op.kind == Kind::kDelete) {
      op.key = RandomBytes(rng, rng() % 4 == 0 ? kSizes[rng() % std::size(kSizes)] : rng() % 40);
    }
    if (op.kind == Kind::kPut) {
      op.value = RandomBytes(rng, rng() % 4 == 0 ? kSizes[rng() % std::size(kSizes)] : rng() % 200);
    }
  }
  return ops;
}

TEST(WriteSetTest, KnownAnswer) {
  const std::vector<WriteSetOp> ops = ExampleOps();
  const Bytes encoded = EncodeWriteSet(ops);
  EXPECT_EQ(HexEncode(encoded), kExampleHex);
  EXPECT_EQ(EncodedWriteSetSize(ops), encoded.size());
  auto decoded = DecodeWriteSet(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, ops);
  EXPECT_EQ(HexEncode(EncodeWriteSet({})), "0100");
  auto empty = DecodeWriteSet(HexBytes("0100"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(WriteSetTest, RandomRoundTrips) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200; ++i) {
    const std::vector<WriteSetOp> ops = RandomOps(rng, rng() % 20);
    const Bytes encoded = EncodeWriteSet(ops);
    ASSERT_EQ(encoded.size(), EncodedWriteSetSize(ops));
    auto decoded = DecodeWriteSet(encoded);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    ASSERT_EQ(*decoded, ops);
  }
  // Op counts across the one-byte varint boundary.
  for (size_t count : {127, 128, 1000}) {
    const std::vector<WriteSetOp> ops(count, Put("t", "k", "v"));
    auto decoded = DecodeWriteSet(EncodeWriteSet(ops));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, ops);
  }
}

TEST(WriteSetTest, LimitsAreInclusive) {
  WriteSetOp op = Put(std::string(255, 't'), "", "");
  op.key.assign(kMaxKeySize, 0x4b);
  EXPECT_OK(ValidateWriteSetOp(op));
  const std::vector<WriteSetOp> ops = {op};
  auto decoded = DecodeWriteSet(EncodeWriteSet(ops));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, ops);
}

TEST(WriteSetTest, Validation) {
  EXPECT_OK(ValidateWriteSetOp(Put("t", "", "")));
  EXPECT_OK(ValidateWriteSetOp(Delete("t", "k")));
  EXPECT_OK(ValidateWriteSetOp(Table(Kind::kCreateTable, "t")));
  EXPECT_CODE(ValidateWriteSetOp(Put("", "k", "v")), kInvalidArgument);
  EXPECT_CODE(ValidateWriteSetOp(Put(std::string(256, 't'), "k", "v")), kInvalidArgument);
  WriteSetOp op = Put("t", "", "");
  op.key.resize(kMaxKeySize + 1);
  EXPECT_CODE(ValidateWriteSetOp(op), kInvalidArgument);
  op = Put("t", "", "");
  op.value.resize(kMaxValueSize + 1);
  EXPECT_CODE(ValidateWriteSetOp(op), kInvalidArgument);
  op = Delete("t", "k");
  op.value = {1};
  EXPECT_CODE(ValidateWriteSetOp(op), kInvalidArgument);
  op = Table(Kind::kDropTable, "t");
  op.key = {1};
  EXPECT_CODE(ValidateWriteSetOp(op), kInvalidArgument);
  op = Put("t", "k", "v");
  op.kind = static_cast<Kind>(0);
  EXPECT_CODE(ValidateWriteSetOp(op), kInvalidArgument);
  op.kind = static_cast<Kind>(5);
  EXPECT_CODE(ValidateWriteSetOp(op), kInvalidArgument);
}

TEST(WriteSetDeathTest, EncodingAnInvalidOpIsABug) {
  const std::vector<WriteSetOp> ops = {Put("", "k", "v")};
  EXPECT_DEATH((void)EncodeWriteSet(ops), "invalid op");
}

TEST(WriteSetTest, DecodeRejectsMalformations) {
  auto corrupt = [](std::string_view hex) {
    auto decoded = DecodeWriteSet(HexBytes(hex));
    EXPECT_TRUE(decoded.status().IsCorruption()) << hex << ": " << decoded.status().ToString();
    return decoded.status().message();
  };
  corrupt("");
  corrupt("01");
  EXPECT_CODE(DecodeWriteSet(HexBytes("0200")).status(), kNotSupported);
  EXPECT_CODE(DecodeWriteSet(HexBytes("00")).status(), kNotSupported);
  corrupt("018000");                  // non-minimal count
  corrupt("0180");                    // truncated count
  corrupt("01ffffffffffffffffff01");  // count beyond 64 bits
  EXPECT_EQ(corrupt("0103010174000101"), "write set: op count 3 does not fit in 6 bytes");
  EXPECT_EQ(corrupt("01010001740000"), "write set: op 0: unknown kind 0");
  corrupt("01010501740000");  // kind 5
  corrupt("0101ff01740000");  // kind 255
  EXPECT_EQ(corrupt("0101010000000000"), "write set: op 0: empty table name");
  corrupt("0101010274");        // truncated table name
  corrupt("0101010174008000");  // non-minimal key length
  EXPECT_EQ(corrupt("0101010174056b"), "write set: op 0: truncated in key");
  corrupt("010101017400");      // no value length
  corrupt("01010201740000ff");  // trailing byte after a delete
  corrupt("010103017400");      // create table with a key byte (trailing)
  // Lengths above the caps are rejected before the bytes are looked for.
  Bytes big = HexBytes("0101010174");
  PutVarint64(&big, kMaxKeySize + 1);
  EXPECT_EQ(DecodeWriteSet(big).status().message(),
            "write set: op 0: key length 65537 exceeds the limit 65536");
  big = HexBytes("010101017400");
  PutVarint64(&big, kMaxValueSize + 1);
  EXPECT_EQ(DecodeWriteSet(big).status().message(),
            "write set: op 0: value length 67108865 exceeds the limit 67108864");
  big = HexBytes("010101017400");
  PutVarint64(&big, UINT64_MAX);
  corrupt(HexEncode(big));
}

TEST(WriteSetTest, EveryTruncationIsCorruption) {
  std::mt19937_64 rng(7);
  for (const std::vector<WriteSetOp>& ops : {ExampleOps(), RandomOps(rng, 6)}) {
    const Bytes encoded = EncodeWriteSet(ops);
    for (size_t size = 0; size < encoded.size(); ++size) {
      ASSERT_CODE(DecodeWriteSet(ByteView(encoded).first(size)).status(), kCorruption);
    }
    Bytes longer = encoded;
    longer.push_back(0);
    EXPECT_CODE(DecodeWriteSet(longer).status(), kCorruption);
  }
}

TEST(WriteSetTest, EverySingleByteChangeIsRejectedOrCanonical) {
  // A write set has one encoding: whatever decodes re-encodes to the same bytes, so a
  // changed byte is either rejected or a different write set (which the payload's AEAD
  // tag and the header's payload_hash protect in the log).
  std::vector<WriteSetOp> ops = ExampleOps();
  WriteSetOp long_value = Put("t", "key", "");
  long_value.value.assign(200, 0x76);  // a two-byte length
  ops.push_back(long_value);
  const Bytes encoded = EncodeWriteSet(ops);
  for (size_t i = 0; i < encoded.size(); ++i) {
    for (int delta = 1; delta < 256; ++delta) {
      Bytes bad = encoded;
      bad[i] = static_cast<uint8_t>(bad[i] + delta);
      auto decoded = DecodeWriteSet(bad);
      if (!decoded.ok()) {
        ASSERT_TRUE(decoded.status().IsCorruption() ||
                    (i == 0 && decoded.status().IsNotSupported()))
            << decoded.status().ToString();
        continue;
      }
      ASSERT_NE(*decoded, ops);
      ASSERT_EQ(EncodeWriteSet(*decoded), bad) << "byte " << i;
    }
  }
}

TEST(WriteSetTest, ThousandPutsEncodeInOneAllocation) {
  std::mt19937_64 rng(1000);
  std::vector<WriteSetOp> ops(1000);
  for (WriteSetOp& op : ops) {
    op.table = "accounts";
    op.key = RandomBytes(rng, 32);
    op.value = RandomBytes(rng, 100);
  }
  const Bytes encoded = EncodeWriteSet(ops);
  EXPECT_EQ(encoded.size(), 1 + 2 + 1000 * (1 + 1 + 8 + 1 + 32 + 1 + 100));
  EXPECT_EQ(encoded.capacity(), encoded.size());
  auto decoded = DecodeWriteSet(encoded);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, ops);
}

}  // namespace
}  // namespace vellum::logchain
