// Copyright (c) Vellum authors.
//
// Helpers shared by the logchain tests: a fatal status-code assertion, hash literals
// and test key holders.

#ifndef VELLUM_TESTS_DB_LOGCHAIN_LOGCHAIN_TEST_UTIL_H_
#define VELLUM_TESTS_DB_LOGCHAIN_LOGCHAIN_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/sealed_box.h"
#include "db/logchain/share_set.h"
#include "tests/test_util.h"

#define ASSERT_CODE(expr, code_name)                                                         \
  do {                                                                                       \
    const ::vellum::Status s_ = (expr);                                                      \
    ASSERT_EQ(s_.code(), ::vellum::StatusCode::code_name) << #expr << ": " << s_.ToString(); \
  } while (false)

namespace vellum::logchain::testing {

// 32 bytes of `b`.
inline crypto::Hash256 Filled(uint8_t b) {
  crypto::Hash256 h;
  h.fill(b);
  return h;
}

// A hash from 64 hex digits.
inline crypto::Hash256 H(std::string_view hex) {
  const Bytes b = ::vellum::testing::HexBytes(hex);
  crypto::Hash256 h{};
  EXPECT_EQ(b.size(), h.size());
  std::copy_n(b.begin(), std::min(b.size(), h.size()), h.begin());
  return h;
}

// `n` holders with deterministic key pairs, threshold `k`.
struct Holders {
  std::vector<crypto::X25519KeyPair> keys;
  KeyHolders policy;
};
inline Holders MakeHolders(int n, int k, uint64_t seed) {
  crypto::SeededRandom random(seed);
  Holders h;
  for (int i = 0; i < n; ++i) {
    h.keys.push_back(crypto::X25519KeyPair::Generate(random));
    h.policy.holders.push_back(h.keys.back().public_key());
  }
  h.policy.threshold = k;
  return h;
}

}  // namespace vellum::logchain::testing

#endif  // VELLUM_TESTS_DB_LOGCHAIN_LOGCHAIN_TEST_UTIL_H_
