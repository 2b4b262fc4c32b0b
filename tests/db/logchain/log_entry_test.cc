// Copyright (c) Vellum authors.
//
// Log entry headers, stored records, sealing and links: known answers (computed with
// Python's hashlib and struct), round trips, and every truncation and single-byte
// change of the stored forms.

#include "db/logchain/log_entry.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "crypto/aead.h"
#include "crypto/random.h"
#include "db/logchain/write_set.h"
#include "tests/db/logchain/logchain_test_util.h"
#include "tests/test_util.h"

namespace vellum::logchain {
namespace {

using crypto::Hash256;
using crypto::SecureBytes;
using ::vellum::logchain::testing::Filled;
using ::vellum::logchain::testing::H;
using ::vellum::logchain::testing::Holders;
using ::vellum::logchain::testing::MakeHolders;
using ::vellum::testing::HexBytes;

// The worked example of docs/formats/log-entry.md.
LogEntryHeader ExampleHeader() {
  LogEntryHeader h;
  h.index = 2;
  h.term = 1;
  h.version = 7;
  h.time_micros = 1700000000000000;
  h.prev_entry_hash = Filled(0x11);
  h.state_root_after = Filled(0x22);
  h.payload_hash = H("94175117277c3c05e4895cfd73c6e13df56be596a0a02f7814a8b465128db384");
  h.key_share_set_id = Filled(0x44);
  return h;
}
const Bytes kExamplePayload(40, 0x55);
constexpr std::string_view kExampleHeaderHex =
    "01"
    "0000000000000002"
    "0000000000000001"
    "0000000000000007"
    "00060a24181e4000"
    "1111111111111111111111111111111111111111111111111111111111111111"
    "2222222222222222222222222222222222222222222222222222222222222222"
    "94175117277c3c05e4895cfd73c6e13df56be596a0a02f7814a8b465128db384"
    "4444444444444444444444444444444444444444444444444444444444444444";
constexpr std::string_view kExampleEntryHash =
    "26353191c978f7813a10edafc80550cc581a7849b1e64c9a17004657ead3379e";

// A chain of `n` sealed entries (index 1..n) with small write sets.
std::vector<SealedEntry> MakeChain(int n, const KeyHolders& holders, uint64_t seed) {
  crypto::SeededRandom random(seed);
  std::vector<SealedEntry> chain;
  Hash256 prev{};
  for (int i = 1; i <= n; ++i) {
    LogEntryHeader header;
    header.index = static_cast<uint64_t>(i);
    header.term = static_cast<uint64_t>(1 + i / 3);
    header.version = static_cast<uint64_t>(10 * i);
    header.time_micros = 1000 + static_cast<uint64_t>(i);
    header.prev_entry_hash = prev;
    header.state_root_after = Filled(static_cast<uint8_t>(i));
    WriteSetOp op;
    op.table = "t";
    op.key = {static_cast<uint8_t>(i)};
    op.value = Bytes(static_cast<size_t>(i) * 3, 0xab);
    const std::vector<WriteSetOp> ops = {op};
    auto sealed = SealLogEntry(header, EncodeWriteSet(ops), holders, random);
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    prev = sealed->entry_hash;
    chain.push_back(std::move(sealed).value());
  }
  return chain;
}

StoredEntry Decode(const SealedEntry& sealed) {
  auto stored = DecodeStoredEntry(sealed.EncodeStored());
  EXPECT_TRUE(stored.ok()) << stored.status().ToString();
  return std::move(stored).value();
}

TEST(LogEntryHeaderTest, KnownAnswerEncoding) {
  const Bytes encoded = EncodeLogEntryHeader(ExampleHeader());
  EXPECT_EQ(HexEncode(encoded), kExampleHeaderHex);
  EXPECT_EQ(encoded.size(), kLogEntryHeaderSize);
  EXPECT_EQ(kLogEntryHeaderSize, 161u);
  auto decoded = DecodeLogEntryHeader(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, ExampleHeader());
}

TEST(LogEntryHeaderTest, KnownAnswerEntryHashAndStoredRecord) {
  const Bytes header = HexBytes(kExampleHeaderHex);
  EXPECT_EQ(crypto::Sha256(kExamplePayload), ExampleHeader().payload_hash);
  EXPECT_EQ(LogEntryHash(header, kExamplePayload), H(kExampleEntryHash));
  // The definition, spelled out.
  Bytes preimage = ToBytes("vellum-log-entry-v1");
  preimage.insert(preimage.end(), header.begin(), header.end());
  preimage.insert(preimage.end(), kExamplePayload.begin(), kExamplePayload.end());
  EXPECT_EQ(LogEntryHash(header, kExamplePayload), crypto::Sha256(preimage));

  const Bytes stored = EncodeStoredEntry(header, kExamplePayload);
  EXPECT_EQ(HexEncode(stored),
            "01a101" + std::string(kExampleHeaderHex) + "28" + HexEncode(kExamplePayload));
  auto decoded = DecodeStoredEntry(stored);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->header, ExampleHeader());
  EXPECT_EQ(decoded->encoded_header, header);
  EXPECT_EQ(decoded->payload_ciphertext, kExamplePayload);
  EXPECT_EQ(decoded->entry_hash, H(kExampleEntryHash));
}

TEST(LogEntryHeaderTest, RandomRoundTrips) {
  std::mt19937_64 rng(161);
  for (int i = 0; i < 500; ++i) {
    LogEntryHeader h;
    h.index = 2 + rng() % (UINT64_MAX - 2);
    h.term = rng();
    h.version = rng();
    h.time_micros = rng();
    for (Hash256* f :
         {&h.prev_entry_hash, &h.state_root_after, &h.payload_hash, &h.key_share_set_id}) {
      for (auto& b : *f) b = static_cast<uint8_t>(rng());
    }
    auto decoded = DecodeLogEntryHeader(EncodeLogEntryHeader(h));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, h);
  }
}

TEST(LogEntryHeaderTest, EveryTruncationNamesTheField) {
  const Bytes encoded = EncodeLogEntryHeader(ExampleHeader());
  EXPECT_CODE(DecodeLogEntryHeader({}).status(), kCorruption);
  for (size_t size = 1; size < encoded.size(); ++size) {
    auto decoded = DecodeLogEntryHeader(ByteView(encoded).first(size));
    ASSERT_CODE(decoded.status(), kCorruption);
    EXPECT_NE(decoded.status().message().find("log entry header: truncated at "),
              std::string::npos);
  }
  EXPECT_EQ(DecodeLogEntryHeader(ByteView(encoded).first(40)).status().message(),
            "log entry header: truncated at prev_entry_hash");
  EXPECT_EQ(DecodeLogEntryHeader(ByteView(encoded).first(1)).status().message(),
            "log entry header: truncated at index");
  EXPECT_EQ(DecodeLogEntryHeader(ByteView(encoded).first(160)).status().message(),
            "log entry header: truncated at key_share_set_id");
  Bytes longer = encoded;
  longer.push_back(0);
  EXPECT_EQ(DecodeLogEntryHeader(longer).status().message(), "log entry header: 1 trailing bytes");
}

TEST(LogEntryHeaderTest, VersionAndIndexRules) {
  Bytes encoded = EncodeLogEntryHeader(ExampleHeader());
  for (uint8_t format : {0, 2, 255}) {
    Bytes other = encoded;
    other[0] = format;
    EXPECT_CODE(DecodeLogEntryHeader(other).status(), kNotSupported);
    EXPECT_CODE(DecodeLogEntryHeader(ByteView(other).first(3)).status(), kNotSupported);
  }
  LogEntryHeader h = ExampleHeader();
  h.index = 0;
  EXPECT_CODE(DecodeLogEntryHeader(EncodeLogEntryHeader(h)).status(), kCorruption);
  h.index = 1;
  EXPECT_CODE(DecodeLogEntryHeader(EncodeLogEntryHeader(h)).status(), kCorruption);
  h.prev_entry_hash = {};
  EXPECT_TRUE(DecodeLogEntryHeader(EncodeLogEntryHeader(h)).ok());
}

TEST(LogEntryHeaderTest, EverySingleByteChangeIsRejectedOrDecodesDifferently) {
  const Bytes encoded = EncodeLogEntryHeader(ExampleHeader());
  for (size_t i = 0; i < encoded.size(); ++i) {
    for (int delta = 1; delta < 256; ++delta) {
      Bytes bad = encoded;
      bad[i] = static_cast<uint8_t>(bad[i] + delta);
      auto decoded = DecodeLogEntryHeader(bad);
      if (!decoded.ok()) {
        const Status& s = decoded.status();
        ASSERT_TRUE(s.IsCorruption() || (i == 0 && s.IsNotSupported())) << s.ToString();
        continue;
      }
      ASSERT_NE(*decoded, ExampleHeader());
      ASSERT_EQ(EncodeLogEntryHeader(*decoded), bad);  // canonical
    }
  }
}

TEST(StoredEntryTest, EveryTruncationIsCorruption) {
  const Bytes stored = EncodeStoredEntry(HexBytes(kExampleHeaderHex), kExamplePayload);
  for (size_t size = 0; size < stored.size(); ++size) {
    auto decoded = DecodeStoredEntry(ByteView(stored).first(size));
    ASSERT_CODE(decoded.status(), kCorruption);
  }
  Bytes longer = stored;
  longer.push_back(0x55);
  EXPECT_CODE(DecodeStoredEntry(longer).status(), kCorruption);
}

TEST(StoredEntryTest, MalformedRecords) {
  const Bytes header = HexBytes(kExampleHeaderHex);
  Bytes stored = EncodeStoredEntry(header, kExamplePayload);
  Bytes bad = stored;
  bad[0] = 2;
  EXPECT_CODE(DecodeStoredEntry(bad).status(), kNotSupported);
  // A header of another version inside a version-1 record.
  bad = stored;
  bad[3] = 9;
  EXPECT_CODE(DecodeStoredEntry(bad).status(), kNotSupported);
  // A non-minimal header length.
  bad = {0x01, 0xa1, 0x81, 0x00};
  EXPECT_CODE(DecodeStoredEntry(bad).status(), kCorruption);
  // Header lengths other than 161.
  for (size_t header_size : {size_t{0}, size_t{160}, size_t{162}}) {
    Bytes h = header;
    h.resize(header_size, 0);
    auto decoded = DecodeStoredEntry(EncodeStoredEntry(h, kExamplePayload));
    EXPECT_CODE(decoded.status(), kCorruption);
  }
  // A payload below the AEAD overhead.
  auto short_payload =
      DecodeStoredEntry(EncodeStoredEntry(header, ByteView(kExamplePayload).first(39)));
  EXPECT_CODE(short_payload.status(), kCorruption);
  // A huge payload length.
  bad = {0x01, 0xa1, 0x01};
  bad.insert(bad.end(), header.begin(), header.end());
  PutVarint64(&bad, UINT64_MAX);
  EXPECT_CODE(DecodeStoredEntry(bad).status(), kCorruption);
}

TEST(StoredEntryTest, EverySingleByteChangeIsCaught) {
  Holders holders = MakeHolders(3, 2, 1);
  const std::vector<SealedEntry> chain = MakeChain(3, holders.policy, 2);
  const StoredEntry middle = Decode(chain[1]);
  const StoredEntry last = Decode(chain[2]);
  const StoredEntry first = Decode(chain[0]);
  ASSERT_OK(CheckLink(first, middle));
  ASSERT_OK(CheckLink(middle, last));
  const Bytes stored = chain[1].EncodeStored();
  // Offsets: format (1), header length (2), header (161), payload length (1), payload.
  const size_t payload_start = 1 + 2 + kLogEntryHeaderSize + 1;
  ASSERT_EQ(stored.size(), payload_start + middle.payload_ciphertext.size());
  size_t caught_by_payload_hash = 0;
  for (size_t i = 0; i < stored.size(); ++i) {
    for (int delta = 1; delta < 256; ++delta) {
      Bytes bad = stored;
      bad[i] = static_cast<uint8_t>(bad[i] + delta);
      auto decoded = DecodeStoredEntry(bad);
      if (i >= payload_start) {
        // Payload bytes: the header's payload_hash catches every change.
        ASSERT_CODE(decoded.status(), kCorruption);
        ASSERT_NE(decoded.status().message().find("payload_hash"), std::string::npos);
        ++caught_by_payload_hash;
        continue;
      }
      if (!decoded.ok()) continue;
      // Header bytes that still decode: the entry hash changes, so the next entry's
      // link no longer holds.
      ASSERT_NE(decoded->entry_hash, middle.entry_hash) << "byte " << i;
      ASSERT_FALSE(CheckLink(*decoded, last).ok()) << "byte " << i;
    }
  }
  EXPECT_EQ(caught_by_payload_hash, middle.payload_ciphertext.size() * 255);
}

TEST(SealLogEntryTest, SealsAndOpens) {
  Holders holders = MakeHolders(3, 2, 3);
  crypto::SeededRandom random(4);
  LogEntryHeader header;
  header.index = 1;
  header.version = 1;
  header.payload_hash = Filled(0xee);      // ignored
  header.key_share_set_id = Filled(0xee);  // ignored
  const Bytes plaintext = ToBytes("a write set, more or less");
  auto sealed = SealLogEntry(header, plaintext, holders.policy, random);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->header.payload_hash, crypto::Sha256(sealed->payload_ciphertext));
  EXPECT_EQ(sealed->header.key_share_set_id, ShareSetId(sealed->encoded_share_set));
  EXPECT_EQ(sealed->encoded_header, EncodeLogEntryHeader(sealed->header));
  EXPECT_EQ(sealed->entry_hash, LogEntryHash(sealed->encoded_header, sealed->payload_ciphertext));
  EXPECT_EQ(sealed->payload_ciphertext.size(), plaintext.size() + kMinPayloadCiphertextSize);
  EXPECT_EQ(sealed->header.index, 1u);
  EXPECT_EQ(sealed->header.version, 1u);

  const StoredEntry stored = Decode(*sealed);
  EXPECT_EQ(stored.entry_hash, sealed->entry_hash);
  EXPECT_EQ(stored.header, sealed->header);

  auto share_set = DecodeShareSet(sealed->encoded_share_set);
  ASSERT_TRUE(share_set.ok());
  auto key = RecoverEntryKey(*share_set, std::span(holders.keys).first(2));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  auto opened = OpenLogPayload(stored, *key);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, plaintext);

  auto all = OpenLogEntry(stored, sealed->encoded_share_set, holders.keys);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, plaintext);
  auto one = OpenLogEntry(stored, sealed->encoded_share_set, std::span(holders.keys).first(1));
  EXPECT_CODE(one.status(), kFailedPrecondition);
  EXPECT_EQ(one.status().message(),
            "log entry 1: need 2 holder keys for this entry, got 1 that match");
}

TEST(SealLogEntryTest, EmptyPayloadAndFreshKeys) {
  Holders holders = MakeHolders(1, 1, 5);
  crypto::SeededRandom random(6);
  LogEntryHeader header;
  header.index = 9;
  auto a = SealLogEntry(header, {}, holders.policy, random);
  auto b = SealLogEntry(header, {}, holders.policy, random);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->payload_ciphertext.size(), kMinPayloadCiphertextSize);
  EXPECT_NE(a->payload_ciphertext, b->payload_ciphertext);
  EXPECT_NE(a->encoded_share_set, b->encoded_share_set);
  auto opened = OpenLogEntry(Decode(*a), a->encoded_share_set, holders.keys);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(opened->empty());
  // Each entry's share set opens only its own entry.
  EXPECT_CODE(OpenLogEntry(Decode(*a), b->encoded_share_set, holders.keys).status(), kCorruption);
  auto key_b = RecoverEntryKey(*DecodeShareSet(b->encoded_share_set), holders.keys);
  ASSERT_TRUE(key_b.ok());
  EXPECT_CODE(OpenLogPayload(Decode(*a), *key_b).status(), kCorruption);
}

TEST(SealLogEntryTest, InvalidArguments) {
  Holders holders = MakeHolders(2, 2, 7);
  crypto::SeededRandom random(8);
  LogEntryHeader header;
  header.index = 0;
  EXPECT_CODE(SealLogEntry(header, {}, holders.policy, random).status(), kInvalidArgument);
  header.index = 1;
  header.prev_entry_hash = Filled(1);
  EXPECT_CODE(SealLogEntry(header, {}, holders.policy, random).status(), kInvalidArgument);
  header.prev_entry_hash = {};
  KeyHolders bad = holders.policy;
  bad.threshold = 3;
  EXPECT_CODE(SealLogEntry(header, {}, bad, random).status(), kInvalidArgument);
  bad.holders.clear();
  bad.threshold = 1;
  EXPECT_CODE(SealLogEntry(header, {}, bad, random).status(), kInvalidArgument);
}

TEST(SealLogEntryTest, PayloadIsBoundToItsIndex) {
  Holders holders = MakeHolders(1, 1, 9);
  const std::vector<SealedEntry> chain = MakeChain(2, holders.policy, 10);
  auto key = RecoverEntryKey(*DecodeShareSet(chain[1].encoded_share_set), holders.keys);
  ASSERT_TRUE(key.ok());
  StoredEntry moved = Decode(chain[1]);
  ASSERT_TRUE(OpenLogPayload(moved, *key).ok());
  // The same ciphertext under a header with another index (as an attacker who could
  // rewrite headers would produce) does not open.
  moved.header.index = 5;
  auto opened = OpenLogPayload(moved, *key);
  EXPECT_CODE(opened.status(), kCorruption);
  EXPECT_NE(opened.status().message().find("log entry 5"), std::string::npos);
  // Wrong key sizes and wrong keys.
  EXPECT_CODE(OpenLogPayload(Decode(chain[1]), SecureBytes(16)).status(), kInvalidArgument);
  EXPECT_CODE(OpenLogPayload(Decode(chain[1]), SecureBytes(32)).status(), kCorruption);
  EXPECT_EQ(HexEncode(LogPayloadAssociatedData(2)),
            "76656c6c756d2d6c6f672d7061796c6f61642d76310000000000000002");
}

TEST(SealLogEntryTest, DecryptsWithTheDocumentedConstruction) {
  // An independent decryption: XChaCha20-Poly1305 with the documented AD.
  Holders holders = MakeHolders(1, 1, 11);
  const std::vector<SealedEntry> chain = MakeChain(2, holders.policy, 12);
  auto key = RecoverEntryKey(*DecodeShareSet(chain[1].encoded_share_set), holders.keys);
  ASSERT_TRUE(key.ok());
  Bytes ad = ToBytes("vellum-log-payload-v1");
  PutFixed64BE(&ad, 2);
  auto plaintext = crypto::XChaCha20Poly1305::Open(*key, chain[1].payload_ciphertext, ad);
  ASSERT_TRUE(plaintext.ok());
  auto ops = DecodeWriteSet(*plaintext);
  ASSERT_TRUE(ops.ok());
  ASSERT_EQ(ops->size(), 1u);
  EXPECT_EQ((*ops)[0].key, Bytes{2});
}

TEST(CheckLinkTest, ValidChainLinks) {
  Holders holders = MakeHolders(2, 1, 13);
  const std::vector<SealedEntry> chain = MakeChain(6, holders.policy, 14);
  for (size_t i = 1; i < chain.size(); ++i) {
    EXPECT_OK(CheckLink(Decode(chain[i - 1]), Decode(chain[i])));
  }
  EXPECT_EQ(Decode(chain[0]).header.prev_entry_hash, Hash256{});
  EXPECT_FALSE(CheckLink(Decode(chain[1]), Decode(chain[0])).ok());
  EXPECT_FALSE(CheckLink(Decode(chain[0]), Decode(chain[2])).ok());
}

TEST(CheckLinkTest, EachBrokenLinkIsNamed) {
  Holders holders = MakeHolders(2, 1, 15);
  const std::vector<SealedEntry> chain = MakeChain(3, holders.policy, 16);
  const StoredEntry prev = Decode(chain[1]);
  const StoredEntry next = Decode(chain[2]);
  ASSERT_OK(CheckLink(prev, next));
  auto expect_broken = [&](const StoredEntry& p, const StoredEntry& n, std::string_view what) {
    const Status s = CheckLink(p, n);
    EXPECT_CODE(s, kCorruption);
    EXPECT_NE(s.message().find("log entry " + std::to_string(n.header.index) + ": "),
              std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
  };
  StoredEntry n = next;
  n.header.index = 4;
  expect_broken(prev, n, "consecutive");
  n.header.index = 2;
  expect_broken(prev, n, "consecutive");
  n = next;
  n.header.prev_entry_hash[31] ^= 1;
  expect_broken(prev, n, "prev_entry_hash");
  StoredEntry p = prev;
  p.entry_hash[0] ^= 1;
  expect_broken(p, next, "prev_entry_hash");
  n = next;
  n.header.version = prev.header.version;
  expect_broken(prev, n, "version");
  n.header.version = prev.header.version - 1;
  expect_broken(prev, n, "version");
  n = next;
  n.header.term = prev.header.term - 1;
  expect_broken(prev, n, "term");
  p = prev;
  p.header.index = UINT64_MAX;
  n = next;
  n.header.index = 0;
  expect_broken(p, n, "consecutive");
}

}  // namespace
}  // namespace vellum::logchain
