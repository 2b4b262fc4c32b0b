// Copyright (c) Vellum authors.
//
// Tests of the peer identity statement (raft/transport/peer_identity.h): the encoding,
// and each check of CheckIdentityStatement, in its documented order, without sockets.
//
// Thread safety: single-threaded tests.

#include "raft/transport/peer_identity.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/signer.h"
#include "tests/test_util.h"

namespace vellum::raft {
namespace {

Bytes Filled(size_t n, uint8_t value) { return Bytes(n, value); }

class PeerIdentityTest : public ::testing::Test {
 protected:
  PeerIdentityTest()
      : signer_(crypto::Ed25519KeyPair::Generate(crypto::SystemRandom())),
        other_signer_(crypto::Ed25519KeyPair::Generate(crypto::SystemRandom())) {}

  Bytes Statement(uint64_t node_id, ByteView binding) {
    Result<Bytes> statement = MakeIdentityStatement(signer_, node_id, measurement_, binding);
    EXPECT_TRUE(statement.ok()) << statement.status().ToString();
    return statement.ok() ? std::move(statement).value() : Bytes();
  }

  // Runs the checks with an authorize_peer that records its calls and answers `answer`.
  Result<PeerIdentity> Check(ByteView statement, ByteView binding, std::string_view cn,
                             Status answer = Status::OK()) {
    return CheckIdentityStatement(statement, binding, cn, [&](const PeerIdentity& identity) {
      authorized_.push_back(identity);
      return answer;
    });
  }

  crypto::Ed25519Signer signer_;
  crypto::Ed25519Signer other_signer_;
  const Bytes measurement_ = [] {
    const crypto::Hash256 h = crypto::Sha256(AsBytes("vellum-node 0.1.0 test build"));
    return Bytes(h.begin(), h.end());
  }();
  const Bytes binding_ = Filled(kChannelBindingBytes, 0xb1);
  std::vector<PeerIdentity> authorized_;
};

TEST_F(PeerIdentityTest, NodeCommonName) {
  EXPECT_EQ(NodeCommonName(1), "node-1");
  EXPECT_EQ(NodeCommonName(18446744073709551615u), "node-18446744073709551615");
}

TEST_F(PeerIdentityTest, RoundTripAndLayout) {
  const Bytes statement = Statement(7, binding_);
  ASSERT_EQ(statement.size(), kIdentityStatementBytes);
  // magic "VPID", version 1, scheme 1, node id big-endian.
  EXPECT_EQ(HexEncode(ByteView(statement).first(14)), "5650494401010000000000000007");
  EXPECT_EQ(Bytes(statement.begin() + 14, statement.begin() + 46), signer_.public_key());
  EXPECT_EQ(Bytes(statement.begin() + 46, statement.begin() + 78), measurement_);
  EXPECT_EQ(Bytes(statement.begin() + 78, statement.begin() + 110), binding_);

  Result<IdentityStatement> decoded = DecodeIdentityStatement(statement);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->identity.node_id, 7u);
  EXPECT_EQ(decoded->identity.signing_public_key, signer_.public_key());
  EXPECT_EQ(decoded->identity.measurement, measurement_);
  EXPECT_EQ(decoded->channel_binding, binding_);
  EXPECT_EQ(EncodeIdentityStatement(*decoded), statement);

  // The signature covers the tag and the body: verify it independently.
  Bytes message = ToBytes("vellum-peer-identity-v1");
  message.insert(message.end(), statement.begin(), statement.begin() + 110);
  EXPECT_EQ(IdentityStatementSignedMessage(*decoded), message);
  EXPECT_OK(crypto::VerifySignature(crypto::SignatureScheme::kEd25519, signer_.public_key(),
                                    message, ByteView(statement).subspan(110)));
}

TEST_F(PeerIdentityTest, AcceptsAGoodStatementAndAuthorizesIt) {
  const Bytes statement = Statement(7, binding_);
  Result<PeerIdentity> identity = Check(statement, binding_, "node-7");
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_EQ(identity->node_id, 7u);
  EXPECT_EQ(identity->signing_public_key, signer_.public_key());
  EXPECT_EQ(identity->measurement, measurement_);
  ASSERT_EQ(authorized_.size(), 1u);
  EXPECT_EQ(authorized_[0], *identity);
}

TEST_F(PeerIdentityTest, SignedWithADifferentKeyThanItCarriesIsRefused) {
  // Carries this node's public key, but signed by another key.
  IdentityStatement forged;
  forged.identity = {7, signer_.public_key(), measurement_};
  forged.channel_binding = binding_;
  Result<Bytes> signature = other_signer_.Sign(IdentityStatementSignedMessage(forged));
  ASSERT_TRUE(signature.ok());
  forged.signature = *signature;
  const Result<PeerIdentity> r = Check(EncodeIdentityStatement(forged), binding_, "node-7");
  EXPECT_CODE(r.status(), kCorruption);
  EXPECT_NE(r.status().message().find("signature"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE(authorized_.empty()) << "authorize_peer must not see unverified statements";
}

TEST_F(PeerIdentityTest, AnyAlteredFieldBreaksTheSignature) {
  const Bytes statement = Statement(7, binding_);
  // Every byte after the version/scheme header: node id, key, measurement, binding,
  // signature.
  for (size_t i = 6; i < statement.size(); ++i) {
    Bytes altered = statement;
    altered[i] ^= 0x01;
    const Result<PeerIdentity> r = Check(altered, binding_, "node-7");
    EXPECT_FALSE(r.ok()) << "byte " << i;
    if (i >= 78 && i < 110) {
      // An altered binding fails the signature first (it is checked before the binding).
      EXPECT_NE(r.status().message().find("signature"), std::string::npos) << i;
    }
  }
  EXPECT_TRUE(authorized_.empty());
}

TEST_F(PeerIdentityTest, ReplayedStatementWithAnotherConnectionsBindingIsRefused) {
  // A statement made (and validly signed) for connection A, presented on connection B.
  const Bytes binding_a = Filled(kChannelBindingBytes, 0xaa);
  const Bytes binding_b = Filled(kChannelBindingBytes, 0xbb);
  const Bytes statement = Statement(7, binding_a);
  ASSERT_TRUE(Check(statement, binding_a, "node-7").ok());
  authorized_.clear();
  const Result<PeerIdentity> r = Check(statement, binding_b, "node-7");
  EXPECT_CODE(r.status(), kCorruption);
  EXPECT_NE(r.status().message().find("channel binding"), std::string::npos)
      << r.status().ToString();
  EXPECT_TRUE(authorized_.empty());
}

TEST_F(PeerIdentityTest, NodeIdMustMatchTheCertificateCommonName) {
  const Bytes statement = Statement(7, binding_);
  for (const std::string_view cn : {"node-8", "node-07", "node-7 ", "Node-7", "7", ""}) {
    const Result<PeerIdentity> r = Check(statement, binding_, cn);
    EXPECT_CODE(r.status(), kPermissionDenied);
    EXPECT_NE(r.status().message().find("common name"), std::string::npos) << cn;
  }
  EXPECT_TRUE(authorized_.empty());
}

TEST_F(PeerIdentityTest, AuthorizePeerDecidesLast) {
  const Bytes statement = Statement(7, binding_);
  const Result<PeerIdentity> r =
      Check(statement, binding_, "node-7", Status::PermissionDenied("node 7 is not a member"));
  EXPECT_CODE(r.status(), kPermissionDenied);
  EXPECT_NE(r.status().message().find("node 7 is not a member"), std::string::npos);
  ASSERT_EQ(authorized_.size(), 1u);
  EXPECT_EQ(authorized_[0].measurement, measurement_);
}

TEST_F(PeerIdentityTest, ChecksRunInTheDocumentedOrder) {
  // Bad signature and wrong binding and wrong CN and refused: the signature is reported.
  Bytes bad = Statement(7, binding_);
  bad.back() ^= 0x80;
  const Bytes other_binding = Filled(kChannelBindingBytes, 0x00);
  EXPECT_NE(Check(bad, other_binding, "node-9", Status::PermissionDenied("no"))
                .status()
                .message()
                .find("signature"),
            std::string::npos);
  // Good signature, wrong binding, wrong CN: the binding is reported.
  const Bytes good = Statement(7, binding_);
  EXPECT_NE(Check(good, other_binding, "node-9").status().message().find("channel binding"),
            std::string::npos);
  // Good signature and binding, wrong CN, refused: the CN is reported.
  EXPECT_NE(Check(good, binding_, "node-9", Status::PermissionDenied("no"))
                .status()
                .message()
                .find("common name"),
            std::string::npos);
  EXPECT_TRUE(authorized_.empty());
}

TEST_F(PeerIdentityTest, MalformedStatementsAreRefused) {
  const Bytes statement = Statement(7, binding_);
  auto with = [&](size_t index, uint8_t value) {
    Bytes b = statement;
    b[index] = value;
    return b;
  };
  EXPECT_CODE(DecodeIdentityStatement(Bytes()).status(), kCorruption);
  EXPECT_CODE(DecodeIdentityStatement(ByteView(statement).first(100)).status(), kCorruption);
  Bytes longer = statement;
  longer.push_back(0);
  EXPECT_CODE(DecodeIdentityStatement(longer).status(), kCorruption);
  EXPECT_CODE(DecodeIdentityStatement(with(0, 'X')).status(), kCorruption);
  EXPECT_CODE(DecodeIdentityStatement(with(4, 2)).status(), kNotSupported);
  EXPECT_CODE(DecodeIdentityStatement(with(5, 9)).status(), kNotSupported);
  IdentityStatement zero_id = *DecodeIdentityStatement(statement);
  zero_id.identity.node_id = 0;
  EXPECT_CODE(DecodeIdentityStatement(EncodeIdentityStatement(zero_id)).status(), kCorruption);
  EXPECT_CODE(Check(longer, binding_, "node-7").status(), kCorruption);
  EXPECT_TRUE(authorized_.empty());
}

TEST_F(PeerIdentityTest, MakeRejectsBadInput) {
  EXPECT_CODE(MakeIdentityStatement(signer_, 0, measurement_, binding_).status(), kInvalidArgument);
  EXPECT_CODE(MakeIdentityStatement(signer_, 1, Filled(31, 1), binding_).status(),
              kInvalidArgument);
  EXPECT_CODE(MakeIdentityStatement(signer_, 1, measurement_, Filled(16, 1)).status(),
              kInvalidArgument);
}

}  // namespace
}  // namespace vellum::raft
