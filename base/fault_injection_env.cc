// Copyright (c) Vellum authors.

#include "base/fault_injection_env.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
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

bool IsUnder(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

uint64_t SplitMix64(uint64_t* x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

Status Injected(std::string_view what, const std::string& path) {
  std::string message("injected: ");
  message += what;
  if (!path.empty()) {
    message += ": ";
    message += path;
  }
  return Status::IOError(std::move(message));
}

Status Inactive() { return Status::IOError("injected: file system inactive"); }

}  // namespace

// One file as a disk would see it (an inode): it keeps its identity across renames,
// so a rename can be undone and a Sync through a handle opened under an old name
// still counts.
struct FaultInjectionEnv::Node {
  std::string path;     // Current name on the base Env, while linked.
  bool linked = true;   // False once removed or replaced by a rename.
  uint64_t size = 0;    // Bytes in the file as written through this Env.
  uint64_t synced = 0;  // Durable prefix.
  int undo_refs = 0;    // Entries of undo_ naming this node.
  // The contents of an unlinked node that undo_ still names, captured before the
  // base Env forgot them (and extended by later appends through open handles).
  std::optional<std::string> saved;
};

class FaultInjectionEnv::File final : public WritableFile {
 public:
  File(FaultInjectionEnv* env, NodePtr node, std::unique_ptr<WritableFile> base, uint64_t epoch)
      : env_(env), node_(std::move(node)), base_(std::move(base)), epoch_(epoch) {}

  Status Append(std::string_view data) override { return env_->FileAppend(this, data); }
  Status Flush() override { return env_->FileFlush(this); }
  Status Sync() override { return env_->FileSync(this); }
  Status Close() override { return env_->FileClose(this); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  friend class FaultInjectionEnv;

  FaultInjectionEnv* const env_;
  const NodePtr node_;
  const std::unique_ptr<WritableFile> base_;
  const uint64_t epoch_;
  bool closed_ = false;
};

FaultInjectionEnv::FaultInjectionEnv(Env* base, uint64_t seed) : base_(base), rng_state_(seed) {
  VELLUM_CHECK(base != nullptr);
}

FaultInjectionEnv::~FaultInjectionEnv() = default;

// --- fault controls ------------------------------------------------------------------

void FaultInjectionEnv::SetTornWrites(bool torn) {
  std::lock_guard<std::mutex> guard(mu_);
  torn_writes_ = torn;
}

void FaultInjectionEnv::FailNthWrite(uint64_t n) {
  std::lock_guard<std::mutex> guard(mu_);
  fail_write_countdown_ = n;
}

void FaultInjectionEnv::FailNthSync(uint64_t n) {
  std::lock_guard<std::mutex> guard(mu_);
  fail_sync_countdown_ = n;
}

void FaultInjectionEnv::SetFilesystemActive(bool active) {
  std::lock_guard<std::mutex> guard(mu_);
  active_ = active;
}

bool FaultInjectionEnv::filesystem_active() const {
  std::lock_guard<std::mutex> guard(mu_);
  return active_;
}

uint64_t FaultInjectionEnv::write_count() const {
  std::lock_guard<std::mutex> guard(mu_);
  return write_count_;
}

uint64_t FaultInjectionEnv::sync_count() const {
  std::lock_guard<std::mutex> guard(mu_);
  return sync_count_;
}

uint64_t FaultInjectionEnv::UniformLocked(uint64_t bound) {
  VELLUM_CHECK_GT(bound, 0u);
  // Rejection sampling keeps the lengths unbiased.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
  for (;;) {
    const uint64_t v = SplitMix64(&rng_state_);
    if (v < limit) return v % bound;
  }
}

uint64_t FaultInjectionEnv::DurableLengthLocked(uint64_t synced, uint64_t current) {
  if (current <= synced) return current;
  if (!torn_writes_) return synced;
  return synced + UniformLocked(current - synced + 1);
}

// --- the power loss ------------------------------------------------------------------

Status FaultInjectionEnv::DropUnsyncedData() {
  std::lock_guard<std::mutex> guard(mu_);

  // 1. Cut every file back to its durable length. Recording the cut in `synced` makes
  //    a node restored below under another name get the same (possibly torn) bytes.
  for (const auto& [path, node] : live_) {
    uint64_t size = 0;
    VELLUM_RETURN_IF_ERROR(base_->GetFileSize(path, &size));
    const uint64_t keep = DurableLengthLocked(node->synced, size);
    if (keep < size) VELLUM_RETURN_IF_ERROR(base_->TruncateFile(path, keep));
    node->synced = keep;
  }
  for (const auto& [path, node] : undo_) {
    if (node != nullptr && !node->linked) {
      VELLUM_CHECK(node->saved.has_value());
      node->synced = DurableLengthLocked(node->synced, node->saved->size());
      node->saved->resize(node->synced);
    }
  }

  // 2. Work out what every changed name durably held. All contents are read before
  //    anything is written, because renames can form chains and cycles (a swap through
  //    a temporary name) whose sources the restoration itself overwrites.
  std::vector<std::pair<std::string, std::optional<std::string>>> restore;
  for (const auto& [path, node] : undo_) {
    if (node == nullptr) {
      restore.emplace_back(path, std::nullopt);
    } else if (node->linked) {
      std::string contents;
      VELLUM_RETURN_IF_ERROR(ReadFileToString(base_, node->path, &contents));
      restore.emplace_back(path, std::move(contents));
    } else {
      restore.emplace_back(path, *node->saved);
    }
  }

  // 3. Put the names back.
  for (const auto& [path, contents] : restore) {
    if (!contents.has_value()) {
      Status s = base_->RemoveFile(path);
      if (!s.ok() && !s.IsNotFound()) return s.WithContext("dropping an unsynced file");
      continue;
    }
    // The directory may have been removed since (it was empty by then); it comes back.
    const std::string parent = ParentDir(path);
    if (!parent.empty()) VELLUM_RETURN_IF_ERROR(base_->CreateDirIfMissing(parent));
    VELLUM_RETURN_IF_ERROR(
        WriteStringToFile(base_, *contents, path, /*sync=*/false).WithContext("restoring a file"));
  }

  // 4. What is on the base Env now is the durable state.
  for (const auto& [path, node] : undo_) {
    if (node != nullptr) --node->undo_refs;
  }
  undo_.clear();
  live_.clear();
  ++epoch_;
  return Status::OK();
}

// --- writable files ------------------------------------------------------------------

Status FaultInjectionEnv::CheckActiveLocked() const { return active_ ? Status::OK() : Inactive(); }

Status FaultInjectionEnv::CheckFileLocked(const File* file) const {
  if (file->closed_) return Status::FailedPrecondition("use after Close of " + file->node_->path);
  VELLUM_RETURN_IF_ERROR(CheckActiveLocked());
  if (file->epoch_ != epoch_) {
    return Injected("file was open at a simulated power loss", file->node_->path);
  }
  return Status::OK();
}

Status FaultInjectionEnv::FileAppend(File* file, std::string_view data) {
  std::lock_guard<std::mutex> guard(mu_);
  ++write_count_;
  const bool fail = fail_write_countdown_ > 0 && --fail_write_countdown_ == 0;
  VELLUM_RETURN_IF_ERROR(CheckFileLocked(file));
  Node& node = *file->node_;
  if (fail) {
    if (!torn_writes_ || data.empty()) return Injected("write failure", node.path);
    data = data.substr(0, UniformLocked(data.size()));  // A strict prefix.
  }
  // Flushing at once keeps every written byte visible to DropUnsyncedData, and leaves
  // nothing in a base buffer that a handle closed after the power loss could write.
  Status s = file->base_->Append(data);
  if (s.ok()) s = file->base_->Flush();
  if (!s.ok()) return s;
  node.size += data.size();
  if (node.saved.has_value()) node.saved->append(data);
  if (fail) return Injected("torn write failure", node.path);
  return Status::OK();
}

Status FaultInjectionEnv::FileFlush(File* file) {
  std::lock_guard<std::mutex> guard(mu_);
  VELLUM_RETURN_IF_ERROR(CheckFileLocked(file));
  return file->base_->Flush();
}

Status FaultInjectionEnv::FileSync(File* file) {
  std::lock_guard<std::mutex> guard(mu_);
  ++sync_count_;
  const bool fail = fail_sync_countdown_ > 0 && --fail_sync_countdown_ == 0;
  VELLUM_RETURN_IF_ERROR(CheckFileLocked(file));
  Node& node = *file->node_;
  if (fail) return Injected("sync failure", node.path);
  VELLUM_RETURN_IF_ERROR(file->base_->Sync());
  // fsync covers the whole file, including bytes other handles appended.
  node.synced = node.size;
  return Status::OK();
}

Status FaultInjectionEnv::FileClose(File* file) {
  std::lock_guard<std::mutex> guard(mu_);
  if (file->closed_) return Status::FailedPrecondition("use after Close of " + file->node_->path);
  // The base file is closed whatever happens: every byte already reached it, so this
  // releases the handle without writing anything.
  file->closed_ = true;
  Status s = file->base_->Close();
  if (!active_) return Inactive();
  if (file->epoch_ != epoch_) return Status::OK();  // The power loss already decided.
  return s;
}

Status FaultInjectionEnv::OpenLocked(const std::string& path, bool truncate,
                                     std::unique_ptr<WritableFile>* result) {
  result->reset();
  VELLUM_RETURN_IF_ERROR(CheckActiveLocked());
  const std::string p = NormalizePath(path);
  const bool existed = base_->FileExists(p).ok();
  std::unique_ptr<WritableFile> base_file;
  VELLUM_RETURN_IF_ERROR(truncate ? base_->NewWritableFile(p, &base_file)
                                  : base_->NewAppendableFile(p, &base_file));
  NodePtr node = FindLocked(p);
  const bool tracked = node != nullptr;
  if (!tracked) {
    node = std::make_shared<Node>();
    node->path = p;
    live_[p] = node;
    // A new name is undone by a power loss unless its directory is synced first.
    if (!existed) RecordUndoLocked(p, nullptr);
  }
  // Exact here: 0 for a new or truncated file, otherwise what the file holds.
  node->size = base_file->Size();
  if (truncate) {
    node->synced = 0;  // Truncation is taken as durable at once (see the header).
  } else if (!tracked) {
    node->synced = node->size;  // Not written through us so far: durable as it is.
  } else {
    node->synced = std::min(node->synced, node->size);
  }
  *result = std::make_unique<File>(this, std::move(node), std::move(base_file), epoch_);
  return Status::OK();
}

Status FaultInjectionEnv::NewWritableFile(const std::string& path,
                                          std::unique_ptr<WritableFile>* result) {
  std::lock_guard<std::mutex> guard(mu_);
  return OpenLocked(path, /*truncate=*/true, result);
}

Status FaultInjectionEnv::NewAppendableFile(const std::string& path,
                                            std::unique_ptr<WritableFile>* result) {
  std::lock_guard<std::mutex> guard(mu_);
  return OpenLocked(path, /*truncate=*/false, result);
}

// --- directory entries ---------------------------------------------------------------

FaultInjectionEnv::NodePtr FaultInjectionEnv::FindLocked(const std::string& path) const {
  auto it = live_.find(path);
  return it == live_.end() ? nullptr : it->second;
}

void FaultInjectionEnv::RecordUndoLocked(const std::string& path, const NodePtr& original) {
  // Only the first change since the last SyncDir matters: that is what the disk holds.
  if (undo_.emplace(path, original).second && original != nullptr) ++original->undo_refs;
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  std::lock_guard<std::mutex> guard(mu_);
  VELLUM_RETURN_IF_ERROR(CheckActiveLocked());
  const std::string p = NormalizePath(path);
  NodePtr node = FindLocked(p);
  // The removal can be undone only with the file's contents, which the base Env is
  // about to forget. They are needed when the name's durable state is this file (no
  // earlier change) or when another undone name refers to it.
  const bool need_contents = undo_.count(p) == 0 || (node != nullptr && node->undo_refs > 0);
  std::string contents;
  if (need_contents && !ReadFileToString(base_, p, &contents).ok()) {
    // Not a readable file (missing, or a directory): nothing to track; the base Env
    // gives the answer.
    return base_->RemoveFile(p);
  }
  VELLUM_RETURN_IF_ERROR(base_->RemoveFile(p));
  if (node == nullptr) {
    node = std::make_shared<Node>();
    node->path = p;
    node->size = node->synced = contents.size();
  }
  RecordUndoLocked(p, node);
  node->linked = false;
  live_.erase(p);
  if (node->undo_refs > 0) node->saved = std::move(contents);
  return Status::OK();
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> guard(mu_);
  VELLUM_RETURN_IF_ERROR(CheckActiveLocked());
  const std::string f = NormalizePath(from);
  const std::string t = NormalizePath(to);
  if (f == t) return base_->RenameFile(f, t);
  std::vector<std::string> children;
  if (base_->GetChildren(f, &children).ok()) return RenameDirLocked(f, t);

  NodePtr source = FindLocked(f);
  uint64_t source_size = 0;
  if (source == nullptr) {
    // Not written through us: durable as it is. Missing: the base Env says so.
    if (!base_->GetFileSize(f, &source_size).ok()) return base_->RenameFile(f, t);
  }
  NodePtr target = FindLocked(t);
  const bool target_existed = base_->FileExists(t).ok();
  // As in RemoveFile: keep a replaced target's contents if an undo will need them.
  const bool need_target_contents =
      target_existed && (undo_.count(t) == 0 || (target != nullptr && target->undo_refs > 0));
  std::string target_contents;
  if (need_target_contents && !ReadFileToString(base_, t, &target_contents).ok()) {
    // The target is not a readable file (a directory): let the base Env refuse.
    return base_->RenameFile(f, t);
  }

  VELLUM_RETURN_IF_ERROR(base_->RenameFile(f, t));

  if (source == nullptr) {
    source = std::make_shared<Node>();
    source->size = source->synced = source_size;
  }
  if (target_existed && target == nullptr && need_target_contents) {
    target = std::make_shared<Node>();
    target->path = t;
    target->size = target->synced = target_contents.size();
  }
  RecordUndoLocked(f, source);
  RecordUndoLocked(t, target);  // Null when `t` did not exist.
  if (target != nullptr) {
    target->linked = false;
    if (target->undo_refs > 0) target->saved = std::move(target_contents);
  }
  live_.erase(f);
  live_[t] = source;
  source->path = t;
  return Status::OK();
}

// Directory renames are taken as durable at once; the files inside keep their
// pending state under their new names.
Status FaultInjectionEnv::RenameDirLocked(const std::string& from, const std::string& to) {
  VELLUM_RETURN_IF_ERROR(base_->RenameFile(from, to));
  auto moved = [&](const std::string& p) { return to + p.substr(from.size()); };
  std::map<std::string, NodePtr> live;
  for (auto& [p, node] : live_) {
    if (IsUnder(p, from)) {
      node->path = moved(p);
      live[node->path] = std::move(node);
    } else {
      live[p] = std::move(node);
    }
  }
  live_ = std::move(live);
  std::map<std::string, NodePtr> undo;
  for (auto& [p, node] : undo_) undo[IsUnder(p, from) ? moved(p) : p] = std::move(node);
  undo_ = std::move(undo);
  return Status::OK();
}

Status FaultInjectionEnv::TruncateFile(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> guard(mu_);
  VELLUM_RETURN_IF_ERROR(CheckActiveLocked());
  const std::string p = NormalizePath(path);
  NodePtr node = FindLocked(p);
  uint64_t old_size = 0;
  if (node == nullptr && !base_->GetFileSize(p, &old_size).ok()) {
    return base_->TruncateFile(p, size);
  }
  VELLUM_RETURN_IF_ERROR(base_->TruncateFile(p, size));
  if (node == nullptr) {
    node = std::make_shared<Node>();
    node->path = p;
    node->synced = old_size;
    live_[p] = node;
  }
  // Shrinking is durable at once; bytes added by extending are not.
  node->size = size;
  node->synced = std::min(node->synced, size);
  return Status::OK();
}

Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> guard(mu_);
  VELLUM_RETURN_IF_ERROR(CheckActiveLocked());
  // Same minimal normalization as the MemEnv, so that "db/" and "db" name one directory.
  const std::string d = NormalizePath(dir);
  VELLUM_RETURN_IF_ERROR(base_->SyncDir(d));
  for (auto it = undo_.begin(); it != undo_.end();) {
    if (ParentDir(it->first) == d) {
      if (it->second != nullptr) --it->second->undo_refs;
      it = undo_.erase(it);
    } else {
      ++it;
    }
  }
  return Status::OK();
}

Status FaultInjectionEnv::CreateDir(const std::string& dir) {
  std::lock_guard<std::mutex> guard(mu_);
  VELLUM_RETURN_IF_ERROR(CheckActiveLocked());
  return base_->CreateDir(dir);
}

Status FaultInjectionEnv::CreateDirIfMissing(const std::string& dir) {
  std::lock_guard<std::mutex> guard(mu_);
  VELLUM_RETURN_IF_ERROR(CheckActiveLocked());
  return base_->CreateDirIfMissing(dir);
}

Status FaultInjectionEnv::RemoveDir(const std::string& dir) {
  std::lock_guard<std::mutex> guard(mu_);
  VELLUM_RETURN_IF_ERROR(CheckActiveLocked());
  return base_->RemoveDir(dir);
}

// --- forwarded unchanged -------------------------------------------------------------

Status FaultInjectionEnv::NewSequentialFile(const std::string& path,
                                            std::unique_ptr<SequentialFile>* result) {
  return base_->NewSequentialFile(path, result);
}

Status FaultInjectionEnv::NewRandomAccessFile(const std::string& path,
                                              std::unique_ptr<RandomAccessFile>* result) {
  return base_->NewRandomAccessFile(path, result);
}

Status FaultInjectionEnv::FileExists(const std::string& path) { return base_->FileExists(path); }

Status FaultInjectionEnv::GetChildren(const std::string& dir, std::vector<std::string>* names) {
  return base_->GetChildren(dir, names);
}

Status FaultInjectionEnv::GetFileSize(const std::string& path, uint64_t* size) {
  return base_->GetFileSize(path, size);
}

Status FaultInjectionEnv::LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) {
  return base_->LockFile(path, lock);
}

uint64_t FaultInjectionEnv::NowMicros() { return base_->NowMicros(); }
uint64_t FaultInjectionEnv::WallMicros() { return base_->WallMicros(); }
void FaultInjectionEnv::SleepForMicros(uint64_t micros) { base_->SleepForMicros(micros); }
RandomSource& FaultInjectionEnv::Random() { return base_->Random(); }

}  // namespace vellum
