// Copyright (c) Vellum authors.
//
// Unit tests of the Raft core through small in-process clusters: elections,
// replication, conflicting logs, backpressure, leadership transfer, ReadIndex,
// membership changes and snapshots.

#include <gtest/gtest.h>

#include "raft/codec.h"
#include "tests/raft/raft_cluster.h"

namespace vellum::raft {
namespace {

using testing::ClusterOptions;
using testing::RaftCluster;

TEST(RaftCore, ConfigIsValidated) {
  MemoryStorage storage;
  Config c;
  c.storage = &storage;
  EXPECT_EQ(RawNode::Create(c).status().code(), StatusCode::kInvalidArgument);  // id 0
  c.id = 1;
  c.election_ticks = 1;
  EXPECT_EQ(RawNode::Create(c).status().code(), StatusCode::kInvalidArgument);
  c.election_ticks = 10;
  EXPECT_TRUE(RawNode::Create(c).ok());
}

TEST(RaftCore, SingleNodeElectsItselfAndCommits) {
  RaftCluster cluster({1});
  ASSERT_EQ(cluster.ElectLeader(), 1u);
  ASSERT_TRUE(cluster.ProposeAndCommit("a").ok());
  ASSERT_TRUE(cluster.ProposeAndCommit("b").ok());
  EXPECT_EQ(cluster.AppliedCommands(1), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(cluster.CheckInvariants(), "");
}

TEST(RaftCore, ThreeNodesElectOneLeaderAndReplicate) {
  RaftCluster cluster({1, 2, 3});
  const NodeId lead = cluster.ElectLeader();
  ASSERT_NE(lead, kNoNode);
  for (NodeId id : cluster.ids()) {
    EXPECT_EQ(cluster.raft(id).leader(), lead) << "node " << id;
  }
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(cluster.ProposeAndCommit("cmd" + std::to_string(i)).ok());
  cluster.TickAll(3);  // heartbeats carry the final commit index
  for (NodeId id : cluster.ids()) {
    ASSERT_EQ(cluster.AppliedCommands(id).size(), 20u) << "node " << id;
    EXPECT_EQ(cluster.AppliedCommands(id).back(), "cmd19");
  }
  EXPECT_EQ(cluster.CheckInvariants(), "");
}

TEST(RaftCore, FollowerForwardsProposalsToTheLeader) {
  RaftCluster cluster({1, 2, 3});
  const NodeId lead = cluster.ElectLeader();
  const NodeId follower = lead == 1 ? 2 : 1;
  ASSERT_TRUE(cluster.Propose(follower, "via-follower").ok());
  cluster.Settle();
  cluster.TickAll(2);
  EXPECT_EQ(cluster.AppliedCommands(lead), std::vector<std::string>{"via-follower"});
  EXPECT_EQ(cluster.AppliedCommands(follower), std::vector<std::string>{"via-follower"});
}

TEST(RaftCore, CommitReachesAForwardingFollowerAtOnceAndTheOthersWithTheNextMessage) {
  RaftCluster cluster({1, 2, 3});
  const NodeId lead = cluster.ElectLeader();
  cluster.TickAll(2);
  cluster.Settle();
  std::vector<NodeId> followers;
  for (NodeId id : cluster.ids()) {
    if (id != lead) followers.push_back(id);
  }
  const size_t before = cluster.AppliedCommands(lead).size();
  ASSERT_EQ(cluster.AppliedCommands(followers[0]).size(), before);
  // A follower that forwarded a proposal hears of its commit at once: its client
  // waits for it to apply the entry.
  ASSERT_TRUE(cluster.Propose(followers[0], "forwarded").ok());
  cluster.Settle();
  EXPECT_EQ(cluster.AppliedCommands(lead).size(), before + 1);
  EXPECT_EQ(cluster.AppliedCommands(followers[0]).size(), before + 1);
  // The other follower holds the entry but learns of the commit only with the next
  // message from the leader, which saves a signed round per commit.
  EXPECT_EQ(cluster.AppliedCommands(followers[1]).size(), before);
  ASSERT_TRUE(cluster.Propose(lead, "next").ok());
  cluster.Settle();
  EXPECT_EQ(cluster.AppliedCommands(followers[1]).size(), before + 1);
  EXPECT_EQ(cluster.AppliedCommands(followers[0]).size(), before + 1);
  // A heartbeat carries the rest.
  cluster.TickAll(2);
  cluster.Settle();
  for (NodeId id : cluster.ids()) {
    EXPECT_EQ(cluster.AppliedCommands(id).size(), before + 2) << "node " << id;
  }
  EXPECT_EQ(cluster.CheckInvariants(), "");
}

TEST(RaftCore, NoLeaderMeansUnavailable) {
  RaftCluster cluster({1, 2, 3});
  EXPECT_EQ(cluster.Propose(1, "x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(cluster.core(1).ReadIndex(ToBytes("r")).code(), StatusCode::kUnavailable);
}

TEST(RaftCore, MinorityCannotCommit) {
  RaftCluster cluster({1, 2, 3, 4, 5});
  const NodeId lead = cluster.ElectLeader();
  std::vector<NodeId> minority{lead}, majority;
  for (NodeId id : cluster.ids()) {
    if (id == lead) continue;
    (minority.size() < 2 ? minority : majority).push_back(id);
  }
  cluster.Partition({minority, majority});
  ASSERT_TRUE(cluster.Propose(lead, "lost").ok());
  cluster.Settle();
  const uint64_t index = cluster.raft(lead).log().LastIndex();
  EXPECT_LT(cluster.raft(lead).log().committed(), index);
  // The majority elects its own leader and commits; the old leader's entry goes.
  cluster.TickAll(60);
  const NodeId new_lead = cluster.Leader();
  ASSERT_NE(new_lead, kNoNode);
  ASSERT_TRUE(std::find(majority.begin(), majority.end(), new_lead) != majority.end());
  ASSERT_TRUE(cluster.ProposeAndCommit("kept").ok());
  cluster.HealAll();
  cluster.TickAll(30);
  for (NodeId id : cluster.ids()) {
    EXPECT_EQ(cluster.AppliedCommands(id), std::vector<std::string>{"kept"}) << "node " << id;
  }
  EXPECT_EQ(cluster.CheckInvariants(), "");
}

TEST(RaftCore, DivergentFollowerLogIsRepaired) {
  ClusterOptions options;
  options.max_message_bytes = 0;  // one entry per append: exercises probing
  RaftCluster cluster({1, 2, 3}, options);
  ASSERT_EQ((cluster.Campaign(1), cluster.Leader()), 1u);
  // Node 1 appends 10 entries nobody else sees, then loses leadership.
  cluster.Isolate(1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(cluster.Propose(1, "orphan" + std::to_string(i)).ok());
  cluster.Settle();
  cluster.Crash(1);
  cluster.HealAll();
  cluster.TickAll(40);
  ASSERT_NE(cluster.Leader(), kNoNode);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(cluster.ProposeAndCommit("real" + std::to_string(i)).ok());
  cluster.Restart(1);
  cluster.TickAll(30);
  EXPECT_EQ(cluster.AppliedCommands(1).size(), 5u);
  EXPECT_EQ(cluster.AppliedCommands(1).front(), "real0");
  EXPECT_EQ(cluster.raft(1).log().LastIndex(), cluster.raft(cluster.Leader()).log().LastIndex());
  EXPECT_EQ(cluster.CheckInvariants(), "");
}

TEST(RaftCore, PreVoteKeepsARejoiningNodeFromDisruptingTheLeader) {
  RaftCluster cluster({1, 2, 3});
  const NodeId lead = cluster.ElectLeader();
  const NodeId other = lead == 3 ? 2 : 3;
  const uint64_t term = cluster.raft(lead).term();
  cluster.Isolate(other);
  cluster.TickAll(100);  // the isolated node times out again and again
  EXPECT_EQ(cluster.raft(other).term(), term) << "pre-vote must not raise the term";
  cluster.HealAll();
  cluster.TickAll(20);
  EXPECT_EQ(cluster.Leader(), lead);
  EXPECT_EQ(cluster.raft(lead).term(), term);
}

TEST(RaftCore, CheckQuorumMakesAnIsolatedLeaderStepDown) {
  RaftCluster cluster({1, 2, 3});
  const NodeId lead = cluster.ElectLeader();
  cluster.Isolate(lead);
  cluster.TickAll(25);
  EXPECT_NE(cluster.raft(lead).role(), Role::kLeader);
}

TEST(RaftCore, UncommittedBytesApplyBackpressure) {
  RaftCluster cluster({1, 2, 3});
  const NodeId lead = cluster.ElectLeader();
  // The followers are gone: entries cannot commit, and the budget runs out.
  for (NodeId id : cluster.ids()) {
    if (id != lead) cluster.Isolate(id);
  }
  const std::string big(1 << 20, 'x');
  Status s;
  int accepted = 0;
  for (int i = 0; i < 200 && s.ok(); ++i) {
    s = cluster.Propose(lead, big);
    if (s.ok()) ++accepted;
  }
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_GE(accepted, 60);
  EXPECT_LE(accepted, 70);
}

TEST(RaftCore, LeadershipTransfer) {
  RaftCluster cluster({1, 2, 3});
  const NodeId lead = cluster.ElectLeader();
  const NodeId target = lead == 3 ? 1 : 3;
  ASSERT_TRUE(cluster.ProposeAndCommit("before").ok());
  ASSERT_TRUE(cluster.core(lead).TransferLeadership(target).ok());
  cluster.Settle();
  EXPECT_EQ(cluster.Leader(), target);
  ASSERT_TRUE(cluster.ProposeAndCommit("after").ok());
  EXPECT_EQ(cluster.core(target).TransferLeadership(99).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cluster.CheckInvariants(), "");
}

TEST(RaftCore, ReadIndexOnLeaderAndFollower) {
  RaftCluster cluster({1, 2, 3});
  const NodeId lead = cluster.ElectLeader();
  ASSERT_TRUE(cluster.ProposeAndCommit("x").ok());
  const uint64_t committed = cluster.raft(lead).log().committed();
  ASSERT_TRUE(cluster.core(lead).ReadIndex(ToBytes("r1")).ok());
  cluster.Settle();
  ASSERT_EQ(cluster.node(lead).read_states.size(), 1u);
  EXPECT_EQ(cluster.node(lead).read_states[0].index, committed);
  EXPECT_EQ(cluster.node(lead).read_states[0].request_context, ToBytes("r1"));
  const NodeId follower = lead == 1 ? 2 : 1;
  ASSERT_TRUE(cluster.core(follower).ReadIndex(ToBytes("r2")).ok());
  cluster.Settle();
  ASSERT_EQ(cluster.node(follower).read_states.size(), 1u);
  EXPECT_EQ(cluster.node(follower).read_states[0].index, committed);
}

TEST(RaftCore, DeposedLeaderCannotConfirmAStaleRead) {
  RaftCluster cluster({1, 2, 3, 4, 5});
  const NodeId old_lead = cluster.ElectLeader();
  ASSERT_TRUE(cluster.ProposeAndCommit("v1").ok());
  // The old leader is cut off; the rest elect a new leader and commit v2.
  cluster.Isolate(old_lead);
  std::vector<NodeId> rest;
  for (NodeId id : cluster.ids()) {
    if (id != old_lead) rest.push_back(id);
  }
  for (int t = 0; t < 60 && (cluster.Leader() == old_lead || cluster.Leader() == kNoNode); ++t) {
    for (NodeId id : rest) cluster.Tick(id);
    cluster.Settle();
  }
  const NodeId new_lead = cluster.Leader();
  ASSERT_NE(new_lead, old_lead);
  ASSERT_TRUE(cluster.ProposeAndCommit("v2").ok());
  // A read on the old leader must not be confirmed: it cannot reach a quorum.
  if (cluster.raft(old_lead).role() == Role::kLeader) {
    ASSERT_TRUE(cluster.core(old_lead).ReadIndex(ToBytes("stale")).ok());
  }
  cluster.Settle();
  EXPECT_TRUE(cluster.node(old_lead).read_states.empty());
}

TEST(RaftCore, LearnerCatchesUpThenIsPromoted) {
  RaftCluster cluster({1, 2, 3});
  const NodeId lead = cluster.ElectLeader();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(cluster.ProposeAndCommit("c" + std::to_string(i)).ok());
  cluster.AddServer(4);
  // Promotion before joining as a learner is refused.
  EXPECT_EQ(cluster.core(lead).ProposeConfChange({ConfChangeType::kPromoteLearner, 4, {}}).code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(cluster.core(lead).ProposeConfChange({ConfChangeType::kAddLearner, 4, {}}).ok());
  cluster.Settle();
  cluster.TickAll(5);
  EXPECT_TRUE(cluster.raft(lead).tracker().IsLearner(4));
  EXPECT_EQ(cluster.AppliedCommands(4).size(), 10u);
  ASSERT_TRUE(cluster.core(lead).ProposeConfChange({ConfChangeType::kPromoteLearner, 4, {}}).ok());
  cluster.Settle();
  cluster.TickAll(3);
  EXPECT_TRUE(cluster.raft(lead).tracker().IsVoter(4));
  EXPECT_TRUE(cluster.raft(4).tracker().IsVoter(4));
  ASSERT_TRUE(cluster.ProposeAndCommit("after").ok());
  EXPECT_EQ(cluster.CheckInvariants(), "");
}

TEST(RaftCore, OneMembershipChangeAtATime) {
  RaftCluster cluster({1, 2, 3});
  const NodeId lead = cluster.ElectLeader();
  cluster.AddServer(4);
  cluster.AddServer(5);
  ASSERT_TRUE(cluster.core(lead).ProposeConfChange({ConfChangeType::kAddLearner, 4, {}}).ok());
  // Not applied yet: the next change waits.
  EXPECT_EQ(cluster.core(lead).ProposeConfChange({ConfChangeType::kAddLearner, 5, {}}).code(),
            StatusCode::kUnavailable);
  cluster.Settle();
  EXPECT_TRUE(cluster.core(lead).ProposeConfChange({ConfChangeType::kAddLearner, 5, {}}).ok());
}

TEST(RaftCore, RemovingTheLeaderHandsOver) {
  RaftCluster cluster({1, 2, 3});
  const NodeId lead = cluster.ElectLeader();
  ASSERT_TRUE(cluster.ProposeAndCommit("x").ok());
  ASSERT_TRUE(cluster.core(lead).ProposeConfChange({ConfChangeType::kRemoveNode, lead, {}}).ok());
  cluster.Settle();
  cluster.TickAll(30);
  const NodeId new_lead = cluster.Leader();
  ASSERT_NE(new_lead, kNoNode);
  EXPECT_NE(new_lead, lead);
  EXPECT_FALSE(cluster.raft(new_lead).tracker().IsMember(lead));
  EXPECT_EQ(cluster.raft(new_lead).tracker().voter_count(), 2u);
  ASSERT_TRUE(cluster.ProposeAndCommit("y").ok());
  EXPECT_EQ(cluster.CheckInvariants(), "");
}

TEST(RaftCore, SnapshotCatchUpOfANodeThatMissedCompactedEntries) {
  RaftCluster cluster({1, 2, 3});
  const NodeId lead = cluster.ElectLeader();
  const NodeId lagging = lead == 3 ? 2 : 3;
  cluster.Isolate(lagging);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(cluster.ProposeAndCommit("s" + std::to_string(i)).ok());
  cluster.Compact(lead);
  EXPECT_GT(cluster.raft(lead).log().FirstIndex(), 10u);
  cluster.HealAll();
  cluster.TickAll(10);
  EXPECT_EQ(cluster.AppliedCommands(lagging), cluster.AppliedCommands(lead));
  EXPECT_EQ(cluster.AppliedCommands(lagging).size(), 30u);
  ASSERT_TRUE(cluster.ProposeAndCommit("after").ok());
  cluster.TickAll(2);
  EXPECT_EQ(cluster.AppliedCommands(lagging).back(), "after");
  EXPECT_EQ(cluster.CheckInvariants(), "");
}

TEST(RaftCore, CrashAndRestartKeepsCommittedEntries) {
  RaftCluster cluster({1, 2, 3});
  cluster.ElectLeader();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(cluster.ProposeAndCommit("k" + std::to_string(i)).ok());
  for (NodeId id : cluster.ids()) cluster.Crash(id);
  for (NodeId id : cluster.ids()) cluster.Restart(id);
  ASSERT_NE(cluster.ElectLeader(), kNoNode);
  ASSERT_TRUE(cluster.ProposeAndCommit("k5").ok());
  cluster.TickAll(3);
  for (NodeId id : cluster.ids()) {
    ASSERT_EQ(cluster.AppliedCommands(id).size(), 6u) << "node " << id;
  }
  EXPECT_EQ(cluster.CheckInvariants(), "");
}

TEST(RaftCodec, MessagesRoundTrip) {
  Message m;
  m.type = MessageType::kSnapshot;
  m.from = 3;
  m.to = 7;
  m.term = 99;
  m.index = 1234567;
  m.log_term = 98;
  m.commit = 1234000;
  m.reject = true;
  m.reject_hint = 17;
  m.context = ToBytes("ctx");
  m.entries.push_back(Entry{98, 1234568, EntryType::kNormal, ToBytes("hello"), ToBytes("seal")});
  m.entries.push_back(Entry{99,
                            1234569,
                            EntryType::kConfChange,
                            EncodeConfChange({ConfChangeType::kAddLearner, 9, ToBytes("a")}),
                            {}});
  m.snapshot.metadata = {1000, 50, ConfState{{1, 2, 3}, {9}}, Bytes(32, 7)};
  m.snapshot.data = ToBytes("state");
  auto decoded = DecodeMessage(EncodeMessage(m));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, m);
}

TEST(RaftCodec, EveryTruncationAndMostByteFlipsAreRejectedOrHarmless) {
  Message m;
  m.type = MessageType::kAppend;
  m.from = 1;
  m.to = 2;
  m.term = 5;
  m.index = 10;
  m.log_term = 4;
  m.commit = 9;
  m.entries.push_back(Entry{5, 11, EntryType::kNormal, ToBytes("payload"), {}});
  const Bytes encoded = EncodeMessage(m);
  for (size_t n = 0; n < encoded.size(); ++n) {
    EXPECT_FALSE(DecodeMessage(ByteView(encoded.data(), n)).ok()) << "truncated to " << n;
  }
  Bytes longer = encoded;
  longer.push_back(0);
  EXPECT_FALSE(DecodeMessage(longer).ok());
  // A flipped byte either fails to decode or decodes to a different message (the
  // peer signature, not the codec, is what catches tampering).
  for (size_t i = 0; i < encoded.size(); ++i) {
    Bytes flipped = encoded;
    flipped[i] ^= 0x01;
    auto d = DecodeMessage(flipped);
    if (d.ok()) {
      EXPECT_NE(*d, m) << "byte " << i;
    }
  }
}

TEST(RaftCodec, HugeCountsDoNotAllocate) {
  Bytes evil = {
      kMessageFormatVersion, static_cast<uint8_t>(MessageType::kAppend), 1, 2, 0, 0, 0, 0, 0, 0, 0};
  // entry count 2^60
  PutVarint64(&evil, uint64_t{1} << 60);
  auto d = DecodeMessage(evil);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kCorruption);
}

TEST(RaftCodec, ConfChangeAndHardStateRoundTrip) {
  const ConfChange cc{ConfChangeType::kRemoveNode, 42, ToBytes("why")};
  auto d = DecodeConfChange(EncodeConfChange(cc));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, cc);
  EXPECT_FALSE(DecodeConfChange(Bytes{7, 1, 0}).ok());  // unknown type
  const HardState hs{7, 3, 100};
  auto h = DecodeHardState(EncodeHardState(hs));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, hs);
  EXPECT_FALSE(DecodeConfState(EncodeConfState(ConfState{{3, 1}, {}})).ok());   // unsorted
  EXPECT_FALSE(DecodeConfState(EncodeConfState(ConfState{{1, 2}, {2}})).ok());  // overlap
}

}  // namespace
}  // namespace vellum::raft
