// Copyright (c) Vellum authors.
//
// ReplicatedLedger: three members in one process on an in-memory Env, messages
// passed by hand. Writes commit on a quorum and apply everywhere with identical
// state roots at every version; reads after a barrier see acknowledged writes; a
// member restarts from its directories and catches up without repeating anything;
// a command whose attestation does not match stops every node that applies it; a
// member with another master secret stops instead of diverging; the Raft log holds
// no plaintext.

#include "node/replicated_ledger.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "crypto/random.h"
#include "tests/node/in_process_cluster.h"
#include "tests/node/test_authenticator.h"

namespace vellum::node {
namespace {

using testing::TestAuthenticator;

std::string SecretFor(uint8_t fill) {
  return std::string(MasterKey::kSize, static_cast<char>(fill));
}

class TestCluster : public testing::InProcessCluster {
 public:
  explicit TestCluster(int n) : InProcessCluster(7, 99) {
    keys() = testing::TestNodeKeys(static_cast<uint64_t>(n));
    for (uint64_t id = 1; id <= static_cast<uint64_t>(n); ++id) voters_.push_back(id);
    for (uint64_t id : voters_) {
      secrets_[id] = SecretFor(0x42);
      EXPECT_TRUE(Start(id).ok());
    }
  }
  void set_secret(uint64_t id, std::string secret) { secrets_[id] = std::move(secret); }

 protected:
  ReplicatedLedgerOptions Options(uint64_t id) override {
    ReplicatedLedgerOptions o;
    o.dir = "/cluster/n" + std::to_string(id);
    const std::string secret = secrets_[id];
    o.master_key_provider = [secret] { return MasterKey::FromBytes(secret); };
    o.initial_voters = voters_;
    return o;
  }

 private:
  std::vector<uint64_t> voters_;
  std::map<uint64_t, std::string> secrets_;
};

WriteBatch Put(const std::string& key, const std::string& value, bool create = false) {
  WriteBatch b;
  if (create) b.CreateTable("accounts");
  b.Put("accounts", key, value);
  return b;
}

TEST(ReplicatedLedger, WritesApplyEverywhereWithIdenticalRoots) {
  TestCluster c(3);
  ASSERT_NE(c.ElectLeader(), 0u);
  auto first = c.Write(Put("alice", "100", /*create=*/true));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  for (int i = 0; i < 20; ++i) {
    auto r = c.Write(Put("k" + std::to_string(i), "v" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  c.Settle();
  const CommitInfo reference = c.node(1).latest();
  EXPECT_EQ(reference.version, 21u);
  for (uint64_t id : {1, 2, 3}) {
    ASSERT_TRUE(c.node(id).alarm().ok()) << c.node(id).alarm().ToString();
    EXPECT_EQ(c.node(id).latest().version, reference.version) << "node " << id;
    // Identical state roots at every version, not just the last.
    for (uint64_t v = 1; v <= reference.version; ++v) {
      auto a = c.node(1).db()->GetLogEntry(v);
      auto b = c.node(id).db()->GetLogEntry(v);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_EQ(a->state_root_after, b->state_root_after) << "node " << id << " version " << v;
    }
    auto value = c.node(id).db()->Get({}, "accounts", "alice");
    ASSERT_TRUE(value.ok());
    EXPECT_EQ(value->value_or(""), "100");
  }
  // The leader wrote the versions it prepared while the followers voted (one write
  // at a time here, so each was next to apply — all but perhaps the first, proposed
  // before the leader's no-op was applied); the followers applied afresh. The roots
  // above agree either way.
  const uint64_t lead = c.Leader();
  EXPECT_GE(c.node(lead).prepared_versions_used(), 20u);
  for (uint64_t id : {1, 2, 3}) {
    if (id != lead) {
      EXPECT_EQ(c.node(id).prepared_versions_used(), 0u) << "node " << id;
    }
  }
}

TEST(ReplicatedLedger, APreparedVersionTheLedgerOutranIsAppliedAfresh) {
  TestCluster c(3);
  ASSERT_TRUE(c.Write(Put("alice", "100", /*create=*/true)).ok());
  c.Settle();
  const uint64_t lead = c.Leader();
  const uint64_t used = c.node(lead).prepared_versions_used();
  std::optional<Result<WriteResult>> result;
  ASSERT_TRUE(c.node(lead)
                  .Propose(Put("bob", "7"), [&](Result<WriteResult> r) { result = std::move(r); })
                  .ok());
  c.Round(/*tick=*/false);  // the leader persists the entry and prepares its version
  ASSERT_FALSE(result.has_value());
  // Something else writes the leader's ledger before the entry commits (here directly;
  // in a cluster, a membership record): the prepared version is stale.
  WriteBatch other;
  other.Put("accounts", "carol", "1");
  auto direct = c.node(lead).db()->Write({}, other);
  ASSERT_TRUE(direct.ok());
  for (int i = 0; i < 50 && !result.has_value(); ++i) c.Round(false);
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok()) << result->status().ToString();
  // Applied afresh on top of the other write, not from the stale preparation.
  EXPECT_EQ((*result)->version, direct->version + 1);
  EXPECT_EQ(c.node(lead).prepared_versions_used(), used);
  auto bob = c.node(lead).db()->Get({}, "accounts", "bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->value_or(""), "7");
  EXPECT_EQ(c.node(lead).latest().state_root, (*result)->state_root);
}

TEST(ReplicatedLedger, FailedCommandsFailEverywhereAndChangeNothing) {
  TestCluster c(3);
  WriteBatch missing_table;
  missing_table.Delete("nowhere", "alice");  // the table does not exist
  auto missing = c.Write(missing_table);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  auto ok = c.Write(Put("alice", "1", true));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  auto again = c.Write(Put("bob", "1", true));  // creating "accounts" twice
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists) << again.status().ToString();
  c.Settle();
  for (uint64_t id : {1, 2, 3}) EXPECT_EQ(c.node(id).latest().version, 1u);
  WriteBatch reserved;
  reserved.Put("__vellum_node", "applied_index", "x");
  EXPECT_EQ(c.Write(reserved).status().code(), StatusCode::kInvalidArgument);
}

TEST(ReplicatedLedger, APutCreatesItsTableOnEveryNode) {
  TestCluster c(3);
  auto first = c.Write(Put("alice", "1"));  // no CreateTable: the put creates "accounts"
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  WriteBatch both;
  both.Put("accounts", "bob", "2");
  both.Put("other", "x", "3");  // a second new table in the same command
  ASSERT_TRUE(c.Write(both).ok());
  c.Settle();
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.node(id).latest().version, 2u);
    EXPECT_EQ(c.node(id).latest().state_root, c.node(1).latest().state_root);
    auto v = c.node(id).db()->Get({}, "other", "x");
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->value_or(""), "3");
  }
}

TEST(ReplicatedLedger, WritesOfOneRoundShareAVersionAndFailAlone) {
  TestCluster c(3);
  const uint64_t lead = c.ElectLeader();
  ASSERT_TRUE(c.Write(Put("alice", "1", true)).ok());
  // Proposed in one round: one command, one entry, one ledger version.
  std::vector<std::optional<Result<WriteResult>>> results(4);
  std::vector<WriteBatch> writes(4);
  writes[0].Put("accounts", "bob", "2");
  writes[1].Delete("missing", "x");   // fails alone: no such table
  writes[2].CreateTable("accounts");  // fails alone: it exists
  writes[3].Put("accounts", "carol", "3");
  for (size_t i = 0; i < writes.size(); ++i) {
    ASSERT_TRUE(c.node(lead)
                    .Propose(writes[i], [&results, i](Result<WriteResult> r) { results[i] = r; })
                    .ok());
  }
  for (int i = 0; i < 100 && !results[3].has_value(); ++i) c.Round(i % 4 == 0);
  for (auto& r : results) ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(results[0]->ok()) << results[0]->status().ToString();
  EXPECT_EQ(results[1]->status().code(), StatusCode::kNotFound);
  EXPECT_EQ(results[2]->status().code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(results[3]->ok());
  EXPECT_EQ((*results[0])->version, 2u);
  EXPECT_EQ((*results[3])->version, 2u);
  EXPECT_EQ((*results[0])->raft_index, (*results[3])->raft_index);
  c.Settle();
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.node(id).latest().version, 2u);
    EXPECT_EQ(c.node(id).latest().state_root, (*results[3])->state_root);
  }
}

TEST(ReplicatedLedger, FollowersForwardWritesToTheLeader) {
  TestCluster c(3);
  const uint64_t lead = c.ElectLeader();
  const uint64_t follower = lead == 1 ? 2 : 1;
  std::optional<Result<WriteResult>> result;
  ASSERT_TRUE(c.node(follower)
                  .Propose(Put("a", "b", true), [&](Result<WriteResult> r) { result = r; })
                  .ok());
  for (int i = 0; i < 100 && !result.has_value(); ++i) c.Round(i % 4 == 0);
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok()) << result->status().ToString();
  EXPECT_EQ((*result)->version, 1u);
  c.Settle();
  for (uint64_t id : {1, 2, 3}) EXPECT_EQ(c.node(id).latest().state_root, (*result)->state_root);
}

TEST(ReplicatedLedger, WritesWithNoLeaderKnownFailAtOnce) {
  TestCluster c(3);  // nothing has ticked: no node knows a leader
  Status s = c.node(1).Propose(Put("a", "b", true), [](Result<WriteResult>) {});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
}

TEST(ReplicatedLedger, ReadBarrierOnAFollowerSeesAcknowledgedWrites) {
  TestCluster c(3);
  const uint64_t lead = c.ElectLeader();
  ASSERT_TRUE(c.Write(Put("alice", "1", true)).ok());
  ASSERT_TRUE(c.Write(Put("alice", "2")).ok());
  const uint64_t follower = lead == 1 ? 2 : 1;
  std::optional<Status> barrier;
  ASSERT_TRUE(c.node(follower).ReadBarrier([&](Status s) { barrier = s; }).ok());
  for (int i = 0; i < 50 && !barrier; ++i) c.Round(false);
  ASSERT_TRUE(barrier.has_value());
  ASSERT_TRUE(barrier->ok()) << barrier->ToString();
  auto v = c.node(follower).db()->Get({}, "accounts", "alice");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value_or(""), "2");
}

TEST(ReplicatedLedger, RestartedMemberCatchesUpWithoutRepeatingCommands) {
  TestCluster c(3);
  const uint64_t lead = c.ElectLeader();
  ASSERT_TRUE(c.Write(Put("a", "1", true)).ok());
  const uint64_t down = lead == 3 ? 2 : 3;
  c.Stop(down);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.Write(Put("k" + std::to_string(i), "x")).ok());
  ASSERT_TRUE(c.Start(down).ok());
  c.Settle(40);
  EXPECT_EQ(c.node(down).latest().version, c.node(lead).latest().version);
  EXPECT_EQ(c.node(down).latest().state_root, c.node(lead).latest().state_root);
  // Restart everyone: nothing is applied twice (versions unchanged), then go on.
  const uint64_t version = c.node(lead).latest().version;
  for (uint64_t id : {1, 2, 3}) c.Stop(id);
  for (uint64_t id : {1, 2, 3}) ASSERT_TRUE(c.Start(id).ok());
  for (uint64_t id : {1, 2, 3}) EXPECT_EQ(c.node(id).latest().version, version);
  ASSERT_TRUE(c.Write(Put("after", "restart")).ok());
  c.Settle();
  for (uint64_t id : {1, 2, 3}) EXPECT_EQ(c.node(id).latest().version, version + 1);
}

TEST(ReplicatedLedger, AttestationMismatchStopsEveryNodeThatAppliesIt) {
  TestCluster c(3);
  const uint64_t lead = c.ElectLeader();
  ASSERT_TRUE(c.Write(Put("a", "1", true)).ok());
  c.Settle();
  NodeCommand bogus;
  bogus.attested_version = 1;
  bogus.attested_root = c.node(lead).latest().state_root;
  bogus.attested_root[0] ^= 0xff;  // a root nobody has
  logchain::WriteSetOp op;
  op.kind = logchain::WriteSetOp::Kind::kPut;
  op.table = "accounts";
  op.key = ToBytes("b");
  op.value = ToBytes("2");
  bogus.writes.push_back(ClientWrite{1, {op}});
  ASSERT_TRUE(c.node(lead).ProposeCommandForTesting(bogus).ok());
  c.Settle();
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.node(id).alarm().code(), StatusCode::kCorruption) << "node " << id;
    EXPECT_NE(c.node(id).alarm().message().find("state root mismatch"), std::string::npos);
    EXPECT_EQ(c.node(id).latest().version, 1u) << "nothing applied past the mismatch";
  }
}

TEST(ReplicatedLedger, MemberWithAnotherMasterSecretCannotStart) {
  TestCluster c(3);
  const uint64_t lead = c.ElectLeader();
  const uint64_t odd = lead == 3 ? 2 : 3;
  c.Stop(odd);
  c.set_secret(odd, SecretFor(0x17));
  // Its ledger was created with the right secret: the wrong one cannot open it.
  EXPECT_FALSE(c.Start(odd).ok());
}

TEST(ReplicatedLedger, RaftLogAndLedgerHoldNoPlaintext) {
  TestCluster c(3);
  ASSERT_TRUE(c.Write(Put("marker-key-7f3a", "marker-value-9c1e", true)).ok());
  c.Settle();
  std::vector<std::string> stack = {"/cluster"};
  int files = 0;
  while (!stack.empty()) {
    const std::string dir = stack.back();
    stack.pop_back();
    std::vector<std::string> children;
    if (!c.env()->GetChildren(dir, &children).ok()) continue;
    for (const std::string& child : children) {
      const std::string path = dir + "/" + child;
      std::string data;
      if (ReadFileToString(c.env(), path, &data).ok()) {
        ++files;
        EXPECT_EQ(data.find("marker-key-7f3a"), std::string::npos) << path;
        EXPECT_EQ(data.find("marker-value-9c1e"), std::string::npos) << path;
      } else {
        stack.push_back(path);
      }
    }
  }
  EXPECT_GT(files, 10);
}

}  // namespace
}  // namespace vellum::node
