// Copyright (c) Vellum authors.
//
// Hash: the 256-bit digests the ledger speaks in (state roots, log entry hashes,
// Merkle roots), with hex conversion for people and JSON.
//
// Thread safety: a value type.

#ifndef VELLUM_HASH_H_
#define VELLUM_HASH_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "vellum/result.h"

namespace vellum {

using Hash = std::array<uint8_t, 32>;

// 64 lowercase hex digits.
std::string HashToHex(const Hash& hash);
// InvalidArgument unless `hex` is exactly 64 hex digits (either case).
Result<Hash> HashFromHex(std::string_view hex);

}  // namespace vellum

#endif  // VELLUM_HASH_H_
