// Copyright (c) Vellum authors.

#include <cstdint>

#include "vellum/check.h"
#include "vellum/env.h"

namespace vellum {

uint64_t RandomSource::Uniform(uint64_t bound) {
  VELLUM_CHECK_GT(bound, 0u);
  // Rejection sampling: draw until the value falls below the largest multiple of
  // `bound`, so every result is equally likely.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
  for (;;) {
    uint8_t buf[8];
    Fill(buf);
    uint64_t v = 0;
    for (uint8_t b : buf) v = (v << 8) | b;
    if (v < limit) return v % bound;
  }
}

}  // namespace vellum
