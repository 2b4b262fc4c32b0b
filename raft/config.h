// Copyright (c) Vellum authors.
//
// Config: how one Raft core is set up. Time is counted in ticks (the node calls
// Tick() at a fixed interval, e.g. every 100 ms), so the core never reads a clock;
// the randomized election timeout draws from a generator seeded by `random_seed`,
// so a run replays exactly from its seed.

#ifndef VELLUM_RAFT_CONFIG_H_
#define VELLUM_RAFT_CONFIG_H_

#include <cstdint>

#include "raft/entry_auth.h"
#include "raft/storage.h"
#include "raft/types.h"
#include "vellum/status.h"

namespace vellum::raft {

struct Config {
  // This node's id; never kNoNode.
  NodeId id = kNoNode;
  // The stable log (not owned; must outlive the core).
  const Storage* storage = nullptr;
  // The last index the application has applied (after a restart); 0 for a new node.
  uint64_t applied = 0;

  // A follower that hears nothing from a leader for a random number of ticks in
  // [election_ticks, 2 * election_ticks) starts an election.
  int election_ticks = 10;
  // A leader sends heartbeats every heartbeat_ticks; must be < election_ticks.
  int heartbeat_ticks = 1;
  // Seeds the generator of randomized election timeouts (give each node a
  // different seed).
  uint64_t random_seed = 0;

  // Pre-vote (thesis 9.6): a node first asks whether it could win before raising
  // its term, so a partitioned node that comes back does not depose a healthy leader.
  bool pre_vote = true;
  // Check-quorum (thesis 6.2): a leader that has not heard from a majority within
  // an election timeout steps down, and a follower that has heard from a leader
  // within one ignores vote requests (the leader lease).
  bool check_quorum = true;

  // Flow control: the byte budget of entries in one append message, and the number
  // of append messages in flight to one follower.
  uint64_t max_message_bytes = 1 << 20;
  size_t max_inflight_messages = 256;
  // The byte budget of committed entries handed out in one Ready.
  uint64_t max_committed_bytes_per_ready = 64 << 20;
  // A leader refuses proposals (ResourceExhausted) while this many bytes of
  // entries are appended but not yet committed: backpressure instead of an
  // unbounded log when followers are slow or gone. 0 means no limit.
  uint64_t max_uncommitted_bytes = 64 << 20;
  // Followers forward proposals to the leader; when false they refuse them.
  bool forward_proposals = true;
  // When set, the leader seals every entry it appends (chain link + signature) and
  // followers verify every entry before accepting it (raft/entry_auth.h). Not
  // owned; must outlive the core. Every member of a cluster must agree on this.
  MemberAuthenticator* entry_authenticator = nullptr;

  // InvalidArgument naming the first problem, or OK.
  Status Validate() const;
};

}  // namespace vellum::raft

#endif  // VELLUM_RAFT_CONFIG_H_
