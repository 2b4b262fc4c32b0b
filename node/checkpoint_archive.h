// Copyright (c) Vellum authors.
//
// The checkpoint archive: how a ledger checkpoint (a directory of RocksDB files made
// by DB::Checkpoint) travels from the leader to a follower that must install it
// (docs/formats/checkpoint-archive.md). One stream: a header, then each file as
// name, length and bytes, then a SHA-256 of everything before it. The reader checks
// every length against the bytes that follow, refuses names that could leave the
// target directory, and only Finish — after the digest matched — says the files are
// whole; a truncated or altered stream is Corruption.
//
// The archive is not authenticated: the follower accepts the ledger it unpacks only
// after auditing it and matching it against the snapshot descriptor that came in a
// signed Raft message (node/ledger_snapshot.h). The digest catches transport damage
// early and cheaply.
//
// Both sides go through a vellum::Env, so tests unpack into an in-memory one.
//
// Thread safety: PackCheckpoint may run on any thread; a CheckpointUnpacker is used
// by one thread at a time.

#ifndef VELLUM_NODE_CHECKPOINT_ARCHIVE_H_
#define VELLUM_NODE_CHECKPOINT_ARCHIVE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "crypto/hash.h"
#include "vellum/env.h"
#include "vellum/status.h"

namespace vellum::node {

// Writes the files directly in `dir` (sorted by name; `dir` must hold no
// subdirectories) as one archive, handing it to `sink` in pieces of at most 1 MiB.
// The first error of `sink` or of reading is returned.
Status PackCheckpoint(Env* env, const std::string& dir,
                      const std::function<Status(std::string_view)>& sink);

// Unpacks an archive fed to it in pieces of any size into `into_dir` (created; it
// must not exist). Every file is synced when complete, the directory when Finish
// succeeds. On any error the caller removes `into_dir` (RemoveDirTree): what it holds
// is not a checkpoint.
class CheckpointUnpacker {
 public:
  // Refuses (ResourceExhausted) an archive longer than `max_bytes`.
  CheckpointUnpacker(Env* env, std::string into_dir, uint64_t max_bytes);
  ~CheckpointUnpacker();
  CheckpointUnpacker(const CheckpointUnpacker&) = delete;
  CheckpointUnpacker& operator=(const CheckpointUnpacker&) = delete;

  // Corruption for a malformed archive; IOError for a write that failed. Sticky.
  Status Add(std::string_view data);
  // Corruption when the archive is incomplete or its digest does not match.
  Status Finish();

 private:
  enum class Stage { kHeader, kFileHead, kFileBody, kDigest, kDone };
  Status Consume(std::string_view* data);
  Status StartFile();

  Env* const env_;
  const std::string dir_;
  const uint64_t max_bytes_;
  uint64_t total_ = 0;
  Status error_;
  Stage stage_ = Stage::kHeader;
  std::string pending_;  // a header, file head or digest being assembled
  uint32_t files_left_ = 0;
  std::string name_;
  uint64_t body_left_ = 0;
  std::unique_ptr<WritableFile> file_;
  std::set<std::string> names_;
  crypto::Sha256Hasher hasher_;
};

// Unpacks a whole archive held in memory (a CheckpointUnpacker fed once).
Status UnpackCheckpoint(Env* env, std::string_view archive, const std::string& into_dir,
                        uint64_t max_bytes);

}  // namespace vellum::node

#endif  // VELLUM_NODE_CHECKPOINT_ARCHIVE_H_
