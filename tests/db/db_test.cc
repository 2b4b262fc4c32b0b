// Copyright (c) Vellum authors.
//
// The ledger's public API: opening, tables, writes and reads across versions,
// proofs, history, scans, digests, the log, and reopening.

#include "vellum/db.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "tests/db/db_test_util.h"

namespace vellum {
namespace {

using testing::GetString;
using testing::LedgerDir;
using testing::MustCreateTable;
using testing::MustPut;
using testing::MustWrite;

TEST(DBOpen, MissingLedgerIsNotFoundWithoutCreate) {
  LedgerDir dir;
  std::unique_ptr<DB> db;
  Status status = DB::Open(dir.DefaultOptions(/*create=*/false), dir.ledger(), &db);
  EXPECT_EQ(status.code(), StatusCode::kNotFound) << status.ToString();
  EXPECT_FALSE(std::filesystem::exists(dir.ledger()));
}

TEST(DBOpen, CreateThenReopen) {
  LedgerDir dir;
  {
    auto db = dir.Open();
    ASSERT_TRUE(db);
    EXPECT_EQ(db->Latest().version, 0u);
    MustCreateTable(*db, "accounts");
    MustPut(*db, "accounts", "alice", "100");
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = dir.Open(dir.DefaultOptions(/*create=*/false));
  ASSERT_TRUE(db);
  EXPECT_EQ(db->Latest().version, 2u);
  EXPECT_EQ(GetString(*db, "accounts", "alice"), "100");
}

TEST(DBOpen, ReplicasWithTheSameLedgerIdHaveTheSameRoots) {
  LedgerDir a, b, c;
  // All three share a's master key; a and b also share a ledger id.
  auto write = [&a](LedgerDir& dir, const std::string& id) {
    Options options = dir.DefaultOptions();
    options.key_file = a.key_file();
    options.ledger_id = id;
    auto db = dir.Open(options);
    EXPECT_TRUE(db);
    MustCreateTable(*db, "accounts");
    MustPut(*db, "accounts", "alice", "100");
    return db->Latest().state_root;
  };
  const Hash root_a = write(a, std::string(16, '\x5a'));
  EXPECT_EQ(write(b, std::string(16, '\x5a')), root_a);
  EXPECT_NE(write(c, std::string(16, '\x5b')), root_a);
  // Reopening with another id is refused; a wrong length is InvalidArgument.
  Options other = a.DefaultOptions(/*create=*/false);
  other.ledger_id = std::string(16, '\x01');
  std::unique_ptr<DB> db;
  EXPECT_EQ(DB::Open(other, a.ledger(), &db).code(), StatusCode::kFailedPrecondition);
  other.ledger_id = "short";
  EXPECT_EQ(DB::Open(other, a.ledger(), &db).code(), StatusCode::kInvalidArgument);
}

TEST(DBOpen, ErrorIfExists) {
  LedgerDir dir;
  dir.Open().reset();
  Options options = dir.DefaultOptions();
  options.error_if_exists = true;
  std::unique_ptr<DB> db;
  EXPECT_EQ(DB::Open(options, dir.ledger(), &db).code(), StatusCode::kAlreadyExists);
}

TEST(DBOpen, WrongMasterKeyIsPermissionDeniedAndChangesNothing) {
  LedgerDir dir;
  CommitInfo before;
  {
    auto db = dir.Open();
    MustCreateTable(*db, "t");
    before = MustPut(*db, "t", "k", "v");
  }
  std::string other = dir.root() + "/other.key";
  ASSERT_TRUE(MasterKey::Generate().WriteFile(other).ok());
  Options options = dir.DefaultOptions(false);
  options.key_file = other;
  std::unique_ptr<DB> db;
  Status status = DB::Open(options, dir.ledger(), &db);
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied) << status.ToString();
  auto reopened = dir.Open(dir.DefaultOptions(false));
  EXPECT_EQ(reopened->Latest().state_root, before.state_root);
  EXPECT_EQ(GetString(*reopened, "t", "k"), "v");
}

TEST(DBOpen, SecondOpenIsUnavailable) {
  LedgerDir dir;
  auto db = dir.Open();
  std::unique_ptr<DB> second;
  Status status = DB::Open(dir.DefaultOptions(), dir.ledger(), &second);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.ToString();
}

TEST(DBOpen, ForeignDirectoryIsRefused) {
  LedgerDir dir;
  std::filesystem::create_directories(dir.ledger());
  { std::ofstream(dir.ledger() + "/notes.txt") << "not a ledger"; }
  std::unique_ptr<DB> db;
  Status status = DB::Open(dir.DefaultOptions(), dir.ledger(), &db);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
}

TEST(DBOpen, MissingKeyFileIsNotFound) {
  LedgerDir dir;
  Options options = dir.DefaultOptions();
  options.key_file = dir.root() + "/nope.key";
  std::unique_ptr<DB> db;
  EXPECT_EQ(DB::Open(options, dir.ledger(), &db).code(), StatusCode::kNotFound);
}

TEST(DBWrite, TablesCreateDropList) {
  LedgerDir dir;
  auto db = dir.Open();
  WriteBatch batch;
  batch.CreateTable("b");
  batch.CreateTable("a");
  CommitInfo created = MustWrite(*db, batch);
  auto tables = db->ListTables();
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(*tables, (std::vector<std::string>{"a", "b"}));
  MustPut(*db, "a", "k", "in a");
  MustPut(*db, "b", "k", "in b");
  EXPECT_EQ(GetString(*db, "a", "k"), "in a");
  EXPECT_EQ(GetString(*db, "b", "k"), "in b");

  WriteBatch again;
  again.CreateTable("a");
  EXPECT_EQ(db->Write({}, again).status().code(), StatusCode::kAlreadyExists);
  WriteBatch drop;
  drop.DropTable("a");
  CommitInfo dropped = MustWrite(*db, drop);
  EXPECT_EQ(db->Get({}, "a", "k").status().code(), StatusCode::kNotFound);
  ReadOptions before;
  before.version = dropped.version - 1;
  auto old = db->Get(before, "a", "k");
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(**old, "in a");
  // Created again: empty, with fresh storage.
  MustCreateTable(*db, "a");
  EXPECT_EQ(GetString(*db, "a", "k"), "<absent>");
  before.version = created.version;
  auto listed = db->ListTables(before);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(*listed, (std::vector<std::string>{"a", "b"}));
}

TEST(DBWrite, UnknownTableAndOversizedInputAreRejected) {
  LedgerDir dir;
  Options options = dir.DefaultOptions();
  options.max_key_size = 16;
  options.max_value_size = 32;
  auto db = dir.Open(options);
  MustCreateTable(*db, "t");
  CommitInfo latest = db->Latest();
  WriteBatch unknown;
  unknown.Put("nope", "k", "v");
  EXPECT_EQ(db->Write({}, unknown).status().code(), StatusCode::kNotFound);
  WriteBatch big_key;
  big_key.Put("t", std::string(17, 'k'), "v");
  EXPECT_EQ(db->Write({}, big_key).status().code(), StatusCode::kInvalidArgument);
  WriteBatch big_value;
  big_value.Put("t", "k", std::string(33, 'v'));
  EXPECT_EQ(db->Write({}, big_value).status().code(), StatusCode::kInvalidArgument);
  WriteBatch empty_name;
  empty_name.CreateTable("");
  EXPECT_EQ(db->Write({}, empty_name).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db->Latest().version, latest.version);
  EXPECT_EQ(db->Latest().state_root, latest.state_root);
}

TEST(DBWrite, PreparedWriteCommitsExactlyWhatItPrepared) {
  LedgerDir dir, twin_dir;
  // A twin ledger (same master key and ledger id) takes the same writes with Write.
  Options options = dir.DefaultOptions();
  options.ledger_id = std::string(16, '\x5a');
  Options twin_options = twin_dir.DefaultOptions();
  twin_options.key_file = dir.key_file();
  twin_options.ledger_id = options.ledger_id;
  auto db = dir.Open(options);
  MustCreateTable(*db, "t");
  const CommitInfo before = db->Latest();
  WriteBatch batch;
  batch.Put("t", "k", "v1");
  batch.CreateTable("u");
  auto prepared = db->PrepareWrite(batch);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  const CommitInfo promised = (*prepared)->info();
  EXPECT_EQ(promised.version, before.version + 1);
  // Nothing is written or visible until it is committed.
  EXPECT_EQ(db->Latest().version, before.version);
  EXPECT_EQ(GetString(*db, "t", "k"), "<absent>");
  auto committed = db->CommitPrepared({}, std::move(prepared).value());
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(committed->version, promised.version);
  EXPECT_EQ(committed->state_root, promised.state_root);
  EXPECT_EQ(committed->entry_hash, promised.entry_hash);
  EXPECT_EQ(GetString(*db, "t", "k"), "v1");
  auto tables = db->ListTables();
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(*tables, (std::vector<std::string>{"t", "u"}));

  // The same write made with Write on the twin gives the same state root.
  auto twin = twin_dir.Open(twin_options);
  MustCreateTable(*twin, "t");
  EXPECT_EQ(MustWrite(*twin, batch).state_root, promised.state_root);

  // Survives reopening, and the audit finds the log and the state consistent.
  db.reset();
  db = dir.Open(dir.DefaultOptions(false));
  EXPECT_EQ(GetString(*db, "t", "k"), "v1");
  EXPECT_EQ(db->Latest().state_root, promised.state_root);
  auto report = db->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
}

TEST(DBWrite, PreparedWriteIsAbortedByAnyChangeInBetween) {
  LedgerDir dir;
  auto db = dir.Open();
  MustCreateTable(*db, "t");
  WriteBatch batch;
  batch.Put("t", "k", "prepared");

  // Another commit first: the prepared version is stale and writes nothing.
  auto stale = db->PrepareWrite(batch);
  ASSERT_TRUE(stale.ok());
  const CommitInfo other = MustPut(*db, "t", "other", "x");
  auto refused = db->CommitPrepared({}, std::move(stale).value());
  EXPECT_EQ(refused.status().code(), StatusCode::kAborted) << refused.status().ToString();
  EXPECT_EQ(db->Latest().version, other.version);
  EXPECT_EQ(GetString(*db, "t", "k"), "<absent>");

  // New log key holders in between: refused too (its entry key was split to the old).
  auto before_holders = db->PrepareWrite(batch);
  ASSERT_TRUE(before_holders.ok());
  const HolderKey holder = HolderKey::Generate();
  const HolderKey::PublicKey holders[] = {holder.public_key()};
  ASSERT_TRUE(db->SetLogKeyHolders(holders, 1).ok());
  EXPECT_EQ(db->CommitPrepared({}, std::move(before_holders).value()).status().code(),
            StatusCode::kAborted);
  EXPECT_EQ(db->Latest().version, other.version);

  // A prepared write that is dropped leaves no trace; the next one lands.
  ASSERT_TRUE(db->PrepareWrite(batch).ok());
  auto fresh = db->PrepareWrite(batch);
  ASSERT_TRUE(fresh.ok());
  auto landed = db->CommitPrepared({}, std::move(fresh).value());
  ASSERT_TRUE(landed.ok()) << landed.status().ToString();
  EXPECT_EQ(landed->version, other.version + 1);
  EXPECT_EQ(GetString(*db, "t", "k"), "prepared");
  const HolderKey* keys[] = {&holder};
  auto ops = db->DecryptLogEntry(landed->log_index, keys);
  ASSERT_TRUE(ops.ok()) << ops.status().ToString();
  EXPECT_EQ((*ops)[0].value, "prepared");

  // Bad input fails at PrepareWrite, as it would at Write, and changes nothing.
  WriteBatch unknown;
  unknown.Put("nope", "k", "v");
  EXPECT_EQ(db->PrepareWrite(unknown).status().code(), StatusCode::kNotFound);
  // A write of another ledger is refused.
  LedgerDir other_dir;
  auto other_db = other_dir.Open();
  MustCreateTable(*other_db, "t");
  auto foreign = other_db->PrepareWrite(batch);
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(db->CommitPrepared({}, std::move(foreign).value()).status().code(),
            StatusCode::kInvalidArgument);
  auto report = db->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
}

TEST(DBWrite, PreparedWritesInterleaveWithConcurrentWriters) {
  LedgerDir dir;
  auto db = dir.Open();
  MustCreateTable(*db, "t");
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) MustPut(*db, "t", "w" + std::to_string(i % 50), "x");
  });
  int landed = 0, aborted = 0;
  for (int i = 0; i < 200; ++i) {
    WriteBatch batch;
    batch.Put("t", "p" + std::to_string(i), std::to_string(i));
    auto prepared = db->PrepareWrite(batch);
    ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
    const CommitInfo promised = (*prepared)->info();
    auto committed = db->CommitPrepared({}, std::move(prepared).value());
    if (committed.ok()) {
      ++landed;
      EXPECT_EQ(committed->version, promised.version);
      EXPECT_EQ(committed->state_root, promised.state_root);
      EXPECT_EQ(GetString(*db, "t", "p" + std::to_string(i), promised.version), std::to_string(i));
    } else {
      ASSERT_EQ(committed.status().code(), StatusCode::kAborted);
      ++aborted;
      EXPECT_EQ(GetString(*db, "t", "p" + std::to_string(i)), "<absent>");
    }
  }
  stop = true;
  writer.join();
  EXPECT_EQ(landed + aborted, 200);
  auto report = db->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->findings.size() << " findings";
}

TEST(DBRead, VersionsAndDeletes) {
  LedgerDir dir;
  auto db = dir.Open();
  MustCreateTable(*db, "t");
  CommitInfo v1 = MustPut(*db, "t", "k", "one");
  CommitInfo v2 = MustPut(*db, "t", "k", "two");
  WriteBatch del;
  del.Delete("t", "k");
  CommitInfo v3 = MustWrite(*db, del);
  EXPECT_EQ(GetString(*db, "t", "k", v1.version), "one");
  EXPECT_EQ(GetString(*db, "t", "k", v2.version), "two");
  EXPECT_EQ(GetString(*db, "t", "k", v3.version), "<absent>");
  EXPECT_EQ(GetString(*db, "t", "k"), "<absent>");
  ReadOptions future;
  future.version = v3.version + 1;
  EXPECT_EQ(db->Get(future, "t", "k").status().code(), StatusCode::kNotFound);
  // Deleting the same value under two keys keeps the other (values are shared).
  WriteBatch shared;
  shared.Put("t", "a", "same");
  shared.Put("t", "b", "same");
  MustWrite(*db, shared);
  WriteBatch del_a;
  del_a.Delete("t", "a");
  MustWrite(*db, del_a);
  EXPECT_EQ(GetString(*db, "t", "b"), "same");
}

TEST(DBRead, ProofsVerifyStandalone) {
  LedgerDir dir;
  auto db = dir.Open();
  MustCreateTable(*db, "t");
  for (int i = 0; i < 200; ++i)
    MustPut(*db, "t", "key" + std::to_string(i), "v" + std::to_string(i));
  auto key = MasterKey::ReadFile(dir.key_file());
  ASSERT_TRUE(key.ok());

  auto present = db->GetWithProof({}, "t", "key7");
  ASSERT_TRUE(present.ok()) << present.status().ToString();
  Hash root = db->Latest().state_root;
  auto check = VerifyLedgerProof(*present, root);
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_TRUE(check->present);
  EXPECT_EQ(*check->value, "v7");
  EXPECT_FALSE(check->binding_checked);
  auto bound = VerifyLedgerProof(*present, root, &*key);
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_TRUE(bound->binding_checked);

  auto absent = db->GetWithProof({}, "t", "missing");
  ASSERT_TRUE(absent.ok());
  auto absent_check = VerifyLedgerProof(*absent, root, &*key);
  ASSERT_TRUE(absent_check.ok()) << absent_check.status().ToString();
  EXPECT_FALSE(absent_check->present);

  // Round trips through both encodings.
  auto binary = LedgerProof::Deserialize(present->Serialize());
  ASSERT_TRUE(binary.ok());
  EXPECT_TRUE(VerifyLedgerProof(*binary, root, &*key).ok());
  auto json = LedgerProof::FromJson(present->ToJson());
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_TRUE(VerifyLedgerProof(*json, root, &*key).ok());

  // A claimed value that is not the proven one, with and without the key.
  LedgerProof lie = *present;
  lie.value = "v8";
  EXPECT_FALSE(VerifyLedgerProof(lie, root, &*key).ok());
  LedgerProof swapped = *present;
  swapped.value_hash = absent->key_hash;
  EXPECT_FALSE(VerifyLedgerProof(swapped, root).ok());
  // Every single-byte change of the serialized proof is rejected, except in the
  // version number, which is informational (the trusted root fixes the version) and
  // cannot change the answer.
  std::string bytes = present->Serialize();
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] ^= 0x01;
    auto parsed = LedgerProof::Deserialize(damaged);
    if (!parsed.ok()) continue;
    auto verdict = VerifyLedgerProof(*parsed, root, &*key);
    if (verdict.ok()) {
      EXPECT_NE(parsed->version, present->version) << "byte " << i << " flipped and verified";
      EXPECT_EQ(*verdict->value, "v7");
    }
  }
  // A proof against an older root does not verify against the newer one.
  ReadOptions old;
  old.version = 2;
  auto old_proof = db->GetWithProof(old, "t", "key0");
  ASSERT_TRUE(old_proof.ok());
  EXPECT_FALSE(VerifyLedgerProof(*old_proof, root).ok());
  EXPECT_TRUE(VerifyLedgerProof(*old_proof, old_proof->state_root).ok());
}

TEST(DBRead, HistoryAndScan) {
  LedgerDir dir;
  auto db = dir.Open();
  MustCreateTable(*db, "t");
  uint64_t v1 = MustPut(*db, "t", "k", "a").version;
  uint64_t v2 = MustPut(*db, "t", "k", "b").version;
  WriteBatch del;
  del.Delete("t", "k");
  uint64_t v3 = MustWrite(*db, del).version;
  uint64_t v4 = MustPut(*db, "t", "k", "c").version;
  auto history = db->History("t", "k");
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_EQ(history->size(), 4u);
  EXPECT_EQ((*history)[0].version, v1);
  EXPECT_EQ(*(*history)[0].value, "a");
  EXPECT_EQ((*history)[1].version, v2);
  EXPECT_EQ((*history)[2].version, v3);
  EXPECT_FALSE((*history)[2].value.has_value());
  EXPECT_EQ((*history)[3].version, v4);
  EXPECT_TRUE((*history)[3].verified);
  auto last_two = db->History("t", "k", 2);
  ASSERT_TRUE(last_two.ok());
  EXPECT_EQ(last_two->size(), 2u);
  EXPECT_EQ(last_two->front().version, v3);

  std::map<std::string, std::string> expected = {{"k", "c"}};
  for (int i = 0; i < 50; ++i) expected["s" + std::to_string(i)] = std::to_string(i * i);
  WriteBatch batch;
  for (const auto& [k, v] : expected) batch.Put("t", k, v);
  uint64_t filled = MustWrite(*db, batch).version;
  std::map<std::string, std::string> scanned;
  ASSERT_TRUE(db->Scan({}, "t", [&](std::string_view k, std::string_view v) {
                  scanned.emplace(k, v);
                  return true;
                }).ok());
  EXPECT_EQ(scanned, expected);
  ReadOptions at_v1;
  at_v1.version = v1;
  scanned.clear();
  ASSERT_TRUE(db->Scan(at_v1, "t", [&](std::string_view k, std::string_view v) {
                  scanned.emplace(k, v);
                  return true;
                }).ok());
  EXPECT_EQ(scanned, (std::map<std::string, std::string>{{"k", "a"}}));
  EXPECT_GT(filled, v4);
}

TEST(DBTransaction, ReadYourWritesAndConflicts) {
  LedgerDir dir;
  auto db = dir.Open();
  MustCreateTable(*db, "t");
  MustPut(*db, "t", "x", "1");
  auto txn = db->BeginTransaction();
  auto x = txn->Get("t", "x");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(**x, "1");
  txn->Put("t", "x", "2");
  EXPECT_EQ(**txn->Get("t", "x"), "2");
  EXPECT_EQ(GetString(*db, "t", "x"), "1");  // not visible outside
  auto committed = txn->Commit();
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(GetString(*db, "t", "x"), "2");

  // Two transactions read x; the first to commit wins, the second aborts.
  auto a = db->BeginTransaction();
  auto b = db->BeginTransaction();
  ASSERT_TRUE(a->Get("t", "x").ok());
  ASSERT_TRUE(b->Get("t", "x").ok());
  a->Put("t", "x", "from a");
  b->Put("t", "x", "from b");
  ASSERT_TRUE(a->Commit().ok());
  EXPECT_EQ(b->Commit().status().code(), StatusCode::kAborted);
  EXPECT_EQ(GetString(*db, "t", "x"), "from a");
  EXPECT_EQ(a->Commit().status().code(), StatusCode::kFailedPrecondition);

  // Disjoint keys do not conflict.
  auto c = db->BeginTransaction();
  auto d = db->BeginTransaction();
  c->Put("t", "c", "1");
  d->Put("t", "d", "1");
  EXPECT_TRUE(c->Commit().ok());
  EXPECT_TRUE(d->Commit().ok());
}

TEST(DBWrite, ConcurrentWritersAreGroupedAndAllLand) {
  LedgerDir dir;
  Options options = dir.DefaultOptions();
  options.sync = true;
  auto db = dir.Open(options);
  MustCreateTable(*db, "t");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        WriteBatch batch;
        batch.Put("t", std::to_string(t) + "/" + std::to_string(i), "v");
        if (!db->Write({}, batch).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_EQ(GetString(*db, "t", std::to_string(t) + "/" + std::to_string(i)), "v");
    }
  }
  EXPECT_LE(db->Latest().version, 1u + kThreads * kPerThread);
  auto report = db->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->findings.front().location << ": "
                            << report->findings.front().problem;
}

// Transactions that increment shared counters, grouped with plain writers, while
// readers read and pruning runs: no update may be lost (a conflict is an abort, never
// a stale read), no read may fail because the version it reads was pruned under it,
// every acknowledged commit survives a reopen, and the audit passes.
TEST(DBWrite, ConcurrentTransactionsNeverLoseAnUpdate) {
  LedgerDir dir;
  Options options = dir.DefaultOptions();
  options.retained_versions = 8;  // pruning runs between groups
  auto db = dir.Open(options);
  MustCreateTable(*db, "t");
  constexpr int kCounters = 3;
  for (int c = 0; c < kCounters; ++c) MustPut(*db, "t", "counter" + std::to_string(c), "0");

  constexpr int kIncrementers = 6;
  constexpr int kIncrementsEach = 40;
  constexpr int kWriters = 3;
  std::atomic<int> acknowledged[kCounters] = {};
  std::atomic<bool> stop_readers{false};
  std::atomic<int> errors{0};
  std::mutex first_error_mu;
  std::string first_error;
  auto fail = [&](const std::string& what) {
    std::lock_guard lock(first_error_mu);
    if (errors++ == 0) first_error = what;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kIncrementers; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIncrementsEach; ++i) {
        const int c = (t + i) % kCounters;
        const std::string key = "counter" + std::to_string(c);
        for (;;) {
          auto txn = db->BeginTransaction();
          auto current = txn->Get("t", key);
          // A snapshot that pruning overtook is an abort, like a conflict: retry.
          if (current.status().code() == StatusCode::kAborted) continue;
          if (!current.ok() || !current->has_value()) {
            fail("transaction read: " + current.status().ToString());
            return;
          }
          txn->Put("t", key, std::to_string(std::stoi(**current) + 1));
          auto committed = txn->Commit();
          if (committed.ok()) {
            ++acknowledged[c];
            break;
          }
          if (committed.status().code() != StatusCode::kAborted) {
            fail("transaction commit: " + committed.status().ToString());
            return;
          }
        }
      }
    });
  }
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        WriteBatch batch;
        batch.Put("t", "w" + std::to_string(t) + "/" + std::to_string(i), std::to_string(i));
        auto written = db->Write({}, batch);
        if (!written.ok()) fail("write: " + written.status().ToString());
      }
    });
  }
  std::thread reader([&] {
    while (!stop_readers) {
      const CommitInfo latest = db->Latest();
      auto value = db->Get({}, "t", "counter0");
      if (!value.ok() || !value->has_value()) fail("read: " + value.status().ToString());
      if (db->Latest().version < latest.version) fail("the latest version went back");
    }
  });
  for (auto& thread : threads) thread.join();
  stop_readers = true;
  reader.join();
  ASSERT_EQ(errors.load(), 0) << first_error;

  auto check = [&](DB& ledger) {
    for (int c = 0; c < kCounters; ++c) {
      EXPECT_EQ(GetString(ledger, "t", "counter" + std::to_string(c)),
                std::to_string(acknowledged[c].load()))
          << "counter " << c << ": an increment was lost or invented";
    }
    for (int t = 0; t < kWriters; ++t) {
      for (int i = 0; i < 60; ++i) {
        EXPECT_EQ(GetString(ledger, "t", "w" + std::to_string(t) + "/" + std::to_string(i)),
                  std::to_string(i));
      }
    }
    auto report = ledger.Verify();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->ok()) << report->findings.front().location << ": "
                              << report->findings.front().problem;
  };
  check(*db);
  const CommitInfo before = db->Latest();
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  db = dir.Open(dir.DefaultOptions(/*create=*/false));
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Latest().version, before.version);
  EXPECT_EQ(db->Latest().state_root, before.state_root);
  check(*db);
}

TEST(DBDigest, SignedAndConsistent) {
  LedgerDir dir;
  auto db = dir.Open();
  MustCreateTable(*db, "t");
  auto first = db->GetDigest();
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(VerifyDigestSignature(*first).ok());
  for (int i = 0; i < 37; ++i) MustPut(*db, "t", std::to_string(i), "v");
  auto second = db->GetDigest();
  ASSERT_TRUE(second.ok());
  auto proof = db->ConsistencyProof(*first, *second);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_TRUE(VerifyDigestConsistency(*first, *second, *proof).ok());
  auto parsed = Digest::FromJson(second->ToJson());
  ASSERT_TRUE(parsed.ok());
  auto parsed_proof = DigestConsistencyProof::FromJson(proof->ToJson());
  ASSERT_TRUE(parsed_proof.ok());
  EXPECT_TRUE(VerifyDigestConsistency(*first, *parsed, *parsed_proof).ok());
  // Altered digests fail.
  Digest forged = *second;
  forged.state_root[0] ^= 1;
  EXPECT_FALSE(VerifyDigestSignature(forged).ok());
  EXPECT_FALSE(VerifyDigestConsistency(*first, forged, *proof).ok());
  // Verify against the earlier digest is clean.
  AuditOptions audit;
  audit.against = *first;
  auto report = db->Verify(audit);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
}

TEST(DBLog, EntriesDecryptWithKOfNHoldersAndForget) {
  LedgerDir dir;
  std::vector<HolderKey> holders;
  for (int i = 0; i < 3; ++i) holders.push_back(HolderKey::Generate());
  Options options = dir.DefaultOptions();
  for (const auto& h : holders) options.log_key_holders.push_back(h.public_key());
  options.log_threshold = 2;
  auto db = dir.Open(options);
  MustCreateTable(*db, "t");
  CommitInfo put = MustPut(*db, "t", "secret-key", "secret-value");

  auto info = db->GetLogEntry(put.log_index);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->threshold, 2);
  EXPECT_EQ(info->holders, 3);
  EXPECT_EQ(info->entry_hash, put.entry_hash);

  const HolderKey* two[] = {&holders[0], &holders[2]};
  auto ops = db->DecryptLogEntry(put.log_index, two);
  ASSERT_TRUE(ops.ok()) << ops.status().ToString();
  ASSERT_EQ(ops->size(), 1u);
  EXPECT_EQ((*ops)[0].key, "secret-key");
  EXPECT_EQ((*ops)[0].value, "secret-value");
  const HolderKey* one[] = {&holders[1]};
  EXPECT_EQ(db->DecryptLogEntry(put.log_index, one).status().code(),
            StatusCode::kFailedPrecondition);

  auto forgotten = db->Forget(1, put.log_index);
  ASSERT_TRUE(forgotten.ok()) << forgotten.status().ToString();
  EXPECT_EQ(*forgotten, put.log_index);
  EXPECT_EQ(db->DecryptLogEntry(put.log_index, two).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(db->GetLogEntry(put.log_index)->forgotten);
  auto report = db->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(GetString(*db, "t", "secret-key"), "secret-value");  // the state is untouched
}

TEST(DBLog, SelfHeldLedgerDecryptsWithItsOwnKey) {
  LedgerDir dir;
  auto db = dir.Open();
  CommitInfo info = MustCreateTable(*db, "t");
  auto ops = db->DecryptLogEntry(info.log_index, {});
  ASSERT_TRUE(ops.ok()) << ops.status().ToString();
  ASSERT_EQ(ops->size(), 1u);
  EXPECT_EQ((*ops)[0].kind, WriteBatch::OpKind::kCreateTable);
  EXPECT_EQ((*ops)[0].table, "t");
}

TEST(DBLog, HoldersChangeForLaterEntriesAndPersist) {
  LedgerDir dir;
  std::vector<HolderKey> holders;
  for (int i = 0; i < 4; ++i) holders.push_back(HolderKey::Generate());
  std::vector<HolderKey::PublicKey> three;
  for (int i = 0; i < 3; ++i) three.push_back(holders[i].public_key());
  const HolderKey* first_two[] = {&holders[0], &holders[1]};
  const HolderKey* last_two[] = {&holders[2], &holders[3]};
  uint64_t self_held, by_three, by_two;
  {
    auto db = dir.Open();
    self_held = MustCreateTable(*db, "t").log_index;
    // Bad sets change nothing.
    EXPECT_EQ(db->SetLogKeyHolders(three, 4).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(db->SetLogKeyHolders(three, 0).code(), StatusCode::kInvalidArgument);
    std::vector<HolderKey::PublicKey> repeated = {three[0], three[0]};
    EXPECT_EQ(db->SetLogKeyHolders(repeated, 1).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(db->SetLogKeyHolders({}, 2).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(db->GetLogEntry(MustPut(*db, "t", "a", "1").log_index)->holders, 1);

    ASSERT_TRUE(db->SetLogKeyHolders(three, 2).ok());
    by_three = MustPut(*db, "t", "b", "2").log_index;
  }
  auto db = dir.Open(dir.DefaultOptions(false));
  // The change survived reopening: the next entry is still split 2-of-3.
  CommitInfo after = MustPut(*db, "t", "c", "3");
  EXPECT_EQ(db->GetLogEntry(after.log_index)->holders, 3);
  EXPECT_EQ(db->GetLogEntry(after.log_index)->threshold, 2);
  std::vector<HolderKey::PublicKey> two = {holders[2].public_key(), holders[3].public_key()};
  ASSERT_TRUE(db->SetLogKeyHolders(two, 2).ok());
  by_two = MustPut(*db, "t", "d", "4").log_index;

  // Each entry opens with the holders it was written for, and only with them.
  EXPECT_TRUE(db->DecryptLogEntry(self_held, {}).ok());
  auto ops = db->DecryptLogEntry(by_three, first_two);
  ASSERT_TRUE(ops.ok()) << ops.status().ToString();
  EXPECT_EQ((*ops)[0].key, "b");
  EXPECT_EQ(db->DecryptLogEntry(by_three, last_two).status().code(),
            StatusCode::kFailedPrecondition);
  ops = db->DecryptLogEntry(by_two, last_two);
  ASSERT_TRUE(ops.ok()) << ops.status().ToString();
  EXPECT_EQ((*ops)[0].key, "d");
  EXPECT_EQ(db->DecryptLogEntry(by_two, first_two).status().code(),
            StatusCode::kFailedPrecondition);
  auto report = db->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
}

TEST(DBOpen, KeylessOpenVerifiesTheLog) {
  LedgerDir dir;
  {
    auto db = dir.Open();
    MustCreateTable(*db, "t");
    MustPut(*db, "t", "k", "v");
  }
  Options options = dir.DefaultOptions(false);
  options.key_file.clear();
  auto db = dir.Open(options);
  ASSERT_TRUE(db);
  AuditOptions audit;
  audit.log_only = true;
  auto report = db->Verify(audit);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->log_entries, 2u);
  EXPECT_EQ(db->Get({}, "t", "k").status().code(), StatusCode::kFailedPrecondition);
}

TEST(DBRetention, OldVersionsArePrunedRecentOnesStayExact) {
  LedgerDir dir;
  Options options = dir.DefaultOptions();
  options.retained_versions = 10;
  auto db = dir.Open(options);
  MustCreateTable(*db, "t");
  std::vector<CommitInfo> commits;
  for (int i = 0; i < 60; ++i) commits.push_back(MustPut(*db, "t", "k", std::to_string(i)));
  uint64_t latest = db->Latest().version;
  EXPECT_EQ(GetString(*db, "t", "k", latest - 9), std::to_string(latest - 9 - 2));
  auto stats = db->GetStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GT(stats->oldest_version, 1u);
  EXPECT_LE(stats->oldest_version, latest - 9);
  ReadOptions pruned;
  pruned.version = 2;
  EXPECT_EQ(db->Get(pruned, "t", "k").status().code(), StatusCode::kNotFound);
  auto report = db->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
}

// Random operations against a std::map model; reopen and compare every version kept.
TEST(DBOracle, RandomOperationsMatchAModelAcrossReopen) {
  LedgerDir dir;
  std::mt19937_64 rng(20261121);
  std::map<std::string, std::map<std::string, std::string>> model;  // table -> key -> value
  std::vector<std::pair<uint64_t, decltype(model)>> snapshots;
  auto db = dir.Open();
  const std::vector<std::string> tables = {"alpha", "beta", "gamma"};
  for (int round = 0; round < 120; ++round) {
    WriteBatch batch;
    auto next = model;
    int ops = 1 + static_cast<int>(rng() % 20);
    for (int i = 0; i < ops; ++i) {
      const std::string& table = tables[rng() % tables.size()];
      if (!next.contains(table)) {
        batch.CreateTable(table);
        next[table];
        continue;
      }
      std::string key = "k" + std::to_string(rng() % 40);
      switch (rng() % 10) {
        case 0:
          if (rng() % 4 == 0) {
            batch.DropTable(table);
            next.erase(table);
          }
          break;
        case 1:
        case 2:
          batch.Delete(table, key);
          next[table].erase(key);
          break;
        default: {
          std::string value = "v" + std::to_string(rng());
          batch.Put(table, key, value);
          next[table][key] = value;
        }
      }
    }
    if (batch.Count() == 0) continue;
    auto info = db->Write({}, batch);
    ASSERT_TRUE(info.ok()) << "round " << round << ": " << info.status().ToString();
    model = std::move(next);
    snapshots.emplace_back(info->version, model);
    if (round % 40 == 39) {
      ASSERT_TRUE(db->Close().ok());
      db = dir.Open(dir.DefaultOptions(false));
      ASSERT_TRUE(db);
    }
  }
  for (const auto& [version, state] : snapshots) {
    ReadOptions at;
    at.version = version;
    auto listed = db->ListTables(at);
    ASSERT_TRUE(listed.ok());
    std::vector<std::string> expected_tables;
    for (const auto& [table, contents] : state) expected_tables.push_back(table);
    EXPECT_EQ(*listed, expected_tables) << "version " << version;
    for (const auto& table : expected_tables) {
      std::map<std::string, std::string> scanned;
      ASSERT_TRUE(db->Scan(at, table, [&](std::string_view k, std::string_view v) {
                      scanned.emplace(k, v);
                      return true;
                    }).ok());
      EXPECT_EQ(scanned, state.at(table)) << "table " << table << " at version " << version;
      for (int k = 0; k < 40; k += 7) {
        std::string key = "k" + std::to_string(k);
        auto it = state.at(table).find(key);
        EXPECT_EQ(testing::GetString(*db, table, key, version),
                  it == state.at(table).end() ? "<absent>" : it->second);
      }
    }
  }
  auto report = db->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
}

}  // namespace
}  // namespace vellum
