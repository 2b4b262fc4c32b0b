// Copyright (c) Vellum authors.

#include "bench/bench_harness.h"

#include <gflags/gflags.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "bench/bench_flags.h"

DEFINE_string(benchmarks,
              "sha256,keccak256,sha3_256_openssl,keyed_hash,aes_siv_seal,aes_siv_open,"
              "xchacha_seal,xchacha_open,ed25519_sign,ed25519_verify,shamir_split,shamir_combine",
              "Comma-separated list of benchmarks to run, in order (see --list).");
DEFINE_bool(list, false, "List the benchmarks and exit.");
DEFINE_uint64(num, 0,
              "Crypto benchmarks: operations per measurement (0: run each for --seconds). "
              "Trie benchmarks: number of keys to load (0: 1,000,000).");
DEFINE_double(seconds, 1.0, "Time per measurement when --num=0.");
DEFINE_uint64(seed, 301, "Seed for generated inputs (keys, messages).");
DEFINE_string(sizes, "64,4096", "Message sizes in bytes for the hash and cipher benchmarks.");
DEFINE_int32(shamir_threshold, 3, "Threshold k for the Shamir benchmarks.");
DEFINE_int32(shamir_shares, 5, "Number of shares n for the Shamir benchmarks.");
DEFINE_uint64(shamir_secret_size, 32, "Secret size in bytes for the Shamir benchmarks.");

namespace vellum::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

void PrintHeader() {
  const std::time_t now = std::time(nullptr);
  char date[64];
  std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  std::printf("vellum-bench\n");
  std::printf("Date:       %s\n", date);
  std::printf("CPU:        %u x %s\n", std::thread::hardware_concurrency(), CpuModel().c_str());
#if defined(__clang__)
  std::printf("Compiler:   clang %s\n", __clang_version__);
#elif defined(__GNUC__)
  std::printf("Compiler:   gcc %s\n", __VERSION__);
#endif
#ifdef NDEBUG
  std::printf("Build:      optimized (NDEBUG)\n");
#else
  std::printf("Build:      UNOPTIMIZED (assertions on): figures are not representative\n");
#endif
#ifdef VELLUM_WITH_JEMALLOC
  std::printf("Allocator:  jemalloc (this process, raw RocksDB baseline included)\n");
#else
  std::printf("Allocator:  the C library's malloc\n");
#endif
  if (FLAGS_num == 0) {
    std::printf("Crypto:     %.2f s of single-threaded operations per figure\n", FLAGS_seconds);
  } else {
    std::printf("Crypto:     %llu single-threaded operations per figure\n",
                static_cast<unsigned long long>(FLAGS_num));
  }
  std::printf("------------------------------------------------------------------------\n");
}

}  // namespace

std::vector<Benchmark>& Registry() {
  static auto* registry = new std::vector<Benchmark>();
  return *registry;
}

Registrar::Registrar(const char* name, const char* description, void (*fn)(BenchRun&)) {
  Registry().push_back({name, description, fn});
}

void BenchRun::Measure(const std::string& conditions, uint64_t bytes_per_op,
                       const std::function<void(uint64_t)>& op) {
  // A short warm-up so that first-touch costs (page faults, lazy init) do not count.
  for (uint64_t i = 0; i < 16; ++i) op(i);

  uint64_t done = 0;
  const Clock::time_point start = Clock::now();
  double elapsed_s = 0;
  if (FLAGS_num > 0) {
    for (; done < FLAGS_num; ++done) op(done);
    elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  } else {
    // Check the clock every `batch` operations, growing the batch so the clock read
    // costs nothing measurable.
    uint64_t batch = 1;
    while (elapsed_s < FLAGS_seconds) {
      for (uint64_t i = 0; i < batch; ++i) op(done + i);
      done += batch;
      if (batch < (1u << 16)) batch *= 2;
      elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
    }
  }
  const double ops_per_s = static_cast<double>(done) / elapsed_s;
  std::printf("%-18s: %11.3f micros/op %12.0f ops/sec", name_.c_str(), 1e6 / ops_per_s, ops_per_s);
  if (bytes_per_op > 0) {
    std::printf(" %9.1f MB/s", ops_per_s * static_cast<double>(bytes_per_op) / 1e6);
  }
  std::printf("  (%s)\n", conditions.c_str());
  std::fflush(stdout);
}

void BenchRun::Report(const std::string& what, const std::string& conditions) {
  std::printf("%-18s: %s  (%s)\n", name_.c_str(), what.c_str(), conditions.c_str());
  std::fflush(stdout);
}

std::vector<size_t> ParseSizes(const std::string& list) {
  std::vector<size_t> sizes;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
    if (item.empty() || end == nullptr || *end != '\0' || v > (1ull << 30)) {
      std::fprintf(stderr, "vellum-bench: --sizes: '%s' is not a size in bytes (max 1 GiB)\n",
                   item.c_str());
      std::exit(2);
    }
    sizes.push_back(static_cast<size_t>(v));
  }
  return sizes;
}

namespace {

std::vector<std::function<void()>>& EndActions() {
  static std::vector<std::function<void()>> actions;
  return actions;
}

}  // namespace

void AtBenchmarksEnd(std::function<void()> fn) { EndActions().push_back(std::move(fn)); }

int RunBenchmarks(int argc, char** argv) {
  gflags::SetUsageMessage(
      "vellum-bench --benchmarks=NAME[,NAME...] [flags]\n"
      "Measures Vellum's building blocks; every figure is printed with its conditions.\n"
      "Run with --list to see the benchmarks.");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (argc > 1) {
    std::fprintf(stderr, "vellum-bench: unexpected argument '%s' (flags start with --)\n", argv[1]);
    return 2;
  }
  if (FLAGS_list) {
    for (const Benchmark& b : Registry()) {
      std::printf("%-18s %s\n", b.name.c_str(), b.description.c_str());
    }
    return 0;
  }
  if (FLAGS_num == 0 && !(FLAGS_seconds > 0)) {
    std::fprintf(stderr, "vellum-bench: --seconds must be positive when --num=0\n");
    return 2;
  }

  // Resolve every name before running anything, so a typo fails fast.
  std::vector<const Benchmark*> chosen;
  std::stringstream names(FLAGS_benchmarks);
  std::string name;
  while (std::getline(names, name, ',')) {
    if (name.empty()) continue;
    const Benchmark* found = nullptr;
    for (const Benchmark& b : Registry()) {
      if (b.name == name) found = &b;
    }
    if (found == nullptr) {
      std::fprintf(stderr, "vellum-bench: unknown benchmark '%s' (see --list)\n", name.c_str());
      return 2;
    }
    chosen.push_back(found);
  }
  ParseSizes(FLAGS_sizes);  // validates the flag before the first benchmark

  PrintHeader();
  for (const Benchmark* b : chosen) {
    BenchRun run(b->name);
    b->run(run);
  }
  std::vector<std::function<void()>>& end = EndActions();
  for (auto it = end.rbegin(); it != end.rend(); ++it) (*it)();
  end.clear();
  return 0;
}

}  // namespace vellum::bench
