// Copyright (c) Vellum authors.
//
// Peer envelopes: signed by the sender, opened only by the addressee, each counter
// accepted once and in order; forged, replayed, misaddressed and outsider messages
// refused.

#include "raft/peer_envelope.h"

#include <gtest/gtest.h>

#include "raft/codec.h"
#include "tests/raft/raft_cluster.h"

namespace vellum::raft {
namespace {

using testing::TestKeyring;

Message Heartbeat(NodeId from, NodeId to, uint64_t term) {
  Message m;
  m.type = MessageType::kHeartbeat;
  m.from = from;
  m.to = to;
  m.term = term;
  m.commit = 10;
  return m;
}

class PeerEnvelopeTest : public ::testing::Test {
 protected:
  PeerEnvelopeTest() {
    keyring_.members() = {1, 2, 3};
    auth1_ = keyring_.AuthenticatorFor(1);
    auth2_ = keyring_.AuthenticatorFor(2);
  }
  TestKeyring keyring_;
  std::unique_ptr<MemberAuthenticator> auth1_, auth2_;
};

TEST_F(PeerEnvelopeTest, RoundTripsInOrder) {
  MessageSealer sealer(1, auth1_.get(), /*epoch=*/1);
  MessageOpener opener(2, auth2_.get());
  for (uint64_t term = 1; term <= 5; ++term) {
    auto sealed = sealer.Seal(Heartbeat(1, 2, term));
    ASSERT_TRUE(sealed.ok());
    auto opened = opener.Open(*sealed);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, Heartbeat(1, 2, term));
  }
}

TEST_F(PeerEnvelopeTest, EveryByteFlipIsRefusedAndNotRemembered) {
  MessageSealer sealer(1, auth1_.get(), 1);
  auto sealed = sealer.Seal(Heartbeat(1, 2, 7));
  ASSERT_TRUE(sealed.ok());
  MessageOpener opener(2, auth2_.get());
  for (size_t i = 0; i < sealed->size(); ++i) {
    Bytes forged = *sealed;
    forged[i] ^= 0x20;
    EXPECT_FALSE(opener.Open(forged).ok()) << "byte " << i;
  }
  for (size_t n = 0; n < sealed->size(); ++n) {
    EXPECT_FALSE(opener.Open(ByteView(sealed->data(), n)).ok()) << "truncated to " << n;
  }
  // None of the refused envelopes advanced the counter: the genuine one opens.
  EXPECT_TRUE(opener.Open(*sealed).ok());
}

TEST_F(PeerEnvelopeTest, ReplaysAndOldCountersAreRefused) {
  MessageSealer sealer(1, auth1_.get(), 1);
  MessageOpener opener(2, auth2_.get());
  auto first = sealer.Seal(Heartbeat(1, 2, 1));
  auto second = sealer.Seal(Heartbeat(1, 2, 1));
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(opener.Open(*second).ok());
  auto replay = opener.Open(*second);
  EXPECT_EQ(replay.status().code(), StatusCode::kCorruption);
  EXPECT_NE(replay.status().message().find("replayed"), std::string::npos);
  EXPECT_FALSE(opener.Open(*first).ok()) << "an older counter after a newer one";
  // A restarted sender starts a new epoch; its first message is accepted.
  MessageSealer restarted(1, auth1_.get(), 2);
  auto after_restart = restarted.Seal(Heartbeat(1, 2, 2));
  ASSERT_TRUE(after_restart.ok());
  EXPECT_TRUE(opener.Open(*after_restart).ok());
  // But a sender that reuses an old epoch (lost its boot counter) is refused.
  MessageSealer stale(1, auth1_.get(), 1);
  EXPECT_FALSE(opener.Open(*stale.Seal(Heartbeat(1, 2, 3))).ok());
}

TEST_F(PeerEnvelopeTest, MisaddressedAndImpersonatingMessagesAreRefused) {
  MessageSealer sealer(1, auth1_.get(), 1);
  MessageOpener opener3(3, keyring_.AuthenticatorFor(3).get());
  // Sealed for node 2, delivered to node 3.
  auto for2 = sealer.Seal(Heartbeat(1, 2, 1));
  ASSERT_TRUE(for2.ok());
  auto auth3 = keyring_.AuthenticatorFor(3);
  MessageOpener opener(3, auth3.get());
  EXPECT_EQ(opener.Open(*for2).status().code(), StatusCode::kCorruption);
  // Node 1 signing an envelope that claims to carry node 2's message: it can only
  // put its own id on the envelope, and the inner sender must match it.
  Message claims2 = Heartbeat(2, 3, 1);
  Bytes body = EncodeMessage(claims2);
  Bytes env{1};
  PutVarint64(&env, 1);
  PutVarint64(&env, 3);
  PutVarint64(&env, 1);
  PutVarint64(&env, 1);
  PutVarint64(&env, body.size());
  env.insert(env.end(), body.begin(), body.end());
  Bytes to_sign = ToBytes("vellum-raft-peer-envelope-v1");
  to_sign.insert(to_sign.end(), env.begin(), env.end());
  const Bytes sig = keyring_.SignAs(1, to_sign);
  PutVarint64(&env, sig.size());
  env.insert(env.end(), sig.begin(), sig.end());
  auto opened = opener.Open(env);
  EXPECT_EQ(opened.status().code(), StatusCode::kCorruption);
  EXPECT_NE(opened.status().message().find("carries a message from node 2"), std::string::npos);
}

TEST_F(PeerEnvelopeTest, OutsidersAreRefused) {
  auto outsider = keyring_.AuthenticatorFor(9);  // has a key, is not a member
  MessageSealer sealer(9, outsider.get(), 1);
  MessageOpener opener(2, auth2_.get());
  auto sealed = sealer.Seal(Heartbeat(9, 2, 1));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(opener.Open(*sealed).status().code(), StatusCode::kPermissionDenied);
  // Once admitted (a membership change applied), the same node is accepted.
  keyring_.members().insert(9);
  EXPECT_TRUE(opener.Open(*sealed).ok());
}

}  // namespace
}  // namespace vellum::raft
