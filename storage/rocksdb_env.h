// Copyright (c) Vellum authors.
//
// Runs RocksDB on a vellum::Env, so that a RocksDB database can live in the in-memory
// Env (fast, deterministic tests) or under a FaultInjectionEnv (crash tests: power loss
// with DropUnsyncedData, torn writes), and so that production code reaches the file
// system through the same seam as the rest of Vellum.
//
// What goes through the vellum::Env:
//   * every file operation RocksDB makes: its files (WAL, SST, MANIFEST, CURRENT,
//     OPTIONS, IDENTITY), its LOCK file and its info LOG. The adapter is a complete
//     rocksdb::FileSystem of its own; nothing falls through to RocksDB's POSIX file
//     system, so a MemEnv-backed database never touches the disk.
//   * the clock RocksDB asks its SystemClock for: NowMicros and NowNanos (our
//     monotonic NowMicros; NowNanos has microsecond resolution), SleepForMicroseconds
//     and GetCurrentTime (our WallMicros, in seconds). With a MemEnv this makes
//     RocksDB's time deterministic: it moves only when a test advances it or RocksDB
//     sleeps (a MemEnv sleep returns at once and advances the clock).
//
// What does not, and why:
//   * threads. RocksDB's flush and compaction thread pools come from
//     rocksdb::Env::Default(); a vellum::Env has no threads to offer.
//   * timed waits on condition variables. RocksDB waits with pthread_cond_timedwait
//     against the real clock. It mixes that with SystemClock::NowMicros only in its
//     automatic recovery from retryable I/O errors and from "no space" errors; this
//     adapter never reports either kind (see ToRocksIOStatus), so that code never runs.
//     RocksDB's periodic tasks (stats dumps) run on a process-wide timer on the real
//     system clock.
//   * CPU time (SystemClock::CPUNanos) comes from the operating system.
//   * randomness: RocksDB draws its database and session ids (and host name) from
//     rocksdb::Env::Default() and its own generators, not from our RandomSource, so a
//     MemEnv seed does not make the bytes of RocksDB's files reproducible.
//   * hard links (LinkFile), random read-write files, memory-mapped files, direct
//     I/O and PositionedAppend are NotSupported: a vellum::Env has none of them and
//     RocksDB uses them only in features we do not enable (checkpoints, file ingestion
//     with links, BlobDB, mmap or direct-I/O options).
//
// Semantics chosen where a vellum::Env has no counterpart:
//   * GetFileModificationTime returns the Env's wall clock at the time of the call
//     (checking that the file exists): a vellum::Env records no modification times.
//     RocksDB uses it only for WAL TTL archiving and TTL/periodic compaction of files
//     without a recorded creation time, none of which we enable; "now" means "young",
//     so those features would simply never fire.
//   * GetAbsolutePath returns the path as given (repeated and trailing slashes
//     collapsed, as for every path), relative or not. A vellum::Env has no current
//     directory to resolve a relative path against, and each Env resolves one the same
//     way on every call (POSIX: against the process's working directory; MemEnv:
//     against its implicit root ""), so the unchanged spelling keeps naming the same
//     file, which prefixing "/" would not. RocksDB uses the result only to print it and
//     to name the info log when db_log_dir is set.
//   * ReuseWritableFile (used only with recycle_log_file_num > 0) renames and then
//     truncates: a vellum::Env cannot overwrite a file in place.
//   * IsDirectory: a path that exists and can be listed is a directory.
//
// RTTI: Debian's librocksdb (7.8.3) is built with RTTI: the shared library exports the
// typeinfo of every class subclassed here (FileSystem, FSWritableFile, FSSequentialFile,
// FSRandomAccessFile, FSDirectory, FileLock, Logger, SystemClock, EnvWrapper), so
// subclassing (and the dynamic_cast in UnlockFile) needs no special build flags.
//
// Thread safety: the returned rocksdb::Env is safe for concurrent use, as RocksDB
// requires, because a vellum::Env is.

#ifndef VELLUM_STORAGE_ROCKSDB_ENV_H_
#define VELLUM_STORAGE_ROCKSDB_ENV_H_

#include <rocksdb/env.h>
#include <rocksdb/io_status.h>
#include <rocksdb/status.h>

#include <memory>
#include <string_view>

#include "vellum/env.h"
#include "vellum/status.h"

namespace vellum::storage {

// A rocksdb::Env (set it as rocksdb::Options::env) whose files and clock are `env`'s,
// as described above. `env` is not owned and must outlive the returned Env, which in
// turn must outlive every database opened with it.
std::unique_ptr<rocksdb::Env> NewRocksEnvOnVellumEnv(Env* env);

// Converts a RocksDB status to ours, by what the caller should do next:
// NotFound (and the "path not found" I/O error) -> NotFound, Corruption -> Corruption,
// IOError -> IOError, Busy/TryAgain/TimedOut -> Unavailable, InvalidArgument ->
// InvalidArgument, NotSupported -> NotSupported, anything else -> IOError. The message
// is "<context>: <RocksDB's message>". OK stays OK.
Status FromRocksStatus(const rocksdb::Status& status, std::string_view context);

// Converts our status to the one RocksDB expects from a file system. NotFound becomes
// the "path not found" I/O error, as RocksDB's POSIX file system reports ENOENT (only
// FileExists reports a plain NotFound, and the adapter does that itself). Unavailable
// (a held lock) becomes Busy. No status is marked retryable and none is "no space"
// (ResourceExhausted becomes a plain IOError): RocksDB answers those by retrying in
// the background on its own timers, and we prefer the error to surface to the caller.
rocksdb::IOStatus ToRocksIOStatus(const Status& status);

}  // namespace vellum::storage

#endif  // VELLUM_STORAGE_ROCKSDB_ENV_H_
