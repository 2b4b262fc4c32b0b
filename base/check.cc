// Copyright (c) Vellum authors.

#include "vellum/check.h"

#include <cstdio>
#include <cstdlib>

namespace vellum::internal {

void CheckFailed(const char* file, int line, const char* condition, const char* message) {
  // stderr is unbuffered; one fprintf keeps the report on one line even with threads.
  if (message != nullptr) {
    std::fprintf(stderr, "vellum: check failed at %s:%d: %s (%s)\n", file, line, condition,
                 message);
  } else {
    std::fprintf(stderr, "vellum: check failed at %s:%d: %s\n", file, line, condition);
  }
  std::abort();
}

}  // namespace vellum::internal
