// Copyright (c) Vellum authors.

#include "crypto/shamir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace vellum::crypto {
namespace {

using shamir_internal::GfInverse;
using shamir_internal::GfMul;
using ::testing::HasSubstr;

// Carry-less multiply, then reduce modulo x^8+x^4+x^3+x+1, bit by bit.
uint8_t SlowGfMul(uint8_t a, uint8_t b) {
  uint32_t product = 0;
  for (int i = 0; i < 8; ++i) {
    if ((b >> i) & 1) product ^= static_cast<uint32_t>(a) << i;
  }
  for (int bit = 14; bit >= 8; --bit) {
    if ((product >> bit) & 1) product ^= 0x11Bu << (bit - 8);
  }
  return static_cast<uint8_t>(product);
}

std::string ToString(const SecureBytes& b) { return std::string(AsChars(b.view())); }

std::vector<ShamirShare> Split(ByteView secret, int k, int n, RandomSource& random) {
  auto shares = ShamirSplit(secret, k, n, random);
  EXPECT_TRUE(shares.ok()) << shares.status().ToString();
  return std::move(shares).value();
}

ShamirShare CloneShare(const ShamirShare& s) {
  ShamirShare out;
  out.split_id = s.split_id;
  out.threshold = s.threshold;
  out.index = s.index;
  out.data = s.data.Clone();
  return out;
}

// The shares whose positions are the set bits of `mask`.
std::vector<ShamirShare> Pick(const std::vector<ShamirShare>& shares, uint32_t mask) {
  std::vector<ShamirShare> out;
  for (size_t i = 0; i < shares.size(); ++i) {
    if ((mask >> i) & 1) out.push_back(CloneShare(shares[i]));
  }
  return out;
}

std::vector<ShamirShare> Pick(const std::vector<ShamirShare>& shares,
                              std::initializer_list<size_t> positions) {
  std::vector<ShamirShare> out;
  for (size_t p : positions) out.push_back(CloneShare(shares[p]));
  return out;
}

void ExpectSameShare(const ShamirShare& a, const ShamirShare& b) {
  EXPECT_EQ(a.split_id, b.split_id);
  EXPECT_EQ(a.threshold, b.threshold);
  EXPECT_EQ(a.index, b.index);
  EXPECT_TRUE(a.data == b.data);
}

// A share line built by hand from docs/formats/shamir-share.md, with any field values.
std::string HandMadeLine(uint8_t version, uint8_t threshold, uint8_t index, uint32_t length_field,
                         const Bytes& data, bool good_checksum = true) {
  Bytes binary = {'V', 'S', version};
  for (int i = 0; i < 16; ++i) binary.push_back(static_cast<uint8_t>(0xA0 + i));
  binary.push_back(threshold);
  binary.push_back(index);
  PutFixed32BE(&binary, length_field);
  binary.insert(binary.end(), data.begin(), data.end());
  Hash256 checksum = Sha256(binary);
  if (!good_checksum) checksum[0] ^= 1;
  binary.insert(binary.end(), checksum.begin(), checksum.begin() + 4);
  return "vellum-share-1-" + HexEncode(binary);
}

// --- field arithmetic -----------------------------------------------------------

TEST(ShamirGf256Test, MultiplicationMatchesReferenceForAllPairs) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      ASSERT_EQ(GfMul(static_cast<uint8_t>(a), static_cast<uint8_t>(b)),
                SlowGfMul(static_cast<uint8_t>(a), static_cast<uint8_t>(b)))
          << a << " * " << b;
    }
  }
}

TEST(ShamirGf256Test, KnownProducts) {
  // FIPS 197 section 4.2: {57} * {83} = {c1}, {57} * {13} = {fe}.
  EXPECT_EQ(GfMul(0x57, 0x83), 0xC1);
  EXPECT_EQ(GfMul(0x57, 0x13), 0xFE);
  EXPECT_EQ(GfMul(0x53, 0xCA), 0x01);  // the classic inverse pair
}

TEST(ShamirGf256Test, InverseTimesValueIsOne) {
  EXPECT_EQ(GfInverse(0), 0);
  for (int a = 1; a < 256; ++a) {
    const uint8_t inverse = GfInverse(static_cast<uint8_t>(a));
    ASSERT_EQ(GfMul(static_cast<uint8_t>(a), inverse), 1) << a;
    ASSERT_EQ(SlowGfMul(static_cast<uint8_t>(a), inverse), 1) << a;
  }
  EXPECT_EQ(GfInverse(0x53), 0xCA);
}

// --- split and combine --------------------------------------------------------------

TEST(ShamirSplitTest, EveryKSubsetRecoversTheSecret) {
  SeededRandom random(1);
  const std::string secret = "correct horse battery staple";
  for (int n = 1; n <= 6; ++n) {
    for (int k = 1; k <= n; ++k) {
      std::vector<ShamirShare> shares = Split(AsBytes(secret), k, n, random);
      ASSERT_EQ(shares.size(), static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) {
        EXPECT_EQ(shares[i].index, i + 1);
        EXPECT_EQ(shares[i].threshold, k);
        EXPECT_EQ(shares[i].data.size(), secret.size() + 16);
        EXPECT_EQ(shares[i].split_id, shares[0].split_id);
      }
      for (uint32_t mask = 0; mask < (1u << n); ++mask) {
        const int count = std::popcount(mask);
        std::vector<ShamirShare> subset = Pick(shares, mask);
        auto result = ShamirCombine(subset);
        if (count < k) {
          ASSERT_FALSE(result.ok()) << "n=" << n << " k=" << k << " mask=" << mask;
          EXPECT_TRUE(result.status().IsInvalidArgument());
          continue;
        }
        // Exactly k shares, and more than k (the extras are cross-checked).
        ASSERT_TRUE(result.ok()) << "n=" << n << " k=" << k << " mask=" << mask << ": "
                                 << result.status().ToString();
        EXPECT_EQ(ToString(*result), secret);
        // Any order works.
        std::reverse(subset.begin(), subset.end());
        auto reversed = ShamirCombine(subset);
        ASSERT_TRUE(reversed.ok()) << reversed.status().ToString();
        EXPECT_EQ(ToString(*reversed), secret);
      }
    }
  }
}

TEST(ShamirSplitTest, MaximumShareCountWithThresholdTwo) {
  SeededRandom random(2);
  const std::string secret = "short";
  std::vector<ShamirShare> shares = Split(AsBytes(secret), 2, 255, random);
  ASSERT_EQ(shares.size(), 255u);
  EXPECT_EQ(shares.back().index, 255);
  for (auto pair : std::vector<std::pair<size_t, size_t>>{
           {0, 1}, {0, 254}, {253, 254}, {127, 128}, {200, 3}, {42, 17}}) {
    auto result = ShamirCombine(Pick(shares, {pair.first, pair.second}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(ToString(*result), secret);
  }
  auto all = ShamirCombine(shares);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(ToString(*all), secret);
}

TEST(ShamirSplitTest, MaximumThreshold) {
  SeededRandom random(3);
  const std::string secret = "k=255";
  std::vector<ShamirShare> shares = Split(AsBytes(secret), 255, 255, random);
  auto result = ShamirCombine(shares);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(ToString(*result), secret);

  std::reverse(shares.begin(), shares.end());
  auto reversed = ShamirCombine(shares);
  ASSERT_TRUE(reversed.ok()) << reversed.status().ToString();
  EXPECT_EQ(ToString(*reversed), secret);

  shares.pop_back();
  auto too_few = ShamirCombine(shares);
  ASSERT_FALSE(too_few.ok());
  EXPECT_TRUE(too_few.status().IsInvalidArgument());
  EXPECT_EQ(too_few.status().message(), "need 255 shares, got 254");
}

TEST(ShamirSplitTest, MoreThanThresholdSharesRecover) {
  SeededRandom random(4);
  const std::string secret = "more than enough";
  std::vector<ShamirShare> shares = Split(AsBytes(secret), 3, 7, random);
  for (size_t count = 3; count <= 7; ++count) {
    std::vector<ShamirShare> subset;
    for (size_t i = 0; i < count; ++i) subset.push_back(CloneShare(shares[6 - i]));
    auto result = ShamirCombine(subset);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(ToString(*result), secret);
  }
}

TEST(ShamirSplitTest, RandomSecretsOfManyLengths) {
  SeededRandom random(5);
  for (size_t length : {0,  1,   2,   15,   16,   17,   31,   32,   33,   63,   64,
                        65, 255, 256, 1000, 1023, 1024, 1025, 2048, 2049, 4095, 4096}) {
    SecureBytes secret(length);
    random.Fill(secret.span());
    const int n = 2 + static_cast<int>(random.Uniform(5));
    const int k = 1 + static_cast<int>(random.Uniform(static_cast<uint64_t>(n)));
    std::vector<ShamirShare> shares = Split(secret.view(), k, n, random);
    // A random k-subset, in random order.
    std::vector<size_t> order(static_cast<size_t>(n));
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[random.Uniform(i + 1)]);
    std::vector<ShamirShare> subset;
    for (int i = 0; i < k; ++i) subset.push_back(CloneShare(shares[order[i]]));
    auto result = ShamirCombine(subset);
    ASSERT_TRUE(result.ok()) << "length " << length << ": " << result.status().ToString();
    EXPECT_TRUE(*result == secret) << "length " << length;
    EXPECT_EQ(result->size(), length);
  }
}

TEST(ShamirSplitTest, ThresholdOneGivesThePayloadInEveryShare) {
  SeededRandom random(6);
  std::vector<ShamirShare> shares = Split(AsBytes("abc"), 1, 3, random);
  for (const ShamirShare& share : shares) {
    EXPECT_EQ(AsChars(share.data.view().first(3)), "abc");
    EXPECT_TRUE(share.data == shares[0].data);
    auto result = ShamirCombine(Pick(shares, {static_cast<size_t>(share.index - 1)}));
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(ToString(*result), "abc");
  }
}

TEST(ShamirSplitTest, SameSeedSameShares) {
  SeededRandom a(7);
  SeededRandom b(7);
  std::vector<ShamirShare> first = Split(AsBytes("deterministic"), 2, 3, a);
  std::vector<ShamirShare> second = Split(AsBytes("deterministic"), 2, 3, b);
  for (size_t i = 0; i < first.size(); ++i) ExpectSameShare(first[i], second[i]);
}

TEST(ShamirSplitTest, RejectsBadParameters) {
  SeededRandom random(8);
  const ByteView secret = AsBytes("x");
  for (auto [k, n] : std::vector<std::pair<int, int>>{
           {0, 3}, {-1, 3}, {4, 3}, {1, 0}, {0, 0}, {2, 256}, {256, 256}, {1, -5}}) {
    auto result = ShamirSplit(secret, k, n, random);
    ASSERT_FALSE(result.ok()) << "k=" << k << " n=" << n;
    EXPECT_TRUE(result.status().IsInvalidArgument()) << result.status().ToString();
  }
  EXPECT_TRUE(ShamirSplit(secret, 255, 255, random).ok());
  EXPECT_TRUE(ShamirSplit(secret, 1, 1, random).ok());
}

// --- combine errors --------------------------------------------------------------

class ShamirCombineErrorTest : public ::testing::Test {
 protected:
  void SetUp() override { shares_ = Split(AsBytes("the secret"), 3, 5, random_); }

  Status CombineStatus(const std::vector<ShamirShare>& shares) {
    auto result = ShamirCombine(shares);
    EXPECT_FALSE(result.ok());
    return result.ok() ? Status::OK() : result.status();
  }

  SeededRandom random_{9};
  std::vector<ShamirShare> shares_;
};

TEST_F(ShamirCombineErrorTest, NoShares) {
  Status s = CombineStatus({});
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "no shares given");
}

TEST_F(ShamirCombineErrorTest, FewerThanThreshold) {
  Status s = CombineStatus(Pick(shares_, {0, 4}));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "need 3 shares, got 2");
  // Every (k-1)-subset fails the same way.
  for (uint32_t mask = 0; mask < 32; ++mask) {
    if (std::popcount(mask) != 2) continue;
    EXPECT_TRUE(CombineStatus(Pick(shares_, mask)).IsInvalidArgument());
  }
}

TEST_F(ShamirCombineErrorTest, DifferentSplits) {
  std::vector<ShamirShare> other = Split(AsBytes("the secret"), 3, 5, random_);
  std::vector<ShamirShare> mixed = Pick(shares_, {0, 1});
  mixed.push_back(CloneShare(other[2]));
  Status s = CombineStatus(mixed);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "shares come from different splits");
}

TEST_F(ShamirCombineErrorTest, SharesOfAnotherSplitWithAForgedIdAreDetected) {
  std::vector<ShamirShare> other = Split(AsBytes("the secret"), 3, 5, random_);
  std::vector<ShamirShare> mixed = Pick(shares_, {0, 1});
  mixed.push_back(CloneShare(other[2]));
  mixed.back().split_id = shares_[0].split_id;
  Status s = CombineStatus(mixed);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_THAT(s.message(), HasSubstr("at least one share was altered"));
}

TEST_F(ShamirCombineErrorTest, MismatchedThreshold) {
  std::vector<ShamirShare> picked = Pick(shares_, {0, 1, 2});
  picked[1].threshold = 2;
  Status s = CombineStatus(picked);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_THAT(s.message(), HasSubstr("threshold"));
}

TEST_F(ShamirCombineErrorTest, LoweredThresholdOnEveryShareIsDetected) {
  // An attacker who rewrites k on all shares gets an interpolation through the wrong
  // number of points; the tag (which covers k) catches it.
  std::vector<ShamirShare> picked = Pick(shares_, {0, 1});
  for (ShamirShare& share : picked) share.threshold = 2;
  Status s = CombineStatus(picked);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(s.message(),
            "shares do not reconstruct a valid secret: at least one share was altered");
}

TEST_F(ShamirCombineErrorTest, MismatchedDataLength) {
  std::vector<ShamirShare> picked = Pick(shares_, {0, 1, 2});
  picked[2].data.Truncate(picked[2].data.size() - 1);
  Status s = CombineStatus(picked);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_THAT(s.message(), HasSubstr("data length"));
}

TEST_F(ShamirCombineErrorTest, RepeatedIndex) {
  Status s = CombineStatus(Pick(shares_, {0, 3, 3}));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "share index 4 appears twice");
}

TEST_F(ShamirCombineErrorTest, IndexZero) {
  std::vector<ShamirShare> picked = Pick(shares_, {0, 1, 2});
  picked[1].index = 0;
  Status s = CombineStatus(picked);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_THAT(s.message(), HasSubstr("index 0"));
}

TEST_F(ShamirCombineErrorTest, ThresholdZeroAndShortData) {
  std::vector<ShamirShare> picked = Pick(shares_, {0, 1, 2});
  for (ShamirShare& share : picked) share.threshold = 0;
  EXPECT_TRUE(CombineStatus(picked).IsCorruption());

  picked = Pick(shares_, {0, 1, 2});
  for (ShamirShare& share : picked) share.data.Truncate(15);
  EXPECT_TRUE(CombineStatus(picked).IsCorruption());
}

TEST_F(ShamirCombineErrorTest, TamperedDataWithRecomputedChecksumFailsTheTag) {
  for (size_t victim = 0; victim < 3; ++victim) {
    for (size_t byte : {size_t{0}, size_t{5}, shares_[0].data.size() - 1}) {
      std::vector<ShamirShare> picked = Pick(shares_, {0, 1, 2});
      picked[victim].data[byte] ^= 0x01;
      // The checksum of the re-encoded line is valid: only the tag can tell.
      auto decoded = DecodeShare(EncodeShare(picked[victim]));
      ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
      picked[victim] = std::move(decoded).value();
      Status s = CombineStatus(picked);
      EXPECT_TRUE(s.IsCorruption());
      EXPECT_EQ(s.message(),
                "shares do not reconstruct a valid secret: at least one share was altered");
    }
  }
}

TEST_F(ShamirCombineErrorTest, TamperedExtraShareIsNamed) {
  std::vector<ShamirShare> picked = Pick(shares_, {0, 1, 2, 3, 4});
  picked[3].data[2] ^= 0x80;  // index 4, beyond the first k
  Status s = CombineStatus(picked);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_THAT(s.message(), HasSubstr("share index 4"));
  EXPECT_THAT(s.message(), HasSubstr("inconsistent"));
}

// --- encoding --------------------------------------------------------------------

TEST(ShamirEncodingTest, RoundTrip) {
  SeededRandom random(10);
  for (size_t length : {0, 1, 100}) {
    SecureBytes secret(length);
    random.Fill(secret.span());
    for (const ShamirShare& share : Split(secret.view(), 2, 4, random)) {
      const std::string line = EncodeShare(share);
      EXPECT_TRUE(line.starts_with("vellum-share-1-")) << line;
      EXPECT_EQ(line.size(), 15 + 2 * (25 + length + 16 + 4));
      EXPECT_EQ(line.find_first_not_of("0123456789abcdef", 15), std::string::npos);
      auto decoded = DecodeShare(line);
      ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
      ExpectSameShare(*decoded, share);
      EXPECT_EQ(EncodeShare(*decoded), line);
    }
  }
}

TEST(ShamirEncodingTest, KnownAnswer) {
  ShamirShare share;
  for (int i = 0; i < 16; ++i) share.split_id[i] = static_cast<uint8_t>(0xA0 + i);
  share.threshold = 2;
  share.index = 3;
  share.data = SecureBytes(16);
  for (int i = 0; i < 16; ++i) share.data[i] = static_cast<uint8_t>(i);
  Bytes data(16);
  for (int i = 0; i < 16; ++i) data[i] = static_cast<uint8_t>(i);
  const std::string expected = HandMadeLine(1, 2, 3, 16, data);
  EXPECT_EQ(EncodeShare(share), expected);
  // The layout itself, spelled out: "VS", version 1, id, k, x, length, data, checksum.
  EXPECT_TRUE(expected.starts_with(
      "vellum-share-1-"
      "565301a0a1a2a3a4a5a6a7a8a9aaabacadaeaf020300000010000102030405060708090a0b0c0d"
      "0e0f"))
      << expected;
}

TEST(ShamirEncodingTest, AcceptsSurroundingWhitespaceAndUpperCaseHex) {
  SeededRandom random(11);
  std::vector<ShamirShare> shares = Split(AsBytes("ws"), 2, 2, random);
  const std::string line = EncodeShare(shares[0]);
  auto padded = DecodeShare("  \t" + line + " \r\n");
  ASSERT_TRUE(padded.ok()) << padded.status().ToString();
  ExpectSameShare(*padded, shares[0]);

  std::string upper = line;
  std::transform(upper.begin() + 15, upper.end(), upper.begin() + 15,
                 [](char c) { return static_cast<char>(std::toupper(c)); });
  auto decoded = DecodeShare(upper);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSameShare(*decoded, shares[0]);
}

TEST(ShamirEncodingTest, NotAShareLine) {
  for (std::string_view line : {"", "   ", "hello", "vellum-share-", "VELLUM-SHARE-1-00",
                                "# vellum-share-1-00", "vellum-share-x-00"}) {
    auto result = DecodeShare(line);
    ASSERT_FALSE(result.ok()) << line;
    EXPECT_TRUE(result.status().IsInvalidArgument()) << line << ": " << result.status().ToString();
    EXPECT_THAT(result.status().message(), HasSubstr("not a Vellum share line"));
  }
}

TEST(ShamirEncodingTest, LaterVersionIsNotSupported) {
  auto result = DecodeShare("vellum-share-2-0011");
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.status().IsNotSupported()) << result.status().ToString();
}

TEST(ShamirEncodingTest, DamagedLinesAreCorruption) {
  SeededRandom random(12);
  std::vector<ShamirShare> shares = Split(AsBytes("damage"), 2, 2, random);
  const std::string line = EncodeShare(shares[0]);
  const Bytes data(22, 0x5A);  // "damage" + tag: 22 bytes
  struct Case {
    std::string line;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"vellum-share-1-", "too short"},
      {line.substr(0, line.size() - 1), "odd number of hex digits"},
      {line.substr(0, line.size() - 2), "checksum mismatch"},
      {line + "00", "checksum mismatch"},
      {line.substr(0, 40) + "g" + line.substr(41), "non-hex character at position 40"},
      {line.substr(0, 41) + " " + line.substr(42), "non-hex character at position 41"},
      {HandMadeLine(1, 2, 1, 22, data, /*good_checksum=*/false), "checksum mismatch"},
      {HandMadeLine(1, 0, 1, 22, data), "threshold 0"},
      {HandMadeLine(1, 2, 0, 22, data), "index 0"},
      {HandMadeLine(1, 2, 1, 21, data), "length field"},
      {HandMadeLine(1, 2, 1, 23, data), "length field"},
      {HandMadeLine(1, 2, 1, 0xFFFFFFFF, data), "length field"},
      {HandMadeLine(2, 2, 1, 22, data), "version"},
      {HandMadeLine(1, 2, 1, 15, Bytes(15, 1)), "too short"},
  };
  for (const Case& c : cases) {
    auto result = DecodeShare(c.line);
    ASSERT_FALSE(result.ok()) << c.line;
    EXPECT_TRUE(result.status().IsCorruption()) << c.line << ": " << result.status().ToString();
    EXPECT_THAT(result.status().message(), HasSubstr("share line is damaged"));
    EXPECT_THAT(result.status().message(), HasSubstr(c.message)) << c.line;
  }
  // A hand-made line with every field valid decodes.
  auto good = DecodeShare(HandMadeLine(1, 2, 1, 22, data));
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->index, 1);
  EXPECT_EQ(good->threshold, 2);
  EXPECT_EQ(good->data.size(), 22u);
  // Maximal index and threshold are fine.
  EXPECT_TRUE(DecodeShare(HandMadeLine(1, 255, 255, 22, data)).ok());
}

TEST(ShamirEncodingTest, EverySingleBitFlipIsRejected) {
  SeededRandom random(13);
  std::vector<ShamirShare> shares = Split(AsBytes("bit flips"), 2, 3, random);
  const std::string line = EncodeShare(shares[1]);
  auto binary = HexDecode(std::string_view(line).substr(15));
  ASSERT_TRUE(binary.ok());
  for (size_t byte = 0; byte < binary->size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes flipped = *binary;
      flipped[byte] ^= static_cast<uint8_t>(1u << bit);
      auto result = DecodeShare("vellum-share-1-" + HexEncode(flipped));
      ASSERT_FALSE(result.ok()) << "byte " << byte << " bit " << bit;
      EXPECT_TRUE(result.status().IsCorruption());
    }
  }
}

TEST(ShamirEncodingTest, ErrorMessagesCarryNoShareData) {
  SeededRandom random(14);
  std::vector<ShamirShare> shares = Split(AsBytes("no leaks"), 2, 2, random);
  const std::string line = EncodeShare(shares[0]);
  const std::string hex = line.substr(15);
  std::string damaged = line;
  damaged[20] = damaged[20] == '0' ? '1' : '0';
  for (const std::string& bad : {damaged, line.substr(0, line.size() - 2), line + "zz"}) {
    auto result = DecodeShare(bad);
    ASSERT_FALSE(result.ok());
    // No run of 8 hex digits from the line shows up in the message.
    for (size_t i = 0; i + 8 <= hex.size(); i += 8) {
      EXPECT_EQ(result.status().message().find(hex.substr(i, 8)), std::string::npos);
    }
  }
}

// --- secrecy sanity ----------------------------------------------------------------

TEST(ShamirSecrecyTest, SingleShareDoesNotEqualTheSecret) {
  SeededRandom random(15);
  for (int k = 2; k <= 5; ++k) {
    for (int trial = 0; trial < 20; ++trial) {
      SecureBytes secret(32);
      random.Fill(secret.span());
      for (const ShamirShare& share : Split(secret.view(), k, 5, random)) {
        EXPECT_FALSE(ConstantTimeEquals(share.data.view().first(32), secret.view()));
      }
    }
  }
}

TEST(ShamirSecrecyTest, ShareBytesOfAFixedSecretLookUniform) {
  // With k = 2, share x = 1 of the byte s is s + c for a uniform c: every value should
  // turn up, none far more often than 1/256 of the time.
  SeededRandom random(16);
  constexpr int kTrials = 12800;
  std::array<int, 256> counts{};
  for (int trial = 0; trial < kTrials; ++trial) {
    std::vector<ShamirShare> shares = Split(AsBytes("B"), 2, 2, random);
    ++counts[shares[0].data[0]];
  }
  const auto [min, max] = std::minmax_element(counts.begin(), counts.end());
  EXPECT_GT(*min, 15);  // expected 50 each
  EXPECT_LT(*max, 95);
  EXPECT_LT(counts['B'], 95);
}

}  // namespace
}  // namespace vellum::crypto
