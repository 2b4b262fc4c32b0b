// Copyright (c) Vellum authors.
//
// Helpers shared by the test binaries: Status assertions, hex test vectors and
// random bytes.

#ifndef VELLUM_TESTS_TEST_UTIL_H_
#define VELLUM_TESTS_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string_view>
#include <utility>

#include "base/bytes.h"
#include "vellum/result.h"
#include "vellum/status.h"

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const ::vellum::Status s_ = (expr);                     \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_.ToString(); \
  } while (false)
#define EXPECT_OK(expr)                                     \
  do {                                                      \
    const ::vellum::Status s_ = (expr);                     \
    EXPECT_TRUE(s_.ok()) << #expr << ": " << s_.ToString(); \
  } while (false)
#define EXPECT_CODE(expr, code_name)                                                         \
  do {                                                                                       \
    const ::vellum::Status s_ = (expr);                                                      \
    EXPECT_EQ(s_.code(), ::vellum::StatusCode::code_name) << #expr << ": " << s_.ToString(); \
  } while (false)

namespace vellum::testing {

// The bytes spelled by `hex` (a test vector). Bad hex fails the current test and
// yields no bytes.
inline Bytes HexBytes(std::string_view hex) {
  Result<Bytes> bytes = HexDecode(hex);
  if (!bytes.ok()) {
    ADD_FAILURE() << "bad hex in a test vector: " << bytes.status().ToString();
    return Bytes();
  }
  return std::move(bytes).value();
}

// `n` bytes drawn from `rng`, one byte per draw.
inline Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

}  // namespace vellum::testing

#endif  // VELLUM_TESTS_TEST_UTIL_H_
