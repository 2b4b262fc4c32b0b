// Copyright (c) Vellum authors.
//
// Whole-file helpers over any Env.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vellum/env.h"
#include "vellum/status.h"

namespace vellum {

Status WriteStringToFile(Env* env, std::string_view data, const std::string& path, bool sync) {
  std::unique_ptr<WritableFile> file;
  VELLUM_RETURN_IF_ERROR(env->NewWritableFile(path, &file));
  Status status = file->Append(data);
  if (status.ok() && sync) status = file->Sync();
  if (status.ok()) status = file->Close();
  if (!status.ok()) {
    // Close (through the destructor) before removing, and never leave a partial file
    // behind that a reader could mistake for a complete one. The write error is the
    // one worth reporting, so a failed removal is ignored.
    file.reset();
    env->RemoveFile(path).IgnoreError();
  }
  return status;
}

Status ReadFileToString(Env* env, const std::string& path, std::string* data) {
  data->clear();
  std::unique_ptr<SequentialFile> file;
  VELLUM_RETURN_IF_ERROR(env->NewSequentialFile(path, &file));
  constexpr size_t kChunk = 64 * 1024;
  std::string chunk;
  for (;;) {
    Status status = file->Read(kChunk, &chunk);
    if (!status.ok()) {
      data->clear();
      return status;
    }
    if (chunk.empty()) return Status::OK();
    data->append(chunk);
  }
}

Status RemoveDirTree(Env* env, const std::string& path) {
  if (env->FileExists(path).IsNotFound()) return Status::OK();
  std::vector<std::string> children;
  if (!env->GetChildren(path, &children).ok()) return env->RemoveFile(path);
  for (const std::string& child : children) {
    VELLUM_RETURN_IF_ERROR(RemoveDirTree(env, path + "/" + child));
  }
  return env->RemoveDir(path);
}

}  // namespace vellum
