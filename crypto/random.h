// Copyright (c) Vellum authors.
//
// Random sources for cryptography. Functions that need randomness take a
// RandomSource& (vellum/env.h) so that deterministic tests and simulations can pass
// a seeded one; production code passes SystemRandom() or Env::Random().

#ifndef VELLUM_CRYPTO_RANDOM_H_
#define VELLUM_CRYPTO_RANDOM_H_

#include <array>
#include <cstdint>

#include "vellum/env.h"

namespace vellum::crypto {

// The operating system's CSPRNG (through libsodium). Thread-safe; never deleted.
RandomSource& SystemRandom();

// A deterministic stream (ChaCha20 keyed by `seed`), for tests and simulations only:
// the same seed always yields the same bytes. Not thread-safe.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed);
  void Fill(std::span<uint8_t> out) override;

 private:
  std::array<uint8_t, 32> key_{};
  uint64_t block_counter_ = 0;
};

}  // namespace vellum::crypto

#endif  // VELLUM_CRYPTO_RANDOM_H_
