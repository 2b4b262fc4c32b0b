// Copyright (c) Vellum authors.
//
// Raft log compaction and ledger snapshot transfer: the snapshot descriptor and the
// checkpoint archive codecs (every truncation and every single-byte change is
// refused), DB::Checkpoint, and three ReplicatedLedger members in one process where
// one is cut off while the others compact their logs past it, then catches up by
// fetching, auditing and installing the leader's ledger — refusing a damaged archive
// and a ledger that does not match the snapshot, and surviving a crash between
// installing the ledger and persisting the Raft snapshot, and one mid-swap.

#include "node/ledger_snapshot.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "base/fault_injection_env.h"
#include "crypto/random.h"
#include "node/checkpoint_archive.h"
#include "node/replicated_ledger.h"
#include "tests/node/in_process_cluster.h"
#include "tests/node/test_authenticator.h"

namespace vellum::node {
namespace {

using testing::TestAuthenticator;

constexpr uint64_t kMaxArchiveBytes = uint64_t{1} << 30;

LedgerSnapshotDescriptor SampleDescriptor() {
  LedgerSnapshotDescriptor d;
  d.raft_index = 12345;
  d.ledger_version = 678;
  for (size_t i = 0; i < 32; ++i) {
    d.state_root[i] = static_cast<uint8_t>(i);
    d.log_head[i] = static_cast<uint8_t>(0xa0 + i);
  }
  return d;
}

TEST(LedgerSnapshotDescriptor, RoundTrips) {
  const LedgerSnapshotDescriptor d = SampleDescriptor();
  const Bytes encoded = EncodeLedgerSnapshot(d);
  EXPECT_EQ(encoded.size(), kLedgerSnapshotDescriptorSize);
  auto decoded = DecodeLedgerSnapshot(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, d);
}

TEST(LedgerSnapshotDescriptor, RefusesEveryTruncationAndEveryByteChanged) {
  const Bytes encoded = EncodeLedgerSnapshot(SampleDescriptor());
  for (size_t n = 0; n < encoded.size(); ++n) {
    EXPECT_FALSE(DecodeLedgerSnapshot(ByteView(encoded).first(n)).ok()) << n << " bytes";
  }
  Bytes longer = encoded;
  longer.push_back(0);
  EXPECT_FALSE(DecodeLedgerSnapshot(longer).ok());
  for (size_t i = 0; i < encoded.size(); ++i) {
    Bytes bad = encoded;
    bad[i] ^= 0x01;
    EXPECT_FALSE(DecodeLedgerSnapshot(bad).ok()) << "byte " << i;
  }
}

TEST(LedgerSnapshotDescriptor, RefusesRaftIndexZero) {
  LedgerSnapshotDescriptor d = SampleDescriptor();
  d.raft_index = 0;
  EXPECT_EQ(DecodeLedgerSnapshot(EncodeLedgerSnapshot(d)).status().code(), StatusCode::kCorruption);
}

class CheckpointArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = NewMemEnv(3);
    ASSERT_TRUE(env_->CreateDirIfMissing("/src").ok());
    ASSERT_TRUE(WriteStringToFile(env_.get(), "hello", "/src/a", false).ok());
    ASSERT_TRUE(WriteStringToFile(env_.get(), "", "/src/empty", false).ok());
    ASSERT_TRUE(WriteStringToFile(env_.get(), std::string(3000, 'z'), "/src/big", false).ok());
  }
  std::string Pack() {
    std::string archive;
    EXPECT_TRUE(PackCheckpoint(env_.get(), "/src", [&](std::string_view piece) {
                  archive.append(piece);
                  return Status::OK();
                }).ok());
    return archive;
  }
  std::unique_ptr<Env> env_;
};

TEST_F(CheckpointArchiveTest, RoundTripsInPiecesOfAnySize) {
  const std::string archive = Pack();
  for (size_t piece : {size_t{1}, size_t{7}, archive.size()}) {
    const std::string dir = "/dst" + std::to_string(piece);
    CheckpointUnpacker unpacker(env_.get(), dir, kMaxArchiveBytes);
    for (size_t at = 0; at < archive.size(); at += piece) {
      ASSERT_TRUE(unpacker.Add(std::string_view(archive).substr(at, piece)).ok());
    }
    {
      Status fs = unpacker.Finish();
      ASSERT_TRUE(fs.ok()) << fs.ToString() << " piece " << piece << " size " << archive.size();
    }
    std::vector<std::string> names;
    ASSERT_TRUE(env_->GetChildren(dir, &names).ok());
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()),
              (std::set<std::string>{"a", "big", "empty"}));
    std::string data;
    ASSERT_TRUE(ReadFileToString(env_.get(), dir + "/a", &data).ok());
    EXPECT_EQ(data, "hello");
    ASSERT_TRUE(ReadFileToString(env_.get(), dir + "/big", &data).ok());
    EXPECT_EQ(data, std::string(3000, 'z'));
    ASSERT_TRUE(ReadFileToString(env_.get(), dir + "/empty", &data).ok());
    EXPECT_EQ(data, "");
  }
}

TEST_F(CheckpointArchiveTest, RefusesEveryTruncationAndEveryByteChanged) {
  const std::string archive = Pack();
  int case_number = 0;
  auto refused = [&](std::string_view bad) {
    const std::string dir = "/bad" + std::to_string(case_number++);
    Status s = UnpackCheckpoint(env_.get(), bad, dir, kMaxArchiveBytes);
    EXPECT_TRUE(RemoveDirTree(env_.get(), dir).ok());
    return !s.ok();
  };
  for (size_t n = 0; n < archive.size(); ++n) {
    EXPECT_TRUE(refused(std::string_view(archive).substr(0, n))) << n << " bytes";
  }
  EXPECT_TRUE(refused(archive + "x"));
  for (size_t i = 0; i < archive.size(); ++i) {
    std::string bad = archive;
    bad[i] ^= 0x01;
    EXPECT_TRUE(refused(bad)) << "byte " << i;
  }
}

TEST_F(CheckpointArchiveTest, RefusesNamesOutsideItsDirectoryAndOversizedArchives) {
  // A hand-made archive naming "../x": refused before anything is written.
  std::string archive = "VLMCKPT1";
  archive += std::string("\0\0\0\1", 4);
  archive += std::string("\0\4", 2) + "../x" + std::string(7, '\0') + "\1" + "y";
  Status s = UnpackCheckpoint(env_.get(), archive, "/evil", kMaxArchiveBytes);
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  EXPECT_FALSE(env_->FileExists("/x").ok());
  EXPECT_EQ(UnpackCheckpoint(env_.get(), Pack(), "/small", 10).code(),
            StatusCode::kResourceExhausted);
}

TEST(DBCheckpoint, CopyOpensWithTheSameKeyAndHoldsEveryCommit) {
  std::unique_ptr<Env> env = NewMemEnv(5);
  Options o;
  o.env = env.get();
  o.create_if_missing = true;
  o.sync = false;
  o.master_key_provider = [] { return MasterKey::FromBytes(std::string(32, '\x42')); };
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(o, "/ledger", &db).ok());
  WriteBatch b;
  b.CreateTable("t");
  for (int i = 0; i < 50; ++i) b.Put("t", "k" + std::to_string(i), "v");
  ASSERT_TRUE(db->Write({}, b).ok());
  WriteBatch b2;
  b2.Put("t", "k1", "changed");
  ASSERT_TRUE(db->Write({}, b2).ok());
  {
    Status ss = db->SyncWrites();
    ASSERT_TRUE(ss.ok()) << ss.ToString();
  }
  ASSERT_TRUE(db->Checkpoint("/copy").ok());
  EXPECT_EQ(db->Checkpoint("/copy").code(), StatusCode::kAlreadyExists);
  const CommitInfo latest = db->Latest();
  ASSERT_TRUE(db->Close().ok());

  std::unique_ptr<DB> copy;
  o.create_if_missing = false;
  ASSERT_TRUE(DB::Open(o, "/copy", &copy).ok());
  EXPECT_EQ(copy->Latest().version, latest.version);
  EXPECT_EQ(copy->Latest().state_root, latest.state_root);
  auto v = copy->Get({}, "t", "k1");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, "changed");
  auto report = copy->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
}

TEST(DBCheckpoint, SyncWritesMakesUnsyncedCommitsSurvivePowerLoss) {
  std::unique_ptr<Env> mem = NewMemEnv(6);
  FaultInjectionEnv env(mem.get(), 1);
  Options o;
  o.env = &env;
  o.create_if_missing = true;
  o.sync = false;
  o.master_key_provider = [] { return MasterKey::FromBytes(std::string(32, '\x42')); };
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(o, "/ledger", &db).ok());
  WriteBatch b;
  b.CreateTable("t");
  b.Put("t", "k", "v");
  ASSERT_TRUE(db->Write({}, b).ok());
  Status synced = db->SyncWrites();
  ASSERT_TRUE(synced.ok()) << synced.ToString();
  const CommitInfo latest = db->Latest();
  env.SetFilesystemActive(false);
  db.reset();
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  env.SetFilesystemActive(true);
  ASSERT_TRUE(DB::Open(o, "/ledger", &db).ok());
  EXPECT_EQ(db->Latest().version, latest.version);
  EXPECT_EQ(db->Latest().state_root, latest.state_root);
}

// --- three members --------------------------------------------------------------

class SnapshotCluster : public testing::InProcessCluster {
 public:
  SnapshotCluster() : InProcessCluster(11, 77) {
    keys() = testing::TestNodeKeys(3);
    for (uint64_t id = 1; id <= 3; ++id) EXPECT_TRUE(Start(id).ok());
  }

  // What the daemon's fetch does, in process: a checkpoint of the sender's ledger,
  // packed, then unpacked into the follower's directory.
  Status Fetch(uint64_t from, const std::string& into) {
    ++fetches_;
    const uint64_t source = fetch_from_ != 0 ? fetch_from_ : from;
    if (!up(source)) return Status::Unavailable("node " + std::to_string(source) + " is down");
    const std::string checkpoint = "/cluster/checkpoint";
    VELLUM_RETURN_IF_ERROR(RemoveDirTree(env(), checkpoint));
    VELLUM_RETURN_IF_ERROR(node(source).db()->Checkpoint(checkpoint));
    std::string archive;
    VELLUM_RETURN_IF_ERROR(PackCheckpoint(env(), checkpoint, [&](std::string_view piece) {
      archive.append(piece);
      return Status::OK();
    }));
    VELLUM_RETURN_IF_ERROR(RemoveDirTree(env(), checkpoint));
    if (corrupt_archive_) archive[archive.size() / 2] ^= 0x40;
    return UnpackCheckpoint(env(), archive, into, kMaxArchiveBytes);
  }

  static std::string Dir(uint64_t id) { return "/cluster/n" + std::to_string(id); }

  // Writes until every live member but `behind` has compacted its log past `behind`'s
  // last index.
  void WriteUntilCompactedPast(uint64_t behind, int start) {
    const uint64_t last = node(behind).status().last_index;
    for (int i = start; i < start + 200; ++i) {
      ASSERT_TRUE(Put("k" + std::to_string(i), "v" + std::to_string(i)).ok());
      bool compacted = true;
      for (auto& [id, n] : nodes()) {
        if (id != behind) compacted = compacted && n->snapshot_stats().snapshot_index > last;
      }
      if (compacted) return;
    }
    FAIL() << "the log was never compacted";
  }
  Result<WriteResult> Put(const std::string& key, const std::string& value) {
    WriteBatch b;
    b.Put("t", key, value);
    return Write(b);
  }
  void ExpectSameLedger(uint64_t a, uint64_t b) {
    EXPECT_EQ(node(a).latest().version, node(b).latest().version) << a << " vs " << b;
    EXPECT_EQ(node(a).latest().state_root, node(b).latest().state_root) << a << " vs " << b;
  }

  int fetches() const { return fetches_; }
  void set_corrupt_archive(bool on) { corrupt_archive_ = on; }
  void set_fetch_from(uint64_t id) { fetch_from_ = id; }
  void crash_after_snapshot(uint64_t id) { crash_after_snapshot_ = id; }

 protected:
  ReplicatedLedgerOptions Options(uint64_t id) override {
    ReplicatedLedgerOptions o;
    o.dir = Dir(id);
    o.master_key_provider = [] { return MasterKey::FromBytes(std::string(32, '\x42')); };
    o.initial_voters = {1, 2, 3};
    o.snapshot_interval_entries = 8;
    o.snapshot_tail_entries = 2;
    o.snapshot_retry_ticks = 5;
    o.fetch_snapshot = [this](const LedgerSnapshotDescriptor&, uint64_t from,
                              const std::string& into) { return Fetch(from, into); };
    return o;
  }
  void AfterDelivery(const raft::Message& m) override {
    if (crash_after_snapshot_ != m.to || m.type != raft::MessageType::kSnapshot ||
        node(m.to).snapshot_stats().snapshots_installed == 0) {
      return;
    }
    // Gone before its next Process: the ledger is installed, the Raft log is not.
    crash_after_snapshot_ = 0;
    Stop(m.to);
  }

 private:
  int fetches_ = 0;
  bool corrupt_archive_ = false;
  uint64_t fetch_from_ = 0;
  uint64_t crash_after_snapshot_ = 0;
};

// Sets up a cluster with table "t" and a follower cut off while the others compact.
uint64_t CutOffAndCompact(SnapshotCluster& c, uint64_t* lead) {
  *lead = c.ElectLeader();
  EXPECT_NE(*lead, 0u);
  WriteBatch b;
  b.CreateTable("t");
  EXPECT_TRUE(c.Write(b).ok());
  c.Settle(5);
  const uint64_t behind = *lead == 3 ? 2 : 3;
  c.cut().insert(behind);
  c.WriteUntilCompactedPast(behind, 0);
  return behind;
}

TEST(LedgerSnapshotCluster, CutOffMemberCatchesUpThroughASnapshot) {
  SnapshotCluster c;
  uint64_t lead = 0;
  const uint64_t behind = CutOffAndCompact(c, &lead);
  EXPECT_GT(c.node(lead).snapshot_stats().snapshots_taken, 0u);
  EXPECT_LT(c.node(behind).latest().version, c.node(lead).latest().version);

  c.cut().clear();
  c.Settle(40);
  EXPECT_EQ(c.node(behind).snapshot_stats().snapshots_installed, 1u);
  EXPECT_TRUE(c.node(behind).alarm().ok()) << c.node(behind).alarm().ToString();
  c.ExpectSameLedger(behind, lead);
  EXPECT_EQ(c.node(behind).applied_index(), c.node(lead).applied_index());
  EXPECT_FALSE(c.env()->FileExists(SnapshotCluster::Dir(behind) + "/ledger.old").ok());
  EXPECT_FALSE(c.env()->FileExists(SnapshotCluster::Dir(behind) + "/snapshot.pending").ok());
  // The installed ledger reads and keeps applying.
  auto v = c.node(behind).db()->Get({}, "t", "k0");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, "v0");
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(c.Put("after" + std::to_string(i), "x").ok());
  c.Settle(10);
  for (uint64_t id : {1, 2, 3}) c.ExpectSameLedger(id, lead);
  // And restarts from what it installed.
  c.Stop(behind);
  ASSERT_TRUE(c.Start(behind).ok());
  c.ExpectSameLedger(behind, lead);
  ASSERT_TRUE(c.Put("restarted", "y").ok());
  c.Settle(10);
  for (uint64_t id : {1, 2, 3}) c.ExpectSameLedger(id, lead);
}

TEST(LedgerSnapshotCluster, StoppedMemberCatchesUpThroughASnapshotAfterRestart) {
  SnapshotCluster c;
  const uint64_t lead = c.ElectLeader();
  WriteBatch b;
  b.CreateTable("t");
  ASSERT_TRUE(c.Write(b).ok());
  c.Settle(5);
  const uint64_t behind = lead == 3 ? 2 : 3;
  const uint64_t last = c.node(behind).status().last_index;
  c.Stop(behind);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(c.Put("k" + std::to_string(i), "v").ok());
  ASSERT_GT(c.node(lead).snapshot_stats().snapshot_index, last);
  ASSERT_TRUE(c.Start(behind).ok());
  c.Settle(40);
  EXPECT_EQ(c.node(behind).snapshot_stats().snapshots_installed, 1u);
  c.ExpectSameLedger(behind, lead);
}

// The member refused every snapshot it fetched as Corruption, and installed none.
void ExpectSnapshotRefused(const ReplicatedLedger& member) {
  const ReplicatedLedger::SnapshotStats stats = member.snapshot_stats();
  EXPECT_GT(stats.install_failures, 0u);
  EXPECT_EQ(stats.snapshots_installed, 0u);
  EXPECT_EQ(stats.last_install_error.code(), StatusCode::kCorruption)
      << stats.last_install_error.ToString();
}

TEST(LedgerSnapshotCluster, DamagedArchiveIsRefusedThenRetried) {
  SnapshotCluster c;
  uint64_t lead = 0;
  const uint64_t behind = CutOffAndCompact(c, &lead);
  const CommitInfo before = c.node(behind).latest();
  c.set_corrupt_archive(true);
  c.cut().clear();
  c.Settle(20);
  ExpectSnapshotRefused(c.node(behind));
  EXPECT_TRUE(c.node(behind).alarm().ok()) << "a refused snapshot does not stop the node";
  EXPECT_EQ(c.node(behind).latest().version, before.version);
  EXPECT_EQ(c.node(behind).latest().state_root, before.state_root);
  EXPECT_FALSE(c.env()->FileExists(SnapshotCluster::Dir(behind) + "/ledger.incoming").ok());
  EXPECT_LT(c.fetches(), 10) << "retries are spaced out";

  c.set_corrupt_archive(false);
  c.Settle(20);
  EXPECT_EQ(c.node(behind).snapshot_stats().snapshots_installed, 1u);
  c.ExpectSameLedger(behind, lead);
}

TEST(LedgerSnapshotCluster, LedgerThatDoesNotMatchTheDescriptorIsRefused) {
  SnapshotCluster c;
  uint64_t lead = 0;
  const uint64_t behind = CutOffAndCompact(c, &lead);
  // The third member's ledger has the same state roots but its own log entries (its
  // entry keys were split with its own randomness): not the leader's log head.
  const uint64_t other = 6 - lead - behind;
  c.set_fetch_from(other);
  c.cut().clear();
  c.Settle(10);
  ExpectSnapshotRefused(c.node(behind));
  c.set_fetch_from(0);
  c.Settle(20);
  EXPECT_EQ(c.node(behind).snapshot_stats().snapshots_installed, 1u);
  c.ExpectSameLedger(behind, lead);
}

TEST(LedgerSnapshotCluster, CrashBetweenInstallingAndPersistingTheRaftSnapshot) {
  SnapshotCluster c;
  uint64_t lead = 0;
  const uint64_t behind = CutOffAndCompact(c, &lead);
  c.crash_after_snapshot(behind);
  c.cut().clear();
  for (int i = 0; i < 40 && c.up(behind); ++i) c.Round();
  ASSERT_FALSE(c.up(behind)) << "the member never installed the snapshot";
  // The ledger is the leader's, ahead of this member's Raft log.
  EXPECT_TRUE(c.env()->FileExists(SnapshotCluster::Dir(behind) + "/snapshot.pending").ok());
  ASSERT_TRUE(c.Start(behind).ok());
  EXPECT_TRUE(c.node(behind).alarm().ok());
  c.Settle(30);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.Put("after" + std::to_string(i), "x").ok());
  c.Settle(10);
  EXPECT_TRUE(c.node(behind).alarm().ok()) << c.node(behind).alarm().ToString();
  c.ExpectSameLedger(behind, lead);
  EXPECT_FALSE(c.env()->FileExists(SnapshotCluster::Dir(behind) + "/snapshot.pending").ok());
  c.Stop(behind);
  ASSERT_TRUE(c.Start(behind).ok());
  c.ExpectSameLedger(behind, lead);
}

TEST(LedgerSnapshotCluster, OpenRecoversFromACrashMidSwap) {
  SnapshotCluster c;
  uint64_t lead = c.ElectLeader();
  WriteBatch b;
  b.CreateTable("t");
  ASSERT_TRUE(c.Write(b).ok());
  ASSERT_TRUE(c.Put("a", "1").ok());
  c.Settle(5);
  const uint64_t id = lead == 3 ? 2 : 3;
  const CommitInfo before = c.node(id).latest();
  c.Stop(id);
  // Between the renames: the ledger moved aside, the new one not yet in place, and
  // a half-fetched incoming directory.
  const std::string dir = SnapshotCluster::Dir(id);
  ASSERT_TRUE(c.env()->RenameFile(dir + "/ledger", dir + "/ledger.old").ok());
  ASSERT_TRUE(c.env()->CreateDir(dir + "/ledger.incoming").ok());
  ASSERT_TRUE(
      WriteStringToFile(c.env(), "partial", dir + "/ledger.incoming/000001.sst", false).ok());
  ASSERT_TRUE(c.Start(id).ok());
  EXPECT_EQ(c.node(id).latest().version, before.version);
  EXPECT_EQ(c.node(id).latest().state_root, before.state_root);
  EXPECT_FALSE(c.env()->FileExists(dir + "/ledger.old").ok());
  EXPECT_FALSE(c.env()->FileExists(dir + "/ledger.incoming").ok());
  ASSERT_TRUE(c.Put("b", "2").ok());
  c.Settle(5);
  c.ExpectSameLedger(id, lead);
}

}  // namespace
}  // namespace vellum::node
