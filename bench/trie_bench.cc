// Copyright (c) Vellum authors.
//
// Trie benchmarks, in db_bench's sequence style: trie_update loads --num random keys
// in batches of --batch into a trie on RocksDB (a RocksNodeStore in a fresh
// directory) with pipelined commits (Trie::CommitPipelined: the store write of one
// batch overlaps with the preparation of the next; --pipeline=false for plain
// Commit), and trie_get / trie_prove / trie_verify then work on that trie. Each runs
// the honest baseline in the same process right after: raw RocksDB writing the same
// key/value pairs with a plain WriteBatch, and reading them with Get.

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_flags.h"
#include "bench/bench_harness.h"
#include "trie/rocks_node_store.h"
#include "trie/trie.h"
#include "vellum/check.h"

DEFINE_string(scheme, "native", "Trie node scheme: native or ethereum.");
DEFINE_uint64(batch, 1000, "Keys per commit for trie_update (and per WriteBatch for RocksDB).");
DEFINE_uint64(cache_mb, 256,
              "Memory for caches: the trie's verified-node cache and RocksDB's block cache "
              "each get this much (the baseline's block cache too).");
DEFINE_uint64(key_size, 32, "Key size in bytes.");
DEFINE_uint64(value_size, 32, "Value size in bytes.");
DEFINE_uint64(reads, 200000, "Operations for trie_get, trie_prove and trie_verify.");
DEFINE_int32(hash_threads, 2, "Worker threads for hashing subtries of large batches (0: none).");
DEFINE_string(db, "", "Directory for the benchmark databases (default: a fresh temp dir).");
DEFINE_bool(pipeline, true,
            "trie_update with Trie::CommitPipelined (each batch's store write overlaps the "
            "next batch's preparation); false: one Trie::Commit after another.");
DEFINE_int64(max_embedded_leaf_bytes, -1,
             "TrieOptions::max_embedded_leaf_bytes (-1: the default; 0: every leaf on its own).");

namespace vellum::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// CPU seconds used so far by every thread of the process (RocksDB's background flushes
// and compactions included): less sensitive than wall time to other load on the
// machine.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

// Everything the trie benchmarks share: the keys, the trie and the baseline database.
struct TrieBenchState {
  std::string dir;
  std::vector<Bytes> keys;
  std::vector<Bytes> values;
  std::unique_ptr<trie::RocksNodeStore> store;
  std::unique_ptr<trie::TaskRunner> runner;
  std::unique_ptr<trie::Trie> trie;
  std::unique_ptr<rocksdb::DB> raw;
  bool loaded = false;

  ~TrieBenchState() {
    trie.reset();
    store.reset();
    raw.reset();
    if (FLAGS_db.empty() && !dir.empty()) std::filesystem::remove_all(dir);
  }
};

TrieBenchState& State() { return SharedState<TrieBenchState>(); }

trie::TrieScheme Scheme() {
  auto scheme = trie::ParseTrieScheme(FLAGS_scheme);
  if (!scheme.ok()) {
    std::fprintf(stderr, "vellum-bench: --scheme: %s\n", scheme.status().message().c_str());
    std::exit(2);
  }
  return *scheme;
}

std::string Conditions() {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "%s scheme, %zu keys, %llu-byte keys, %llu-byte values, batch %llu, sync off, "
                "cache %llu MiB, hash threads %d",
                FLAGS_scheme.c_str(), State().keys.size(),
                static_cast<unsigned long long>(FLAGS_key_size),
                static_cast<unsigned long long>(FLAGS_value_size),
                static_cast<unsigned long long>(FLAGS_batch),
                static_cast<unsigned long long>(FLAGS_cache_mb), FLAGS_hash_threads);
  return buf;
}

rocksdb::Options RawOptions() {
  // A plainly configured RocksDB: defaults plus what any serious user sets — a block
  // cache of the same size, a bloom filter, and the same memtable size as the trie's.
  rocksdb::Options options;
  options.create_if_missing = true;
  options.write_buffer_size = 64 << 20;
  options.level_compaction_dynamic_level_bytes = true;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(FLAGS_cache_mb << 20);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

void Setup() {
  TrieBenchState& s = State();
  if (!s.dir.empty()) return;
  if (FLAGS_db.empty()) {
    char tmpl[] = "/tmp/vellum-bench-XXXXXX";
    VELLUM_CHECK(mkdtemp(tmpl) != nullptr);
    s.dir = tmpl;
  } else {
    s.dir = FLAGS_db;
    std::filesystem::remove_all(s.dir + "/trie");
    std::filesystem::remove_all(s.dir + "/raw");
    std::filesystem::create_directories(s.dir);
  }
  trie::RocksNodeStoreOptions store_options;
  store_options.block_cache_bytes = FLAGS_cache_mb << 20;
  auto store = trie::RocksNodeStore::Open(store_options, s.dir + "/trie");
  VELLUM_CHECK_MSG(store.ok(), "cannot open the trie's RocksDB");
  s.store = std::move(store).value();
  if (FLAGS_hash_threads > 0) s.runner = trie::NewThreadPoolTaskRunner(FLAGS_hash_threads);
  trie::TrieOptions options;
  options.scheme = Scheme();
  options.cache_bytes = FLAGS_cache_mb << 20;
  options.task_runner = s.runner.get();
  if (FLAGS_max_embedded_leaf_bytes >= 0) {
    options.max_embedded_leaf_bytes = static_cast<size_t>(FLAGS_max_embedded_leaf_bytes);
  }
  auto t = trie::Trie::Open(options, s.store.get());
  VELLUM_CHECK(t.ok());
  s.trie = std::move(t).value();
  rocksdb::DB* raw = nullptr;
  VELLUM_CHECK(rocksdb::DB::Open(RawOptions(), s.dir + "/raw", &raw).ok());
  s.raw.reset(raw);

  const uint64_t num = FLAGS_num == 0 ? 1000000 : FLAGS_num;
  std::mt19937_64 rng(FLAGS_seed);
  s.keys.resize(num);
  s.values.resize(num);
  for (uint64_t i = 0; i < num; ++i) {
    s.keys[i].resize(FLAGS_key_size);
    s.values[i].resize(FLAGS_value_size);
    for (auto& b : s.keys[i]) b = static_cast<uint8_t>(rng());
    for (auto& b : s.values[i]) b = static_cast<uint8_t>(rng());
  }
}

// Returns once `db` has no flush or compaction running or pending.
void WaitForBackgroundWork(rocksdb::DB* db) {
  const char* const properties[] = {"rocksdb.mem-table-flush-pending", "rocksdb.compaction-pending",
                                    "rocksdb.num-running-flushes",
                                    "rocksdb.num-running-compactions"};
  for (;;) {
    bool busy = false;
    for (const char* property : properties) {
      uint64_t value = 0;
      if (db->GetIntProperty(property, &value) && value != 0) busy = true;
    }
    if (!busy) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Load(BenchRun& run) {
  Setup();
  TrieBenchState& s = State();
  VELLUM_CHECK_MSG(!s.loaded, "trie_update runs once per process");
  const size_t n = s.keys.size();
  const bool show_progress = isatty(STDERR_FILENO) != 0;

  // Trie: one commit per batch. A pipelined commit's future is ready once the next
  // commit has been submitted (or the pipeline flushed), so the loop never blocks on
  // the write it has just started.
  size_t nodes = 0, bytes = 0;
  double cpu_start = CpuSeconds();
  Clock::time_point start = Clock::now();
  uint64_t version = 0;
  std::future<Result<trie::CommitInfo>> previous;
  auto count = [&](const Result<trie::CommitInfo>& info) {
    VELLUM_CHECK_MSG(info.ok(), "trie commit failed during the benchmark");
    nodes += info->nodes_written;
    bytes += info->bytes_written;
  };
  for (size_t i = 0; i < n; i += FLAGS_batch) {
    std::vector<trie::TrieOp> ops;
    const size_t end = std::min(n, i + FLAGS_batch);
    ops.reserve(end - i);
    for (size_t j = i; j < end; ++j) ops.push_back({s.keys[j], s.values[j]});
    ++version;
    if (!FLAGS_pipeline) {
      count(s.trie->Commit(version, std::move(ops)));
    } else {
      std::future<Result<trie::CommitInfo>> current =
          s.trie->CommitPipelined(version, std::move(ops));
      if (previous.valid()) count(previous.get());
      previous = std::move(current);
    }
    if (show_progress && version % 50 == 0) {
      std::fprintf(stderr, "\r... trie %zu of %zu keys", end, n);
    }
  }
  VELLUM_CHECK_MSG(s.trie->FlushPipeline().ok(), "trie commit failed during the benchmark");
  if (previous.valid()) count(previous.get());
  const double trie_s = Seconds(start);
  const double trie_cpu_s = CpuSeconds() - cpu_start;
  // Let the trie's database finish its flushes and compactions (untimed) so that they
  // do not run during, and slow down, the baseline.
  const Clock::time_point drain_start = Clock::now();
  WaitForBackgroundWork(s.store->db());
  const double drain_s = Seconds(drain_start);

  // Baseline: the same pairs, the same batches, plain WriteBatches.
  cpu_start = CpuSeconds();
  start = Clock::now();
  for (size_t i = 0; i < n; i += FLAGS_batch) {
    rocksdb::WriteBatch batch;
    const size_t end = std::min(n, i + FLAGS_batch);
    for (size_t j = i; j < end; ++j) {
      batch.Put(
          rocksdb::Slice(reinterpret_cast<const char*>(s.keys[j].data()), s.keys[j].size()),
          rocksdb::Slice(reinterpret_cast<const char*>(s.values[j].data()), s.values[j].size()));
    }
    VELLUM_CHECK(s.raw->Write(rocksdb::WriteOptions(), &batch).ok());
  }
  const double raw_s = Seconds(start);
  const double raw_cpu_s = CpuSeconds() - cpu_start;
  if (show_progress) std::fprintf(stderr, "\r%60s\r", "");
  s.loaded = true;

  const double trie_rate = static_cast<double>(n) / trie_s;
  const double raw_rate = static_cast<double>(n) / raw_s;
  char line[256];
  std::snprintf(line, sizeof(line),
                "%.0f updates/s (%.1f s, %.1f CPU s, then %.1f s of background work); %.1f "
                "nodes and %.0f bytes written per key",
                trie_rate, trie_s, trie_cpu_s, drain_s,
                static_cast<double>(nodes) / static_cast<double>(n),
                static_cast<double>(bytes) / static_cast<double>(n));
  run.Report(line, Conditions() + (FLAGS_pipeline
                                       ? ", pipelined commits (write of batch N overlaps batch N+1)"
                                       : ", one commit after another (--pipeline=false)"));
  std::snprintf(line, sizeof(line), "%.0f pairs/s (%.1f s, %.1f CPU s); trie/raw = %.2f", raw_rate,
                raw_s, raw_cpu_s, trie_rate / raw_rate);
  run.Report(std::string("raw RocksDB ") + line, Conditions());
}

void EnsureLoaded(BenchRun& run) {
  if (!State().loaded) {
    std::printf("(trie_update was not run first: loading now)\n");
    BenchRun load("trie_update");
    Load(load);
  }
  (void)run;
}

std::vector<size_t> ReadOrder() {
  std::mt19937_64 rng(FLAGS_seed + 1);
  std::vector<size_t> order(FLAGS_reads);
  for (auto& i : order) i = rng() % State().keys.size();
  return order;
}

}  // namespace

VELLUM_BENCHMARK(trie_update,
                 "Load --num random keys into a trie in --batch commits; vs raw RocksDB") {
  Load(run);
}

VELLUM_BENCHMARK(trie_get, "Verified random gets at the latest version; vs raw RocksDB Get") {
  EnsureLoaded(run);
  TrieBenchState& s = State();
  const std::vector<size_t> order = ReadOrder();
  const uint64_t version = s.trie->LatestVersion();
  // Warm both sides the same way: one pass over the read set, untimed.
  for (size_t i : order) VELLUM_CHECK(s.trie->Get(version, s.keys[i]).ok());
  Clock::time_point start = Clock::now();
  for (size_t i : order) {
    auto got = s.trie->Get(version, s.keys[i]);
    VELLUM_CHECK(got.ok() && got->has_value());
  }
  const double trie_rate = static_cast<double>(order.size()) / Seconds(start);
  std::string value;
  auto raw_get = [&](size_t i) {
    return s.raw->Get(
        rocksdb::ReadOptions(),
        rocksdb::Slice(reinterpret_cast<const char*>(s.keys[i].data()), s.keys[i].size()), &value);
  };
  for (size_t i : order) VELLUM_CHECK(raw_get(i).ok());
  start = Clock::now();
  for (size_t i : order) VELLUM_CHECK(raw_get(i).ok());
  const double raw_rate = static_cast<double>(order.size()) / Seconds(start);
  char line[256];
  std::snprintf(line, sizeof(line),
                "%.0f verified gets/s; raw RocksDB %.0f gets/s; trie/raw = %.2f", trie_rate,
                raw_rate, trie_rate / raw_rate);
  run.Report(line,
             Conditions() + ", " + std::to_string(order.size()) + " random present keys, warm");
}

VELLUM_BENCHMARK(trie_prove, "Proofs of random present and absent keys: rate and size") {
  EnsureLoaded(run);
  TrieBenchState& s = State();
  const std::vector<size_t> order = ReadOrder();
  const uint64_t version = s.trie->LatestVersion();
  std::mt19937_64 rng(FLAGS_seed + 2);
  std::vector<size_t> sizes;
  sizes.reserve(order.size());
  Clock::time_point start = Clock::now();
  for (size_t n = 0; n < order.size(); ++n) {
    Bytes key = s.keys[order[n]];
    if (n % 2 == 1) {
      for (auto& b : key) b = static_cast<uint8_t>(rng());  // (almost surely) absent
    }
    auto proof = s.trie->Prove(version, key);
    VELLUM_CHECK(proof.ok());
    sizes.push_back(proof->ByteSize());
  }
  const double rate = static_cast<double>(order.size()) / Seconds(start);
  std::sort(sizes.begin(), sizes.end());
  double mean = 0;
  for (size_t v : sizes) mean += static_cast<double>(v);
  mean /= static_cast<double>(sizes.size());
  char line[256];
  std::snprintf(line, sizeof(line),
                "%.0f proofs/s; proof bytes mean %.0f, p50 %zu, p95 %zu, max %zu", rate, mean,
                sizes[sizes.size() / 2], sizes[sizes.size() * 95 / 100], sizes.back());
  run.Report(line, Conditions() + ", half present, half absent keys");
}

VELLUM_BENCHMARK(trie_verify, "Standalone proof verification on one core") {
  EnsureLoaded(run);
  TrieBenchState& s = State();
  const std::vector<size_t> order = ReadOrder();
  const uint64_t version = s.trie->LatestVersion();
  const crypto::Hash256 root = s.trie->LatestRoot().hash;
  const size_t count = std::min<size_t>(order.size(), 20000);
  std::vector<trie::Proof> proofs;
  for (size_t n = 0; n < count; ++n) {
    auto proof = s.trie->Prove(version, s.keys[order[n]]);
    VELLUM_CHECK(proof.ok());
    proofs.push_back(std::move(proof).value());
  }
  const trie::TrieScheme scheme = Scheme();
  run.Measure(Conditions() + ", " + std::to_string(count) + " distinct present-key proofs", 0,
              [&](uint64_t i) {
                const size_t n = i % count;
                auto result = trie::VerifyProof(scheme, root, s.keys[order[n]], proofs[n]);
                VELLUM_CHECK(result.ok() && result->has_value());
              });
}

}  // namespace vellum::bench
