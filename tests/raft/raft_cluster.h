// Copyright (c) Vellum authors.
//
// RaftCluster: whole Raft clusters in one process for tests — real RawNodes over
// MemoryStorage, a message queue the test controls (deliver, drop, cut links,
// partition), crashes that keep only what a node synced, and a trivial state
// machine (the list of applied commands) so tests can compare what every node
// applied. Deterministic: nothing here reads a clock or an unseeded generator.
//
// Thread safety: none (tests drive it from one thread).

#ifndef VELLUM_TESTS_RAFT_RAFT_CLUSTER_H_
#define VELLUM_TESTS_RAFT_RAFT_CLUSTER_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "crypto/ed25519.h"
#include "raft/codec.h"
#include "raft/entry_auth.h"
#include "raft/raft.h"
#include "raft/raw_node.h"
#include "raft/storage.h"
#include "vellum/check.h"

namespace vellum::raft::testing {

// One server: its durable state (what survives a crash), its volatile core and its
// state machine.
struct ClusterNode {
  NodeId id = kNoNode;
  bool up = true;
  // Durable: only Readies with must_sync, and entries/snapshots, reach it; a
  // commit-index-only change is written lazily and lost on a crash.
  std::unique_ptr<MemoryStorage> storage = std::make_unique<MemoryStorage>();
  std::unique_ptr<RawNode> core;
  // The state machine: every applied command, in order, and the membership.
  std::vector<Bytes> applied_commands;
  uint64_t applied_index = 0;
  ConfState conf;
  std::vector<ReadState> read_states;
  // Alarms the core raised (refused messages), in order.
  std::vector<std::string> alarms;
  // The index applied when each ReadState arrived (to check reads are served at
  // or after their index).
  uint64_t ticks = 0;
};

struct ClusterOptions {
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  uint64_t seed = 1;
  uint64_t max_message_bytes = 1 << 20;
  size_t max_inflight_messages = 256;
  // Seal and verify every entry (raft/entry_auth.h) with per-node Ed25519 keys.
  bool authenticate_entries = false;
  // The chance (in percent) that a node handling a Ready with entries to persist
  // crashes after sending its early messages and before writing anything.
  uint32_t crash_before_persist_percent = 0;
};

// Ed25519 keys for node ids 1..kMaxTestNodes (node i's seed is i repeated), and an
// MemberAuthenticator per node that signs with its own key and accepts the
// signatures of every id in `members` (shared, so tests can change membership).
class TestKeyring {
 public:
  static constexpr NodeId kMaxTestNodes = 16;
  TestKeyring();
  std::unique_ptr<MemberAuthenticator> AuthenticatorFor(NodeId id);
  // Ids whose signatures are accepted.
  std::set<NodeId>& members() { return members_; }
  // Signs as `id` whether or not it is a member (for forging tests).
  Bytes SignAs(NodeId id, ByteView message) const;

 private:
  std::map<NodeId, crypto::Ed25519KeyPair> keys_;
  std::set<NodeId> members_;
};

class RaftCluster {
 public:
  // A cluster whose initial voters are `voters` (bootstrapped from the same snapshot).
  RaftCluster(std::vector<NodeId> voters, ClusterOptions options = {});

  ClusterNode& node(NodeId id);
  RawNode& core(NodeId id) { return *node(id).core; }
  const Raft& raft(NodeId id) { return core(id).raft(); }
  std::vector<NodeId> ids() const;

  // A new, empty server (it joins through a membership change).
  void AddServer(NodeId id);

  // --- the network -------------------------------------------------------------
  // Messages sent and not yet delivered, in send order.
  std::deque<Message>& in_flight() { return in_flight_; }
  // Links: a cut link drops every message from `from` to `to`.
  void Cut(NodeId from, NodeId to) { cut_.insert({from, to}); }
  void CutBoth(NodeId a, NodeId b) {
    Cut(a, b);
    Cut(b, a);
  }
  // Cuts `id` off from everyone (both directions).
  void Isolate(NodeId id);
  // Splits the cluster into groups that cannot talk to each other.
  void Partition(const std::vector<std::vector<NodeId>>& groups);
  void HealAll() { cut_.clear(); }
  bool Linked(NodeId from, NodeId to) const { return !cut_.contains({from, to}); }
  // Called for every message about to be delivered; return false to drop it.
  std::function<bool(const Message&)> filter;
  // Called for every message that passes the filter, to tamper with it in flight.
  std::function<void(Message&)> mutate;
  TestKeyring& keyring() { return keyring_; }

  // --- driving -----------------------------------------------------------------
  // Handles every node's Ready (persist, queue messages, apply, advance).
  void ProcessReadies();
  // Delivers queued messages and processes Readies until nothing moves (bounded).
  void Settle(int max_rounds = 10'000);
  // Delivers one queued message (the oldest); false when none is queued. A snapshot
  // that is delivered or lost is reported to its sender, as a transport would.
  bool DeliverOne();
  // Drops the oldest queued message (network loss).
  void DropOne();
  void Tick(NodeId id);
  void TickAll(int ticks = 1);
  // Ticks everyone until a leader is known to a majority, or gives up (returns 0).
  NodeId ElectLeader(int max_ticks = 1'000);
  void Campaign(NodeId id);

  // The leader of the highest term among live nodes, or kNoNode.
  NodeId Leader() const;

  Status Propose(NodeId id, std::string_view command);
  // Proposes on the leader and settles: OK when every live, linked voter applied it.
  Status ProposeAndCommit(std::string_view command);

  // --- faults ------------------------------------------------------------------
  // The node stops; everything not synced is lost; queued messages to and from it
  // are dropped.
  void Crash(NodeId id);
  // The node comes back from its durable state.
  void Restart(NodeId id);

  // Compacts a node's log: a snapshot at its applied index, entries before it dropped.
  void Compact(NodeId id);

  // Commands applied by `id`, as strings.
  std::vector<std::string> AppliedCommands(NodeId id);

  // Checks Raft's safety properties across the whole run so far; returns a
  // description of the first violation, or "" when all hold:
  //   election safety    at most one leader per term, ever;
  //   state machine safety  every node applied the same command at each index;
  //   log matching       two logs with the same term at an index agree before it;
  //   leader completeness every leader's log holds every entry applied anywhere.
  std::string CheckInvariants();
  // The checks made as the run goes (election safety, state machine safety, leader
  // completeness at each election): cheap enough for every step.
  const std::string& CheckInvariantsCheap() const { return first_violation_; }

 private:
  void StartCore(ClusterNode& n);
  void ReportSnapshot(const Message& m, bool delivered);
  void HandleReady(ClusterNode& n);
  void ApplyEntry(ClusterNode& n, const Entry& e);
  static Bytes EncodeStateMachine(const ClusterNode& n);
  static void DecodeStateMachine(ByteView data, ClusterNode* n);

  ClusterOptions options_;
  TestKeyring keyring_;
  std::map<NodeId, std::unique_ptr<MemberAuthenticator>> authenticators_;
  std::map<NodeId, ClusterNode> nodes_;
  std::deque<Message> in_flight_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  // Durable state per node, held apart from the core so a crash can drop the rest.
  std::map<NodeId, HardState> synced_hard_state_;
  // Every leader ever seen, by term (election safety).
  std::map<uint64_t, NodeId> leaders_by_term_;
  // Every entry applied anywhere: index -> (term, command).
  std::map<uint64_t, std::pair<uint64_t, Bytes>> applied_anywhere_;
  std::string first_violation_;
  uint64_t crash_rng_ = 0;  // SplitMix64 state for crash_before_persist_percent
  uint64_t crashes_before_persist_ = 0;

 public:
  uint64_t crashes_before_persist() const { return crashes_before_persist_; }
  void set_crash_before_persist_percent(uint32_t p) { options_.crash_before_persist_percent = p; }
};

}  // namespace vellum::raft::testing

#endif  // VELLUM_TESTS_RAFT_RAFT_CLUSTER_H_
