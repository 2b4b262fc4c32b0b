// Copyright (c) Vellum authors.

#include "node/membership.h"

#include <gtest/gtest.h>

#include "crypto/ed25519.h"
#include "crypto/signer.h"
#include "tests/node/test_authenticator.h"

namespace vellum::node {
namespace {

Bytes PublicKey(const crypto::Ed25519KeyPair& k) {
  return Bytes(k.public_key().begin(), k.public_key().end());
}

std::unique_ptr<crypto::Signer> SignerFor(const crypto::Ed25519KeyPair& k) {
  auto copy = crypto::Ed25519KeyPair::FromSeed(k.seed());
  EXPECT_TRUE(copy.ok());
  return std::make_unique<crypto::Ed25519Signer>(std::move(copy).value());
}

TEST(MemberRecordTest, RoundTripsThroughJson) {
  MemberRecord r{"127.0.0.1:7001", "https://127.0.0.1:7101", Bytes(32, 0xab), Bytes(32, 0xcd)};
  auto back = DecodeMemberRecord(EncodeMemberRecord(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, r);
}

TEST(MemberRecordTest, RejectsWhatIsNotARecord) {
  const std::string key(64, 'a');
  const std::string holder = ",\"holder_public_key\":\"" + std::string(64, 'c') + "\"";
  for (const std::string& bad : std::vector<std::string>{
           "",
           "[]",
           "{",
           "{\"peer_address\":\"a:1\"" + holder + "}",                           // no signing key
           "{\"signing_public_key\":\"" + key + "\"" + holder + "}",             // no address
           "{\"peer_address\":\"a:1\",\"signing_public_key\":\"" + key + "\"}",  // no holder
           "{\"peer_address\":\"a:1\",\"signing_public_key\":\"abcd\"" + holder + "}",
           "{\"peer_address\":\"a:1\",\"signing_public_key\":\"" + std::string(64, 'z') + "\"" +
               holder + "}",
           "{\"peer_address\":\"a:1\",\"signing_public_key\":\"" + key +
               "\",\"holder_public_key\":\"cc\"}",
           "{\"peer_address\":1,\"signing_public_key\":\"" + key + "\"" + holder + "}",
           "{\"peer_address\":\"a:1\",\"signing_public_key\":\"" + key + "\"" + holder +
               ",\"extra\":\"x\"}",
       }) {
    auto r = DecodeMemberRecord(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

class MembershipTest : public ::testing::Test {
 protected:
  MembershipTest() : keys_(testing::TestNodeKeys(3)), membership_(1, SignerFor(keys_.at(1))) {
    for (uint64_t id = 1; id <= 3; ++id) {
      membership_.Set(
          id, MemberRecord{"127.0.0.1:700" + std::to_string(id), "", PublicKey(keys_.at(id)),
                           Bytes(32, static_cast<uint8_t>(id))});
    }
  }
  std::map<uint64_t, crypto::Ed25519KeyPair> keys_;
  Membership membership_;
};

TEST_F(MembershipTest, AuthorizesMembersWithTheKeyOnRecordOnly) {
  raft::PeerIdentity id2{2, PublicKey(keys_.at(2)), Bytes(32, 0)};
  EXPECT_TRUE(membership_.AuthorizePeer(id2).ok());
  raft::PeerIdentity wrong_key{2, PublicKey(keys_.at(3)), Bytes(32, 0)};
  EXPECT_EQ(membership_.AuthorizePeer(wrong_key).code(), StatusCode::kPermissionDenied);
  raft::PeerIdentity stranger{9, PublicKey(keys_.at(3)), Bytes(32, 0)};
  EXPECT_EQ(membership_.AuthorizePeer(stranger).code(), StatusCode::kPermissionDenied);
}

TEST_F(MembershipTest, SignsAsItselfAndVerifiesMembers) {
  const Bytes message = ToBytes("entry");
  auto sig = membership_.Sign(message);
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(membership_.Verify(1, message, *sig).ok());
  EXPECT_FALSE(membership_.Verify(2, message, *sig).ok());  // not node 2's signature
  const auto sig3 = keys_.at(3).Sign(message);
  EXPECT_TRUE(membership_.Verify(3, message, Bytes(sig3.begin(), sig3.end())).ok());
  EXPECT_EQ(membership_.Verify(7, message, *sig).code(), StatusCode::kPermissionDenied);
}

TEST_F(MembershipTest, RemovedMembersAreNoPeersButTheirSignaturesStillVerify) {
  const Bytes message = ToBytes("an entry node 3 sealed while it led");
  const auto sig3 = keys_.at(3).Sign(message);
  membership_.Remove(3);
  EXPECT_FALSE(membership_.Get(3).has_value());
  EXPECT_EQ(membership_.AuthorizePeer({3, PublicKey(keys_.at(3)), Bytes(32, 0)}).code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(membership_.Verify(3, message, Bytes(sig3.begin(), sig3.end())).ok());
  // Added back (with a new key, say): the record on file wins.
  membership_.Set(3, MemberRecord{"127.0.0.1:7003", "", PublicKey(keys_.at(2)), Bytes(32, 3)});
  EXPECT_FALSE(membership_.Verify(3, message, Bytes(sig3.begin(), sig3.end())).ok());
}

}  // namespace
}  // namespace vellum::node
