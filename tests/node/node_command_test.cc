// Copyright (c) Vellum authors.
//
// NodeCommand: round trips, strict decoding (every truncation refused), and the
// encrypted form: a wrong key or any flipped byte is Corruption, never a command.

#include "node/node_command.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "crypto/random.h"

namespace vellum::node {
namespace {

NodeCommand Sample() {
  NodeCommand c;
  c.attested_version = 42;
  for (size_t i = 0; i < c.attested_root.size(); ++i) c.attested_root[i] = static_cast<uint8_t>(i);
  logchain::WriteSetOp create;
  create.kind = logchain::WriteSetOp::Kind::kCreateTable;
  create.table = "accounts";
  logchain::WriteSetOp put;
  put.kind = logchain::WriteSetOp::Kind::kPut;
  put.table = "accounts";
  put.key = ToBytes("alice");
  put.value = ToBytes("100");
  logchain::WriteSetOp del;
  del.kind = logchain::WriteSetOp::Kind::kDelete;
  del.table = "accounts";
  del.key = ToBytes("bob");
  c.writes = {ClientWrite{(uint64_t{3} << 40) | 17, {create, put}},
              ClientWrite{(uint64_t{3} << 40) | 18, {del}}};
  return c;
}

TEST(NodeCommand, RoundTripsAndRefusesEveryTruncation) {
  const NodeCommand c = Sample();
  const Bytes encoded = EncodeNodeCommand(c);
  auto decoded = DecodeNodeCommand(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, c);
  for (size_t n = 0; n < encoded.size(); ++n) {
    EXPECT_FALSE(DecodeNodeCommand(ByteView(encoded.data(), n)).ok()) << "truncated to " << n;
  }
  Bytes longer = encoded;
  longer.push_back(0);
  EXPECT_FALSE(DecodeNodeCommand(longer).ok());
  Bytes no_writes = EncodeNodeCommand(c);
  no_writes[1 + 1 + 32] = 0;  // version, attested version 42 (one byte), root: the count
  EXPECT_EQ(DecodeNodeCommand(no_writes).status().code(), StatusCode::kCorruption);
  Bytes other_version = encoded;
  other_version[0] = 9;
  EXPECT_EQ(DecodeNodeCommand(other_version).status().code(), StatusCode::kNotSupported);
}

TEST(NodeCommand, SealedCommandsOpenOnlyIntactAndWithTheKey) {
  crypto::SecureBytes master(32);
  std::fill(master.data(), master.data() + master.size(), 0x42);
  auto key = DeriveReplicationKey(master);
  ASSERT_TRUE(key.ok());
  crypto::SeededRandom random(5);
  auto sealed = SealCommand(*key, Sample(), random);
  ASSERT_TRUE(sealed.ok());
  auto opened = OpenCommand(*key, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, Sample());
  // The plaintext never shows in the sealed bytes.
  const std::string text(sealed->begin(), sealed->end());
  EXPECT_EQ(text.find("alice"), std::string::npos);
  for (size_t i = 0; i < sealed->size(); ++i) {
    Bytes flipped = *sealed;
    flipped[i] ^= 0x01;
    EXPECT_EQ(OpenCommand(*key, flipped).status().code(), StatusCode::kCorruption) << i;
  }
  crypto::SecureBytes other_master(32);
  std::fill(other_master.data(), other_master.data() + other_master.size(), 0x43);
  auto other = DeriveReplicationKey(other_master);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(OpenCommand(*other, *sealed).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace vellum::node
