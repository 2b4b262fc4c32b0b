// Copyright (c) Vellum authors.
//
// Shamir secret sharing over GF(2^8) (the AES field, polynomial x^8+x^4+x^3+x+1).
// A secret of any length is split into n shares with threshold k (1 <= k <= n <= 255);
// any k distinct shares of the same split give the secret back, fewer give no
// information about it. Field arithmetic is constant-time: no branches and no table
// lookups that depend on secret bytes.
//
// Integrity. Each share carries its split's random 16-byte identifier, the threshold,
// its index (the x coordinate, 1..255) and a checksum over all of that, so a share
// that was edited or truncated is reported as such. What is shared is not the bare
// secret but secret || tag, where tag = SHA-256("vellum-shamir-v1" || split id || k ||
// secret) truncated to 16 bytes; after interpolation the tag is checked, so shares
// tampered with consistently (checksum recomputed) are still detected instead of
// yielding a wrong secret. The tag is itself shared, so fewer than k shares reveal
// nothing about it either.
//
// Text form of a share (one line; docs/formats/shamir-share.md):
//   vellum-share-1-<hex of the binary encoding>
//
// Thread safety: all functions are thread-safe.

#ifndef VELLUM_CRYPTO_SHAMIR_H_
#define VELLUM_CRYPTO_SHAMIR_H_

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "crypto/secure_bytes.h"
#include "vellum/env.h"

namespace vellum::crypto {

struct ShamirShare {
  static constexpr size_t kSplitIdSize = 16;

  std::array<uint8_t, kSplitIdSize> split_id{};  // the same for every share of one split
  uint8_t threshold = 0;                         // k
  uint8_t index = 0;                             // x coordinate, 1..255
  SecureBytes data;                              // y values: secret length + 16 bytes
};

// Splits `secret` into `shares` shares, any `threshold` of which recover it.
// InvalidArgument unless 1 <= threshold <= shares <= 255. Randomness (the split id
// and the polynomial coefficients) comes from `random`.
Result<std::vector<ShamirShare>> ShamirSplit(ByteView secret, int threshold, int shares,
                                             RandomSource& random);

// Recovers the secret from `shares` (at least the threshold, any order; extra shares
// are used as a consistency check). Errors, each InvalidArgument or Corruption with a
// message that says which: no shares; fewer shares than the threshold; shares from
// different splits or with different thresholds or lengths; a repeated index; a share
// whose tag check fails after interpolation (tampered).
Result<SecureBytes> ShamirCombine(std::span<const ShamirShare> shares);

// The one-line text form, and its parser (Corruption for a damaged line,
// InvalidArgument for something that is not a share line at all, NotSupported for a
// share line of a later format version). DecodeShare ignores surrounding whitespace.
std::string EncodeShare(const ShamirShare& share);
Result<ShamirShare> DecodeShare(std::string_view line);

// What every share line starts with.
inline constexpr std::string_view kShareLinePrefix = "vellum-share-1-";

namespace shamir_internal {
// GF(2^8) arithmetic modulo x^8+x^4+x^3+x+1, constant-time; exposed for tests.
uint8_t GfMul(uint8_t a, uint8_t b);
// The multiplicative inverse, computed as a^254; GfInverse(0) is 0.
uint8_t GfInverse(uint8_t a);
}  // namespace shamir_internal

}  // namespace vellum::crypto

#endif  // VELLUM_CRYPTO_SHAMIR_H_
