// Copyright (c) Vellum authors.
//
// LedgerImpl::Checkpoint and SyncWrites: a consistent copy of the ledger for a node
// that must hand its ledger to another (Raft snapshot transfer), and the sync a
// ledger written without sync needs before anything it could be rebuilt from is
// discarded (Raft log compaction).

#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <string>

#include "db/ledger_impl.h"

namespace vellum::db {

Status LedgerImpl::Checkpoint(const std::string& dir) {
  if (closed_ || rocks_ == nullptr) return Status::FailedPrecondition("the ledger is closed");
  if (env_->FileExists(dir).ok()) {
    return Status::AlreadyExists("a checkpoint target exists already: " + dir);
  }
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(rocks_, &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  if (!s.ok()) return RocksStatus(s, "preparing a checkpoint");
  // Every commit is one RocksDB write batch across the column families, and a
  // checkpoint holds the live files of one sequence number (memtables flushed
  // atomically — atomic_flush — or the live WAL copied with them), so the copy
  // holds whole commits only. RocksDB tries a hard link first; our Env adapter
  // answers NotSupported and RocksDB then copies through it.
  s = checkpoint->CreateCheckpoint(dir);
  if (!s.ok()) return RocksStatus(s, "making a checkpoint in " + dir);
  return Status::OK();
}

Status LedgerImpl::SyncWrites() {
  if (closed_ || rocks_ == nullptr) return Status::FailedPrecondition("the ledger is closed");
  // An empty write with sync makes RocksDB sync every live WAL file before it
  // returns — all earlier commits with it. (SyncWAL would need WAL files whose Sync
  // may run concurrently with Append, which a vellum::Env's files do not promise.)
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  rocksdb::WriteBatch empty;
  rocksdb::Status s = rocks_->Write(write_options, &empty);
  if (!s.ok()) return RocksStatus(s, "syncing the write-ahead log");
  return Status::OK();
}

}  // namespace vellum::db
