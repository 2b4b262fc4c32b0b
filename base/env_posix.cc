// Copyright (c) Vellum authors.
//
// Env::Default(): the POSIX Env. Files go through open/read/pread/write and
// fdatasync; directories through mkdir/rmdir/opendir; locks through fcntl record
// locks; randomness through getrandom(2). Every system call that can be interrupted
// by a signal is retried on EINTR, and every descriptor is opened O_CLOEXEC so a
// child started by the embedding program does not inherit (and keep alive) our
// files or locks.

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/path.h"
#include "vellum/check.h"
#include "vellum/env.h"
#include "vellum/status.h"

namespace vellum {
namespace {

// The userspace write buffer of a WritableFile. Large enough that log appends of a
// few hundred bytes cost one system call per many records.
constexpr size_t kWriteBufferSize = 64 * 1024;

constexpr mode_t kFileMode = 0644;
constexpr mode_t kDirMode = 0755;

// strerror_r comes in two flavours (GNU returns a char*, XSI an int); overloads on the
// return type pick the right decoding without preprocessor guesses. One of the two is
// unused on any given libc.
[[maybe_unused]] const char* DecodeStrerror(int rc, const char* buf) {
  return rc == 0 ? buf : "unknown error";
}
[[maybe_unused]] const char* DecodeStrerror(const char* message, const char* /*buf*/) {
  return message;
}

// strerror() may share a static buffer between threads; strerror_r does not.
std::string ErrnoString(int err) {
  char buf[256];
  buf[0] = '\0';
  return DecodeStrerror(strerror_r(err, buf, sizeof(buf)), buf);
}

// Maps an errno to the Status code that says what the caller should do next. The
// message is "<context>: <OS error>", where `context` names the operation and path.
Status PosixError(std::string_view context, int err) {
  std::string message(context);
  message += ": ";
  message += ErrnoString(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:  // A component of the path is not a directory: the entry cannot exist.
      return Status::NotFound(std::move(message));
    case EACCES:
    case EPERM:
      return Status::PermissionDenied(std::move(message));
    case EEXIST:
      return Status::AlreadyExists(std::move(message));
    default:
      return Status::IOError(std::move(message));
  }
}

std::string Context(std::string_view op, const std::string& path) {
  std::string s(op);
  s += ' ';
  s += path;
  return s;
}

// open(2), retried on EINTR (possible when opening FIFOs or on some network file
// systems).
int OpenRetrying(const std::string& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// close(2) without retrying: on Linux the descriptor is released even when close
// reports EINTR, so retrying could close a descriptor another thread just opened.
// Returns 0 or an errno.
int CloseDescriptor(int fd) {
  if (::close(fd) == 0 || errno == EINTR) return 0;
  return errno;
}

int FsyncRetrying(int fd, bool data_only) {
  int rc;
  do {
#if defined(__linux__)
    rc = data_only ? ::fdatasync(fd) : ::fsync(fd);
#else
    (void)data_only;
    rc = ::fsync(fd);
#endif
  } while (rc < 0 && errno == EINTR);
  return rc < 0 ? errno : 0;
}

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixSequentialFile() override { (void)CloseDescriptor(fd_); }

  PosixSequentialFile(const PosixSequentialFile&) = delete;
  PosixSequentialFile& operator=(const PosixSequentialFile&) = delete;

  Status Read(size_t n, std::string* out) override {
    out->resize(n);
    size_t got = 0;
    // read(2) may return fewer bytes than asked before the end of the file (pipes,
    // signals, network file systems); the interface promises a short read only at
    // the end, so keep reading until a read returns 0.
    while (got < n) {
      const ssize_t r = ::read(fd_, out->data() + got, n - got);
      if (r < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        out->clear();
        return PosixError(Context("read", path_), err);
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    out->resize(got);
    return Status::OK();
  }

  Status Skip(uint64_t n) override {
    // lseek happily moves past the end; clamp so that the file stays at its end as
    // documented (and so a huge `n` cannot overflow off_t).
    const off_t current = ::lseek(fd_, 0, SEEK_CUR);
    if (current < 0) return PosixError(Context("lseek", path_), errno);
    struct stat st;
    if (::fstat(fd_, &st) != 0) return PosixError(Context("fstat", path_), errno);
    const uint64_t size = static_cast<uint64_t>(std::max<off_t>(st.st_size, current));
    const uint64_t cur = static_cast<uint64_t>(current);
    const uint64_t target = n > size - cur ? size : cur + n;
    if (::lseek(fd_, static_cast<off_t>(target), SEEK_SET) < 0) {
      return PosixError(Context("lseek", path_), errno);
    }
    return Status::OK();
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { (void)CloseDescriptor(fd_); }

  PosixRandomAccessFile(const PosixRandomAccessFile&) = delete;
  PosixRandomAccessFile& operator=(const PosixRandomAccessFile&) = delete;

  // pread does not move a shared file offset, so concurrent reads need no lock.
  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::pread(fd_, out->data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        out->clear();
        return PosixError(Context("pread", path_), err);
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    out->resize(got);
    return Status::OK();
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixWritableFile final : public WritableFile {
 public:
  // `appending`: opened with O_APPEND (NewAppendableFile).
  PosixWritableFile(std::string path, int fd, uint64_t initial_size, bool appending)
      : path_(std::move(path)), fd_(fd), size_(initial_size), appending_(appending) {
    buffer_.reserve(kWriteBufferSize);
  }

  ~PosixWritableFile() override {
    if (fd_ >= 0) Close().IgnoreError();
  }

  PosixWritableFile(const PosixWritableFile&) = delete;
  PosixWritableFile& operator=(const PosixWritableFile&) = delete;

  Status Append(std::string_view data) override {
    VELLUM_RETURN_IF_ERROR(CheckOpen());
    const size_t n = data.size();
    if (n <= kWriteBufferSize - buffer_.size()) {
      buffer_.append(data);
    } else {
      VELLUM_RETURN_IF_ERROR(FlushBuffer());
      if (n < kWriteBufferSize) {
        buffer_.append(data);
      } else {
        // Large writes go straight to the kernel rather than through the buffer. Should
        // one fail part way, the bytes written stay written; Size() counts none of them.
        VELLUM_RETURN_IF_ERROR(WriteAll(&data));
      }
    }
    size_ += n;
    return Status::OK();
  }

  Status Flush() override {
    VELLUM_RETURN_IF_ERROR(CheckOpen());
    return FlushBuffer();
  }

  void ZeroFillAheadOnSync(uint64_t chunk_bytes) override {
    // pwrite(2) on a descriptor opened with O_APPEND appends whatever the offset.
    if (!appending_) zero_fill_chunk_ = chunk_bytes;
  }

  Status Sync() override {
    VELLUM_RETURN_IF_ERROR(CheckOpen());
    // After a failed fsync the kernel may have dropped the dirty pages and cleared the
    // error, so a retried fsync can succeed without the data being on disk. A sync
    // failure therefore sticks: this file never claims durability again.
    VELLUM_RETURN_IF_ERROR(sync_error_);
    VELLUM_RETURN_IF_ERROR(FlushBuffer());
    ZeroFillAhead();
    const int err = FsyncRetrying(fd_, /*data_only=*/true);
    if (err != 0) {
      sync_error_ = PosixError(Context("fdatasync", path_), err);
      return sync_error_;
    }
    return Status::OK();
  }

  Status Close() override {
    VELLUM_RETURN_IF_ERROR(CheckOpen());
    Status status = FlushBuffer();
    if (status.ok() && zero_end_ > size_ && ::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      status = PosixError(Context("trimming the zeros written ahead in", path_), errno);
    }
    const int err = CloseDescriptor(fd_);
    fd_ = -1;
    if (status.ok() && err != 0) status = PosixError(Context("close", path_), err);
    return status;
  }

  uint64_t Size() const override { return size_; }

 private:
  Status CheckOpen() const {
    if (fd_ < 0) return Status::FailedPrecondition(Context("use after Close of", path_));
    return Status::OK();
  }

  Status FlushBuffer() {
    std::string_view pending(buffer_);
    Status status = WriteAll(&pending);
    // Keep only what did not reach the kernel, so that a Flush retried after the cause
    // is fixed (say, ENOSPC) neither loses nor duplicates bytes.
    buffer_.erase(0, buffer_.size() - pending.size());
    return status;
  }

  // See ZeroFillAheadOnSync. Once fewer than half a chunk of zeros is left past the
  // data (which write(2) lays over them from the file offset, always Size()), writes
  // zeros up to a chunk past it; the sync that follows records the new size once. Only
  // a speed-up: if the zeros cannot be written, the file goes on without them.
  void ZeroFillAhead() {
    if (zero_fill_chunk_ == 0 || size_ + zero_fill_chunk_ / 2 <= zero_end_) return;
    static constexpr char kZeros[64 << 10] = {};
    const uint64_t to = size_ + zero_fill_chunk_;
    zero_end_ = std::max(size_, zero_end_);
    while (zero_end_ < to) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof(kZeros), to - zero_end_));
      const ssize_t r = ::pwrite(fd_, kZeros, n, static_cast<off_t>(zero_end_));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        zero_fill_chunk_ = 0;  // Close still trims what was written
        return;
      }
      zero_end_ += static_cast<uint64_t>(r);
    }
  }

  // Writes `*data`, consuming it as bytes are accepted by the kernel.
  Status WriteAll(std::string_view* data) {
    while (!data->empty()) {
      const ssize_t r = ::write(fd_, data->data(), data->size());
      if (r < 0) {
        if (errno == EINTR) continue;
        return PosixError(Context("write", path_), errno);
      }
      data->remove_prefix(static_cast<size_t>(r));
    }
    return Status::OK();
  }

  const std::string path_;
  int fd_;
  uint64_t size_;
  std::string buffer_;
  Status sync_error_;
  const bool appending_;
  uint64_t zero_fill_chunk_ = 0;  // 0: no zero fill
  uint64_t zero_end_ = 0;         // the end of the zeros written ahead
};

// fcntl record locks belong to the process, not the descriptor: a second F_SETLK by
// the same process on the same file succeeds, and closing *any* descriptor of the file
// drops the lock. The set below makes a second LockFile of the same path in this
// process fail, and the mutex serializes the open/close of lock files so that a lock
// being released can never drop one being taken. Paths are compared as given, so two
// spellings of one file ("db/LOCK", "db//LOCK") are not recognized as the same.
std::mutex& LockedPathsMutex() {
  static std::mutex* const mu = new std::mutex;
  return *mu;
}
std::set<std::string>& LockedPaths() {
  static std::set<std::string>* const paths = new std::set<std::string>;
  return *paths;
}

int SetWriteLock(int fd, bool lock) {
  struct flock fl;
  std::memset(&fl, 0, sizeof(fl));
  fl.l_type = static_cast<short>(lock ? F_WRLCK : F_UNLCK);
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;  // The whole file.
  int rc;
  do {
    rc = ::fcntl(fd, F_SETLK, &fl);
  } while (rc < 0 && errno == EINTR);
  return rc < 0 ? errno : 0;
}

class PosixFileLock final : public FileLock {
 public:
  PosixFileLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  ~PosixFileLock() override {
    std::lock_guard<std::mutex> guard(LockedPathsMutex());
    (void)SetWriteLock(fd_, false);
    (void)CloseDescriptor(fd_);
    LockedPaths().erase(path_);
  }

  PosixFileLock(const PosixFileLock&) = delete;
  PosixFileLock& operator=(const PosixFileLock&) = delete;

 private:
  const std::string path_;
  const int fd_;
};

class PosixRandom final : public RandomSource {
 public:
  void Fill(std::span<uint8_t> out) override {
    size_t done = 0;
    while (done < out.size()) {
      // getrandom returns at most 32 MiB per call and may be interrupted by a signal
      // once it has blocked for entropy, so loop on short reads and EINTR.
      const ssize_t r = ::getrandom(out.data() + done, out.size() - done, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        VELLUM_CHECK_MSG(false, "getrandom failed: the kernel CSPRNG is unavailable");
      }
      done += static_cast<size_t>(r);
    }
  }
};

uint64_t ReadClock(clockid_t clock) {
  struct timespec ts;
  VELLUM_CHECK_EQ(::clock_gettime(clock, &ts), 0);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

class PosixEnv final : public Env {
 public:
  Status NewSequentialFile(const std::string& path,
                           std::unique_ptr<SequentialFile>* result) override {
    result->reset();
    const int fd = OpenRetrying(path, O_RDONLY);
    if (fd < 0) return PosixError(Context("open", path), errno);
    *result = std::make_unique<PosixSequentialFile>(path, fd);
    return Status::OK();
  }

  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override {
    result->reset();
    const int fd = OpenRetrying(path, O_RDONLY);
    if (fd < 0) return PosixError(Context("open", path), errno);
    *result = std::make_unique<PosixRandomAccessFile>(path, fd);
    return Status::OK();
  }

  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* result) override {
    result->reset();
    const int fd = OpenRetrying(path, O_WRONLY | O_CREAT | O_TRUNC, kFileMode);
    if (fd < 0) return PosixError(Context("open", path), errno);
    *result = std::make_unique<PosixWritableFile>(path, fd, 0, /*appending=*/false);
    return Status::OK();
  }

  Status NewAppendableFile(const std::string& path,
                           std::unique_ptr<WritableFile>* result) override {
    result->reset();
    const int fd = OpenRetrying(path, O_WRONLY | O_CREAT | O_APPEND, kFileMode);
    if (fd < 0) return PosixError(Context("open", path), errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      (void)CloseDescriptor(fd);
      return PosixError(Context("fstat", path), err);
    }
    *result = std::make_unique<PosixWritableFile>(path, fd, static_cast<uint64_t>(st.st_size),
                                                  /*appending=*/true);
    return Status::OK();
  }

  Status FileExists(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return PosixError(Context("stat", path), errno);
    return Status::OK();
  }

  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override {
    names->clear();
    DIR* d = ::opendir(dir.c_str());  // glibc opens the stream O_CLOEXEC.
    if (d == nullptr) return PosixError(Context("opendir", dir), errno);
    Status status;
    for (;;) {
      errno = 0;
      const struct dirent* entry = ::readdir(d);
      if (entry == nullptr) {
        // readdir returns null both at the end and on error; only errno tells them
        // apart.
        if (errno != 0) status = PosixError(Context("readdir", dir), errno);
        break;
      }
      const std::string_view name(entry->d_name);
      if (name == "." || name == "..") continue;
      names->emplace_back(name);
    }
    ::closedir(d);
    if (!status.ok()) names->clear();
    return status;
  }

  Status GetFileSize(const std::string& path, uint64_t* size) override {
    *size = 0;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return PosixError(Context("stat", path), errno);
    *size = static_cast<uint64_t>(st.st_size);
    return Status::OK();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return PosixError(Context("unlink", path), errno);
    return Status::OK();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return PosixError("rename " + from + " -> " + to, errno);
    }
    return Status::OK();
  }

  Status TruncateFile(const std::string& path, uint64_t size) override {
    int rc;
    do {
      rc = ::truncate(path.c_str(), static_cast<off_t>(size));
    } while (rc < 0 && errno == EINTR);
    if (rc != 0) return PosixError(Context("truncate", path), errno);
    return Status::OK();
  }

  Status CreateDir(const std::string& dir) override {
    if (::mkdir(dir.c_str(), kDirMode) != 0) return PosixError(Context("mkdir", dir), errno);
    return Status::OK();
  }

  Status CreateDirIfMissing(const std::string& dir) override {
    const std::string d = NormalizePath(dir);
    if (d.empty()) return Status::InvalidArgument("CreateDirIfMissing: empty path");
    if (::mkdir(d.c_str(), kDirMode) == 0) return Status::OK();
    int err = errno;
    if (err == ENOENT) {
      // A parent is missing: create the chain top-down, then retry this level.
      const std::string parent = ParentDir(d);
      if (!parent.empty() && parent != d) {
        VELLUM_RETURN_IF_ERROR(CreateDirIfMissing(parent));
        if (::mkdir(d.c_str(), kDirMode) == 0) return Status::OK();
        err = errno;
      }
    }
    if (err == EEXIST) {
      // Someone (possibly a concurrent caller) made it; fine if it is a directory.
      struct stat st;
      if (::stat(d.c_str(), &st) != 0) return PosixError(Context("stat", d), errno);
      if (S_ISDIR(st.st_mode)) return Status::OK();
      return Status::IOError(Context("mkdir", d) + ": exists and is not a directory");
    }
    return PosixError(Context("mkdir", d), err);
  }

  Status RemoveDir(const std::string& dir) override {
    if (::rmdir(dir.c_str()) != 0) return PosixError(Context("rmdir", dir), errno);
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    const int fd = OpenRetrying(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return PosixError(Context("open directory", dir), errno);
    // Directory entries are metadata, so this needs fsync, not fdatasync.
    const int err = FsyncRetrying(fd, /*data_only=*/false);
    (void)CloseDescriptor(fd);
    if (err != 0) return PosixError(Context("fsync directory", dir), err);
    return Status::OK();
  }

  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) override {
    lock->reset();
    std::lock_guard<std::mutex> guard(LockedPathsMutex());
    // Checked before opening: opening and then closing the file would release a lock
    // this process already holds on it.
    if (LockedPaths().count(path) != 0) {
      return Status::Unavailable("lock " + path + ": already held by this process");
    }
    const int fd = OpenRetrying(path, O_RDWR | O_CREAT, kFileMode);
    if (fd < 0) return PosixError(Context("open lock file", path), errno);
    const int err = SetWriteLock(fd, true);
    if (err != 0) {
      (void)CloseDescriptor(fd);
      if (err == EACCES || err == EAGAIN) {
        return Status::Unavailable("lock " + path +
                                   ": held by another process (or this one): " + ErrnoString(err));
      }
      return PosixError(Context("lock", path), err);
    }
    LockedPaths().insert(path);
    *lock = std::make_unique<PosixFileLock>(path, fd);
    return Status::OK();
  }

  uint64_t NowMicros() override { return ReadClock(CLOCK_MONOTONIC); }
  uint64_t WallMicros() override { return ReadClock(CLOCK_REALTIME); }

  void SleepForMicros(uint64_t micros) override {
    struct timespec ts;
    ts.tv_sec = static_cast<time_t>(micros / 1000000u);
    ts.tv_nsec = static_cast<long>(micros % 1000000u) * 1000;
    // nanosleep leaves the unslept time in `ts` when a signal interrupts it.
    while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }

  RandomSource& Random() override { return random_; }

 private:
  PosixRandom random_;
};

}  // namespace

Env* Env::Default() {
  // Leaked on purpose: objects destroyed at exit may still log or flush through it.
  static Env* const env = new PosixEnv;
  return env;
}

}  // namespace vellum
