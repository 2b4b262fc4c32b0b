// Copyright (c) Vellum authors.
//
// Tests of raft::DurableLog: round trips through a reopen, an oracle test against
// MemoryStorage (random Readies, truncations, snapshots, compactions and membership
// changes, with reopens), truncation of a conflicting suffix, crash safety over the
// fault-injecting Env (every synced write survives and nothing is half-written), the
// verification on open (tampered records are Corruption naming the record, never a
// crash), refused writes, and the directory lock. Seeds are printed; rerun with
// VELLUM_TEST_SEED=<seed> to replay one.
//
// Thread safety: the tests are single-threaded except the concurrent-reader test.

#include "raft/durable/durable_log.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/fault_injection_env.h"
#include "raft/codec.h"
#include "raft/entry_auth.h"
#include "raft/storage.h"
#include "storage/rocksdb_env.h"
#include "tests/test_util.h"

namespace vellum::raft {
namespace {

using ::vellum::testing::RandomBytes;

constexpr char kDir[] = "/raft-log";

uint64_t SeedOr(uint64_t fallback) {
  if (const char* s = std::getenv("VELLUM_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return fallback;
}

bool SeedGiven() { return std::getenv("VELLUM_TEST_SEED") != nullptr; }

// A seal as the leader makes one (raft/entry_auth.h): version 1, the previous entry's
// hash, the signer, and a signature (random bytes: DurableLog checks the chain link,
// not signatures).
Bytes MakeSeal(ByteView prev_hash, std::mt19937_64& rng) {
  Bytes seal;
  seal.reserve(1 + prev_hash.size() + 2 + 64);
  seal.push_back(1);
  seal.insert(seal.end(), prev_hash.begin(), prev_hash.end());
  PutVarint64(&seal, 1 + rng() % 5);
  PutVarint64(&seal, 64);
  const Bytes signature = RandomBytes(rng, 64);
  seal.insert(seal.end(), signature.begin(), signature.end());
  return seal;
}

Entry MakeEntry(uint64_t term, uint64_t index, std::string_view data = "x") {
  Entry e;
  e.term = term;
  e.index = index;
  e.data = ToBytes(data);
  return e;
}

// Entries [first, first + terms.size()) with the given terms, sealed into a chain
// starting from `prev_hash` when it is not empty.
std::vector<Entry> MakeEntries(uint64_t first, const std::vector<uint64_t>& terms,
                               const Bytes& prev_hash = {}) {
  std::mt19937_64 rng(first);
  std::vector<Entry> out;
  Bytes prev = prev_hash;
  for (size_t i = 0; i < terms.size(); ++i) {
    Entry e = MakeEntry(terms[i], first + i, "data " + std::to_string(first + i));
    if (!prev.empty()) {
      e.seal = MakeSeal(prev, rng);
      prev = EntryHash(e);
    }
    out.push_back(std::move(e));
  }
  return out;
}

ConfState RandomConf(std::mt19937_64& rng) {
  ConfState c;
  for (NodeId id = 1; id <= 7; ++id) {
    switch (rng() % 3) {
      case 0:
        c.voters.push_back(id);
        break;
      case 1:
        if (rng() % 2) c.learners.push_back(id);
        break;
      default:
        break;
    }
  }
  return c;
}

DurableLogOptions MemOptions(Env* env) {
  DurableLogOptions options;
  options.env = env;
  return options;
}

std::unique_ptr<DurableLog> MustOpen(const DurableLogOptions& options,
                                     const std::string& dir = kDir) {
  auto log = DurableLog::Open(dir, options);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  if (!log.ok()) return nullptr;
  return std::move(log).value();
}

// --- The reference: MemoryStorage, with DurableLog's two deliberate differences -------
//
// DurableLog's snapshot keeps the membership it was made with (MemoryStorage's
// SetConfState rewrites the held snapshot's), and CreateSnapshotAndCompact does not
// change the membership GetInitialState reports (so a snapshot at an index older than
// the last applied one cannot roll it back).
class Model {
 public:
  Status Persist(const std::optional<HardState>& hard_state, const std::vector<Entry>& entries,
                 const Snapshot& snapshot) {
    if (!snapshot.empty()) {
      VELLUM_RETURN_IF_ERROR(mem_.ApplySnapshot(snapshot));
      snapshot_conf_ = snapshot.metadata.conf_state;
    }
    mem_.Append(entries);
    if (hard_state) mem_.SetHardState(*hard_state);
    return Status::OK();
  }
  void SetConfState(const ConfState& conf_state) { mem_.SetConfState(conf_state); }
  Status CreateSnapshotAndCompact(uint64_t index, const ConfState& conf_state, Bytes data) {
    const ConfState reported = mem_.GetInitialState().conf_state;
    VELLUM_RETURN_IF_ERROR(mem_.CreateSnapshot(index, conf_state, std::move(data)));
    VELLUM_RETURN_IF_ERROR(mem_.Compact(index));
    mem_.SetConfState(reported);
    snapshot_conf_ = conf_state;
    return Status::OK();
  }

  Snapshot GetSnapshot() const {
    Snapshot s = mem_.GetSnapshot().value();
    s.metadata.conf_state = snapshot_conf_;
    return s;
  }
  const MemoryStorage& storage() const { return mem_; }
  uint64_t FirstIndex() const { return mem_.FirstIndex(); }
  uint64_t LastIndex() const { return mem_.LastIndex(); }
  uint64_t Term(uint64_t index) const { return mem_.Term(index).value(); }
  HardState hard_state() const { return mem_.GetInitialState().hard_state; }
  Entry At(uint64_t index) const { return mem_.Entries(index, index + 1, UINT64_MAX)->front(); }
  // The hash an entry appended after `index` chains to (as Raft::EntryHashAt).
  Bytes HashAt(uint64_t index) const {
    if (index + 1 == FirstIndex()) {
      const Snapshot s = GetSnapshot();
      if (s.empty() || s.metadata.last_entry_hash.empty()) return GenesisEntryHash();
      return s.metadata.last_entry_hash;
    }
    return EntryHash(At(index));
  }

 private:
  MemoryStorage mem_;
  ConfState snapshot_conf_;
};

// Everything a Storage answers, gathered for comparison.
struct Observed {
  uint64_t first = 0;
  uint64_t last = 0;
  std::vector<uint64_t> terms;  // of first - 1 .. last
  std::vector<Entry> entries;   // first .. last
  Storage::InitialState initial;
  Snapshot snapshot;

  bool operator==(const Observed& o) const {
    return first == o.first && last == o.last && terms == o.terms && entries == o.entries &&
           initial.hard_state == o.initial.hard_state &&
           initial.conf_state == o.initial.conf_state && snapshot == o.snapshot;
  }
};

std::string Describe(const Observed& o) {
  std::ostringstream out;
  out << "first " << o.first << " last " << o.last << " hard state {" << o.initial.hard_state.term
      << "," << o.initial.hard_state.vote << "," << o.initial.hard_state.commit << "} voters "
      << o.initial.conf_state.voters.size() << " snapshot " << o.snapshot.metadata.index << "/"
      << o.snapshot.metadata.term << " terms";
  for (uint64_t t : o.terms) out << " " << t;
  return out.str();
}

Observed Observe(const Storage& storage, const Snapshot& snapshot) {
  Observed o;
  o.first = storage.FirstIndex();
  o.last = storage.LastIndex();
  for (uint64_t i = o.first - 1; i <= o.last; ++i) o.terms.push_back(storage.Term(i).value());
  if (o.first <= o.last) o.entries = storage.Entries(o.first, o.last + 1, UINT64_MAX).value();
  o.initial = storage.GetInitialState();
  o.snapshot = snapshot;
  return o;
}
Observed Observe(const DurableLog& log) { return Observe(log, log.GetSnapshot().value()); }
Observed Observe(const Model& model) { return Observe(model.storage(), model.GetSnapshot()); }

// Rebuilds a model holding exactly `o`.
std::unique_ptr<Model> ModelOf(const Observed& o) {
  auto model = std::make_unique<Model>();
  EXPECT_OK(model->Persist(o.initial.hard_state, o.entries, o.snapshot));
  model->SetConfState(o.initial.conf_state);
  EXPECT_EQ(Observe(*model), o);
  return model;
}

// The first difference between the model's and the log's answers, or "".
std::string Compare(const Model& model, const DurableLog& log, std::mt19937_64& rng) {
  const Observed want = Observe(model);
  const Observed got = Observe(log);
  if (!(want == got)) return "model: " + Describe(want) + "\nlog:   " + Describe(got);
  const MemoryStorage& mem = model.storage();
  // Errors outside the log: compacted and not yet stored.
  if (want.first >= 2) {
    if (log.Term(want.first - 2).status().code() != mem.Term(want.first - 2).status().code()) {
      return "Term before the first index";
    }
  }
  if (log.Term(want.last + 1).status().code() != mem.Term(want.last + 1).status().code()) {
    return "Term past the last index";
  }
  if (log.Entries(want.first - 1, want.last + 1, UINT64_MAX).status().code() !=
      mem.Entries(want.first - 1, want.last + 1, UINT64_MAX).status().code()) {
    return "Entries from a compacted index";
  }
  // Byte budgets.
  for (int i = 0; i < 5 && want.first <= want.last; ++i) {
    const uint64_t lo = want.first + rng() % (want.last - want.first + 1);
    const uint64_t hi = lo + 1 + rng() % (want.last + 1 - lo);
    const uint64_t max_bytes = rng() % 400;
    auto a = mem.Entries(lo, hi, max_bytes);
    auto b = log.Entries(lo, hi, max_bytes);
    if (!a.ok() || !b.ok() || *a != *b) {
      return "Entries(" + std::to_string(lo) + ", " + std::to_string(hi) + ", " +
             std::to_string(max_bytes) + ")";
    }
  }
  return "";
}

// --- Raw access to the database, for tampering ---------------------------------------

// Opens the log's RocksDB directly (the log must be closed), hands it to `tamper`, and
// closes it again.
void Tamper(Env* env, const std::function<void(rocksdb::DB*)>& tamper,
            const std::string& dir = kDir) {
  std::unique_ptr<rocksdb::Env> rocks_env = storage::NewRocksEnvOnVellumEnv(env);
  rocksdb::Options options;
  options.env = rocks_env.get();
  options.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  tamper(db);
  ASSERT_TRUE(db->Close().ok());
  delete db;
}

std::string EntryKey(uint64_t index) {
  Bytes key{'e'};
  PutFixed64BE(&key, index);
  return std::string(AsChars(key));
}

void RawPut(rocksdb::DB* db, std::string_view key, ByteView value) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ASSERT_TRUE(db->Put(wo, rocksdb::Slice(key.data(), key.size()),
                      rocksdb::Slice(reinterpret_cast<const char*>(value.data()), value.size()))
                  .ok());
}

void RawDelete(rocksdb::DB* db, std::string_view key) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ASSERT_TRUE(db->Delete(wo, rocksdb::Slice(key.data(), key.size())).ok());
}

std::string RawGet(rocksdb::DB* db, std::string_view key) {
  std::string value;
  EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value).ok())
      << "no record " << key;
  return value;
}

std::vector<std::string> RawKeys(Env* env, const std::string& dir = kDir) {
  std::vector<std::string> keys;
  Tamper(
      env,
      [&keys](rocksdb::DB* db) {
        std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
        for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
      },
      dir);
  return keys;
}

// --- Round trip ------------------------------------------------------------------------

TEST(DurableLogTest, RoundTripThroughReopen) {
  std::unique_ptr<Env> mem = NewMemEnv(1);
  const DurableLogOptions options = MemOptions(mem.get());
  const std::vector<Entry> entries = MakeEntries(1, {1, 1, 2, 2, 2, 3, 5, 5}, GenesisEntryHash());
  const HardState hs{5, 3, 6};
  const ConfState conf{{1, 2, 3}, {4}};
  Observed before;
  {
    auto log = MustOpen(options);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->FirstIndex(), 1u);
    EXPECT_EQ(log->LastIndex(), 0u);
    ASSERT_OK(log->Persist(hs, entries, Snapshot(), /*sync=*/true));
    ASSERT_OK(log->SetConfState(conf));
    before = Observe(*log);
  }
  auto log = MustOpen(options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(Observe(*log), before);
  EXPECT_EQ(log->FirstIndex(), 1u);
  EXPECT_EQ(log->LastIndex(), 8u);
  EXPECT_EQ(log->Entries(1, 9, UINT64_MAX).value(), entries);
  EXPECT_EQ(log->Term(0).value(), 0u);
  EXPECT_EQ(log->Term(7).value(), 5u);
  EXPECT_EQ(log->Term(9).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(log->GetInitialState().hard_state, hs);
  EXPECT_EQ(log->GetInitialState().conf_state, conf);
  EXPECT_TRUE(log->GetSnapshot()->empty());

  // A snapshot and compaction survive a reopen too.
  ASSERT_OK(log->CreateSnapshotAndCompact(4, conf, ToBytes("state at 4")));
  const Observed compacted = Observe(*log);
  EXPECT_EQ(compacted.first, 5u);
  EXPECT_EQ(compacted.snapshot.metadata.term, 2u);
  EXPECT_EQ(compacted.snapshot.metadata.last_entry_hash, EntryHash(entries[3]));
  log.reset();
  log = MustOpen(options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(Observe(*log), compacted);
  EXPECT_EQ(log->Term(3).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log->Entries(4, 5, UINT64_MAX).status().code(), StatusCode::kNotFound);
  // No entry at or before the snapshot's index is left on disk.
  log.reset();
  for (const std::string& key : RawKeys(mem.get())) {
    if (key.size() == 9 && key[0] == 'e') {
      EXPECT_GT(DecodeFixed64BE(reinterpret_cast<const uint8_t*>(key.data()) + 1), 4u);
    }
  }
}

TEST(DurableLogTest, WorksOnTheDefaultEnv) {
  std::string root =
      (std::filesystem::path(::testing::TempDir()) / "vellum_durable_log_XXXXXX").string();
  ASSERT_NE(::mkdtemp(root.data()), nullptr);
  const std::string dir = root + "/raft";
  {
    DurableLogOptions options;  // env == nullptr: POSIX
    auto log = MustOpen(options, dir);
    ASSERT_NE(log, nullptr);
    ASSERT_OK(log->Persist(HardState{2, 1, 2}, MakeEntries(1, {1, 2, 2}), Snapshot(), true));
    log.reset();
    log = MustOpen(options, dir);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->LastIndex(), 3u);
    EXPECT_EQ(log->GetInitialState().hard_state, (HardState{2, 1, 2}));
  }
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
}

// --- Oracle ----------------------------------------------------------------------------

// Random Readies applied to the model and to the log, with a reopen every 100
// operations; after every operation every answer must be the same.
TEST(DurableLogTest, MatchesMemoryStorageOverRandomOperations) {
  const uint64_t seed = SeedOr(20240611);
  std::printf("DurableLogTest oracle seed: VELLUM_TEST_SEED=%llu\n",
              static_cast<unsigned long long>(seed));
  SCOPED_TRACE("VELLUM_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::unique_ptr<Env> mem = NewMemEnv(seed);
  DurableLogOptions options = MemOptions(mem.get());
  options.write_buffer_bytes = 64 << 10;  // flushes and compactions happen
  auto log = MustOpen(options);
  ASSERT_NE(log, nullptr);
  Model model;
  int counts[8] = {};

  for (int op = 1; op <= 2000; ++op) {
    SCOPED_TRACE("operation " + std::to_string(op));
    const uint64_t first = model.FirstIndex();
    const uint64_t last = model.LastIndex();
    const HardState hs = model.hard_state();
    const bool sync = rng() % 2;
    const int kind = static_cast<int>(rng() % 100);
    if (kind < 60) {
      // Entries, sometimes replacing an uncommitted suffix, sometimes with entries the
      // snapshot already covers in front; often with a hard state.
      const uint64_t lo = std::max(first, hs.commit + 1);
      const uint64_t start = rng() % 3 != 0 ? last + 1 : lo + rng() % (last + 2 - lo);
      uint64_t term = std::max(model.Term(start - 1), hs.term);
      if (rng() % 3 == 0) ++term;
      const bool sealed = rng() % 5 != 0;
      Bytes prev_hash = model.HashAt(start - 1);
      std::vector<Entry> entries;
      if (start == first && first > 1 && rng() % 8 == 0) {
        for (uint64_t i = std::max<uint64_t>(1, first - 3); i < first; ++i) {
          entries.push_back(MakeEntry(1, i, "covered"));
        }
      }
      const int n = 1 + static_cast<int>(rng() % 6);
      for (int i = 0; i < n; ++i) {
        if (rng() % 6 == 0) ++term;
        Entry e;
        e.term = term;
        e.index = start + static_cast<uint64_t>(i);
        e.type = rng() % 7 == 0 ? EntryType::kConfChange : EntryType::kNormal;
        e.data = RandomBytes(rng, rng() % 200);
        if (sealed) e.seal = MakeSeal(prev_hash, rng);
        prev_hash = EntryHash(e);
        entries.push_back(std::move(e));
      }
      std::optional<HardState> new_hs;
      if (rng() % 2) {
        const uint64_t new_last = entries.back().index;
        new_hs = HardState{std::max(hs.term, term), 1 + rng() % 5,
                           hs.commit + rng() % (new_last - hs.commit + 1)};
      }
      ASSERT_OK(model.Persist(new_hs, entries, Snapshot()));
      ASSERT_OK(log->Persist(new_hs, entries, Snapshot(), sync));
      ++counts[start <= last ? 1 : 0];
    } else if (kind < 72) {
      // A hard state alone: a new term, a vote, a commit.
      HardState next = hs;
      if (rng() % 2) ++next.term;
      next.vote = rng() % 6;
      next.commit += rng() % (last - hs.commit + 1);
      ASSERT_OK(model.Persist(next, {}, Snapshot()));
      ASSERT_OK(log->Persist(next, {}, Snapshot(), sync));
      ++counts[2];
    } else if (kind < 78) {
      // A snapshot from the leader, maybe with entries after it; or a stale one.
      const Snapshot held = model.GetSnapshot();
      Snapshot snap;
      if (!held.empty() && rng() % 5 == 0) {
        snap = held;
        snap.metadata.index -= rng() % held.metadata.index;
        Status a = model.Persist(std::nullopt, {}, snap);
        Status b = log->Persist(std::nullopt, {}, snap, sync);
        EXPECT_EQ(a.code(), StatusCode::kFailedPrecondition) << a.ToString();
        EXPECT_EQ(b.code(), StatusCode::kFailedPrecondition) << b.ToString();
        ++counts[3];
      } else {
        const uint64_t lo = std::max(held.metadata.index, hs.commit) + 1;
        snap.metadata.index = lo + rng() % (last + 4 - lo);
        snap.metadata.term = std::max({hs.term, model.Term(last), uint64_t{1}});
        snap.metadata.conf_state = RandomConf(rng);
        if (rng() % 4 != 0) snap.metadata.last_entry_hash = RandomBytes(rng, kEntryHashSize);
        snap.data = RandomBytes(rng, rng() % 300);
        const HardState next{snap.metadata.term, hs.vote, snap.metadata.index};
        std::vector<Entry> entries;
        if (rng() % 2) {
          Bytes prev = snap.metadata.last_entry_hash;
          for (uint64_t i = 1; i <= 1 + rng() % 3; ++i) {
            Entry e = MakeEntry(snap.metadata.term, snap.metadata.index + i, "after");
            if (!prev.empty()) e.seal = MakeSeal(prev, rng);
            prev = EntryHash(e);
            entries.push_back(std::move(e));
          }
        }
        ASSERT_OK(model.Persist(next, entries, snap));
        ASSERT_OK(log->Persist(next, entries, snap, sync));
        ++counts[4];
      }
    } else if (kind < 90) {
      const ConfState conf = RandomConf(rng);
      model.SetConfState(conf);
      ASSERT_OK(log->SetConfState(conf));
      ++counts[5];
    } else {
      // A snapshot of the applied state, and compaction; or one that is not newer.
      const Snapshot held = model.GetSnapshot();
      const ConfState conf = RandomConf(rng);
      if (!held.empty() && rng() % 5 == 0) {
        const uint64_t index = held.metadata.index - rng() % held.metadata.index;
        EXPECT_EQ(log->CreateSnapshotAndCompact(index, conf, {}).code(),
                  StatusCode::kFailedPrecondition);
        EXPECT_EQ(model.CreateSnapshotAndCompact(index, conf, {}).code(),
                  StatusCode::kFailedPrecondition);
        ++counts[6];
      } else if (hs.commit > held.metadata.index) {
        const uint64_t index = held.metadata.index + 1 + rng() % (hs.commit - held.metadata.index);
        const Bytes data = RandomBytes(rng, rng() % 300);
        ASSERT_OK(model.CreateSnapshotAndCompact(index, conf, data));
        ASSERT_OK(log->CreateSnapshotAndCompact(index, conf, data));
        ++counts[7];
      }
    }
    if (op % 100 == 0) {
      log.reset();
      log = MustOpen(options);
      ASSERT_NE(log, nullptr);
    }
    const std::string diff = Compare(model, *log, rng);
    ASSERT_EQ(diff, "") << "seed " << seed;
  }
  std::printf(
      "appends %d, truncating appends %d, hard states %d, stale snapshots %d, snapshots %d, "
      "conf states %d, stale compactions %d, compactions %d; final log %llu..%llu\n",
      counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6], counts[7],
      static_cast<unsigned long long>(model.FirstIndex()),
      static_cast<unsigned long long>(model.LastIndex()));
  for (int c : counts) EXPECT_GT(c, 0);
}

// --- Truncation ------------------------------------------------------------------------

TEST(DurableLogTest, AppendingInsideTheLogDeletesTheOldSuffix) {
  std::unique_ptr<Env> mem = NewMemEnv(2);
  const DurableLogOptions options = MemOptions(mem.get());
  auto log = MustOpen(options);
  ASSERT_NE(log, nullptr);
  ASSERT_OK(log->Persist(HardState{1, 1, 3}, MakeEntries(1, std::vector<uint64_t>(10, 1)),
                         Snapshot(), true));
  // A new leader of term 2 overwrites 6.. with two entries.
  const std::vector<Entry> replacement = MakeEntries(6, {2, 2});
  ASSERT_OK(log->Persist(HardState{2, 2, 3}, replacement, Snapshot(), true));
  EXPECT_EQ(log->LastIndex(), 7u);
  log.reset();
  log = MustOpen(options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->LastIndex(), 7u);
  EXPECT_EQ(log->Term(5).value(), 1u);
  EXPECT_EQ(log->Term(6).value(), 2u);
  EXPECT_EQ(log->Term(8).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(log->Entries(6, 8, UINT64_MAX).value(), replacement);
  log.reset();
  int entry_keys = 0;
  for (const std::string& key : RawKeys(mem.get())) entry_keys += key[0] == 'e';
  EXPECT_EQ(entry_keys, 7);
}

// --- Crash safety -----------------------------------------------------------------------

// Readies persisted with and without sync, snapshots and membership changes, then a
// power loss (sometimes with torn writes, sometimes after an injected I/O error):
// the log that reopens must hold the state after some prefix of the writes, at least
// through the last synced one.
TEST(DurableLogTest, PowerLossKeepsEverySyncedWriteAndNothingHalfWritten) {
  uint64_t first_seed = SeedOr(1);
  const int rounds = SeedGiven() ? 1 : 24;
  int lives = 0, recovered_unsynced = 0, lost_unsynced = 0, failed_writes = 0;
  for (uint64_t seed = first_seed; seed < first_seed + static_cast<uint64_t>(rounds); ++seed) {
    SCOPED_TRACE("VELLUM_TEST_SEED=" + std::to_string(seed));
    std::printf("crash seed: VELLUM_TEST_SEED=%llu\n", static_cast<unsigned long long>(seed));
    std::mt19937_64 rng(seed);
    std::unique_ptr<Env> mem = NewMemEnv(seed);
    FaultInjectionEnv fault(mem.get(), seed);
    fault.SetTornWrites(rng() % 2 == 0);
    DurableLogOptions options = MemOptions(&fault);
    options.write_buffer_bytes = 64 << 10;

    Observed recovered;  // empty log
    recovered.first = 1;
    recovered.terms = {0};
    for (int life = 0; life < 4; ++life) {
      ++lives;
      auto log = MustOpen(options);
      ASSERT_NE(log, nullptr);
      ASSERT_EQ(Observe(*log), recovered) << "life " << life;
      std::unique_ptr<Model> model = ModelOf(recovered);

      // The states after each write: [0] is now; the log must come back as one of
      // them, no earlier than the last synced one.
      std::vector<Observed> history{recovered};
      size_t last_synced = 0;
      const bool inject = rng() % 3 == 0;
      if (inject) {
        if (rng() % 2) {
          fault.FailNthWrite(1 + rng() % 60);
        } else {
          fault.FailNthSync(1 + rng() % 8);
        }
      }
      const int writes = 5 + static_cast<int>(rng() % 40);
      for (int w = 0; w < writes; ++w) {
        const uint64_t first = model->FirstIndex();
        const uint64_t last = model->LastIndex();
        const HardState hs = model->hard_state();
        bool sync = rng() % 3 == 0;
        const int kind = static_cast<int>(rng() % 20);
        Status s;
        if (kind < 15) {
          const uint64_t lo = std::max(first, hs.commit + 1);
          const uint64_t start = lo + rng() % (last + 2 - lo);
          const uint64_t term = std::max(model->Term(start - 1), hs.term) + (rng() % 4 == 0);
          Bytes prev = model->HashAt(start - 1);
          std::vector<Entry> entries;
          for (uint64_t i = 0; i < 1 + rng() % 20; ++i) {
            Entry e = MakeEntry(term, start + i);
            e.data = RandomBytes(rng, rng() % 1500);
            e.seal = MakeSeal(prev, rng);
            prev = EntryHash(e);
            entries.push_back(std::move(e));
          }
          const uint64_t new_last = entries.back().index;
          const HardState next{term, 1, hs.commit + rng() % (new_last - hs.commit + 1)};
          ASSERT_OK(model->Persist(next, entries, Snapshot()));
          s = log->Persist(next, entries, Snapshot(), sync);
        } else if (kind < 17) {
          const ConfState conf = RandomConf(rng);
          model->SetConfState(conf);
          s = log->SetConfState(conf);
          sync = true;
        } else {
          const uint64_t snap = model->GetSnapshot().metadata.index;
          if (hs.commit <= snap) continue;
          const uint64_t index = snap + 1 + rng() % (hs.commit - snap);
          const ConfState conf = RandomConf(rng);
          const Bytes data = RandomBytes(rng, rng() % 3000);
          ASSERT_OK(model->CreateSnapshotAndCompact(index, conf, data));
          s = log->CreateSnapshotAndCompact(index, conf, data);
          sync = true;
        }
        history.push_back(Observe(*model));
        if (!s.ok()) {
          // Not acknowledged: it may or may not be on disk; and the log takes no more.
          EXPECT_TRUE(inject) << s.ToString();
          EXPECT_EQ(s.code(), StatusCode::kIOError) << s.ToString();
          EXPECT_EQ(log->SetConfState(ConfState()).code(), StatusCode::kIOError);
          ++failed_writes;
          break;
        }
        ASSERT_EQ(Observe(*log), history.back());
        if (sync) last_synced = history.size() - 1;
      }
      fault.FailNthWrite(0);
      fault.FailNthSync(0);
      // Power loss with the log still open.
      fault.SetFilesystemActive(false);
      log.reset();
      fault.SetFilesystemActive(true);
      ASSERT_OK(fault.DropUnsyncedData());

      log = MustOpen(options);
      ASSERT_NE(log, nullptr) << "life " << life;
      const Observed got = Observe(*log);
      size_t match = history.size();
      for (size_t k = history.size(); k-- > 0;) {
        if (history[k] == got) {
          match = k;
          break;
        }
      }
      ASSERT_LT(match, history.size())
          << "life " << life
          << ": the log recovered to a state no prefix of the writes left: " << Describe(got);
      ASSERT_GE(match, last_synced) << "life " << life << ": a synced write was lost";
      if (match > last_synced) ++recovered_unsynced;
      if (match + 1 < history.size()) ++lost_unsynced;
      recovered = got;
    }
  }
  std::printf("lives %d, unsynced writes that survived %d, lives that lost some %d, failed %d\n",
              lives, recovered_unsynced, lost_unsynced, failed_writes);
  if (!SeedGiven()) {
    EXPECT_GT(lost_unsynced, 0);
    EXPECT_GT(failed_writes, 0);
  }
}

// --- Verification on open ---------------------------------------------------------------

class DurableLogTamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mem_ = NewMemEnv(3);
    options_ = MemOptions(mem_.get());
  }

  // A log of entries 1..6 with terms 1,1,2,2,3,3 (sealed when `sealed`), hard state
  // commit 4, and, when `snapshot_at` > 0, a snapshot at that index.
  void Build(bool sealed, uint64_t snapshot_at = 0) {
    auto log = MustOpen(options_);
    ASSERT_NE(log, nullptr);
    entries_ = MakeEntries(1, {1, 1, 2, 2, 3, 3}, sealed ? GenesisEntryHash() : Bytes());
    ASSERT_OK(log->Persist(HardState{3, 1, 4}, entries_, Snapshot(), true));
    ASSERT_OK(log->SetConfState(ConfState{{1, 2, 3}, {}}));
    if (snapshot_at > 0) {
      ASSERT_OK(log->CreateSnapshotAndCompact(snapshot_at, ConfState{{1, 2, 3}, {}}, {}));
    }
  }

  // Opening must fail with `code`, naming `key` and saying `what`.
  void ExpectOpenFails(StatusCode code, std::string_view key, std::string_view what) {
    auto log = DurableLog::Open(kDir, options_);
    ASSERT_FALSE(log.ok()) << "the tampered log opened";
    EXPECT_EQ(log.status().code(), code) << log.status().ToString();
    EXPECT_NE(log.status().message().find(key), std::string::npos) << log.status().ToString();
    EXPECT_NE(log.status().message().find(what), std::string::npos) << log.status().ToString();
    std::printf("  %s\n", log.status().ToString().c_str());
  }

  std::unique_ptr<Env> mem_;
  DurableLogOptions options_;
  std::vector<Entry> entries_;
};

TEST_F(DurableLogTamperTest, UntamperedLogOpens) {
  Build(/*sealed=*/true, /*snapshot_at=*/2);
  auto log = MustOpen(options_);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->FirstIndex(), 3u);
  EXPECT_EQ(log->LastIndex(), 6u);
}

TEST_F(DurableLogTamperTest, EntryThatDoesNotDecode) {
  Build(false);
  Tamper(mem_.get(), [](rocksdb::DB* db) { RawPut(db, EntryKey(3), AsBytes("\x05\x03garbage")); });
  ExpectOpenFails(StatusCode::kCorruption, "e/3", "does not decode");
}

TEST_F(DurableLogTamperTest, TruncatedEntry) {
  Build(false);
  Tamper(mem_.get(), [](rocksdb::DB* db) {
    std::string value = RawGet(db, EntryKey(5));
    value.pop_back();
    RawPut(db, EntryKey(5), AsBytes(value));
  });
  ExpectOpenFails(StatusCode::kCorruption, "e/5", "does not decode");
}

TEST_F(DurableLogTamperTest, GapInIndexes) {
  Build(false);
  Tamper(mem_.get(), [](rocksdb::DB* db) { RawDelete(db, EntryKey(3)); });
  ExpectOpenFails(StatusCode::kCorruption, "e/4", "gap");
}

TEST_F(DurableLogTamperTest, GapAfterTheSnapshot) {
  Build(false, /*snapshot_at=*/2);
  Tamper(mem_.get(), [](rocksdb::DB* db) { RawDelete(db, EntryKey(3)); });
  ExpectOpenFails(StatusCode::kCorruption, "e/4", "gap");
}

TEST_F(DurableLogTamperTest, EntryUnderAnotherIndex) {
  Build(false);
  Tamper(mem_.get(),
         [](rocksdb::DB* db) { RawPut(db, EntryKey(3), EncodeEntry(MakeEntry(2, 9, "x"))); });
  ExpectOpenFails(StatusCode::kCorruption, "e/3", "holds entry 9");
}

TEST_F(DurableLogTamperTest, EntryLeftBehindBySnapshot) {
  Build(false, /*snapshot_at=*/3);
  Tamper(mem_.get(),
         [](rocksdb::DB* db) { RawPut(db, EntryKey(2), EncodeEntry(MakeEntry(1, 2, "x"))); });
  ExpectOpenFails(StatusCode::kCorruption, "e/2", "before the snapshot");
}

TEST_F(DurableLogTamperTest, DecreasingTerm) {
  Build(false);
  Tamper(mem_.get(),
         [](rocksdb::DB* db) { RawPut(db, EntryKey(4), EncodeEntry(MakeEntry(1, 4, "x"))); });
  ExpectOpenFails(StatusCode::kCorruption, "e/4", "terms must never decrease");
}

TEST_F(DurableLogTamperTest, TermBelowTheSnapshots) {
  Build(false, /*snapshot_at=*/4);  // the snapshot's term is 2
  Tamper(mem_.get(),
         [](rocksdb::DB* db) { RawPut(db, EntryKey(5), EncodeEntry(MakeEntry(1, 5, "x"))); });
  ExpectOpenFails(StatusCode::kCorruption, "e/5", "terms must never decrease");
}

TEST_F(DurableLogTamperTest, CommitPastTheEnd) {
  Build(false);
  Tamper(mem_.get(), [](rocksdb::DB* db) { RawPut(db, "h", EncodeHardState(HardState{3, 1, 7})); });
  ExpectOpenFails(StatusCode::kCorruption, "\"h\"", "commit index 7 is past the last index 6");
}

TEST_F(DurableLogTamperTest, HardStateThatDoesNotDecode) {
  Build(false);
  Tamper(mem_.get(), [](rocksdb::DB* db) { RawPut(db, "h", AsBytes("\xff")); });
  ExpectOpenFails(StatusCode::kCorruption, "\"h\"", "does not decode");
}

TEST_F(DurableLogTamperTest, ConfStateThatDoesNotDecode) {
  Build(false);
  // Voters 3, 1: not sorted.
  Tamper(mem_.get(), [](rocksdb::DB* db) { RawPut(db, "c", AsBytes("\x02\x03\x01\x00")); });
  ExpectOpenFails(StatusCode::kCorruption, "\"c\"", "does not decode");
}

TEST_F(DurableLogTamperTest, SnapshotMetadataThatDoesNotDecode) {
  Build(false, /*snapshot_at=*/2);
  Tamper(mem_.get(), [](rocksdb::DB* db) {
    std::string value = RawGet(db, "s");
    value.resize(value.size() - 3);
    RawPut(db, "s", AsBytes(value));
  });
  ExpectOpenFails(StatusCode::kCorruption, "\"s\"", "does not decode");
}

TEST_F(DurableLogTamperTest, SnapshotWithoutItsData) {
  Build(false, /*snapshot_at=*/2);
  Tamper(mem_.get(), [](rocksdb::DB* db) { RawDelete(db, "d"); });
  ExpectOpenFails(StatusCode::kCorruption, "\"d\"", "missing");
}

TEST_F(DurableLogTamperTest, SealWithTheWrongPreviousHash) {
  Build(true);
  Tamper(mem_.get(), [](rocksdb::DB* db) {
    Entry e = DecodeEntry(AsBytes(RawGet(db, EntryKey(3)))).value();
    e.seal[5] ^= 1;
    RawPut(db, EntryKey(3), EncodeEntry(e));
  });
  ExpectOpenFails(StatusCode::kCorruption, "e/3", "does not chain to entry 2");
}

TEST_F(DurableLogTamperTest, ChangedDataBreaksTheNextSeal) {
  Build(true);
  Tamper(mem_.get(), [](rocksdb::DB* db) {
    Entry e = DecodeEntry(AsBytes(RawGet(db, EntryKey(2)))).value();
    e.data = ToBytes("forged");
    RawPut(db, EntryKey(2), EncodeEntry(e));
  });
  ExpectOpenFails(StatusCode::kCorruption, "e/3", "does not chain to entry 2");
}

TEST_F(DurableLogTamperTest, FirstSealMustChainToTheSnapshot) {
  Build(true, /*snapshot_at=*/3);
  Tamper(mem_.get(), [](rocksdb::DB* db) {
    std::string value = RawGet(db, "s");
    value.back() ^= 1;  // the last byte of the last entry hash
    RawPut(db, "s", AsBytes(value));
  });
  ExpectOpenFails(StatusCode::kCorruption, "e/4", "does not chain to entry 3");
}

TEST_F(DurableLogTamperTest, FirstSealMustChainToGenesis) {
  Build(true);
  Tamper(mem_.get(), [this](rocksdb::DB* db) {
    RawDelete(db, EntryKey(1));
    // Entry 2 moved to index 1 keeps a seal that chains to entry 1, not to genesis.
    Entry e = entries_[1];
    e.index = 1;
    for (uint64_t i = 2; i <= 6; ++i) RawDelete(db, EntryKey(i));
    RawPut(db, EntryKey(1), EncodeEntry(e));
    RawPut(db, "h", EncodeHardState(HardState{3, 1, 1}));
  });
  ExpectOpenFails(StatusCode::kCorruption, "e/1", "does not chain to entry 0");
}

TEST_F(DurableLogTamperTest, MalformedSeal) {
  Build(true);
  Tamper(mem_.get(), [](rocksdb::DB* db) {
    Entry e = DecodeEntry(AsBytes(RawGet(db, EntryKey(6)))).value();
    e.seal[0] = 7;
    RawPut(db, EntryKey(6), EncodeEntry(e));
  });
  ExpectOpenFails(StatusCode::kCorruption, "e/6", "unknown version 7");
}

TEST_F(DurableLogTamperTest, WrongFormatRecord) {
  Build(false);
  Tamper(mem_.get(), [](rocksdb::DB* db) { RawPut(db, "v", AsBytes("vellum-raft-log-v9")); });
  ExpectOpenFails(StatusCode::kCorruption, "\"v\"", "format record");
}

TEST_F(DurableLogTamperTest, MissingFormatRecord) {
  Build(false);
  Tamper(mem_.get(), [](rocksdb::DB* db) { RawDelete(db, "v"); });
  ExpectOpenFails(StatusCode::kCorruption, "\"v\"", "format record is missing");
}

TEST_F(DurableLogTamperTest, UnknownRecord) {
  Build(false);
  Tamper(mem_.get(), [](rocksdb::DB* db) { RawPut(db, "x", AsBytes("?")); });
  ExpectOpenFails(StatusCode::kCorruption, "\"x\"", "no known kind");
}

TEST_F(DurableLogTamperTest, MalformedEntryKey) {
  Build(false);
  Tamper(mem_.get(), [](rocksdb::DB* db) { RawPut(db, "e12", AsBytes("?")); });
  ExpectOpenFails(StatusCode::kCorruption, "\"e12\"", "not 'e' + 8 bytes");
}

TEST_F(DurableLogTamperTest, SomeOtherRocksDb) {
  Tamper(mem_.get(), [](rocksdb::DB* db) { RawPut(db, "user:1", AsBytes("alice")); });
  ExpectOpenFails(StatusCode::kFailedPrecondition, kDir, "not a Vellum raft log");
}

TEST_F(DurableLogTamperTest, RocksDbWithOtherColumnFamilies) {
  Tamper(mem_.get(), [](rocksdb::DB* db) {
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    ASSERT_TRUE(db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "trie", &handle).ok());
    ASSERT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
  });
  ExpectOpenFails(StatusCode::kFailedPrecondition, kDir, "not a Vellum raft log");
}

// Random damage to random records: Open succeeds or reports Corruption; it never
// crashes, and never reports anything else.
TEST_F(DurableLogTamperTest, RandomDamageIsCorruptionOrHarmless) {
  const uint64_t seed = SeedOr(77);
  std::printf("random damage seed: VELLUM_TEST_SEED=%llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  int corrupt = 0, harmless = 0;
  for (int round = 0; round < 150; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    mem_ = NewMemEnv(round);
    options_ = MemOptions(mem_.get());
    Build(/*sealed=*/rng() % 4 != 0, /*snapshot_at=*/rng() % 3);
    const std::vector<std::string> keys = RawKeys(mem_.get());
    const std::string key = keys[rng() % keys.size()];
    Tamper(mem_.get(), [&](rocksdb::DB* db) {
      std::string value = RawGet(db, key);
      switch (rng() % 4) {
        case 0:
          if (!value.empty()) value[rng() % value.size()] ^= static_cast<char>(1 + rng() % 255);
          break;
        case 1:
          value.resize(rng() % (value.size() + 1));
          break;
        case 2:
          value += static_cast<char>(rng());
          break;
        default: {
          const Bytes junk = RandomBytes(rng, rng() % 40);
          value.assign(AsChars(junk));
        }
      }
      RawPut(db, key, AsBytes(value));
    });
    auto log = DurableLog::Open(kDir, options_);
    if (log.ok()) {
      ++harmless;
    } else {
      EXPECT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().ToString();
      ++corrupt;
    }
  }
  std::printf("damage detected %d, harmless or undetectable %d\n", corrupt, harmless);
  EXPECT_GT(corrupt, 100);
}

// --- Refused writes ---------------------------------------------------------------------

TEST(DurableLogTest, RefusesWritesThatWouldBreakTheLog) {
  std::unique_ptr<Env> mem = NewMemEnv(4);
  const DurableLogOptions options = MemOptions(mem.get());
  auto log = MustOpen(options);
  ASSERT_NE(log, nullptr);
  const std::vector<Entry> entries = MakeEntries(1, {1, 2, 2, 3}, GenesisEntryHash());
  ASSERT_OK(log->Persist(HardState{3, 1, 2}, entries, Snapshot(), true));
  const Observed before = Observe(*log);

  // A gap after the last index.
  EXPECT_CODE(log->Persist(std::nullopt, MakeEntries(6, {3}), Snapshot(), true), kInvalidArgument);
  // Entries that are not contiguous among themselves.
  std::vector<Entry> skipping = MakeEntries(5, {3, 3});
  skipping[1].index = 7;
  EXPECT_CODE(log->Persist(std::nullopt, skipping, Snapshot(), true), kInvalidArgument);
  // A term below the previous entry's.
  EXPECT_CODE(log->Persist(std::nullopt, MakeEntries(5, {2}), Snapshot(), true), kInvalidArgument);
  // A commit index past the end (with and without new entries).
  EXPECT_CODE(log->Persist(HardState{3, 1, 5}, {}, Snapshot(), true), kInvalidArgument);
  EXPECT_CODE(log->Persist(HardState{3, 1, 7}, MakeEntries(5, {3}), Snapshot(), true),
              kInvalidArgument);
  // Truncating below the commit index would leave it past the end.
  EXPECT_CODE(log->Persist(std::nullopt, MakeEntries(1, {1}), Snapshot(), true), kInvalidArgument);
  // A seal that does not chain to the entry before it.
  std::mt19937_64 rng(4);
  Entry forged = MakeEntry(3, 5);
  forged.seal = MakeSeal(EntryHash(entries[2]), rng);  // chains to 3, not to 4
  EXPECT_CODE(log->Persist(std::nullopt, {forged}, Snapshot(), true), kInvalidArgument);
  // An entry type that does not encode.
  Entry bad_type = MakeEntry(3, 5);
  bad_type.type = static_cast<EntryType>(9);
  EXPECT_CODE(log->Persist(std::nullopt, {bad_type}, Snapshot(), true), kInvalidArgument);
  // Memberships whose ids are not sorted, unique and disjoint.
  EXPECT_CODE(log->SetConfState(ConfState{{2, 1}, {}}), kInvalidArgument);
  EXPECT_CODE(log->SetConfState(ConfState{{1, 2}, {2}}), kInvalidArgument);
  // Snapshots: past the end, then not newer than the one held.
  EXPECT_CODE(log->CreateSnapshotAndCompact(5, ConfState{{1}, {}}, {}), kInvalidArgument);
  EXPECT_EQ(Observe(*log), before);
  ASSERT_OK(log->CreateSnapshotAndCompact(2, ConfState{{1}, {}}, {}));
  EXPECT_CODE(log->CreateSnapshotAndCompact(2, ConfState{{1}, {}}, {}), kFailedPrecondition);
  EXPECT_CODE(log->CreateSnapshotAndCompact(1, ConfState{{1}, {}}, {}), kFailedPrecondition);
  Snapshot stale;
  stale.metadata.index = 2;
  stale.metadata.term = 2;
  EXPECT_CODE(log->Persist(std::nullopt, {}, stale, true), kFailedPrecondition);
  const Observed after = Observe(*log);
  // Nothing refused reached the disk.
  log.reset();
  log = MustOpen(options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(Observe(*log), after);
}

TEST(DurableLogTest, EntriesTheSnapshotCoversAreIgnored) {
  std::unique_ptr<Env> mem = NewMemEnv(5);
  const DurableLogOptions options = MemOptions(mem.get());
  auto log = MustOpen(options);
  ASSERT_NE(log, nullptr);
  ASSERT_OK(log->Persist(HardState{1, 1, 3}, MakeEntries(1, {1, 1, 1, 1}), Snapshot(), true));
  ASSERT_OK(log->CreateSnapshotAndCompact(3, ConfState{{1}, {}}, {}));
  // 2..3 are covered by the snapshot (even with other terms), 4 replaced, 5 appended.
  ASSERT_OK(log->Persist(std::nullopt, MakeEntries(2, {7, 7, 1, 2}), Snapshot(), true));
  EXPECT_EQ(log->FirstIndex(), 4u);
  EXPECT_EQ(log->LastIndex(), 5u);
  EXPECT_EQ(log->Term(3).value(), 1u);
  EXPECT_EQ(log->Term(5).value(), 2u);
  // Only covered entries: nothing to do.
  ASSERT_OK(log->Persist(std::nullopt, MakeEntries(1, {1, 1}), Snapshot(), true));
  EXPECT_EQ(log->LastIndex(), 5u);
}

TEST(DurableLogTest, SnapshotFromTheLeaderReplacesTheLog) {
  std::unique_ptr<Env> mem = NewMemEnv(6);
  const DurableLogOptions options = MemOptions(mem.get());
  auto log = MustOpen(options);
  ASSERT_NE(log, nullptr);
  ASSERT_OK(log->Persist(HardState{1, 1, 2}, MakeEntries(1, {1, 1, 1, 1}), Snapshot(), true));
  ASSERT_OK(log->SetConfState(ConfState{{1}, {}}));
  Snapshot snap;
  snap.metadata.index = 10;
  snap.metadata.term = 4;
  snap.metadata.conf_state = ConfState{{1, 2, 3}, {5}};
  snap.metadata.last_entry_hash = Bytes(kEntryHashSize, 0xab);
  snap.data = ToBytes("the application state at 10");
  const std::vector<Entry> after = MakeEntries(11, {4, 4}, snap.metadata.last_entry_hash);
  ASSERT_OK(log->Persist(HardState{4, 2, 10}, after, snap, /*sync=*/true));
  for (int reopen = 0; reopen < 2; ++reopen) {
    EXPECT_EQ(log->FirstIndex(), 11u);
    EXPECT_EQ(log->LastIndex(), 12u);
    EXPECT_EQ(log->Term(10).value(), 4u);
    EXPECT_EQ(log->GetSnapshot().value(), snap);
    EXPECT_EQ(log->GetInitialState().conf_state, snap.metadata.conf_state);
    EXPECT_EQ(log->Entries(11, 13, UINT64_MAX).value(), after);
    log.reset();
    log = MustOpen(options);
    ASSERT_NE(log, nullptr);
  }
  // A later membership change is reported on restart; the snapshot keeps its own.
  ASSERT_OK(log->SetConfState(ConfState{{1, 2, 3, 5}, {}}));
  log.reset();
  log = MustOpen(options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->GetInitialState().conf_state, (ConfState{{1, 2, 3, 5}, {}}));
  EXPECT_EQ(log->GetSnapshot()->metadata.conf_state, snap.metadata.conf_state);
}

// --- Opening ----------------------------------------------------------------------------

TEST(DurableLogTest, SecondOpenOfTheSameDirectoryIsUnavailable) {
  std::unique_ptr<Env> mem = NewMemEnv(7);
  const DurableLogOptions options = MemOptions(mem.get());
  auto log = MustOpen(options);
  ASSERT_NE(log, nullptr);
  auto second = DurableLog::Open(kDir, options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status().ToString();
  EXPECT_NE(second.status().message().find("another process"), std::string::npos)
      << second.status().ToString();
  log.reset();
  EXPECT_NE(MustOpen(options), nullptr);  // the lock went with the first
}

TEST(DurableLogTest, MissingOrForeignDirectories) {
  std::unique_ptr<Env> mem = NewMemEnv(8);
  DurableLogOptions options = MemOptions(mem.get());
  options.create_if_missing = false;
  EXPECT_EQ(DurableLog::Open(kDir, options).status().code(), StatusCode::kNotFound);
  options.create_if_missing = true;
  ASSERT_OK(mem->CreateDir("/other"));
  ASSERT_OK(WriteStringToFile(mem.get(), "hello", "/other/notes.txt", true));
  auto log = DurableLog::Open("/other", options);
  EXPECT_EQ(log.status().code(), StatusCode::kFailedPrecondition) << log.status().ToString();
  EXPECT_EQ(DurableLog::Open("", options).status().code(), StatusCode::kInvalidArgument);
}

// --- Concurrency --------------------------------------------------------------------------

// The core reads while the node persists: every read sees a consistent log.
TEST(DurableLogTest, ReadsWhilePersisting) {
  std::unique_ptr<Env> mem = NewMemEnv(9);
  auto log = MustOpen(MemOptions(mem.get()));
  ASSERT_NE(log, nullptr);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      const uint64_t first = log->FirstIndex();
      const uint64_t last = log->LastIndex();
      if (last >= first) {
        auto entries = log->Entries(first, last + 1, UINT64_MAX);
        // Compaction may have moved the first index on since: NotFound is the answer.
        if (entries.ok()) {
          ASSERT_FALSE(entries->empty());
          EXPECT_EQ(entries->front().index, first);
        } else {
          EXPECT_EQ(entries.status().code(), StatusCode::kNotFound);
        }
      }
    }
  });
  for (uint64_t i = 1; i <= 300; ++i) {
    ASSERT_OK(log->Persist(HardState{1, 1, i}, {MakeEntry(1, i)}, Snapshot(), i % 2 == 0));
    if (i % 50 == 0) ASSERT_OK(log->CreateSnapshotAndCompact(i - 10, ConfState{{1}, {}}, {}));
  }
  done = true;
  reader.join();
  EXPECT_EQ(log->LastIndex(), 300u);
}

}  // namespace
}  // namespace vellum::raft
