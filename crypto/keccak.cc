// Copyright (c) Vellum authors.
//
// Keccak-256 as Ethereum uses it: the Keccak[r = 1088, c = 512] sponge over
// Keccak-f[1600] with the original multi-rate padding (a 0x01 byte after the
// message, 0x80 in the last byte of the block), not FIPS 202's 0x06 domain byte.
//
// The state is 25 64-bit lanes; lane (x, y) is state[x + 5 * y] and bytes are
// loaded into lanes little-endian, as the Keccak reference specifies.

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#include "crypto/hash.h"

namespace vellum::crypto {
namespace {

constexpr int kRounds = 24;
constexpr size_t kLanes = 25;
constexpr size_t kRateLanes = 17;  // 1088-bit rate

// The iota round constants RC[0..23].
constexpr std::array<uint64_t, kRounds> kRoundConstants = {
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
};

// rho and pi fused: starting from lane (1, 0), the t-th lane visited is rotated by
// kRhoOffsets[t] and moved to lane index kPiLanes[t], which is the next lane visited.
constexpr std::array<int, 24> kRhoOffsets = {
    1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
};
constexpr std::array<size_t, 24> kPiLanes = {
    10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
};

// The tables above, re-derived at compile time from the specification (FIPS 202
// section 3.2; the permutation is the same as in the Keccak submission).

// rc(t): the output of the LFSR x^8 + x^6 + x^5 + x^4 + 1 (FIPS 202 Algorithm 5).
constexpr bool RcBit(int t) {
  if (t % 255 == 0) return true;
  unsigned r = 1;  // bit i holds R[i]; R starts as 10000000
  for (int i = 1; i <= t % 255; ++i) {
    r <<= 1;                    // R = 0 || R
    if (r & 0x100) r ^= 0x171;  // R[0], R[4], R[5], R[6] ^= R[8]; R = Trunc8(R)
  }
  return (r & 1) != 0;
}

constexpr bool RoundConstantsMatchSpec() {
  for (int round = 0; round < kRounds; ++round) {
    uint64_t rc = 0;
    for (int j = 0; j <= 6; ++j) {
      if (RcBit(j + 7 * round)) rc |= uint64_t{1} << ((1 << j) - 1);
    }
    if (rc != kRoundConstants[round]) return false;
  }
  return true;
}
static_assert(RoundConstantsMatchSpec(), "Keccak round constants disagree with the LFSR");

// rho: the t-th lane of the walk (x, y) <- (y, 2x + 3y) from (1, 0) rotates by
// (t + 1)(t + 2) / 2 mod 64. pi moves lane (x, y) to (y, 2x + 3y): the same walk.
constexpr bool RhoPiTablesMatchSpec() {
  size_t x = 1;
  size_t y = 0;
  for (int t = 0; t < 24; ++t) {
    if (kRhoOffsets[t] != ((t + 1) * (t + 2) / 2) % 64) return false;
    const size_t next_x = y;
    const size_t next_y = (2 * x + 3 * y) % 5;
    if (kPiLanes[t] != next_x + 5 * next_y) return false;
    x = next_x;
    y = next_y;
  }
  return x == 1 && y == 0;  // the walk visits all 24 non-origin lanes and closes
}
static_assert(RhoPiTablesMatchSpec(), "Keccak rho/pi tables disagree with the specification");

using State = std::array<uint64_t, kLanes>;

void KeccakF1600(State& state) {
  // A local copy lets the compiler keep lanes in registers, and the unroll pragmas
  // (honoured by GCC and Clang) make every lane index a constant: together they
  // roughly triple GCC's throughput over the plain loops.
  uint64_t a[kLanes];
  std::memcpy(a, state.data(), sizeof(a));
  for (int round = 0; round < kRounds; ++round) {
    // theta
    uint64_t c[5];
#pragma GCC unroll 5
    for (size_t x = 0; x < 5; ++x) {
      c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    }
#pragma GCC unroll 5
    for (size_t x = 0; x < 5; ++x) {
      const uint64_t d = c[(x + 4) % 5] ^ std::rotl(c[(x + 1) % 5], 1);
#pragma GCC unroll 5
      for (size_t y = 0; y < 25; y += 5) a[y + x] ^= d;
    }
    // rho and pi
    uint64_t carried = a[1];
#pragma GCC unroll 24
    for (size_t t = 0; t < 24; ++t) {
      const size_t j = kPiLanes[t];
      const uint64_t displaced = a[j];
      a[j] = std::rotl(carried, kRhoOffsets[t]);
      carried = displaced;
    }
    // chi
#pragma GCC unroll 5
    for (size_t y = 0; y < 25; y += 5) {
      const uint64_t row[5] = {a[y], a[y + 1], a[y + 2], a[y + 3], a[y + 4]};
#pragma GCC unroll 5
      for (size_t x = 0; x < 5; ++x) {
        a[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
      }
    }
    // iota
    a[0] ^= kRoundConstants[round];
  }
  std::memcpy(state.data(), a, sizeof(a));
}

uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void StoreLe64(uint64_t v, uint8_t* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// XORs one rate-sized block into the state and permutes.
void AbsorbBlock(State& state, const uint8_t* block) {
  for (size_t i = 0; i < kRateLanes; ++i) state[i] ^= LoadLe64(block + 8 * i);
  KeccakF1600(state);
}

}  // namespace

Keccak256Hasher::Keccak256Hasher() = default;

Keccak256Hasher& Keccak256Hasher::Update(ByteView data) {
  static_assert(kRateBytes == kRateLanes * 8);
  const uint8_t* p = data.data();
  size_t n = data.size();
  if (n == 0) return *this;
  if (buffered_ > 0) {
    const size_t take = std::min(n, kRateBytes - buffered_);
    std::memcpy(buffer_.data() + buffered_, p, take);
    buffered_ += take;
    p += take;
    n -= take;
    if (buffered_ < kRateBytes) return *this;
    AbsorbBlock(state_, buffer_.data());
    buffered_ = 0;
  }
  for (; n >= kRateBytes; p += kRateBytes, n -= kRateBytes) AbsorbBlock(state_, p);
  if (n > 0) {
    std::memcpy(buffer_.data(), p, n);
    buffered_ = n;
  }
  return *this;
}

Hash256 Keccak256Hasher::Finish() {
  // Original Keccak pad10*1: 0x01 after the message, 0x80 in the block's last byte
  // (both in one byte, 0x81, when a single byte of the block is left).
  std::fill(buffer_.begin() + static_cast<std::ptrdiff_t>(buffered_), buffer_.end(), 0);
  buffer_[buffered_] ^= 0x01;
  buffer_[kRateBytes - 1] ^= 0x80;
  AbsorbBlock(state_, buffer_.data());

  Hash256 out;
  for (size_t i = 0; i < out.size() / 8; ++i) StoreLe64(state_[i], out.data() + 8 * i);

  // Reset for reuse (and so no message bytes linger in the object).
  state_.fill(0);
  buffer_.fill(0);
  buffered_ = 0;
  return out;
}

Hash256 Keccak256(ByteView data) {
  Keccak256Hasher hasher;
  hasher.Update(data);
  return hasher.Finish();
}

}  // namespace vellum::crypto
