// Copyright (c) Vellum authors.
//
// NewMemEnv: an Env that keeps everything in memory, for fast and deterministic
// tests. Files are shared byte strings, like inodes: a handle keeps seeing its file
// after the name is renamed, truncated by a new writer, or removed. Directories are
// tracked explicitly and behave as on POSIX (a file needs an existing parent). The
// clock is manual and the random source is a seeded xoshiro256**.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
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

// The contents of one file. Handles share it, so its own mutex (not the Env's) guards
// the bytes: reads through a RandomAccessFile may run while another handle appends.
struct MemFile {
  std::mutex mu;
  std::string data;
};

class MemSequentialFile final : public SequentialFile {
 public:
  explicit MemSequentialFile(std::shared_ptr<MemFile> file) : file_(std::move(file)) {}

  Status Read(size_t n, std::string* out) override {
    std::lock_guard<std::mutex> guard(file_->mu);
    const size_t size = file_->data.size();
    const size_t start = std::min<uint64_t>(pos_, size);
    const size_t len = std::min(n, size - start);
    out->assign(file_->data, start, len);
    pos_ = start + len;
    return Status::OK();
  }

  Status Skip(uint64_t n) override {
    std::lock_guard<std::mutex> guard(file_->mu);
    const uint64_t size = file_->data.size();
    pos_ = (pos_ >= size || n > size - pos_) ? std::max(pos_, size) : pos_ + n;
    return Status::OK();
  }

 private:
  const std::shared_ptr<MemFile> file_;
  uint64_t pos_ = 0;
};

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  explicit MemRandomAccessFile(std::shared_ptr<MemFile> file) : file_(std::move(file)) {}

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    std::lock_guard<std::mutex> guard(file_->mu);
    const uint64_t size = file_->data.size();
    if (offset >= size) {
      out->clear();
    } else {
      out->assign(file_->data, static_cast<size_t>(offset), std::min<uint64_t>(n, size - offset));
    }
    return Status::OK();
  }

 private:
  const std::shared_ptr<MemFile> file_;
};

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::string path, std::shared_ptr<MemFile> file, uint64_t initial_size)
      : path_(std::move(path)), file_(std::move(file)), size_(initial_size) {}

  // Appends go straight into the shared bytes: there is no buffer to lose.
  Status Append(std::string_view data) override {
    VELLUM_RETURN_IF_ERROR(CheckOpen());
    std::lock_guard<std::mutex> guard(file_->mu);
    file_->data.append(data);
    size_ += data.size();
    return Status::OK();
  }
  Status Flush() override { return CheckOpen(); }
  Status Sync() override { return CheckOpen(); }
  Status Close() override {
    VELLUM_RETURN_IF_ERROR(CheckOpen());
    closed_ = true;
    return Status::OK();
  }
  uint64_t Size() const override { return size_; }

 private:
  Status CheckOpen() const {
    if (closed_) return Status::FailedPrecondition("use after Close of " + path_);
    return Status::OK();
  }

  const std::string path_;
  const std::shared_ptr<MemFile> file_;
  uint64_t size_;
  bool closed_ = false;
};

// Paths locked through one MemEnv. Shared with the locks so that a FileLock that
// outlives its Env does not touch freed memory.
struct LockTable {
  std::mutex mu;
  std::set<std::string> paths;
};

class MemFileLock final : public FileLock {
 public:
  MemFileLock(std::shared_ptr<LockTable> table, std::string path)
      : table_(std::move(table)), path_(std::move(path)) {}
  ~MemFileLock() override {
    std::lock_guard<std::mutex> guard(table_->mu);
    table_->paths.erase(path_);
  }

  MemFileLock(const MemFileLock&) = delete;
  MemFileLock& operator=(const MemFileLock&) = delete;

 private:
  const std::shared_ptr<LockTable> table_;
  const std::string path_;
};

// xoshiro256** (Blackman and Vigna), seeded through splitmix64 so that similar seeds
// still give unrelated streams. Not cryptographic: tests only.
class SeededXoshiro final : public RandomSource {
 public:
  explicit SeededXoshiro(uint64_t seed) {
    for (uint64_t& word : state_) word = SplitMix64(&seed);
  }

  void Fill(std::span<uint8_t> out) override {
    std::lock_guard<std::mutex> guard(mu_);
    size_t i = 0;
    while (i < out.size()) {
      uint64_t v = Next();
      // Little-endian byte order, fixed so that a seed means the same bytes everywhere.
      for (int b = 0; b < 8 && i < out.size(); ++b, ++i) {
        out[i] = static_cast<uint8_t>(v);
        v >>= 8;
      }
    }
  }

 private:
  static uint64_t SplitMix64(uint64_t* x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
  }
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  std::mutex mu_;
  uint64_t state_[4];
};

class MemEnv final : public Env {
 public:
  explicit MemEnv(uint64_t seed) : random_(seed), locks_(std::make_shared<LockTable>()) {}

  Status NewSequentialFile(const std::string& path,
                           std::unique_ptr<SequentialFile>* result) override {
    result->reset();
    std::shared_ptr<MemFile> file;
    VELLUM_RETURN_IF_ERROR(FindFileForRead(path, &file));
    *result = std::make_unique<MemSequentialFile>(std::move(file));
    return Status::OK();
  }

  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override {
    result->reset();
    std::shared_ptr<MemFile> file;
    VELLUM_RETURN_IF_ERROR(FindFileForRead(path, &file));
    *result = std::make_unique<MemRandomAccessFile>(std::move(file));
    return Status::OK();
  }

  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* result) override {
    return OpenForWrite(path, /*truncate=*/true, result);
  }

  Status NewAppendableFile(const std::string& path,
                           std::unique_ptr<WritableFile>* result) override {
    return OpenForWrite(path, /*truncate=*/false, result);
  }

  Status FileExists(const std::string& path) override {
    const std::string p = NormalizePath(path);
    std::lock_guard<std::mutex> guard(mu_);
    if (files_.count(p) != 0 || IsDirLocked(p)) return Status::OK();
    return Status::NotFound(p + ": no such file or directory");
  }

  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override {
    names->clear();
    const std::string d = NormalizePath(dir);
    std::lock_guard<std::mutex> guard(mu_);
    if (!IsDirLocked(d)) {
      if (files_.count(d) != 0) return Status::NotFound(d + ": not a directory");
      return Status::NotFound(d + ": no such directory");
    }
    // Entries live in flat maps; a child is any entry whose parent is `d`.
    auto add_children = [&](const auto& entries) {
      for (const auto& entry : entries) {
        const std::string& p = Key(entry);
        if (p != d && ParentDir(p) == d) {
          const size_t slash = p.rfind('/');
          names->push_back(slash == std::string::npos ? p : p.substr(slash + 1));
        }
      }
    };
    add_children(files_);
    add_children(dirs_);
    return Status::OK();
  }

  Status GetFileSize(const std::string& path, uint64_t* size) override {
    *size = 0;
    std::shared_ptr<MemFile> file;
    VELLUM_RETURN_IF_ERROR(FindFileForRead(path, &file));
    std::lock_guard<std::mutex> guard(file->mu);
    *size = file->data.size();
    return Status::OK();
  }

  Status RemoveFile(const std::string& path) override {
    const std::string p = NormalizePath(path);
    std::lock_guard<std::mutex> guard(mu_);
    if (files_.erase(p) == 0) {
      if (IsDirLocked(p)) return Status::IOError("unlink " + p + ": is a directory");
      return Status::NotFound("unlink " + p + ": no such file");
    }
    return Status::OK();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    const std::string f = NormalizePath(from);
    const std::string t = NormalizePath(to);
    const std::string context = "rename " + f + " -> " + t;
    std::lock_guard<std::mutex> guard(mu_);
    if (!IsDirLocked(ParentDir(t))) return Status::NotFound(context + ": no target directory");
    auto it = files_.find(f);
    if (it != files_.end()) {
      if (IsDirLocked(t)) return Status::IOError(context + ": target is a directory");
      if (f == t) return Status::OK();
      std::shared_ptr<MemFile> file = std::move(it->second);
      files_.erase(it);
      files_[t] = std::move(file);
      return Status::OK();
    }
    if (!IsDirLocked(f)) return Status::NotFound(context + ": no such file or directory");
    return RenameDirLocked(f, t, context);
  }

  Status TruncateFile(const std::string& path, uint64_t size) override {
    std::shared_ptr<MemFile> file;
    VELLUM_RETURN_IF_ERROR(FindFileForRead(path, &file));
    std::lock_guard<std::mutex> guard(file->mu);
    file->data.resize(size, '\0');
    return Status::OK();
  }

  Status CreateDir(const std::string& dir) override {
    const std::string d = NormalizePath(dir);
    std::lock_guard<std::mutex> guard(mu_);
    return CreateDirLocked(d);
  }

  Status CreateDirIfMissing(const std::string& dir) override {
    const std::string d = NormalizePath(dir);
    if (d.empty()) return Status::InvalidArgument("CreateDirIfMissing: empty path");
    std::lock_guard<std::mutex> guard(mu_);
    // Every proper prefix ending before a '/' is an ancestor, top-down.
    for (size_t slash = d.find('/', 1); slash != std::string::npos;
         slash = d.find('/', slash + 1)) {
      // "a//b" yields "a" twice, which is harmless.
      VELLUM_RETURN_IF_ERROR(EnsureDirLocked(NormalizePath(d.substr(0, slash))));
    }
    return EnsureDirLocked(d);
  }

  Status RemoveDir(const std::string& dir) override {
    const std::string d = NormalizePath(dir);
    std::lock_guard<std::mutex> guard(mu_);
    if (dirs_.count(d) == 0) {
      if (files_.count(d) != 0) return Status::NotFound("rmdir " + d + ": not a directory");
      return Status::NotFound("rmdir " + d + ": no such directory");
    }
    if (HasChildrenLocked(d)) return Status::IOError("rmdir " + d + ": directory not empty");
    dirs_.erase(d);
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    const std::string d = NormalizePath(dir);
    std::lock_guard<std::mutex> guard(mu_);
    if (!IsDirLocked(d)) return Status::NotFound("sync " + d + ": no such directory");
    return Status::OK();
  }

  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) override {
    lock->reset();
    const std::string p = NormalizePath(path);
    {
      // Like the POSIX Env, locking creates the file.
      std::lock_guard<std::mutex> guard(mu_);
      if (files_.count(p) == 0) {
        if (IsDirLocked(p)) return Status::IOError("lock " + p + ": is a directory");
        VELLUM_RETURN_IF_ERROR(CheckCanCreateLocked(p));
        files_[p] = std::make_shared<MemFile>();
      }
    }
    std::lock_guard<std::mutex> guard(locks_->mu);
    if (!locks_->paths.insert(p).second) {
      return Status::Unavailable("lock " + p + ": already held in this MemEnv");
    }
    *lock = std::make_unique<MemFileLock>(locks_, p);
    return Status::OK();
  }

  uint64_t NowMicros() override { return now_micros_.load(std::memory_order_relaxed); }
  // The wall clock is the same manual clock: it starts at the Unix epoch.
  uint64_t WallMicros() override { return now_micros_.load(std::memory_order_relaxed); }
  void SleepForMicros(uint64_t micros) override { Advance(micros); }

  RandomSource& Random() override { return random_; }

  void Advance(uint64_t micros) { now_micros_.fetch_add(micros, std::memory_order_relaxed); }

 private:
  static const std::string& Key(const std::pair<const std::string, std::shared_ptr<MemFile>>& e) {
    return e.first;
  }
  static const std::string& Key(const std::string& e) { return e; }

  // The roots always exist: "/" and "" (the implicit current directory of bare names).
  bool IsDirLocked(const std::string& d) const {
    return d.empty() || d == "/" || dirs_.count(d) != 0;
  }

  bool HasChildrenLocked(const std::string& d) const {
    for (const auto& [path, file] : files_) {
      if (ParentDir(path) == d) return true;
    }
    for (const std::string& path : dirs_) {
      if (path != d && ParentDir(path) == d) return true;
    }
    return false;
  }

  // NotFound unless the parent of `p` is an existing directory, as open(2) and mkdir(2)
  // report ENOENT/ENOTDIR.
  Status CheckCanCreateLocked(const std::string& p) const {
    if (p.empty()) return Status::NotFound("empty path");
    const std::string parent = ParentDir(p);
    if (IsDirLocked(parent)) return Status::OK();
    if (files_.count(parent) != 0) return Status::NotFound(p + ": " + parent + " is a file");
    return Status::NotFound(p + ": no such directory " + parent);
  }

  Status FindFileForRead(const std::string& path, std::shared_ptr<MemFile>* file) {
    const std::string p = NormalizePath(path);
    std::lock_guard<std::mutex> guard(mu_);
    auto it = files_.find(p);
    if (it == files_.end()) {
      if (IsDirLocked(p)) return Status::IOError(p + ": is a directory");
      return Status::NotFound(p + ": no such file");
    }
    *file = it->second;
    return Status::OK();
  }

  Status OpenForWrite(const std::string& path, bool truncate,
                      std::unique_ptr<WritableFile>* result) {
    result->reset();
    const std::string p = NormalizePath(path);
    std::shared_ptr<MemFile> file;
    {
      std::lock_guard<std::mutex> guard(mu_);
      auto it = files_.find(p);
      if (it != files_.end()) {
        file = it->second;
      } else {
        if (IsDirLocked(p)) return Status::IOError("open " + p + ": is a directory");
        VELLUM_RETURN_IF_ERROR(CheckCanCreateLocked(p));
        file = std::make_shared<MemFile>();
        files_[p] = file;
      }
    }
    uint64_t size = 0;
    {
      std::lock_guard<std::mutex> guard(file->mu);
      // Truncation empties the shared bytes, as O_TRUNC does to the inode that other
      // handles have open.
      if (truncate) file->data.clear();
      size = file->data.size();
    }
    *result = std::make_unique<MemWritableFile>(p, std::move(file), size);
    return Status::OK();
  }

  Status CreateDirLocked(const std::string& d) {
    if (files_.count(d) != 0 || IsDirLocked(d)) {
      return Status::AlreadyExists("mkdir " + d + ": already exists");
    }
    VELLUM_RETURN_IF_ERROR(CheckCanCreateLocked(d));
    dirs_.insert(d);
    return Status::OK();
  }

  Status EnsureDirLocked(const std::string& d) {
    if (IsDirLocked(d)) return Status::OK();
    if (files_.count(d) != 0) {
      return Status::IOError("mkdir " + d + ": exists and is not a directory");
    }
    return CreateDirLocked(d);
  }

  // rename(2) of a directory: the target must not be a file, must be empty if it is a
  // directory, and must not lie inside the source.
  Status RenameDirLocked(const std::string& f, const std::string& t, const std::string& context) {
    if (f == t) return Status::OK();
    if (files_.count(t) != 0) return Status::IOError(context + ": target is not a directory");
    if (t.size() > f.size() && t.compare(0, f.size(), f) == 0 && t[f.size()] == '/') {
      return Status::InvalidArgument(context + ": target inside source");
    }
    if (dirs_.count(t) != 0) {
      if (HasChildrenLocked(t)) return Status::IOError(context + ": target not empty");
      dirs_.erase(t);
    }
    const std::string prefix = f + "/";
    auto moved = [&](const std::string& p) { return t + p.substr(f.size()); };
    std::map<std::string, std::shared_ptr<MemFile>> files;
    for (auto& [p, file] : files_) {
      files[p.compare(0, prefix.size(), prefix) == 0 ? moved(p) : p] = std::move(file);
    }
    files_ = std::move(files);
    std::set<std::string> dirs;
    for (const std::string& p : dirs_) {
      dirs.insert(p == f || p.compare(0, prefix.size(), prefix) == 0 ? moved(p) : p);
    }
    dirs_ = std::move(dirs);
    return Status::OK();
  }

  SeededXoshiro random_;
  std::atomic<uint64_t> now_micros_{0};
  const std::shared_ptr<LockTable> locks_;

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<MemFile>> files_;  // Guarded by mu_.
  std::set<std::string> dirs_;                             // Guarded by mu_.
};

}  // namespace

std::unique_ptr<Env> NewMemEnv(uint64_t seed) { return std::make_unique<MemEnv>(seed); }

void AdvanceMemEnvClock(Env* mem_env, uint64_t micros) {
  auto* env = dynamic_cast<MemEnv*>(mem_env);
  VELLUM_CHECK_MSG(env != nullptr, "AdvanceMemEnvClock needs an Env made by NewMemEnv");
  env->Advance(micros);
}

}  // namespace vellum
