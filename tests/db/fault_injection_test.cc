// Copyright (c) Vellum authors.
//
// The ledger on the fault-injecting Env (base/fault_injection_env.h) over an in-memory
// Env: power losses that drop every unsynced byte (optionally tearing the last
// writes), and I/O errors injected into the Nth write or sync — while committing,
// while opening, while creating. After each, the ledger must recover to a state it
// acknowledged (every synced commit present, the head, the log and the state root in
// agreement, Verify() clean), and until then it must never return wrong data.
// Seeds are printed; VELLUM_TEST_SEED=<seed> replays one.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/fault_injection_env.h"
#include "tests/db/safety_test_util.h"
#include "tests/test_util.h"
#include "vellum/db.h"

namespace vellum {
namespace {

using testing::ApplyOps;
using testing::LedgerState;

constexpr const char* kPath = "/ledger";
const std::vector<std::string> kTables = {"t0", "t1"};
constexpr int kKeys = 12;

std::string KeyName(int i) { return "k" + std::to_string(i); }

// A ledger living in a MemEnv behind a FaultInjectionEnv, and a model of what it
// acknowledged: states[v] is the state after version v.
class FaultLedger {
 public:
  explicit FaultLedger(uint64_t seed) : mem_(NewMemEnv(seed)), fault_(mem_.get(), seed) {}

  FaultInjectionEnv& fault() { return fault_; }
  DB* db() { return db_.get(); }

  Options MakeOptions(bool sync) {
    Options options;
    options.env = &fault_;
    options.create_if_missing = true;
    options.master_key_provider = [] {
      return MasterKey::FromBytes(std::string(MasterKey::kSize, '\x5a'));
    };
    options.sync = sync;
    options.node_cache_bytes = 1 << 20;
    options.block_cache_bytes = 1 << 20;
    options.hash_threads = 1;
    return options;
  }

  Status Open(bool sync = true) {
    db_.reset();
    return DB::Open(MakeOptions(sync), kPath, &db_);
  }

  // Power loss with the ledger open: the file system stops, the process "dies", and
  // everything not synced is gone.
  void PowerLoss() {
    fault_.SetFilesystemActive(false);
    db_.reset();  // its shutdown writes fail, as they would
    fault_.SetFilesystemActive(true);
    EXPECT_OK(fault_.DropUnsyncedData());
  }

  // A random batch over the model's current tables (creating them first).
  WriteBatch RandomBatch(std::mt19937_64& rng, const LedgerState& state) {
    WriteBatch batch;
    for (const auto& table : kTables) {
      if (!state.contains(table)) batch.CreateTable(table);
    }
    const int n = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      const std::string& table = kTables[rng() % kTables.size()];
      std::string key = KeyName(static_cast<int>(rng() % kKeys));
      if (rng() % 5 == 0) {
        batch.Delete(table, key);
      } else {
        batch.Put(table, key, "v" + std::to_string(rng() % 1000000) + std::string(rng() % 40, 'x'));
      }
    }
    return batch;
  }

  // Commits `batch` (through a transaction when `as_transaction`); on success records
  // the new state.
  Result<CommitInfo> Commit(const WriteBatch& batch, bool as_transaction,
                            std::optional<bool> sync = std::nullopt) {
    WriteOptions options;
    options.sync = sync;
    Result<CommitInfo> info = [&]() -> Result<CommitInfo> {
      if (!as_transaction) return db_->Write(options, batch);
      auto txn = db_->BeginTransaction();
      for (const auto& op : batch.ops()) {
        switch (op.kind) {
          case WriteBatch::OpKind::kPut:
            txn->Put(op.table, op.key, op.value);
            break;
          case WriteBatch::OpKind::kDelete:
            txn->Delete(op.table, op.key);
            break;
          case WriteBatch::OpKind::kCreateTable:
            txn->CreateTable(op.table);
            break;
          case WriteBatch::OpKind::kDropTable:
            txn->DropTable(op.table);
            break;
        }
      }
      return txn->Commit(options);
    }();
    if (info.ok()) {
      EXPECT_EQ(info->version, states.size()) << "versions are consecutive";
      Adopt(batch);
    }
    return info;
  }

  // Records `batch` as the next version.
  void Adopt(const WriteBatch& batch) {
    const uint64_t version = states.size();
    LedgerState next = states.back();
    ApplyOps(batch.ops(), &next);
    states.push_back(std::move(next));
    std::map<std::pair<std::string, std::string>, std::string> last;  // last write wins
    for (const auto& op : batch.ops()) {
      if (op.kind == WriteBatch::OpKind::kPut) last[{op.table, op.key}] = "=" + op.value;
      if (op.kind == WriteBatch::OpKind::kDelete) last[{op.table, op.key}] = " deleted";
    }
    for (const auto& [key, change] : last) {
      history[key].push_back(std::to_string(version) + change + ";");
    }
  }

  // Forgets the versions after `version` (lost in a power loss).
  void TruncateTo(uint64_t version) {
    states.resize(version + 1);
    for (auto& [key, changes] : history) {
      while (!changes.empty() && std::stoull(changes.back()) > version) changes.pop_back();
    }
  }

  // The ledger's state at `version`, read through Get (verified) for every table and
  // key the tests use. Errors are recorded as such.
  LedgerState ReadState(uint64_t version, std::string* errors) {
    LedgerState state;
    ReadOptions options;
    options.version = version;
    for (const auto& table : kTables) {
      for (int i = 0; i < kKeys; ++i) {
        auto value = db_->Get(options, table, KeyName(i));
        if (!value.ok()) {
          if (value.status().code() != StatusCode::kNotFound) {
            *errors += table + "/" + KeyName(i) + " @" + std::to_string(version) + ": " +
                       value.status().ToString() + "\n";
          }
          continue;
        }
        state[table];
        if (value->has_value()) state[table][KeyName(i)] = **value;
      }
    }
    return state;
  }

  // Checks that the open ledger is exactly at acknowledged version `version` (all
  // versions up to it as the model says) with a clean audit.
  void ExpectConsistentAt(uint64_t version) {
    ASSERT_LT(version, states.size());
    ASSERT_EQ(db_->Latest().version, version);
    for (uint64_t v = 1; v <= version; ++v) {
      std::string errors;
      LedgerState read = Normalized(ReadState(v, &errors));
      EXPECT_EQ(errors, "") << "version " << v;
      EXPECT_EQ(read, Normalized(states[v])) << "version " << v;
    }
    // Every key's history: its writes, each checked against its version's state.
    for (const auto& table : kTables) {
      const bool exists = states[version].contains(table);
      for (int i = 0; i < kKeys; ++i) {
        auto changes = db_->History(table, KeyName(i));
        if (!exists) {
          EXPECT_EQ(changes.status().code(), StatusCode::kNotFound);
          continue;
        }
        ASSERT_TRUE(changes.ok()) << table << "/" << KeyName(i) << ": "
                                  << changes.status().ToString();
        std::string got, expected;
        for (const auto& change : *changes) {
          got += std::to_string(change.version) +
                 (change.value ? "=" + *change.value : " deleted") + ";";
          EXPECT_TRUE(change.verified);
        }
        auto it = history.find({table, KeyName(i)});
        if (it != history.end()) {
          for (const auto& change : it->second) expected += change;
        }
        EXPECT_EQ(got, expected) << "history of " << table << "/" << KeyName(i);
      }
    }
    auto report = db_->Verify();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    for (const auto& finding : report->findings) {
      ADD_FAILURE() << finding.location << ": " << finding.problem;
    }
    auto digest = db_->GetDigest();
    ASSERT_TRUE(digest.ok()) << digest.status().ToString();
    EXPECT_EQ(digest->version, version);
    EXPECT_EQ(digest->log_size, version);
    EXPECT_EQ(digest->state_root, db_->Latest().state_root);
    if (version > 0) {
      auto entry = db_->GetLogEntry(version);
      ASSERT_TRUE(entry.ok()) << entry.status().ToString();
      EXPECT_EQ(entry->state_root_after, digest->state_root);
      EXPECT_EQ(entry->entry_hash, digest->log_head_hash);
    }
  }

  // A table with no keys reads as present-and-empty only if it exists: ReadState
  // cannot tell an empty table from a missing one, so neither can the comparison.
  static LedgerState Normalized(const LedgerState& state) {
    LedgerState out;
    for (const auto& [table, keys] : state) {
      if (!keys.empty()) out[table] = keys;
    }
    return out;
  }

  std::vector<LedgerState> states{LedgerState()};  // states[0]: empty
  // (table, key) -> its writes, each "<version>=<value>;" or "<version> deleted;".
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> history;

 private:
  std::unique_ptr<Env> mem_;
  FaultInjectionEnv fault_;
  std::unique_ptr<DB> db_;
};

// ReadState records present-but-empty tables; normalize both sides the same way.
LedgerState ReadNormalized(FaultLedger& ledger, uint64_t version, std::string* errors) {
  return FaultLedger::Normalized(ledger.ReadState(version, errors));
}

// (a) Sync on: every acknowledged commit survives a power loss, torn writes or not,
// across several lives of the same ledger.
TEST(FaultInjectionTest, SyncedCommitsSurvivePowerLoss) {
  const uint64_t first_seed = testing::TestSeed(100);
  for (uint64_t seed = first_seed; seed < first_seed + 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    FaultLedger ledger(seed);
    ledger.fault().SetTornWrites(seed % 2 == 0);
    for (int life = 0; life < 3; ++life) {
      SCOPED_TRACE("life " + std::to_string(life));
      ASSERT_OK(ledger.Open());
      ASSERT_NO_FATAL_FAILURE(ledger.ExpectConsistentAt(ledger.states.size() - 1));
      const int commits = 3 + static_cast<int>(rng() % 10);
      for (int c = 0; c < commits; ++c) {
        auto info = ledger.Commit(ledger.RandomBatch(rng, ledger.states.back()), rng() % 3 == 0);
        ASSERT_TRUE(info.ok()) << info.status().ToString();
      }
      // A commit in flight when the power goes: it must fail, and leave nothing.
      ledger.fault().SetFilesystemActive(false);
      WriteBatch doomed = ledger.RandomBatch(rng, ledger.states.back());
      auto lost = ledger.db()->Write({}, doomed);
      EXPECT_FALSE(lost.ok()) << "a commit succeeded with the file system stopped";
      EXPECT_EQ(ledger.db()->Latest().version, ledger.states.size() - 1);
      ledger.fault().SetFilesystemActive(true);
      ledger.PowerLoss();
    }
    ASSERT_OK(ledger.Open());
    ASSERT_NO_FATAL_FAILURE(ledger.ExpectConsistentAt(ledger.states.size() - 1));
  }
}

// (a) Sync off: a power loss may take the latest commits, but what is left is an
// acknowledged prefix — every commit made with sync (per commit, WriteOptions::sync)
// and everything before it — with the head, the log and the state in agreement.
TEST(FaultInjectionTest, UnsyncedCommitsRecoverToAnAcknowledgedPrefix) {
  const uint64_t first_seed = testing::TestSeed(200);
  int lost_some = 0;
  for (uint64_t seed = first_seed; seed < first_seed + 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    FaultLedger ledger(seed);
    ledger.fault().SetTornWrites(seed % 2 == 1);
    uint64_t durable = 0;  // the last version committed with sync
    for (int life = 0; life < 3; ++life) {
      SCOPED_TRACE("life " + std::to_string(life));
      ASSERT_OK(ledger.Open(/*sync=*/false));
      const uint64_t recovered = ledger.db()->Latest().version;
      ASSERT_GE(recovered, durable) << "a synced commit was lost";
      ASSERT_LT(recovered, ledger.states.size()) << "a version that was never committed";
      if (recovered + 1 < ledger.states.size()) ++lost_some;
      ledger.TruncateTo(recovered);  // the lost commits are gone for good
      ASSERT_NO_FATAL_FAILURE(ledger.ExpectConsistentAt(recovered));
      const int commits = 4 + static_cast<int>(rng() % 10);
      for (int c = 0; c < commits; ++c) {
        const bool sync = rng() % 4 == 0;
        auto info = ledger.Commit(ledger.RandomBatch(rng, ledger.states.back()), rng() % 3 == 0,
                                  sync ? std::optional<bool>(true) : std::nullopt);
        ASSERT_TRUE(info.ok()) << info.status().ToString();
        if (sync) durable = info->version;
      }
      ledger.PowerLoss();
    }
  }
  std::printf("lives that lost unsynced commits: %d\n", lost_some);
  EXPECT_GT(lost_some, 0) << "no power loss cost a commit: the test is not testing loss";
}

enum class Fault { kWrite, kSync };

void Arm(FaultInjectionEnv& fault, Fault kind, uint64_t n) {
  if (kind == Fault::kWrite) {
    fault.FailNthWrite(n);
  } else {
    fault.FailNthSync(n);
  }
}

// After a fault and a restart (clean or by power loss): the ledger is at the last
// acknowledged version, or — when the failed commit's write reached the disk before
// the error — at the failed commit, complete (then adopted into the model and
// counted in `survived`).
void ExpectRecovered(FaultLedger& ledger, const std::optional<WriteBatch>& failed, int* survived) {
  const uint64_t acked = ledger.states.size() - 1;
  const uint64_t latest = ledger.db()->Latest().version;
  ASSERT_GE(latest, acked) << "an acknowledged commit was lost";
  if (latest == acked + 1 && failed.has_value()) {
    // The failed commit is all there or not at all: adopt it.
    ledger.Adopt(*failed);
    ++*survived;
  }
  ASSERT_NO_FATAL_FAILURE(ledger.ExpectConsistentAt(ledger.states.size() - 1));
}

// How many writes and syncs a fault-free run of `phase` makes on a fresh ledger of
// `seed` after `setup`: the range of N worth injecting into.
struct Counts {
  uint64_t writes = 0;
  uint64_t syncs = 0;
};
template <typename Setup, typename Phase>
Counts CountCalls(uint64_t seed, Setup setup, Phase phase) {
  FaultLedger ledger(seed);
  setup(ledger);
  const uint64_t writes = ledger.fault().write_count(), syncs = ledger.fault().sync_count();
  phase(ledger);
  return {ledger.fault().write_count() - writes, ledger.fault().sync_count() - syncs};
}

// About `samples` values of N spread over 1..total (every one when total is small).
std::vector<uint64_t> Spread(uint64_t total, uint64_t samples) {
  std::vector<uint64_t> out;
  const uint64_t step = std::max<uint64_t>(1, total / samples);
  for (uint64_t n = 1; n <= total; n += step) out.push_back(n);
  return out;
}

std::string FaultName(Fault kind, uint64_t n) {
  return std::string(kind == Fault::kWrite ? "write " : "sync ") + std::to_string(n);
}

constexpr int kCommitsUnderFault = 12;

// (b) The Nth write or sync fails while committing, for N over a whole run of
// commits: the commit reports the error, reads never return wrong data, and after a
// restart the ledger holds an acknowledged state — or, unless `strict`, the failed
// commit, whole (its write reached the log before the error).
void CommitsUnderFaults(uint64_t first_seed, bool strict) {
  auto setup = [](FaultLedger& ledger) {
    ASSERT_OK(ledger.Open());
    std::mt19937_64 rng(1);
    for (int c = 0; c < 2; ++c) {
      ASSERT_TRUE(ledger.Commit(ledger.RandomBatch(rng, ledger.states.back()), false).ok());
    }
  };
  const Counts per_run = CountCalls(first_seed, setup, [](FaultLedger& ledger) {
    std::mt19937_64 rng(2);
    for (int c = 0; c < kCommitsUnderFault; ++c) {
      ASSERT_TRUE(ledger.Commit(ledger.RandomBatch(rng, ledger.states.back()), c % 3 == 0).ok());
    }
  });
  std::printf("%d commits: %llu writes, %llu syncs\n", kCommitsUnderFault,
              static_cast<unsigned long long>(per_run.writes),
              static_cast<unsigned long long>(per_run.syncs));
  int failed_commits = 0, survived = 0, runs = 0;
  for (Fault kind : {Fault::kWrite, Fault::kSync}) {
    for (uint64_t n : Spread(kind == Fault::kWrite ? per_run.writes : per_run.syncs, 16)) {
      const uint64_t seed = first_seed + n;
      SCOPED_TRACE(FaultName(kind, n) + ", seed " + std::to_string(seed));
      std::mt19937_64 rng(seed);
      FaultLedger ledger(seed);
      ASSERT_NO_FATAL_FAILURE(setup(ledger));
      ++runs;
      Arm(ledger.fault(), kind, n);
      std::optional<WriteBatch> failed;
      for (int c = 0; c < kCommitsUnderFault && !failed; ++c) {
        WriteBatch batch = ledger.RandomBatch(rng, ledger.states.back());
        auto info = ledger.Commit(batch, c % 3 == 0);
        if (!info.ok()) {
          failed = batch;
          ++failed_commits;
          EXPECT_EQ(ledger.db()->Latest().version, ledger.states.size() - 1)
              << "a failed commit moved the ledger";
        }
      }
      ledger.fault().FailNthWrite(0);
      ledger.fault().FailNthSync(0);
      // Still open after the error: the latest state is the last acknowledged one and
      // every read is right or an error.
      const uint64_t acked = ledger.states.size() - 1;
      EXPECT_EQ(ledger.db()->Latest().version, acked);
      for (uint64_t v = 1; v <= acked; ++v) {
        std::string errors;
        LedgerState read = ReadNormalized(ledger, v, &errors);
        if (errors.empty()) {
          EXPECT_EQ(read, FaultLedger::Normalized(ledger.states[v])) << "version " << v;
        }
      }
      // A commit after the error either fails too or lands as the next version.
      if (failed) {
        WriteBatch after = ledger.RandomBatch(rng, ledger.states.back());
        auto info = ledger.Commit(after, false);
        if (info.ok()) {
          EXPECT_EQ(info->version, acked + 1);
          failed.reset();  // the failed commit can no longer surface as acked + 1
        }
      }
      // Restart: by power loss or cleanly, alternately.
      if (n % 2 == 0) {
        ledger.PowerLoss();
      } else {
        // Close may repeat the error the database has seen; it still closes.
        ledger.db()->Close().IgnoreError();
      }
      Status reopened = ledger.Open();
      ASSERT_TRUE(reopened.ok()) << reopened.ToString();
      if (strict) {
        EXPECT_EQ(ledger.db()->Latest().version, ledger.states.size() - 1)
            << "a commit that returned an error is in the ledger after a restart";
      }
      ASSERT_NO_FATAL_FAILURE(ExpectRecovered(ledger, failed, &survived));
      // And it works again.
      ASSERT_TRUE(ledger.Commit(ledger.RandomBatch(rng, ledger.states.back()), false).ok());
      ASSERT_NO_FATAL_FAILURE(ledger.ExpectConsistentAt(ledger.states.size() - 1));
    }
  }
  std::printf("runs %d, commits failed by an injected fault %d, failed but durable %d\n", runs,
              failed_commits, survived);
  EXPECT_GT(failed_commits, runs / 2) << "the faults did not hit the commits";
}

TEST(FaultInjectionTest, FailedWriteOrSyncDuringCommitsIsAnErrorAndRecovers) {
  CommitsUnderFaults(testing::TestSeed(300), /*strict=*/false);
}

// Concurrent writers, grouped, when a write or sync fails: the writers of the failed
// group and every later one get an error, never an acknowledgement; after a power
// loss every acknowledged commit is there, and the ledger audits clean.
TEST(FaultInjectionTest, FailedWriteUnderConcurrentWritersLosesNoAcknowledgedCommit) {
  const uint64_t first_seed = testing::TestSeed(900);
  for (uint64_t n : {3, 7, 12, 20}) {
    for (Fault kind : {Fault::kWrite, Fault::kSync}) {
      const uint64_t seed = first_seed + n;
      SCOPED_TRACE(FaultName(kind, n) + ", seed " + std::to_string(seed));
      FaultLedger ledger(seed);
      ASSERT_OK(ledger.Open());
      WriteBatch create;
      create.CreateTable("t");
      ASSERT_TRUE(ledger.db()->Write({}, create).ok());
      Arm(ledger.fault(), kind, n);
      constexpr int kThreads = 4;
      std::mutex mu;
      std::vector<std::string> acknowledged;
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < 30; ++i) {
            const std::string key = std::to_string(t) + "/" + std::to_string(i);
            WriteBatch batch;
            batch.Put("t", key, "v" + key);
            if (!ledger.db()->Write({}, batch).ok()) return;
            std::lock_guard lock(mu);
            acknowledged.push_back(key);
          }
        });
      }
      for (auto& thread : threads) thread.join();
      ledger.fault().FailNthWrite(0);
      ledger.fault().FailNthSync(0);
      ledger.PowerLoss();
      ASSERT_OK(ledger.Open());
      for (const std::string& key : acknowledged) {
        auto value = ledger.db()->Get({}, "t", key);
        ASSERT_TRUE(value.ok()) << value.status().ToString();
        EXPECT_TRUE(value->has_value() && **value == "v" + key)
            << "acknowledged commit of " << key << " is missing after the power loss";
      }
      auto report = ledger.db()->Verify();
      ASSERT_TRUE(report.ok()) << report.status().ToString();
      EXPECT_TRUE(report->ok());
    }
  }
}

// (A commit whose write or sync failed has an unknown outcome, as db.h documents:
// its record may be in the write-ahead log and come back at the next open. The test
// above checks that the state after a restart is one of the acknowledged ones or that
// plus the failed commit — never anything else.)

// The Nth write or sync fails while an existing ledger opens: the open reports it
// (or, if the fault hit nothing that matters, succeeds), and the next open finds the
// ledger exactly as it was.
TEST(FaultInjectionTest, FailedWriteOrSyncDuringOpenChangesNothing) {
  const uint64_t seed = testing::TestSeed(400);
  auto setup = [](FaultLedger& ledger) {
    ASSERT_OK(ledger.Open());
    std::mt19937_64 rng(1);
    for (int c = 0; c < 4; ++c) {
      ASSERT_TRUE(ledger.Commit(ledger.RandomBatch(rng, ledger.states.back()), false).ok());
    }
    ASSERT_OK(ledger.db()->Close());
  };
  const Counts per_open =
      CountCalls(seed, setup, [](FaultLedger& ledger) { ASSERT_OK(ledger.Open()); });
  std::printf("an open: %llu writes, %llu syncs\n",
              static_cast<unsigned long long>(per_open.writes),
              static_cast<unsigned long long>(per_open.syncs));
  int failed_opens = 0;
  for (Fault kind : {Fault::kWrite, Fault::kSync}) {
    for (uint64_t n : Spread(kind == Fault::kWrite ? per_open.writes : per_open.syncs, 12)) {
      SCOPED_TRACE(FaultName(kind, n));
      FaultLedger ledger(seed + n);
      ASSERT_NO_FATAL_FAILURE(setup(ledger));
      Arm(ledger.fault(), kind, n);
      Status opened = ledger.Open();
      if (!opened.ok()) ++failed_opens;
      ledger.fault().FailNthWrite(0);
      ledger.fault().FailNthSync(0);
      if (n % 2 == 0) {
        ledger.PowerLoss();
      } else if (opened.ok()) {
        ledger.db()->Close().IgnoreError();
      }
      Status reopened = ledger.Open();
      ASSERT_TRUE(reopened.ok()) << "after a failed open (" << opened.ToString()
                                 << "): " << reopened.ToString();
      ASSERT_NO_FATAL_FAILURE(ledger.ExpectConsistentAt(ledger.states.size() - 1));
    }
  }
  std::printf("opens failed by an injected fault: %d\n", failed_opens);
  EXPECT_GT(failed_opens, 0);
}

// The Nth write or sync fails while a ledger is being created, and the power may go
// right after. Whatever is left is either a complete empty ledger or no ledger: an
// open without create_if_missing never finds a half-made one.
//
// `retry_must_work`: creating again must also succeed — a failed creation must not
// leave a directory that can no longer be created nor opened.
void CreationUnderFaults(uint64_t seed, bool retry_must_work) {
  const Counts per_create = CountCalls(
      seed, [](FaultLedger&) {}, [](FaultLedger& ledger) { ASSERT_OK(ledger.Open()); });
  std::printf("a creation: %llu writes, %llu syncs\n",
              static_cast<unsigned long long>(per_create.writes),
              static_cast<unsigned long long>(per_create.syncs));
  int failed_creates = 0, refused_retries = 0;
  for (Fault kind : {Fault::kWrite, Fault::kSync}) {
    for (uint64_t n : Spread(kind == Fault::kWrite ? per_create.writes : per_create.syncs, 8)) {
      for (bool power_loss : {false, true}) {
        SCOPED_TRACE(FaultName(kind, n) + (power_loss ? " then power loss" : ""));
        FaultLedger ledger(seed + n);
        Arm(ledger.fault(), kind, n);
        Status created = ledger.Open();
        ledger.fault().FailNthWrite(0);
        ledger.fault().FailNthSync(0);
        if (!created.ok()) ++failed_creates;
        if (power_loss) {
          ledger.PowerLoss();
        } else if (created.ok()) {
          ASSERT_OK(ledger.db()->Close());
        }
        // Without create_if_missing: a whole ledger or a clear "no ledger here".
        Options existing = ledger.MakeOptions(/*sync=*/true);
        existing.create_if_missing = false;
        std::unique_ptr<DB> db;
        Status opened = DB::Open(existing, kPath, &db);
        if (opened.ok()) {
          EXPECT_EQ(db->Latest().version, 0u);
          db.reset();
        } else {
          EXPECT_TRUE(opened.code() == StatusCode::kNotFound ||
                      opened.code() == StatusCode::kInvalidArgument)
              << opened.ToString();
        }
        // Creating again.
        Status again = ledger.Open();
        if (!again.ok()) {
          ++refused_retries;
          EXPECT_FALSE(retry_must_work) << "creating again after a failed creation ("
                                        << created.ToString() << "): " << again.ToString();
          EXPECT_EQ(again.code(), StatusCode::kInvalidArgument) << again.ToString();
          continue;
        }
        ASSERT_NO_FATAL_FAILURE(ledger.ExpectConsistentAt(0));
        std::mt19937_64 rng(n);
        ASSERT_TRUE(ledger.Commit(ledger.RandomBatch(rng, ledger.states.back()), false).ok());
        ASSERT_NO_FATAL_FAILURE(ledger.ExpectConsistentAt(1));
      }
    }
  }
  std::printf("creations failed by an injected fault: %d, retries refused: %d\n", failed_creates,
              refused_retries);
  EXPECT_GT(failed_creates, 0);
}

TEST(FaultInjectionTest, FailedWriteOrSyncDuringCreationLeavesNoHalfLedger) {
  CreationUnderFaults(testing::TestSeed(500), /*retry_must_work=*/false);
}

// A creation that failed (or crashed) part way can be retried: a directory holding
// only RocksDB's creation files, or an empty database, is created over.
TEST(FaultInjectionTest, FailedCreationCanBeRetried) {
  CreationUnderFaults(testing::TestSeed(500), /*retry_must_work=*/true);
}

}  // namespace
}  // namespace vellum
