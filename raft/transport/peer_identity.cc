// Copyright (c) Vellum authors.
//
// The peer identity statement (docs/formats/peer-identity.md).
//
// Thread safety: pure functions; no shared state.

#include "raft/transport/peer_identity.h"

#include <algorithm>
#include <string>

#include "vellum/check.h"

namespace vellum::raft {
namespace {

constexpr std::string_view kMagic = "VPID";
constexpr uint8_t kVersion = 1;
constexpr std::string_view kSignatureTag = "vellum-peer-identity-v1";
constexpr size_t kPublicKeyBytes = 32;
constexpr size_t kSignatureBytes = 64;
// magic (4) | version (1) | scheme (1) | node_id (8) | public key | measurement | binding
constexpr size_t kHeaderBytes = 4 + 1 + 1 + 8;
constexpr size_t kBodyBytes =
    kHeaderBytes + kPublicKeyBytes + kMeasurementBytes + kChannelBindingBytes;
static_assert(kBodyBytes == 110);
static_assert(kBodyBytes + kSignatureBytes == kIdentityStatementBytes);

void CheckSizes(const IdentityStatement& s) {
  VELLUM_CHECK_EQ(s.identity.signing_public_key.size(), kPublicKeyBytes);
  VELLUM_CHECK_EQ(s.identity.measurement.size(), kMeasurementBytes);
  VELLUM_CHECK_EQ(s.channel_binding.size(), kChannelBindingBytes);
}

Bytes EncodeBody(const IdentityStatement& s) {
  CheckSizes(s);
  Bytes out;
  out.reserve(kIdentityStatementBytes);
  out.insert(out.end(), kMagic.begin(), kMagic.end());
  out.push_back(kVersion);
  out.push_back(static_cast<uint8_t>(crypto::SignatureScheme::kEd25519));
  PutFixed64BE(&out, s.identity.node_id);
  out.insert(out.end(), s.identity.signing_public_key.begin(), s.identity.signing_public_key.end());
  out.insert(out.end(), s.identity.measurement.begin(), s.identity.measurement.end());
  out.insert(out.end(), s.channel_binding.begin(), s.channel_binding.end());
  VELLUM_CHECK_EQ(out.size(), kBodyBytes);
  return out;
}

}  // namespace

std::string NodeCommonName(uint64_t node_id) { return "node-" + std::to_string(node_id); }

Bytes IdentityStatementSignedMessage(const IdentityStatement& statement) {
  Bytes message(kSignatureTag.begin(), kSignatureTag.end());
  const Bytes body = EncodeBody(statement);
  message.insert(message.end(), body.begin(), body.end());
  return message;
}

Bytes EncodeIdentityStatement(const IdentityStatement& statement) {
  Bytes out = EncodeBody(statement);
  out.insert(out.end(), statement.signature.begin(), statement.signature.end());
  return out;
}

Result<IdentityStatement> DecodeIdentityStatement(ByteView encoded) {
  if (encoded.size() < kHeaderBytes) {
    return Status::Corruption("identity statement: truncated at header (" +
                              std::to_string(encoded.size()) + " bytes)");
  }
  if (AsChars(encoded.first(kMagic.size())) != kMagic) {
    return Status::Corruption("identity statement: bad magic");
  }
  if (encoded[4] != kVersion) {
    return Status::NotSupported("identity statement: version " + std::to_string(encoded[4]) +
                                " (this build reads version 1)");
  }
  if (encoded[5] != static_cast<uint8_t>(crypto::SignatureScheme::kEd25519)) {
    return Status::NotSupported("identity statement: signature scheme " +
                                std::to_string(encoded[5]) + " (this build knows Ed25519 = 1)");
  }
  if (encoded.size() != kIdentityStatementBytes) {
    return Status::Corruption("identity statement: must be " +
                              std::to_string(kIdentityStatementBytes) + " bytes, got " +
                              std::to_string(encoded.size()));
  }
  IdentityStatement s;
  size_t pos = 6;
  s.identity.node_id = DecodeFixed64BE(encoded.data() + pos);
  pos += 8;
  if (s.identity.node_id == 0) return Status::Corruption("identity statement: node id 0");
  auto take = [&](size_t n) {
    Bytes field(encoded.begin() + static_cast<ptrdiff_t>(pos),
                encoded.begin() + static_cast<ptrdiff_t>(pos + n));
    pos += n;
    return field;
  };
  s.identity.signing_public_key = take(kPublicKeyBytes);
  s.identity.measurement = take(kMeasurementBytes);
  s.channel_binding = take(kChannelBindingBytes);
  s.signature = take(kSignatureBytes);
  VELLUM_CHECK_EQ(pos, encoded.size());
  return s;
}

Result<Bytes> MakeIdentityStatement(crypto::Signer& signer, uint64_t node_id, ByteView measurement,
                                    ByteView channel_binding) {
  if (node_id == 0) return Status::InvalidArgument("identity statement: node id 0");
  if (measurement.size() != kMeasurementBytes) {
    return Status::InvalidArgument("identity statement: measurement must be " +
                                   std::to_string(kMeasurementBytes) + " bytes, got " +
                                   std::to_string(measurement.size()));
  }
  if (channel_binding.size() != kChannelBindingBytes) {
    return Status::InvalidArgument("identity statement: channel binding must be " +
                                   std::to_string(kChannelBindingBytes) + " bytes, got " +
                                   std::to_string(channel_binding.size()));
  }
  if (signer.scheme() != crypto::SignatureScheme::kEd25519) {
    return Status::NotSupported("identity statement: signer " + signer.description() +
                                " is not Ed25519");
  }
  IdentityStatement s;
  s.identity.node_id = node_id;
  s.identity.signing_public_key = signer.public_key();
  if (s.identity.signing_public_key.size() != kPublicKeyBytes) {
    return Status::InvalidArgument("identity statement: signer " + signer.description() +
                                   " has a public key of " +
                                   std::to_string(s.identity.signing_public_key.size()) + " bytes");
  }
  s.identity.measurement.assign(measurement.begin(), measurement.end());
  s.channel_binding.assign(channel_binding.begin(), channel_binding.end());
  Result<Bytes> signature = signer.Sign(IdentityStatementSignedMessage(s));
  if (!signature.ok()) {
    return signature.status().WithContext("signing the identity statement with " +
                                          signer.description());
  }
  if (signature->size() != kSignatureBytes) {
    return Status::InvalidArgument("identity statement: signer " + signer.description() +
                                   " made a signature of " + std::to_string(signature->size()) +
                                   " bytes");
  }
  s.signature = std::move(signature).value();
  return EncodeIdentityStatement(s);
}

Result<PeerIdentity> CheckIdentityStatement(
    ByteView encoded, ByteView local_channel_binding, std::string_view peer_certificate_common_name,
    const std::function<Status(const PeerIdentity&)>& authorize_peer) {
  VELLUM_ASSIGN_OR_RETURN(IdentityStatement s, DecodeIdentityStatement(encoded));
  const Status signature =
      crypto::VerifySignature(crypto::SignatureScheme::kEd25519, s.identity.signing_public_key,
                              IdentityStatementSignedMessage(s), s.signature);
  if (!signature.ok()) {
    return Status::Corruption("identity statement of node " + std::to_string(s.identity.node_id) +
                              ": signature does not verify under the key it carries (" +
                              signature.message() + ")");
  }
  if (!ConstantTimeEquals(s.channel_binding, local_channel_binding)) {
    return Status::Corruption("identity statement of node " + std::to_string(s.identity.node_id) +
                              ": channel binding does not match this connection (replayed?)");
  }
  const std::string expected_cn = NodeCommonName(s.identity.node_id);
  if (peer_certificate_common_name != expected_cn) {
    return Status::PermissionDenied("identity statement names node " +
                                    std::to_string(s.identity.node_id) +
                                    " but the TLS certificate's common name is \"" +
                                    std::string(peer_certificate_common_name) + "\"");
  }
  VELLUM_CHECK_MSG(authorize_peer != nullptr, "CheckIdentityStatement needs authorize_peer");
  const Status authorized = authorize_peer(s.identity);
  if (!authorized.ok()) {
    return authorized.WithContext("node " + std::to_string(s.identity.node_id) + " not authorized");
  }
  return std::move(s.identity);
}

}  // namespace vellum::raft
