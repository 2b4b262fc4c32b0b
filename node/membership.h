// Copyright (c) Vellum authors.
//
// Membership: who this node accepts as a cluster member, and how to reach them — the
// node's live copy of the membership table its ledger keeps ("__vellum_members",
// written when a membership change is applied), seeded from the config file's
// initial members before the ledger has any. It is the MemberAuthenticator of the
// Raft core and the peer envelopes (signing as this node, checking members'
// signatures) and the transport's authorize_peer (a peer must be a member and present
// the signing key on record for it).
//
// A member record travels in a membership change's context as a small JSON object,
// {"peer_address": "...", "client_url": "...", "signing_public_key": "<64 hex>",
//  "holder_public_key": "<64 hex>"}
// (docs/api.md, "Members").
//
// Removed members stay known as former members: their signatures on entries they
// appended while they led still verify (a node catching up replays them), but they
// are no longer authorized as peers.
//
// Thread safety: every method may be called concurrently (the event loop updates it,
// the transport's I/O thread authorizes peers).

#ifndef VELLUM_NODE_MEMBERSHIP_H_
#define VELLUM_NODE_MEMBERSHIP_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>

#include "base/bytes.h"
#include "crypto/signer.h"
#include "raft/entry_auth.h"
#include "raft/transport/peer_identity.h"
#include "vellum/result.h"

namespace vellum::node {

struct MemberRecord {
  std::string peer_address;  // "host:port"
  std::string client_url;    // "https://host:port"
  Bytes signing_public_key;  // Ed25519, 32 bytes
  Bytes holder_public_key;   // X25519 log key holder key, 32 bytes

  bool operator==(const MemberRecord&) const = default;
};

// The JSON form of a record (the membership change's context).
std::string EncodeMemberRecord(const MemberRecord& record);
// InvalidArgument naming the problem for anything but a well-formed record.
Result<MemberRecord> DecodeMemberRecord(std::string_view json);

class Membership final : public raft::MemberAuthenticator {
 public:
  // `signer` signs as node `self` (owned).
  Membership(uint64_t self, std::unique_ptr<crypto::Signer> signer);

  uint64_t self() const { return self_; }
  crypto::Signer& signer() { return *signer_; }

  // Adds or replaces a member.
  void Set(uint64_t id, MemberRecord record);
  // Makes `id` a former member (its signatures still verify; it is not a peer).
  void Remove(uint64_t id);
  std::optional<MemberRecord> Get(uint64_t id) const;
  std::map<uint64_t, MemberRecord> Members() const;

  // OK for a current member whose proven signing key is the one on record;
  // PermissionDenied naming the reason otherwise.
  Status AuthorizePeer(const raft::PeerIdentity& identity) const;

  // raft::MemberAuthenticator.
  Result<Bytes> Sign(ByteView message) override;
  Status Verify(uint64_t signer, ByteView message, ByteView signature) const override;

 private:
  const uint64_t self_;
  const std::unique_ptr<crypto::Signer> signer_;
  mutable std::shared_mutex mu_;
  std::map<uint64_t, MemberRecord> members_;
  std::map<uint64_t, Bytes> former_keys_;  // removed members' signing keys
};

}  // namespace vellum::node

#endif  // VELLUM_NODE_MEMBERSHIP_H_
