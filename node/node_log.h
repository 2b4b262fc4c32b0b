// Copyright (c) Vellum authors.
//
// NodeLog: vellum-node's structured log, one line per event on stderr. Every line
// carries the wall-clock time and the node id, then the event and its fields. Two
// formats: "json" (one JSON object per line, for log shippers) and "text"
// (key=value pairs, for people). The transport and the HTTPS server already speak
// key=value lines ("event=peer_refused reason=\"...\""); Line() turns those into the
// chosen format, so every component logs the same way.
//
// Nothing that reaches the log may hold key material: callers log ids, addresses and
// reasons, never keys, bodies or request targets.
//
// Thread safety: every method may be called concurrently; lines never interleave.

#ifndef VELLUM_NODE_NODE_LOG_H_
#define VELLUM_NODE_NODE_LOG_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vellum::node {

// Splits a key=value line into its fields (values unquoted). Tokens without '=' are
// kept with an empty key. Never fails: a malformed quote runs to the end of the line.
std::vector<std::pair<std::string, std::string>> ParseKeyValueLine(std::string_view line);

class NodeLog {
 public:
  enum class Format { kJson, kText };
  using Clock = std::function<uint64_t()>;  // microseconds since the Unix epoch

  // `out` is not owned. `clock` is the wall clock unless given (tests fix it).
  NodeLog(Format format, uint64_t node_id, std::FILE* out = stderr, Clock clock = nullptr);

  // A key=value line from a component.
  void Line(std::string_view line);
  // An event with fields.
  void Event(std::string_view event,
             const std::vector<std::pair<std::string, std::string>>& fields);

  // The formatted line (without the newline), for tests.
  std::string Format(const std::vector<std::pair<std::string, std::string>>& fields) const;

 private:
  const enum Format format_;
  const uint64_t node_id_;
  std::FILE* const out_;
  const Clock clock_;
  std::mutex mu_;
};

}  // namespace vellum::node

#endif  // VELLUM_NODE_NODE_LOG_H_
