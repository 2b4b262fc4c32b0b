// Copyright (c) Vellum authors.
//
// A MemberAuthenticator for node tests: Ed25519 keys for node ids 1..n (node i's
// seed is the byte i repeated), signing as one node and accepting the signatures of
// every node that has a key.
//
// Thread safety: not thread-safe (tests drive it from one thread).

#ifndef VELLUM_TESTS_NODE_TEST_AUTHENTICATOR_H_
#define VELLUM_TESTS_NODE_TEST_AUTHENTICATOR_H_

#include <algorithm>
#include <cstdint>
#include <map>

#include "crypto/ed25519.h"
#include "raft/entry_auth.h"
#include "vellum/check.h"

namespace vellum::node::testing {

// Ed25519 key pairs for node ids 1..n.
inline std::map<uint64_t, crypto::Ed25519KeyPair> TestNodeKeys(uint64_t n) {
  std::map<uint64_t, crypto::Ed25519KeyPair> keys;
  for (uint64_t id = 1; id <= n; ++id) {
    crypto::SecureBytes seed(crypto::Ed25519KeyPair::kSeedSize);
    std::fill(seed.data(), seed.data() + seed.size(), static_cast<uint8_t>(id));
    auto key = crypto::Ed25519KeyPair::FromSeed(seed);
    VELLUM_CHECK(key.ok());
    keys.emplace(id, std::move(key).value());
  }
  return keys;
}

class TestAuthenticator final : public raft::MemberAuthenticator {
 public:
  // `keys` must outlive the authenticator.
  TestAuthenticator(uint64_t self, const std::map<uint64_t, crypto::Ed25519KeyPair>* keys)
      : self_(self), keys_(keys) {}
  Result<Bytes> Sign(ByteView message) override {
    const auto sig = keys_->at(self_).Sign(message);
    return Bytes(sig.begin(), sig.end());
  }
  Status Verify(uint64_t signer, ByteView message, ByteView signature) const override {
    auto it = keys_->find(signer);
    if (it == keys_->end()) return Status::PermissionDenied("node is not a member");
    return crypto::Ed25519Verify(it->second.public_key(), message, signature);
  }

 private:
  uint64_t self_;
  const std::map<uint64_t, crypto::Ed25519KeyPair>* keys_;
};

}  // namespace vellum::node::testing

#endif  // VELLUM_TESTS_NODE_TEST_AUTHENTICATOR_H_
