// Copyright (c) Vellum authors.
//
// The hardening of the replicated log: every entry a leader appends carries a seal
// — the hash of the entry before it and the leader's signature — so the Raft log is
// a hash chain signed entry by entry (DESIGN.md: the Raft log is the logchain).
// Followers verify the chain link and the signature of every entry before they
// accept it; a failure is an alarm, and the entry is never appended.
//
// The seal's format is in docs/formats/raft-message.md. EntryHash covers the whole
// entry, seal included, so each entry commits to the entire history before it.
//
// Thread safety: the functions are pure; a MemberAuthenticator is called from the
// core's thread only.

#ifndef VELLUM_RAFT_ENTRY_AUTH_H_
#define VELLUM_RAFT_ENTRY_AUTH_H_

#include "base/bytes.h"
#include "raft/types.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::raft {

inline constexpr size_t kEntryHashSize = 32;

// SHA-256 over a domain label and the entry's canonical encoding (seal included).
Bytes EntryHash(const Entry& entry);
// The hash the first entry after a cluster's bootstrap snapshot chains to.
Bytes GenesisEntryHash();

// Signs for this node and checks other members' signatures. The node implements it
// over its Signer (possibly a KMS) and the membership table in the ledger.
class MemberAuthenticator {
 public:
  virtual ~MemberAuthenticator() = default;
  // This node's signature over `message`.
  virtual Result<Bytes> Sign(ByteView message) = 0;
  // OK when `signature` over `message` was made by member `signer`; Corruption for
  // a bad signature, PermissionDenied for a signer that is not a member.
  virtual Status Verify(NodeId signer, ByteView message, ByteView signature) const = 0;
};

// Fills in `entry->seal`: the chain link to `prev_hash` and `signer`'s signature.
Status SealEntry(MemberAuthenticator& authenticator, NodeId signer, ByteView prev_hash,
                 Entry* entry);

// Checks `entry`'s seal against the hash of the entry before it. Returns the
// signer, or Corruption (malformed seal, broken chain, bad signature) or
// PermissionDenied (signer not a member), each naming the entry.
Result<NodeId> VerifyEntrySeal(const MemberAuthenticator& authenticator, ByteView prev_hash,
                               const Entry& entry);

}  // namespace vellum::raft

#endif  // VELLUM_RAFT_ENTRY_AUTH_H_
