// Copyright (c) Vellum authors.
//
// Small helpers the storage benchmarks share: wall and CPU clocks, a scratch
// directory, and the options of the raw RocksDB baseline.

#ifndef VELLUM_BENCH_BENCH_UTIL_H_
#define VELLUM_BENCH_BENCH_UTIL_H_

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "vellum/check.h"

namespace vellum::bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// CPU seconds used so far by every thread of the process (RocksDB's background flushes
// and compactions included): less sensitive than wall time to other load.
inline double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

// `dir` if given (emptied of `subdirs`' old contents by the caller), else a fresh
// temporary directory.
inline std::string ScratchDir(const std::string& dir) {
  if (!dir.empty()) {
    std::filesystem::create_directories(dir);
    return dir;
  }
  char tmpl[] = "/tmp/vellum-bench-XXXXXX";
  VELLUM_CHECK(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

// A plainly configured RocksDB: defaults plus what any serious user sets — a block
// cache, a Bloom filter, and a 64 MiB memtable.
inline rocksdb::Options RawRocksOptions(size_t cache_bytes) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.write_buffer_size = 64 << 20;
  options.level_compaction_dynamic_level_bytes = true;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

}  // namespace vellum::bench

#endif  // VELLUM_BENCH_BENCH_UTIL_H_
