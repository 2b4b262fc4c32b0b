// Copyright (c) Vellum authors.
//
// Crypto benchmarks. The honest baseline for our own Keccak-256 is OpenSSL's
// SHA3-256 (the same Keccak-f[1600] permutation, a different padding), measured in
// the same run; the other primitives are thin wrappers whose cost is the library's.

#include <openssl/evp.h>

#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "bench/bench_harness.h"
#include "crypto/aead.h"
#include "crypto/aes_siv.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/shamir.h"
#include "vellum/check.h"

namespace vellum::bench {
namespace {

// A benchmark sink: results flow into it so the optimiser cannot drop the work.
volatile uint8_t g_sink = 0;

Bytes RandomBytes(RandomSource& random, size_t n) {
  Bytes out(n);
  random.Fill(out);
  return out;
}

std::string SizeConditions(size_t size) { return std::to_string(size) + " B messages, 1 thread"; }

// Runs `fn(message)` over each --sizes message size.
template <typename Fn>
void ForEachSize(Fn fn) {
  crypto::SeededRandom random(FLAGS_seed);
  for (size_t size : ParseSizes(FLAGS_sizes)) {
    const Bytes message = RandomBytes(random, size);
    fn(message);
  }
}

}  // namespace

VELLUM_BENCHMARK(sha256, "SHA-256 (OpenSSL) throughput per --sizes message") {
  ForEachSize([&](const Bytes& msg) {
    run.Measure(SizeConditions(msg.size()), msg.size(),
                [&](uint64_t) { g_sink = g_sink + crypto::Sha256(msg)[0]; });
  });
}

VELLUM_BENCHMARK(keccak256, "Keccak-256 (Vellum's own, Ethereum padding) throughput") {
  ForEachSize([&](const Bytes& msg) {
    run.Measure(SizeConditions(msg.size()), msg.size(),
                [&](uint64_t) { g_sink = g_sink + crypto::Keccak256(msg)[0]; });
  });
}

VELLUM_BENCHMARK(sha3_256_openssl, "Baseline for keccak256: OpenSSL SHA3-256 (same permutation)") {
  ForEachSize([&](const Bytes& msg) {
    run.Measure(SizeConditions(msg.size()), msg.size(), [&](uint64_t) {
      uint8_t out[32];
      unsigned int len = 0;
      VELLUM_CHECK(EVP_Digest(msg.data(), msg.size(), out, &len, EVP_sha3_256(), nullptr) == 1);
      g_sink = g_sink + out[0];
    });
  });
}

VELLUM_BENCHMARK(keyed_hash, "Keyed BLAKE2b-256 (libsodium) throughput") {
  crypto::SeededRandom random(FLAGS_seed + 1);
  auto hasher = crypto::KeyedHasher::Create(crypto::SecureBytes::CopyFrom(RandomBytes(random, 32)));
  VELLUM_CHECK(hasher.ok());
  ForEachSize([&](const Bytes& msg) {
    run.Measure(SizeConditions(msg.size()), msg.size(),
                [&](uint64_t) { g_sink = g_sink + hasher->Hash(msg)[0]; });
  });
}

VELLUM_BENCHMARK(aes_siv_seal, "AES-256-SIV (OpenSSL) encryption throughput, one AD component") {
  crypto::SeededRandom random(FLAGS_seed + 2);
  auto siv = crypto::AesSiv::Create(crypto::SecureBytes::CopyFrom(RandomBytes(random, 64)));
  VELLUM_CHECK(siv.ok());
  const Bytes ad = RandomBytes(random, 16);
  const ByteView ads[] = {ad};
  ForEachSize([&](const Bytes& msg) {
    run.Measure(SizeConditions(msg.size()) + ", 16 B AD", msg.size(), [&](uint64_t) {
      auto sealed = siv->Seal(msg, ads);
      VELLUM_CHECK(sealed.ok());
      g_sink = g_sink + (*sealed)[0];
    });
  });
}

VELLUM_BENCHMARK(aes_siv_open, "AES-256-SIV (OpenSSL) authenticated decryption throughput") {
  crypto::SeededRandom random(FLAGS_seed + 3);
  auto siv = crypto::AesSiv::Create(crypto::SecureBytes::CopyFrom(RandomBytes(random, 64)));
  VELLUM_CHECK(siv.ok());
  const Bytes ad = RandomBytes(random, 16);
  const ByteView ads[] = {ad};
  ForEachSize([&](const Bytes& msg) {
    auto sealed = siv->Seal(msg, ads);
    VELLUM_CHECK(sealed.ok());
    run.Measure(SizeConditions(msg.size()) + ", 16 B AD", msg.size(), [&](uint64_t) {
      auto opened = siv->Open(*sealed, ads);
      VELLUM_CHECK(opened.ok());
      g_sink = g_sink + static_cast<uint8_t>(opened->size());
    });
  });
}

VELLUM_BENCHMARK(xchacha_seal, "XChaCha20-Poly1305 (libsodium) encryption throughput") {
  crypto::SeededRandom random(FLAGS_seed + 4);
  const crypto::SecureBytes key = crypto::XChaCha20Poly1305::GenerateKey(random);
  const Bytes ad = RandomBytes(random, 16);
  ForEachSize([&](const Bytes& msg) {
    run.Measure(SizeConditions(msg.size()) + ", 16 B AD, random nonce", msg.size(), [&](uint64_t) {
      auto sealed = crypto::XChaCha20Poly1305::Seal(key, msg, ad, random);
      VELLUM_CHECK(sealed.ok());
      g_sink = g_sink + (*sealed)[0];
    });
  });
}

VELLUM_BENCHMARK(xchacha_open, "XChaCha20-Poly1305 (libsodium) authenticated decryption") {
  crypto::SeededRandom random(FLAGS_seed + 5);
  const crypto::SecureBytes key = crypto::XChaCha20Poly1305::GenerateKey(random);
  const Bytes ad = RandomBytes(random, 16);
  ForEachSize([&](const Bytes& msg) {
    auto sealed = crypto::XChaCha20Poly1305::Seal(key, msg, ad, random);
    VELLUM_CHECK(sealed.ok());
    run.Measure(SizeConditions(msg.size()) + ", 16 B AD", msg.size(), [&](uint64_t) {
      auto opened = crypto::XChaCha20Poly1305::Open(key, *sealed, ad);
      VELLUM_CHECK(opened.ok());
      g_sink = g_sink + static_cast<uint8_t>(opened->size());
    });
  });
}

VELLUM_BENCHMARK(ed25519_sign, "Ed25519 (libsodium) signatures per second, 64 B messages") {
  crypto::SeededRandom random(FLAGS_seed + 6);
  const crypto::Ed25519KeyPair key = crypto::Ed25519KeyPair::Generate(random);
  const Bytes msg = RandomBytes(random, 64);
  run.Measure("64 B messages, 1 thread", 0, [&](uint64_t) { g_sink = g_sink + key.Sign(msg)[0]; });
}

VELLUM_BENCHMARK(ed25519_verify, "Ed25519 (libsodium) verifications per second, 64 B messages") {
  crypto::SeededRandom random(FLAGS_seed + 7);
  const crypto::Ed25519KeyPair key = crypto::Ed25519KeyPair::Generate(random);
  const Bytes msg = RandomBytes(random, 64);
  const crypto::Ed25519Signature sig = key.Sign(msg);
  run.Measure("64 B messages, 1 thread", 0, [&](uint64_t) {
    VELLUM_CHECK(crypto::Ed25519Verify(key.public_key(), msg, sig).ok());
  });
}

namespace {
std::string ShamirConditions() {
  return std::to_string(FLAGS_shamir_secret_size) +
         " B secret, k=" + std::to_string(FLAGS_shamir_threshold) +
         " n=" + std::to_string(FLAGS_shamir_shares) + ", 1 thread";
}
}  // namespace

VELLUM_BENCHMARK(shamir_split, "Shamir GF(2^8) splits per second (--shamir_* flags)") {
  crypto::SeededRandom random(FLAGS_seed + 8);
  const Bytes secret = RandomBytes(random, FLAGS_shamir_secret_size);
  run.Measure(ShamirConditions(), 0, [&](uint64_t) {
    auto shares = crypto::ShamirSplit(secret, FLAGS_shamir_threshold, FLAGS_shamir_shares, random);
    VELLUM_CHECK(shares.ok());
    g_sink = g_sink + (*shares)[0].index;
  });
}

VELLUM_BENCHMARK(shamir_combine, "Shamir combines per second from exactly k shares") {
  crypto::SeededRandom random(FLAGS_seed + 9);
  const Bytes secret = RandomBytes(random, FLAGS_shamir_secret_size);
  auto shares = crypto::ShamirSplit(secret, FLAGS_shamir_threshold, FLAGS_shamir_shares, random);
  VELLUM_CHECK(shares.ok());
  const std::span<const crypto::ShamirShare> k_shares(shares->data(),
                                                      static_cast<size_t>(FLAGS_shamir_threshold));
  run.Measure(ShamirConditions(), 0, [&](uint64_t) {
    auto recovered = crypto::ShamirCombine(k_shares);
    VELLUM_CHECK(recovered.ok());
    g_sink = g_sink + static_cast<uint8_t>(recovered->size());
  });
}

}  // namespace vellum::bench
