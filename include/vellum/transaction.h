// Copyright (c) Vellum authors.
//
// Transaction: reads and writes across tables with read-your-writes and optimistic
// concurrency. A transaction reads the snapshot of the version current when it
// began, plus its own writes. Commit succeeds only if no key it read or wrote (and
// no table it used) was changed by a commit after its snapshot; otherwise it
// returns Aborted and writes nothing — retry with a new transaction.
//
// Thread safety: one transaction is used by one thread. Any number of transactions
// may run concurrently. A transaction must not outlive its DB.

#ifndef VELLUM_TRANSACTION_H_
#define VELLUM_TRANSACTION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vellum/commit_info.h"
#include "vellum/options.h"
#include "vellum/result.h"
#include "vellum/status.h"
#include "vellum/write_batch.h"

namespace vellum {

class Transaction {
 public:
  virtual ~Transaction() = default;

  // The version this transaction reads.
  virtual uint64_t snapshot_version() const = 0;

  // The value of `key` as this transaction sees it (its own writes first, then the
  // verified snapshot); std::nullopt when absent. NotFound for an unknown table.
  virtual Result<std::optional<std::string>> Get(std::string_view table, std::string_view key) = 0;

  virtual void Put(std::string_view table, std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view table, std::string_view key) = 0;
  virtual void CreateTable(std::string_view table) = 0;
  virtual void DropTable(std::string_view table) = 0;

  // Commits the writes as one version. Aborted on a conflict; a transaction with no
  // writes commits nothing and returns the snapshot's CommitInfo. After Commit (either
  // outcome) the transaction is finished; further calls are FailedPrecondition.
  virtual Result<CommitInfo> Commit(const WriteOptions& options = {}) = 0;
  // Drops the writes.
  virtual void Rollback() = 0;
};

}  // namespace vellum

#endif  // VELLUM_TRANSACTION_H_
