// Copyright (c) Vellum authors.
//
// The shape of vellum-bench, after RocksDB's db_bench: named benchmarks chosen with
// --benchmarks=a,b,c, each printing one line per measured configuration with its
// conditions beside the figure. A benchmark registers itself with
// VELLUM_BENCHMARK(name, "description") and uses a BenchRun to time its loop.

#ifndef VELLUM_BENCH_BENCH_HARNESS_H_
#define VELLUM_BENCH_BENCH_HARNESS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vellum::bench {

// Timing and reporting for one benchmark invocation.
class BenchRun {
 public:
  explicit BenchRun(std::string name) : name_(std::move(name)) {}

  // Calls `op(i)` for i = 0, 1, ... until --num operations (or, with --num=0, until
  // --seconds have passed), then prints
  //   NAME  : X micros/op  Y ops/sec  [Z MB/s]  (conditions)
  // `bytes_per_op` > 0 adds the MB/s column (1 MB = 10^6 bytes).
  void Measure(const std::string& conditions, uint64_t bytes_per_op,
               const std::function<void(uint64_t)>& op);

  // Prints an extra result line that is not a rate (e.g. a size distribution).
  void Report(const std::string& what, const std::string& conditions);

 private:
  std::string name_;
};

struct Benchmark {
  std::string name;
  std::string description;
  std::function<void(BenchRun&)> run;
};

std::vector<Benchmark>& Registry();

struct Registrar {
  Registrar(const char* name, const char* description, void (*fn)(BenchRun&));
};

// Parses a comma-separated list of byte sizes ("64,4096"); aborts with a message on
// a malformed list (flags are checked before any benchmark runs).
std::vector<size_t> ParseSizes(const std::string& list);

// Runs the benchmarks named in --benchmarks, printing the machine header first, then
// the functions given to AtBenchmarksEnd (last given, first run). Returns the process
// exit code.
int RunBenchmarks(int argc, char** argv);

// Registers `fn` to run after the last benchmark (to close databases and remove
// scratch directories shared between benchmarks).
void AtBenchmarksEnd(std::function<void()> fn);

// The state the benchmarks of one file share (their databases, loaded once): created
// on first use and deleted once every benchmark has run, which closes the databases
// and removes a scratch directory while RocksDB and OpenSSL are still whole. Not a
// static: its destructor would run after their exit handlers.
template <typename T>
T& SharedState() {
  static T* state = nullptr;
  if (state == nullptr) {
    state = new T();
    AtBenchmarksEnd([] {
      delete state;
      state = nullptr;
    });
  }
  return *state;
}

}  // namespace vellum::bench

#define VELLUM_BENCHMARK(fn, description)                                  \
  static void fn(::vellum::bench::BenchRun& run);                          \
  static ::vellum::bench::Registrar registrar_##fn(#fn, description, &fn); \
  static void fn(::vellum::bench::BenchRun& run)

#endif  // VELLUM_BENCH_BENCH_HARNESS_H_
