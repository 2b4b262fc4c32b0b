// Copyright (c) Vellum authors.
//
// The peer identity statement: what each side of a peer connection sends right after
// the TLS handshake to prove which cluster node it is, what signing key it holds and
// what binary it runs, bound to this one TLS connection. The byte format, what is
// signed and the checks are specified in docs/formats/peer-identity.md.
//
// These are pure functions (no sockets, no clock), so every check is unit-testable.
//
// Thread safety: all functions are thread-safe; they share no state (signing goes
// through the caller's Signer, which must allow concurrent Sign calls).

#ifndef VELLUM_RAFT_TRANSPORT_PEER_IDENTITY_H_
#define VELLUM_RAFT_TRANSPORT_PEER_IDENTITY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "crypto/signer.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::raft {

// What a peer proved about itself on a connection.
struct PeerIdentity {
  uint64_t node_id = 0;
  Bytes signing_public_key;  // Ed25519, 32 bytes
  Bytes measurement;         // 32-byte hash of the running binary

  bool operator==(const PeerIdentity&) const = default;
};

// The TLS exporter label (RFC 8446 section 7.5) of the channel binding; no context.
inline constexpr std::string_view kPeerIdentityExporterLabel = "EXPORTER-vellum-peer-identity-v1";
inline constexpr size_t kChannelBindingBytes = 32;
inline constexpr size_t kMeasurementBytes = 32;
// The encoded size of a version-1 statement: a 110-byte body and a 64-byte signature.
inline constexpr size_t kIdentityStatementBytes = 174;

// A decoded statement (not yet checked).
struct IdentityStatement {
  PeerIdentity identity;
  Bytes channel_binding;  // kChannelBindingBytes
  Bytes signature;        // Ed25519 over IdentityStatementSignedMessage()
};

// The certificate common name of node `node_id`: "node-<decimal id>".
std::string NodeCommonName(uint64_t node_id);

// The bytes a statement's signature covers: a domain-separation tag and the body.
// Field sizes must be as documented (CHECKed: callers build statements from checked
// values).
Bytes IdentityStatementSignedMessage(const IdentityStatement& statement);

// The wire encoding of `statement` (body || signature), whatever its signature.
// Field sizes must be as documented (CHECKed).
Bytes EncodeIdentityStatement(const IdentityStatement& statement);

// Parses a statement: Corruption (naming what is wrong) for a wrong size, magic or
// version; NotSupported for an unknown signature scheme. Checks nothing else.
Result<IdentityStatement> DecodeIdentityStatement(ByteView encoded);

// Builds and signs this node's statement for a connection whose exporter value is
// `channel_binding`. InvalidArgument for a node id of 0 or a measurement or binding
// of the wrong size; NotSupported for a non-Ed25519 signer; the signer's own error if
// signing fails.
Result<Bytes> MakeIdentityStatement(crypto::Signer& signer, uint64_t node_id, ByteView measurement,
                                    ByteView channel_binding);

// Checks a statement received on a connection, in this order:
//   1. it decodes (Corruption / NotSupported);
//   2. its signature verifies under the public key it carries (Corruption);
//   3. its channel binding equals `local_channel_binding`, this side's exporter value
//      for the same connection, so a statement replayed from another connection is
//      refused (Corruption);
//   4. its node id matches the peer certificate's common name exactly, i.e.
//      `peer_certificate_common_name == NodeCommonName(node_id)` (PermissionDenied);
//   5. `authorize_peer(identity)` (its own status, with context, when not OK).
// Returns the proven identity. `authorize_peer` is called only when 1-4 pass.
Result<PeerIdentity> CheckIdentityStatement(
    ByteView encoded, ByteView local_channel_binding, std::string_view peer_certificate_common_name,
    const std::function<Status(const PeerIdentity&)>& authorize_peer);

}  // namespace vellum::raft

#endif  // VELLUM_RAFT_TRANSPORT_PEER_IDENTITY_H_
