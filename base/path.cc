// Copyright (c) Vellum authors.

#include "base/path.h"

#include <cstddef>
#include <string>

namespace vellum {

std::string NormalizePath(const std::string& path) {
  size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') --end;
  return path.substr(0, end);
}

std::string ParentDir(const std::string& path) {
  const std::string p = NormalizePath(path);
  const size_t slash = p.rfind('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return NormalizePath(p.substr(0, slash));
}

}  // namespace vellum
