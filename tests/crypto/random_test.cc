// Copyright (c) Vellum authors.

#include "crypto/random.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace vellum::crypto {
namespace {

Bytes Draw(RandomSource& random, size_t n) {
  Bytes out(n);
  random.Fill(out);
  return out;
}

TEST(SeededRandomTest, SameSeedSameStream) {
  SeededRandom a(12345);
  SeededRandom b(12345);
  EXPECT_EQ(Draw(a, 1000), Draw(b, 1000));
  // And it continues identically.
  EXPECT_EQ(Draw(a, 10), Draw(b, 10));
}

TEST(SeededRandomTest, SameSeedSameLengthsSameBytes) {
  // The stream depends on the seed and the sequence of requested lengths only.
  const std::vector<size_t> lengths = {1, 0, 63, 64, 65, 7, 200, 128, 3};
  SeededRandom a(99);
  SeededRandom b(99);
  for (size_t length : lengths) {
    EXPECT_EQ(Draw(a, length), Draw(b, length)) << length;
  }
}

TEST(SeededRandomTest, OneCallEqualsWholeBlockRequests) {
  // Requests in whole 64-byte blocks read the same stream as one large request.
  SeededRandom one_call(7);
  SeededRandom pieces(7);
  const Bytes whole = Draw(one_call, 64 * 10);
  Bytes joined;
  for (size_t length : {size_t{64}, size_t{128}, size_t{64}, size_t{320}, size_t{64}}) {
    const Bytes piece = Draw(pieces, length);
    joined.insert(joined.end(), piece.begin(), piece.end());
  }
  EXPECT_EQ(whole, joined);
}

TEST(SeededRandomTest, ChaCha20KnownAnswer) {
  // Seed 0 keys ChaCha20 with 32 zero bytes, nonce 0, counter 0: the stream is the
  // keystream of RFC 8439 Appendix A.1, test vectors #1 (block 0) and #2 (block 1).
  SeededRandom random(0);
  EXPECT_EQ(HexEncode(Draw(random, 64)),
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
            "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");
  EXPECT_EQ(HexEncode(Draw(random, 64)),
            "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
            "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f");
}

TEST(SeededRandomTest, DifferentSeedsDiffer) {
  const std::vector<uint64_t> seeds = {0,          1,          2,          255,           256,
                                       1ull << 32, 1ull << 56, UINT64_MAX, UINT64_MAX - 1};
  std::set<Bytes> outputs;
  for (uint64_t seed : seeds) {
    SeededRandom random(seed);
    outputs.insert(Draw(random, 32));
  }
  EXPECT_EQ(outputs.size(), seeds.size());
}

TEST(SeededRandomTest, StreamDoesNotRepeatBlocks) {
  SeededRandom random(3);
  const Bytes stream = Draw(random, 64 * 1024);
  std::set<Bytes> blocks;
  for (size_t offset = 0; offset < stream.size(); offset += 64) {
    blocks.insert(Bytes(stream.begin() + static_cast<std::ptrdiff_t>(offset),
                        stream.begin() + static_cast<std::ptrdiff_t>(offset + 64)));
  }
  EXPECT_EQ(blocks.size(), stream.size() / 64);
}

TEST(SeededRandomTest, EmptyFillIsANoOp) {
  SeededRandom a(5);
  SeededRandom b(5);
  Bytes empty;
  a.Fill(empty);
  EXPECT_EQ(Draw(a, 64), Draw(b, 64));
}

TEST(SeededRandomTest, UniformStaysInBoundsAndHitsEveryValue) {
  SeededRandom random(42);
  for (uint64_t bound : {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{7}, uint64_t{10}}) {
    std::vector<int> hits(bound, 0);
    for (int i = 0; i < 2000; ++i) {
      const uint64_t v = random.Uniform(bound);
      ASSERT_LT(v, bound);
      ++hits[v];
    }
    for (uint64_t v = 0; v < bound; ++v)
      EXPECT_GT(hits[v], 0) << "bound " << bound << " value " << v;
  }
}

TEST(SeededRandomTest, UniformLargeBounds) {
  SeededRandom random(43);
  const uint64_t bounds[] = {(1ull << 63) + 1, UINT64_MAX, UINT64_MAX - 1, 1ull << 32};
  for (uint64_t bound : bounds) {
    for (int i = 0; i < 1000; ++i) ASSERT_LT(random.Uniform(bound), bound);
  }
}

TEST(SeededRandomTest, UniformIsDeterministicBySeed) {
  SeededRandom a(44);
  SeededRandom b(44);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.Uniform(1000), b.Uniform(1000));
}

TEST(SeededRandomDeathTest, UniformOfZeroIsACheckFailure) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  SeededRandom random(1);
  EXPECT_DEATH(random.Uniform(0), "check failed");
}

TEST(SystemRandomTest, ReturnsDifferentBytes) {
  RandomSource& random = SystemRandom();
  const Bytes a = Draw(random, 32);
  const Bytes b = Draw(random, 32);
  EXPECT_NE(a, b);
  EXPECT_NE(a, Bytes(32, 0));
}

TEST(SystemRandomTest, IsOneObject) { EXPECT_EQ(&SystemRandom(), &SystemRandom()); }

TEST(SystemRandomTest, EmptyFillIsANoOp) {
  // An empty span may have a null data pointer, which must not reach libsodium.
  Bytes empty;
  SystemRandom().Fill(empty);
  SystemRandom().Fill(std::span<uint8_t>());
  EXPECT_TRUE(empty.empty());
}

TEST(SystemRandomTest, FillsLargeBuffers) {
  RandomSource& random = SystemRandom();
  const Bytes big = Draw(random, 1 << 16);
  // 64 KiB of CSPRNG output has every byte value.
  std::set<uint8_t> values(big.begin(), big.end());
  EXPECT_EQ(values.size(), 256u);
}

TEST(SystemRandomTest, UniformStaysInBoundsAndHitsEveryValue) {
  RandomSource& random = SystemRandom();
  std::vector<int> hits(6, 0);
  for (int i = 0; i < 2000; ++i) {
    const uint64_t v = random.Uniform(6);
    ASSERT_LT(v, 6u);
    ++hits[v];
  }
  for (int count : hits) EXPECT_GT(count, 0);
}

}  // namespace
}  // namespace vellum::crypto
