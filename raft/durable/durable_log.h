// Copyright (c) Vellum authors.
//
// DurableLog: the Raft log a vellum-node keeps on disk. A raft::Storage whose state —
// the entries after the last snapshot, the hard state, the snapshot and the membership
// to restart with — lives in a RocksDB database of its own (a directory inside the
// node's data directory), with an in-memory mirror that serves the core's reads with
// the semantics of MemoryStorage. The on-disk format, what Open verifies and the crash
// semantics are in docs/formats/raft-log-store.md.
//
// Writes: Persist stores the durable part of one Ready (snapshot, entries after
// truncating the conflicting suffix, hard state) in one atomic RocksDB write batch;
// the mirror changes only after the write succeeded. A failed write leaves the log
// refusing every later write (the disk may or may not hold it): restart and reopen.
// Writes refuse (InvalidArgument, nothing written) anything Open would reject on the
// next start — a gap, a decreasing term, a commit index past the end, a broken seal
// chain — so an accepted write never makes the log unopenable.
//
// Thread safety: internally locked, like MemoryStorage. Writers are serialized among
// themselves; the core's reads never wait for a write's sync (only for the mirror's
// update after it).

#ifndef VELLUM_RAFT_DURABLE_DURABLE_LOG_H_
#define VELLUM_RAFT_DURABLE_DURABLE_LOG_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "raft/storage.h"
#include "raft/types.h"
#include "vellum/env.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

namespace vellum::raft {

struct DurableLogOptions {
  // The file system (and clock) RocksDB runs on; nullptr means Env::Default() (POSIX).
  // Not owned; must outlive the log.
  Env* env = nullptr;
  // Create an empty log when `dir` holds none; otherwise Open is NotFound.
  bool create_if_missing = true;
  // RocksDB's memtable size (at least 64 KiB). The log is small and written
  // sequentially; tests make this tiny to exercise flushes and compactions.
  size_t write_buffer_bytes = 8 << 20;
};

class DurableLog final : public Storage {
 public:
  // Opens (or creates) the log in `dir`. Everything read back is verified before use:
  // the format record; every record's key shape and value encoding; entries contiguous
  // from the snapshot's index + 1, each stored under its own index; terms never
  // decreasing (from the snapshot's term on); the hard state's commit <= the last
  // index; and, for each entry carrying a seal, that the seal's previous-entry hash is
  // the EntryHash of the entry before it (for the first entry after a snapshot: the
  // snapshot's last_entry_hash when that is non-empty; with no snapshot, the genesis
  // hash). Errors:
  //   Corruption          a check failed; the message names the record (key) and what;
  //   Unavailable         the directory is open already (RocksDB's LOCK is held by this
  //                       or another process);
  //   NotFound            no log in `dir` and !create_if_missing;
  //   FailedPrecondition  `dir` holds something that is not a Vellum raft log;
  //   IOError             reading failed.
  static Result<std::unique_ptr<DurableLog>> Open(const std::string& dir,
                                                  const DurableLogOptions& options);
  ~DurableLog() override;
  DurableLog(const DurableLog&) = delete;
  DurableLog& operator=(const DurableLog&) = delete;

  // --- Storage: served from the mirror, with MemoryStorage's semantics ---------------
  // The hard state and the membership last given to SetConfState (or carried by the
  // last snapshot Persist received).
  InitialState GetInitialState() const override;
  Result<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const override;
  Result<uint64_t> Term(uint64_t index) const override;
  uint64_t FirstIndex() const override;
  uint64_t LastIndex() const override;
  // The snapshot held, with the membership it was made with (SetConfState does not
  // change it: the snapshot describes its own index).
  Result<Snapshot> GetSnapshot() const override;

  // --- Writes ----------------------------------------------------------------------
  // Persists one Ready's durable part in one RocksDB write batch, synced when `sync`
  // (Ready::must_sync): first `snapshot` when not empty (it replaces the whole log and
  // the membership reported by GetInitialState; its metadata is kept as given), then
  // `entries` (those at or before the snapshot's index are ignored; stored entries at
  // or after the first new index — a conflicting suffix — are deleted first), then
  // `hard_state` when set. Errors, nothing written: FailedPrecondition for a snapshot
  // not newer than the one held; InvalidArgument for input that would break the log
  // (see above). IOError when the write failed.
  Status Persist(const std::optional<HardState>& hard_state, const std::vector<Entry>& entries,
                 const Snapshot& snapshot, bool sync);
  // Sets the membership GetInitialState reports after a restart: the conf state in
  // force at the last applied index (the node calls this when it applies a membership
  // change). One synced write. InvalidArgument for ids that are not sorted, unique and
  // disjoint.
  Status SetConfState(const ConfState& conf_state);
  // Records a snapshot of the application's state at `index` with `conf_state` (the
  // membership at `index`) and `data`, with the term and EntryHash of the entry at
  // `index` (as MemoryStorage::CreateSnapshot does), and deletes the entries up to and
  // including `index` (log compaction: FirstIndex() becomes index + 1, as after
  // MemoryStorage::Compact(index)). One synced write. Does not change the membership
  // GetInitialState reports. FailedPrecondition if `index` is not newer than the
  // snapshot held; InvalidArgument if it is past the last index.
  Status CreateSnapshotAndCompact(uint64_t index, const ConfState& conf_state, Bytes data);

  const std::string& dir() const { return dir_; }

 private:
  class Rocks;
  struct State {
    HardState hard_state;
    ConfState conf_state;  // reported by GetInitialState
    Snapshot snapshot;
    // entries[0] holds the index and term of the snapshot (0 and 0 without one); the
    // log follows it, as in MemoryStorage.
    std::vector<Entry> entries;
  };

  DurableLog(std::string dir, std::unique_ptr<Rocks> rocks, State state);
  // Writes `batch`; on failure the log stops accepting writes. Needs write_mu_.
  Status Write(rocksdb::WriteBatch* batch, bool sync, const char* what);

  const std::string dir_;
  // Writers hold write_mu_ for the whole write (so they see a stable mirror without
  // mu_) and take mu_ only to update the mirror; readers take mu_.
  std::mutex write_mu_;
  std::unique_ptr<Rocks> rocks_;  // guarded by write_mu_
  Status write_error_;            // guarded by write_mu_; sticky
  mutable std::mutex mu_;
  State state_;  // written with both locks held
};

}  // namespace vellum::raft

#endif  // VELLUM_RAFT_DURABLE_DURABLE_LOG_H_
