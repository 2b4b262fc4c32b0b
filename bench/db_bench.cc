// Copyright (c) Vellum authors.
//
// Ledger benchmarks (include/vellum/db.h), each beside the honest baseline in the
// same process: raw RocksDB doing the same writes or reads without encryption,
// authentication or a log.
//
//   fillbatch    --num random pairs committed in --batch-pair WriteBatches (sync off)
//   fillsync     single-put commits with sync on, for each --sync_threads count
//   readrandom   verified random Gets of present keys
//   prove        GetWithProof of random present keys
//   verifyproof  GetWithProof plus the standalone VerifyLedgerProof
//   logverify    Verify() of the whole log (chain, hashes, shares, accumulator)
//
// fillbatch loads the ledger that readrandom, prove, verifyproof and logverify use
// (it runs first if not named).

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_flags.h"
#include "bench/bench_harness.h"
#include "bench/bench_util.h"
#include "vellum/db.h"
#include "vellum/keys.h"

DECLARE_uint64(batch);
DECLARE_uint64(cache_mb);
DECLARE_uint64(key_size);
DECLARE_uint64(reads);
DECLARE_string(db);
DECLARE_int32(hash_threads);
DEFINE_uint64(ledger_value_size, 100, "Value size in bytes for the ledger benchmarks.");
DEFINE_string(sync_threads, "1,16", "Writer thread counts for fillsync.");
DEFINE_double(sync_seconds, 5.0, "Seconds per fillsync measurement.");
DEFINE_int32(sync_rounds, 3,
             "fillsync rounds: each measures every --sync_threads count in turn, and the "
             "medians are reported (the disk's sync latency drifts from second to second).");
DEFINE_double(sync_warmup_seconds, 1.0,
              "Unmeasured commits before each fillsync measurement (fresh files, caches).");

namespace vellum::bench {
namespace {

constexpr const char* kTable = "bench";

struct LedgerBenchState {
  std::string dir;
  std::vector<std::string> keys;
  std::vector<std::string> values;
  std::unique_ptr<DB> db;
  std::unique_ptr<rocksdb::DB> raw;
  bool loaded = false;

  ~LedgerBenchState() {
    if (db) db->Close().IgnoreError();
    db.reset();
    raw.reset();
    if (FLAGS_db.empty() && !dir.empty()) std::filesystem::remove_all(dir);
  }
};

LedgerBenchState& State() { return SharedState<LedgerBenchState>(); }

// `keys`: how many keys the ledger holds (0: not a figure of the loaded ledger).
std::string Conditions(const char* sync, const std::string& extra = "", bool loaded = true) {
  char buf[320];
  std::string keys = loaded ? std::to_string(State().keys.size()) + " keys, " : "";
  std::string batch =
      loaded ? "batch " + std::to_string(FLAGS_batch) + ", " : "one put per commit, ";
  std::snprintf(buf, sizeof(buf),
                "%s%llu-byte keys, %llu-byte values, %ssync %s, node cache "
                "%llu MiB, block cache %llu MiB, hash threads %d%s",
                keys.c_str(), static_cast<unsigned long long>(FLAGS_key_size),
                static_cast<unsigned long long>(FLAGS_ledger_value_size), batch.c_str(), sync,
                static_cast<unsigned long long>(FLAGS_cache_mb),
                static_cast<unsigned long long>(FLAGS_cache_mb), FLAGS_hash_threads, extra.c_str());
  return buf;
}

Options LedgerOptions(const std::string& dir, bool sync) {
  Options options;
  options.create_if_missing = true;
  options.key_file = dir + "/master.key";
  options.sync = sync;
  options.node_cache_bytes = FLAGS_cache_mb << 20;
  options.block_cache_bytes = FLAGS_cache_mb << 20;
  options.hash_threads = std::max(1, FLAGS_hash_threads);
  return options;
}

std::unique_ptr<DB> OpenLedger(const std::string& dir, const std::string& name, bool sync) {
  std::filesystem::remove_all(dir + "/" + name);
  if (!std::filesystem::exists(dir + "/master.key")) {
    VELLUM_CHECK(MasterKey::Generate().WriteFile(dir + "/master.key").ok());
  }
  std::unique_ptr<DB> db;
  Status status = DB::Open(LedgerOptions(dir, sync), dir + "/" + name, &db);
  VELLUM_CHECK_MSG(status.ok(), status.ToString().c_str());
  WriteBatch create;
  create.CreateTable(kTable);
  VELLUM_CHECK(db->Write({}, create).ok());
  return db;
}

std::unique_ptr<rocksdb::DB> OpenRaw(const std::string& path) {
  std::filesystem::remove_all(path);
  rocksdb::DB* raw = nullptr;
  VELLUM_CHECK(rocksdb::DB::Open(RawRocksOptions(FLAGS_cache_mb << 20), path, &raw).ok());
  return std::unique_ptr<rocksdb::DB>(raw);
}

std::string RandomString(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

void EnsureDir() {
  if (State().dir.empty()) State().dir = ScratchDir(FLAGS_db);
}

void Setup() {
  EnsureDir();
  LedgerBenchState& s = State();
  if (!s.keys.empty()) return;
  const uint64_t num = FLAGS_num == 0 ? 1000000 : FLAGS_num;
  std::mt19937_64 rng(FLAGS_seed);
  s.keys.resize(num);
  s.values.resize(num);
  for (uint64_t i = 0; i < num; ++i) {
    s.keys[i] = RandomString(rng, FLAGS_key_size);
    s.values[i] = RandomString(rng, FLAGS_ledger_value_size);
  }
}

void Load(BenchRun& run) {
  Setup();
  LedgerBenchState& s = State();
  VELLUM_CHECK_MSG(!s.loaded, "fillbatch runs once per process");
  s.db = OpenLedger(s.dir, "ledger", /*sync=*/false);
  s.raw = OpenRaw(s.dir + "/raw");
  const size_t n = s.keys.size();
  const bool show_progress = isatty(STDERR_FILENO) != 0;

  double cpu_start = CpuSeconds();
  Clock::time_point start = Clock::now();
  for (size_t i = 0; i < n; i += FLAGS_batch) {
    WriteBatch batch;
    const size_t end = std::min(n, i + FLAGS_batch);
    for (size_t j = i; j < end; ++j) batch.Put(kTable, s.keys[j], s.values[j]);
    auto info = s.db->Write({}, batch);
    VELLUM_CHECK_MSG(info.ok(), info.status().ToString().c_str());
    if (show_progress && (i / FLAGS_batch) % 50 == 0) {
      std::fprintf(stderr, "\r... ledger %zu of %zu keys", end, n);
    }
  }
  const double ledger_s = Seconds(start);
  const double ledger_cpu = CpuSeconds() - cpu_start;

  cpu_start = CpuSeconds();
  start = Clock::now();
  for (size_t i = 0; i < n; i += FLAGS_batch) {
    rocksdb::WriteBatch batch;
    const size_t end = std::min(n, i + FLAGS_batch);
    for (size_t j = i; j < end; ++j) batch.Put(s.keys[j], s.values[j]);
    VELLUM_CHECK(s.raw->Write(rocksdb::WriteOptions(), &batch).ok());
  }
  const double raw_s = Seconds(start);
  const double raw_cpu = CpuSeconds() - cpu_start;
  if (show_progress) std::fprintf(stderr, "\r%60s\r", "");
  s.loaded = true;

  const double ledger_rate = static_cast<double>(n) / ledger_s;
  const double raw_rate = static_cast<double>(n) / raw_s;
  char line[256];
  std::snprintf(line, sizeof(line), "%.0f puts/s (%.1f s, %.1f CPU s)", ledger_rate, ledger_s,
                ledger_cpu);
  run.Report(line, Conditions("off"));
  std::snprintf(line, sizeof(line), "%.0f puts/s (%.1f s, %.1f CPU s); ledger/raw = %.2f", raw_rate,
                raw_s, raw_cpu, ledger_rate / raw_rate);
  run.Report(std::string("raw RocksDB WriteBatch ") + line, Conditions("off"));
}

void EnsureLoaded() {
  if (State().loaded) return;
  std::printf("(fillbatch was not run first: loading now)\n");
  BenchRun load("fillbatch");
  Load(load);
}

std::vector<size_t> ReadOrder() {
  std::mt19937_64 rng(FLAGS_seed + 1);
  std::vector<size_t> order(FLAGS_reads);
  for (auto& i : order) i = rng() % State().keys.size();
  return order;
}

// Commits per second of `threads` writers each committing one put at a time.
template <typename CommitFn>
// `round` gives each round's writers keys of their own.
double SyncRate(int threads, int round, const CommitFn& commit) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> commits{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(FLAGS_seed + 100 + 1000 * static_cast<uint64_t>(round) +
                          static_cast<uint64_t>(t));
      while (!stop.load(std::memory_order_relaxed)) {
        commit(RandomString(rng, FLAGS_key_size), RandomString(rng, FLAGS_ledger_value_size));
        commits.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(FLAGS_sync_warmup_seconds));
  const uint64_t before = commits.load();
  const Clock::time_point start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(FLAGS_sync_seconds));
  const uint64_t measured = commits.load() - before;
  const double seconds = Seconds(start);
  stop = true;
  for (auto& w : workers) w.join();
  return static_cast<double>(measured) / seconds;
}

}  // namespace

VELLUM_BENCHMARK(fillbatch, "Commit --num random pairs in --batch WriteBatches; vs raw RocksDB") {
  Load(run);
}

VELLUM_BENCHMARK(fillsync, "Sync commits of one put from --sync_threads writers; vs raw RocksDB") {
  EnsureDir();
  LedgerBenchState& s = State();
  const std::vector<size_t> thread_counts = ParseSizes(FLAGS_sync_threads);
  const int rounds = std::max(1, FLAGS_sync_rounds);
  // rates[i]: the ledger's and raw RocksDB's rate for thread_counts[i], one per round.
  // The counts alternate within a round so that a slow stretch of the disk falls on
  // all of them rather than on one.
  std::vector<std::vector<double>> ledger_rates(thread_counts.size());
  std::vector<std::vector<double>> raw_rates(thread_counts.size());
  for (int round = 0; round < rounds; ++round) {
    for (size_t i = 0; i < thread_counts.size(); ++i) {
      const int threads = static_cast<int>(thread_counts[i]);
      auto db = OpenLedger(s.dir, "ledger-sync", /*sync=*/true);
      ledger_rates[i].push_back(
          SyncRate(threads, round, [&](const std::string& k, const std::string& v) {
            WriteBatch batch;
            batch.Put(kTable, k, v);
            VELLUM_CHECK(db->Write({}, batch).ok());
          }));
      VELLUM_CHECK(db->Close().ok());
      db.reset();
      auto raw = OpenRaw(s.dir + "/raw-sync");
      rocksdb::WriteOptions sync_write;
      sync_write.sync = true;
      raw_rates[i].push_back(
          SyncRate(threads, round, [&](const std::string& k, const std::string& v) {
            VELLUM_CHECK(raw->Put(sync_write, k, v).ok());
          }));
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto list = [](const std::vector<double>& v) {
    std::string out;
    for (double x : v) out += (out.empty() ? "" : " ") + std::to_string(std::lround(x));
    return out;
  };
  double single = 0, raw_single = 0;
  for (size_t i = 0; i < thread_counts.size(); ++i) {
    const double ledger_rate = median(ledger_rates[i]);
    const double raw_rate = median(raw_rates[i]);
    if (thread_counts[i] == 1) {
      single = ledger_rate;
      raw_single = raw_rate;
    }
    // The group-commit scaling of both, side by side: RocksDB's own write queue is the
    // baseline for what sharing syncs can give on this machine and disk.
    std::string versus, raw_versus;
    if (single > 0 && thread_counts[i] > 1) {
      char x[64];
      std::snprintf(x, sizeof(x), " (%.2fx the single writer)", ledger_rate / single);
      versus = x;
      std::snprintf(x, sizeof(x), " (%.2fx its single writer)", raw_rate / raw_single);
      raw_versus = x;
    }
    const std::string extra =
        ", " + std::to_string(thread_counts[i]) + " writer threads, " + std::to_string(rounds) +
        " rounds of " + std::to_string(static_cast<int>(FLAGS_sync_seconds)) +
        " s, medians; rounds: ledger " + list(ledger_rates[i]) + ", raw " + list(raw_rates[i]);
    char line[256];
    std::snprintf(line, sizeof(line),
                  "%.0f commits/s%s; raw RocksDB sync Put %.0f/s%s; ledger/raw = %.2f", ledger_rate,
                  versus.c_str(), raw_rate, raw_versus.c_str(), ledger_rate / raw_rate);
    run.Report(line, Conditions("on", extra, /*loaded=*/false));
  }
  std::filesystem::remove_all(s.dir + "/ledger-sync");
  std::filesystem::remove_all(s.dir + "/raw-sync");
}

VELLUM_BENCHMARK(readrandom, "Verified random Gets of present keys; vs raw RocksDB Get") {
  EnsureLoaded();
  LedgerBenchState& s = State();
  std::vector<size_t> order = ReadOrder();
  auto ledger_get = [&](size_t i) {
    auto value = s.db->Get({}, kTable, s.keys[i]);
    VELLUM_CHECK(value.ok() && value->has_value() && **value == s.values[i]);
  };
  auto raw_get = [&](size_t i) {
    std::string value;
    VELLUM_CHECK(s.raw->Get(rocksdb::ReadOptions(), s.keys[i], &value).ok());
  };
  // One pass each to warm the caches, then the measured pass.
  for (size_t i : order) ledger_get(i);
  Clock::time_point start = Clock::now();
  for (size_t i : order) ledger_get(i);
  const double ledger_rate = static_cast<double>(order.size()) / Seconds(start);
  for (size_t i : order) raw_get(i);
  start = Clock::now();
  for (size_t i : order) raw_get(i);
  const double raw_rate = static_cast<double>(order.size()) / Seconds(start);
  char line[256];
  std::snprintf(line, sizeof(line),
                "%.0f verified gets/s; raw RocksDB %.0f gets/s; ledger/raw = %.2f", ledger_rate,
                raw_rate, ledger_rate / raw_rate);
  run.Report(line, Conditions("off", ", " + std::to_string(order.size()) + " warm reads"));
}

VELLUM_BENCHMARK(prove, "GetWithProof of random present keys (proof sizes)") {
  EnsureLoaded();
  LedgerBenchState& s = State();
  std::vector<size_t> order = ReadOrder();
  std::vector<size_t> sizes;
  sizes.reserve(order.size());
  Clock::time_point start = Clock::now();
  for (size_t i : order) {
    auto proof = s.db->GetWithProof({}, kTable, s.keys[i]);
    VELLUM_CHECK(proof.ok());
    sizes.push_back(proof->Serialize().size());
  }
  const double rate = static_cast<double>(order.size()) / Seconds(start);
  std::sort(sizes.begin(), sizes.end());
  double mean = 0;
  for (size_t size : sizes) mean += static_cast<double>(size);
  mean /= static_cast<double>(sizes.size());
  char line[256];
  std::snprintf(line, sizeof(line),
                "%.0f proofs/s; proof bytes mean %.0f, p50 %zu, p95 %zu, max %zu (serialized, "
                "value included)",
                rate, mean, sizes[sizes.size() / 2], sizes[sizes.size() * 95 / 100], sizes.back());
  run.Report(line, Conditions("off"));
}

VELLUM_BENCHMARK(verifyproof, "GetWithProof plus standalone VerifyLedgerProof, one thread") {
  EnsureLoaded();
  LedgerBenchState& s = State();
  std::vector<size_t> order = ReadOrder();
  const Hash root = s.db->Latest().state_root;
  std::vector<LedgerProof> proofs;
  proofs.reserve(order.size());
  Clock::time_point start = Clock::now();
  for (size_t i : order) {
    auto proof = s.db->GetWithProof({}, kTable, s.keys[i]);
    VELLUM_CHECK(proof.ok());
    auto check = VerifyLedgerProof(*proof, root);
    VELLUM_CHECK(check.ok() && check->present);
    proofs.push_back(std::move(proof).value());
  }
  const double both_rate = static_cast<double>(order.size()) / Seconds(start);
  start = Clock::now();
  for (const auto& proof : proofs) VELLUM_CHECK(VerifyLedgerProof(proof, root).ok());
  const double verify_rate = static_cast<double>(proofs.size()) / Seconds(start);
  char line[256];
  std::snprintf(line, sizeof(line), "%.0f GetWithProof+verify/s; verification alone %.0f proofs/s",
                both_rate, verify_rate);
  run.Report(line, Conditions("off"));
}

VELLUM_BENCHMARK(logverify, "Verify() of the log: chain links, hashes, share sets, accumulator") {
  EnsureLoaded();
  LedgerBenchState& s = State();
  AuditOptions options;
  options.log_only = true;
  Clock::time_point start = Clock::now();
  auto report = s.db->Verify(options);
  const double seconds = Seconds(start);
  VELLUM_CHECK(report.ok() && report->ok());
  char line[256];
  std::snprintf(line, sizeof(line), "%.0f entries/s (%llu entries of %llu puts each, %.2f s)",
                static_cast<double>(report->log_entries) / seconds,
                static_cast<unsigned long long>(report->log_entries),
                static_cast<unsigned long long>(FLAGS_batch), seconds);
  run.Report(line, Conditions("off"));
}

}  // namespace vellum::bench
