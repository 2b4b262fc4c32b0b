// Copyright (c) Vellum authors.
//
// Env: the seam between Vellum and the operating system — files, the clock and
// randomness. Everything Vellum does to the outside world goes through an Env, so
// tests can substitute an in-memory one (deterministic: a manual clock and a seeded
// random source) or a fault-injecting one (base/fault_injection_env.h) that drops
// unsynced data, fails the Nth write or sync, and tears writes.
//
// Crash semantics: data appended to a WritableFile is durable only after Sync()
// returns OK; a newly created, renamed or removed directory entry is durable only
// after SyncDir() of its parent directory returns OK.
//
// Thread safety: Env implementations are safe for concurrent use. A SequentialFile
// or WritableFile must be used by one thread at a time; RandomAccessFile::Read may be
// called concurrently.

#ifndef VELLUM_ENV_H_
#define VELLUM_ENV_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vellum/status.h"

namespace vellum {

// A source of random bytes. The POSIX Env's is the operating system's CSPRNG; the
// in-memory Env's is a deterministic generator seeded by the test.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `out` with random bytes. Cannot fail: a broken OS source aborts.
  virtual void Fill(std::span<uint8_t> out) = 0;

  // A uniformly distributed integer in [0, bound); `bound` must be > 0.
  uint64_t Uniform(uint64_t bound);
};

// Reads a file from its start to its end.
class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to `n` bytes into `*out` (replacing its contents). Fewer bytes (possibly
  // zero) are returned only at the end of the file.
  virtual Status Read(size_t n, std::string* out) = 0;
  // Skips `n` bytes; skipping past the end leaves the file at its end.
  virtual Status Skip(uint64_t n) = 0;
};

// Reads a file at arbitrary offsets.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to `n` bytes at `offset` into `*out`. Fewer bytes are returned only when
  // the read reaches the end of the file. Safe for concurrent use.
  virtual Status Read(uint64_t offset, size_t n, std::string* out) const = 0;
};

// Appends to a file.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  // Hands buffered data to the operating system (no durability promise).
  virtual Status Flush() = 0;
  // Makes every byte appended so far durable.
  virtual Status Sync() = 0;
  // Flushes and closes; further calls fail. The destructor closes an open file but
  // ignores errors, so call Close() where the outcome matters.
  virtual Status Close() = 0;
  // Bytes appended so far, including any written before the file was opened for append.
  virtual uint64_t Size() const = 0;
  // A hint for a file that is written once, front to back, and synced often (a
  // write-ahead log): Sync may write zeros up to `chunk_bytes` past the data, so that
  // the syncs that follow overwrite blocks the file already has and need not record a
  // new file size too (on ext4 such a sync is one device write instead of two). A crash
  // can then leave zero bytes after the last data; ask for this only for formats that
  // read a zero tail as the end of their records. Close trims the file to Size().
  // Files opened for append ignore it, as does the default.
  virtual void ZeroFillAheadOnSync(uint64_t chunk_bytes) { (void)chunk_bytes; }
};

// Holds an advisory lock on a file until destroyed (see Env::LockFile).
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX Env. Never deleted.
  static Env* Default();

  // --- files -------------------------------------------------------------------
  // Missing files are NotFound; permission problems PermissionDenied; other OS
  // failures IOError. Messages name the path and the OS error.
  virtual Status NewSequentialFile(const std::string& path,
                                   std::unique_ptr<SequentialFile>* result) = 0;
  virtual Status NewRandomAccessFile(const std::string& path,
                                     std::unique_ptr<RandomAccessFile>* result) = 0;
  // Creates the file, or truncates an existing one.
  virtual Status NewWritableFile(const std::string& path,
                                 std::unique_ptr<WritableFile>* result) = 0;
  // Creates the file, or opens an existing one positioned at its end.
  virtual Status NewAppendableFile(const std::string& path,
                                   std::unique_ptr<WritableFile>* result) = 0;

  // OK if the path exists (file or directory), NotFound if not.
  virtual Status FileExists(const std::string& path) = 0;
  // Names (not paths) of the entries of `dir`, without "." and "..", in no set order.
  virtual Status GetChildren(const std::string& dir, std::vector<std::string>* names) = 0;
  virtual Status GetFileSize(const std::string& path, uint64_t* size) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Replaces `to` atomically if it exists.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Truncates (or extends with zeros) a file to `size` bytes.
  virtual Status TruncateFile(const std::string& path, uint64_t size) = 0;
  // Creates a directory; AlreadyExists if it exists.
  virtual Status CreateDir(const std::string& dir) = 0;
  // Creates a directory and its missing parents; OK if it exists.
  virtual Status CreateDirIfMissing(const std::string& dir) = 0;
  // Removes an empty directory.
  virtual Status RemoveDir(const std::string& dir) = 0;
  // Makes the creation, renaming and removal of entries in `dir` durable.
  virtual Status SyncDir(const std::string& dir) = 0;

  // Takes an exclusive advisory lock on `path` (creating the file if needed), held
  // until `*lock` is destroyed. A lock held by another process, or already by this
  // process, is Unavailable.
  virtual Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) = 0;

  // --- clock -------------------------------------------------------------------
  // Microseconds since an arbitrary fixed epoch; never decreases.
  virtual uint64_t NowMicros() = 0;
  // Microseconds since the Unix epoch (wall clock; may jump).
  virtual uint64_t WallMicros() = 0;
  virtual void SleepForMicros(uint64_t micros) = 0;

  // --- randomness --------------------------------------------------------------
  virtual RandomSource& Random() = 0;
};

// A new in-memory Env: files live in a map, the clock starts at zero and moves only
// when AdvanceMemEnvClock is called (sleeping also advances it), and randomness is a
// deterministic generator seeded with `seed`. Paths are plain strings (only trailing
// '/' is stripped). Directories behave as on POSIX: one exists only once created
// (CreateDir, CreateDirIfMissing), and creating a file or directory whose parent does
// not exist is NotFound. "/" and the parent of a bare name ("f") always exist.
std::unique_ptr<Env> NewMemEnv(uint64_t seed);
// Moves the clock of an Env made by NewMemEnv forward. Aborts for any other Env.
void AdvanceMemEnvClock(Env* mem_env, uint64_t micros);

// Helpers over any Env.
Status WriteStringToFile(Env* env, std::string_view data, const std::string& path, bool sync);
Status ReadFileToString(Env* env, const std::string& path, std::string* data);
// Removes `path` and, when it is a directory, everything under it. OK if it does not
// exist.
Status RemoveDirTree(Env* env, const std::string& path);

}  // namespace vellum

#endif  // VELLUM_ENV_H_
