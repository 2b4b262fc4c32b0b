// Copyright (c) Vellum authors.
//
// FaultInjectionEnv: an Env for crash and fault tests. It wraps a base Env (normally
// a MemEnv), forwards every call to it, and remembers what a real disk would have
// made durable, so that a test can simulate a power loss at any moment and check
// that Vellum recovers from what is left.
//
// The durability model, following vellum/env.h:
//   * File data is durable up to the size at the last successful WritableFile::Sync
//     of that file. Data of a failed Sync is not durable.
//   * Creating, renaming and removing a file is durable only after a successful
//     SyncDir of the directory holding the name. Until then DropUnsyncedData rolls the
//     name back: a created file vanishes, a removed file reappears with its durable
//     contents, and a rename is undone (the source name comes back, and a target it
//     replaced comes back with its old durable contents). To make that possible the
//     durable contents of a replaced or removed file are kept in memory until the
//     change is covered by SyncDir; this is a test tool, files are small.
//   * Simplifications, all in the direction of "already durable": truncating a file
//     (NewWritableFile on an existing file, TruncateFile to a smaller size) is durable
//     at once; directory creation, removal and renaming are durable at once (a
//     renamed directory carries its files' pending state along); a file created by
//     LockFile is durable at once; files this Env never wrote, renamed or removed
//     are assumed fully durable.
//
// DropUnsyncedData is the power loss. Writable files open at that moment belong to
// the process that "died": afterwards their Append, Flush and Sync fail (Close
// succeeds and does nothing harmful). Every Append is passed on to the base file
// and flushed at once, so the base Env holds all written bytes and a POSIX base
// works too; a MemEnv base is the intended one.
//
// Thread safety: all methods may be called concurrently (one mutex). Files opened
// through a FaultInjectionEnv must not outlive it; neither may it outlive `base`.

#ifndef VELLUM_BASE_FAULT_INJECTION_ENV_H_
#define VELLUM_BASE_FAULT_INJECTION_ENV_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vellum/env.h"
#include "vellum/status.h"

namespace vellum {

class FaultInjectionEnv final : public Env {
 public:
  // `base` is not owned. `seed` drives the torn-write lengths, so a seed reproduces a
  // run exactly.
  FaultInjectionEnv(Env* base, uint64_t seed);
  ~FaultInjectionEnv() override;

  FaultInjectionEnv(const FaultInjectionEnv&) = delete;
  FaultInjectionEnv& operator=(const FaultInjectionEnv&) = delete;

  Env* base() const { return base_; }

  // Simulates a power loss: every file written through this Env is cut back to its
  // durable size (or, with torn writes, to a random length between its durable size
  // and its current size), and every unsynced directory change is rolled back as
  // described above. Afterwards everything on the base Env counts as durable and
  // writable files opened before the call stop working. Does not change the active
  // flag, the torn-write mode or pending FailNth* triggers.
  Status DropUnsyncedData();

  // Torn writes model a partially written page: DropUnsyncedData keeps a random prefix
  // of each unsynced tail instead of none of it, and an Append failed by FailNthWrite
  // writes a random strict prefix of its data before failing.
  void SetTornWrites(bool torn);

  // The n-th Append (FailNthWrite) or Sync (FailNthSync) call from now on, n >= 1,
  // returns IOError("injected ...") without effect (but see SetTornWrites); the calls
  // after it succeed again. Every call counts, including calls that fail for another
  // reason. n == 0 disarms.
  void FailNthWrite(uint64_t n);
  void FailNthSync(uint64_t n);

  // While inactive (the moment of a crash), every operation that changes the file
  // system fails with IOError("injected: file system inactive"): Append, Flush, Sync
  // and Close of writable files, NewWritableFile, NewAppendableFile, RenameFile,
  // RemoveFile, TruncateFile, CreateDir, CreateDirIfMissing, RemoveDir and SyncDir.
  // Reads keep working. Active at construction.
  void SetFilesystemActive(bool active);
  bool filesystem_active() const;

  // Append and Sync calls made on files of this Env so far, failed ones included.
  uint64_t write_count() const;
  uint64_t sync_count() const;

  // --- Env ------------------------------------------------------------------------
  Status NewSequentialFile(const std::string& path,
                           std::unique_ptr<SequentialFile>* result) override;
  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override;
  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* result) override;
  Status NewAppendableFile(const std::string& path, std::unique_ptr<WritableFile>* result) override;
  Status FileExists(const std::string& path) override;
  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override;
  Status GetFileSize(const std::string& path, uint64_t* size) override;
  Status RemoveFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status TruncateFile(const std::string& path, uint64_t size) override;
  Status CreateDir(const std::string& dir) override;
  Status CreateDirIfMissing(const std::string& dir) override;
  Status RemoveDir(const std::string& dir) override;
  Status SyncDir(const std::string& dir) override;
  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) override;
  uint64_t NowMicros() override;
  uint64_t WallMicros() override;
  void SleepForMicros(uint64_t micros) override;
  RandomSource& Random() override;

 private:
  class File;
  struct Node;
  using NodePtr = std::shared_ptr<Node>;

  // Called by File with no lock held.
  Status FileAppend(File* file, std::string_view data);
  Status FileFlush(File* file);
  Status FileSync(File* file);
  Status FileClose(File* file);

  // All below need mu_ held.
  Status CheckActiveLocked() const;
  Status CheckFileLocked(const File* file) const;
  Status OpenLocked(const std::string& path, bool truncate, std::unique_ptr<WritableFile>* result);
  NodePtr FindLocked(const std::string& path) const;
  void RecordUndoLocked(const std::string& path, const NodePtr& original);
  Status RenameDirLocked(const std::string& from, const std::string& to);
  uint64_t UniformLocked(uint64_t bound);
  uint64_t DurableLengthLocked(uint64_t synced, uint64_t current);

  Env* const base_;

  mutable std::mutex mu_;
  uint64_t rng_state_;  // splitmix64; guarded by mu_ like everything below.
  bool torn_writes_ = false;
  bool active_ = true;
  uint64_t fail_write_countdown_ = 0;
  uint64_t fail_sync_countdown_ = 0;
  uint64_t write_count_ = 0;
  uint64_t sync_count_ = 0;
  // Bumped by DropUnsyncedData; files opened in an earlier epoch are dead.
  uint64_t epoch_ = 0;
  // The file now at each path this Env has written, renamed or removed since the last
  // DropUnsyncedData.
  std::map<std::string, NodePtr> live_;
  // For each path whose directory entry changed since the last SyncDir of its parent:
  // the file the entry durably named before the first change (null: no entry).
  std::map<std::string, NodePtr> undo_;
};

}  // namespace vellum

#endif  // VELLUM_BASE_FAULT_INJECTION_ENV_H_
