// Copyright (c) Vellum authors.
//
// vellum-bench: see bench/bench_harness.h and docs/PERFORMANCE.md.

#include "bench/bench_harness.h"

int main(int argc, char** argv) { return vellum::bench::RunBenchmarks(argc, argv); }
