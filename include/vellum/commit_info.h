// Copyright (c) Vellum authors.
//
// CommitInfo: what a commit produced.
//
// Thread safety: a value type.

#ifndef VELLUM_COMMIT_INFO_H_
#define VELLUM_COMMIT_INFO_H_

#include <cstdint>

#include "vellum/hash.h"

namespace vellum {

struct CommitInfo {
  uint64_t version = 0;    // the new ledger version
  Hash state_root{};       // the state root after the commit
  uint64_t log_index = 0;  // the log entry that records it (1-based)
  Hash entry_hash{};       // that entry's hash
};

}  // namespace vellum

#endif  // VELLUM_COMMIT_INFO_H_
