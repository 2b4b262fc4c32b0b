// Copyright (c) Vellum authors.
//
// gflags shared by the benchmark files (defined in bench_harness.cc).

#ifndef VELLUM_BENCH_BENCH_FLAGS_H_
#define VELLUM_BENCH_BENCH_FLAGS_H_

#include <gflags/gflags.h>

DECLARE_string(benchmarks);
DECLARE_uint64(num);
DECLARE_double(seconds);
DECLARE_uint64(seed);
DECLARE_string(sizes);
DECLARE_int32(shamir_threshold);
DECLARE_int32(shamir_shares);
DECLARE_uint64(shamir_secret_size);

#endif  // VELLUM_BENCH_BENCH_FLAGS_H_
