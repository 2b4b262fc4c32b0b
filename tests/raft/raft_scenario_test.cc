// Copyright (c) Vellum authors.
//
// Scripted scenarios for the classic Raft failures, each driven message by message
// through RaftCluster: the thesis's Figure 8, a leader crashing with an entry on a
// minority and on a majority, and membership changes during a partition.

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/raft/raft_cluster.h"

namespace vellum::raft {
namespace {

using testing::ClusterOptions;
using testing::RaftCluster;

// Elections happen only when a test calls Campaign: no pre-vote or leases to
// second-guess the script, and one entry per append so entries can be held back
// one at a time.
ClusterOptions ScriptedOptions() {
  ClusterOptions options;
  options.pre_vote = false;
  options.check_quorum = false;
  options.max_message_bytes = 0;
  return options;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Figure 8 of the Raft paper, up to the point where S1 (leader of term 4) has its
// term-2 entry "a" on a majority but its own term-4 entry on itself only.
// `replicate_current_term` lets the term-4 entry reach the majority as well.
void PlayFigure8(RaftCluster& c, bool replicate_current_term) {
  c.Campaign(1);
  ASSERT_EQ(c.Leader(), 1u);
  ASSERT_EQ(c.raft(1).term(), 2u);
  // (a) S1 replicates "a" (index 3, term 2) to S2 only.
  c.Partition({{1, 2}, {3, 4, 5}});
  ASSERT_TRUE(c.Propose(1, "a").ok());
  c.Settle();
  ASSERT_EQ(c.raft(2).log().LastIndex(), 3u);
  // (b) S1 crashes; S5 wins term 3 with votes from S3 and S4 and appends its no-op
  //     at index 3 (term 3), which reaches nobody.
  c.Crash(1);
  c.filter = [](const Message& m) { return !(m.from == 5 && m.type == MessageType::kAppend); };
  c.Campaign(5);
  ASSERT_EQ(c.Leader(), 5u);
  ASSERT_EQ(c.raft(5).term(), 3u);
  ASSERT_EQ(c.raft(5).log().Term(3), 3u);
  // (c) S5 crashes; S1 restarts and wins term 4 (S3 and S4 voted in term 3 already,
  //     so its first campaign fails). It replicates "a" to S3 and S4, so "a" is on a
  //     majority, but its no-op of term 4 (index 4) is held back.
  c.Crash(5);
  c.HealAll();
  c.Restart(1);
  if (!replicate_current_term) {
    // Entry 4 may travel only as part of a probe that the receiver rejects (it
    // lacks entry 3): that is how S1 finds where to send "a" from.
    c.filter = [&c](const Message& m) {
      const bool carries_4 =
          m.type == MessageType::kAppend && !m.entries.empty() && m.entries.back().index >= 4;
      return !carries_4 || !c.raft(m.to).log().MatchTerm(m.index, m.log_term);
    };
  } else {
    c.filter = nullptr;
  }
  for (int attempt = 0; attempt < 3 && c.Leader() != 1; ++attempt) c.Campaign(1);
  ASSERT_EQ(c.Leader(), 1u);
  ASSERT_EQ(c.raft(1).term(), 4u);
  c.TickAll(2);
  ASSERT_EQ(c.raft(3).log().Term(3), 2u);
  ASSERT_EQ(c.raft(4).log().Term(3), 2u);
}

TEST(RaftScenario, Figure8OldTermEntryOnAMajorityIsNotCommitted) {
  RaftCluster c({1, 2, 3, 4, 5}, ScriptedOptions());
  PlayFigure8(c, /*replicate_current_term=*/false);
  // "a" is on S1, S2, S3, S4 — but it is from term 2, so S1 must not count it.
  EXPECT_EQ(c.raft(1).log().committed(), 2u);
  EXPECT_TRUE(c.AppliedCommands(1).empty());
  // (d) S1 crashes; S5 (last term 3) wins term 5 with S2, S3, S4 and overwrites "a".
  c.Crash(1);
  c.filter = nullptr;
  c.Restart(5);
  for (int attempt = 0; attempt < 3 && c.Leader() != 5; ++attempt) c.Campaign(5);
  ASSERT_EQ(c.Leader(), 5u);
  ASSERT_TRUE(c.ProposeAndCommit("b").ok());
  c.Restart(1);
  c.TickAll(10);
  for (NodeId id : c.ids()) {
    EXPECT_EQ(c.AppliedCommands(id), std::vector<std::string>{"b"}) << "node " << id;
  }
  EXPECT_EQ(c.CheckInvariants(), "");
}

TEST(RaftScenario, Figure8CurrentTermEntryOnAMajorityCommitsAndSurvives) {
  RaftCluster c({1, 2, 3, 4, 5}, ScriptedOptions());
  PlayFigure8(c, /*replicate_current_term=*/true);
  // (e) The term-4 no-op reached the majority: index 3 and 4 are committed.
  EXPECT_EQ(c.raft(1).log().committed(), 4u);
  EXPECT_EQ(c.AppliedCommands(1), std::vector<std::string>{"a"});
  // S1 crashes; S5 (last term 3) can no longer win: the majority has term 4.
  c.Crash(1);
  c.Restart(5);
  c.Campaign(5);
  c.Campaign(5);
  EXPECT_NE(c.Leader(), 5u);
  // Someone else leads, and "a" stays applied everywhere.
  for (int attempt = 0; attempt < 3 && c.Leader() == kNoNode; ++attempt) c.Campaign(2);
  ASSERT_EQ(c.Leader(), 2u);
  ASSERT_TRUE(c.ProposeAndCommit("b").ok());
  c.Restart(1);
  c.TickAll(10);
  for (NodeId id : c.ids()) {
    EXPECT_EQ(c.AppliedCommands(id), (std::vector<std::string>{"a", "b"})) << "node " << id;
  }
  EXPECT_EQ(c.CheckInvariants(), "");
}

TEST(RaftScenario, LeaderCrashWithAnEntryOnAMinority) {
  RaftCluster c({1, 2, 3, 4, 5}, ScriptedOptions());
  c.Campaign(1);
  ASSERT_EQ(c.Leader(), 1u);
  ASSERT_TRUE(c.ProposeAndCommit("committed").ok());
  // "x" reaches S2 only; the client never hears back.
  c.filter = [](const Message& m) {
    return !(m.type == MessageType::kAppend && !m.entries.empty() && m.to != 2);
  };
  ASSERT_TRUE(c.Propose(1, "x").ok());
  c.Settle();
  EXPECT_EQ(c.raft(1).log().committed(), c.raft(1).log().LastIndex() - 1);
  c.Crash(1);
  c.filter = nullptr;
  // S3 (without "x") can win: S4 and S5 do not have it either.
  c.Campaign(3);
  ASSERT_EQ(c.Leader(), 3u);
  ASSERT_TRUE(c.ProposeAndCommit("y").ok());
  c.Restart(1);
  c.TickAll(10);
  for (NodeId id : c.ids()) {
    EXPECT_EQ(c.AppliedCommands(id), (std::vector<std::string>{"committed", "y"}))
        << "node " << id << ": the unacknowledged entry on a minority is replaced";
  }
  EXPECT_EQ(c.CheckInvariants(), "");
}

TEST(RaftScenario, LeaderCrashWithAnEntryOnAMajority) {
  RaftCluster c({1, 2, 3, 4, 5}, ScriptedOptions());
  c.Campaign(1);
  ASSERT_EQ(c.Leader(), 1u);
  // "x" reaches S2 and S3 (with S1 a majority), but no answer gets back: S1 does
  // not know it is committed when it crashes.
  c.filter = [](const Message& m) {
    if (m.type == MessageType::kAppend && !m.entries.empty()) return m.to == 2 || m.to == 3;
    return m.type != MessageType::kAppendResponse;
  };
  ASSERT_TRUE(c.Propose(1, "x").ok());
  c.Settle();
  EXPECT_LT(c.raft(1).log().committed(), c.raft(1).log().LastIndex());
  c.Crash(1);
  c.filter = nullptr;
  // S4 lacks "x" and cannot win: S2 and S3 refuse it, and it needs one of them.
  c.Campaign(4);
  EXPECT_NE(c.Leader(), 4u);
  for (int attempt = 0; attempt < 3 && c.Leader() != 2; ++attempt) c.Campaign(2);
  ASSERT_EQ(c.Leader(), 2u);
  ASSERT_TRUE(c.ProposeAndCommit("y").ok());
  c.Restart(1);
  c.TickAll(10);
  for (NodeId id : c.ids()) {
    EXPECT_EQ(c.AppliedCommands(id), (std::vector<std::string>{"x", "y"}))
        << "node " << id << ": an entry on a majority survives its leader";
  }
  EXPECT_EQ(c.CheckInvariants(), "");
}

TEST(RaftScenario, MembershipChangeOnTheMinorityNeverCommits) {
  RaftCluster c({1, 2, 3, 4, 5});
  const NodeId lead = c.ElectLeader();
  std::vector<NodeId> minority{lead}, majority;
  for (NodeId id : c.ids()) {
    if (id != lead) (minority.size() < 2 ? minority : majority).push_back(id);
  }
  c.Partition({minority, majority});
  // The cut-off leader proposes removing a majority-side node: it cannot commit.
  ASSERT_TRUE(c.core(lead).ProposeConfChange({ConfChangeType::kRemoveNode, majority[0], {}}).ok());
  c.Settle();
  EXPECT_TRUE(c.raft(lead).tracker().IsVoter(majority[0]));
  // The majority elects a leader, which removes a minority node instead.
  c.TickAll(60);
  const NodeId new_lead = c.Leader();
  ASSERT_TRUE(std::find(majority.begin(), majority.end(), new_lead) != majority.end());
  const NodeId removed = minority[1];
  ASSERT_TRUE(c.core(new_lead).ProposeConfChange({ConfChangeType::kRemoveNode, removed, {}}).ok());
  c.Settle();
  EXPECT_FALSE(c.raft(new_lead).tracker().IsMember(removed));
  c.HealAll();
  c.TickAll(40);
  ASSERT_TRUE(c.ProposeAndCommit("after").ok());
  c.TickAll(3);
  for (NodeId id : c.ids()) {
    if (id == removed) continue;
    EXPECT_FALSE(c.raft(id).tracker().IsMember(removed)) << "node " << id;
    EXPECT_TRUE(c.raft(id).tracker().IsVoter(majority[0])) << "node " << id;
    EXPECT_TRUE(Contains(c.AppliedCommands(id), "after")) << "node " << id;
  }
  // The removed node is not a voter any more and never campaigns.
  const uint64_t term = c.raft(new_lead).term();
  c.TickAll(60);
  EXPECT_EQ(c.raft(new_lead).term(), term);
  EXPECT_EQ(c.CheckInvariants(), "");
}

TEST(RaftScenario, RemovingTheLeaderDuringAPartitionOfAFollower) {
  RaftCluster c({1, 2, 3});
  const NodeId lead = c.ElectLeader();
  const NodeId cut = lead == 3 ? 2 : 3;
  c.Isolate(cut);
  // Two of three remain: the leader removes itself; the remaining voter set is
  // {the other two}, and the one still connected must take over once the
  // partition heals (it needs the cut node's vote).
  ASSERT_TRUE(c.core(lead).ProposeConfChange({ConfChangeType::kRemoveNode, lead, {}}).ok());
  c.Settle();
  c.HealAll();
  c.TickAll(60);
  const NodeId new_lead = c.Leader();
  ASSERT_NE(new_lead, kNoNode);
  EXPECT_NE(new_lead, lead);
  EXPECT_EQ(c.raft(new_lead).tracker().voter_count(), 2u);
  ASSERT_TRUE(c.ProposeAndCommit("z").ok());
  EXPECT_EQ(c.CheckInvariants(), "");
}

// --- Hardening: the log is a signed hash chain ----------------------------------

ClusterOptions AuthenticatedOptions() {
  ClusterOptions options;
  options.authenticate_entries = true;
  return options;
}

bool AnyAlarmContains(const testing::ClusterNode& n, std::string_view text) {
  return std::any_of(n.alarms.begin(), n.alarms.end(),
                     [&](const std::string& a) { return a.find(text) != std::string::npos; });
}

// An append from `from` (the leader) to `to` carrying one entry of the leader's term
// right after `to`'s last entry, sealed by `signer` with `authenticator`.
Message ForgedAppend(RaftCluster& c, NodeId from, NodeId to, MemberAuthenticator& authenticator,
                     NodeId signer) {
  const RaftLog& log = c.raft(to).log();
  Message m;
  m.type = MessageType::kAppend;
  m.from = from;
  m.to = to;
  m.term = c.raft(from).term();
  m.index = log.LastIndex();
  m.log_term = log.LastTerm();
  m.commit = log.committed();
  Entry e;
  e.term = m.term;
  e.index = m.index + 1;
  e.data = ToBytes("forged");
  auto prev = log.Slice(m.index, m.index + 1, 0);
  EXPECT_TRUE(prev.ok());
  EXPECT_TRUE(SealEntry(authenticator, signer, EntryHash(prev->front()), &e).ok());
  m.entries.push_back(std::move(e));
  return m;
}

TEST(RaftHardening, AuthenticatedClusterReplicatesAndSealsEveryEntry) {
  RaftCluster c({1, 2, 3}, AuthenticatedOptions());
  const NodeId lead = c.ElectLeader();
  ASSERT_NE(lead, kNoNode);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.ProposeAndCommit("e" + std::to_string(i)).ok());
  c.TickAll(3);
  for (NodeId id : c.ids()) {
    EXPECT_EQ(c.AppliedCommands(id).size(), 10u);
    EXPECT_TRUE(c.node(id).alarms.empty()) << c.node(id).alarms.front();
    const RaftLog& log = c.raft(id).log();
    auto entries = log.Slice(log.FirstIndex(), log.LastIndex() + 1, UINT64_MAX);
    ASSERT_TRUE(entries.ok());
    for (const Entry& e : *entries) EXPECT_FALSE(e.seal.empty()) << "entry " << e.index;
  }
  EXPECT_EQ(c.CheckInvariants(), "");
}

TEST(RaftHardening, TamperedEntryIsRefusedAndReplicationRecovers) {
  RaftCluster c({1, 2, 3}, AuthenticatedOptions());
  const NodeId lead = c.ElectLeader();
  const NodeId victim = lead == 3 ? 2 : 3;
  int tampered = 0;
  c.mutate = [&](Message& m) {
    if (m.type == MessageType::kAppend && m.to == victim && !m.entries.empty() && tampered < 3) {
      m.entries.front().data.push_back('!');
      ++tampered;
    }
  };
  ASSERT_TRUE(c.ProposeAndCommit("genuine").ok());
  ASSERT_GT(tampered, 0);
  EXPECT_TRUE(AnyAlarmContains(c.node(victim), "signed by node")) << c.node(victim).alarms.size();
  c.mutate = nullptr;
  c.TickAll(5);
  EXPECT_EQ(c.AppliedCommands(victim), std::vector<std::string>{"genuine"});
  EXPECT_EQ(c.CheckInvariants(), "");
}

TEST(RaftHardening, BrokenChainIsRefused) {
  RaftCluster c({1, 2, 3}, AuthenticatedOptions());
  const NodeId lead = c.ElectLeader();
  const NodeId victim = lead == 3 ? 2 : 3;
  bool done = false;
  c.mutate = [&](Message& m) {
    if (!done && m.type == MessageType::kAppend && m.to == victim && !m.entries.empty()) {
      m.entries.front().seal[5] ^= 0x01;  // a byte of the previous-entry hash
      done = true;
    }
  };
  ASSERT_TRUE(c.ProposeAndCommit("x").ok());
  ASSERT_TRUE(done);
  EXPECT_TRUE(AnyAlarmContains(c.node(victim), "does not chain"));
}

TEST(RaftHardening, EntrySignedByANonMemberIsRefused) {
  RaftCluster c({1, 2, 3}, AuthenticatedOptions());
  const NodeId lead = c.ElectLeader();
  const NodeId victim = lead == 3 ? 2 : 3;
  const uint64_t last = c.raft(victim).log().LastIndex();
  auto outsider = c.keyring().AuthenticatorFor(9);  // node 9 is not a member
  ASSERT_TRUE(c.core(victim).Step(ForgedAppend(c, lead, victim, *outsider, 9)).ok());
  c.ProcessReadies();
  EXPECT_TRUE(AnyAlarmContains(c.node(victim), "not a member"));
  EXPECT_EQ(c.raft(victim).log().LastIndex(), last);
}

TEST(RaftHardening, CurrentTermEntrySignedByAnotherMemberIsRefused) {
  RaftCluster c({1, 2, 3}, AuthenticatedOptions());
  const NodeId lead = c.ElectLeader();
  const NodeId victim = lead == 3 ? 2 : 3;
  const NodeId impostor = 6 - lead - victim;
  const uint64_t last = c.raft(victim).log().LastIndex();
  auto impostor_auth = c.keyring().AuthenticatorFor(impostor);
  ASSERT_TRUE(c.core(victim).Step(ForgedAppend(c, lead, victim, *impostor_auth, impostor)).ok());
  c.ProcessReadies();
  EXPECT_TRUE(AnyAlarmContains(c.node(victim), "not by its leader"));
  EXPECT_EQ(c.raft(victim).log().LastIndex(), last);
}

TEST(RaftHardening, MalformedAppendsAreRefusedWithoutAuthentication) {
  RaftCluster c({1, 2, 3});
  const NodeId lead = c.ElectLeader();
  const NodeId victim = lead == 3 ? 2 : 3;
  const RaftLog& log = c.raft(victim).log();
  const uint64_t last = log.LastIndex();
  Message m;
  m.type = MessageType::kAppend;
  m.from = lead;
  m.to = victim;
  m.term = c.raft(lead).term();
  m.index = last;
  m.log_term = log.LastTerm();
  m.entries.push_back(Entry{m.term, last + 2, EntryType::kNormal, ToBytes("gap"), {}});
  ASSERT_TRUE(c.core(victim).Step(m).ok());
  // An entry from a future term.
  m.entries = {Entry{m.term + 5, last + 1, EntryType::kNormal, ToBytes("future"), {}}};
  ASSERT_TRUE(c.core(victim).Step(m).ok());
  c.ProcessReadies();
  EXPECT_EQ(c.node(victim).alarms.size(), 2u);
  EXPECT_EQ(log.LastIndex(), last);
  // An acknowledgement past the leader's log.
  Message ack;
  ack.type = MessageType::kAppendResponse;
  ack.from = victim;
  ack.to = lead;
  ack.term = c.raft(lead).term();
  ack.index = c.raft(lead).log().LastIndex() + 100;
  ASSERT_TRUE(c.core(lead).Step(ack).ok());
  c.ProcessReadies();
  EXPECT_TRUE(AnyAlarmContains(c.node(lead), "past our last entry"));
  ASSERT_TRUE(c.ProposeAndCommit("still fine").ok());
}

}  // namespace
}  // namespace vellum::raft
