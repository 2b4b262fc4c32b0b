// Copyright (c) Vellum authors.

#include "crypto/random.h"

#include <sodium.h>

#include <algorithm>

#include "crypto/sodium_init.h"

namespace vellum::crypto {
namespace {

class SodiumRandom final : public RandomSource {
 public:
  void Fill(std::span<uint8_t> out) override {
    if (out.empty()) return;  // libsodium declares the pointer non-null
    EnsureSodium();
    randombytes_buf(out.data(), out.size());
  }
};

}  // namespace

RandomSource& SystemRandom() {
  static SodiumRandom* const random = new SodiumRandom();
  return *random;
}

SeededRandom::SeededRandom(uint64_t seed) {
  for (int i = 0; i < 8; ++i) key_[i] = static_cast<uint8_t>(seed >> (8 * i));
}

void SeededRandom::Fill(std::span<uint8_t> out) {
  EnsureSodium();
  // Each call draws whole 64-byte ChaCha20 blocks from a running block counter, so
  // the stream depends only on the seed and the sequence of requested lengths.
  static constexpr size_t kBlock = 64;
  std::array<uint8_t, crypto_stream_chacha20_ietf_NONCEBYTES> nonce{};
  size_t done = 0;
  while (done < out.size()) {
    // The low 32 bits of the block counter are ChaCha20's own counter; the high bits
    // go into the nonce, so the stream never repeats.
    const uint32_t high = static_cast<uint32_t>(block_counter_ >> 32);
    for (int i = 0; i < 4; ++i) nonce[i] = static_cast<uint8_t>(high >> (8 * i));
    uint8_t block[kBlock] = {};
    crypto_stream_chacha20_ietf_xor_ic(block, block, kBlock, nonce.data(),
                                       static_cast<uint32_t>(block_counter_), key_.data());
    ++block_counter_;
    const size_t take = std::min(kBlock, out.size() - done);
    std::copy_n(block, take, out.data() + done);
    done += take;
  }
}

}  // namespace vellum::crypto
