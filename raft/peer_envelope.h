// Copyright (c) Vellum authors.
//
// Peer envelopes: every Raft message between nodes travels signed by its sender,
// with a replay counter. TLS already authenticates the connection; the envelope
// makes each message stand on its own — a message recorded and played back later,
// or relayed by a member to someone else, is refused, and the signature names who
// sent what. The format is in docs/formats/raft-message.md.
//
// The counter is (epoch, sequence): the sender's epoch increases every time the node
// starts (the node keeps a boot counter on disk) and the sequence every message, so
// a restarted sender never reuses a counter. A receiver accepts each sender's
// counters only in increasing order; TCP keeps a connection's messages in order,
// and messages lost when a connection drops are lost anyway (Raft retries).
//
// Thread safety: none; one sealer per sending node, one opener per receiving node.

#ifndef VELLUM_RAFT_PEER_ENVELOPE_H_
#define VELLUM_RAFT_PEER_ENVELOPE_H_

#include <map>
#include <utility>

#include "base/bytes.h"
#include "raft/entry_auth.h"
#include "raft/types.h"
#include "vellum/result.h"

namespace vellum::raft {

class MessageSealer {
 public:
  // `authenticator` signs for `self` (not owned). `epoch` must be greater than any
  // epoch this node used before.
  MessageSealer(NodeId self, MemberAuthenticator* authenticator, uint64_t epoch);
  // The envelope of `message` (whose `from` must be this node).
  Result<Bytes> Seal(const Message& message);

 private:
  const NodeId self_;
  MemberAuthenticator* const authenticator_;
  const uint64_t epoch_;
  uint64_t sequence_ = 0;
};

class MessageOpener {
 public:
  // `authenticator` checks members' signatures (not owned).
  MessageOpener(NodeId self, const MemberAuthenticator* authenticator);
  // The message inside a verified envelope. Corruption for a malformed envelope or
  // message, a bad signature, a message for another node, a sender that differs
  // from the message's, or a replayed (not increasing) counter; PermissionDenied
  // for a sender that is not a member. Nothing is remembered from a refused envelope.
  Result<Message> Open(ByteView envelope);

 private:
  const NodeId self_;
  const MemberAuthenticator* const authenticator_;
  // The last (epoch, sequence) accepted from each sender.
  std::map<NodeId, std::pair<uint64_t, uint64_t>> last_counter_;
};

}  // namespace vellum::raft

#endif  // VELLUM_RAFT_PEER_ENVELOPE_H_
