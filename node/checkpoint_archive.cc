// Copyright (c) Vellum authors.

#include "node/checkpoint_archive.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "base/bytes.h"

namespace vellum::node {

namespace {

constexpr std::string_view kMagic = "VLMCKPT1";
constexpr size_t kHeaderSize = 8 + 4;
constexpr size_t kMaxNameBytes = 255;
// A RocksDB checkpoint holds a handful of files per level and family; far fewer than
// this. The bound keeps a hostile count from meaning anything.
constexpr uint32_t kMaxFiles = 1u << 20;
constexpr size_t kChunkBytes = size_t{1} << 20;

bool IsPlainName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameBytes && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

// File names are at most kMaxNameBytes: their length takes two bytes (base/bytes.h
// has the wider widths).
void PutFixed16BE(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xff));
}

const uint8_t* At(const std::string& in, size_t offset) {
  return reinterpret_cast<const uint8_t*>(in.data()) + offset;
}

}  // namespace

Status PackCheckpoint(Env* env, const std::string& dir,
                      const std::function<Status(std::string_view)>& sink) {
  std::vector<std::string> names;
  VELLUM_RETURN_IF_ERROR(env->GetChildren(dir, &names));
  std::sort(names.begin(), names.end());
  if (names.size() > kMaxFiles) return Status::InvalidArgument(dir + " holds too many files");
  crypto::Sha256Hasher hasher;
  std::string buffer;
  auto emit = [&](bool force) -> Status {
    if (buffer.empty() || (!force && buffer.size() < kChunkBytes)) return Status::OK();
    hasher.Update(AsBytes(buffer));
    Status s = sink(buffer);
    buffer.clear();
    return s;
  };
  buffer.append(kMagic);
  PutFixed32BE(&buffer, static_cast<uint32_t>(names.size()));
  for (const std::string& name : names) {
    if (!IsPlainName(name)) {
      return Status::InvalidArgument("a checkpoint file name that cannot be archived");
    }
    const std::string path = dir + "/" + name;
    uint64_t size = 0;
    VELLUM_RETURN_IF_ERROR(env->GetFileSize(path, &size));
    PutFixed16BE(&buffer, static_cast<uint16_t>(name.size()));
    buffer.append(name);
    PutFixed64BE(&buffer, size);
    std::unique_ptr<SequentialFile> file;
    VELLUM_RETURN_IF_ERROR(env->NewSequentialFile(path, &file));
    uint64_t left = size;
    std::string chunk;
    while (left > 0) {
      VELLUM_RETURN_IF_ERROR(file->Read(std::min<uint64_t>(left, kChunkBytes), &chunk));
      if (chunk.empty()) {
        // Checkpoint files never change; a shorter one means something else wrote here.
        return Status::Aborted(path + " shrank while it was archived");
      }
      buffer.append(chunk);
      left -= chunk.size();
      VELLUM_RETURN_IF_ERROR(emit(false));
    }
  }
  VELLUM_RETURN_IF_ERROR(emit(true));
  const crypto::Hash256 digest = hasher.Finish();
  return sink(AsChars(digest));
}

CheckpointUnpacker::CheckpointUnpacker(Env* env, std::string into_dir, uint64_t max_bytes)
    : env_(env), dir_(std::move(into_dir)), max_bytes_(max_bytes) {}

CheckpointUnpacker::~CheckpointUnpacker() = default;

Status CheckpointUnpacker::Add(std::string_view data) {
  if (!error_.ok()) return error_;
  if (data.size() > max_bytes_ - std::min(total_, max_bytes_)) {
    error_ = Status::ResourceExhausted("the checkpoint archive is over the limit of " +
                                       std::to_string(max_bytes_) + " bytes");
    return error_;
  }
  total_ += data.size();
  while (!data.empty() && error_.ok()) error_ = Consume(&data);
  return error_;
}

Status CheckpointUnpacker::Consume(std::string_view* data) {
  // Moves bytes into pending_ until it holds `want`; true once it does.
  auto take = [&](size_t want) {
    if (pending_.size() >= want) return true;
    const size_t n = std::min(want - pending_.size(), data->size());
    if (stage_ != Stage::kDigest) hasher_.Update(AsBytes(data->substr(0, n)));
    pending_.append(data->substr(0, n));
    data->remove_prefix(n);
    return pending_.size() == want;
  };
  switch (stage_) {
    case Stage::kHeader: {
      if (!take(kHeaderSize)) return Status::OK();
      if (std::string_view(pending_).substr(0, kMagic.size()) != kMagic) {
        return Status::Corruption("not a checkpoint archive (bad magic)");
      }
      files_left_ = DecodeFixed32BE(At(pending_, kMagic.size()));
      if (files_left_ > kMaxFiles) {
        return Status::Corruption("a checkpoint archive claims " + std::to_string(files_left_) +
                                  " files");
      }
      pending_.clear();
      VELLUM_RETURN_IF_ERROR(env_->CreateDir(dir_));
      stage_ = files_left_ > 0 ? Stage::kFileHead : Stage::kDigest;
      return Status::OK();
    }
    case Stage::kFileHead: {
      if (!take(2)) return Status::OK();
      const size_t name_bytes = (size_t{*At(pending_, 0)} << 8) | *At(pending_, 1);
      if (name_bytes == 0 || name_bytes > kMaxNameBytes) {
        return Status::Corruption("a checkpoint archive file name of " +
                                  std::to_string(name_bytes) + " bytes");
      }
      if (!take(2 + name_bytes + 8)) return Status::OK();
      name_ = pending_.substr(2, name_bytes);
      body_left_ = DecodeFixed64BE(At(pending_, 2 + name_bytes));
      pending_.clear();
      return StartFile();
    }
    case Stage::kFileBody: {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(body_left_, data->size()));
      const std::string_view piece = data->substr(0, n);
      hasher_.Update(AsBytes(piece));
      VELLUM_RETURN_IF_ERROR(file_->Append(piece));
      data->remove_prefix(n);
      body_left_ -= n;
      if (body_left_ > 0) return Status::OK();
      VELLUM_RETURN_IF_ERROR(file_->Sync());
      VELLUM_RETURN_IF_ERROR(file_->Close());
      file_.reset();
      stage_ = --files_left_ > 0 ? Stage::kFileHead : Stage::kDigest;
      return Status::OK();
    }
    case Stage::kDigest: {
      if (!take(32)) return Status::OK();
      const crypto::Hash256 digest = hasher_.Finish();
      if (AsChars(digest) != pending_) {
        return Status::Corruption("the checkpoint archive's digest does not match its contents");
      }
      stage_ = Stage::kDone;
      return Status::OK();
    }
    case Stage::kDone:
      return Status::Corruption("bytes after the end of the checkpoint archive");
  }
  return Status::Corruption("unreachable");
}

Status CheckpointUnpacker::StartFile() {
  if (!IsPlainName(name_)) {
    return Status::Corruption("a checkpoint archive names a file outside its directory");
  }
  if (!names_.insert(name_).second) {
    return Status::Corruption("a checkpoint archive holds a file twice");
  }
  VELLUM_RETURN_IF_ERROR(env_->NewWritableFile(dir_ + "/" + name_, &file_));
  stage_ = Stage::kFileBody;
  if (body_left_ == 0) {
    // An empty file: nothing follows its head.
    std::string_view none;
    return Consume(&none);
  }
  return Status::OK();
}

Status CheckpointUnpacker::Finish() {
  if (!error_.ok()) return error_;
  if (stage_ != Stage::kDone) {
    error_ = Status::Corruption("the checkpoint archive ends early (truncated)");
    return error_;
  }
  return env_->SyncDir(dir_);
}

Status UnpackCheckpoint(Env* env, std::string_view archive, const std::string& into_dir,
                        uint64_t max_bytes) {
  CheckpointUnpacker unpacker(env, into_dir, max_bytes);
  VELLUM_RETURN_IF_ERROR(unpacker.Add(archive));
  return unpacker.Finish();
}

}  // namespace vellum::node
