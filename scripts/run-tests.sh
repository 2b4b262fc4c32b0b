#!/usr/bin/env bash
# Runs every test Vellum has: formatting, a release build with warnings as errors,
# an AddressSanitizer+UndefinedBehaviorSanitizer build, and a short run of every
# libFuzzer target. Each build has its own directory under build/.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${VELLUM_JOBS:-2}
fuzz_seconds=${VELLUM_FUZZ_SECONDS:-30}
step() { printf '\n==== %s\n' "$*"; }

step "clang-format check"
git ls-files --cached --others --exclude-standard '*.h' '*.cc' | xargs clang-format --dry-run --Werror
echo "formatting clean"

step "release build (warnings as errors)"
cmake --preset release
cmake --build --preset release -j "$jobs"

step "address+undefined sanitizer build"
cmake --preset asan
cmake --build --preset asan -j "$jobs"

if command -v clang++ >/dev/null; then
  step "fuzz targets (clang, libFuzzer), ${fuzz_seconds}s each"
  cmake --preset fuzz
  cmake --build --preset fuzz -j "$jobs"
  for target in build/fuzz/fuzz/*_fuzz; do
    name=$(basename "$target" _fuzz)
    corpus=$(mktemp -d)
    if [ -d "fuzz/corpus/$name" ]; then cp -r "fuzz/corpus/$name/." "$corpus/"; fi
    "$target" -max_total_time="$fuzz_seconds" -print_final_stats=1 "$corpus" 2>&1 | tail -n 12
    rm -rf "$corpus"
  done
else
  step "fuzz targets skipped: clang++ not installed"
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

step "tests under address+undefined sanitizers"
# The replicated-ledger simulation runs 500 seeds in the release build below; under
# the sanitizers (about 10x slower) 100 seeds keep CI inside its time budget.
VELLUM_NODE_SIM_SEEDS=${VELLUM_NODE_SIM_SEEDS_ASAN:-10} ctest --preset asan -j "$jobs"

step "tests, release build"
ctest --preset release -j "$jobs"
