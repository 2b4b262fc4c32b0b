// Copyright (c) Vellum authors.
//
// Path helpers shared by the Envs. They work on the spelling of a path only; they
// never touch the file system.

#ifndef VELLUM_BASE_PATH_H_
#define VELLUM_BASE_PATH_H_

#include <string>

namespace vellum {

// "a/b///" -> "a/b"; "/" stays "/". The only normalization done: callers that spell
// one path two ways ("a//b", "./a") get two paths.
std::string NormalizePath(const std::string& path);

// The directory holding `path` (trailing slashes ignored, so "a/b/" -> "a"): "" for a
// bare name (the implicit current directory), "/" for an entry of the root. The result
// is normalized.
std::string ParentDir(const std::string& path);

}  // namespace vellum

#endif  // VELLUM_BASE_PATH_H_
